/**
 * A rule back to text, exactly as `iptables-save` (v1.8.9, nf_tables backend) prints it.
 *
 * Order: `-s -d -i -o -p -f`, then every `-m` match in the order it was loaded (an implicit
 * `-m tcp` sits where its first option appeared), then `-j`/`-g` with the target's options.
 * Each extension prints its options in its own fixed order, not in the order given; the
 * expectations are recorded in test/netfilter/fixtures/save-forms.txt.
 */
import { assertNever } from '../model/errors.js';
import { formatIpv4, type Prefix } from '../wire/ipv4.js';
import type { AddrType, CtAddr, CtState, CtStatus, NatRange, NfMatch, NfTarget, PortRange, PortSpec, TcpFlag } from './types.js';
import { protoName } from './names.js';

/** libxtables xtables_save_string: bare when only [A-Za-z0-9_-], else "..." with \ before " \ '. */
export function saveString(value: string): string {
  if (/^[A-Za-z0-9_-]+$/.test(value)) return value;
  return `"${value.replace(/["\\']/g, (c) => `\\${c}`)}"`;
}

const not = (invert: boolean): string => (invert ? '! ' : '');

function hex(n: number): string {
  return `0x${(n >>> 0).toString(16)}`;
}

function prefixText(p: Prefix): string {
  return `${formatIpv4(p.addr)}/${p.len}`;
}

function portSpec(p: PortRange): string {
  return p.min === p.max ? `${p.min}` : `${p.min}:${p.max}`;
}

/** tcp/udp print nothing for the full range 0:65535 */
function portOpt(name: string, p: PortSpec | undefined): string[] {
  if (p === undefined || (p.min === 0 && p.max === 65535 && !p.invert)) return [];
  return [`${not(p.invert)}--${name} ${portSpec(p)}`];
}

export const TCP_FLAGS: readonly TcpFlag[] = ['FIN', 'SYN', 'RST', 'PSH', 'ACK', 'URG'];
function flagList(flags: readonly TcpFlag[]): string {
  if (flags.length === 0) return 'NONE';
  return TCP_FLAGS.filter((f) => flags.includes(f)).join(',');
}

export const CT_STATES: readonly CtState[] = ['INVALID', 'NEW', 'RELATED', 'ESTABLISHED', 'UNTRACKED', 'SNAT', 'DNAT'];
export const CT_STATUSES: readonly CtStatus[] = ['EXPECTED', 'SEEN_REPLY', 'ASSURED', 'CONFIRMED'];
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

function ordered<T>(all: readonly T[], some: readonly T[]): string {
  return all.filter((x) => some.includes(x)).join(',');
}

function ctAddr(name: string, a: CtAddr | undefined): string[] {
  if (a === undefined) return [];
  return [`${not(a.invert)}--${name} ${formatIpv4(a.addr)}${a.len === 32 ? '' : `/${a.len}`}`];
}

/** libxt_limit print_rate: the largest unit in which the rate is still a whole-ish number. */
const LIMIT_RATES: readonly { name: string; mult: number }[] = [
  { name: 'day', mult: 10000 * 24 * 60 * 60 },
  { name: 'hour', mult: 10000 * 60 * 60 },
  { name: 'min', mult: 10000 * 60 },
  { name: 'sec', mult: 10000 },
];
export function formatRate(avg: number): string {
  let i = 1;
  for (; i < LIMIT_RATES.length; i++) {
    const r = LIMIT_RATES[i]!;
    if (avg > r.mult || Math.floor(r.mult / avg) < r.mult % avg) break;
  }
  const r = LIMIT_RATES[i - 1]!;
  return `${Math.floor(r.mult / avg)}/${r.name}`;
}

/** printf("%.11f", u32 / 2^31) with glibc's exact round-half-even. */
const probabilityText = new Map<number, string>();
export function formatProbability(u32: number): string {
  let t = probabilityText.get(u32);
  if (t === undefined) {
    t = probabilityExact(u32);
    if (probabilityText.size < 4096) probabilityText.set(u32, t);
  }
  return t;
}
function probabilityExact(u32: number): string {
  const den = 1n << 31n;
  const n = BigInt(u32) * 10n ** 11n;
  let q = n / den;
  const r = n % den;
  if (2n * r > den || (2n * r === den && q % 2n === 1n)) q += 1n;
  const whole = q / 10n ** 11n;
  const frac = (q % 10n ** 11n).toString().padStart(11, '0');
  return `${whole}.${frac}`;
}

function matchText(m: NfMatch): string[] {
  switch (m.kind) {
    case 'source':
      return [`${not(m.invert)}-s ${prefixText(m.prefix)}`];
    case 'destination':
      return [`${not(m.invert)}-d ${prefixText(m.prefix)}`];
    case 'in-interface':
      return [`${not(m.invert)}-i ${m.name}`];
    case 'out-interface':
      return [`${not(m.invert)}-o ${m.name}`];
    case 'protocol':
      return [`${not(m.invert)}-p ${protoName(m.proto)}`];
    case 'fragment':
      return [`${not(m.invert)}-f`];
    case 'tcp': {
      const out = ['-m tcp', ...portOpt('sport', m.sport), ...portOpt('dport', m.dport)];
      if (m.flags) out.push(`${not(m.flags.invert)}--tcp-flags ${flagList(m.flags.mask)} ${flagList(m.flags.comp)}`);
      return out;
    }
    case 'udp':
    case 'sctp':
      return [`-m ${m.kind}`, ...portOpt('sport', m.sport), ...portOpt('dport', m.dport)];
    case 'icmp': {
      if (m.type === 255) return [`-m icmp ${not(m.invert)}--icmp-type any`];
      const code = m.codeMin === 0 && m.codeMax === 255 ? '' : `/${m.codeMin}`;
      return [`-m icmp ${not(m.invert)}--icmp-type ${m.type}${code}`];
    }
    case 'multiport': {
      const opt = m.dir === 'source' ? 'sports' : m.dir === 'destination' ? 'dports' : 'ports';
      return [`-m multiport ${not(m.invert)}--${opt} ${m.ports.map(portSpec).join(',')}`];
    }
    case 'conntrack': {
      const out = ['-m conntrack'];
      if (m.ctstate) out.push(`${not(m.ctstate.invert)}--ctstate ${ordered(CT_STATES, m.ctstate.states)}`);
      out.push(...ctAddr('ctorigsrc', m.ctorigsrc), ...ctAddr('ctorigdst', m.ctorigdst));
      if (m.ctstatus) {
        const list = m.ctstatus.statuses.length === 0 ? 'NONE' : ordered(CT_STATUSES, m.ctstatus.statuses);
        out.push(`${not(m.ctstatus.invert)}--ctstatus ${list}`);
      }
      return out;
    }
    case 'state':
      return [`-m state ${not(m.invert)}--state ${ordered(CT_STATES, m.states)}`];
    case 'mark':
    case 'connmark':
      return [`-m ${m.kind} ${not(m.invert)}--mark ${hex(m.value)}${m.mask === 0xffffffff ? '' : `/${hex(m.mask)}`}`];
    case 'addrtype': {
      const out = ['-m addrtype'];
      if (m.srcType) out.push(`${not(m.srcType.invert)}--src-type ${ordered(ADDR_TYPES, m.srcType.types)}`);
      if (m.dstType) out.push(`${not(m.dstType.invert)}--dst-type ${ordered(ADDR_TYPES, m.dstType.types)}`);
      if (m.limitIface === 'in') out.push('--limit-iface-in');
      if (m.limitIface === 'out') out.push('--limit-iface-out');
      return out;
    }
    case 'iprange': {
      const out = ['-m iprange'];
      if (m.srcRange) out.push(`${not(m.srcRange.invert)}--src-range ${formatIpv4(m.srcRange.from)}-${formatIpv4(m.srcRange.to)}`);
      if (m.dstRange) out.push(`${not(m.dstRange.invert)}--dst-range ${formatIpv4(m.dstRange.from)}-${formatIpv4(m.dstRange.to)}`);
      return out;
    }
    case 'comment':
      return [`-m comment --comment ${saveString(m.comment)}`];
    case 'statistic':
      if (m.mode === 'random') return [`-m statistic --mode random ${not(m.invert)}--probability ${formatProbability(m.probability)}`];
      return [`-m statistic --mode nth ${not(m.invert)}--every ${m.every} --packet ${m.packet}`];
    case 'limit':
      return [`-m limit --limit ${formatRate(m.avg)}${m.burst === 5 ? '' : ` --limit-burst ${m.burst}`}`];
    case 'recent': {
      // libxt_recent recent_save: mode, --seconds, --reap, --hitcount, --rttl, --name, --mask, side
      const out = [`-m recent ${not(m.invert)}--${m.mode}`];
      if (m.seconds > 0) out.push(`--seconds ${m.seconds}`);
      if (m.reap) out.push('--reap');
      if (m.hitcount > 0) out.push(`--hitcount ${m.hitcount}`);
      if (m.rttl) out.push('--rttl');
      out.push(`--name ${m.name}`, `--mask ${formatIpv4(m.mask)}`, m.side === 'source' ? '--rsource' : '--rdest');
      return out;
    }
    case 'set':
      return [`-m set ${not(m.invert)}--match-set ${m.name} ${m.dirs.join(',')}${m.returnNomatch ? ' --return-nomatch' : ''}`];
    case 'physdev': {
      const out = ['-m physdev'];
      if (m.isIn) out.push(`${not(m.isIn.invert)}--physdev-is-in`);
      if (m.physdevIn) out.push(`${not(m.physdevIn.invert)}--physdev-in ${m.physdevIn.name}`);
      if (m.isOut) out.push(`${not(m.isOut.invert)}--physdev-is-out`);
      if (m.physdevOut) out.push(`${not(m.physdevOut.invert)}--physdev-out ${m.physdevOut.name}`);
      if (m.isBridged) out.push(`${not(m.isBridged.invert)}--physdev-is-bridged`);
      return out;
    }
    default:
      return assertNever(m, 'match');
  }
}

function natRange(r: NatRange): string {
  let s = '';
  if (r.addr) s += r.addr.min === r.addr.max ? formatIpv4(r.addr.min) : `${formatIpv4(r.addr.min)}-${formatIpv4(r.addr.max)}`;
  if (r.ports) s += r.ports.min === r.ports.max ? `:${r.ports.min}` : `:${r.ports.min}-${r.ports.max}`;
  return s;
}

function toPorts(p: PortRange | undefined): string[] {
  if (p === undefined) return [];
  return [`--to-ports ${p.min === p.max ? p.min : `${p.min}-${p.max}`}`];
}

export const LOG_FLAGS = ['tcp-sequence', 'tcp-options', 'ip-options', 'uid', 'macdecode'] as const;

function targetText(t: NfTarget): string[] {
  switch (t.kind) {
    case 'ACCEPT':
    case 'DROP':
    case 'RETURN':
    case 'NOTRACK':
      return [`-j ${t.kind}`];
    case 'REJECT':
      return [`-j REJECT --reject-with ${t.with}`];
    case 'LOG': {
      const out = ['-j LOG'];
      if (t.prefix !== undefined) out.push(`--log-prefix ${saveString(t.prefix)}`);
      if (t.level !== 4) out.push(`--log-level ${t.level}`);
      for (const f of LOG_FLAGS) if (t.flags.includes(f)) out.push(`--log-${f}`);
      return out;
    }
    case 'SNAT': {
      const out = [`-j SNAT --to-source ${natRange(t.range)}`];
      if (t.random) out.push('--random');
      if (t.randomFully) out.push('--random-fully');
      if (t.persistent) out.push('--persistent');
      return out;
    }
    case 'DNAT': {
      const out = [`-j DNAT --to-destination ${natRange(t.range)}`];
      if (t.random) out.push('--random');
      if (t.persistent) out.push('--persistent');
      return out;
    }
    case 'MASQUERADE': {
      const out = ['-j MASQUERADE', ...toPorts(t.ports)];
      if (t.random) out.push('--random');
      if (t.randomFully) out.push('--random-fully');
      return out;
    }
    case 'REDIRECT': {
      const out = ['-j REDIRECT', ...toPorts(t.ports)];
      if (t.random) out.push('--random');
      return out;
    }
    case 'MARK':
      return [`-j MARK --set-xmark ${hex(t.value)}/${hex(t.mask)}`];
    case 'CONNMARK':
      if (t.mode === 'set') return [`-j CONNMARK --set-xmark ${hex(t.value)}/${hex(t.mask)}`];
      return [`-j CONNMARK --${t.mode}-mark --nfmask ${hex(t.nfmask)} --ctmask ${hex(t.ctmask)}`];
    case 'CT':
      return [t.notrack ? '-j CT --notrack' : '-j CT'];
    case 'jump':
      return [`-j ${t.chain}`];
    case 'goto':
      return [`-g ${t.chain}`];
    default:
      return assertNever(t, 'target');
  }
}

/** The rule as iptables-save prints it after `-A CHAIN `. */
export function formatRule(matches: readonly NfMatch[], target: NfTarget | undefined): string {
  const parts: string[] = [];
  for (const m of matches) for (const part of matchText(m)) parts.push(part);
  if (target) for (const part of targetText(target)) parts.push(part);
  return parts.join(' ');
}
