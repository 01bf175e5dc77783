/**
 * The service matrix of one host's iptables-save dump: for the first packet of every connection
 * arriving (on `iif`) from any source to any destination, what the host's rules do with it —
 * accepted and delivered or forwarded (after DNAT/SNAT/masquerade, with the branch
 * probabilities of `-m statistic`), dropped or rejected — as rows of source CIDR x destination
 * CIDR x ports. Each class is decided by one walk of the rules tracer (netfilter/trace.ts, the
 * walk `netpath rules trace` prints), on its lowest corner.
 *
 * Scale: a kube-proxy dump names ten thousand cluster IPs, each with its own ports and endpoint
 * sources. Cutting every dimension by every value would multiply them; instead each rule has a
 * destination guard (the destinations for which it can be reached at all: its own `-d`,
 * `--dst-range`, `--dst-type LOCAL`, intersected along the jumps that lead to its chain), and a
 * destination atom is cut in the other dimensions only by the rules whose guard meets it (or
 * meets where a DNAT rule of the atom sends the packet). Rules with no guard, or a guard wider
 * than WIDE atoms, cut every atom. This only ever leaves out cuts of rules a packet of the atom
 * cannot reach, so the classes stay exact.
 */
import { bug } from '../model/errors.js';
import type { Ipsets } from '../netfilter/ipset.js';
import { traceRules, type RulesOutcome, type RulesTraceInput, type TraceProto } from '../netfilter/trace.js';
import type { NfRule, NfState } from '../netfilter/types.js';
import { formatIpv4, type Ipv4 } from '../wire/ipv4.js';
import { mergeBoxes, type KeyedBox } from './atoms.js';
import { ruleCuts, specialAddresses, type CutSink } from './cuts.js';
import { ADDR_SPACE, CutSet, atomsOf, intersect, intervalPrefixes, mergeIntervals, prefixInterval, type Interval } from './space.js';
import type { Prefix } from '../wire/ipv4.js';

export interface MatrixInput {
  readonly nf: NfState;
  /** the host's own addresses (127.0.0.0/8 always is) */
  readonly local: readonly Ipv4[];
  readonly iif?: string;
  readonly oif?: string;
  readonly protos: readonly TraceProto[];
  /** destination ports (tcp, udp, sctp); default 1-65535 */
  readonly dport?: readonly Interval[];
  readonly ipsets?: Ipsets;
}

export interface MatrixRow {
  readonly src: Prefix;
  readonly dst: Prefix;
  readonly proto: TraceProto;
  readonly dport?: readonly Interval[];
  readonly sport?: readonly Interval[];
  /** the outcomes every packet of the row gets (one per statistic branch) */
  readonly outcomes: readonly RulesOutcome[];
  /** the row's lowest corner, walked again */
  readonly witness: RulesTraceInput;
}

export interface Matrix {
  readonly rows: readonly MatrixRow[];
  /** walks: one per class */
  readonly classes: number;
  readonly labels: readonly string[];
}

/** A guard wider than this many destination atoms cuts every atom (a sound over-approximation). */
const WIDE = 64;

const LOOPBACK: Interval = { lo: 0x7f000000, hi: 0x7fffffff };

interface GuardedRule {
  readonly rule: NfRule;
  readonly guard: readonly Interval[];
}

/** Each rule with the destinations it can be reached for (every table, every chain). */
function guardedRules(nf: NfState, local: readonly Interval[]): GuardedRule[] {
  const out: GuardedRule[] = [];
  for (const table of Object.values(nf)) {
    const chains = table.chains;
    const guard = new Map<string, Interval[]>();
    const todo: string[] = [];
    for (const [name, c] of Object.entries(chains))
      if (c.policy !== undefined) {
        guard.set(name, [ADDR_SPACE]);
        todo.push(name);
      }
    // guards only grow; iptables refuses loops, so this ends
    while (todo.length > 0) {
      const name = todo.pop()!;
      const g = guard.get(name)!;
      for (const r of chains[name]?.rules ?? []) {
        const t = r.target;
        if (t?.kind !== 'jump' && t?.kind !== 'goto') continue;
        const rg = ruleGuard(r, g, local);
        if (rg.length === 0) continue;
        const before = guard.get(t.chain) ?? [];
        const after = mergeIntervals([...before, ...rg]);
        if (after.length !== before.length || after.some((x, i) => x.lo !== before[i]!.lo || x.hi !== before[i]!.hi)) {
          guard.set(t.chain, after);
          todo.push(t.chain);
        }
      }
    }
    for (const [name, c] of Object.entries(chains)) {
      const g = guard.get(name);
      if (!g) continue; // never reached
      for (const r of c.rules) out.push({ rule: r, guard: ruleGuard(r, g, local) });
    }
  }
  return out;
}

/** The chain's guard narrowed by the rule's own destination matches. */
function ruleGuard(r: NfRule, chainGuard: readonly Interval[], local: readonly Interval[]): Interval[] {
  let g: readonly Interval[] = chainGuard;
  const narrow = (to: readonly Interval[]): void => {
    g = g.flatMap((x) => to.map((y) => intersect(x, y)).filter((z): z is Interval => z !== undefined));
  };
  for (const m of r.matches) {
    if (m.kind === 'destination' && !m.invert) narrow([prefixInterval(m.prefix)]);
    else if (m.kind === 'iprange' && m.dstRange && !m.dstRange.invert) narrow([{ lo: m.dstRange.from, hi: m.dstRange.to }]);
    else if (m.kind === 'addrtype' && m.dstType && !m.dstType.invert && m.dstType.types.length === 1 && m.dstType.types[0] === 'LOCAL') narrow(local);
  }
  return mergeIntervals(g);
}

function newSink(addrtype: readonly Interval[]): CutSink {
  return { src: new CutSet(), dst: new CutSet(), sport: new CutSet(), dport: new CutSet(), labels: new Set(), addrtype };
}

/** Sorted union of sorted cut lists. */
function unionCuts(a: readonly number[], b: CutSet | undefined): readonly number[] {
  if (!b || b.size === 0) return a;
  const s = new Set(a);
  for (const v of b.values()) s.add(v);
  return [...s].sort((x, y) => x - y);
}

/** What a class's walk gave, as compared between classes. */
export function outcomeKey(os: readonly RulesOutcome[]): string {
  return os
    .map((o) => `${o.verdict}${o.rejectWith ? `(${o.rejectWith})` : ''} ${o.delivery}${o.dnat ? ` dnat ${o.dnat}` : ''}${o.snat ? ` snat ${o.snat}` : ''}${o.masquerade ? ' masquerade' : ''}${os.length > 1 ? ` p=${+o.probability.toFixed(6)}` : ''}`)
    .join('; ');
}

export function serviceMatrix(input: MatrixInput): Matrix {
  const localIv = mergeIntervals([LOOPBACK, ...input.local.map((a) => ({ lo: a, hi: a }))]);
  const rules = guardedRules(input.nf, localIv);
  // destination cuts: every rule's, the special addresses, the local ones
  const dstSink = newSink(localIv);
  specialAddresses(dstSink.dst);
  for (const r of localIv) dstSink.dst.range(r.lo, r.hi);
  const global = newSink(localIv);
  const throwaway = newSink(localIv);
  for (const g of rules) ruleCuts(g.rule, { ...throwaway, dst: dstSink.dst, labels: dstSink.labels }, input.ipsets);
  const dstCuts = dstSink.dst.values();
  const dstAtoms = atomsOf(ADDR_SPACE, dstCuts);
  const atomIndex = (v: number): number => {
    let lo = 0;
    let hi = dstAtoms.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (dstAtoms[mid]!.lo <= v) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  };
  // rules per destination atom; wide or unguarded rules into the global sink
  const perAtom = new Map<number, NfRule[]>();
  const globalRules: NfRule[] = [];
  for (const g of rules) {
    if (g.guard.length === 0) continue; // unreachable for every destination
    const spans = g.guard.map((x) => [atomIndex(x.lo), atomIndex(x.hi)] as const);
    const width = spans.reduce((s, [a, b]) => s + b - a + 1, 0);
    if (width > WIDE) {
      globalRules.push(g.rule);
      continue;
    }
    for (const [a, b] of spans)
      for (let i = a; i <= b; i++) {
        const l = perAtom.get(i);
        if (l) l.push(g.rule);
        else perAtom.set(i, [g.rule]);
      }
  }
  /** where a DNAT or REDIRECT among these rules can send the packet: those atoms' rules apply after NAT */
  const natTargets = (rs: readonly NfRule[]): NfRule[] => {
    const more: NfRule[] = [];
    for (const r of rs) {
      const t = r.target;
      const to = t?.kind === 'DNAT' && t.range.addr ? [{ lo: t.range.addr.min, hi: t.range.addr.max }] : t?.kind === 'REDIRECT' ? localIv : [];
      for (const iv of to) {
        const a = atomIndex(iv.lo);
        const b = atomIndex(iv.hi);
        if (b - a + 1 > WIDE) continue; // their rules are cut globally below
        for (let i = a; i <= b; i++) more.push(...(perAtom.get(i) ?? []));
      }
    }
    return more;
  };
  for (const r of [...globalRules, ...natTargets(globalRules)]) ruleCuts(r, global, input.ipsets);
  for (const r of globalRules) {
    // a wide DNAT range: every atom it covers cuts globally
    const t = r.target;
    if (t?.kind === 'DNAT' && t.range.addr && atomIndex(t.range.addr.max) - atomIndex(t.range.addr.min) + 1 > WIDE)
      for (let i = atomIndex(t.range.addr.min); i <= atomIndex(t.range.addr.max); i++) for (const x of perAtom.get(i) ?? []) ruleCuts(x, global, input.ipsets);
  }
  const gSrc = global.src.values();
  const gSport = global.sport.values();
  const gDport = global.dport.values();
  const ALL_PORTS: Interval = { lo: 1, hi: 65535 };
  const dportSpace = mergeIntervals(input.dport ?? [ALL_PORTS]);

  const items = new Map<TraceProto, KeyedBox[]>();
  let classes = 0;
  for (let i = 0; i < dstAtoms.length; i++) {
    const dst = dstAtoms[i]!;
    const own = perAtom.get(i);
    let srcCuts = gSrc;
    let sportCuts = gSport;
    let dportCuts = gDport;
    if (own) {
      const s = newSink(localIv);
      for (const r of [...own, ...natTargets(own)]) ruleCuts(r, s, input.ipsets);
      for (const l of s.labels) global.labels.add(l);
      srcCuts = unionCuts(gSrc, s.src);
      sportCuts = unionCuts(gSport, s.sport);
      dportCuts = unionCuts(gDport, s.dport);
    }
    const srcAtoms = atomsOf(ADDR_SPACE, srcCuts);
    for (const proto of input.protos) {
      const ported = proto !== 'icmp';
      const dports = ported ? dportSpace.flatMap((r) => atomsOf(r, dportCuts)) : [undefined];
      const sports = ported ? atomsOf(ALL_PORTS, sportCuts) : [undefined];
      let list = items.get(proto);
      if (!list) items.set(proto, (list = []));
      for (const src of srcAtoms)
        for (const dport of dports)
          for (const sport of sports) {
            classes++;
            const os = traceRules(input.nf, walkInput(input, proto, src.lo, dst.lo, dport?.lo, sport?.lo));
            const key = outcomeKey(os);
            list.push({ key, dims: [[src], [dst], dport ? [dport] : [{ lo: 0, hi: 0 }], sport ? [sport] : [{ lo: 0, hi: 0 }]] });
          }
    }
  }
  const rows: MatrixRow[] = [];
  for (const [proto, list] of items) {
    const ported = proto !== 'icmp';
    // ports first, then sources (per destination), then destinations, then sources again
    for (const b of mergeBoxes(list, [2, 3, 0, 1, 0]))
      for (const s of b.dims[0]!)
        for (const sp of intervalPrefixes(s))
          for (const d of b.dims[1]!)
            for (const dp of intervalPrefixes(d)) {
              const witness = walkInput(input, proto, sp.addr, dp.addr, ported ? b.dims[2]![0]!.lo : undefined, ported ? b.dims[3]![0]!.lo : undefined);
              const os = traceRules(input.nf, witness);
              if (outcomeKey(os) !== b.key) bug(`rules matrix: the witness ${formatIpv4(sp.addr)} -> ${formatIpv4(dp.addr)} of a row does not get the row's outcome`);
              rows.push({ src: sp, dst: dp, proto, ...(ported ? { dport: b.dims[2]!, sport: b.dims[3]! } : {}), outcomes: os, witness });
            }
  }
  rows.sort((a, b) => a.dst.addr - b.dst.addr || a.src.addr - b.src.addr || (a.dport?.[0]?.lo ?? 0) - (b.dport?.[0]?.lo ?? 0) || (a.proto < b.proto ? -1 : a.proto > b.proto ? 1 : 0));
  return { rows, classes, labels: [...global.labels, ...dstSink.labels].filter((l, i, a) => a.indexOf(l) === i) };
}

function walkInput(input: MatrixInput, proto: TraceProto, src: number, dst: number, dport: number | undefined, sport: number | undefined): RulesTraceInput {
  return {
    src,
    dst,
    proto,
    ...(dport !== undefined ? { dport } : {}),
    ...(sport !== undefined ? { sport } : {}),
    ...(input.iif !== undefined ? { iif: input.iif } : {}),
    ...(input.oif !== undefined ? { oif: input.oif } : {}),
    local: input.local,
    ...(input.ipsets ? { ipsets: input.ipsets } : {}),
  };
}
