/**
 * A rule back to text, exactly as `iptables-save` (v1.8.9, nf_tables backend) prints it.
 *
 * Order: `-s -d -i -o -p -f`, then every `-m` match in the order it was loaded (an implicit
 * `-m tcp` sits where its first option appeared), then `-j`/`-g` with the target's options.
 * Each extension prints its options in its own fixed order, not in the order given (its `save`,
 * in ext/); the expectations are recorded in test/netfilter/fixtures/save-forms.txt.
 */
import { matchDef, targetExt } from './ext/index.js';
import type { NfMatch, NfTarget } from './types.js';

export { saveString } from './ext/util.js';
export { TCP_FLAGS } from './ext/tcp.js';
export { CT_STATES, CT_STATUSES } from './ext/conntrack.js';
export { ADDR_TYPES } from './ext/addrtype.js';
export { formatRate } from './ext/limit.js';
export { formatProbability } from './ext/statistic.js';
export { LOG_FLAGS } from './ext/target-log.js';

/** one match as iptables-save prints it */
export function formatMatch(m: NfMatch): string {
  return matchDef(m).save(m);
}

/** the target as iptables-save prints it (`-j NAME ...`, `-g CHAIN`) */
export function formatTarget(t: NfTarget): string {
  if (t.kind === 'jump') return `-j ${t.chain}`;
  if (t.kind === 'goto') return `-g ${t.chain}`;
  return targetExt(t.kind)!.save(t);
}

/** The rule as iptables-save prints it after `-A CHAIN `. */
export function formatRule(matches: readonly NfMatch[], target: NfTarget | undefined): string {
  // joined, not concatenated: a flat string, not a rope per rule (80k rules keep theirs)
  const parts: string[] = [];
  for (const m of matches) parts.push(formatMatch(m));
  if (target) parts.push(formatTarget(target));
  return parts.join(' ');
}
