/**
 * `-j MARK --set-xmark V/M | --set-mark V[/M] | --and-mark | --or-mark | --xor-mark` (libxt_MARK,
 * xt_MARK revision 2). Every form is kept as the kernel keeps it, xmark: mark = (mark & ~mask) ^ value.
 */
import { CONTINUE, fail, opt, type FastCtx, type TargetExt } from './api.js';
import * as r from './reader.js';
import { hex, parseU32, parseValueMask } from './util.js';

export type MarkTarget = { readonly kind: 'MARK'; readonly value: number; readonly mask: number };

/** MARK's and CONNMARK's mark options, as xmark value/mask. */
export function xmark(ext: string, id: string, arg: string): { value: number; mask: number } {
  const bad = (): string => `${ext}: bad integer value for option "--${id}", or out of range.`;
  switch (id) {
    case 'set-xmark':
      return parseValueMask(ext, id, arg);
    case 'set-mark': {
      const vm = parseValueMask(ext, id, arg);
      return { value: vm.value, mask: (vm.value | vm.mask) >>> 0 };
    }
    case 'and-mark':
      return { value: 0, mask: ~parseU32(arg, bad) >>> 0 };
    case 'or-mark': {
      const v = parseU32(arg, bad);
      return { value: v, mask: v };
    }
    default:
      return { value: parseU32(arg, bad), mask: 0 };
  }
}

export const XMARK_OPTS = ['set-xmark', 'set-mark', 'and-mark', 'or-mark', 'xor-mark'].map((n) => opt(n, n, true, false));

/** `0xV/0xM` as xmarkText prints it (after `--set-xmark `), or undefined */
export function readXmark(_c: FastCtx): { value: number; mask: number } | undefined {
  const value = r.hexU32();
  if (value < 0 || r.peek() !== 47) return undefined;
  r.skip(1);
  const mask = r.hexU32();
  if (mask < 0 || !r.sep()) return undefined;
  return { value, mask };
}

export function xmarkText(v: { readonly value: number; readonly mask: number }): string {
  return `--set-xmark ${hex(v.value)}/${hex(v.mask)}`;
}

export const MARK: TargetExt<MarkTarget> = {
  name: 'MARK',
  opts: XMARK_OPTS,
  parser() {
    let v: { value: number; mask: number } | undefined;
    return {
      option(id, arg) {
        if (v) fail('MARK: --set-xmark/--{and,or,xor,set}-mark options can only be used once');
        v = xmark('MARK', id, arg);
      },
      finish() {
        if (!v) fail('MARK: One of the --set-xmark, --{and,or,xor,set}-mark options is required');
        return { kind: 'MARK', ...v };
      },
    };
  },
  save: (t) => `-j MARK ${xmarkText(t)}`,
  fast(c) {
    if (!r.word('--set-xmark')) return undefined;
    const v = readXmark(c);
    return v === undefined ? undefined : { kind: 'MARK', value: v.value, mask: v.mask };
  },
  run(t, w) {
    w.mark = ((w.mark & ~t.mask) ^ t.value) >>> 0;
    return CONTINUE;
  },
};
