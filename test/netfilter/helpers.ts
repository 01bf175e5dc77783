/** Test helpers: bash word splitting for fixture lines, and a state with chains FOO and BAR. */
import { applyIptables, emptyNfState } from '../../src/netfilter/tables.js';
import { parseIptablesArgs } from '../../src/netfilter/parse.js';
import type { NfState } from '../../src/netfilter/types.js';
import type { Origin } from '../../src/model/origin.js';
import { tokenize } from '../../src/plan/shell.js';

/** bash words of one line, by the runbook parser's own tokenizer (src/plan/shell.ts) */
export function shellWords(line: string): string[] {
  return tokenize(line, 'fixture', 1, line).flatMap((t) => (t.kind === 'word' ? [t.value] : []));
}

export const at = (line: number, text = ''): Origin => ({ file: 'runbook.sh', line, text });

/** iptables ARGS (one shell line) applied to `state` */
export function run(state: NfState, line: string, n = 1): NfState {
  return applyIptables(state, parseIptablesArgs(shellWords(line), at(n, `iptables ${line}`)), at(n, `iptables ${line}`));
}

/** the state gen.sh starts each fixture from: filter with user chains FOO and BAR */
export function fixtureBase(): NfState {
  return run(run(emptyNfState(), '-N FOO'), '-N BAR');
}
