/**
 * Every line of fixtures/save-forms.txt was run against real iptables v1.8.9 (nf_tables) in a
 * scratch network namespace (see the file header). netpath must print the same rule text, and
 * must refuse what iptables refused.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/model/errors.js';
import { iptablesSave } from '../../src/netfilter/save.js';
import { parseIptablesRestore } from '../../src/netfilter/restore.js';
import { applyRestore, emptyNfState } from '../../src/netfilter/tables.js';
import { at, fixtureBase, run } from './helpers.js';

const FIXTURE = new URL('./fixtures/save-forms.txt', import.meta.url);
const cases = readFileSync(FIXTURE, 'utf8')
  .split('\n')
  .filter((l) => l !== '' && !l.startsWith('#'))
  .map((l) => {
    const [args, result] = l.split('\t') as [string, string];
    return { args, ok: result.startsWith('=> '), want: result.slice(3) };
  });

/** the rule the command added, as iptables-save prints it after `-A CHAIN ` */
function addedText(args: string): string {
  const before = iptablesSave(fixtureBase()).split('\n');
  const after = iptablesSave(run(fixtureBase(), args)).split('\n');
  const added = after.filter((l) => l.startsWith('-A ') && !before.includes(l));
  expect(added.length).toBeLessThanOrEqual(1);
  return (added[0] ?? '').replace(/^-A \S+ ?/, '');
}

/**
 * Forms real iptables accepts that netpath deliberately refuses as 'unsupported' (DNS names,
 * inet_aton abbreviations, non-contiguous masks, ICMP code ranges, CT options).
 */
const REFUSED = new Set([
  '-A INPUT -s localhost -j ACCEPT',
  '-A INPUT -s 10.1 -j ACCEPT',
  '-A INPUT -s 010.0.0.1 -j ACCEPT',
  '-A INPUT -s 10.0.0.1/255.0.255.0 -j ACCEPT',
  '-A INPUT -p icmp --icmp-type 3/0:3 -j ACCEPT',
  '-t raw -A PREROUTING -j CT --zone 1',
]);

describe('iptables-save spellings verified on iptables v1.8.9 (nf_tables)', () => {
  expect(cases.length).toBeGreaterThan(300);
  for (const c of cases.filter((x) => x.ok && (x.want.includes(' | ') || REFUSED.has(x.args)))) {
    it(`${c.args}  is accepted by iptables; netpath refuses it as unsupported`, () => {
      expect(() => run(fixtureBase(), c.args)).toThrow(expect.objectContaining({ code: 'unsupported' }));
    });
  }
  for (const c of cases.filter((x) => x.ok && !x.want.includes(' | ') && !REFUSED.has(x.args))) {
    it(`${c.args}  =>  ${c.want}`, () => {
      expect(addedText(c.args)).toBe(c.want);
    });
  }
  for (const c of cases.filter((x) => !x.ok)) {
    it(`${c.args}  is refused (${c.want})`, () => {
      expect(() => run(fixtureBase(), c.args)).toThrow(ConfigError);
    });
  }
});

describe('round trip: iptables-save text parses back (iptables-restore) to the same text', () => {
  it('all accepted fixture rules, restored into one state, save identically', () => {
    let state = fixtureBase();
    for (const c of cases.filter((x) => x.ok && x.want !== '' && !x.want.includes(' | ') && !REFUSED.has(x.args))) {
      try {
        state = run(state, c.args);
      } catch {
        // a few fixture rules need a fresh chain order (e.g. -A FOO -j BAR twice is fine; loops are not)
      }
    }
    const saved = iptablesSave(state);
    const restored = applyRestore(emptyNfState(), parseIptablesRestore(saved, 'saved.rules'), false, at(1));
    expect(iptablesSave(restored)).toBe(saved);
    expect(saved.split('\n').length).toBeGreaterThan(250);
  });
});
