/**
 * Equivalence classes of flows from one start point, and their merge into rows.
 *
 * A flow space is every fresh connection from one namespace with one protocol, to a union of
 * destination ranges, destination ports and client source ports. Its atoms are the boxes that
 * the cut points (cuts.ts) leave whole: every member of an atom takes the same decisions in the
 * engine, so the engine run on one member (the atom's lowest corner) decides them all. Runs are
 * the real single-packet engine (engine/probe.ts), so a witness trace agrees with its class by
 * construction.
 *
 * Rows are atoms of equal verdict merged back into the fewest CIDR x port-range boxes: ports
 * first (per destination atom), then destinations (per port set), then source ports.
 */
import type { NsId } from '../model/link.js';
import type { ProbeProto } from '../plan/model.js';
import type { Flow } from '../engine/probe.js';
import type { Prefix } from '../wire/ipv4.js';
import { atomsOf, inIntervals, intervalPrefixes, mergeIntervals, prefixInterval, rangesText, type Interval } from './space.js';

export interface FlowSpace {
  readonly from: NsId;
  readonly proto: ProbeProto;
  /** destination addresses */
  readonly dst: readonly Interval[];
  /** destination ports (tcp, udp) */
  readonly dport?: readonly Interval[];
  /** client source ports (tcp, udp) */
  readonly sport?: readonly Interval[];
}

/** One atom: a box of the space. */
export interface Box {
  readonly dst: Interval;
  readonly dport?: Interval;
  readonly sport?: Interval;
}

/** The atoms of a space under address and port cuts, in order (destination, then ports). */
export function* boxesOf(space: FlowSpace, addrCuts: readonly number[], portCuts: readonly number[]): Generator<Box> {
  const dsts = mergeIntervals(space.dst).flatMap((r) => atomsOf(r, addrCuts));
  const ports = (rs: readonly Interval[] | undefined): (Interval | undefined)[] => (rs === undefined ? [undefined] : mergeIntervals(rs).flatMap((r) => atomsOf(r, portCuts)));
  const dports = ports(space.dport);
  const sports = ports(space.sport);
  for (const dst of dsts)
    for (const dport of dports)
      for (const sport of sports) yield { dst, ...(dport ? { dport } : {}), ...(sport ? { sport } : {}) };
}

/** The count of atoms, without making them. */
export function boxCount(space: FlowSpace, addrCuts: readonly number[], portCuts: readonly number[]): number {
  const n = (rs: readonly Interval[] | undefined, cuts: readonly number[]): number => (rs === undefined ? 1 : mergeIntervals(rs).reduce((s, r) => s + atomsOf(r, cuts).length, 0));
  return n(space.dst, addrCuts) * n(space.dport, portCuts) * n(space.sport, portCuts);
}

/** The flow at a point of the space. */
export function flowAt(space: FlowSpace, dst: number, dport: number | undefined, sport: number | undefined): Flow {
  return {
    from: space.from,
    proto: space.proto,
    to: dst,
    ...(dport !== undefined ? { port: dport } : {}),
    ...(sport !== undefined ? { sport } : {}),
  };
}

/** An atom's representative: its lowest corner. */
export function representative(space: FlowSpace, b: Box): Flow {
  return flowAt(space, b.dst.lo, b.dport?.lo, b.sport?.lo);
}

/** A classified atom: its box and the verdict key its representative got. */
export interface Classified {
  readonly box: Box;
  /** equal keys merge into one row */
  readonly key: string;
}

/** One merged row: a destination prefix, port ranges, and the key all its atoms share. */
export interface Row {
  readonly key: string;
  readonly dst: Prefix;
  readonly dport?: readonly Interval[];
  readonly sport?: readonly Interval[];
}

/** A box in any number of dimensions, each a union of intervals, with the verdict its members share. */
export interface KeyedBox {
  readonly key: string;
  readonly dims: readonly (readonly Interval[])[];
}

/**
 * Merges boxes of equal key along one dimension after another (`order`): two boxes that agree on
 * every other dimension become one. Exact: each result is the union of the boxes it came from.
 */
export function mergeBoxes(items: readonly KeyedBox[], order: readonly number[]): KeyedBox[] {
  let cur: readonly KeyedBox[] = items;
  for (const d of order) {
    const g = new Map<string, { key: string; dims: (readonly Interval[])[]; along: Interval[] }>();
    for (const it of cur) {
      let k = it.key;
      for (let i = 0; i < it.dims.length; i++) k += i === d ? '\u0000' : `\u0000${rangesText(it.dims[i]!)}`;
      let e = g.get(k);
      if (!e) g.set(k, (e = { key: it.key, dims: [...it.dims], along: [] }));
      e.along.push(...it.dims[d]!);
    }
    cur = [...g.values()].map((e) => ({ key: e.key, dims: e.dims.map((x, i) => (i === d ? mergeIntervals(e.along) : x)) }));
  }
  return [...cur];
}

/** Merges classified atoms into the fewest rows (exact: each row is the union of its atoms). */
export function mergeRows(items: readonly Classified[]): Row[] {
  // dimensions: 0 destination, 1 destination port, 2 source port; an absent port is one dummy value
  const none: readonly Interval[] = [{ lo: 0, hi: 0 }];
  const boxes = items.map((it) => ({ key: it.key, dims: [[it.box.dst], it.box.dport ? [it.box.dport] : none, it.box.sport ? [it.box.sport] : none] }));
  const hasD = items.some((it) => it.box.dport);
  const hasS = items.some((it) => it.box.sport);
  const merged = mergeBoxes(boxes, [1, 0, 2]);
  const rows: Row[] = [];
  for (const b of merged)
    for (const d of b.dims[0]!)
      for (const p of intervalPrefixes(d)) rows.push({ key: b.key, dst: p, ...(hasD ? { dport: b.dims[1]! } : {}), ...(hasS ? { sport: b.dims[2]! } : {}) });
  rows.sort((a, b) => a.dst.addr - b.dst.addr || (a.dport?.[0]?.lo ?? 0) - (b.dport?.[0]?.lo ?? 0) || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return rows;
}

/** A row's witness: its lowest corner (inside one of its atoms, so it has the row's verdict). */
export function rowWitness(space: FlowSpace, r: Row): Flow {
  return flowAt(space, prefixInterval(r.dst).lo, r.dport?.[0]?.lo, r.sport?.[0]?.lo);
}

/** Whether a flow lies inside a row. */
export function inRow(r: Row, f: Flow): boolean {
  const d = prefixInterval(r.dst);
  if (f.to < d.lo || f.to > d.hi) return false;
  if (r.dport && (f.port === undefined || !inIntervals(f.port, r.dport))) return false;
  if (r.sport && (f.sport === undefined || !inIntervals(f.sport, r.sport))) return false;
  return true;
}
