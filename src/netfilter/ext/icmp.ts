/** `-m icmp [!] --icmp-type TYPE[/CODE]|NAME` (libxt_icmp, ip_tables' icmp_match). */
import { ICMP_TYPES } from '../names.js';
import { fail, opt, unsupported, type MatchExt } from './api.js';
import * as r from './reader.js';
import { not } from './util.js';

/** type 255 is `any`; codes are an inclusive range (0..255 when not given) */
export interface IcmpMatch {
  readonly kind: 'icmp';
  readonly invert: boolean;
  readonly type: number;
  readonly codeMin: number;
  readonly codeMax: number;
}

export const icmp: MatchExt<IcmpMatch> = {
  name: 'icmp',
  opts: [opt('icmp-type')],
  implicitProto: 1,
  parser() {
    let v: { invert: boolean; type: number; codeMin: number; codeMax: number } | undefined;
    return {
      option(_id, arg, invert) {
        if (v) fail('icmp: option "--icmp-type" can only be used once.');
        if (/^\d+\/\d+:\d+$/.test(arg)) unsupported(`ICMP code range \`${arg}' (iptables keeps only the first code)`);
        const numeric = /^(\d+)(?:\/(\d+))?$/.exec(arg);
        if (numeric) {
          const type = Number(numeric[1]);
          if (type > 255) fail(`Unknown ICMP type \`${arg}'`);
          if (numeric[2] === undefined) v = { invert, type, codeMin: 0, codeMax: 255 };
          else {
            const code = Number(numeric[2]);
            if (code > 255) fail(`Unknown ICMP code \`${arg}'`);
            v = { invert, type, codeMin: code, codeMax: code };
          }
          return;
        }
        const hits = ICMP_TYPES.filter(([n]) => n.toLowerCase().startsWith(arg.toLowerCase()));
        const exact = hits.find(([n]) => n.toLowerCase() === arg.toLowerCase());
        const hit = exact ?? (hits.length === 1 ? hits[0] : undefined);
        if (arg === '' || hit === undefined) {
          if (hits.length > 1) fail(`Ambiguous ICMP type \`${arg}': \`${hits[0]![0]}' or \`${hits[1]![0]}'?`);
          fail(`Unknown ICMP type \`${arg}'`);
        }
        v = { invert, type: hit[1], codeMin: hit[2], codeMax: hit[3] };
      },
      finish(ctx) {
        if (!v) fail('icmp: option "--icmp-type" must be specified');
        if (ctx.proto !== 1 || ctx.protoInvert) fail('RULE_APPEND failed (Invalid argument): -m icmp without -p icmp (the kernel refuses it)', 'kernel');
        return { kind: 'icmp', ...v };
      },
    };
  },
  save(m) {
    if (m.type === 255) return `-m icmp ${not(m.invert)}--icmp-type any`;
    const code = m.codeMin === 0 && m.codeMax === 255 ? '' : `/${m.codeMin}`;
    return `-m icmp ${not(m.invert)}--icmp-type ${m.type}${code}`;
  },
  fast(c) {
    if (c.proto !== 1 || c.protoInvert) return undefined;
    const invert = r.bang();
    if (!r.word('--icmp-type')) return undefined;
    if (r.word('any')) return { kind: 'icmp', invert, type: 255, codeMin: 0, codeMax: 255 };
    const type = r.decimal(254);
    if (type < 0) return undefined;
    if (r.peek() !== 47) return r.sep() ? { kind: 'icmp', invert, type, codeMin: 0, codeMax: 255 } : undefined;
    r.skip(1);
    const code = r.decimal(255);
    // `T/0` with code range 0..255 cannot come out of the full parser: /C is always one code
    if (code < 0 || !r.sep()) return undefined;
    return { kind: 'icmp', invert, type, codeMin: code, codeMax: code };
  },
  match(m, p) {
    if (p.proto !== 1) return false;
    const hit = m.type === 255 || (p.icmpType === m.type && (p.icmpCode ?? 0) >= m.codeMin && (p.icmpCode ?? 0) <= m.codeMax);
    return hit !== m.invert;
  },
};
