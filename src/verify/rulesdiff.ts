/**
 * What changes between two iptables-save dumps of one host, for every first packet: the service
 * matrix (matrix.ts) of both, computed only where they can differ, and overlaid.
 *
 * Where they can differ: per chain, the rules between the longest common prefix and the longest
 * common suffix of the two rule lists (a service added to KUBE-SERVICES is one rule there), and
 * a changed policy or table. A packet that matches none of those rules in either dump walks the
 * same rules in the same order in both. The destinations such packets may have are the guards
 * (matrix.ts) of the changed rules, widened by every DNAT that sends a packet into them; the two
 * matrices are computed for those destinations only.
 */
import { bug } from '../model/errors.js';
import { traceRules, type RulesOutcome, type RulesTraceInput, type TraceProto } from '../netfilter/trace.js';
import type { NfRule, NfState } from '../netfilter/types.js';
import { formatIpv4, type Prefix } from '../wire/ipv4.js';
import { mergeBoxes, type KeyedBox } from './atoms.js';
import { guardedRules, LOOPBACK, outcomeKey, serviceMatrix, type MatrixInput, type MatrixRow } from './matrix.js';
import { ADDR_SPACE, intersect, intervalPrefixes, mergeIntervals, prefixInterval, type Interval } from './space.js';

export interface RulesDiffInput extends Omit<MatrixInput, 'nf' | 'only'> {
  readonly before: NfState;
  readonly after: NfState;
}

export interface RulesChange {
  readonly src: readonly Prefix[];
  readonly dst: readonly Prefix[];
  readonly proto: TraceProto;
  readonly dport?: readonly Interval[];
  readonly sport?: readonly Interval[];
  readonly before: readonly RulesOutcome[];
  readonly after: readonly RulesOutcome[];
  readonly witness: RulesTraceInput;
}

export interface RulesDiff {
  readonly changes: readonly RulesChange[];
  /** the destinations compared (where the dumps can differ) */
  readonly scope: readonly Interval[];
  /** walks, both dumps together */
  readonly classes: number;
}

/** Destinations for which the two dumps may treat a packet differently. */
export function changedScope(a: NfState, b: NfState, local: readonly Interval[]): Interval[] {
  const ga = new Map(guardedRules(a, local).map((g) => [g.rule, g.guard] as const));
  const gb = new Map(guardedRules(b, local).map((g) => [g.rule, g.guard] as const));
  const scope: Interval[] = [];
  const add = (guards: Map<NfRule, readonly { dst: Interval }[]>, rs: readonly NfRule[]): void => {
    for (const r of rs) for (const box of guards.get(r) ?? []) scope.push(box.dst);
  };
  for (const t of ['raw', 'mangle', 'nat', 'filter'] as const) {
    const ta = a[t];
    const tb = b[t];
    if (ta.present !== tb.present) return [ADDR_SPACE];
    for (const name of new Set([...Object.keys(ta.chains), ...Object.keys(tb.chains)])) {
      const ca = ta.chains[name];
      const cb = tb.chains[name];
      if (ca?.policy !== cb?.policy) return [ADDR_SPACE];
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
  // a DNAT (or REDIRECT) into the changed destinations brings its own destinations in
  let cur = mergeIntervals(scope);
  for (let round = 0; round < 4 && cur.length > 0; round++) {
    const more: Interval[] = [];
    for (const [guards, nf] of [[ga, a], [gb, b]] as const)
      for (const table of Object.values(nf))
        for (const c of Object.values(table.chains))
          for (const r of c.rules) {
            const t = r.target;
            const to = t?.kind === 'DNAT' && t.range.addr ? [{ lo: t.range.addr.min, hi: t.range.addr.max }] : t?.kind === 'REDIRECT' ? local : [];
            if (to.some((x) => cur.some((y) => intersect(x, y) !== undefined))) for (const box of guards.get(r) ?? []) more.push(box.dst);
          }
    const next = mergeIntervals([...cur, ...more]);
    if (next.length === cur.length && next.every((x, i) => x.lo === cur[i]!.lo && x.hi === cur[i]!.hi)) break;
    cur = next;
  }
  return cur;
}

const toIntervals = (ps: readonly Prefix[]): Interval[] => mergeIntervals(ps.map(prefixInterval));

function meet(a: readonly Interval[], b: readonly Interval[]): Interval[] {
  const out: Interval[] = [];
  for (const x of a) for (const y of b) {
    const z = intersect(x, y);
    if (z) out.push(z);
  }
  return mergeIntervals(out);
}

export function rulesDiff(input: RulesDiffInput): RulesDiff {
  const local = mergeIntervals([LOOPBACK, ...input.local.map((a) => ({ lo: a, hi: a }))]);
  const scope = changedScope(input.before, input.after, local);
  if (scope.length === 0) return { changes: [], scope, classes: 0 };
  const { before: a, after: b, ...rest } = input;
  const ma = serviceMatrix({ ...rest, nf: a, only: scope });
  const mb = serviceMatrix({ ...rest, nf: b, only: scope });
  // overlay: every pair of rows that meet and disagree
  const NO: readonly Interval[] = [{ lo: 0, hi: 0 }];
  const boxes: KeyedBox[] = [];
  const outcomes = new Map<string, [readonly RulesOutcome[], readonly RulesOutcome[]]>();
  const byProto = new Map<TraceProto, MatrixRow[]>();
  for (const r of mb.rows) byProto.set(r.proto, [...(byProto.get(r.proto) ?? []), r]);
  for (const ra of ma.rows)
    for (const rb of byProto.get(ra.proto) ?? []) {
      const ka = outcomeKey(ra.outcomes);
      const kb = outcomeKey(rb.outcomes);
      if (ka === kb) continue;
      const dims = [meet(toIntervals(ra.src), toIntervals(rb.src)), meet(toIntervals(ra.dst), toIntervals(rb.dst)), meet(ra.dport ?? NO, rb.dport ?? NO), meet(ra.sport ?? NO, rb.sport ?? NO)];
      if (dims.some((d) => d.length === 0)) continue;
      const key = `${ra.proto}\u0000${ka}\u0000${kb}`;
      outcomes.set(key, [ra.outcomes, rb.outcomes]);
      boxes.push({ key, dims });
    }
  const changes: RulesChange[] = [];
  for (const box of mergeBoxes(boxes, [2, 3, 0, 1, 0])) {
    const proto = box.key.split('\u0000')[0] as TraceProto;
    const ported = proto !== 'icmp';
    const src = box.dims[0]!.flatMap(intervalPrefixes);
    const dst = box.dims[1]!.flatMap(intervalPrefixes);
    const witness: RulesTraceInput = {
      src: src[0]!.addr,
      dst: dst[0]!.addr,
      proto,
      ...(ported ? { dport: box.dims[2]![0]!.lo, sport: box.dims[3]![0]!.lo } : {}),
      ...(input.iif !== undefined ? { iif: input.iif } : {}),
      ...(input.oif !== undefined ? { oif: input.oif } : {}),
      local: input.local,
      ...(input.ipsets ? { ipsets: input.ipsets } : {}),
    };
    const [oa, ob] = outcomes.get(box.key)!;
    if (outcomeKey(traceRules(a, witness)) !== outcomeKey(oa) || outcomeKey(traceRules(b, witness)) !== outcomeKey(ob))
      bug(`rules diff: the witness ${formatIpv4(witness.src)} -> ${formatIpv4(witness.dst)} does not change as its row says`);
    changes.push({ src, dst, proto, ...(ported ? { dport: box.dims[2]!, sport: box.dims[3]! } : {}), before: oa, after: ob, witness });
  }
  changes.sort((x, y) => x.dst[0]!.addr - y.dst[0]!.addr || x.src[0]!.addr - y.src[0]!.addr || (x.dport?.[0]?.lo ?? 0) - (y.dport?.[0]?.lo ?? 0));
  return { changes, scope, classes: ma.classes + mb.classes };
}
