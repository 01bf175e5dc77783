/**
 * A path longer than the sender's TTL is not a loop: the why says how many hops the TTL lasted,
 * and calls it a loop only when a namespace repeats (the loop case: models/ttl-loop.yaml).
 * Linux sends with TTL 64 (net.ipv4.ip_default_ttl) and each router decrements it (ip_forward),
 * answering ICMP time exceeded when it would reach 0 (KN h).
 */
import { describe, expect, it } from 'vitest';
import { parseModel } from '../../src/plan/model.js';
import { buildWorld } from '../../src/world/build.js';
import { traceFlow } from '../../src/trace/run.js';

/** h0 - h1 - ... - hN in a line of /30 LANs; h0 probes hN's address. */
function line(n: number): string {
  const net = (i: number): string => `10.${Math.floor(i / 64)}.${(i % 64) * 4}`;
  const out = ['name: long line', 'lans:'];
  for (let i = 0; i < n; i++) out.push(`  l${i}:`, `    h${i}/e${i}: ${net(i)}.1/30`, `    h${i + 1}/w${i}: ${net(i)}.2/30`);
  out.push('hosts:');
  for (let i = 0; i <= n; i++) {
    const run: string[] = [];
    if (i > 0 && i < n) run.push('sysctl -w net.ipv4.ip_forward=1');
    if (i < n) run.push(`ip route add 10.99.0.1/32 via ${net(i)}.2`);
    if (i > 0) run.push(`ip route add 10.0.0.0/8 via ${net(i - 1)}.1`);
    if (i === n) run.push('ip addr add 10.99.0.1/32 dev lo');
    out.push(`  h${i}:`, '    run: |', ...run.map((l) => `      ${l}`));
  }
  out.push('probes:', '  - {name: far, from: h0, to: 10.99.0.1, proto: icmp}');
  return out.join('\n') + '\n';
}

describe('TTL on a long path', () => {
  it('70 routers: no-route after 64 hops, and the why says so without calling it a loop', () => {
    const world = buildWorld(parseModel(line(70), 'line.yaml')).world;
    const [tr] = traceFlow(world, { from: 'h0', to: 0x0a630001, proto: 'icmp' });
    expect(tr!.result).toBe('no-route');
    expect(tr!.why?.code).toBe('ttl-expired');
    expect(tr!.why?.summary).toContain('TTL ran out after 64 hops');
    expect(tr!.why?.summary).not.toContain('loop through');
  });

  it('a short line is reachable', () => {
    const world = buildWorld(parseModel(line(5), 'line.yaml')).world;
    const [tr] = traceFlow(world, { from: 'h0', to: 0x0a630001, proto: 'icmp' });
    expect(tr!.result).toBe('reachable');
  });
});
