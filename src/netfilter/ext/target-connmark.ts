/**
 * `-j CONNMARK --set-xmark V/M (and MARK's other forms) | --save-mark | --restore-mark
 * [--nfmask M] [--ctmask M] [--mask M]` (libxt_CONNMARK, xt_CONNMARK revision 1).
 */
import { CONTINUE, fail, flag, once, opt, type TargetExt } from './api.js';
import * as r from './reader.js';
import { XMARK_OPTS, readXmark, xmark, xmarkText } from './target-mark.js';
import { hex, parseU32 } from './util.js';

/**
 * set: ctmark = (ctmark & ~mask) ^ value;
 * save: ctmark = (ctmark & ~ctmask) ^ (mark & nfmask); restore: mark = (mark & ~nfmask) ^ (ctmark & ctmask)
 */
export type ConnmarkTarget =
  | { readonly kind: 'CONNMARK'; readonly mode: 'set'; readonly value: number; readonly mask: number }
  | { readonly kind: 'CONNMARK'; readonly mode: 'save' | 'restore'; readonly nfmask: number; readonly ctmask: number };

export const CONNMARK: TargetExt<ConnmarkTarget> = {
  name: 'CONNMARK',
  opts: [...XMARK_OPTS, flag('save-mark'), flag('restore-mark'), opt('mask', 'mask', true, false), opt('nfmask', 'nfmask', true, false), opt('ctmask', 'ctmask', true, false)],
  parser() {
    let set: { value: number; mask: number } | undefined;
    let mode: 'save' | 'restore' | undefined;
    let nfmask = 0xffffffff;
    let ctmask = 0xffffffff;
    const seen = new Set<string>();
    return {
      option(id, arg) {
        const bad = (): string => `CONNMARK: bad integer value for option "--${id}", or out of range.`;
        if (id === 'mask' || id === 'nfmask' || id === 'ctmask') {
          once('CONNMARK', seen, id);
          const m = parseU32(arg, bad);
          if (id !== 'ctmask') nfmask = m;
          if (id !== 'nfmask') ctmask = m;
          return;
        }
        if (set || mode) fail('CONNMARK target: Can only specify one action');
        if (id === 'save-mark') mode = 'save';
        else if (id === 'restore-mark') mode = 'restore';
        else set = xmark('CONNMARK', id, arg);
      },
      finish() {
        if (set) {
          if (seen.size > 0) fail('CONNMARK target: --mask/--nfmask/--ctmask only go with --save-mark or --restore-mark');
          return { kind: 'CONNMARK', mode: 'set', ...set };
        }
        if (!mode) fail('CONNMARK target: No operation specified');
        return { kind: 'CONNMARK', mode, nfmask, ctmask };
      },
    };
  },
  save(t) {
    if (t.mode === 'set') return `-j CONNMARK ${xmarkText(t)}`;
    return `-j CONNMARK --${t.mode}-mark --nfmask ${hex(t.nfmask)} --ctmask ${hex(t.ctmask)}`;
  },
  fast(c) {
    if (r.word('--set-xmark')) {
      const v = readXmark(c);
      return v === undefined ? undefined : { kind: 'CONNMARK', mode: 'set', value: v.value, mask: v.mask };
    }
    const mode = r.word('--save-mark') ? 'save' : r.word('--restore-mark') ? 'restore' : undefined;
    if (mode === undefined || !r.word('--nfmask')) return undefined;
    const nfmask = r.hexU32();
    if (nfmask < 0 || !r.sep() || !r.word('--ctmask')) return undefined;
    const ctmask = r.hexU32();
    if (ctmask < 0 || !r.sep()) return undefined;
    return { kind: 'CONNMARK', mode, nfmask, ctmask };
  },
  run(t, w) {
    if (t.mode === 'set') w.ctmark = ((w.ctmark & ~t.mask) ^ t.value) >>> 0;
    else if (t.mode === 'save') w.ctmark = ((w.ctmark & ~t.ctmask) ^ (w.mark & t.nfmask)) >>> 0;
    else w.mark = ((w.mark & ~t.nfmask) ^ (w.ctmark & t.ctmask)) >>> 0;
    return CONTINUE;
  },
};
