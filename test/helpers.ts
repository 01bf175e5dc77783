import { resolve } from 'node:path';
import { loadModel, parseModel } from '../src/plan/model.js';
import { buildWorld, resolveNsRef, type Built } from '../src/world/build.js';
import { traceFlow } from '../src/trace/run.js';
import type { ProbeTrace } from '../src/trace/types.js';
import { parseIpv4 } from '../src/wire/ipv4.js';
import { KERNEL } from '../src/model/origin.js';

export const ROOT = resolve(import.meta.dirname, '..');

export function model(path: string): Built {
  return buildWorld(loadModel(resolve(ROOT, path)));
}

export function inline(yaml: string, file = 'inline.yaml'): Built {
  return buildWorld(parseModel(yaml, resolve(ROOT, 'test', file)));
}

/** Traces a flow given as text, e.g. probe(b, 'web1', '192.168.2.10:80', 'tcp'). */
export function probe(b: Built, from: string, to: string, proto: 'tcp' | 'udp' | 'icmp' = 'tcp'): ProbeTrace[] {
  const [ip, port] = to.split(':') as [string, string | undefined];
  const addr = parseIpv4(ip);
  if (addr === undefined) throw new Error(`bad address ${ip}`);
  return traceFlow(b.world, {
    from: resolveNsRef(b.world, from, KERNEL),
    to: addr,
    proto,
    ...(port !== undefined ? { port: Number(port) } : {}),
  });
}

export function one(b: Built, from: string, to: string, proto: 'tcp' | 'udp' | 'icmp' = 'tcp'): ProbeTrace {
  const t = probe(b, from, to, proto);
  if (t.length !== 1) throw new Error(`expected one outcome, got ${t.length}`);
  return t[0]!;
}
