/**
 * Bounded fuzzing of the command line (src/fuzz/run.ts), fixed seeds: model files, runbook lines,
 * iptables-save dumps and argument vectors never make netpath exit with anything but 0, 1 or 2
 * with a message, print a stack trace or a raw control character, run longer than 5 s or write
 * outside its output folder. `npm run fuzz -- --runs N` runs the same with more cases.
 */
import { describe, expect, it } from 'vitest';
import { TARGETS, fuzz } from '../../src/fuzz/run.js';
import { ROOT } from '../helpers.js';

const RUNS = Number(process.env['NETPATH_FUZZ_RUNS'] ?? 40);

describe('fuzz the command line', () => {
  it.each(TARGETS.map((t, i) => [t, 1000 + i] as const))('%s (seed %i)', async (target, seed) => {
    const f = await fuzz(target, { runs: RUNS, seed, root: ROOT });
    expect(f.firstFailure).toBeUndefined();
    expect(f.runs).toBe(RUNS);
    expect(f.hangs).toBe(0);
  });
});
