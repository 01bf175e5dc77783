/**
 * netpath's public API: load a model into a world, trace flows through it, and property-test it
 * with fast-check.
 *
 * ```ts
 * import fc from 'fast-check';
 * import { load, flows, outcome } from 'netpath';
 *
 * const world = load('models/seed-lan-container.yaml');
 * fc.assert(fc.property(flows(world, { from: 'web1', to: '192.168.2.0/24', proto: 'tcp', ports: '1-79' }),
 *   (f) => outcome(world, f) !== 'reachable'));
 * ```
 *
 * Everything else under src/ is internal and may change. See docs/properties.md.
 */
import { loadModel, parseModel, type ModelFile, type ProbeProto, type ProbeResult } from './plan/model.js';
import { buildWorld, resolveNsRef } from './world/build.js';
import type { World } from './world/types.js';
import type { Flow } from './engine/probe.js';
import { traceFlow } from './trace/run.js';
import type { ProbeTrace } from './trace/types.js';
import { renderTrace } from './trace/render.js';
import { parseIpv4, type Ipv4 } from './wire/ipv4.js';
import { ConfigError } from './model/errors.js';
import type { Origin } from './model/origin.js';

export type { World, Flow, ProbeTrace, ProbeProto, ProbeResult, ModelFile, Ipv4 };
export type { Step, Drop, Why, DropCode, StepKind } from './trace/types.js';
export { ConfigError };

export { flows, ruleSets, ruleLines, firstMatch, topologies, biased } from './prop/arbitraries.js';
export type { RuleSet, RuleSpec, RuleSetOptions, RuleTarget, RulePacket, Topology, TopologyOptions, TopologyServer } from './prop/arbitraries.js';
export type { FlowSetInput, PortsInput } from './prop/flowset.js';
export { judge, checkInvariant, type Violation, type InvariantResult, type CheckOptions } from './prop/check.js';
export { parseInvariants, resolveInvariants, type Invariant, type InvariantSpec, type Form } from './prop/invariants.js';

/** Reads a model file (docs/model-format.md) and builds the world its runbooks make. Throws ConfigError on bad input. */
export function load(path: string): World {
  return buildWorld(loadModel(path)).world;
}

/** `load` for model text; `file` names it in errors and resolves `script:` paths. */
export function loadText(yaml: string, file = 'model.yaml'): World {
  return buildWorld(parseModel(yaml, file)).world;
}

/**
 * A flow as a user may write it: `from` a namespace reference (`web1`, `ngx1`, `web2/ngx1`), `to`
 * an address as a number or text (`'192.168.2.10'`, or `'192.168.2.10:80'` with the port).
 * Flows drawn by `flows()` are already in this form.
 */
export interface FlowInput {
  readonly from: string;
  readonly to: Ipv4 | string;
  readonly port?: number;
  readonly proto?: ProbeProto;
  readonly sport?: number;
  /** the client's source address, as if bound before connect() */
  readonly src?: Ipv4 | string;
  /** tcp: one crafted segment with these flags instead of a connect() */
  readonly tcpFlags?: Flow['tcpFlags'];
  /** tcp: 'established' completes a handshake first, then sends the crafted segment */
  readonly state?: Flow['state'];
}

const API: Origin = { file: '(api)', line: 0, text: '' };

/** Checks a FlowInput against the world: the namespace exists, the address parses. */
export function toFlow(world: World, f: FlowInput): Flow {
  const from = world.netns[f.from] ? f.from : resolveNsRef(world, f.from, API);
  let to: Ipv4 | undefined = typeof f.to === 'number' ? f.to : undefined;
  let port = f.port;
  if (typeof f.to === 'string') {
    const m = /^([0-9.]+)(?::(\d{1,5}))?$/.exec(f.to);
    to = m ? parseIpv4(m[1]!) : undefined;
    if (m?.[2] !== undefined) port = Number(m[2]);
  }
  if (to === undefined) throw ConfigError.at(API, 'model', `flow: "${String(f.to)}" is not an IPv4 address (or IP:PORT)`);
  const proto = f.proto ?? 'tcp';
  if (proto !== 'icmp' && port === undefined) throw ConfigError.at(API, 'model', `flow: ${proto} needs a port`);
  const src = typeof f.src === 'string' ? parseIpv4(f.src) : f.src;
  if (f.src !== undefined && src === undefined) throw ConfigError.at(API, 'model', `flow: src "${String(f.src)}" is not an IPv4 address`);
  return {
    from,
    to,
    proto,
    ...(proto !== 'icmp' && port !== undefined ? { port } : {}),
    ...(f.sport !== undefined ? { sport: f.sport } : {}),
    ...(src !== undefined ? { src } : {}),
    ...(proto === 'tcp' && f.tcpFlags !== undefined ? { tcpFlags: f.tcpFlags } : {}),
    ...(proto === 'tcp' && f.state !== undefined ? { state: f.state } : {}),
  };
}

/**
 * Walks a flow through the world: one trace per `-m statistic` branch (one when no rule splits
 * the flow), each with its probability, result, steps, drops and the why of a failure.
 */
export function trace(world: World, flow: FlowInput): ProbeTrace[] {
  return traceFlow(world, toFlow(world, flow));
}

/** One branch of a flow split by `-m statistic`. */
export interface BranchOutcome {
  readonly probability: number;
  readonly result: ProbeResult;
}

/**
 * What the client sees: the result when every branch agrees (always, without `-m statistic`),
 * else each branch's result with its probability. Compare with a result only when you know the
 * model has no statistic rules; `results()` gives every branch's result as a list.
 */
export function outcome(world: World, flow: FlowInput): ProbeResult | readonly BranchOutcome[] {
  const ts = traceFlow(world, toFlow(world, flow), { fullTcp: false });
  const first = ts[0]!.result;
  if (ts.every((t) => t.result === first)) return first;
  return ts.map((t) => ({ probability: t.probability, result: t.result }));
}

/** The result of every branch of the flow (one element without `-m statistic`). */
export function results(world: World, flow: FlowInput): ProbeResult[] {
  return traceFlow(world, toFlow(world, flow), { fullTcp: false }).map((t) => t.result);
}

/** A trace as `netpath trace` prints it. */
export function render(world: World, t: ProbeTrace, opts: { verbose?: boolean } = {}): string {
  return renderTrace(world, t, opts);
}
