/**
 * Cut points: every value at which something in the model can tell two packets apart. Two
 * packets whose addresses and ports fall in the same atoms of every dimension take the same
 * decisions everywhere (every route lookup, policy rule, neighbour, socket lookup, netfilter
 * match and NAT mapping compares against these values, or maps a whole atom to one value, or
 * leaves a value unchanged), so one packet per atom decides the atom.
 *
 * Addresses and ports share one rule: a cut is added in BOTH the source and destination
 * dimension (a reply's destination is the request's source; a rule's `--dport 80` also meets a
 * reply whose destination port is the client's source port). Cutting too much costs time, never
 * correctness; cutting too little would be wrong, so every match and target kind is listed in an
 * exhaustive switch: a new extension does not compile until it says what it compares.
 */
import { assertNever } from '../model/errors.js';
import type { Ipsets } from '../netfilter/ipset.js';
import { flagBits } from '../netfilter/eval.js';
import type { NfMatch, NfRule, NfState, NfTarget } from '../netfilter/types.js';
import type { NftAtom, NftElement, NftRhs, NftState, NftStmt } from '../nft/types.js';
import { networkOf, broadcastOf } from '../wire/ipv4.js';
import type { World } from '../world/types.js';
import { CutSet, type Interval } from './space.js';

export interface Cuts {
  readonly addr: CutSet;
  readonly port: CutSet;
  /** what is followed branch by branch or taken as the engine takes it: each one a sentence */
  readonly labels: Set<string>;
}

/**
 * Where a rule's values go, one cut set per packet field. A world shares one set between source
 * and destination (and one between the ports: replies swap them); one host's dump walked for
 * first packets only (matrix.ts) keeps the four apart.
 */
export interface CutSink {
  readonly src: CutSet;
  readonly dst: CutSet;
  readonly sport: CutSet;
  readonly dport: CutSet;
  readonly labels: Set<string>;
  /** addresses `-m addrtype` can tell apart beyond the routes (a dump's --local addresses) */
  readonly addrtype?: readonly Interval[];
  /** input interface names and `NAME+` prefixes compared with the packet's (matrix.ts; absent: not a dimension) */
  readonly iif?: Set<string>;
  /** TCP flag tests `(flags & mask) == comp`, keyed `mask/comp` (matrix.ts; absent: not a dimension) */
  readonly flags?: Map<string, FlagTest>;
}

/** One `--tcp-flags MASK COMP` test (`--syn` is FIN,SYN,RST,ACK SYN), as bits. */
export interface FlagTest {
  readonly mask: number;
  readonly comp: number;
}

export function emptyCuts(): Cuts {
  const c: Cuts = { addr: new CutSet(), port: new CutSet(), labels: new Set() };
  specialAddresses(c.addr);
  return c;
}

function sinkOf(c: Cuts): CutSink {
  return { src: c.addr, dst: c.addr, sport: c.port, dport: c.port, labels: c.labels };
}

/**
 * Addresses the kernel treats apart whatever the model says: 0.0.0.0/8, loopback, multicast,
 * class E and the limited broadcast (martian checks, ip_route_input_slow).
 */
export function specialAddresses(a: CutSet): void {
  for (const [addr, len] of [
    [0x00000000, 8],
    [0x7f000000, 8],
    [0xa9fe0000, 16],
    [0xe0000000, 4],
    [0xf0000000, 4],
  ] as const)
    a.prefix({ addr, len });
  a.value(0);
  a.value(0xffffffff);
}

/** The cuts of a whole world: addresses, routes, rules, neighbours, services, netfilter, nftables. */
export function worldCuts(world: World, into: Cuts = emptyCuts()): Cuts {
  const { addr, port } = into;
  for (const s of world.services) {
    port.value(s.port);
    if (s.addr !== undefined) addr.value(s.addr);
  }
  for (const ns of Object.values(world.netns)) {
    for (const a of ns.addrs) {
      addr.value(a.local);
      const net = networkOf(a.local, a.prefixLen);
      const bcast = broadcastOf(a.local, a.prefixLen);
      addr.prefix({ addr: net, len: a.prefixLen });
      addr.value(net);
      addr.value(bcast);
      if (a.broadcast !== undefined) addr.value(a.broadcast);
    }
    for (const r of ns.routes) {
      addr.prefix(r.dst);
      if (r.via !== undefined) addr.value(r.via);
      if (r.prefsrc !== undefined) addr.value(r.prefsrc);
    }
    for (const r of ns.rules) {
      if (r.from) addr.prefix(r.from);
      if (r.to) addr.prefix(r.to);
    }
    for (const n of ns.neighs) addr.value(n.dst);
    const range = (ns.sysctl['net.ipv4.ip_local_port_range'] ?? '32768\t60999').split(/\s+/).map(Number);
    if (range.length === 2) port.range(range[0]!, range[1]!);
    nfCuts(ns.nf, into);
    if (ns.nft) nftCuts(ns.nft, into);
  }
  return into;
}

/** The cuts of an iptables state (every table, every chain, every rule). */
export function nfCuts(nf: NfState, into: Cuts): Cuts {
  const sink = sinkOf(into);
  for (const table of Object.values(nf))
    for (const chain of Object.values(table.chains))
      for (const rule of chain.rules) ruleCuts(rule, sink);
  return into;
}

/** One rule's values, into the sink. */
export function ruleCuts(rule: NfRule, sink: CutSink, ipsets?: Ipsets): void {
  for (const m of rule.matches) matchCuts(m, sink, ipsets);
  if (rule.target) targetCuts(rule.target, sink);
}

function matchCuts(m: NfMatch, c: CutSink, ipsets: Ipsets | undefined): void {
  switch (m.kind) {
    case 'source':
      return c.src.prefix(m.prefix);
    case 'destination':
      return c.dst.prefix(m.prefix);
    case 'tcp':
      if (m.flags && c.flags) {
        const t = { mask: flagBits(m.flags.mask), comp: flagBits(m.flags.comp) };
        c.flags.set(`${t.mask}/${t.comp}`, t);
      }
      if (m.sport) c.sport.range(m.sport.min, m.sport.max);
      if (m.dport) c.dport.range(m.dport.min, m.dport.max);
      return;
    case 'udp':
    case 'sctp':
      if (m.sport) c.sport.range(m.sport.min, m.sport.max);
      if (m.dport) c.dport.range(m.dport.min, m.dport.max);
      return;
    case 'multiport':
      for (const r of m.ports) {
        if (m.dir !== 'destination') c.sport.range(r.min, r.max);
        if (m.dir !== 'source') c.dport.range(r.min, r.max);
      }
      return;
    case 'iprange':
      if (m.srcRange) c.src.range(m.srcRange.from, m.srcRange.to);
      if (m.dstRange) c.dst.range(m.dstRange.from, m.dstRange.to);
      return;
    case 'conntrack':
      // a first packet's original tuple is the packet's own
      if (m.ctorigsrc) c.src.prefix({ addr: m.ctorigsrc.addr, len: m.ctorigsrc.len });
      if (m.ctorigdst) c.dst.prefix({ addr: m.ctorigdst.addr, len: m.ctorigdst.len });
      return;
    case 'set':
      return setCuts(m.name, m.dirs, c, ipsets, 0);
    case 'addrtype':
      for (const r of c.addrtype ?? []) {
        if (m.srcType) c.src.range(r.lo, r.hi);
        if (m.dstType) c.dst.range(r.lo, r.hi);
      }
      return;
    case 'recent':
      c.labels.add(`-m recent --name ${m.name}: the list is runtime state; taken as the engine takes it (empty before the flow)`);
      return;
    case 'statistic':
      c.labels.add('-m statistic: each branch is followed and reported with its probability');
      return;
    case 'limit':
      c.labels.add('-m limit: one new connection never exceeds a rate; taken as matching');
      return;
    case 'in-interface':
      c.iif?.add(m.name);
      return;
    // compared against the output interface (fixed by --oif), bridge ports (a routed packet has
    // none), marks, conntrack state (NEW or INVALID for a first packet: matrix.ts cuts the flags
    // by what conntrack accepts, always), ICMP types: none of them a value of the flow's own
    // addresses, ports, input interface or flags
    case 'out-interface':
    case 'protocol':
    case 'fragment':
    case 'icmp':
    case 'state':
    case 'mark':
    case 'connmark':
    case 'comment':
    case 'physdev':
      return;
    default:
      return assertNever(m, 'match kind');
  }
}

/** An ipset's elements, each dimension into the field the match's direction names. */
function setCuts(name: string, dirs: readonly ('src' | 'dst')[], c: CutSink, ipsets: Ipsets | undefined, depth: number): void {
  const set = ipsets?.get(name);
  if (!set || depth > 8) return; // a missing set is refused before any walk (and matches nothing in one)
  for (const e of set.entries)
    e.dims.forEach((d, i) => {
      const dir = dirs[i] ?? dirs[dirs.length - 1] ?? 'src';
      if (d.kind === 'ip') (dir === 'src' ? c.src : c.dst).range(d.min, d.max);
      else if (d.kind === 'port') (dir === 'src' ? c.sport : c.dport).range(d.min, d.max);
      else setCuts(d.name, dirs, c, ipsets, depth + 1);
    });
}

function targetCuts(t: NfTarget, c: CutSink): void {
  switch (t.kind) {
    // the translated address is one value (or the engine's pick in a range); a translated port
    // is the packet's own when inside the range, else the range's first (netfilter/nat.ts natPort)
    case 'DNAT':
      if (t.range.addr && t.range.addr.min !== t.range.addr.max) c.labels.add('DNAT to an address range: the kernel picks one per connection; the engine\'s pick is the one shown');
      if (t.range.ports) c.dport.range(t.range.ports.min, t.range.ports.max);
      return;
    case 'SNAT':
      if (t.range.addr && t.range.addr.min !== t.range.addr.max) c.labels.add('SNAT to an address range: the kernel picks one per connection; the engine\'s pick is the one shown');
      if (t.range.ports) c.sport.range(t.range.ports.min, t.range.ports.max);
      return;
    case 'MASQUERADE':
      if (t.ports) c.sport.range(t.ports.min, t.ports.max);
      return;
    case 'REDIRECT':
      if (t.ports) c.dport.range(t.ports.min, t.ports.max);
      return;
    case 'ACCEPT':
    case 'DROP':
    case 'RETURN':
    case 'REJECT':
    case 'LOG':
    case 'MARK':
    case 'CONNMARK':
    case 'NOTRACK':
    case 'CT':
    case 'jump':
    case 'goto':
      return;
    default:
      return assertNever(t, 'target kind');
  }
}

/**
 * nftables: every number an nft rule or set compares with or maps to, in both dimensions (an
 * nft value's type is known per selector, but cutting a port value in the address dimension or
 * the other way round only costs an atom or two).
 */
export function nftCuts(nft: NftState, c: Cuts): Cuts {
  for (const t of nft.tables) {
    for (const s of t.sets) for (const e of s.elements) elementCuts(e, c);
    for (const ch of t.chains) for (const r of ch.rules) for (const s of r.stmts) stmtCuts(s, c);
  }
  return c;
}

function atomCuts(a: NftAtom, c: Cuts): void {
  if (a.t !== 'num') return;
  if (a.plen !== undefined) {
    c.addr.prefix({ addr: a.v >>> 0, len: a.plen });
    return;
  }
  const hi = a.hi ?? a.v;
  c.addr.range(a.v, hi);
  if (a.v <= 65535) c.port.range(a.v, Math.min(hi, 65535));
}

function elementCuts(e: NftElement, c: Cuts): void {
  for (const a of e.key) atomCuts(a, c);
  if (e.data?.kind === 'value') for (const a of e.data.atoms) atomCuts(a, c);
}

function rhsCuts(r: NftRhs, c: Cuts): void {
  if (r.kind === 'value') for (const a of r.atoms) atomCuts(a, c);
  else if (r.kind === 'set') for (const e of r.elements) elementCuts(e, c);
  // 'ref': a named set, cut with the table's sets
}

function stmtCuts(s: NftStmt, c: Cuts): void {
  switch (s.k) {
    case 'match': {
      for (const e of s.left) if (e.sel.k === 'numgen') c.labels.add('numgen: each value is followed and reported with its probability');
      // `ip saddr & 255.255.255.0 == 10.0.0.0`: the value stands for a prefix of the mask's length
      const sel = s.left.length === 1 ? s.left[0]!.sel : undefined;
      const isAddr = sel !== undefined && ((sel.k === 'payload' && sel.proto === 'ip' && (sel.field === 'saddr' || sel.field === 'daddr')) || (sel.k === 'ct' && /addr$/.test(sel.key)));
      const bit = isAddr ? s.left[0]!.bitop : undefined;
      if (bit?.op === '&' && s.rhs.kind === 'value') {
        const len = maskLength(bit.v >>> 0);
        if (len === undefined) c.labels.add(`nft address & ${bit.v >>> 0}: a mask that is not a prefix; the classes around its values are not exact`);
        else for (const a of s.rhs.atoms) if (a.t === 'num') c.addr.prefix({ addr: (a.v & bit.v) >>> 0, len });
      }
      return rhsCuts(s.rhs, c);
    }
    case 'vmap':
      return rhsCuts(s.map, c);
    case 'nat':
      if (s.addr !== undefined) {
        if ('t' in s.addr) atomCuts(s.addr, c);
        else rhsCuts(s.addr.map, c);
      }
      if (s.port) atomCuts(s.port, c);
      return;
    case 'limit':
      c.labels.add('nft limit: one new connection never exceeds a rate; taken as matching');
      return;
    case 'setop':
      c.labels.add(`nft ${s.op} @${s.set}: a set fed at run time, taken as the engine takes it (as loaded before the flow)`);
      return;
    case 'verdict':
    case 'reject':
    case 'counter':
    case 'log':
    case 'set':
    case 'notrack':
    case 'nftrace':
      return;
    default:
      return assertNever(s, 'nft statement');
  }
}

/** The prefix length of a contiguous netmask (255.255.255.0 -> 24), else undefined. */
function maskLength(m: number): number | undefined {
  for (let len = 0; len <= 32; len++) if ((len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0) === m) return len;
  return undefined;
}
