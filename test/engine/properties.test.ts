/**
 * Property tests for the engine's pieces, each against a deliberately naive reference:
 * route lookup (fib_lookup semantics), conntrack NAT reversibility, and the chain walk.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fibLookup, fibView } from '../../src/route/fib.js';
import type { FibRule, Route } from '../../src/route/types.js';
import { KERNEL } from '../../src/model/origin.js';
import { inPrefix, networkOf } from '../../src/wire/ipv4.js';
import { Conntrack, invert, natPacket, tupleOf } from '../../src/engine/conntrack.js';
import type { IpPacket } from '../../src/engine/packet.js';
import { runTable, type NfPacket } from '../../src/netfilter/eval.js';
import type { NfChain, NfRule, NfState, NfTarget } from '../../src/netfilter/types.js';
import { emptyNfState } from '../../src/netfilter/tables.js';

// --- route lookup -----------------------------------------------------------------------------

const addrArb = fc.oneof(fc.constantFrom(0x0a000001, 0x0a000101, 0x0a010001, 0xc0a80201, 0xac1f0003), fc.integer({ min: 0, max: 0xffffffff }));
const routeArb = fc.record({
  table: fc.constantFrom(254, 100, 200),
  type: fc.constantFrom<Route['type']>('unicast', 'unicast', 'unicast', 'blackhole', 'unreachable', 'throw'),
  addr: addrArb,
  len: fc.constantFrom(0, 8, 16, 24, 32),
  metric: fc.constantFrom(0, 10, 100),
  oif: fc.constantFrom(2, 3),
});
const ruleArb = fc.record({
  priority: fc.integer({ min: 1, max: 32765 }),
  not: fc.boolean(),
  from: fc.option(fc.record({ addr: addrArb, len: fc.constantFrom(8, 16, 24) }), { nil: undefined }),
  fwmark: fc.option(fc.constantFrom(1, 2), { nil: undefined }),
  table: fc.constantFrom(100, 200, 254),
});

function mkRoutes(rs: { table: number; type: Route['type']; addr: number; len: number; metric: number; oif: number }[]): Route[] {
  return rs.map((r) => ({
    table: r.table,
    type: r.type,
    dst: { addr: networkOf(r.addr, r.len), len: r.len },
    ...(r.type === 'unicast' ? { oif: r.oif } : {}),
    metric: r.metric,
    scope: 'global' as const,
    proto: 'boot',
    onlink: false,
    origin: KERNEL,
  }));
}

function mkRules(rs: { priority: number; not: boolean; from: { addr: number; len: number } | undefined; fwmark: number | undefined; table: number }[]): FibRule[] {
  const base: FibRule[] = [
    { priority: 0, not: false, action: 'lookup', table: 255, origin: KERNEL },
    { priority: 32766, not: false, action: 'lookup', table: 254, origin: KERNEL },
    { priority: 32767, not: false, action: 'lookup', table: 253, origin: KERNEL },
  ];
  return [
    ...base,
    ...rs.map((r) => ({
      priority: r.priority,
      not: r.not,
      ...(r.from ? { from: { addr: networkOf(r.from.addr, r.from.len), len: r.from.len } } : {}),
      ...(r.fwmark !== undefined ? { fwmark: { value: r.fwmark, mask: 0xffffffff } } : {}),
      action: 'lookup' as const,
      table: r.table,
      origin: KERNEL,
    })),
  ];
}

/** The reference: rules by priority (stable), in each table every route considered, best = longest prefix, then lowest metric, then first added. */
function naiveLookup(rules: FibRule[], routes: Route[], d: number, s: number, mark: number): Route | 'none' {
  const sorted = rules.map((r, i) => ({ r, i })).sort((a, b) => a.r.priority - b.r.priority || a.i - b.i);
  for (const { r } of sorted) {
    let m = true;
    if (r.from && !inPrefix(s, r.from)) m = false;
    if (r.fwmark && (mark & r.fwmark.mask) !== r.fwmark.value) m = false;
    if (r.not) m = !m;
    if (!m) continue;
    let best: Route | undefined;
    for (const rt of routes) {
      if (rt.table !== r.table || !inPrefix(d, rt.dst)) continue;
      if (!best || rt.dst.len > best.dst.len || (rt.dst.len === best.dst.len && rt.metric < best.metric)) best = rt;
    }
    if (!best || best.type === 'throw') continue;
    return best;
  }
  return 'none';
}

describe('route lookup', () => {
  it('agrees with a brute-force reference on random tables, rules and flows', () => {
    fc.assert(
      fc.property(fc.array(routeArb, { maxLength: 12 }), fc.array(ruleArb, { maxLength: 4 }), addrArb, addrArb, fc.constantFrom(0, 1, 2), (rs, ru, d, s, mark) => {
        const routes = mkRoutes(rs);
        const rules = mkRules(ru);
        const got = fibLookup(fibView(rules, routes, (i) => `if${i}`), { daddr: d, saddr: s, mark, iif: 'lo' });
        const want = naiveLookup(rules, routes, d, s, mark);
        expect(got.kind === 'route' ? got.route : 'none').toBe(want);
      }),
      { numRuns: 400, seed: 42 },
    );
  });
});

// --- conntrack NAT reversibility --------------------------------------------------------------

describe('conntrack NAT', () => {
  const pktArb = fc.record({
    src: fc.integer({ min: 1, max: 0xdfffffff }),
    dst: fc.integer({ min: 1, max: 0xdfffffff }),
    sport: fc.integer({ min: 1, max: 65535 }),
    dport: fc.integer({ min: 1, max: 65535 }),
    proto: fc.constantFrom<'tcp' | 'udp'>('tcp', 'udp'),
  });
  const bindArb = fc.record({
    snat: fc.option(fc.record({ a: fc.integer({ min: 1, max: 0xdfffffff }), p: fc.integer({ min: 1, max: 65535 }) }), { nil: undefined }),
    dnat: fc.option(fc.record({ a: fc.integer({ min: 1, max: 0xdfffffff }), p: fc.integer({ min: 1, max: 65535 }) }), { nil: undefined }),
  });
  const mk = (p: { src: number; dst: number; sport: number; dport: number; proto: 'tcp' | 'udp' }): IpPacket => ({
    src: p.src,
    dst: p.dst,
    ttl: 64,
    id: 1,
    l4: p.proto === 'tcp' ? { kind: 'tcp', sport: p.sport, dport: p.dport, flags: { syn: true }, seq: 1, ack: 0, len: 0 } : { kind: 'udp', sport: p.sport, dport: p.dport, len: 0 },
  });

  it("a translated connection's reply is translated back to the original", () => {
    fc.assert(
      fc.property(pktArb, bindArb, (p, b) => {
        const pkt = mk(p);
        const ct = new Conntrack();
        const e = ct.create(tupleOf(pkt)!);
        if (b.dnat) {
          e.reply = { ...e.reply, src: b.dnat.a, sport: b.dnat.p };
          e.dnat = true;
        }
        if (b.snat) {
          e.reply = { ...e.reply, dst: b.snat.a, dport: b.snat.p };
          e.snat = true;
        }
        // request: DST manip (PREROUTING) then SRC manip (POSTROUTING)
        const out = natPacket(e, 'orig', 'src', natPacket(e, 'orig', 'dst', pkt));
        expect(tupleOf(out)).toEqual(invert(e.reply));
        // the server answers the packet it got
        const reply: IpPacket = { ...out, src: out.dst, dst: out.src, l4: out.l4.kind === 'icmp' ? out.l4 : { ...out.l4, sport: out.l4.dport, dport: out.l4.sport } };
        const back = natPacket(e, 'reply', 'src', natPacket(e, 'reply', 'dst', reply));
        expect(tupleOf(back)).toEqual(invert(e.orig));
      }),
      { numRuns: 500, seed: 7 },
    );
  });
});

// --- chain walk vs a naive recursive interpreter ----------------------------------------------

type Tgt = 'ACCEPT' | 'DROP' | 'RETURN' | 'none' | { jump: number } | { goto: number };
const tgtArb: fc.Arbitrary<Tgt> = fc.oneof(
  fc.constantFrom<Tgt>('ACCEPT', 'DROP', 'RETURN', 'none'),
  fc.integer({ min: 0, max: 3 }).map((j) => ({ jump: j })),
  fc.integer({ min: 0, max: 3 }).map((j) => ({ goto: j })),
);
const rArb = fc.record({ port: fc.constantFrom(undefined, 22, 80), tgt: tgtArb });

describe('chain walk', () => {
  it('matches a naive recursive interpreter (jump, goto, RETURN, fall-through, policy)', () => {
    fc.assert(
      fc.property(
        fc.array(rArb, { maxLength: 5 }),
        fc.array(fc.array(rArb, { maxLength: 4 }), { minLength: 4, maxLength: 4 }),
        fc.constantFrom<'ACCEPT' | 'DROP'>('ACCEPT', 'DROP'),
        fc.constantFrom(22, 80, 443),
        (base, users, policy, dport) => {
          // user chain i may only jump to chains with a larger index: no loops (iptables refuses them)
          const fix = (rules: { port: number | undefined; tgt: Tgt }[], self: number) =>
            rules.map((r) => (typeof r.tgt === 'object' && ('jump' in r.tgt ? r.tgt.jump : r.tgt.goto) <= self ? { ...r, tgt: 'none' as Tgt } : r));
          const userRules = users.map((u, i) => fix(u, i));
          const toRule = (r: { port: number | undefined; tgt: Tgt }): NfRule => {
            const target: NfTarget | undefined =
              r.tgt === 'none' ? undefined : typeof r.tgt === 'string' ? ({ kind: r.tgt } as NfTarget) : 'jump' in r.tgt ? { kind: 'jump', chain: `U${r.tgt.jump}` } : { kind: 'goto', chain: `U${r.tgt.goto}` };
            return {
              matches: r.port !== undefined ? [{ kind: 'tcp', dport: { min: r.port, max: r.port, invert: false } }] : [],
              ...(target ? { target } : {}),
              text: '',
              origin: KERNEL,
            };
          };
          const st = emptyNfState();
          const chains: Record<string, NfChain> = { ...st.filter.chains, INPUT: { name: 'INPUT', policy, rules: base.map(toRule), origin: KERNEL } };
          userRules.forEach((u, i) => (chains[`U${i}`] = { name: `U${i}`, rules: u.map(toRule), origin: KERNEL }));
          const nf: NfState = { ...st, filter: { name: 'filter', chains, present: true } };
          const pkt: NfPacket = { src: 1, dst: 2, proto: 6, sport: 1000, dport, tcpFlags: 2, bridged: false, mark: 0 };
          const got = runTable(nf, 'filter', 'INPUT', pkt, { addrType: () => 'UNICAST', choose: () => true }).verdict.kind;

          // naive: returns a verdict, 'return' to the caller, or undefined to continue the caller
          const walk = (rules: { port: number | undefined; tgt: Tgt }[]): 'ACCEPT' | 'DROP' | 'return' => {
            for (const r of rules) {
              if (r.port !== undefined && r.port !== dport) continue;
              if (r.tgt === 'none') continue;
              if (r.tgt === 'ACCEPT' || r.tgt === 'DROP') return r.tgt;
              if (r.tgt === 'RETURN') return 'return';
              if ('jump' in r.tgt) {
                const v = walk(userRules[r.tgt.jump]!);
                if (v !== 'return') return v;
                continue;
              }
              // goto: the target's return goes to our caller
              return walk(userRules[r.tgt.goto]!);
            }
            return 'return';
          };
          const v = walk(base);
          expect(got).toBe(v === 'return' ? policy : v);
        },
      ),
      { numRuns: 1000, seed: 3 },
    );
  });
});
