/**
 * Every model's probes meet their `expect:`. Each expectation was observed on a real kernel
 * (see each model's header and test/replay/kernel.test.ts, which replays them in namespaces).
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkModel } from '../../src/cli/check.js';
import { ROOT } from '../helpers.js';

const files = readdirSync(join(ROOT, 'models')).filter((f) => f.endsWith('.yaml'));

describe('models/ meet their expectations', () => {
  it('there are models', () => {
    expect(files.length).toBeGreaterThan(5);
  });
  for (const f of files) {
    it(f, () => {
      const { reports } = checkModel(join(ROOT, 'models', f));
      for (const r of reports) {
        expect(r.expect, `${f}: probe "${r.name}" has no expect`).toBeDefined();
        expect({ probe: r.name, result: r.result }).toEqual({ probe: r.name, result: r.expect });
      }
    });
  }
});
