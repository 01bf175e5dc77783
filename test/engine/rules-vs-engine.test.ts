/**
 * `netpath rules trace` and the engine run the same hook pipeline (netfilter/hooks.ts) and the
 * same NAT range rules (netfilter/nat.ts): on the same rule set and the same first packet they
 * must agree on the router's verdict and on the NAT it applies. fast-check draws rule sets
 * (filter FORWARD and INPUT, nat PREROUTING DNAT with ports and port ranges, POSTROUTING SNAT)
 * and packets; the engine walks the packet from a client through the router r, the rules tracer
 * walks it through r's iptables state alone.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseModel } from '../../src/plan/model.js';
import { buildWorld } from '../../src/world/build.js';
import { simulate } from '../../src/engine/probe.js';
import { traceRules } from '../../src/netfilter/trace.js';
import { formatIpv4, parseIpv4 as parse } from '../../src/wire/ipv4.js';

const parseIpv4 = (s: string): number => parse(s) ?? 0;
import type { ProbeTrace } from '../../src/trace/types.js';

const R_IN = '10.0.0.254';
const R_OUT = '192.168.2.254';
const CLIENT = '10.0.0.1';
const SERVERS = ['192.168.2.10', '192.168.2.11'];

const proto = fc.constantFrom<'tcp' | 'udp'>('tcp', 'udp');
const port = fc.constantFrom(80, 81, 443, 8080, 8081);
const range = fc.oneof(
  port.map((p) => ({ min: p, max: p })),
  fc.constantFrom({ min: 8000, max: 8100 }, { min: 80, max: 90 }, { min: 8080, max: 8081 }),
);
const verdict = fc.constantFrom('ACCEPT', 'DROP', 'REJECT', 'REJECT --reject-with tcp-reset');

const ruleArb = fc.oneof(
  fc.record({ kind: fc.constant('filter' as const), chain: fc.constantFrom('FORWARD', 'INPUT'), proto, dport: fc.option(port, { nil: undefined }), verdict }),
  fc.record({ kind: fc.constant('dnat' as const), proto, dport: port, to: fc.constantFrom(...SERVERS, R_IN), ports: fc.option(range, { nil: undefined }) }),
  fc.record({ kind: fc.constant('snat' as const), proto, to: fc.constantFrom(R_OUT, '192.168.2.253'), ports: fc.option(range, { nil: undefined }) }),
);

type Rule = typeof ruleArb extends fc.Arbitrary<infer T> ? T : never;

function line(r: Rule): string {
  switch (r.kind) {
    case 'filter': {
      const v = r.verdict.startsWith('REJECT --reject-with tcp-reset') && r.proto !== 'tcp' ? 'REJECT' : r.verdict;
      return `iptables -A ${r.chain} -p ${r.proto}${r.dport !== undefined ? ` --dport ${r.dport}` : ''} -j ${v}`;
    }
    case 'dnat': {
      const ports = r.ports ? `:${r.ports.min}${r.ports.max !== r.ports.min ? `-${r.ports.max}` : ''}` : '';
      return `iptables -t nat -A PREROUTING -d ${R_IN} -p ${r.proto} --dport ${r.dport} -j DNAT --to-destination ${r.to}${ports}`;
    }
    case 'snat': {
      const ports = r.ports ? `:${r.ports.min}${r.ports.max !== r.ports.min ? `-${r.ports.max}` : ''}` : '';
      return `iptables -t nat -A POSTROUTING -o eth1 -p ${r.proto} -j SNAT --to-source ${r.to}${ports}`;
    }
  }
}

function model(rules: readonly Rule[]): string {
  const run = ['ip link add eth1 type dummy', 'ip link set eth1 up', `ip addr add ${R_OUT}/24 dev eth1`, 'sysctl -w net.ipv4.ip_forward=1', ...rules.map(line)];
  return [
    'name: rules vs engine',
    'lans:',
    '  lan0:',
    `    c/eth0: ${CLIENT}/24`,
    `    r/eth0: ${R_IN}/24`,
    'hosts:',
    '  c:',
    '    run: |',
    `      ip route add default via ${R_IN}`,
    '  r:',
    '    run: |',
    ...run.map((l) => `      ${l}`),
    '',
  ].join('\n');
}

/** The router's part of an engine trace: its verdict on the first packet and the NAT it bound. */
function engineAtRouter(tr: ProbeTrace): { verdict: string; dnat?: string; snat?: string } {
  const out: { verdict: string; dnat?: string; snat?: string } = { verdict: 'ACCEPT' };
  const first = tr.steps.find((s) => s.kind === 'recv' && s.ns === 'r');
  if (!first) return out;
  for (const s of tr.steps) {
    if (s.ns !== 'r' || s.t < first.t) continue;
    if (s.kind === 'nat-bind' && s.dir === 'request') {
      const ep = (a: number, p: number): string => `${formatIpv4(a)}:${p}`;
      if (s.target === 'DNAT') out.dnat = ep(s.reply.src, s.reply.sport);
      if (s.target === 'SNAT') out.snat = ep(s.reply.dst, s.reply.dport);
    }
    if (s.kind === 'drop' && s.dir === 'request') {
      // past netfilter (e.g. no ARP answer behind the dummy eth1) the rules accepted the packet
      if (s.drop.code === 'nf-reject') out.verdict = 'REJECT';
      else if (s.drop.code === 'nf-drop') out.verdict = 'DROP';
      break;
    }
    if ((s.kind === 'xmit' || s.kind === 'neigh') && s.dir === 'request') break;
    if (s.kind === 'deliver' && s.dir === 'request') break;
  }
  return out;
}

describe('rules trace and the engine agree on the same dump and packet', () => {
  it('verdict and NAT at the router (fast-check, 150 rule sets)', () => {
    fc.assert(
      fc.property(fc.array(ruleArb, { minLength: 1, maxLength: 6 }), proto, port, fc.integer({ min: 32768, max: 60999 }), (rules, pr, dport, sport) => {
        const world = buildWorld(parseModel(model(rules), 'rules-vs-engine.yaml')).world;
        const [tr] = simulate(world, { from: 'c', to: parseIpv4(R_IN), port: dport, proto: pr, sport });
        const eng = engineAtRouter(tr!);
        const outcomes = traceRules(world.netns['r']!.nf, {
          src: parseIpv4(CLIENT),
          sport,
          dst: parseIpv4(R_IN),
          dport,
          proto: pr,
          iif: 'eth0',
          oif: 'eth1',
          local: [parseIpv4(R_IN), parseIpv4(R_OUT)],
        });
        expect(outcomes.length).toBe(1);
        const o = outcomes[0]!;
        // the engine also sends DNAT'd packets for r's own address to INPUT, like the tracer
        // a DNAT to the address and port the packet already has is a null binding: nothing changes
        expect({ verdict: eng.verdict, dnat: eng.dnat !== `${R_IN}:${dport}` ? eng.dnat : undefined, snat: eng.snat }).toEqual({
          verdict: o.verdict,
          dnat: o.dnat !== undefined && o.dnat !== `${R_IN}:${dport}` ? o.dnat : undefined,
          snat: o.snat,
        });
      }),
      { numRuns: 150, seed: 10 },
    );
  });
});
