// A probe's `src:` (a client bound to a source address). Expectations: the kernel, through
// `netpath replay models/k-bound-source.yaml --netns` (Linux 6.18.44, 2026-12-02), and
// net/ipv4/route.c __mkroute_output for the loopback-source rule.
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { parseModel } from '../../src/plan/model.js';
import { buildWorld } from '../../src/world/build.js';
import { traceFlow } from '../../src/trace/run.js';
import { probeFlow } from '../../src/trace/probe.js';
import { parseIpv4 } from '../../src/wire/ipv4.js';

const FILE = join(process.cwd(), 'test/inline.yaml');

const model = (probe: string, clientRun = 'ip addr add 10.9.0.3/24 dev eth0') => `
hosts:
  c:
    run: |
      ${clientRun}
  s: null
lans:
  l: {c/eth0: 10.9.0.2/24, s/eth0: 10.9.0.1/24}
services: [{at: s, listen: tcp/80}]
probes:
  - ${probe}
`;

function run(probe: string, clientRun?: string) {
  const m = parseModel(model(probe, clientRun), FILE);
  const w = buildWorld(m).world;
  return traceFlow(w, probeFlow(w, m.probes[0]!))[0]!;
}

describe('probes bound to a source address', () => {
  it('the bound address is the SYN source', () => {
    const t = run('{from: c, to: "10.9.0.1:80", src: 10.9.0.3}');
    expect(t.result).toBe('reachable');
    const sends = t.steps.filter((s) => s.kind === 'xmit' && s.ns === 'c');
    expect(sends.length).toBeGreaterThan(0);
    const synSrc = t.steps.find((s) => s.kind === 'route' && s.ns === 'c');
    expect(synSrc && 'packet' in synSrc ? synSrc.packet.src : undefined).toBe(parseIpv4('10.9.0.3'));
  });
  it('without src the route picks the first address', () => {
    const t = run('{from: c, to: "10.9.0.1:80"}');
    const r = t.steps.find((s) => s.kind === 'route' && s.ns === 'c');
    expect(r && 'packet' in r ? r.packet.src : undefined).toBe(parseIpv4('10.9.0.2'));
  });
  it('an address the namespace does not hold: EADDRNOTAVAIL', () => {
    const t = run('{from: c, to: "10.9.0.1:80", src: 10.9.0.77}');
    expect(t.result).toBe('no-route');
    expect(t.errno).toBe('EADDRNOTAVAIL');
  });
  it('127.0.0.1 out of eth0: EINVAL for tcp, udp and ping (__mkroute_output)', () => {
    for (const p of ['{from: c, to: "10.9.0.1:80", src: 127.0.0.1}', '{from: c, to: "10.9.0.1:80", proto: udp, src: 127.0.0.1}', '{from: c, to: 10.9.0.1, proto: icmp, src: 127.0.0.1}']) {
      const t = run(p);
      expect(t.result, p).toBe('no-route');
      expect(t.errno, p).toBe('EINVAL');
    }
  });
  it('with route_localnet on eth0 the packet leaves, and the server ignores its ARP from 127.0.0.1', () => {
    const t = run('{from: c, to: "10.9.0.1:80", src: 127.0.0.1}', 'sysctl -w net.ipv4.conf.eth0.route_localnet=1');
    expect(t.errno).toBe('EHOSTUNREACH');
  });
  it('127.0.0.1 to a local address stays on lo', () => {
    const t = run('{from: c, to: "10.9.0.2:22", src: 127.0.0.1}');
    expect(t.result).toBe('refused');
  });
  it('a src that is not an address is refused with its line', () => {
    expect(() => parseModel(model('{from: c, to: "10.9.0.1:80", src: "10.9.0.3:1000"}'), FILE)).toThrow(/inline.yaml:11: probes\[0\]\.src: "10.9.0.3:1000" must be an IPv4 address/s);
  });
});
