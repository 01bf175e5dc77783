/**
 * The order of policy rules after many `ip rule add` and `ip rule del` lines: sorted by priority,
 * a new rule after the rules of its priority (fib_nl_newrule), a rule without a priority one below
 * the first rule after priority 0 (fib_default_rule_pref), a delete by priority taking the first
 * such rule. The fold places added rules in batches; the order must be that of placing each rule
 * as its line runs, which the reference below does one line at a time.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { inline } from '../helpers.js';

type Line = { readonly add: boolean; readonly priority: number | undefined };

/** [priority, table] of each rule after the lines, placing and deleting one line at a time */
function reference(lines: readonly Line[]): { rules: [number, number][]; kept: Line[] } {
  const rules: [number, number][] = [[0, 255], [32766, 254], [32767, 253]];
  const kept: Line[] = [];
  let table = 1000;
  for (const l of lines) {
    if (!l.add) {
      const idx = rules.findIndex((r) => r[0] === l.priority);
      if (idx < 0) continue; // would fail: not part of the runbook
      rules.splice(idx, 1);
      kept.push(l);
      continue;
    }
    let priority = l.priority;
    if (priority === undefined) {
      const second = rules.find((r, i) => i > 0 || r[0] !== 0);
      priority = second && second[0] > 0 ? second[0] - 1 : 0;
    }
    let at = 0;
    while (at < rules.length && rules[at]![0] <= priority) at++;
    rules.splice(at, 0, [priority, table++]);
    kept.push(l);
  }
  return { rules, kept };
}

function folded(lines: readonly Line[]): [number, number][] {
  let table = 1000;
  const run = lines.map((l) => (l.add ? `ip rule add${l.priority === undefined ? '' : ` priority ${l.priority}`} table ${table++}` : `ip rule del priority ${l.priority}`));
  const b = inline(`hosts:\n  a:\n    run: |\n${run.map((l) => `      ${l}\n`).join('')}`);
  return b.world.netns['a']!.rules.map((r) => [r.priority, r.table]);
}

const PRIORITIES = [0, 1, 5, 100, 32764, 32765, 32766, 32767, 40000];

describe('ip rule order over many lines', () => {
  it('equals placing each rule as its line runs', () => {
    const line = fc.record({
      add: fc.constantFrom(true, true, true, false),
      priority: fc.option(fc.constantFrom(...PRIORITIES), { nil: undefined }),
    });
    fc.assert(
      fc.property(fc.array(line, { maxLength: 300 }), (raw) => {
        // a delete names a priority
        const lines = raw.map((l) => (l.add || l.priority !== undefined ? l : { add: true, priority: undefined }));
        const { rules, kept } = reference(lines);
        expect(folded(kept)).toEqual(rules);
      }),
      { numRuns: 60 },
    );
  });

  it('a long runbook of rules without priorities', () => {
    const lines: Line[] = Array.from({ length: 3000 }, (_, k) => ({ add: true, priority: k % 7 === 0 ? 32765 - (k % 50) : undefined }));
    const { rules, kept } = reference(lines);
    expect(folded(kept)).toEqual(rules);
  });

  it('a deleted rule can be added again; a kept one cannot (File exists), among many rules', () => {
    const many = Array.from({ length: 500 }, (_, k) => `ip rule add fwmark ${k} table ${100 + (k % 7)}`);
    const build = (tail: string[]): unknown => {
      const run = [...many, 'ip rule add fwmark 0x77 table 5 priority 10', ...tail].map((l) => `      ${l}\n`).join('');
      try {
        return inline(`hosts:\n  a:\n    run: |\n${run}`).world.netns['a']!.rules.filter((r) => r.priority === 10).length;
      } catch (e) {
        return e instanceof Error ? e.message : e;
      }
    };
    expect(build(['ip rule del priority 10', 'ip rule add fwmark 0x77 table 5 priority 10'])).toBe(1);
    expect(build(['ip rule add fwmark 0x77 table 5 priority 10'])).toEqual(expect.stringContaining('RTNETLINK answers: File exists'));
    // rule k of the many took priority 32765 - k (one below the first rule after priority 0)
    expect(build([`ip rule add fwmark 3 table ${100 + 3} priority ${32765 - 3}`])).toEqual(expect.stringContaining('RTNETLINK answers: File exists'));
    expect(build([`ip rule add fwmark 3 table ${100 + 4} priority ${32765 - 3}`])).toBe(1);
  });
});
