/**
 * The arbitraries: flows stay inside their set and favour what the model mentions; generated
 * topologies and rule sets load, and the engine's verdict on them agrees with a naive first-match
 * reference (the kind of test a user writes for their own rule generator).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { flows, loadText, outcome, ruleLines, ruleSets, firstMatch, topologies, type RuleSet, type Topology } from '../../src/index.js';
import { parseIpv4, inPrefix, parseCidr } from '../../src/wire/ipv4.js';
import { model } from '../helpers.js';
import { resolveFlowSet } from '../../src/prop/flowset.js';
import { cornerFlows } from '../../src/prop/arbitraries.js';

const seed = model('models/seed-lan-container.yaml').world;

describe('flows()', () => {
  const set = { from: ['web1', 'ngx1'], to: ['192.168.2.0/24', '172.31.0.2'], proto: ['tcp', 'udp', 'icmp'] as const, ports: ['1-79', 8080, '9000:9010'] };
  it('draws only flows inside the set', () => {
    const nets = set.to.map((t) => parseCidr(t)!.prefix);
    fc.assert(
      fc.property(flows(seed, { ...set, proto: [...set.proto] }), (f) => {
        expect(['web1', 'web2/ngx1']).toContain(f.from);
        expect(nets.some((p) => inPrefix(f.to, p))).toBe(true);
        if (f.proto === 'icmp') expect(f.port).toBeUndefined();
        else expect((f.port! >= 1 && f.port! <= 79) || f.port === 8080 || (f.port! >= 9000 && f.port! <= 9010)).toBe(true);
      }),
      { numRuns: 300, seed: 5 },
    );
  });

  it('favours the values the model mentions: the container and its port come up often', () => {
    const drawn = fc.sample(flows(seed, { from: 'web1', to: '192.168.0.0/16', ports: '1-65535' }), { numRuns: 100, seed: 5 });
    const ngx = parseIpv4('192.168.2.10');
    expect(drawn.filter((f) => f.to === ngx && f.port === 80).length).toBeGreaterThanOrEqual(5);
    // and uniform values too
    expect(drawn.filter((f) => f.port !== undefined && f.port > 1000).length).toBeGreaterThanOrEqual(20);
  });

  it('corner flows: every mentioned address and port of the set, or none when too many', () => {
    const s = resolveFlowSet(seed, { from: 'web1', to: '192.168.2.10', ports: '1-1024' });
    expect(cornerFlows(s, [seed], 50).map((f) => f.port)).toEqual([79, 80, 81]);
    expect(cornerFlows(s, [seed], 2)).toEqual([]);
  });

  it('unknown namespaces and bad sets are ConfigErrors', () => {
    expect(() => flows(seed, { from: 'nobody', to: '10.0.0.0/8' })).toThrow(/no host or namespace called "nobody"/);
    expect(() => flows(seed, { from: 'web1', to: '10.0.0.0/33' })).toThrow(/not an IPv4 address or CIDR/);
    expect(() => flows(seed, { from: 'web1', to: '10.0.0.1', proto: 'icmp', ports: 80 })).toThrow(/icmp flows take no port/);
  });
});

describe('ruleSets() and topologies()', () => {
  it('rule lines are iptables commands netpath accepts', () => {
    fc.assert(
      fc.property(ruleSets({ chain: 'INPUT' }), (rs) => {
        const yaml = `hosts:\n  h:\n    run: |\n${ruleLines(rs).map((l) => `      ${l}\n`).join('')}`;
        const w = loadText(yaml);
        expect(w.netns['h']!.nf.filter.chains['INPUT']!.rules.length).toBe(rs.rules.length + (rs.stateful ? 1 : 0));
      }),
      { numRuns: 50, seed: 9 },
    );
  });

  /** What a client in the topology should see, from the rule set alone (sport fixed). */
  function expected(t: Topology, server: { addr: string; ports: readonly number[] }, port: number, sport: number): string {
    const client = parseIpv4(t.clientAddr)!;
    const addr = parseIpv4(server.addr)!;
    const req = firstMatch(t.ruleSet, { src: client, dst: addr, proto: 'tcp', dport: port });
    if (req === 'DROP') return 'timeout';
    if (req === 'REJECT') return 'refused'; // icmp-port-unreachable from the router
    if (!t.masquerade && !t.returnRoute) return 'timeout'; // the server cannot answer
    const rep: RuleSet['policy'] | 'REJECT' = t.ruleSet.stateful ? 'ACCEPT' : firstMatch(t.ruleSet, { src: addr, dst: client, proto: 'tcp', dport: sport });
    if (rep !== 'ACCEPT') return 'timeout';
    return server.ports.includes(port) ? 'reachable' : 'refused';
  }

  it('the engine agrees with a first-match reference on generated routers', () => {
    const case_ = topologies().chain((t) =>
      fc.record({ t: fc.constant(t), s: fc.constantFrom(...t.servers), port: fc.constantFrom(21, 22, 23, 80, 443, 5432, 8080), sport: fc.constantFrom(40000, 50000) }),
    );
    fc.assert(
      fc.property(case_, ({ t, s, port, sport }) => {
        const w = loadText(t.yaml);
        expect(outcome(w, { from: t.client, to: s.addr, port, proto: 'tcp', sport })).toBe(expected(t, s, port, sport));
      }),
      { numRuns: 150, seed: 11 },
    );
  });
});
