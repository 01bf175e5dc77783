/** `-m connmark [!] --mark VALUE[/MASK]` (libxt_connmark, xt_connmark): the connection's mark. */
import type { MatchExt } from './api.js';
import { MARK_OPTS, markParser, readMark, saveMark } from './mark.js';

export interface ConnmarkMatch {
  readonly kind: 'connmark';
  readonly invert: boolean;
  readonly value: number;
  readonly mask: number;
}

export const connmark: MatchExt<ConnmarkMatch> = {
  name: 'connmark',
  opts: MARK_OPTS,
  parser: () => markParser('connmark'),
  save: saveMark,
  fast: () => readMark('connmark'),
  match: (m, p) => (((p.ct?.mark ?? 0) & m.mask) >>> 0 === m.value) !== m.invert,
};
