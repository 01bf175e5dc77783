/** Test helpers: bash-style word splitting for fixture lines, and a state with chains FOO and BAR. */
import { applyIptables, emptyNfState } from '../../src/netfilter/tables.js';
import { parseIptablesArgs } from '../../src/netfilter/parse.js';
import type { NfState } from '../../src/netfilter/types.js';
import type { Origin } from '../../src/model/origin.js';

export function shellWords(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let has = false;
  for (let k = 0; k < line.length; k++) {
    const ch = line[k]!;
    if (ch === "'") {
      const end = line.indexOf("'", k + 1);
      cur += line.slice(k + 1, end);
      k = end;
      has = true;
    } else if (ch === '"') {
      has = true;
      for (k++; k < line.length && line[k] !== '"'; k++) {
        if (line[k] === '\\' && '"\\$`'.includes(line[k + 1] ?? '')) k++;
        cur += line[k];
      }
    } else if (ch === '\\') {
      cur += line[++k] ?? '';
      has = true;
    } else if (ch === ' ' || ch === '\t') {
      if (has || cur !== '') out.push(cur);
      cur = '';
      has = false;
    } else cur += ch;
  }
  if (has || cur !== '') out.push(cur);
  return out;
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
