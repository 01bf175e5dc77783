/** `-t nat -j SNAT --to-source A[-B][:p[-q]] [--random] [--random-fully] [--persistent]` (libxt_SNAT, xt_nat). */
import type { NatRange } from '../types.js';
import { fail, flag, once, opt, natVerdict, type TargetExt } from './api.js';
import { natRangeText, parseNatRange, readNatRange } from './natrange.js';
import * as r from './reader.js';

export type SnatTarget = {
  readonly kind: 'SNAT';
  readonly range: NatRange;
  readonly random: boolean;
  readonly randomFully: boolean;
  readonly persistent: boolean;
};

export const SNAT: TargetExt<SnatTarget> = {
  name: 'SNAT',
  opts: [opt('to-source', 'to-source', true, false), flag('random'), flag('persistent'), flag('random-fully')],
  table: 'nat',
  hooks: ['POSTROUTING', 'INPUT'],
  parser() {
    const seen = new Set<string>();
    let range: NatRange | undefined;
    return {
      option(id, arg, _inv, ctx) {
        once('SNAT', seen, id);
        if (id === 'to-source') range = parseNatRange(arg, ctx);
      },
      finish() {
        if (!range) fail('SNAT: option "--to-source" must be specified');
        return { kind: 'SNAT', range, random: seen.has('random'), randomFully: seen.has('random-fully'), persistent: seen.has('persistent') };
      },
    };
  },
  save(t) {
    let s = `-j SNAT --to-source ${natRangeText(t.range)}`;
    if (t.random) s += ' --random';
    if (t.randomFully) s += ' --random-fully';
    if (t.persistent) s += ' --persistent';
    return s;
  },
  fast(c) {
    if (!r.word('--to-source')) return undefined;
    const range = readNatRange(c);
    if (range === undefined) return undefined;
    const random = r.word('--random');
    const randomFully = r.word('--random-fully');
    const persistent = r.word('--persistent');
    return { kind: 'SNAT', range, random, randomFully, persistent };
  },
  run: natVerdict,
  pure: true,
};
