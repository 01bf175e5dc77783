/**
 * What a change does, for every flow: two worlds (the plan before and after), the same flow space
 * from each start point, split by the cut points of BOTH worlds, so every atom is uniform in
 * each. An atom whose outcome differs is a change; changes with the same before and after (and
 * the same source address after) merge into rows, each with a witness run again in both worlds.
 */
import { bug } from '../model/errors.js';
import type { NsId } from '../model/link.js';
import type { ProbeProto } from '../plan/model.js';
import { simulate, type Flow } from '../engine/probe.js';
import type { ProbeTrace } from '../trace/types.js';
import { formatIpv4 } from '../wire/ipv4.js';
import type { World } from '../world/types.js';
import { boxesOf, mergeRows, representative, rowWitness, type Classified, type FlowSpace, type Row } from './atoms.js';
import { emptyCuts, worldCuts } from './cuts.js';
import { ADDR_SPACE, PORT_SPACE, type Interval } from './space.js';
import { localPortRange, requestSource } from './verify.js';

export interface DiffScope {
  /** start points (default: every namespace both worlds have) */
  readonly from?: readonly NsId[];
  /** destinations (default: every IPv4 address) */
  readonly to?: readonly Interval[];
  /** default tcp, udp, icmp */
  readonly proto?: readonly ProbeProto[];
  /** destination ports (default 1-65535; port 0 is not a port a client connects to) */
  readonly ports?: readonly Interval[];
}

/** Outcomes of one flow in one world, as compared: `reachable`, or `reachable 0.5, timeout 0.5`. */
export interface Fate {
  readonly text: string;
  readonly src?: number;
  readonly traces: readonly ProbeTrace[];
}

const FAST = { fullTcp: false } as const;

export function fateOf(world: World, flow: Flow): Fate {
  const traces = simulate(world, flow, FAST);
  const text = traces.length === 1 ? traces[0]!.result : traces.map((t) => `${t.result} ${+t.probability.toFixed(6)}`).sort().join(', ');
  const src = traces.map(requestSource).find((s) => s !== undefined);
  return { text, ...(src !== undefined ? { src } : {}), traces };
}

export interface Change {
  readonly from: NsId;
  readonly proto: ProbeProto;
  readonly row: Row;
  readonly before: string;
  readonly after: string;
  /** the request's source address after the change (before, when none is sent after) */
  readonly src?: number;
  readonly witness: Flow;
}

export interface DiffResult {
  readonly changes: readonly Change[];
  /** engine runs per world: one per atom */
  readonly atoms: number;
  readonly labels: readonly string[];
  readonly from: readonly NsId[];
}

export function diffWorlds(a: World, b: World, scope: DiffScope = {}): DiffResult {
  const from = scope.from ?? Object.keys(a.netns).filter((id) => b.netns[id] !== undefined);
  const cuts = emptyCuts();
  worldCuts(a, cuts);
  worldCuts(b, cuts);
  const addrCuts = cuts.addr.values();
  const portCuts = cuts.port.values();
  const to = scope.to ?? [ADDR_SPACE];
  const ports = scope.ports ?? [{ lo: 1, hi: PORT_SPACE.hi }];
  const protos = scope.proto ?? ['tcp', 'udp', 'icmp'];
  let atoms = 0;
  const changes: Change[] = [];
  for (const f of from) {
    if (!a.netns[f] || !b.netns[f]) bug(`diff: namespace ${f} missing from one side`);
    for (const proto of protos) {
      // the source ports the kernel may pick, on either side
      const sport = proto === 'icmp' ? undefined : [localPortRange(a, f), localPortRange(b, f)];
      const space: FlowSpace = { from: f, proto, dst: to, ...(proto !== 'icmp' ? { dport: ports, sport: sport! } : {}) };
      const changed: Classified[] = [];
      for (const box of boxesOf(space, addrCuts, portCuts)) {
        atoms++;
        const flow = representative(space, box);
        const fa = fateOf(a, flow);
        // a world against itself (every class's fate, as bench runs it) walks once
        const key = changeKey(fa, a === b ? fa : fateOf(b, flow));
        if (key !== undefined) changed.push({ box, key });
      }
      for (const row of mergeRows(changed)) {
        const witness = rowWitness(space, row);
        const before = fateOf(a, witness);
        const after = fateOf(b, witness);
        if (changeKey(before, after) !== row.key) bug(`diff: the witness ${formatIpv4(witness.to)}:${witness.port ?? ''} of a row does not change as the row says`);
        const src = after.src ?? before.src;
        changes.push({ from: f, proto, row, before: before.text, after: after.text, ...(src !== undefined ? { src } : {}), witness });
      }
    }
  }
  return { changes, atoms, labels: [...cuts.labels], from };
}

function changeKey(before: Fate, after: Fate): string | undefined {
  if (before.text === after.text) return undefined;
  return JSON.stringify([before.text, after.text, after.src ?? before.src ?? null]);
}
