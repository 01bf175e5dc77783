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
import { ruleCuts, specialAddresses, type CutSink, type FlagTest } from './cuts.js';
import { flagPartition, flagWitness, ifaceClasses, ifacePartition, SYN, type DimGroup, type IfaceClasses } from './dims.js';
import { ADDR_SPACE, CutSet, atomsOf, classesOf, intersect, intervalPrefixes, mergeIntervals, prefixInterval, type Interval } from './space.js';
import type { Prefix } from '../wire/ipv4.js';

export interface MatrixInput {
  readonly nf: NfState;
  /** the host's own addresses (127.0.0.0/8 always is) */
  readonly local: readonly Ipv4[];
  /** only this input interface; undefined: every interface, a dimension of the rows (dims.ts) */
  readonly iif?: string;
  readonly oif?: string;
  /** TCP flags of the first packet: `syn` (default) a SYN only, `all` every combination, a dimension of the rows (dims.ts) */
  readonly flags?: 'syn' | 'all';
  readonly protos: readonly TraceProto[];
  /** destination ports (tcp, udp, sctp); default 1-65535 */
  readonly dport?: readonly Interval[];
  readonly ipsets?: Ipsets;
  /** only these destinations x destination ports (rules diff: where the two dumps differ) */
  readonly only?: readonly GuardBox[];
  /** rules diff: a second dump, cut and walked on the same classes */
  readonly also?: NfState;
  /** with `also`: keep only the classes whose outcome differs between the two */
  readonly changedOnly?: boolean;
}

export interface MatrixRow {
  /** the fewest CIDRs that make the row's source ranges */
  readonly src: readonly Prefix[];
  readonly dst: readonly Prefix[];
  readonly proto: TraceProto;
  readonly dport?: readonly Interval[];
  readonly sport?: readonly Interval[];
  /** input interfaces: indices into Matrix.interfaces (with `iif`: [0], that interface) */
  readonly iif: readonly Interval[];
  /** tcp: the flag combinations (bits as `tcpFlags`: FIN 1, SYN 2, RST 4, PSH 8, ACK 16, URG 32) */
  readonly flags?: readonly Interval[];
  /** the outcomes every packet of the row gets (one per statistic branch) */
  readonly outcomes: readonly RulesOutcome[];
  /** with `also`: the outcomes in the second dump */
  readonly alsoOutcomes?: readonly RulesOutcome[];
  /** the row's lowest corner, walked again */
  readonly witness: RulesTraceInput;
}

export interface Matrix {
  readonly rows: readonly MatrixRow[];
  /** walks: one per class */
  readonly classes: number;
  readonly labels: readonly string[];
  /** the input interface classes the rows' `iif` index (with `iif` given: that one interface) */
  readonly interfaces: IfaceClasses;
}

/** A guard wider than this many atoms (of a dimension) cuts every atom (a sound over-approximation). */
const WIDE = 64;
/** A chain guard with more boxes than this is widened (ports first, then everything). */
const MAX_GUARD = 256;

export const LOOPBACK: Interval = { lo: 0x7f000000, hi: 0x7fffffff };
const MULTICAST: Interval = { lo: 0xe0000000, hi: 0xefffffff };
const ALL_PORTS: Interval = { lo: 0, hi: 65535 };
const ALL_BOX: GuardBox = { dst: ADDR_SPACE, dport: ALL_PORTS };

/** Destinations x destination ports for which a rule can be reached and match. */
export interface GuardBox {
  readonly dst: Interval;
  readonly dport: Interval;
}

export interface GuardedRule {
  readonly rule: NfRule;
  readonly guard: readonly GuardBox[];
}

/** Deduplicated, and widened when it grows past MAX_GUARD boxes. */
function normGuard(g: readonly GuardBox[]): GuardBox[] {
  const seen = new Map<string, GuardBox>();
  for (const b of g) seen.set(`${b.dst.lo}-${b.dst.hi}:${b.dport.lo}-${b.dport.hi}`, b);
  let out = [...seen.values()].sort((a, b) => a.dst.lo - b.dst.lo || a.dport.lo - b.dport.lo);
  if (out.length > MAX_GUARD) out = mergeIntervals(out.map((b) => b.dst)).map((dst) => ({ dst, dport: ALL_PORTS }));
  if (out.length > MAX_GUARD) out = [ALL_BOX];
  return out;
}

/** Each rule with the destinations and ports it can be reached for (every table, every chain). */
export function guardedRules(nf: NfState, local: readonly Interval[]): GuardedRule[] {
  const out: GuardedRule[] = [];
  for (const table of Object.values(nf)) {
    const chains = table.chains;
    // callers first: iptables refuses loops, so the jumps form a DAG; depth-first post-order, reversed
    const order: string[] = [];
    const seen = new Set<string>();
    const visit = (name: string): void => {
      if (seen.has(name)) return;
      seen.add(name);
      for (const r of chains[name]?.rules ?? []) if (r.target?.kind === 'jump' || r.target?.kind === 'goto') visit(r.target.chain);
      order.push(name);
    };
    for (const [name, c] of Object.entries(chains)) if (c.policy !== undefined) visit(name);
    order.reverse();
    const incoming = new Map<string, GuardBox[]>();
    for (const [name, c] of Object.entries(chains)) if (c.policy !== undefined) incoming.set(name, [ALL_BOX]);
    for (const name of order) {
      const g = normGuard(incoming.get(name) ?? []);
      for (const r of chains[name]?.rules ?? []) {
        const rg = ruleGuard(r, g, local);
        out.push({ rule: r, guard: rg });
        const t = r.target;
        if ((t?.kind === 'jump' || t?.kind === 'goto') && rg.length > 0) {
          const l = incoming.get(t.chain);
          if (l) l.push(...rg);
          else incoming.set(t.chain, [...rg]);
        }
      }
    }
  }
  return out;
}

/** The chain's guard narrowed by the rule's own destination and destination-port matches. */
function ruleGuard(r: NfRule, chainGuard: readonly GuardBox[], local: readonly Interval[]): GuardBox[] {
  let g: readonly GuardBox[] = chainGuard;
  const dst = (to: readonly Interval[]): void => {
    g = g.flatMap((b) => to.flatMap((y) => {
      const d = intersect(b.dst, y);
      return d ? [{ dst: d, dport: b.dport }] : [];
    }));
  };
  const dport = (to: readonly Interval[]): void => {
    g = g.flatMap((b) => to.flatMap((y) => {
      const p = intersect(b.dport, y);
      return p ? [{ dst: b.dst, dport: p }] : [];
    }));
  };
  for (const m of r.matches) {
    if (m.kind === 'destination' && !m.invert) dst([prefixInterval(m.prefix)]);
    else if (m.kind === 'iprange' && m.dstRange && !m.dstRange.invert) dst([{ lo: m.dstRange.from, hi: m.dstRange.to }]);
    else if (m.kind === 'addrtype' && m.dstType && !m.dstType.invert && m.dstType.types.length === 1 && m.dstType.types[0] === 'LOCAL') dst(local);
    else if ((m.kind === 'tcp' || m.kind === 'udp' || m.kind === 'sctp') && m.dport && !m.dport.invert) dport([{ lo: m.dport.min, hi: m.dport.max }]);
    else if (m.kind === 'multiport' && m.dir === 'destination' && !m.invert) dport(m.ports.map((p) => ({ lo: p.min, hi: p.max })));
  }
  return normGuard(g);
}

function newSink(addrtype: readonly Interval[]): CutSink {
  return { src: new CutSet(), dst: new CutSet(), sport: new CutSet(), dport: new CutSet(), labels: new Set(), addrtype, iif: new Set(), flags: new Map() };
}

/** The addresses outside these (sorted, disjoint) intervals. */
function complement(xs: readonly Interval[]): Interval[] {
  const out: Interval[] = [];
  let lo = 0;
  for (const x of xs) {
    if (x.lo > lo) out.push({ lo, hi: x.lo - 1 });
    lo = x.hi + 1;
  }
  if (lo <= ADDR_SPACE.hi) out.push({ lo, hi: ADDR_SPACE.hi });
  return out;
}

/** What a class's walk gave, as compared between classes. */
export function outcomeKey(os: readonly RulesOutcome[]): string {
  return os
    .map((o) => `${o.verdict}${o.rejectWith ? `(${o.rejectWith})` : ''} ${o.delivery}${o.dnat ? ` dnat ${o.dnat}` : ''}${o.snat ? ` snat ${o.snat}` : ''}${o.masquerade ? ' masquerade' : ''}${os.length > 1 ? ` p=${+o.probability.toFixed(6)}` : ''}`)
    .join('; ');
}

/** Index of the interval of a sorted partition that holds v. */
function indexIn(atoms: readonly Interval[], v: number): number {
  let lo = 0;
  let hi = atoms.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >>> 1;
    if (atoms[mid]!.lo <= v) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** The ranges one rule tests, per field. */
interface RuleCutLists {
  readonly src: readonly Interval[];
  readonly sport: readonly Interval[];
  readonly dport: readonly Interval[];
  readonly iif: readonly string[];
  readonly flags: readonly FlagTest[];
}

export function serviceMatrix(input: MatrixInput): Matrix {
  const localIv = mergeIntervals([LOOPBACK, ...input.local.map((a) => ({ lo: a, hi: a }))]);
  // what -m addrtype tells apart in a dump's walk (netfilter/trace.ts addrTypeOf): local, multicast, the limited broadcast
  const typed = mergeIntervals([...localIv, MULTICAST, { lo: 0xffffffff, hi: 0xffffffff }]);
  const rules = [input.nf, ...(input.also ? [input.also] : [])].flatMap((nf) => guardedRules(nf, localIv));
  const labels = new Set<string>();
  // one rule's cuts, once
  const cache = new Map<NfRule, RuleCutLists>();
  const cutsOf = (r: NfRule): RuleCutLists => {
    let c = cache.get(r);
    if (!c) {
      const s = newSink(typed);
      ruleCuts(r, s, input.ipsets);
      for (const l of s.labels) labels.add(l);
      cache.set(r, (c = { src: s.src.ranges(), sport: s.sport.ranges(), dport: s.dport.ranges(), iif: [...s.iif!], flags: [...s.flags!.values()] }));
    }
    return c;
  };
  // destination cuts: every rule's, the special addresses, the local ones
  const dstSink = newSink(typed);
  specialAddresses(dstSink.dst);
  for (const r of localIv) dstSink.dst.range(r.lo, r.hi);
  const throwaway = newSink(typed);
  for (const g of rules) ruleCuts(g.rule, { ...throwaway, dst: dstSink.dst, labels }, input.ipsets);
  // every input interface name the dumps compare with: the classes rows name (a single one with --iif)
  const interfaces: IfaceClasses = input.iif !== undefined ? { labels: [input.iif], reps: [input.iif] } : ifaceClasses(throwaway.iif!);
  const allFlags = input.flags === 'all';
  /** the groups of interface classes and of flag combinations the rules here tell apart (memoised by what they test) */
  const iifMemo = new Map<string, DimGroup[]>();
  const iifGroups = (cs: readonly RuleCutLists[]): readonly DimGroup[] => {
    if (input.iif !== undefined) return ONE_GROUP;
    const names = [...new Set([...gIif, ...cs.flatMap((c) => c.iif)])].sort();
    const k = names.join('\u0000');
    let g = iifMemo.get(k);
    if (!g) iifMemo.set(k, (g = ifacePartition(interfaces, names)));
    return g;
  };
  const flagMemo = new Map<string, DimGroup[]>();
  const flagGroups = (cs: readonly RuleCutLists[]): readonly DimGroup[] => {
    if (!allFlags) return SYN_ONLY;
    const tests = new Map<string, FlagTest>([...gFlags, ...cs.flatMap((c) => c.flags)].map((t) => [`${t.mask}/${t.comp}`, t]));
    const k = [...tests.keys()].sort().join(' ');
    let g = flagMemo.get(k);
    if (!g) flagMemo.set(k, (g = flagPartition([...tests.values()])));
    return g;
  };
  for (const r of input.only ?? []) dstSink.dst.range(r.dst.lo, r.dst.hi);
  const dstAtoms = atomsOf(ADDR_SPACE, dstSink.dst.values());
  /** the scope's port ranges at a destination atom; undefined: every port */
  const wantedPorts = (d: Interval): Interval[] | undefined => (input.only === undefined ? undefined : input.only.filter((r) => r.dst.lo <= d.lo && d.lo <= r.dst.hi).map((r) => r.dport));
  // rules per destination atom, each with the destination ports it is guarded by there;
  // rules guarded by more than WIDE atoms cut every atom
  const perAtom = new Map<number, { rule: NfRule; dport: Interval }[]>();
  const globalRules: NfRule[] = [];
  for (const g of rules) {
    if (g.guard.length === 0) continue; // unreachable for every packet
    const spans = g.guard.map((b) => [indexIn(dstAtoms, b.dst.lo), indexIn(dstAtoms, b.dst.hi), b.dport] as const);
    if (spans.reduce((s, [a, b]) => s + b - a + 1, 0) > WIDE) {
      globalRules.push(g.rule);
      continue;
    }
    for (const [a, b, dport] of spans)
      for (let i = a; i <= b; i++) {
        const l = perAtom.get(i);
        if (l) l.push({ rule: g.rule, dport });
        else perAtom.set(i, [{ rule: g.rule, dport }]);
      }
  }
  /** where a DNAT or REDIRECT among these rules sends the packet: those atoms' rules apply after NAT, at any port */
  const natTargets = (rs: readonly NfRule[]): NfRule[] => {
    const more: NfRule[] = [];
    for (const r of rs) {
      const t = r.target;
      const to = t?.kind === 'DNAT' && t.range.addr ? [{ lo: t.range.addr.min, hi: t.range.addr.max }] : t?.kind === 'REDIRECT' ? localIv : [];
      for (const iv of to) for (let i = indexIn(dstAtoms, iv.lo); i <= indexIn(dstAtoms, iv.hi); i++) for (const e of perAtom.get(i) ?? []) more.push(e.rule);
    }
    return more;
  };
  const global = newSink(typed);
  for (const r of [...globalRules, ...natTargets(globalRules)]) ruleCuts(r, global, input.ipsets);
  for (const l of global.labels) labels.add(l);
  const gSrc = global.src.ranges();
  const gSport = global.sport.ranges();
  const gDport = global.dport.ranges();
  const gIif = [...global.iif!];
  const gFlags = [...global.flags!.values()];
  const dportSpace = mergeIntervals(input.dport ?? [{ lo: 1, hi: 65535 }]);
  const SPORTS: readonly Interval[] = [{ lo: 1, hi: 65535 }];
  // packets arriving from elsewhere: a source that is the host's own is not one (rules trace walks those from OUTPUT)
  const srcSpace = complement(localIv);

  const items = new Map<TraceProto, KeyedBox[]>();
  let classes = 0;
  /** the key of a class: its outcome, or both dumps' outcomes; undefined to leave it out */
  const keyAt = (w: RulesTraceInput): string | undefined => {
    const ka = outcomeKey(traceRules(input.nf, w));
    if (!input.also) return ka;
    const kb = outcomeKey(traceRules(input.also, w));
    return input.changedOnly && ka === kb ? undefined : `${ka}\u0001${kb}`;
  };
  const walk = (proto: TraceProto, src: readonly Interval[], dst: Interval, dport: readonly Interval[] | undefined, sport: readonly Interval[] | undefined, iifs: readonly DimGroup[], flags: readonly DimGroup[]): void => {
    let list = items.get(proto);
    if (!list) items.set(proto, (list = []));
    for (const i of iifs)
      for (const f of proto === 'tcp' ? flags : NO_FLAGS) {
        classes++;
        const key = keyAt(walkInput(input, proto, src[0]!.lo, dst.lo, dport?.[0]!.lo, sport?.[0]!.lo, interfaces.reps[i.rep], proto === 'tcp' ? f.rep : undefined));
        if (key === undefined) continue;
        list.push({ key, dims: [src, [dst], dport ?? [NO_PORT], sport ?? [NO_PORT], i.values, f.values] });
      }
  };
  const ranges = (cs: readonly RuleCutLists[], f: 'src' | 'sport' | 'dport'): Interval[] => cs.flatMap((c) => c[f]);
  for (let i = 0; i < dstAtoms.length; i++) {
    const dst = dstAtoms[i]!;
    const scopePorts = wantedPorts(dst);
    if (scopePorts !== undefined && scopePorts.length === 0) continue;
    const own = perAtom.get(i) ?? [];
    const extra = natTargets(own.map((e) => e.rule)).map(cutsOf);
    const ownCuts = own.map((e) => cutsOf(e.rule));
    // destination-port classes: by the ranges every rule here tests, and the port guards of the rules here
    const dportTested = [...gDport, ...ranges([...ownCuts, ...extra], 'dport'), ...own.map((e) => e.dport), ...(scopePorts ?? [])];
    const dportClasses = classesOf(dportSpace, dportTested);
    const srcAll = [...gSrc, ...ranges([...ownCuts, ...extra], 'src')];
    for (const proto of input.protos) {
      if (proto === 'icmp') {
        // no ports: every rule of the atom may apply
        const cs = [...ownCuts, ...extra];
        const iifs = iifGroups(cs);
        for (const src of classesOf(srcSpace, srcAll)) walk(proto, src, dst, undefined, undefined, iifs, NO_FLAGS);
        continue;
      }
      for (const dport of dportClasses) {
        if (scopePorts && !scopePorts.some((r) => r.lo <= dport[0]!.lo && dport[0]!.lo <= r.hi)) continue;
        // the rules here whose port guard holds this class (a class is inside or outside each guard)
        const p = dport[0]!.lo;
        const here = [...extra, ...own.filter((e) => e.dport.lo <= p && p <= e.dport.hi).map((e) => cutsOf(e.rule))];
        const srcClasses = classesOf(srcSpace, [...gSrc, ...ranges(here, 'src')]);
        const sportClasses = classesOf(SPORTS, [...gSport, ...ranges(here, 'sport')]);
        const iifs = iifGroups(here);
        const flags = flagGroups(here);
        for (const src of srcClasses) for (const sport of sportClasses) walk(proto, src, dst, dport, sport, iifs, flags);
      }
    }
  }
  const rows: MatrixRow[] = [];
  for (const [proto, list] of items) {
    const ported = proto !== 'icmp';
    // interfaces and flags first (a row holds every interface and flag combination with its
    // outcome), then ports, then sources (per destination), then destinations, then sources again
    for (const b of mergeBoxes(list, [...(interfaces.labels.length > 1 ? [4] : []), ...(allFlags && proto === 'tcp' ? [5] : []), 2, 3, 0, 1, 0])) {
      const src = b.dims[0]!.flatMap(intervalPrefixes);
      const dst = b.dims[1]!.flatMap(intervalPrefixes);
      const iif = b.dims[4]!;
      const flags = proto === 'tcp' ? b.dims[5]! : undefined;
      const witness = walkInput(input, proto, src[0]!.addr, dst[0]!.addr, ported ? b.dims[2]![0]!.lo : undefined, ported ? b.dims[3]![0]!.lo : undefined, interfaces.reps[iif[0]!.lo], flags && flagWitness(flags));
      if (keyAt(witness) !== b.key) bug(`rules matrix: the witness ${formatIpv4(witness.src)} -> ${formatIpv4(witness.dst)} of a row does not get the row's outcome`);
      const os = traceRules(input.nf, witness);
      rows.push({ src, dst, proto, ...(ported ? { dport: b.dims[2]!, sport: b.dims[3]! } : {}), iif, ...(flags ? { flags } : {}), outcomes: os, ...(input.also ? { alsoOutcomes: traceRules(input.also, witness) } : {}), witness });
    }
  }
  rows.sort(
    (a, b) =>
      a.dst[0]!.addr - b.dst[0]!.addr ||
      a.src[0]!.addr - b.src[0]!.addr ||
      (a.dport?.[0]?.lo ?? 0) - (b.dport?.[0]?.lo ?? 0) ||
      (a.proto < b.proto ? -1 : a.proto > b.proto ? 1 : 0) ||
      a.iif[0]!.lo - b.iif[0]!.lo ||
      (a.flags?.[0]?.lo ?? 0) - (b.flags?.[0]?.lo ?? 0),
  );
  return { rows, classes, labels: [...labels], interfaces };
}

const NO_PORT: Interval = { lo: 0, hi: 0 };
/** one group: the one interface given, or the flags of a protocol without them */
const ONE_GROUP: readonly DimGroup[] = [{ values: [NO_PORT], rep: 0 }];
const NO_FLAGS = ONE_GROUP;
const SYN_ONLY: readonly DimGroup[] = [{ values: [{ lo: SYN, hi: SYN }], rep: SYN }];

function walkInput(input: MatrixInput, proto: TraceProto, src: number, dst: number, dport: number | undefined, sport: number | undefined, iif: string | undefined, tcpFlags: number | undefined): RulesTraceInput {
  return {
    src,
    dst,
    proto,
    ...(dport !== undefined ? { dport } : {}),
    ...(sport !== undefined ? { sport } : {}),
    ...(iif !== undefined ? { iif } : {}),
    ...(tcpFlags !== undefined && tcpFlags !== SYN ? { tcpFlags } : {}),
    ...(input.oif !== undefined ? { oif: input.oif } : {}),
    local: input.local,
    ...(input.ipsets ? { ipsets: input.ipsets } : {}),
  };
}
