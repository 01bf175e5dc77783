/** `-m mark [!] --mark VALUE[/MASK]` (libxt_mark, xt_mark): the packet's mark. */
import { fail, opt, type MatchExt, type OptionParser } from './api.js';
import * as r from './reader.js';
import { hex, not, parseValueMask } from './util.js';

export interface MarkMatch {
  readonly kind: 'mark';
  readonly invert: boolean;
  readonly value: number;
  readonly mask: number;
}

/** `--mark VALUE[/MASK]`: mark's and connmark's option (libxt_mark.c and libxt_connmark.c read it alike) */
export function markParser<K extends 'mark' | 'connmark'>(name: K): OptionParser<{ kind: K; invert: boolean; value: number; mask: number }> {
  let v: { invert: boolean; value: number; mask: number } | undefined;
  return {
    option(_id, arg, invert) {
      if (v) fail(`${name}: option "--mark" can only be used once.`);
      v = { invert, ...parseValueMask(name, 'mark', arg) };
    },
    finish() {
      if (!v) fail(`${name}: option "--mark" must be specified`);
      return { kind: name, ...v };
    },
  };
}

export function saveMark(m: { readonly kind: string; readonly invert: boolean; readonly value: number; readonly mask: number }): string {
  return `-m ${m.kind} ${not(m.invert)}--mark ${hex(m.value)}${m.mask === 0xffffffff ? '' : `/${hex(m.mask)}`}`;
}

/** the fast path: `[! ]--mark 0xV[/0xM]` (no /0xffffffff: save() leaves it out) */
export function readMark<K extends 'mark' | 'connmark'>(kind: K): { kind: K; invert: boolean; value: number; mask: number } | undefined {
  const invert = r.bang();
  if (!r.word('--mark')) return undefined;
  const value = r.hexU32();
  if (value < 0) return undefined;
  let mask = 0xffffffff;
  if (r.peek() === 47) {
    r.skip(1);
    mask = r.hexU32();
    if (mask < 0 || mask === 0xffffffff) return undefined;
  }
  return r.sep() ? { kind, invert, value, mask } : undefined;
}

export const MARK_OPTS = [opt('mark')];

export const mark: MatchExt<MarkMatch> = {
  name: 'mark',
  opts: MARK_OPTS,
  parser: () => markParser('mark'),
  save: saveMark,
  fast: () => readMark('mark'),
  match: (m, p) => ((p.mark & m.mask) >>> 0 === m.value) !== m.invert,
};
