/** `-t raw -j CT [--notrack]` (libxt_CT, xt_CT). Helpers, zones and timeouts are not modelled. */
import { CONTINUE, flag, opt, unsupported, type TargetExt } from './api.js';
import * as r from './reader.js';

export type CtTarget = { readonly kind: 'CT'; readonly notrack: boolean };

const UNMODELLED = ['helper', 'ctevents', 'expevents', 'zone', 'zone-orig', 'zone-reply', 'timeout'];

export const CT: TargetExt<CtTarget> = {
  name: 'CT',
  opts: [flag('notrack'), ...UNMODELLED.map((n) => opt(n, n, true, false))],
  table: 'raw',
  parser() {
    let notrack = false;
    return {
      option(id) {
        if (id !== 'notrack') unsupported(`CT option "--${id}" is not modelled by netpath`);
        notrack = true;
      },
      finish: () => ({ kind: 'CT', notrack }),
    };
  },
  save: (t) => (t.notrack ? '-j CT --notrack' : '-j CT'),
  fast: () => ({ kind: 'CT', notrack: r.word('--notrack') }),
  run(t, w) {
    if (t.notrack) w.notrack = true;
    return CONTINUE;
  },
};
