/** `-m iprange [!] --src-range A-B [!] --dst-range A-B` (libxt_iprange, xt_iprange). */
import { formatIpv4, parseIpv4, type Ipv4 } from '../../wire/ipv4.js';
import { fail, once, opt, type MatchExt } from './api.js';
import { not } from './util.js';

export interface IprangeMatch {
  readonly kind: 'iprange';
  readonly srcRange?: { readonly invert: boolean; readonly from: Ipv4; readonly to: Ipv4 };
  readonly dstRange?: { readonly invert: boolean; readonly from: Ipv4; readonly to: Ipv4 };
}

export const iprange: MatchExt<IprangeMatch> = {
  name: 'iprange',
  opts: [opt('src-range'), opt('dst-range')],
  parser() {
    const seen = new Set<string>();
    let srcRange: { invert: boolean; from: Ipv4; to: Ipv4 } | undefined;
    let dstRange: { invert: boolean; from: Ipv4; to: Ipv4 } | undefined;
    return {
      option(id, arg, invert) {
        once('iprange', seen, id);
        const dash = arg.indexOf('-');
        const a = dash < 0 ? arg : arg.slice(0, dash);
        const b = dash < 0 ? arg : arg.slice(dash + 1);
        const from = parseIpv4(a);
        const to = parseIpv4(b);
        if (from === undefined) fail(`iprange: Bad IP address "${a}"`);
        if (to === undefined) fail(`iprange: Bad IP address "${b}"`);
        if (id === 'src-range') srcRange = { invert, from, to };
        else dstRange = { invert, from, to };
      },
      finish() {
        if (!srcRange && !dstRange) fail("iprange match: You must specify `--src-range' or `--dst-range'");
        return { kind: 'iprange', ...(srcRange && { srcRange }), ...(dstRange && { dstRange }) };
      },
    };
  },
  save(m) {
    let s = '-m iprange';
    if (m.srcRange) s += ` ${not(m.srcRange.invert)}--src-range ${formatIpv4(m.srcRange.from)}-${formatIpv4(m.srcRange.to)}`;
    if (m.dstRange) s += ` ${not(m.dstRange.invert)}--dst-range ${formatIpv4(m.dstRange.from)}-${formatIpv4(m.dstRange.to)}`;
    return s;
  },
  match(m, p) {
    if (m.srcRange && (p.src >= m.srcRange.from && p.src <= m.srcRange.to) === m.srcRange.invert) return false;
    if (m.dstRange && (p.dst >= m.dstRange.from && p.dst <= m.dstRange.to) === m.dstRange.invert) return false;
    return true;
  },
};
