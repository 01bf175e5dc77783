/**
 * Deciding an invariant for every flow of its set (docs/verify.md): the set is split into atoms
 * (atoms.ts, cut by everything the world mentions, cuts.ts), the invariant is judged on one flow
 * per atom with the same `judge` that `netpath prop` uses, and the atoms that break it are
 * merged into the fewest rows. Each row carries a witness flow, judged again: a witness that does
 * not break the invariant the same way is a bug in the partition, and is thrown as one.
 */
import { bug } from '../model/errors.js';
import type { NsId } from '../model/link.js';
import type { Origin } from '../model/origin.js';
import type { ProbeProto, ProbeResult } from '../plan/model.js';
import type { Flow } from '../engine/probe.js';
import { judge } from '../prop/check.js';
import type { Invariant } from '../prop/invariants.js';
import type { ProbeTrace } from '../trace/types.js';
import { formatIpv4 } from '../wire/ipv4.js';
import type { World } from '../world/types.js';
import { boxesOf, mergeRows, representative, rowWitness, type Classified, type FlowSpace, type Row } from './atoms.js';
import { emptyCuts, worldCuts, type Cuts } from './cuts.js';
import { mergeIntervals, prefixInterval, type Interval } from './space.js';

/** The source address the client's request left with (the kernel's choice), if one was sent. */
export function requestSource(t: ProbeTrace): number | undefined {
  for (const s of t.steps) if (s.ns === t.from && s.dir === 'request' && s.packet && s.packet.src !== 0) return s.packet.src;
  return undefined;
}

/** The client's local port range: where the kernel draws a connection's source port. */
export function localPortRange(world: World, from: NsId): Interval {
  const range = (world.netns[from]?.sysctl['net.ipv4.ip_local_port_range'] ?? '32768\t60999').split(/\s+/).map(Number);
  return { lo: range[0] ?? 32768, hi: range[1] ?? 60999 };
}

/** One flow space per start point and protocol of an invariant's flow set. */
export function invariantSpaces(world: World, inv: Invariant): FlowSpace[] {
  const out: FlowSpace[] = [];
  const dst = mergeIntervals(inv.flows.to.map(prefixInterval));
  for (const from of inv.flows.from)
    for (const proto of inv.flows.proto) {
      if (proto === 'icmp') {
        out.push({ from, proto, dst });
        continue;
      }
      const dport = inv.flows.ports.map((r) => ({ lo: r.min, hi: r.max }));
      const sport = inv.flows.sports ? inv.flows.sports.map((r) => ({ lo: r.min, hi: r.max })) : [localPortRange(world, from)];
      out.push({ from, proto, dst, dport, sport });
    }
  return out;
}

/** What a violating atom saw: merged rows share it. */
interface ViolationKey {
  readonly src?: number;
  readonly result: ProbeResult;
  /** -m statistic / numgen: the violating branch's probability, when below 1 */
  readonly probability?: number;
}

export interface ViolationRow {
  readonly from: NsId;
  readonly proto: ProbeProto;
  readonly row: Row;
  readonly src?: number;
  readonly result: ProbeResult;
  readonly probability?: number;
  /** a concrete flow of the row, judged: it breaks the invariant as the row says */
  readonly witness: Flow;
  readonly violation: string;
  readonly trace: ProbeTrace;
}

export interface InvariantVerdict {
  readonly name: string;
  readonly form: string;
  readonly origin: Origin;
  readonly holds: boolean;
  /** engine runs: one per atom */
  readonly atoms: number;
  readonly violations: readonly ViolationRow[];
  /** what is followed branch by branch or taken as the engine takes it (docs/verify.md) */
  readonly labels: readonly string[];
}

function keyOf(t: ProbeTrace): ViolationKey {
  const src = requestSource(t);
  return { ...(src !== undefined ? { src } : {}), result: t.result, ...(t.probability < 1 ? { probability: t.probability } : {}) };
}

/** The cuts that decide an invariant: its world's, and for `equivalent` both sides'. */
export function invariantCuts(world: World, inv: Invariant): Cuts {
  const cuts = emptyCuts();
  if (inv.form.kind === 'equivalent') {
    worldCuts(inv.form.a, cuts);
    worldCuts(inv.form.b, cuts);
  } else worldCuts(world, cuts);
  return cuts;
}

export function verifyInvariant(world: World, inv: Invariant): InvariantVerdict {
  const target = inv.form.kind === 'equivalent' ? inv.form.a : world;
  const cuts = invariantCuts(world, inv);
  const addrCuts = cuts.addr.values();
  const portCuts = cuts.port.values();
  let atoms = 0;
  const violations: ViolationRow[] = [];
  for (const space of invariantSpaces(target, inv)) {
    const bad: Classified[] = [];
    for (const box of boxesOf(space, addrCuts, portCuts)) {
      atoms++;
      const v = judge(target, inv.form, representative(space, box));
      if (v) bad.push({ box, key: JSON.stringify(keyOf(v.trace)) });
    }
    for (const row of mergeRows(bad)) {
      const witness = rowWitness(space, row);
      const v = judge(target, inv.form, witness);
      const key = JSON.parse(row.key) as ViolationKey;
      if (!v || JSON.stringify(keyOf(v.trace)) !== row.key)
        bug(`verify: the witness ${formatIpv4(witness.to)}:${witness.port ?? ''} of a ${key.result} row gave ${v ? v.trace.result : 'no violation'}`);
      violations.push({
        from: space.from,
        proto: space.proto,
        row,
        ...(key.src !== undefined ? { src: key.src } : {}),
        result: key.result,
        ...(key.probability !== undefined ? { probability: key.probability } : {}),
        witness,
        violation: v.violation,
        trace: v.trace,
      });
    }
  }
  return { name: inv.name, form: inv.form.kind, origin: inv.origin, holds: violations.length === 0, atoms, violations, labels: [...cuts.labels] };
}
