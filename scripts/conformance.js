// npm run conformance -- [--runs N] [--seed S] [--concurrency K] [--no-shrink] [--out DIR]
// Generated plans simulated and replayed in network namespaces (root, Linux). Uses dist/ (the npm
// script builds first). Prints each disagreement with its shrunk plan as a model file; with --out,
// also writes each one as DIR/conf-seedS-caseI.yaml. Exit 1 on any disagreement, 2 when the
// replay cannot run here.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { formatDraws, formatFailure, formatKnownMet, formatUnconfirmed, runConformance } from '../dist/replay/conformance.js';
import { preflight } from '../dist/replay/exec.js';
import { progressLine } from '../dist/cli/progress.js';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '200' },
    seed: { type: 'string' },
    concurrency: { type: 'string', default: '4' },
    'no-shrink': { type: 'boolean', default: false },
    'shrink-seconds': { type: 'string', default: '180' },
    out: { type: 'string' },
    quiet: { type: 'boolean', default: false },
  },
});
const pf = preflight();
if (!pf.ok) {
  console.error(`netpath conformance: cannot run here: ${pf.reasons.join('; ')}`);
  process.exit(2);
}
const seed = values.seed !== undefined ? Number(values.seed) : Date.now() % 2 ** 31;
const runs = Number(values.runs);
console.log(`netpath conformance: seed ${seed}, ${runs} cases (repeat with: npm run conformance -- --runs ${runs} --seed ${seed})`);
// counts, rate and time left on stderr when it is a terminal (src/cli/progress.ts)
const progress = process.stderr.isTTY ? progressLine({ out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s) }, 'cases') : undefined;
const r = await runConformance({
  seed,
  runs,
  concurrency: Number(values.concurrency),
  shrink: !values['no-shrink'],
  shrinkMs: Number(values['shrink-seconds']) * 1000,
  log: (l) => {
    if (values.quiet && l.includes(': agree')) return;
    progress?.clear();
    console.log(l);
  },
  ...(progress ? { onCase: (done, total) => progress.update('', done, total) } : {}),
});
progress?.clear();
for (const f of r.failures) {
  console.log(`\n${formatFailure(f, seed)}`);
  if (values.out) {
    mkdirSync(values.out, { recursive: true });
    const file = join(values.out, `conf-seed${seed}-case${f.index}.yaml`);
    writeFileSync(file, (f.shrunk ?? f.original).model);
    console.log(`written: ${file}`);
  }
}
console.log(`\n${formatDraws(r.draws, r.runs)}`);
console.log(`\n${formatKnownMet(r.known)}`);
console.log(`\n${formatUnconfirmed(r.unconfirmed)}`);
console.log(`\n${r.runs} cases, ${r.probes} probes, seed ${seed}: ${r.failures.length} disagree, ${r.unconfirmed.length} not repeated alone (${(r.ms / 1000).toFixed(1)} s)`);
process.exit(r.failures.length > 0 ? 1 : 0);
