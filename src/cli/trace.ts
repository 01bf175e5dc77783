/** `netpath trace MODEL --from NS --to IP[:PORT]`: one probe hop by hop, and why. */
import { ConfigError } from '../model/errors.js';
import { KERNEL } from '../model/origin.js';
import { writePcapOutputs, type PcapCliOptions } from '../pcap/cli.js';
import { loadModel } from '../plan/model.js';
import { traceFlow } from '../trace/run.js';
import { renderTrace, traceJson } from '../trace/render.js';
import { parseIpv4 } from '../wire/ipv4.js';
import { buildWorld, resolveNsRef } from '../world/build.js';
import type { Io } from './main.js';

export interface TraceOptions extends PcapCliOptions {
  readonly from: string;
  readonly to: string;
  readonly proto: string;
  readonly sport?: string;
  readonly json?: boolean;
  readonly verbose?: boolean;
}

export function cmdTrace(path: string, opts: TraceOptions, io: Io): number {
  const { world } = buildWorld(loadModel(path));
  const from = resolveNsRef(world, opts.from, { ...KERNEL, file: '--from' });
  const m = /^([0-9.]+)(?::(\d{1,5}))?$/.exec(opts.to);
  const to = m ? parseIpv4(m[1]!) : undefined;
  if (!m || to === undefined) throw new ConfigError('model', '--to', 0, `"${opts.to}" must be IP or IP:PORT`);
  if (!['tcp', 'udp', 'icmp'].includes(opts.proto)) throw new ConfigError('model', '--proto', 0, `"${opts.proto}" must be tcp, udp or icmp`);
  const proto = opts.proto as 'tcp' | 'udp' | 'icmp';
  const port = m[2] !== undefined ? Number(m[2]) : undefined;
  if (proto !== 'icmp' && port === undefined) throw new ConfigError('model', '--to', 0, `${proto} needs IP:PORT`);
  const sport = opts.sport !== undefined ? Number(opts.sport) : undefined;
  const traces = traceFlow(world, { from, to, proto, ...(port !== undefined ? { port } : {}), ...(sport !== undefined ? { sport } : {}) });
  writePcapOutputs([{ traces }], opts, io);
  if (opts.json) io.out(JSON.stringify({ outcomes: traces.map((t) => traceJson(world, t)) }, null, 2) + '\n');
  else io.out(traces.map((t) => renderTrace(world, t, opts.verbose ? { verbose: true } : {})).join('\n'));
  return 0;
}

