/** `-m multiport [!] --sports|--dports|--ports LIST` (libxt_multiport, xt_multiport revision 1). */
import type { PortRange } from '../types.js';
import { fail, opt, type MatchExt } from './api.js';
import * as r from './reader.js';
import { PORT_PROTOS, not, portOf, portSpecText } from './util.js';

export interface MultiportMatch {
  readonly kind: 'multiport';
  readonly invert: boolean;
  /** --sports, --dports, --ports */
  readonly dir: 'source' | 'destination' | 'either';
  readonly ports: readonly PortRange[];
}

const CANON = { source: 'source-ports', destination: 'destination-ports', either: 'ports' } as const;

export const multiport: MatchExt<MultiportMatch> = {
  name: 'multiport',
  opts: [opt('source-ports', 'source'), opt('sports', 'source'), opt('destination-ports', 'destination'), opt('dports', 'destination'), opt('ports', 'either')],
  parser() {
    let v: { invert: boolean; dir: 'source' | 'destination' | 'either'; ports: PortRange[] } | undefined;
    return {
      option(id, arg, invert) {
        const dir = id as 'source' | 'destination' | 'either';
        if (v) {
          if (v.dir === dir) fail(`multiport: option "--${CANON[dir]}" can only be used once.`);
          fail(`multiport: option "--${CANON[v.dir]}" cannot be used together with "--${CANON[dir]}".`);
        }
        const ports: PortRange[] = [];
        let slots = 0;
        for (const part of arg.split(',')) {
          const colon = part.indexOf(':');
          if (colon < 0) {
            const p = portOf(part);
            ports.push({ min: p, max: p });
            slots += 1;
          } else {
            const min = portOf(part.slice(0, colon));
            const max = portOf(part.slice(colon + 1));
            if (min > max) fail('invalid portrange specified');
            ports.push({ min, max });
            slots += 2;
          }
        }
        if (slots > 15) fail('too many ports specified');
        v = { invert, dir, ports };
      },
      finish(ctx) {
        if (!v) fail('multiport: option "--ports" must be specified');
        if (ctx.proto === undefined || ctx.proto === 0 || ctx.protoInvert) {
          fail("multiport needs `-p tcp', `-p udp', `-p udplite', `-p sctp' or `-p dccp'");
        }
        if (!PORT_PROTOS.has(ctx.proto)) fail('multiport only works with TCP, UDP, UDPLITE, SCTP and DCCP');
        return { kind: 'multiport', ...v };
      },
    };
  },
  save(m) {
    const o = m.dir === 'source' ? 'sports' : m.dir === 'destination' ? 'dports' : 'ports';
    return `-m multiport ${not(m.invert)}--${o} ${m.ports.map(portSpecText).join(',')}`;
  },
  fast(c) {
    if (c.proto === 0 || c.protoInvert || !PORT_PROTOS.has(c.proto)) return undefined;
    const invert = r.bang();
    const dir = r.word('--dports') ? 'destination' : r.word('--sports') ? 'source' : r.word('--ports') ? 'either' : undefined;
    if (dir === undefined) return undefined;
    const ports: PortRange[] = [];
    let slots = 0;
    for (;;) {
      const pr = r.portRange(58);
      if (pr === undefined) return undefined;
      ports.push(pr);
      slots += pr.min === pr.max ? 1 : 2;
      if (r.peek() !== 44) break;
      r.skip(1);
    }
    if (slots > 15 || !r.sep()) return undefined;
    return { kind: 'multiport', invert, dir, ports };
  },
  match(m, p) {
    if (p.sport === undefined || p.dport === undefined) return false;
    const inAny = (x: number): boolean => m.ports.some((pr) => x >= pr.min && x <= pr.max);
    const hit = m.dir === 'source' ? inAny(p.sport) : m.dir === 'destination' ? inAny(p.dport) : inAny(p.sport) || inAny(p.dport);
    return hit !== m.invert;
  },
};
