/**
 * runConformance confirms each disagreement by replaying the case again alone: a case whose
 * second replay agrees is reported as timing-dependent (not a failure), one that disagrees again
 * is a failure; setup failures and crashes are never re-run. Pure: the check is injected.
 */
import { describe, expect, it } from 'vitest';
import { runConformance, type CaseOutcome } from '../../src/replay/conformance.js';

const outcome = (ok: boolean, mayBeTiming: boolean, problem = 'p: simulation no-route (EHOSTUNREACH), kernel timeout (timeout: ...)'): CaseOutcome => ({
  ok,
  model: '# m\n',
  problems: ok ? [] : [problem],
  ms: 1,
  features: [],
  probes: 1,
  known: [],
  mayBeTiming: !ok && mayBeTiming,
});

describe('conformance: disagreements are confirmed alone', () => {
  it('a disagreement that does not repeat is timing, one that repeats fails, a setup failure is not re-run', async () => {
    const calls = new Map<string, number>();
    const check = async (_p: unknown, title: string): Promise<CaseOutcome> => {
      const i = Number(/case (\d+)/.exec(title)![1]);
      const n = (calls.get(`${i}`) ?? 0) + 1;
      calls.set(`${i}`, n);
      if (i === 1) return outcome(n > 1, true); // disagrees once, then agrees
      if (i === 2) return outcome(false, true); // disagrees every time
      if (i === 3) return outcome(false, false, 'setup failed on the kernel: x');
      return outcome(true, false);
    };
    const r = await runConformance({ seed: 5, runs: 5, concurrency: 2, shrink: false, check });
    expect(r.unconfirmed.map((u) => u.index)).toEqual([1]);
    expect(r.failures.map((f) => f.index)).toEqual([2, 3]);
    expect(calls.get('1')).toBe(2);
    expect(calls.get('2')).toBe(2);
    expect(calls.get('3')).toBe(1);
    expect(calls.get('0')).toBe(1);
  });
});
