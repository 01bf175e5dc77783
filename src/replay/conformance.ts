/**
 * Kernel conformance: random plans (src/replay/gen.ts) simulated and replayed in network
 * namespaces, several at a time; every disagreement is then shrunk by fast-check (one replay per
 * step) and reported with the shrunk plan as a model file.
 *
 * The cases are fast-check's own: case i of seed S is `fc.sample(genPlan(), {seed: S})[i]`, and
 * `fc.check(..., {seed: S, path: String(i)})` replays exactly that case before shrinking it.
 */
import fc from 'fast-check';
import { ConfigError } from '../model/errors.js';
import { parseModel } from '../plan/model.js';
import { buildWorld } from '../world/build.js';
import { featuresOf, WORLD_FEATURES } from './catalogue.js';
import { genPlan, resolvePlan, type GenPlan } from './gen.js';
import { KNOWN_DISAGREEMENTS } from './known.js';
import { replayNetns, type ReplayReport } from './netns.js';

export interface CaseOutcome {
  readonly ok: boolean;
  /** the model text */
  readonly model: string;
  /** why not ok: disagreeing probes, a setup failure, a simulation error */
  readonly problems: readonly string[];
  readonly ms: number;
  /** catalogue features the plan holds (src/replay/catalogue.ts WORLD_FEATURES keys) */
  readonly features: readonly string[];
  /** probes in the model */
  readonly probes: number;
  /** disagreements that are known ones (src/replay/known.ts): the model file of each */
  readonly known: readonly string[];
  /**
   * not ok only because probes disagreed or a setup command was killed by the replay's time limit
   * (no kernel refusal, crash or model refusal): an answer that may depend on timing
   */
  readonly mayBeTiming: boolean;
}

/** Simulates and replays one plan. A model the world refuses is a generator bug (not ok). */
export async function checkPlan(plan: GenPlan, title = 'generated conformance case'): Promise<CaseOutcome> {
  const t0 = performance.now();
  const { model, features: planFeatures } = resolvePlan(plan, title);
  let features: readonly string[] = planFeatures;
  let probes = 0;
  let known: string[] = [];
  const done = (problems: string[], mayBeTiming = false): CaseOutcome => ({ ok: problems.length === 0, model, problems, ms: Math.round(performance.now() - t0), features, probes, known, mayBeTiming: problems.length > 0 && mayBeTiming });
  let built;
  try {
    built = buildWorld(parseModel(model, 'conformance.yaml'));
    features = [...featuresOf(built, planFeatures)].sort();
    probes = built.model.probes.length;
  } catch (e) {
    if (e instanceof ConfigError) return done([`the simulation refuses the model (a generator bug, or a refusal the kernel may not share): ${e.message}`]);
    return done([`the simulation crashed: ${e instanceof Error ? (e.stack ?? e.message).split('\n').slice(0, 3).join(' | ') : String(e)}`]);
  }
  let report: ReplayReport;
  try {
    report = await replayNetns(built);
  } catch (e) {
    if (e instanceof Error && e.name === 'ReplayRefused') throw e;
    return done([`the replay or the simulation crashed: ${e instanceof Error ? (e.stack ?? e.message).split('\n').slice(0, 3).join(' | ') : String(e)}`]);
  }
  known = knownIn(report, model);
  return done(describe(report, model), (report.failure === undefined || report.failure.command.timedOut === true) && report.cleanupErrors.length === 0);
}

/** The known disagreements (src/replay/known.ts) a report's disagreeing probes are, one per probe. */
function knownIn(r: ReplayReport, model: string): string[] {
  return r.probes.flatMap((p) => {
    if (p.agree || p.observed === 'error') return [];
    const k = KNOWN_DISAGREEMENTS.find((x) => x.matches({ to: p.to, proto: p.proto, predicted: p.predictedAll, observed: p.observed }, model));
    return k ? [k.model] : [];
  });
}

/** One line per problem of a replay report. */
export function describe(r: ReplayReport, model = ''): string[] {
  const out: string[] = [];
  if (r.failure) out.push(`setup failed on the kernel: ${r.failure.message}`);
  for (const p of r.probes)
    if (!p.agree && p.observed !== 'error' && !KNOWN_DISAGREEMENTS.some((x) => x.matches({ to: p.to, proto: p.proto, predicted: p.predictedAll, observed: p.observed }, model)))
      out.push(`${p.name}: simulation ${p.predictedAll.join('|')} (${p.predictedErrno}), kernel ${p.observed} (${p.errno}: ${p.detail})`);
  for (const e of r.cleanupErrors) out.push(`cleanup: ${e}`);
  return out;
}

export interface ConformanceOptions {
  readonly seed: number;
  readonly runs: number;
  /** replays at a time (default 4) */
  readonly concurrency?: number;
  /** shrink each failure (default true); each shrink step is one replay */
  readonly shrink?: boolean;
  /** stop shrinking one failure after this long (default 120 s) */
  readonly shrinkMs?: number;
  /** shrink at most this many failures (default all); the others are reported as found */
  readonly maxShrink?: number;
  /** progress lines */
  readonly log?: (line: string) => void;
  /** called after each case with the count so far, for a progress line */
  readonly onCase?: (done: number, total: number) => void;
  /** how one case is checked (default checkPlan: simulate and replay); tests pass their own */
  readonly check?: (plan: GenPlan, title: string) => Promise<CaseOutcome>;
}

export interface ConformanceFailure {
  readonly index: number;
  /** fast-check path of the original case (replay it with {seed, path}) */
  readonly path: string;
  readonly original: CaseOutcome;
  /** the shrunk case, when shrinking reproduced the failure */
  readonly shrunk?: CaseOutcome;
  readonly shrinkSteps?: number;
  /** shrinking could not make it fail again: timing-dependent, or interference between probes */
  readonly flaky?: boolean;
}

/** A case that disagreed while cases ran side by side and agreed when replayed again alone. */
export interface UnconfirmedDisagreement {
  readonly index: number;
  readonly first: CaseOutcome;
  readonly again: CaseOutcome;
}

export interface ConformanceReport {
  readonly seed: number;
  readonly runs: number;
  readonly probes: number;
  /**
   * disagreements the kernel did not repeat when the case was replayed again on its own: its answer
   * depended on timing (a loaded machine delays the softirq work behind ARP failures and ICMP
   * errors past the client's wait), not on the model; printed, not counted as failures
   */
  readonly unconfirmed: readonly UnconfirmedDisagreement[];
  /** how many cases held each catalogue feature (WORLD_FEATURES key -> cases) */
  readonly draws: Readonly<Record<string, number>>;
  /** probes that disagreed in a known way (src/replay/known.ts): model file -> probes */
  readonly known: Readonly<Record<string, number>>;
  readonly failures: readonly ConformanceFailure[];
  readonly ms: number;
}

export async function runConformance(opts: ConformanceOptions): Promise<ConformanceReport> {
  const t0 = performance.now();
  const log = opts.log ?? ((): void => undefined);
  const check = opts.check ?? checkPlan;
  const plans = fc.sample(genPlan(), { seed: opts.seed, numRuns: opts.runs });
  const outcomes: CaseOutcome[] = new Array<CaseOutcome>(plans.length);
  let next = 0;
  let probes = 0;
  const draws: Record<string, number> = {};
  const known: Record<string, number> = {};
  let finished = 0;
  const worker = async (): Promise<void> => {
    while (next < plans.length) {
      const i = next++;
      const o = await check(plans[i]!, `conformance seed ${opts.seed} case ${i}`);
      outcomes[i] = o;
      probes += o.probes;
      for (const f of o.features) draws[f] = (draws[f] ?? 0) + 1;
      for (const k of o.known) known[k] = (known[k] ?? 0) + 1;
      log(`case ${i}: ${o.ok ? 'agree' : 'DISAGREE'} (${o.ms} ms)${o.known.length > 0 ? ` (known: ${o.known.join(', ')})` : ''}${o.ok ? '' : `\n  ${o.problems.join('\n  ')}`}`);
      opts.onCase?.(++finished, plans.length);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, opts.concurrency ?? 4) }, worker));
  const failures: ConformanceFailure[] = [];
  const unconfirmed: UnconfirmedDisagreement[] = [];
  for (const [i, o] of outcomes.entries()) {
    if (o.ok) continue;
    const path = String(i);
    if (o.mayBeTiming) {
      // a disagreement is confirmed by a second replay of the same case with nothing else running
      // beside it (a kernel refusing a setup command, or a crash, is not timing: never re-run)
      log(`case ${i}: replaying again alone to confirm ...`);
      const again = await check(plans[i]!, `conformance seed ${opts.seed} case ${i} (again)`);
      if (again.ok) {
        log(`case ${i}: agrees when replayed alone: the first answer depended on timing`);
        unconfirmed.push({ index: i, first: o, again });
        continue;
      }
    }
    if (opts.shrink === false || failures.filter((f) => f.shrunk !== undefined || f.flaky === true).length >= (opts.maxShrink ?? Infinity)) {
      failures.push({ index: i, path, original: o });
      continue;
    }
    log(`shrinking case ${i} ...`);
    let last: CaseOutcome | undefined;
    const details = await fc.check(
      fc.asyncProperty(genPlan(), async (p) => {
        const r = await check(p, `conformance seed ${opts.seed} case ${i} (shrunk)`);
        if (!r.ok) last = r;
        return r.ok;
      }),
      { seed: opts.seed, path, numRuns: opts.runs, interruptAfterTimeLimit: opts.shrinkMs ?? 120_000, markInterruptAsFailure: false },
    );
    if (details.failed && last) failures.push({ index: i, path, original: o, shrunk: last, shrinkSteps: details.numShrinks });
    else failures.push({ index: i, path, original: o, flaky: true });
  }
  return { seed: opts.seed, runs: opts.runs, probes, draws, known, failures, unconfirmed, ms: Math.round(performance.now() - t0) };
}

/**
 * Per-feature draw counts as text: every catalogue entry with the number of cases that held it,
 * grouped by kind; entries the generator does not draw say why.
 */
export function formatDraws(draws: Readonly<Record<string, number>>, runs: number): string {
  const rows = Object.entries(WORLD_FEATURES).map(([k, c]) => {
    const n = draws[k] ?? 0;
    return 'notGenerated' in c ? `  ${k.padEnd(40)} -      not generated: ${c.notGenerated}` : `  ${k.padEnd(40)} ${String(n).padStart(5)}  ${((100 * n) / Math.max(1, runs)).toFixed(1).padStart(5)}%${n === 0 ? '  NOT DRAWN' : ''}`;
  });
  return `features drawn (cases holding each, of ${runs}):\n${rows.join('\n')}`;
}

/** Disagreements the kernel did not repeat alone, as text (never silent). */
export function formatUnconfirmed(u: readonly UnconfirmedDisagreement[]): string {
  if (u.length === 0) return 'disagreements not repeated when replayed alone (timing): none';
  return `disagreements not repeated when replayed alone (timing, not counted):\n${u.map((x) => `  case ${x.index}: ${x.first.problems.join('; ')}`).join('\n')}`;
}

/** Known disagreements met in a run, as text. */
export function formatKnownMet(known: Readonly<Record<string, number>>): string {
  const rows = Object.entries(known).map(([m, n]) => `  models/${m}: ${n} probes`);
  return rows.length === 0 ? 'known disagreements met: none' : `known disagreements met (not failures; the engine fix is pending):\n${rows.join('\n')}`;
}

/** A failure as text: the problems and the (shrunk) model file. */
export function formatFailure(f: ConformanceFailure, seed: number): string {
  const c = f.shrunk ?? f.original;
  const head = f.flaky
    ? `case ${f.index} (seed ${seed}, path ${f.path}) disagreed once and not when replayed again (flaky):`
    : `case ${f.index} (seed ${seed}, path ${f.path}) disagrees${f.shrunk ? `; shrunk in ${f.shrinkSteps} steps` : ''}:`;
  const model = c.model.replace(/^# .*\n/, `# ${head}\n${c.problems.map((p) => `#   ${p}\n`).join('')}`);
  return `${head}\n  ${c.problems.join('\n  ')}\n--- model (save as models/conf-NAME.yaml, set each probe's expect: to the kernel's result) ---\n${model}---\n`;
}
