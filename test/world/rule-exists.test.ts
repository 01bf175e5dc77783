/**
 * `ip rule add` of a rule the kernel already holds: RTNETLINK answers: File exists. fib_newrule
 * (net/core/fib_rules.c, NLM_F_EXCL from iproute2) refuses what rule_exists() finds; it compares
 * action, table, priority, iif, oif and fwmark/mask, and fib4_rule_compare compares from and to only
 * when the new rule has them; `not` is not compared. Observed on Linux 6.18.44 (the table below);
 * repeated on the kernel when run as root, each sequence in a fresh namespace.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { inline } from '../helpers.js';

/** [earlier lines, the line, 'ok' or 'EEXIST'] */
const OBSERVED: readonly (readonly [readonly string[], string, 'ok' | 'EEXIST'])[] = [
  [['ip rule add fwmark 0x10/0xf0 table 100 priority 100'], 'ip rule add fwmark 0x10/0xf0 table 100 priority 100', 'EEXIST'],
  [['ip rule add fwmark 0x10/0xf0 table 100'], 'ip rule add fwmark 0x10/0xf0 table 100', 'ok'],
  [['ip rule add from 10.0.0.0/8 table 100 prio 100'], 'ip rule add table 100 prio 100', 'EEXIST'],
  [['ip rule add table 100 prio 100'], 'ip rule add from 10.0.0.0/8 table 100 prio 100', 'ok'],
  [['ip rule add from 10.0.0.0/8 table 100 prio 100'], 'ip rule add to 10.1.0.0/16 table 100 prio 100', 'ok'],
  [['ip rule add from 10.0.0.0/8 table 100 prio 100'], 'ip rule add not from 10.0.0.0/8 table 100 prio 100', 'EEXIST'],
  [['ip rule add from 10.0.0.0/8 table 100 prio 100'], 'ip rule add from 10.0.0.0/8 table 101 prio 100', 'ok'],
  [['ip rule add unreachable prio 300'], 'ip rule add prohibit prio 300', 'ok'],
  [['ip rule add unreachable prio 300'], 'ip rule add unreachable prio 300', 'EEXIST'],
  [['ip rule add iif eth9 table 100 prio 50'], 'ip rule add iif eth8 table 100 prio 50', 'ok'],
  [['ip rule add fwmark 0x1 table 100 prio 50'], 'ip rule add fwmark 0x1/0xff table 100 prio 50', 'ok'],
  [[], 'ip rule add lookup main prio 32766', 'ok'],
  [['ip rule add lookup main prio 32765'], 'ip rule add lookup main prio 32765', 'EEXIST'],
  [[], 'ip rule add lookup main prio 32765', 'ok'],
];

function netpath(before: readonly string[], line: string): 'ok' | 'EEXIST' {
  const run = [...before, line].map((l) => `      ${l}\n`).join('');
  try {
    inline(`hosts:\n  a:\n    run: |\n${run}`);
    return 'ok';
  } catch (e) {
    const m = e instanceof Error ? e.message : String(e);
    if (m.includes('RTNETLINK answers: File exists')) return 'EEXIST';
    throw e;
  }
}

describe('ip rule add: File exists as rule_exists() decides', () => {
  it.each(OBSERVED)('after %j: %s -> %s', (before, line, kernel) => {
    expect(netpath(before, line)).toBe(kernel);
  });

  it('names the file and line of the refused rule', () => {
    expect(() => inline('hosts:\n  a:\n    run: |\n      ip rule add unreachable prio 300\n      ip rule add unreachable prio 300\n')).toThrow(/inline.yaml:5: .*File exists/);
  });

  const root = process.getuid?.() === 0 && spawnSync('ip', ['netns', 'list']).status === 0;
  it.skipIf(!root)('the kernel agrees (each case in a fresh namespace)', () => {
    const ns = `nprule${process.pid}`;
    for (const [before, line, expected] of OBSERVED) {
      execFileSync('ip', ['netns', 'add', ns]);
      try {
        const args = (l: string): string[] => ['-n', ns, ...l.split(' ').slice(1)];
        for (const b of before) execFileSync('ip', args(b));
        const r = spawnSync('ip', args(line), { encoding: 'utf8' });
        const got = r.status === 0 ? 'ok' : r.stderr.includes('File exists') ? 'EEXIST' : `error: ${r.stderr}`;
        expect(`${before.join('; ')} | ${line} -> ${got}`).toBe(`${before.join('; ')} | ${line} -> ${expected}`);
      } finally {
        execFileSync('ip', ['netns', 'del', ns]);
      }
    }
  }, 60_000);
});
