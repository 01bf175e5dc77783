/**
 * The rule forms Docker and kube-proxy write (sctp, recent, set, marks with masks, NAT flags,
 * comments with spaces, `!` in many positions), each run against real iptables v1.8.9
 * (nf_tables) in a scratch namespace by fixtures/gen-k8s-forms.sh. netpath prints the same
 * text and refuses what iptables refused.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/model/errors.js';
import { iptablesSave } from '../../src/netfilter/save.js';
import { parseIptablesRestore } from '../../src/netfilter/restore.js';
import { applyRestore, emptyNfState } from '../../src/netfilter/tables.js';
import { at, fixtureBase, run } from './helpers.js';

const cases = readFileSync(new URL('./fixtures/k8s-forms.txt', import.meta.url), 'utf8')
  .split('\n')
  .filter((l) => l !== '')
  .map((l) => {
    const [args, result] = l.split('\t') as [string, string];
    return { args, ok: result.startsWith('=> '), want: result.slice(3) };
  });

/** accepted by iptables, refused by netpath as 'unsupported' */
const UNSUPPORTED = new Set([
  '-A INPUT -p sctp --chunk-types any INIT -j ACCEPT',
  '-A INPUT -m set --match-set S2 src --packets-gt 5 -j ACCEPT',
]);
/** refused by the kernel because the ipset does not exist: netpath cannot know at parse time */
const NEEDS_KERNEL_SETS = new Set(['-A INPUT -m set --match-set NOPE src -j ACCEPT']);

const base = (): ReturnType<typeof fixtureBase> => run(fixtureBase(), '-t nat -N FOO');

function addedText(args: string): string {
  const before = iptablesSave(base()).split('\n');
  const after = iptablesSave(run(base(), args)).split('\n');
  const added = after.filter((l) => l.startsWith('-A ') && !before.includes(l));
  expect(added.length).toBe(1);
  return added[0]!.replace(/^-A \S+ ?/, '');
}

describe('Docker and kube-proxy rule forms, verified on iptables v1.8.9 (nf_tables)', () => {
  expect(cases.length).toBeGreaterThan(40);
  for (const c of cases) {
    if (NEEDS_KERNEL_SETS.has(c.args)) continue;
    if (c.ok && UNSUPPORTED.has(c.args)) {
      it(`${c.args}  is refused as unsupported`, () => {
        expect(() => run(base(), c.args)).toThrow(expect.objectContaining({ code: 'unsupported' }));
      });
    } else if (c.ok) {
      it(`${c.args}  =>  ${c.want}`, () => {
        expect(addedText(c.args)).toBe(c.want);
      });
    } else {
      it(`${c.args}  is refused (${c.want})`, () => {
        expect(() => run(base(), c.args)).toThrow(ConfigError);
      });
    }
  }
  it('every accepted form restores from its own iptables-save text unchanged', () => {
    let state = base();
    for (const c of cases) if (c.ok && !UNSUPPORTED.has(c.args) && !NEEDS_KERNEL_SETS.has(c.args)) state = run(state, c.args);
    const saved = iptablesSave(state);
    expect(iptablesSave(applyRestore(emptyNfState(), parseIptablesRestore(saved, 'k8s.rules'), false, at(1)))).toBe(saved);
  });
});
