/**
 * What changes between two iptables-save dumps of one host, for every first packet: the service
 * matrix (matrix.ts) classes of both dumps together (cut by the rules of both), each walked in
 * both, computed only where they can differ, the classes that change kept.
 *
 * Where they can differ: per chain, the rules between the longest common prefix and the longest
 * common suffix of the two rule lists (a service added to KUBE-SERVICES is one rule there), and
 * a changed policy or table. A packet that matches none of those rules in either dump walks the
 * same rules in the same order in both. The destinations such packets may have are the guards
 * (matrix.ts) of the changed rules, widened by every DNAT that sends a packet into them; the
 * classes are made for those destinations only.
 */
import type { RulesOutcome, RulesTraceInput, TraceProto } from '../netfilter/trace.js';
import type { NfRule, NfState } from '../netfilter/types.js';
import type { Prefix } from '../wire/ipv4.js';
import { ifaceClasses, type IfaceClasses } from './dims.js';
import { guardedRules, LOOPBACK, serviceMatrix, type GuardBox, type MatrixInput } from './matrix.js';
import { ADDR_SPACE, intersect, mergeIntervals, type Interval } from './space.js';

export interface RulesDiffInput extends Omit<MatrixInput, 'nf' | 'only' | 'also' | 'changedOnly'> {
  readonly before: NfState;
  readonly after: NfState;
}

export interface RulesChange {
  readonly src: readonly Prefix[];
  readonly dst: readonly Prefix[];
  readonly proto: TraceProto;
  readonly dport?: readonly Interval[];
  readonly sport?: readonly Interval[];
  /** input interface classes (indices into RulesDiff.interfaces) */
  readonly iif: readonly Interval[];
  /** tcp: the flag combinations */
  readonly flags?: readonly Interval[];
  readonly before: readonly RulesOutcome[];
  readonly after: readonly RulesOutcome[];
  readonly witness: RulesTraceInput;
}

export interface RulesDiff {
  readonly changes: readonly RulesChange[];
  /** the destinations compared (where the dumps can differ) */
  /** the destinations x destination ports compared (where the dumps can differ) */
  readonly scope: readonly GuardBox[];
  /** walks, both dumps together */
  readonly classes: number;
  /** the input interface classes the changes' `iif` index */
  readonly interfaces: IfaceClasses;
}

const ALL: GuardBox = { dst: ADDR_SPACE, dport: { lo: 0, hi: 65535 } };

/** Destinations x destination ports for which the two dumps may treat a packet differently. */
export function changedScope(a: NfState, b: NfState, local: readonly Interval[]): GuardBox[] {
  const ga = new Map(guardedRules(a, local).map((g) => [g.rule, g.guard] as const));
  const gb = new Map(guardedRules(b, local).map((g) => [g.rule, g.guard] as const));
  const scope: GuardBox[] = [];
  const add = (guards: Map<NfRule, readonly GuardBox[]>, rs: readonly NfRule[]): void => {
    for (const r of rs) scope.push(...(guards.get(r) ?? []));
  };
  for (const t of ['raw', 'mangle', 'nat', 'filter'] as const) {
    const ta = a[t];
    const tb = b[t];
    if (ta.present !== tb.present) return [ALL];
    for (const name of new Set([...Object.keys(ta.chains), ...Object.keys(tb.chains)])) {
      const ca = ta.chains[name];
      const cb = tb.chains[name];
      if (ca?.policy !== cb?.policy) return [ALL];
      const ra = ca?.rules ?? [];
      const rb = cb?.rules ?? [];
      let p = 0;
      while (p < ra.length && p < rb.length && ra[p]!.text === rb[p]!.text) p++;
      let q = 0;
      while (q < ra.length - p && q < rb.length - p && ra[ra.length - 1 - q]!.text === rb[rb.length - 1 - q]!.text) q++;
      add(ga, ra.slice(p, ra.length - q));
      add(gb, rb.slice(p, rb.length - q));
    }
  }
  // a DNAT or REDIRECT into the changed destinations (at any port: it may change the port too)
  // brings the packets it translates in; with no address, its own destinations are kept
  const seen = new Set<NfRule>();
  for (let round = 0; round < 4 && scope.length > 0; round++) {
    const dsts = mergeIntervals(scope.map((x) => x.dst));
    let grew = false;
    for (const [guards, nf] of [[ga, a], [gb, b]] as const)
      for (const table of Object.values(nf))
        for (const c of Object.values(table.chains))
          for (const r of c.rules) {
            const t = r.target;
            if (seen.has(r) || (t?.kind !== 'DNAT' && t?.kind !== 'REDIRECT')) continue;
            const own = guards.get(r) ?? [];
            const to = t.kind === 'DNAT' && t.range.addr ? [{ lo: t.range.addr.min, hi: t.range.addr.max }] : t.kind === 'REDIRECT' ? local : own.map((x) => x.dst);
            if (to.some((x) => dsts.some((y) => intersect(x, y) !== undefined))) {
              seen.add(r);
              scope.push(...own);
              grew = true;
            }
          }
    if (!grew) break;
  }
  return scope;
}

export function rulesDiff(input: RulesDiffInput): RulesDiff {
  const local = mergeIntervals([LOOPBACK, ...input.local.map((a) => ({ lo: a, hi: a }))]);
  const scope = changedScope(input.before, input.after, local);
  if (scope.length === 0) return { changes: [], scope, classes: 0, interfaces: input.iif !== undefined ? { labels: [input.iif], reps: [input.iif] } : ifaceClasses([]) };
  const { before, after, ...rest } = input;
  const m = serviceMatrix({ ...rest, nf: before, also: after, only: scope, changedOnly: true });
  const changes: RulesChange[] = m.rows.map((r) => ({
    src: r.src,
    dst: r.dst,
    proto: r.proto,
    ...(r.dport ? { dport: r.dport } : {}),
    ...(r.sport ? { sport: r.sport } : {}),
    iif: r.iif,
    ...(r.flags ? { flags: r.flags } : {}),
    before: r.outcomes,
    after: r.alsoOutcomes!,
    witness: r.witness,
  }));
  changes.sort((x, y) => x.dst[0]!.addr - y.dst[0]!.addr || x.src[0]!.addr - y.src[0]!.addr || (x.dport?.[0]?.lo ?? 0) - (y.dport?.[0]?.lo ?? 0));
  return { changes, scope, classes: m.classes, interfaces: m.interfaces };
}
