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

/** Merges classified atoms into the fewest rows (exact: each row is the union of its atoms). */
export function mergeRows(items: readonly Classified[]): Row[] {
  // 1. per (key, dst atom, sport atom): the destination ports
  type S1 = { key: string; dst: Interval; sport?: Interval; dport?: Interval[] };
  const g1 = new Map<string, S1>();
  for (const it of items) {
    const k = `${it.key}\u0000${it.box.dst.lo}\u0000${it.box.sport?.lo ?? ''}`;
    let e = g1.get(k);
    if (!e) g1.set(k, (e = { key: it.key, dst: it.box.dst, ...(it.box.sport ? { sport: it.box.sport } : {}), ...(it.box.dport ? { dport: [] } : {}) }));
    if (it.box.dport) e.dport!.push(it.box.dport);
  }
  // 2. per (key, sport atom, dport set): the destinations
  type S2 = { key: string; dst: Interval[]; sport?: Interval; dport?: Interval[] };
  const g2 = new Map<string, S2>();
  for (const e of g1.values()) {
    const dport = e.dport ? mergeIntervals(e.dport) : undefined;
    const k = `${e.key}\u0000${e.sport?.lo ?? ''}\u0000${dport ? rangesText(dport) : ''}`;
    let f = g2.get(k);
    if (!f) g2.set(k, (f = { key: e.key, dst: [], ...(e.sport ? { sport: e.sport } : {}), ...(dport ? { dport } : {}) }));
    f.dst.push(e.dst);
  }
  // 3. per (key, destination range, dport set): the source ports
  type S3 = { key: string; dst: Interval; dport?: Interval[]; sport?: Interval[] };
  const g3 = new Map<string, S3>();
  for (const f of g2.values())
    for (const d of mergeIntervals(f.dst)) {
      const k = `${f.key}\u0000${d.lo}-${d.hi}\u0000${f.dport ? rangesText(f.dport) : ''}`;
      let h = g3.get(k);
      if (!h) g3.set(k, (h = { key: f.key, dst: d, ...(f.dport ? { dport: f.dport } : {}), ...(f.sport ? { sport: [] } : {}) }));
      if (f.sport) h.sport!.push(f.sport);
    }
  const rows: Row[] = [];
  for (const h of g3.values())
    for (const p of intervalPrefixes(h.dst))
      rows.push({ key: h.key, dst: p, ...(h.dport ? { dport: h.dport } : {}), ...(h.sport ? { sport: mergeIntervals(h.sport) } : {}) });
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
