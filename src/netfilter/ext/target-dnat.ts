/** `-t nat -j DNAT --to-destination A[-B][:p[-q]] [--random] [--persistent]` (libxt_DNAT, xt_nat). */
import type { NatRange } from '../types.js';
import { fail, flag, once, opt, natVerdict, type TargetExt } from './api.js';
import { natRangeText, parseNatRange, readNatRange } from './natrange.js';
import * as r from './reader.js';

export type DnatTarget = { readonly kind: 'DNAT'; readonly range: NatRange; readonly random: boolean; readonly persistent: boolean };

export const DNAT: TargetExt<DnatTarget> = {
  name: 'DNAT',
  opts: [opt('to-destination', 'to-destination', true, false), flag('random'), flag('persistent')],
  table: 'nat',
  hooks: ['PREROUTING', 'OUTPUT'],
  parser() {
    const seen = new Set<string>();
    let range: NatRange | undefined;
    return {
      option(id, arg, _inv, ctx) {
        once('DNAT', seen, id);
        if (id === 'to-destination') range = parseNatRange(arg, ctx);
      },
      finish() {
        if (!range) fail('DNAT: option "--to-destination" must be specified');
        return { kind: 'DNAT', range, random: seen.has('random'), persistent: seen.has('persistent') };
      },
    };
  },
  save(t) {
    let s = `-j DNAT --to-destination ${natRangeText(t.range)}`;
    if (t.random) s += ' --random';
    if (t.persistent) s += ' --persistent';
    return s;
  },
  fast(c) {
    if (!r.word('--to-destination')) return undefined;
    const range = readNatRange(c);
    if (range === undefined) return undefined;
    const random = r.word('--random');
    const persistent = r.word('--persistent');
    return { kind: 'DNAT', range, random, persistent };
  },
  run: natVerdict,
  pure: true,
};
