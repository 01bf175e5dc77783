/**
 * Fixes that are proven before they are printed. Each candidate (explain/candidates.ts) becomes
 * the runbook line a user would type on the host, is parsed by the real runbook parser (a line it
 * refuses is never printed), folded onto a copy of the world, and the probe is simulated again.
 * Only candidates that give the wanted result (the probe's `expect:` when it failed it, else
 * `reachable`) in every `-m statistic` branch, without changing another probe that passed, are
 * kept: at most three, narrowest first, within MAX_SIMULATIONS runs of the probe.
 */
import { ConfigError } from '../model/errors.js';
import type { NsId } from '../model/link.js';
import { formatOrigin } from '../model/origin.js';
import { simulate, type Flow } from '../engine/probe.js';
import { nodeIo, type ModelIo, type ProbeResult, type ProbeSpec } from '../plan/model.js';
import { parseRunbook } from '../plan/runbook.js';
import { applyOps } from '../world/apply.js';
import { displayNs, resolveNsRef, type Built } from '../world/build.js';
import type { World } from '../world/types.js';
import type { ProbeTrace } from '../trace/types.js';
import { probeFlow } from '../trace/probe.js';
import { candidates, type Candidate } from './candidates.js';
import { whyOf, type WhyFacts } from './why.js';

/** Simulations of the explained probe one explanation may spend. */
export const MAX_SIMULATIONS = 20;
export const MAX_FIXES = 3;
/** a probe's result is decided when connect() returns: the rest of the exchange only adds captures */
const QUICK = { fullTcp: false, captures: false } as const;

export interface ProbeRun {
  readonly name: string;
  readonly flow: Flow;
  readonly expect?: ProbeResult;
  readonly traces: readonly ProbeTrace[];
  readonly result: ProbeResult;
  /** the result matches `expect` (or, without one, is reachable) */
  readonly ok: boolean;
}

export interface ProbeChange {
  readonly probe: string;
  readonly before: ProbeResult;
  readonly after: ProbeResult;
}

export interface ProvenFix {
  readonly host: string;
  /** the runbook line (section `run`), or the service entry (section `services`) */
  readonly command: string;
  readonly section: 'run' | 'services';
  readonly note?: string;
  readonly verified: { readonly result: ProbeResult; readonly otherProbesChanged: readonly ProbeChange[]; readonly otherProbesUnchanged: number };
  /** the namespace it acts in, and the service it adds */
  readonly ns: NsId;
  readonly service?: { readonly at: string; readonly proto: 'tcp' | 'udp'; readonly port: number };
}

export interface Explanation {
  readonly why: WhyFacts;
  readonly wanted: ProbeResult;
  readonly fixes: readonly ProvenFix[];
  /** simulations of the explained probe spent on candidates */
  readonly simulations: number;
  readonly candidatesTried: number;
}

/** One result for a probe's branches, as `netpath check` reports it. */
export function resultOf(traces: readonly ProbeTrace[]): ProbeResult {
  const results = [...new Set(traces.map((t) => t.result))];
  if (results.length === 1) return results[0]!;
  return [...traces].sort((a, b) => b.probability - a.probability)[0]!.result;
}

export function runProbe(world: World, p: { name: string; flow: Flow; expect?: ProbeResult }, traces?: readonly ProbeTrace[]): ProbeRun {
  const ts = traces ?? simulate(world, p.flow);
  const result = resultOf(ts);
  const ok = p.expect !== undefined ? ts.every((t) => t.result === p.expect) : result === 'reachable';
  return { name: p.name, flow: p.flow, ...(p.expect !== undefined ? { expect: p.expect } : {}), traces: ts, result, ok };
}

/** The result a fix must give: the expectation the probe failed, else reachable. */
export function wantedOf(run: ProbeRun): ProbeResult | undefined {
  if (run.expect !== undefined && !run.ok) return run.expect;
  return run.result === 'reachable' && run.traces.every((t) => t.result === 'reachable') ? undefined : 'reachable';
}

/** The runbook line for `cmd` run inside namespace `ns`, as typed on its host. */
export function runbookCommand(world: World, ns: NsId, cmd: string): { host: string; command: string } {
  const n = world.netns[ns];
  if (!n || n.name === null) return { host: n?.host ?? ns, command: cmd };
  const bound = Object.entries(world.bindings[n.host] ?? {}).find(([, id]) => id === ns)?.[0];
  if (bound !== undefined) return { host: n.host, command: `ip netns exec ${bound} ${cmd}` };
  if (n.container) return { host: n.host, command: `docker exec ${n.name} ${cmd}` };
  return { host: n.host, command: `ip netns exec ${n.name} ${cmd}` };
}

/** The next file line after a host's runbook: where an appended fix is reported to sit. */
function nextLine(built: Built, host: string): number {
  const h = built.model.hosts.find((x) => x.name === host);
  if (!h?.runbook) return 1;
  const lines = h.runbook.text.split('\n').length;
  return (h.runbook.lines?.[h.runbook.lines.length - 1] ?? h.runbook.firstLine + lines - 1) + 1;
}

/** A runbook whose commands carry terminal prompts (src/plan/shell.ts) needs one on an appended line too. */
const PROMPTED = /^[ \t]*(?:\$(?: |$)|[A-Za-z_][\w.-]*@[\w.-]+:[^\s#$]*[#$] |\[[A-Za-z_][\w.-]*@[\w.-]+(?: [^\]]*)?\][#$] )/m;

/** The line to append to `host`'s runbook for `command`: with a `$ ` prompt when its lines carry prompts. */
export function runbookLineFor(built: Built, host: string, command: string): string {
  const h = built.model.hosts.find((x) => x.name === host);
  return h?.runbook && PROMPTED.test(h.runbook.text) ? `$ ${command}` : command;
}

/**
 * The world with one more runbook line on `host`, folded by the same parser and fold that build
 * the model. Throws ConfigError when the line is not a valid runbook command there.
 */
export function withLine(built: Built, world: World, host: string, command: string, io: ModelIo = nodeIo): World {
  const h = built.model.hosts.find((x) => x.name === host);
  const ops = parseRunbook(
    { host, file: h?.runbook?.file ?? built.model.file, text: runbookLineFor(built, host, command), firstLine: nextLine(built, host), ...(h?.files ? { files: h.files } : {}), baseDir: built.model.dir },
    io,
  );
  return applyOps(world, ops);
}

/** The world with one more service. */
export function withService(world: World, ns: NsId, proto: 'tcp' | 'udp', port: number): World {
  if (world.services.some((s) => s.ns === ns && s.proto === proto && s.port === port)) return world;
  return { ...world, services: [...world.services, { ns, proto, port, origin: { file: '(fix)', line: 0, text: `${proto}/${port}` } }] };
}

function serviceAt(world: World, ns: NsId): string {
  const shown = displayNs(world, ns);
  try {
    if (resolveNsRef(world, shown, { file: '(fix)', line: 0, text: '' }) === ns) return shown;
  } catch {
    /* fall through to the full id */
  }
  return ns;
}

interface Applied {
  readonly world: World;
  readonly fix: Omit<ProvenFix, 'verified'>;
}

function applyCandidate(built: Built, world: World, c: Candidate, io: ModelIo): Applied | undefined {
  if (c.service) {
    const at = serviceAt(world, c.ns);
    const host = world.netns[c.ns]?.host ?? c.ns;
    return {
      world: withService(world, c.ns, c.service.proto, c.service.port),
      fix: { host, command: `{at: ${at}, listen: ${c.service.proto}/${c.service.port}}`, section: 'services', ns: c.ns, service: { at, proto: c.service.proto, port: c.service.port }, ...(c.note !== undefined ? { note: c.note } : {}) },
    };
  }
  const { host, command } = runbookCommand(world, c.ns, c.cmd);
  try {
    return { world: withLine(built, world, host, command, io), fix: { host, command, section: 'run', ns: c.ns, ...(c.note !== undefined ? { note: c.note } : {}) } };
  } catch (e) {
    if (e instanceof ConfigError) return undefined; // not a line the host would accept: never printed
    throw e;
  }
}

export interface ExplainOptions {
  /** the result to reach (default: wantedOf the run) */
  readonly wanted?: ProbeResult;
  /** the probes that passed (default: those of `runs` that do); a fix must not change them, unless they fail at the same point */
  readonly protectPassed?: readonly number[];
  /** more probes a fix must not change (those fixed already) */
  readonly alsoProtect?: readonly number[];
  readonly io?: ModelIo;
  readonly maxSimulations?: number;
}

/**
 * Explains run `index` of `runs` (the model's probes simulated in `world`, or one more flow at the
 * end for `netpath trace`): the why of its first branch that missed the wanted result, and the
 * candidates that are proven to give it.
 */
export function explainRun(built: Built, world: World, runs: readonly ProbeRun[], index: number, opts: ExplainOptions = {}): Explanation | undefined {
  const run = runs[index]!;
  const wanted = opts.wanted ?? wantedOf(run);
  if (wanted === undefined) return undefined;
  const tr = run.traces.find((t) => t.result !== wanted) ?? run.traces[0]!;
  const why = whyOf(world, tr, run.expect !== undefined && !run.ok ? run.expect : undefined);
  // a probe that passed is protected, unless it fails at the very same point (the same drop, the
  // same line): a change that fixes both is one fix for one cause, and it is listed
  const cause = causeKey(why);
  const sameCause = (r: ProbeRun): boolean => r.traces.some((t) => t.result !== 'reachable' && causeKey(whyOf(world, t)) === cause);
  const passed = opts.protectPassed ?? runs.map((r, i) => (r.ok ? i : -1)).filter((i) => i >= 0);
  const protect = [...passed.filter((i) => i !== index && !sameCause(runs[i]!)), ...(opts.alsoProtect ?? []).filter((i) => i !== index)];
  const io = opts.io ?? nodeIo;
  const budget = opts.maxSimulations ?? MAX_SIMULATIONS;
  const fixes: ProvenFix[] = [];
  const seen = new Set<string>();
  let simulations = 0;
  let tried = 0;
  for (const c of candidates(world, tr, why.point)) {
    if (fixes.length >= MAX_FIXES || simulations >= budget) break;
    const applied = applyCandidate(built, world, c, io);
    if (!applied) continue;
    const key = `${applied.fix.host}\n${applied.fix.section}\n${applied.fix.command}`;
    if (seen.has(key)) continue;
    seen.add(key);
    tried++;
    simulations++;
    const after = simulate(applied.world, run.flow, QUICK);
    if (!after.every((t) => t.result === wanted)) continue;
    const changed: ProbeChange[] = [];
    let broken = false;
    let unchanged = 0;
    for (const [j, other] of runs.entries()) {
      if (j === index) continue;
      const r = resultOf(simulate(applied.world, other.flow, QUICK));
      if (r === other.result) {
        unchanged++;
        continue;
      }
      changed.push({ probe: other.name, before: other.result, after: r });
      if (protect.includes(j)) broken = true;
    }
    if (broken) continue;
    fixes.push({ ...applied.fix, verified: { result: wanted, otherProbesChanged: changed, otherProbesUnchanged: unchanged } });
  }
  return { why, wanted, fixes, simulations, candidatesTried: tried };
}

/** Two failures with the same key died at the same point for the same reason. */
function causeKey(w: WhyFacts): string {
  const p = w.point;
  const where = p.kind === 'drop' ? `${p.drop.ns}|${p.drop.code}|${p.drop.stage}|${p.drop.dir}|${p.decider?.chain ?? ''}|${p.decider?.rule ?? ''}` : p.kind === 'no-listener' ? `${p.ns}|${p.proto}/${p.port}` : '';
  return `${p.kind}|${where}|${w.origin ? formatOrigin(w.origin) : ''}`;
}

/** Every probe of a built model, simulated. */
export function modelRuns(built: Built, world: World = built.world): ProbeRun[] {
  return built.model.probes.map((p) => runProbe(world, { name: p.name, flow: probeFlow(world, p), ...(p.expect !== undefined ? { expect: p.expect } : {}) }));
}

/** A fix as one line for people: the command, what it gives, and what else it changes. */
export function fixText(f: ProvenFix): string {
  const where = f.section === 'services' ? `services: ${f.command}` : `on ${f.host}: ${f.command}`;
  const others = f.verified.otherProbesChanged;
  const effect =
    others.length === 0
      ? f.verified.otherProbesUnchanged > 0
        ? `${f.verified.otherProbesUnchanged} other probe${f.verified.otherProbesUnchanged === 1 ? '' : 's'} unchanged`
        : 'the model has no other probe'
      : `also changes ${others.map((c) => `${c.probe}: ${c.before} -> ${c.after}`).join(', ')}`;
  return `${where}   (verified: ${f.verified.result}; ${effect})`;
}

/** The fix JSON shape: {host, command, note?, verified: {result, otherProbesChanged}}. */
export function fixJson(f: ProvenFix): Record<string, unknown> {
  return {
    host: f.host,
    command: f.command,
    ...(f.note !== undefined ? { note: f.note } : {}),
    section: f.section,
    verified: { result: f.verified.result, otherProbesChanged: f.verified.otherProbesChanged, otherProbesUnchanged: f.verified.otherProbesUnchanged },
  };
}

/** The why JSON shape: {text, packet, ns, dev?, stage, counter?, origin?} (and code, dir). */
export function whyJson(world: World, w: WhyFacts): Record<string, unknown> {
  return {
    text: w.text,
    packet: w.packet,
    ns: displayNs(world, w.ns),
    ...(w.dev !== undefined ? { dev: w.dev } : {}),
    stage: w.stage,
    ...(w.counter !== undefined ? { counter: w.counter } : {}),
    ...(w.origin && w.origin.line > 0 ? { origin: { file: w.origin.file, line: w.origin.line, text: w.origin.text } } : {}),
    code: w.code,
    dir: w.dir,
  };
}

/** What is printed when no fix is proven: plainly, instead of a guess. */
export function noFixText(ex: Explanation | undefined): string {
  if (!ex || ex.candidatesTried === 0) return 'no single change found (no candidate change at the point where the probe fails)';
  return `no single change found (${ex.candidatesTried} candidate${ex.candidatesTried === 1 ? '' : 's'} simulated: none gives ${ex.wanted} without changing a probe that passed)`;
}
