/**
 * The header space as intervals: one dimension is a range of integers (addresses as u32, ports),
 * a set of packets is a union of boxes, and a partition of a dimension is given by its cut
 * points. A cut at `c` means "c and c-1 can be told apart by something in the model", so the
 * atoms of a range are the maximal runs of values without a cut inside.
 *
 * Everything here is pure arithmetic; what counts as a cut is decided in cuts.ts.
 */
import { formatIpv4, type Ipv4, type Prefix } from '../wire/ipv4.js';

/** An inclusive integer interval. */
export interface Interval {
  readonly lo: number;
  readonly hi: number;
}

export const ADDR_SPACE: Interval = { lo: 0, hi: 0xffffffff };
export const PORT_SPACE: Interval = { lo: 0, hi: 65535 };

/** A growing set of cut points in one dimension. */
export class CutSet {
  private readonly set = new Set<number>();
  private sorted: number[] | undefined;
  /** the ranges tested, as given (see `classesOf`), keyed lo-hi */
  private readonly tested = new Map<string, Interval>();

  /** `c` starts a new atom (c-1 and c may differ). */
  add(c: number): void {
    if (!Number.isFinite(c)) return;
    this.set.add(c);
    this.sorted = undefined;
  }

  /** An inclusive range something tests membership of: a union of whole atoms. */
  range(lo: number, hi: number): void {
    this.add(lo);
    this.add(hi + 1);
    this.tested.set(`${lo}-${hi}`, { lo, hi });
  }

  /** Every range given to `range` (and so to `prefix` and `value`). */
  ranges(): readonly Interval[] {
    return [...this.tested.values()];
  }

  /** A prefix: its network address starts an atom, the one after its broadcast too. */
  prefix(p: Prefix): void {
    const r = prefixInterval(p);
    this.range(r.lo, r.hi);
  }

  /** One value alone in its atom. */
  value(v: number): void {
    this.range(v, v);
  }

  merge(o: CutSet): void {
    for (const c of o.values()) this.add(c);
    for (const r of o.ranges()) this.tested.set(`${r.lo}-${r.hi}`, r);
  }

  values(): readonly number[] {
    if (!this.sorted) this.sorted = [...this.set].sort((a, b) => a - b);
    return this.sorted;
  }

  get size(): number {
    return this.set.size;
  }
}

/** The atoms of `r` under `cuts`: consecutive intervals covering r, each without a cut inside. */
export function atomsOf(r: Interval, cuts: readonly number[]): Interval[] {
  const out: Interval[] = [];
  let lo = r.lo;
  // first cut strictly above lo
  let i = upperBound(cuts, lo);
  while (i < cuts.length && cuts[i]! <= r.hi) {
    out.push({ lo, hi: cuts[i]! - 1 });
    lo = cuts[i]!;
    i++;
  }
  out.push({ lo, hi: r.hi });
  return out;
}

/**
 * Classes of one dimension when every test on it is membership of a range: the atoms of `space`
 * grouped by the set of ranges that hold them. Two values in the same class pass the same
 * tests, so a class need not be one interval (the addresses on both sides of a /32 are one class
 * when nothing else tells them apart). Classes come in the order of their lowest atom.
 */
export function classesOf(space: readonly Interval[], tested: readonly Interval[]): Interval[][] {
  const cuts = new Set<number>();
  for (const r of tested) {
    cuts.add(r.lo);
    cuts.add(r.hi + 1);
  }
  const sorted = [...cuts].sort((a, b) => a - b);
  const byLo = [...tested].sort((a, b) => a.lo - b.lo);
  const groups = new Map<string, Interval[]>();
  for (const sp of mergeIntervals(space))
    for (const a of atomsOf(sp, sorted)) {
      let sig = '';
      for (let i = 0; i < byLo.length && byLo[i]!.lo <= a.lo; i++) if (byLo[i]!.hi >= a.lo) sig += `${i},`;
      const g = groups.get(sig);
      if (g) g.push(a);
      else groups.set(sig, [a]);
    }
  return [...groups.values()].map(mergeIntervals);
}

/** Index of the first element > v in a sorted array. */
function upperBound(a: readonly number[], v: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid]! <= v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export function prefixInterval(p: Prefix): Interval {
  const size = 2 ** (32 - p.len);
  const lo = p.len === 0 ? 0 : p.addr - (p.addr % size);
  return { lo, hi: lo + size - 1 };
}

export function intersect(a: Interval, b: Interval): Interval | undefined {
  const lo = Math.max(a.lo, b.lo);
  const hi = Math.min(a.hi, b.hi);
  return lo <= hi ? { lo, hi } : undefined;
}

/** Sorted, with touching or overlapping intervals joined. */
export function mergeIntervals(xs: readonly Interval[]): Interval[] {
  const s = [...xs].sort((a, b) => a.lo - b.lo);
  const out: Interval[] = [];
  for (const x of s) {
    const last = out[out.length - 1];
    if (last && x.lo <= last.hi + 1) out[out.length - 1] = { lo: last.lo, hi: Math.max(last.hi, x.hi) };
    else out.push(x);
  }
  return out;
}

/** The fewest prefixes whose union is exactly `r` (the usual greedy split is optimal). */
export function intervalPrefixes(r: Interval): Prefix[] {
  const out: Prefix[] = [];
  let lo = r.lo;
  while (lo <= r.hi) {
    let len = 32;
    // grow the block while it stays aligned and inside r
    while (len > 0) {
      const size = 2 ** (33 - len);
      if (lo % size !== 0 || lo + size - 1 > r.hi) break;
      len--;
    }
    out.push({ addr: lo, len });
    lo += 2 ** (32 - len);
  }
  return out;
}

export function prefixText(p: Prefix): string {
  return p.len === 32 ? formatIpv4(p.addr) : `${formatIpv4(p.addr)}/${p.len}`;
}

/** `80`, `1-79`, `1-79,81-65535`: port ranges as the model file writes them. */
export function rangesText(rs: readonly Interval[]): string {
  return rs.map((r) => (r.lo === r.hi ? `${r.lo}` : `${r.lo}-${r.hi}`)).join(',');
}

/** An address range as text: a prefix when it is one, else `a-b`. */
export function addrRangeText(r: Interval): string {
  const ps = intervalPrefixes(r);
  if (ps.length === 1) return prefixText(ps[0]!);
  return `${formatIpv4(r.lo)}-${formatIpv4(r.hi)}`;
}

export function inIntervals(v: number, rs: readonly Interval[]): boolean {
  return rs.some((r) => v >= r.lo && v <= r.hi);
}

export type { Ipv4 };
