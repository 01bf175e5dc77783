/**
 * The hook pipeline is declared once (src/netfilter/hooks.ts); docs/semantics.md shows it as a
 * table. This test renders the declaration and compares, so the documentation cannot drift, and
 * pins the kernel's order (include/uapi/linux/netfilter_ipv4.h priorities).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { HOOKS, PIPELINE, hookTables, type HookStage } from '../../src/netfilter/hooks.js';

function stageName(s: HookStage): string {
  switch (s.kind) {
    case 'table':
      return s.reroute ? `${s.table} (re-route)` : s.table;
    case 'conntrack':
      return 'conntrack';
    case 'nat':
      return `nat (${s.manip === 'dst' ? 'DNAT' : 'SNAT'}${s.reroute ? ', re-route' : ''})`;
    case 'confirm':
      return 'confirm';
  }
}

describe('hook pipeline', () => {
  it('runs in priority order at every hook', () => {
    for (const h of HOOKS) {
      const prios = PIPELINE[h].map((s) => s.priority);
      expect(prios).toEqual([...prios].sort((a, b) => a - b));
    }
  });

  it('INPUT runs filter before its nat table; conntrack is confirmed last; conntrack comes before mangle', () => {
    expect(hookTables('INPUT')).toEqual(['mangle', 'filter', 'nat']);
    expect(PIPELINE.INPUT.at(-1)!.kind).toBe('confirm');
    expect(PIPELINE.POSTROUTING.at(-1)!.kind).toBe('confirm');
    expect(PIPELINE.PREROUTING.map((s) => s.kind)).toEqual(['table', 'conntrack', 'table', 'nat']);
  });

  it('docs/semantics.md shows exactly the declaration', () => {
    const doc = readFileSync('docs/semantics.md', 'utf8');
    const block = doc.slice(doc.indexOf('<!-- pipeline:begin -->') + '<!-- pipeline:begin -->'.length, doc.indexOf('<!-- pipeline:end -->')).trim();
    const rendered = ['| hook | stages, in order |', '| --- | --- |', ...HOOKS.map((h) => `| ${h} | ${PIPELINE[h].map(stageName).join(', ')} |`)].join('\n');
    expect(block).toBe(rendered);
  });
});
