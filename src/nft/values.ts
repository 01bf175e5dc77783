/**
 * Values by data type: the symbol tables nft uses (datatype.c, ct.c, proto.c, fib.c) and the
 * parse and print of one atom. Numbers are printed as `nft list ruleset` prints them (ports and
 * protocols by number or by nft's own names, marks as 0x%08x).
 */
import { formatIpv4 } from '../wire/ipv4.js';
import type { NftAtom, NftType } from './types.js';

const INET_PROTO: Readonly<Record<string, number>> = {
  icmp: 1, igmp: 2, tcp: 6, udp: 17, gre: 47, esp: 50, ah: 51, 'ipv6-icmp': 58, icmpv6: 58, sctp: 132, udplite: 136, dccp: 33,
};
/** how nft prints a protocol number (the rest print as numbers) */
const INET_PROTO_NAME: Readonly<Record<number, string>> = {
  1: 'icmp', 2: 'igmp', 6: 'tcp', 17: 'udp', 47: 'gre', 50: 'esp', 51: 'ah', 58: 'ipv6-icmp', 132: 'sctp', 136: 'udplite', 33: 'dccp',
};
/** service names nft accepts (getservbyname): the common ones; printed as numbers */
const SERVICES: Readonly<Record<string, number>> = {
  ftp: 21, ssh: 22, telnet: 23, smtp: 25, domain: 53, bootps: 67, bootpc: 68, http: 80, www: 80, pop3: 110, ntp: 123,
  imap: 143, snmp: 161, ldap: 389, https: 443, 'dhcpv6-client': 546, 'dhcpv6-server': 547, imaps: 993, pop3s: 995,
  mdns: 5353, 'mysql': 3306, postgresql: 5432,
};
export const CT_STATE: Readonly<Record<string, number>> = { invalid: 1, established: 2, related: 4, new: 8, untracked: 64 };
export const CT_STATUS: Readonly<Record<string, number>> = {
  expected: 1, 'seen-reply': 2, assured: 4, confirmed: 8, snat: 16, dnat: 32, dying: 512,
};
export const TCP_FLAG: Readonly<Record<string, number>> = { fin: 1, syn: 2, rst: 4, psh: 8, ack: 16, urg: 32, ecn: 64, cwr: 128 };
export const ICMP_TYPE: Readonly<Record<string, number>> = {
  'echo-reply': 0, 'destination-unreachable': 3, 'source-quench': 4, redirect: 5, 'echo-request': 8,
  'router-advertisement': 9, 'router-solicitation': 10, 'time-exceeded': 11, 'parameter-problem': 12,
  'timestamp-request': 13, 'timestamp-reply': 14, 'info-request': 15, 'info-reply': 16,
  'address-mask-request': 17, 'address-mask-reply': 18,
};
export const ICMPV6_TYPE: Readonly<Record<string, number>> = {
  'destination-unreachable': 1, 'packet-too-big': 2, 'time-exceeded': 3, 'parameter-problem': 4, 'echo-request': 128,
  'echo-reply': 129, 'mld-listener-query': 130, 'mld-listener-report': 131, 'mld-listener-done': 132,
  'mld-listener-reduction': 132, 'nd-router-solicit': 133, 'nd-router-advert': 134, 'nd-neighbor-solicit': 135,
  'nd-neighbor-advert': 136, 'nd-redirect': 137, 'router-renumbering': 138, 'ind-neighbor-solicit': 141,
  'ind-neighbor-advert': 142, 'mld2-listener-report': 143,
};
export const FIB_ADDRTYPE: Readonly<Record<string, number>> = {
  unspec: 0, unicast: 1, local: 2, broadcast: 3, anycast: 4, multicast: 5, blackhole: 6, unreachable: 7, prohibit: 8, throw: 9, nat: 10, xresolve: 11,
};
const NF_PROTO: Readonly<Record<string, number>> = { ipv4: 2, ipv6: 10 };
const ETHER_TYPE: Readonly<Record<string, number>> = { ip: 0x0800, arp: 0x0806, ip6: 0x86dd, vlan: 0x8100 };
const PKT_TYPE: Readonly<Record<string, number>> = { host: 0, broadcast: 1, multicast: 2, other: 3 };
const CT_DIR: Readonly<Record<string, number>> = { original: 0, reply: 1 };

const SYMBOLS: Partial<Record<NftType, Readonly<Record<string, number>>>> = {
  inet_proto: INET_PROTO,
  inet_service: SERVICES,
  ct_state: CT_STATE,
  ct_status: CT_STATUS,
  tcp_flag: TCP_FLAG,
  icmp_type: ICMP_TYPE,
  icmpv6_type: ICMPV6_TYPE,
  fib_addrtype: FIB_ADDRTYPE,
  nf_proto: NF_PROTO,
  ether_type: ETHER_TYPE,
  pkt_type: PKT_TYPE,
  ct_dir: CT_DIR,
};

/** types whose values are bit sets (a bare list means "any of these bits") */
export const BITMASK_TYPES: ReadonlySet<NftType> = new Set<NftType>(['ct_state', 'ct_status', 'tcp_flag']);

/** The width in bytes of a type, rounded up to a 4-byte register, as in a concatenation. */
export function regWidth(t: NftType): number {
  return t === 'ipv6_addr' ? 16 : t === 'ifname' ? 16 : 4;
}

function num(text: string): number | undefined {
  const d = decimal(text, 0, text.length);
  if (d !== undefined) return d;
  if (/^0x[0-9a-fA-F]+$/.test(text)) return parseInt(text, 16);
  return undefined;
}

/** the decimal number text[i..j) spells (digits only, at least one), or undefined */
function decimal(text: string, i: number, j: number): number | undefined {
  if (j <= i) return undefined;
  let v = 0;
  for (let k = i; k < j; k++) {
    const c = text.charCodeAt(k) - 48;
    if (c < 0 || c > 9) return undefined;
    v = v * 10 + c;
  }
  return j - i > 15 ? Number(text.slice(i, j)) : v;
}

/**
 * parseIpv4 (four octets 0-255, no leading zeros) without a regular expression: every element
 * of a 10k-service map is an address
 */
function ipv4(text: string): number | undefined {
  let v = 0;
  let start = 0;
  for (let part = 0; part < 4; part++) {
    let end = start;
    while (end < text.length && text.charCodeAt(end) !== 46) end++;
    if (part < 3 ? end >= text.length : end !== text.length) return undefined;
    const len = end - start;
    if (len < 1 || len > 3 || (len > 1 && text.charCodeAt(start) === 48)) return undefined;
    const o = decimal(text, start, end);
    if (o === undefined || o > 255) return undefined;
    v = v * 256 + o;
    start = end + 1;
  }
  return v;
}

/**
 * One atom of type `t` from a word (or a quoted string when `quoted`). Undefined when the word
 * is not a value of that type.
 */
export function parseAtom(t: NftType, text: string, quoted: boolean): NftAtom | undefined {
  switch (t) {
    case 'ifname':
      return { t: 'str', v: text };
    case 'iface_index':
      // `fib ... oif missing`: no route, no interface (index 0)
      return !quoted && text === 'missing' ? { t: 'num', v: 0 } : { t: 'str', v: text };
    case 'ipv6_addr':
      return quoted ? undefined : { t: 'v6', text };
    case 'ipv4_addr': {
      if (quoted) return undefined;
      const dash = text.indexOf('-');
      if (dash > 0) {
        const lo = ipv4(text.slice(0, dash));
        const hi = ipv4(text.slice(dash + 1));
        if (lo === undefined || hi === undefined || hi < lo) return undefined;
        return { t: 'num', v: lo, hi };
      }
      const slash = text.indexOf('/');
      if (slash > 0) {
        const a = ipv4(text.slice(0, slash));
        const len = Number(text.slice(slash + 1));
        if (a === undefined || !/^\d+$/.test(text.slice(slash + 1)) || len > 32) return undefined;
        const mask = len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
        return { t: 'num', v: (a & mask) >>> 0, plen: len };
      }
      const a = ipv4(text);
      return a === undefined ? undefined : { t: 'num', v: a };
    }
    default: {
      if (quoted) return undefined;
      const sym = SYMBOLS[t];
      const one = (w: string): number | undefined => {
        const n = num(w);
        if (n !== undefined) return n;
        return sym !== undefined && Object.hasOwn(sym, w) ? sym[w] : undefined;
      };
      const dash = text.indexOf('-', 1);
      if (dash > 0 && !(sym !== undefined && Object.hasOwn(sym, text))) {
        const lo = one(text.slice(0, dash));
        const hi = one(text.slice(dash + 1));
        if (lo === undefined || hi === undefined || hi < lo) return undefined;
        return { t: 'num', v: lo, hi };
      }
      const v = one(text);
      return v === undefined ? undefined : { t: 'num', v };
    }
  }
}

function symbolOf(t: NftType, v: number): string | undefined {
  if (t === 'inet_proto') return INET_PROTO_NAME[v];
  if (t === 'inet_service' || t === 'integer' || t === 'mark') return undefined;
  const sym = SYMBOLS[t];
  if (!sym) return undefined;
  for (const [k, x] of Object.entries(sym)) if (x === v) return k;
  return undefined;
}

function flagsText(t: NftType, v: number): string {
  const sym = SYMBOLS[t]!;
  const names: string[] = [];
  // nft prints flags in bit order
  for (const [k, x] of Object.entries(sym).sort((a, b) => a[1] - b[1])) if ((v & x) !== 0) names.push(k);
  return names.join(',');
}

function scalar(t: NftType, v: number): string {
  if (t === 'ipv4_addr') return formatIpv4(v);
  if (t === 'mark') return `0x${v.toString(16).padStart(8, '0')}`;
  if (t === 'iface_index' && v === 0) return 'missing';
  if (t === 'ct_state' || t === 'ct_status' || t === 'tcp_flag') return symbolOf(t, v) ?? (v === 0 ? '0x0' : flagsText(t, v));
  return symbolOf(t, v) ?? String(v);
}

/** The atom as `nft list ruleset` prints it. */
export function formatAtom(t: NftType, a: NftAtom): string {
  switch (a.t) {
    case 'str':
      return t === 'ifname' || t === 'iface_index' ? `"${a.v}"` : a.v;
    case 'v6':
      return a.text;
    case 'flags':
      return flagsText(t, a.v);
    case 'num':
      if (a.plen !== undefined) return a.plen === 32 ? formatIpv4(a.v) : `${formatIpv4(a.v)}/${a.plen}`;
      if (a.hi !== undefined) return a.hi === a.v ? scalar(t, a.v) : `${scalar(t, a.v)}-${scalar(t, a.hi)}`;
      return scalar(t, a.v);
  }
}

/** the kernel value range an atom stands for (ifname and v6 atoms have none) */
export function atomRange(a: NftAtom): { lo: number; hi: number } | undefined {
  if (a.t !== 'num') return undefined;
  if (a.plen !== undefined) {
    const size = a.plen === 0 ? 0x100000000 : 2 ** (32 - a.plen);
    return { lo: a.v, hi: a.v + size - 1 };
  }
  return { lo: a.v, hi: a.hi ?? a.v };
}

/** Does a value of the packet match the atom (equality, range, prefix, wildcard name)? */
export function atomHas(a: NftAtom, v: number | string | undefined): boolean {
  if (v === undefined) return false;
  switch (a.t) {
    case 'str':
      if (typeof v !== 'string') return false;
      return a.v.endsWith('*') ? v.startsWith(a.v.slice(0, -1)) : v === a.v;
    case 'v6':
      return false;
    case 'flags':
      return typeof v === 'number' && (v & a.v) !== 0;
    case 'num': {
      // atomRange without the object: this runs per packet
      if (typeof v !== 'number') return false;
      const hi = a.plen !== undefined ? a.v + (a.plen === 0 ? 0x100000000 : 2 ** (32 - a.plen)) - 1 : (a.hi ?? a.v);
      return v >= a.v && v <= hi;
    }
  }
}

/** a duration as nft prints it: 10800s -> 3h, 90s -> 1m30s */
export function formatDuration(sec: number): string {
  let s = sec;
  const d = Math.floor(s / 86400);
  s -= d * 86400;
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  let out = '';
  if (d) out += `${d}d`;
  if (h) out += `${h}h`;
  if (m) out += `${m}m`;
  if (s || out === '') out += `${s}s`;
  return out;
}

export function parseDuration(text: string): number | undefined {
  const m = /^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$/.exec(text);
  if (!m || text === '') return undefined;
  if (/^\d+$/.test(text)) return Number(text);
  return Number(m[1] ?? 0) * 86400 + Number(m[2] ?? 0) * 3600 + Number(m[3] ?? 0) * 60 + Number(m[4] ?? 0);
}
