/** `-t raw -j NOTRACK` (libxt_NOTRACK; the kernel keeps it as CT --notrack): no conntrack entry. */
import { CONTINUE } from './api.js';
import { simpleTarget } from './target-standard.js';

export type NotrackTarget = { readonly kind: 'NOTRACK' };

export const NOTRACK = simpleTarget<NotrackTarget>(
  { kind: 'NOTRACK' },
  (_t, w) => {
    w.notrack = true;
    return CONTINUE;
  },
  { table: 'raw' },
);
