/** `-t nat -j REDIRECT [--to-ports p[-q]] [--random]` (libxt_REDIRECT, xt_REDIRECT): DNAT to the host itself. */
import type { PortRange } from '../types.js';
import { flag, once, opt, natVerdict, type TargetExt } from './api.js';
import { parseToPorts, readToPorts, toPortsText } from './natrange.js';
import * as r from './reader.js';

export type RedirectTarget = { readonly kind: 'REDIRECT'; readonly ports?: PortRange; readonly random: boolean };

export const REDIRECT: TargetExt<RedirectTarget> = {
  name: 'REDIRECT',
  opts: [opt('to-ports', 'to-ports', true, false), flag('random')],
  table: 'nat',
  hooks: ['PREROUTING', 'OUTPUT'],
  parser() {
    const seen = new Set<string>();
    let ports: PortRange | undefined;
    return {
      option(id, arg, _inv, ctx) {
        once('REDIRECT', seen, id);
        if (id === 'to-ports') ports = parseToPorts(arg, ctx);
      },
      finish: () => ({ kind: 'REDIRECT', ...(ports && { ports }), random: seen.has('random') }),
    };
  },
  save: (t) => `-j REDIRECT${toPortsText(t.ports)}${t.random ? ' --random' : ''}`,
  fast(c) {
    const ports = readToPorts(c);
    if (ports === null) return undefined;
    const random = r.word('--random');
    return ports !== undefined ? { kind: 'REDIRECT', ports, random } : { kind: 'REDIRECT', random };
  },
  run: natVerdict,
  pure: true,
};
