/**
 * `-m addrtype [!] --src-type T,.. [!] --dst-type T,.. [--limit-iface-in|--limit-iface-out]`
 * (libxt_addrtype, xt_addrtype revision 1): the route type of an address, asked of the
 * environment (inet_addr_type / inet_dev_addr_type).
 */
import type { AddrType } from '../types.js';
import { fail, flag, once, opt, type MatchExt } from './api.js';
import * as r from './reader.js';
import { not, ordered, parseNameList } from './util.js';

export interface AddrtypeMatch {
  readonly kind: 'addrtype';
  readonly srcType?: { readonly invert: boolean; readonly types: readonly AddrType[] };
  readonly dstType?: { readonly invert: boolean; readonly types: readonly AddrType[] };
  readonly limitIface?: 'in' | 'out';
}

export const ADDR_TYPES: readonly AddrType[] = [
  'UNSPEC',
  'UNICAST',
  'LOCAL',
  'BROADCAST',
  'ANYCAST',
  'MULTICAST',
  'BLACKHOLE',
  'UNREACHABLE',
  'PROHIBIT',
  'THROW',
  'NAT',
  'XRESOLVE',
];

export const addrtype: MatchExt<AddrtypeMatch> = {
  name: 'addrtype',
  opts: [opt('src-type'), opt('dst-type'), flag('limit-iface-in'), flag('limit-iface-out')],
  parser() {
    const seen = new Set<string>();
    let srcType: { invert: boolean; types: AddrType[] } | undefined;
    let dstType: { invert: boolean; types: AddrType[] } | undefined;
    let limitIface: 'in' | 'out' | undefined;
    return {
      option(id, arg, invert) {
        once('addrtype', seen, id);
        const types = (): AddrType[] => parseNameList(ADDR_TYPES, arg, (w) => `addrtype: bad type "${w}"`);
        if (id === 'src-type') srcType = { invert, types: types() };
        else if (id === 'dst-type') dstType = { invert, types: types() };
        else {
          if (limitIface !== undefined) fail('addrtype: option "--limit-iface-in" cannot be used together with "--limit-iface-out".');
          limitIface = id === 'limit-iface-in' ? 'in' : 'out';
        }
      },
      finish() {
        if (!srcType && !dstType) fail('addrtype: you must specify --src-type or --dst-type');
        return { kind: 'addrtype', ...(srcType && { srcType }), ...(dstType && { dstType }), ...(limitIface && { limitIface }) };
      },
    };
  },
  save(m) {
    let s = '-m addrtype';
    if (m.srcType) s += ` ${not(m.srcType.invert)}--src-type ${ordered(ADDR_TYPES, m.srcType.types)}`;
    if (m.dstType) s += ` ${not(m.dstType.invert)}--dst-type ${ordered(ADDR_TYPES, m.dstType.types)}`;
    if (m.limitIface === 'in') s += ' --limit-iface-in';
    if (m.limitIface === 'out') s += ' --limit-iface-out';
    return s;
  },
  fast() {
    let srcType: { invert: boolean; types: AddrType[] } | undefined;
    let dstType: { invert: boolean; types: AddrType[] } | undefined;
    let k = r.opt('--src-type');
    if (k >= 0) {
      const types = r.nameList(ADDR_TYPES);
      if (types === undefined) return undefined;
      srcType = { invert: k === 1, types };
    }
    k = r.opt('--dst-type');
    if (k >= 0) {
      const types = r.nameList(ADDR_TYPES);
      if (types === undefined) return undefined;
      dstType = { invert: k === 1, types };
    }
    const limitIface = r.word('--limit-iface-in') ? 'in' : r.word('--limit-iface-out') ? 'out' : undefined;
    if (srcType === undefined && dstType === undefined) return undefined;
    const m: { kind: 'addrtype'; srcType?: typeof srcType; dstType?: typeof dstType; limitIface?: 'in' | 'out' } = { kind: 'addrtype' };
    if (srcType !== undefined) m.srcType = srcType;
    if (dstType !== undefined) m.dstType = dstType;
    if (limitIface !== undefined) m.limitIface = limitIface;
    return m as AddrtypeMatch;
  },
  match(m, p, env) {
    const dev = m.limitIface === 'in' ? p.iif : m.limitIface === 'out' ? p.oif : undefined;
    if (m.srcType) {
      const t = env.addrType(p.src, dev);
      if (m.srcType.types.includes(t) === m.srcType.invert) return false;
    }
    if (m.dstType) {
      const t = env.addrType(p.dst, dev);
      if (m.dstType.types.includes(t) === m.dstType.invert) return false;
    }
    return true;
  },
  // xt_addrtype checkentry: --limit-iface-in not from OUTPUT/POSTROUTING, -out not from PREROUTING/INPUT
  checkHook(m, hook) {
    if (m.limitIface === undefined) return undefined;
    const forbidden = m.limitIface === 'in' ? ['OUTPUT', 'POSTROUTING'] : ['PREROUTING', 'INPUT'];
    return forbidden.includes(hook) ? `addrtype: --limit-iface-${m.limitIface} not valid in ${hook}` : undefined;
  },
};
