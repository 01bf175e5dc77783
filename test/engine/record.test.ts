/**
 * Keeping frames and traces is a choice of the caller, never of the walk: without captures a
 * probe takes the same steps and gets the same result, and `check` without `--pcap` reports
 * the same as with every trace kept.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkModel } from '../../src/cli/check.js';
import { loadModel } from '../../src/plan/model.js';
import { simulate } from '../../src/engine/probe.js';
import { probeFlow } from '../../src/trace/probe.js';
import { buildWorld } from '../../src/world/build.js';
import { ROOT } from '../helpers.js';

const MODELS = readdirSync(join(ROOT, 'models'))
  .filter((f) => f.endsWith('.yaml'))
  .sort();

describe('captures and traces only when asked', () => {
  it('every bundled model: the same steps and results without captures, and none kept', () => {
    for (const m of MODELS) {
      const { model, world } = buildWorld(loadModel(join(ROOT, 'models', m)));
      for (const p of model.probes) {
        const flow = probeFlow(world, p);
        const full = simulate(world, flow);
        const lean = simulate(world, flow, { captures: false });
        expect(lean.map((t) => t.result), `${m}: ${p.name}`).toEqual(full.map((t) => t.result));
        expect(lean.map((t) => t.steps), `${m}: ${p.name}`).toEqual(full.map((t) => t.steps));
        expect(lean.every((t) => t.captures.length === 0)).toBe(true);
      }
    }
  });

  it('every bundled model: check without traces reports the same', () => {
    // the why's point holds an index into the steps it was read from: without traces, a record
    // that may leave out ARP "not-local" steps (SimOptions.steps 'why'); the rest is the same
    type Report = ReturnType<typeof checkModel>['reports'][number];
    const strip = (r: Report): unknown => {
      if (!r.explanation) return r;
      const { index: _, ...point } = r.explanation.why.point as typeof r.explanation.why.point & { index?: number };
      return { ...r, explanation: { ...r.explanation, why: { ...r.explanation.why, point } } };
    };
    for (const m of MODELS) {
      const path = join(ROOT, 'models', m);
      const kept = checkModel(path);
      const lean = checkModel(path, { traces: false });
      expect(lean.reports.map(strip), m).toEqual(kept.reports.map(strip));
      expect(lean.traces).toEqual([]);
      expect(kept.traces.length).toBe(kept.reports.length);
    }
  });
});
