/** `-m tcp` (libxt_tcp, xt_tcpudp): ports and `--tcp-flags`/`--syn`. */
import type { PortSpec, TcpFlag } from '../types.js';
import { fail, flag, once, opt, type MatchExt } from './api.js';
import { PORT_OPTS, PortsParser, portsMatch, readPorts, savePorts } from './ports.js';
import { not } from './util.js';

export interface TcpMatch {
  readonly kind: 'tcp';
  readonly sport?: PortSpec;
  readonly dport?: PortSpec;
  /** `--tcp-flags MASK COMP` (`--syn` is FIN,SYN,RST,ACK SYN) */
  readonly flags?: { readonly invert: boolean; readonly mask: readonly TcpFlag[]; readonly comp: readonly TcpFlag[] };
}

export const TCP_FLAGS: readonly TcpFlag[] = ['FIN', 'SYN', 'RST', 'PSH', 'ACK', 'URG'];
const FLAG_BITS: Readonly<Record<TcpFlag, number>> = { FIN: 1, SYN: 2, RST: 4, PSH: 8, ACK: 16, URG: 32 };

export function flagBits(flags: readonly TcpFlag[]): number {
  let b = 0;
  for (const f of flags) b |= FLAG_BITS[f];
  return b;
}

function parseFlags(text: string): TcpFlag[] {
  const out = new Set<TcpFlag>();
  for (const f of text.split(',')) {
    const u = f.toUpperCase();
    if (u === 'ALL') TCP_FLAGS.forEach((x) => out.add(x));
    else if (u === 'NONE') continue;
    else if ((TCP_FLAGS as readonly string[]).includes(u)) out.add(u as TcpFlag);
    else fail(`Unknown TCP flag \`${f}'`);
  }
  return TCP_FLAGS.filter((x) => out.has(x));
}

function flagList(flags: readonly TcpFlag[]): string {
  if (flags.length === 0) return 'NONE';
  return TCP_FLAGS.filter((f) => flags.includes(f)).join(',');
}

export const tcp: MatchExt<TcpMatch> = {
  name: 'tcp',
  opts: [...PORT_OPTS, flag('syn', 'syn', true), opt('tcp-flags'), opt('tcp-option')],
  implicitProto: 6,
  parser() {
    const ports = new PortsParser('tcp', 6);
    let flags: { invert: boolean; mask: TcpFlag[]; comp: TcpFlag[] } | undefined;
    return {
      option(id, arg, invert, ctx, next) {
        ports.checkProto(ctx);
        if (ports.option(id, arg, invert)) return;
        if (id === 'syn' || id === 'tcp-flags') {
          once('tcp', ports.seen, 'flags', "Only one of `--syn' or `--tcp-flags'  allowed");
          if (id === 'syn') {
            flags = { invert, mask: ['FIN', 'SYN', 'RST', 'ACK'], comp: ['SYN'] };
            return;
          }
          const comp = next();
          if (comp === undefined || comp.startsWith('-') || comp === '!') fail('--tcp-flags requires two args.');
          flags = { invert, mask: parseFlags(arg), comp: parseFlags(comp) };
          return;
        }
        ports.unmodelled(id);
      },
      finish(ctx) {
        ports.finish(ctx);
        const { sport, dport } = ports;
        return { kind: 'tcp', ...(sport && { sport }), ...(dport && { dport }), ...(flags && { flags }) };
      },
    };
  },
  save(m) {
    let s = `-m tcp${savePorts(m)}`;
    if (m.flags) s += ` ${not(m.flags.invert)}--tcp-flags ${flagList(m.flags.mask)} ${flagList(m.flags.comp)}`;
    return s;
  },
  fast: (c) => readPorts('tcp', c, 6),
  match(m, p) {
    if (p.proto !== 6) return false;
    if (!portsMatch(m, p)) return false;
    if (m.flags) {
      const hit = ((p.tcpFlags ?? 0) & flagBits(m.flags.mask)) === flagBits(m.flags.comp);
      if (hit === m.flags.invert) return false;
    }
    return true;
  },
};
