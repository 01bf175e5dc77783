/**
 * Checking an invariant: fast-check draws flows from the invariant's set, `judge` runs each one
 * through the engine and says whether the invariant holds for it; on a failure fast-check shrinks
 * the flow to the smallest that still fails, and the report carries that flow's trace.
 *
 * A flow's verdict is a pure function of the world and the flow (the engine is seeded), so a run
 * is reproduced exactly by its fast-check seed.
 */
import fc from 'fast-check';
import type { NsId } from '../model/link.js';
import type { SimOptions } from '../engine/sim.js';
import { traceFlow } from '../trace/run.js';
import type { ProbeTrace } from '../trace/types.js';
import type { IpPacket } from '../engine/packet.js';
import { pktText } from '../trace/text.js';
import { formatIpv4 } from '../wire/ipv4.js';
import { displayNs } from '../world/build.js';
import type { World } from '../world/types.js';
import { flowText, type Flow } from './flowset.js';
import { cornerFlows, flowsOf } from './arbitraries.js';
import type { Form, Invariant } from './invariants.js';

/** One flow that breaks an invariant, with the trace that shows how. */
export interface Violation {
  /** what the invariant expected and what happened instead, one sentence */
  readonly violation: string;
  /** the branch that broke it (the `b` side's for equivalent) */
  readonly trace: ProbeTrace;
  /** equivalent: the same flow in the `a` world */
  readonly other?: ProbeTrace;
}

/** Fast traces for judging: the handshake decides every result, the rest is for captures. */
const JUDGE_SIM = { fullTcp: false } as const;

/** Whether `form` holds for one flow; the violation when it does not. */
export function judge(world: World, form: Form, flow: Flow, sim: Partial<SimOptions> = JUDGE_SIM): Violation | undefined {
  if (form.kind === 'equivalent') return judgeEquivalent(form, flow, sim);
  const traces = traceFlow(world, flow, sim);
  const name = (id: NsId): string => displayNs(world, id);
  for (const t of traces) {
    switch (form.kind) {
      case 'reach':
        if (t.result !== form.expect) return { violation: `expected ${form.expect}, the client saw ${t.result}${t.errno !== 'ok' && t.errno !== 'timeout' ? ` (${t.errno})` : ''}`, trace: t };
        break;
      case 'isolate':
        if (t.result === 'reachable') return { violation: `expected no connection, but the client reached ${t.to}${t.delivered ? ` in ${name(t.delivered.ns)}` : ''}`, trace: t };
        if (form.strict && t.delivered)
          return { violation: `expected nothing to arrive (strict), but the request reached ${name(t.delivered.ns)} and the client saw ${t.result}`, trace: t };
        break;
      case 'return':
        // a request the kernel never answers by design has no return path to judge: one received as
        // a broadcast (no SYN-ACK or RST, no port unreachable, echo ignored: models/k-broadcast-route.yaml)
        if (t.delivered && t.result !== 'reachable' && t.result !== 'refused' && !t.steps.some((s) => s.kind === 'socket' && s.event === 'broadcast-ignored'))
          return { violation: `the request reached ${name(t.delivered.ns)}, but its answer never got back: the client saw ${t.result}`, trace: t };
        break;
      case 'nat-reversible': {
        const v = natViolation(t, name);
        if (v) return { violation: v, trace: t };
        break;
      }
    }
  }
  return undefined;
}

function judgeEquivalent(form: Extract<Form, { kind: 'equivalent' }>, flow: Flow, sim: Partial<SimOptions>): Violation | undefined {
  if (!form.b.netns[flow.from]) return { violation: `${form.bLabel} has no namespace ${flow.from}`, trace: traceFlow(form.a, flow, sim)[0]! };
  const ta = traceFlow(form.a, flow, sim);
  const tb = traceFlow(form.b, flow, sim);
  const sig = (ts: readonly ProbeTrace[]): string => ts.map((t) => `${t.result}@${t.probability}`).sort().join(' ');
  if (sig(ta) === sig(tb)) return undefined;
  const results = (ts: readonly ProbeTrace[]): string => outcomeText(ts);
  const differing = tb.find((t) => !ta.some((u) => u.result === t.result)) ?? tb[0]!;
  const other = ta.find((u) => u.result !== differing.result) ?? ta[0]!;
  return { violation: `${form.aLabel}: ${results(ta)}; ${form.bLabel}: ${results(tb)}`, trace: differing, other };
}

function outcomeText(ts: readonly ProbeTrace[]): string {
  if (ts.length === 1) return ts[0]!.result;
  return ts.map((t) => `${t.result} (p=${t.probability})`).join(', ');
}

/**
 * A translated connection's replies must reach the client as the exact inverse of what it sent:
 * from the address and port it connected to, to its own address and port. Replies that never
 * come back are `return`'s business, not this one's.
 */
function natViolation(t: ProbeTrace, name: (id: NsId) => string): string | undefined {
  if (!t.steps.some((s) => s.kind === 'nat' && s.dir === 'request')) return undefined;
  const sent = t.steps.find((s) => s.ns === t.from && s.dir === 'request' && s.packet && s.packet.src !== 0)?.packet;
  if (!sent) return undefined;
  for (const s of t.steps) {
    if (s.ns !== t.from || s.dir !== 'reply' || !s.packet || (s.kind !== 'recv' && s.kind !== 'deliver')) continue;
    const p = s.packet;
    if (p.l4.kind !== sent.l4.kind) continue; // ICMP errors about the flow: translated by their own rules
    if (!isInverse(sent, p))
      return `${name(t.from)} sent ${pktText(sent)} but the reply arrived as ${pktText(p)}, not translated back to ${formatIpv4(sent.dst)}`;
  }
  return undefined;
}

function isInverse(req: IpPacket, rep: IpPacket): boolean {
  if (rep.src !== req.dst || rep.dst !== req.src) return false;
  const a = req.l4;
  const b = rep.l4;
  if ((a.kind === 'tcp' || a.kind === 'udp') && (b.kind === 'tcp' || b.kind === 'udp')) return b.sport === a.dport && b.dport === a.sport;
  if (a.kind === 'icmp' && b.kind === 'icmp') return (b.id ?? 0) === (a.id ?? 0);
  return true;
}

// --- runs ----------------------------------------------------------------------------------------

export interface CheckOptions {
  /** flows to try (an invariant's own `runs` is used when this is undefined); default 100 */
  readonly runs?: number;
  readonly seed: number;
  /** called after each flow with the count so far, for a progress line */
  readonly onRun?: (done: number, total: number) => void;
}

export interface Counterexample {
  readonly flow: Flow;
  /** judged again with the whole exchange traced, as `netpath trace` shows it */
  readonly violation: Violation;
}

export interface InvariantResult {
  readonly invariant: Invariant;
  readonly holds: boolean;
  /** flows tried (up to and including the first failure) */
  readonly runs: number;
  readonly seed: number;
  /** fast-check's replay path of the shrunk counterexample */
  readonly path?: string;
  readonly shrinks: number;
  readonly counterexample?: Counterexample;
}

export const DEFAULT_RUNS = 100;

export function checkInvariant(world: World, inv: Invariant, opts: CheckOptions): InvariantResult {
  const total = opts.runs ?? inv.runs ?? DEFAULT_RUNS;
  const target = inv.form.kind === 'equivalent' ? inv.form.a : world;
  const seen = new Map<string, Violation | undefined>();
  let done = 0;
  const verdict = (f: Flow): Violation | undefined => {
    const key = `${f.from}|${f.proto}|${f.to}|${f.port ?? ''}|${f.sport ?? ''}`;
    if (seen.has(key)) return seen.get(key);
    const v = judge(target, inv.form, f);
    seen.set(key, v);
    return v;
  };
  const hints = inv.form.kind === 'equivalent' ? [inv.form.a, inv.form.b] : [world];
  const prop = fc.property(flowsOf(target, inv.flows, hints), (f) => {
    const v = verdict(f);
    opts.onRun?.(++done, total);
    return v === undefined;
  });
  // the corners first (every mentioned value), when they fit in half the runs
  const examples = cornerFlows(inv.flows, hints, Math.floor(total / 2)).map((f): [Flow] => [f]);
  const out = fc.check(prop, { numRuns: total, seed: opts.seed, examples });
  if (!out.failed || !out.counterexample) return { invariant: inv, holds: true, runs: out.numRuns, seed: opts.seed, shrinks: 0 };
  const flow = out.counterexample[0];
  const violation = judge(target, inv.form, flow, {}) ?? verdict(flow)!;
  return {
    invariant: inv,
    holds: false,
    runs: out.numRuns,
    seed: opts.seed,
    ...(out.counterexamplePath ? { path: out.counterexamplePath } : {}),
    shrinks: out.numShrinks,
    counterexample: { flow, violation },
  };
}

/** A flow as one line, with namespace names as the user wrote them. */
export function describeFlow(world: World, f: Flow): string {
  return flowText(f, (id) => displayNs(world, id));
}
