/**
 * Every model's probes meet their `expect:`. Each expectation was observed on a real kernel
 * (see each model's header and test/replay/kernel.test.ts, which replays them in namespaces).
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkModel } from '../../src/cli/check.js';
import { formatKnown, KNOWN_DISAGREEMENTS } from '../../src/replay/known.js';
import { ROOT } from '../helpers.js';

const files = readdirSync(join(ROOT, 'models')).filter((f) => f.endsWith('.yaml'));
/** models/conf-*.yaml whose kernel-observed expectations the engine does not meet yet */
const KNOWN = new Map(KNOWN_DISAGREEMENTS.map((k) => [k.model, k.probes]));
console.log(formatKnown());

describe('models/ meet their expectations', () => {
  it('there are models', () => {
    expect(files.length).toBeGreaterThan(5);
  });
  it('every known disagreement names a model', () => {
    expect(KNOWN_DISAGREEMENTS.map((k) => k.model).filter((m) => !files.includes(m))).toEqual([]);
  });
  for (const f of files) {
    it(f, () => {
      const { reports } = checkModel(join(ROOT, 'models', f));
      const known = KNOWN.get(f) ?? [];
      for (const r of reports) {
        expect(r.expect, `${f}: probe "${r.name}" has no expect`).toBeDefined();
        if (known.includes(r.name)) continue;
        expect({ probe: r.name, result: r.result }).toEqual({ probe: r.name, result: r.expect });
      }
      // a known disagreement must still disagree: when the engine is fixed, remove its entry
      // from src/replay/known.ts (and the model from the open list of models/DISAGREEMENTS.md)
      const still = reports.filter((r) => r.result !== r.expect).map((r) => r.name);
      expect(still, `${f}: the known disagreements changed (src/replay/known.ts)`).toEqual([...known]);
    });
  }
});
