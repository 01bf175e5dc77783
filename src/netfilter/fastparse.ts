/**
 * A direct parser for `-A` lines already in iptables-save's canonical spelling: the shapes
 * kube-proxy and Docker dumps consist of (`-s -d -i -o -p`, then `-m tcp|udp|sctp|icmp|multiport|
 * conntrack|state|mark|connmark|addrtype|comment|statistic`, then `-j`/`-g` with the options of
 * ACCEPT DROP RETURN NOTRACK REJECT SNAT DNAT MASQUERADE REDIRECT MARK CONNMARK CT or a chain).
 *
 * It builds the same NfRule the full parser (parse.ts) builds for the line, with the line's own
 * rule part as `text`, and reads every word strictly: a word spelled in any way formatRule would
 * not print it (leading zeros, host bits, a default value written out, options out of order,
 * doubled spaces, tabs, counters ...), or a shape it does not know, or anything the full parser
 * would refuse, makes it decline (return undefined), and the caller hands the line to the full
 * parser. It never throws and never reports an error: errors come from the full parser only.
 *
 * Because every word is checked to be exactly what formatRule prints for the value read, the
 * text needs no formatRule call. test/netfilter/fastparse.test.ts checks, for every `-A` line of
 * the fixtures, generated dumps and generated canonical lines, that the result deep-equals the
 * full parser's.
 */
import type { Origin } from '../model/origin.js';
import { ADDR_TYPES, CT_STATES, CT_STATUSES, formatProbability } from './format.js';
import { TARGET_NAMES, protoByName, protoName } from './names.js';
import type { AddrType, CtState, CtStatus, NatRange, NfMatch, NfRule, NfTableName, NfTarget, PortRange, PortSpec, RejectWith } from './types.js';

/**
 * What consecutive lines of one dump share: the chain of the previous line (dumps list a chain's
 * rules together), the last jump target (KUBE-MARK-MASQ), and the last comment as spelled with its
 * match (kube-proxy repeats a comment on consecutive rules). Reused values are the same string or
 * object, not new copies; matches are never mutated.
 */
export class Interner {
  lastChain = '';
  lastJump = '';
  lastCommentText = '';
  lastComment: NfMatch | undefined;
}

// The line being read and the read position (module state: no per-line closures or objects).
let S = '';
let P = 0;
let N = 0;

const SP = 32;

function at(k: number): number {
  return k < N ? S.charCodeAt(k) : -1;
}

/** `lit` at P followed by a space or the end; consumes both */
function word(lit: string): boolean {
  if (!S.startsWith(lit, P)) return false;
  const e = P + lit.length;
  if (e === N) {
    P = e;
    return true;
  }
  if (S.charCodeAt(e) !== SP) return false;
  P = e + 1;
  return true;
}

/** after a value: one space (more follows) or the end */
function sep(): boolean {
  if (P === N) return true;
  if (S.charCodeAt(P) !== SP || P + 1 === N) return false;
  P++;
  return true;
}

/** `! ` at P: consumed, true */
function bang(): boolean {
  if (S.charCodeAt(P) === 33 && at(P + 1) === SP) {
    P += 2;
    return true;
  }
  return false;
}

/** `[! ]LIT` at P: 0, or 1 when inverted, both consumed; -1 (nothing consumed) when not there */
function opt(lit: string): number {
  const save = P;
  const inv = bang();
  if (word(lit)) return inv ? 1 : 0;
  P = save;
  return -1;
}

/** decimal without leading zeros, up to `max`; -1 if not exactly that */
function decimal(max: number): number {
  const start = P;
  let v = 0;
  while (P < N) {
    const c = S.charCodeAt(P);
    if (c < 48 || c > 57) break;
    v = v * 10 + (c - 48);
    if (v > max) return -1;
    P++;
  }
  const len = P - start;
  if (len === 0 || (len > 1 && S.charCodeAt(start) === 48)) return -1;
  return v;
}

/** `0x` + lowercase hex without leading zeros, as hex() prints a u32; -1 if not */
function hexU32(): number {
  if (S.charCodeAt(P) !== 48 || at(P + 1) !== 120) return -1;
  P += 2;
  const start = P;
  let v = 0;
  while (P < N) {
    const c = S.charCodeAt(P);
    let d: number;
    if (c >= 48 && c <= 57) d = c - 48;
    else if (c >= 97 && c <= 102) d = c - 87;
    else break;
    v = v * 16 + d;
    P++;
  }
  const len = P - start;
  if (len === 0 || len > 8 || (len > 1 && S.charCodeAt(start) === 48)) return -1;
  return v;
}

/** dotted quad as formatIpv4 prints it; -1 if not */
function ipv4(): number {
  let v = 0;
  for (let k = 0; k < 4; k++) {
    if (k > 0) {
      if (at(P) !== 46) return -1;
      P++;
    }
    const o = decimal(255);
    if (o < 0) return -1;
    v = v * 256 + o;
  }
  return v;
}

function maskOf(len: number): number {
  return len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
}

/** `A.B.C.D/L` with host bits clear and L >= 1 (what -s/-d print) */
function prefix(): { addr: number; len: number } | undefined {
  const addr = ipv4();
  if (addr < 0 || at(P) !== 47) return undefined;
  P++;
  const len = decimal(32);
  if (len < 1 || (addr & maskOf(len)) >>> 0 !== addr) return undefined;
  return { addr, len };
}

/** characters of names printed raw (interfaces, chains): letters, digits, `_ - . + @ :` */
function nameChar(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 95 || c === 45 || c === 46 || c === 43 || c === 64 || c === 58;
}

/** end of a raw name at P (not starting with `-`), or -1 */
function nameEnd(): number {
  let k = P;
  if (k >= N || S.charCodeAt(k) === 45) return -1;
  while (k < N && nameChar(S.charCodeAt(k))) k++;
  if (k === P || (k < N && S.charCodeAt(k) !== SP)) return -1;
  return k;
}

function ifName(): string | undefined {
  const e = nameEnd();
  if (e < 0 || e - P > 15) return undefined;
  const name = S.slice(P, e);
  P = e;
  return name;
}

/** a port or `a:b` as portSpec prints it (a < b) */
function portRange(sepChar: number): PortRange | undefined {
  const min = decimal(65535);
  if (min < 0) return undefined;
  if (at(P) !== sepChar) return { min, max: min };
  P++;
  const max = decimal(65535);
  if (max <= min) return undefined;
  return { min, max };
}

/** `[! ]--NAME PORTS` of tcp/udp/sctp, as portOpt prints it */
function portSpec(invert: boolean): PortSpec | undefined {
  const r = portRange(58);
  if (r === undefined || (r.min === 0 && r.max === 65535 && !invert) || !sep()) return undefined;
  return { invert, min: r.min, max: r.max };
}

/** a comma list of `all`'s names, each once, in `all`'s order (as `ordered` prints it) */
function nameList<T extends string>(all: readonly T[]): T[] | undefined {
  const out: T[] = [];
  let last = -1;
  for (;;) {
    let hit = -1;
    for (let k = last + 1; k < all.length; k++) {
      const name = all[k]!;
      if (S.startsWith(name, P)) {
        const c = at(P + name.length);
        if (c === 44 || c === SP || c === -1) {
          hit = k;
          break;
        }
      }
    }
    if (hit < 0) return undefined;
    out.push(all[hit]!);
    P += all[hit]!.length;
    last = hit;
    if (at(P) !== 44) break;
    P++;
  }
  return sep() ? out : undefined;
}

/** `--comment` argument as saveString prints it; the value (unescaped), or undefined */
function commentValue(): string | undefined {
  if (P >= N) return undefined;
  if (S.charCodeAt(P) !== 34) {
    // bare: [A-Za-z0-9_-]+ (not starting with `-`, which the full parser may read otherwise)
    const start = P;
    while (P < N) {
      const c = S.charCodeAt(P);
      if (!((c >= 65 && c <= 90) || (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 95 || c === 45)) break;
      P++;
    }
    if (P === start || S.charCodeAt(start) === 45) return undefined;
    const v = S.slice(start, P);
    return sep() ? v : undefined;
  }
  // quoted: printable ASCII, `"` `\` `'` escaped by a backslash, and not all bare characters
  const start = ++P;
  let v = '';
  let from = P;
  let plain = true;
  for (;;) {
    if (P >= N) return undefined;
    const c = S.charCodeAt(P);
    if (c === 34) break;
    if (c < 32 || c > 126 || c === 39) return undefined;
    if (c === 92) {
      const e = at(P + 1);
      if (e !== 34 && e !== 92 && e !== 39) return undefined;
      v += S.slice(from, P);
      from = P + 1;
      P += 2;
      plain = false;
      continue;
    }
    if (!((c >= 65 && c <= 90) || (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 95 || c === 45)) plain = false;
    P++;
  }
  // an empty or all-bare value would be printed bare; one starting with `-` is left to the full parser
  if (plain || P === start || S.charCodeAt(start) === 45) return undefined;
  const raw = S.slice(start, P);
  v = from === start ? raw : v + S.slice(from, P);
  P++; // closing quote
  if (v.length > 255 || v === '!' || !sep()) return undefined;
  return v;
}

/** the probability word as formatProbability prints it, as the u32 the kernel keeps; -1 if not */
function probability(): number {
  const start = P;
  while (P < N && S.charCodeAt(P) !== SP) P++;
  const text = S.slice(start, P);
  if (text.length !== 13 || text.charCodeAt(1) !== 46) return -1;
  const p = Number(text);
  if (!(p >= 0 && p <= 1)) return -1;
  const u32 = Math.round(0x80000000 * p);
  return formatProbability(u32) === text && sep() ? u32 : -1;
}

const STATE_STATES = CT_STATES.slice(0, 5);
const PORT_PROTOS = new Set([6, 17, 33, 132, 136]);
const PORT_MATCH_PROTO: Readonly<Record<string, number>> = { tcp: 6, udp: 17, sctp: 132 };

/** `-m NAME ...` after `-m `; undefined to decline */
function match(proto: number, protoInvert: boolean, intern: Interner): NfMatch | undefined {
  if (word('comment')) {
    if (!word('--comment')) return undefined;
    const last = intern.lastCommentText;
    if (last !== '' && S.startsWith(last, P) && (P + last.length === N || S.charCodeAt(P + last.length) === SP)) {
      P += last.length;
      return sep() ? intern.lastComment : undefined;
    }
    const start = P;
    const comment = commentValue();
    if (comment === undefined) return undefined;
    const m: NfMatch = { kind: 'comment', comment };
    intern.lastCommentText = S.slice(start, P === N ? N : P - 1);
    intern.lastComment = m;
    return m;
  }
  const kind: 'tcp' | 'udp' | 'sctp' | undefined = word('tcp') ? 'tcp' : word('udp') ? 'udp' : word('sctp') ? 'sctp' : undefined;
  if (kind !== undefined) {
    if (proto !== PORT_MATCH_PROTO[kind] || protoInvert) return undefined;
    let sport: PortSpec | undefined;
    let dport: PortSpec | undefined;
    let k = opt('--sport');
    if (k >= 0) {
      sport = portSpec(k === 1);
      if (sport === undefined) return undefined;
    }
    k = opt('--dport');
    if (k >= 0) {
      dport = portSpec(k === 1);
      if (dport === undefined) return undefined;
    }
    if (sport !== undefined) return (dport !== undefined ? { kind, sport, dport } : { kind, sport }) as NfMatch;
    return (dport !== undefined ? { kind, dport } : { kind }) as NfMatch;
  }
  if (word('conntrack')) {
    let ctstate: { invert: boolean; states: CtState[] } | undefined;
    let ctstatus: { invert: boolean; statuses: CtStatus[] } | undefined;
    let k = opt('--ctstate');
    if (k >= 0) {
      const states = nameList(CT_STATES);
      if (states === undefined) return undefined;
      ctstate = { invert: k === 1, states };
    }
    k = opt('--ctstatus');
    if (k >= 0) {
      if (word('NONE')) ctstatus = { invert: k === 1, statuses: [] };
      else {
        const statuses = nameList(CT_STATUSES);
        if (statuses === undefined) return undefined;
        ctstatus = { invert: k === 1, statuses };
      }
    }
    if (ctstate !== undefined) return ctstatus !== undefined ? { kind: 'conntrack', ctstate, ctstatus } : { kind: 'conntrack', ctstate };
    return ctstatus !== undefined ? { kind: 'conntrack', ctstatus } : undefined;
  }
  if (word('statistic')) {
    if (word('--mode random')) {
      const invert = bang();
      if (!word('--probability')) return undefined;
      const probability_ = probability();
      return probability_ < 0 ? undefined : { kind: 'statistic', mode: 'random', invert, probability: probability_ };
    }
    if (!word('--mode nth')) return undefined;
    const invert = bang();
    if (!word('--every')) return undefined;
    const every = decimal(0xffffffff);
    if (every < 1 || !sep() || !word('--packet')) return undefined;
    const packet = decimal(0xffffffff);
    if (packet < 0 || packet > every - 1 || !sep()) return undefined;
    return { kind: 'statistic', mode: 'nth', invert, every, packet };
  }
  const markKind: 'mark' | 'connmark' | undefined = word('mark') ? 'mark' : word('connmark') ? 'connmark' : undefined;
  if (markKind !== undefined) {
    const invert = bang();
    if (!word('--mark')) return undefined;
    const value = hexU32();
    if (value < 0) return undefined;
    let mask = 0xffffffff;
    if (at(P) === 47) {
      P++;
      mask = hexU32();
      if (mask < 0 || mask === 0xffffffff) return undefined;
    }
    return sep() ? { kind: markKind, invert, value, mask } : undefined;
  }
  if (word('addrtype')) {
    let srcType: { invert: boolean; types: AddrType[] } | undefined;
    let dstType: { invert: boolean; types: AddrType[] } | undefined;
    let k = opt('--src-type');
    if (k >= 0) {
      const types = nameList(ADDR_TYPES);
      if (types === undefined) return undefined;
      srcType = { invert: k === 1, types };
    }
    k = opt('--dst-type');
    if (k >= 0) {
      const types = nameList(ADDR_TYPES);
      if (types === undefined) return undefined;
      dstType = { invert: k === 1, types };
    }
    const limitIface = word('--limit-iface-in') ? 'in' : word('--limit-iface-out') ? 'out' : undefined;
    if (srcType === undefined && dstType === undefined) return undefined;
    const m: { kind: 'addrtype'; srcType?: typeof srcType; dstType?: typeof dstType; limitIface?: 'in' | 'out' } = { kind: 'addrtype' };
    if (srcType !== undefined) m.srcType = srcType;
    if (dstType !== undefined) m.dstType = dstType;
    if (limitIface !== undefined) m.limitIface = limitIface;
    return m as NfMatch;
  }
  if (word('state')) {
    const invert = bang();
    if (!word('--state')) return undefined;
    const states = nameList(STATE_STATES);
    return states === undefined ? undefined : { kind: 'state', invert, states };
  }
  if (word('multiport')) {
    if (proto === 0 || protoInvert || !PORT_PROTOS.has(proto)) return undefined;
    const invert = bang();
    const dir = word('--dports') ? 'destination' : word('--sports') ? 'source' : word('--ports') ? 'either' : undefined;
    if (dir === undefined) return undefined;
    const ports: PortRange[] = [];
    let slots = 0;
    for (;;) {
      const r = portRange(58);
      if (r === undefined) return undefined;
      ports.push(r);
      slots += r.min === r.max ? 1 : 2;
      if (at(P) !== 44) break;
      P++;
    }
    if (slots > 15 || !sep()) return undefined;
    return { kind: 'multiport', invert, dir, ports };
  }
  if (word('icmp')) {
    if (proto !== 1 || protoInvert) return undefined;
    const invert = bang();
    if (!word('--icmp-type')) return undefined;
    if (word('any')) return { kind: 'icmp', invert, type: 255, codeMin: 0, codeMax: 255 };
    const type = decimal(254);
    if (type < 0) return undefined;
    if (at(P) !== 47) return sep() ? { kind: 'icmp', invert, type, codeMin: 0, codeMax: 255 } : undefined;
    P++;
    const code = decimal(255);
    // `T/0` with code range 0..255 cannot come out of the full parser: /C is always one code
    if (code < 0 || !sep()) return undefined;
    return { kind: 'icmp', invert, type, codeMin: code, codeMax: code };
  }
  return undefined;
}

/** `-p` matches, one object per protocol and invert flag, shared by every rule (matches are never mutated) */
const PROTOCOL_MATCHES: (NfMatch | undefined)[] = [];
function protocolMatch(proto: number, invert: boolean): NfMatch {
  const k = proto * 2 + (invert ? 1 : 0);
  let m = PROTOCOL_MATCHES[k];
  if (m === undefined) PROTOCOL_MATCHES[k] = m = { kind: 'protocol', invert, proto };
  return m;
}

const ACCEPT: NfTarget = { kind: 'ACCEPT' };
const DROP: NfTarget = { kind: 'DROP' };
const RETURN: NfTarget = { kind: 'RETURN' };
const NOTRACK: NfTarget = { kind: 'NOTRACK' };

const REJECT_WITH: readonly RejectWith[] = [
  'icmp-net-unreachable',
  'icmp-host-unreachable',
  'icmp-port-unreachable',
  'icmp-proto-unreachable',
  'icmp-net-prohibited',
  'icmp-host-prohibited',
  'icmp-admin-prohibited',
  'tcp-reset',
];

/** `A[-B][:p[-q]]` as natRange prints it */
function natRange(portsOk: boolean): NatRange | undefined {
  let addr: { min: number; max: number } | undefined;
  if (at(P) !== 58) {
    const min = ipv4();
    if (min < 0) return undefined;
    let max = min;
    if (at(P) === 45) {
      P++;
      max = ipv4();
      if (max < 0 || max === min) return undefined;
    }
    addr = { min, max };
  }
  let ports: PortRange | undefined;
  if (at(P) === 58) {
    P++;
    if (!portsOk) return undefined;
    ports = portRange(45);
    if (ports === undefined) return undefined;
  }
  if (!sep()) return undefined;
  if (addr !== undefined) return ports !== undefined ? { addr, ports } : { addr };
  return ports !== undefined ? { ports } : undefined;
}

/** `--to-ports p[-q]` of MASQUERADE/REDIRECT, if there */
function toPorts(portsOk: boolean): PortRange | undefined | null {
  if (!word('--to-ports')) return undefined;
  if (!portsOk) return null;
  const r = portRange(45);
  return r !== undefined && sep() ? r : null;
}

/** `-j NAME ...` after `-j `; undefined to decline */
function target(table: NfTableName, proto: number, protoInvert: boolean, intern: Interner): NfTarget | undefined {
  const last = intern.lastJump;
  if (last !== '' && S.startsWith(last, P) && P + last.length === N) {
    P = N;
    return { kind: 'jump', chain: last };
  }
  const e = nameEnd();
  if (e < 0) return undefined;
  const name = S.slice(P, e);
  P = e;
  if (!sep()) return undefined;
  // a port in a NAT range needs a port protocol (needPortProto)
  const portsOk = !protoInvert && proto !== 136 && PORT_PROTOS.has(proto);
  switch (name) {
    case 'ACCEPT':
      return ACCEPT;
    case 'DROP':
      return table === 'nat' ? undefined : DROP;
    case 'RETURN':
      return RETURN;
    case 'NOTRACK':
      return NOTRACK;
    case 'REJECT': {
      if (!word('--reject-with')) return undefined;
      for (const w of REJECT_WITH) if (word(w)) return { kind: 'REJECT', with: w };
      return undefined;
    }
    case 'DNAT':
    case 'SNAT': {
      if (!word(name === 'DNAT' ? '--to-destination' : '--to-source')) return undefined;
      const range = natRange(portsOk);
      if (range === undefined) return undefined;
      const random = word('--random');
      if (name === 'SNAT') {
        const randomFully = word('--random-fully');
        const persistent = word('--persistent');
        return { kind: 'SNAT', range, random, randomFully, persistent };
      }
      const persistent = word('--persistent');
      return { kind: 'DNAT', range, random, persistent };
    }
    case 'MASQUERADE':
    case 'REDIRECT': {
      const ports = toPorts(portsOk);
      if (ports === null) return undefined;
      const random = word('--random');
      if (name === 'MASQUERADE') {
        const randomFully = word('--random-fully');
        return ports !== undefined ? { kind: 'MASQUERADE', ports, random, randomFully } : { kind: 'MASQUERADE', random, randomFully };
      }
      return ports !== undefined ? { kind: 'REDIRECT', ports, random } : { kind: 'REDIRECT', random };
    }
    case 'MARK':
    case 'CONNMARK': {
      if (word('--set-xmark')) {
        const value = hexU32();
        if (value < 0 || at(P) !== 47) return undefined;
        P++;
        const mask = hexU32();
        if (mask < 0 || !sep()) return undefined;
        return name === 'MARK' ? { kind: 'MARK', value, mask } : { kind: 'CONNMARK', mode: 'set', value, mask };
      }
      if (name === 'MARK') return undefined;
      const mode = word('--save-mark') ? 'save' : word('--restore-mark') ? 'restore' : undefined;
      if (mode === undefined || !word('--nfmask')) return undefined;
      const nfmask = hexU32();
      if (nfmask < 0 || !sep() || !word('--ctmask')) return undefined;
      const ctmask = hexU32();
      if (ctmask < 0 || !sep()) return undefined;
      return { kind: 'CONNMARK', mode, nfmask, ctmask };
    }
    case 'CT':
      return { kind: 'CT', notrack: word('--notrack') };
    default:
      if (TARGET_NAMES.has(name)) return undefined;
      if (P === N) intern.lastJump = name;
      return { kind: 'jump', chain: name };
  }
}

/**
 * `line` (trimmed, no counters) read as a canonical `-A CHAIN RULE` line of `table`; undefined
 * when it is not one (the full parser then reads it). Never throws on any input.
 */
export function parseCanonicalRule(table: NfTableName, line: string, origin: Origin, intern: Interner): { chain: string; rule: NfRule } | undefined {
  if (!line.startsWith('-A ')) return undefined;
  S = line;
  N = line.length;
  P = 3;
  // the chain: the previous line's (no new string), or a name read here
  let chain: string;
  const last = intern.lastChain;
  if (last !== '' && line.startsWith(last, 3) && (N === 3 + last.length || line.charCodeAt(3 + last.length) === SP)) {
    chain = last;
    P = 3 + last.length;
  } else {
    const e = nameEnd();
    if (e < 0) return undefined;
    chain = line.slice(3, e);
    P = e;
  }
  const textStart = P === N ? N : P + 1;
  if (!sep()) return undefined;

  const matches: NfMatch[] = [];
  // base matches, in formatRule's order
  let save = P;
  let inv = bang();
  if (word('-s')) {
    const p = prefix();
    if (p === undefined || !sep()) return undefined;
    matches.push({ kind: 'source', invert: inv, prefix: p });
    save = P;
    inv = bang();
  }
  if (word('-d')) {
    const p = prefix();
    if (p === undefined || !sep()) return undefined;
    matches.push({ kind: 'destination', invert: inv, prefix: p });
    save = P;
    inv = bang();
  }
  if (word('-i')) {
    if (chain === 'POSTROUTING' || chain === 'OUTPUT') return undefined;
    const name = ifName();
    if (name === undefined || (name === '+' && !inv) || !sep()) return undefined;
    matches.push({ kind: 'in-interface', invert: inv, name });
    save = P;
    inv = bang();
  }
  if (word('-o')) {
    if (chain === 'PREROUTING' || chain === 'INPUT') return undefined;
    const name = ifName();
    if (name === undefined || (name === '+' && !inv) || !sep()) return undefined;
    matches.push({ kind: 'out-interface', invert: inv, name });
    save = P;
    inv = bang();
  }
  let proto = 0;
  let protoInvert = false;
  if (word('-p')) {
    const start = P;
    while (P < N && S.charCodeAt(P) !== SP) P++;
    const text = S.slice(start, P);
    const n = protoByName(text);
    if (n === undefined || n === 0 || protoName(n) !== text || !sep()) return undefined;
    proto = n;
    protoInvert = inv;
    matches.push(protocolMatch(n, inv));
  } else {
    P = save;
  }
  while (word('-m')) {
    const m = match(proto, protoInvert, intern);
    if (m === undefined) return undefined;
    matches.push(m);
  }
  let tg: NfTarget | undefined;
  if (word('-j')) {
    tg = target(table, proto, protoInvert, intern);
    if (tg === undefined) return undefined;
  } else if (word('-g')) {
    const e = nameEnd();
    if (e < 0) return undefined;
    const name = S.slice(P, e);
    P = e;
    if (TARGET_NAMES.has(name) || !sep()) return undefined;
    tg = { kind: 'goto', chain: name };
  }
  if (P !== N) return undefined;
  const text = textStart === N ? '' : line.slice(textStart);
  intern.lastChain = chain;
  const rule: NfRule = tg !== undefined ? { matches, target: tg, text, origin } : { matches, text, origin };
  return { chain, rule };
}
