/** `-t nat -j MASQUERADE [--to-ports p[-q]] [--random] [--random-fully]` (libxt_MASQUERADE, xt_MASQUERADE). */
import type { PortRange } from '../types.js';
import { flag, once, opt, natVerdict, type TargetExt } from './api.js';
import { parseToPorts, readToPorts, toPortsText } from './natrange.js';
import * as r from './reader.js';

export type MasqueradeTarget = { readonly kind: 'MASQUERADE'; readonly ports?: PortRange; readonly random: boolean; readonly randomFully: boolean };

export const MASQUERADE: TargetExt<MasqueradeTarget> = {
  name: 'MASQUERADE',
  opts: [opt('to-ports', 'to-ports', true, false), flag('random'), flag('random-fully')],
  table: 'nat',
  hooks: ['POSTROUTING'],
  parser() {
    const seen = new Set<string>();
    let ports: PortRange | undefined;
    return {
      option(id, arg, _inv, ctx) {
        once('MASQUERADE', seen, id);
        if (id === 'to-ports') ports = parseToPorts(arg, ctx);
      },
      finish: () => ({ kind: 'MASQUERADE', ...(ports && { ports }), random: seen.has('random'), randomFully: seen.has('random-fully') }),
    };
  },
  save(t) {
    let s = `-j MASQUERADE${toPortsText(t.ports)}`;
    if (t.random) s += ' --random';
    if (t.randomFully) s += ' --random-fully';
    return s;
  },
  fast(c) {
    const ports = readToPorts(c);
    if (ports === null) return undefined;
    const random = r.word('--random');
    const randomFully = r.word('--random-fully');
    return ports !== undefined ? { kind: 'MASQUERADE', ports, random, randomFully } : { kind: 'MASQUERADE', random, randomFully };
  },
  run: natVerdict,
  pure: true,
};
