/**
 * `netpath prop MODEL [--runs N] [--seed S] [--json]`: checks every invariant of the model file
 * (docs/properties.md) over many flows; exit 1 when one fails, 2 on bad input.
 */
import { ConfigError } from '../model/errors.js';
import { formatOrigin } from '../model/origin.js';
import { loadModel, nodeIo } from '../plan/model.js';
import { renderTrace, traceJson } from '../trace/render.js';
import { buildWorld, displayNs } from '../world/build.js';
import type { World } from '../world/types.js';
import { checkInvariant, describeFlow, type InvariantResult } from '../prop/check.js';
import { parseInvariants, resolveInvariants } from '../prop/invariants.js';
import type { Io } from './main.js';
import { progressLine } from './progress.js';

export interface PropCliOptions {
  readonly runs?: string;
  readonly seed?: string;
  readonly json?: boolean;
}

/** `tty`: stderr is a terminal, so a long run may draw a progress line there. */
export function cmdProp(path: string, opts: PropCliOptions, io: Io, tty = false): number {
  const runs = opts.runs === undefined ? undefined : wholeNumber(opts.runs, '--runs', 1);
  const seed = opts.seed === undefined ? freshSeed() : wholeNumber(opts.seed, '--seed', -(2 ** 31));
  const built = buildWorld(loadModel(path));
  const invariants = resolveInvariants(built, parseInvariants(nodeIo.readFile(path), path));
  const { world } = built;

  const progress = tty && !opts.json ? progressLine(io, 'flows') : undefined;
  const results = invariants.map((inv) =>
    checkInvariant(world, inv, { ...(runs !== undefined ? { runs } : {}), seed, ...(progress ? { onRun: (d: number, t: number) => progress.update(inv.name, d, t) } : {}) }),
  );
  progress?.clear();
  const failed = results.some((r) => !r.holds);

  if (opts.json) {
    io.out(JSON.stringify({ seed, invariants: results.map((r) => resultJson(world, r)) }, null, 2) + '\n');
    return failed ? 1 : 0;
  }
  if (invariants.length === 0) {
    io.out(`${path}: no invariants (add an invariants: list; see docs/properties.md)\n`);
    return 0;
  }
  const rows = [['invariant', 'form', 'runs', 'holds'], ...results.map((r) => [r.invariant.name, r.invariant.form.kind, String(r.runs), r.holds ? 'ok' : 'FAIL'])];
  const w = [0, 1, 2, 3].map((i) => Math.max(...rows.map((r) => r[i]!.length)));
  io.out(rows.map((r) => r.map((c, i) => c.padEnd(w[i]!)).join('  ').trimEnd()).join('\n') + '\n');
  for (const r of results) if (!r.holds) io.out('\n' + failureText(world, r, path));
  io.out(`\nseed ${seed}${failed ? `: netpath prop ${path} --seed ${seed}${runs !== undefined ? ` --runs ${runs}` : ''} finds the same counterexamples` : ''}\n`);
  if (failed) io.out(`${results.filter((r) => !r.holds).length} of ${results.length} invariants fail\n`);
  return failed ? 1 : 0;
}

function failureText(world: World, r: InvariantResult, path: string): string {
  const c = r.counterexample!;
  const inv = r.invariant;
  const out: string[] = [];
  out.push(`FAIL ${inv.name}   [${formatOrigin(inv.origin)}]`);
  const shrunk = r.shrinks === 0 ? 'not shrunk: nothing simpler fails' : r.shrinks === 1 ? 'shrunk once' : `shrunk ${r.shrinks} times`;
  out.push(`  counterexample: ${describeFlow(world, c.flow)}   (found at flow ${r.runs}, ${shrunk})`);
  out.push(`  ${c.violation.violation}`);
  const indent = (s: string): string => s.trimEnd().split('\n').map((l) => `  ${l}`).join('\n');
  if (inv.form.kind === 'equivalent') {
    out.push(`  in ${inv.form.bLabel}:`);
    out.push(indent(renderTrace(inv.form.b, c.violation.trace)));
    if (c.violation.other) {
      out.push(`  in ${inv.form.aLabel}:`);
      out.push(indent(renderTrace(inv.form.a, c.violation.other)));
    }
  } else out.push(indent(renderTrace(world, c.violation.trace)));
  const f = c.flow;
  out.push(`  this flow alone: netpath trace ${path} --from ${displayNs(world, f.from)} --to ${c.violation.trace.to} --proto ${f.proto}${f.sport !== undefined ? ` --sport ${f.sport}` : ''}`);
  return out.join('\n') + '\n';
}

function resultJson(world: World, r: InvariantResult): unknown {
  const inv = r.invariant;
  const c = r.counterexample;
  const shown = inv.form.kind === 'equivalent' ? inv.form.b : world;
  return {
    name: inv.name,
    form: inv.form.kind,
    holds: r.holds,
    runs: r.runs,
    origin: { file: inv.origin.file, line: inv.origin.line },
    ...(c
      ? {
          shrinks: r.shrinks,
          ...(r.path !== undefined ? { path: r.path } : {}),
          counterexample: {
            from: displayNs(world, c.flow.from),
            to: c.violation.trace.to,
            proto: c.flow.proto,
            ...(c.flow.sport !== undefined ? { sport: c.flow.sport } : {}),
            result: c.violation.trace.result,
            why: c.violation.trace.why?.summary ?? c.violation.violation,
            violation: c.violation.violation,
            ...(c.violation.trace.probability < 1 ? { probability: c.violation.trace.probability } : {}),
            ...(c.violation.other ? { other: { result: c.violation.other.result, trace: traceJson(inv.form.kind === 'equivalent' ? inv.form.a : world, c.violation.other) } } : {}),
            trace: traceJson(shown, c.violation.trace),
          },
        }
      : {}),
  };
}

export function wholeNumber(text: string, what: string, min: number): number {
  const n = Number(text);
  if (!/^-?\d+$/.test(text.trim()) || !Number.isSafeInteger(n) || n < min || n > 2 ** 31 - 1)
    throw new ConfigError('model', what, 0, `"${text}" must be a whole number from ${min} to ${2 ** 31 - 1}`);
  return n;
}

/** A seed when none is given; printed, so any run can be repeated. */
function freshSeed(): number {
  return (Date.now() ^ Math.floor(Math.random() * 2 ** 31)) & 0x7fffffff;
}
