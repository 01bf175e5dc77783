// npm run fuzz -- [--runs N] [--seed S] [--target model|runbook|dump|argv]
// The fuzz suite of test/fuzz with more cases (uses dist/; the npm script builds first): N cases
// split evenly over the four targets. Prints, per target, the cases run, the exit codes seen, the
// failures (with the shrunk case), the hangs (> 5 s) and the slowest case. Exit 1 on any failure.
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { TARGETS, fuzz } from '../dist/fuzz/run.js';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '2000' }, seed: { type: 'string', default: '1000' }, target: { type: 'string' } } });
const root = resolve(import.meta.dirname, '..');
const targets = values.target !== undefined ? [values.target] : TARGETS;
const per = Math.ceil(Number(values.runs) / targets.length);
const seed0 = Number(values.seed);
let bad = 0;
const t0 = Date.now();
console.log(`netpath fuzz: ${per * targets.length} cases (${per} per target), seeds ${seed0}.. (repeat with: npm run fuzz -- --runs ${values.runs} --seed ${seed0})`);
for (const [i, target] of targets.entries()) {
  const f = await fuzz(target, { runs: per, seed: seed0 + TARGETS.indexOf(target), root });
  const exits = Object.entries(f.exits).sort().map(([k, v]) => `exit ${k}: ${v}`).join(', ');
  console.log(`${target.padEnd(8)} ${String(f.runs).padStart(7)} cases  ${exits}  failures ${f.failures}  hangs ${f.hangs}  slowest ${f.maxMs} ms  mean ${(f.totalMs / Math.max(1, f.runs)).toFixed(1)} ms`);
  if (f.firstFailure !== undefined) console.log(`  ${f.firstFailure}`);
  bad += f.failures + f.hangs;
}
console.log(`netpath fuzz: ${bad === 0 ? '0 crashes, 0 hangs' : `${bad} failure(s)`} in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
process.exit(bad === 0 ? 0 : 1);
