/** The public API (src/index.ts): flows as users write them, outcomes with and without branches. */
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, load, loadText, outcome, results, trace } from '../../src/index.js';
import { ROOT } from '../helpers.js';

const seed = load(resolve(ROOT, 'models/seed-lan-container.yaml'));

describe('public API', () => {
  it('trace and outcome take namespace names and addresses as text', () => {
    const [t] = trace(seed, { from: 'web1', to: '192.168.2.10:80' });
    expect(t!.result).toBe('reachable');
    expect(outcome(seed, { from: 'web1', to: '192.168.2.10', port: 22, proto: 'tcp' })).toBe('refused');
    expect(outcome(seed, { from: 'ngx1', to: '172.31.0.3', proto: 'icmp' })).toBe('no-route');
    expect(outcome(seed, { from: 'web2/ngx1', to: 0xc0a80214, proto: 'icmp' })).toBe('reachable');
  });

  it('outcome gives each branch when -m statistic splits the flow', () => {
    const w = loadText(`hosts:
  a:
  b:
    run: |
      iptables -A INPUT -p tcp --dport 80 -m statistic --mode random --probability 0.25 -j DROP
lans:
  l:
    a/eth0: 10.0.0.1/24
    b/eth0: 10.0.0.2/24
services:
  - { at: b, listen: tcp/80 }
`);
    const o = outcome(w, { from: 'a', to: '10.0.0.2:80' });
    expect(Array.isArray(o)).toBe(true);
    // per result, the branches' probabilities add up (later packets of the exchange branch too)
    const byResult: Record<string, number> = {};
    for (const b of o as { result: string; probability: number }[]) byResult[b.result] = (byResult[b.result] ?? 0) + b.probability;
    expect(byResult).toEqual({ timeout: 0.25, reachable: 0.75 });
    expect(new Set(results(w, { from: 'a', to: '10.0.0.2:80' }))).toEqual(new Set(['reachable', 'timeout']));
  });

  it('bad flows are ConfigErrors', () => {
    expect(() => trace(seed, { from: 'nobody', to: '1.2.3.4:80' })).toThrow(ConfigError);
    expect(() => trace(seed, { from: 'web1', to: '1.2.3', port: 80 })).toThrow(/not an IPv4 address/);
    expect(() => trace(seed, { from: 'web1', to: '1.2.3.4', proto: 'udp' })).toThrow(/udp needs a port/);
  });
});
