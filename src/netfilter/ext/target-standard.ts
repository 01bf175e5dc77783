/** The standard verdicts `-j ACCEPT`, `-j DROP` and `-j RETURN` (libxt_standard, ip_tables' verdicts). */
import { RETURN as POP, type TargetExt, type TargetResult, type WalkState } from './api.js';

export type AcceptTarget = { readonly kind: 'ACCEPT' };
export type DropTarget = { readonly kind: 'DROP' };
export type ReturnTarget = { readonly kind: 'RETURN' };

/** a target without options: parse gives `value`, save prints `-j NAME` */
export function simpleTarget<T extends { readonly kind: string }>(value: T, run: (t: T, w: WalkState) => TargetResult, more?: Partial<TargetExt<T>>): TargetExt<T> {
  return {
    name: value.kind,
    opts: [],
    parser: () => ({ option: () => undefined, finish: () => value }),
    save: () => `-j ${value.kind}`,
    fast: () => value,
    run,
    ...more,
  };
}

const ACCEPT_VALUE: AcceptTarget = { kind: 'ACCEPT' };
const DROP_VALUE: DropTarget = { kind: 'DROP' };
const RETURN_VALUE: ReturnTarget = { kind: 'RETURN' };

/** the verdicts, one value each */
const ACCEPTED: { readonly kind: 'ACCEPT' } = Object.freeze({ kind: 'ACCEPT' });
const DROPPED: { readonly kind: 'DROP' } = Object.freeze({ kind: 'DROP' });

export const ACCEPT = simpleTarget(ACCEPT_VALUE, () => ACCEPTED, { pure: true });
// the nat table refuses DROP (the full parser says why): the fast path declines it there
export const DROP = simpleTarget(DROP_VALUE, () => DROPPED, { pure: true, fast: (c) => (c.table === 'nat' ? undefined : DROP_VALUE) });
export const RETURN = simpleTarget(RETURN_VALUE, () => POP, { pure: true });
