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
import type { NfMatch, NfState, NfTarget } from '../netfilter/types.js';
import type { NftAtom, NftElement, NftRhs, NftState, NftStmt } from '../nft/types.js';
import { networkOf, broadcastOf } from '../wire/ipv4.js';
import type { World } from '../world/types.js';
import { CutSet } from './space.js';

export interface Cuts {
  readonly addr: CutSet;
  readonly port: CutSet;
  /** what makes the partition a sample rather than exact: each one a sentence, deduplicated */
  readonly labels: Set<string>;
}

export function emptyCuts(): Cuts {
  const c: Cuts = { addr: new CutSet(), port: new CutSet(), labels: new Set() };
  specialAddresses(c.addr);
  return c;
}

/**
 * Addresses the kernel treats apart whatever the model says: 0.0.0.0/8, loopback, multicast,
 * class E and the limited broadcast (martian checks, ip_route_input_slow).
 */
function specialAddresses(a: CutSet): void {
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
export function nfCuts(nf: NfState, into: Cuts, ipsets?: Ipsets): Cuts {
  for (const table of Object.values(nf))
    for (const chain of Object.values(table.chains))
      for (const rule of chain.rules) {
        for (const m of rule.matches) matchCuts(m, into, ipsets);
        if (rule.target) targetCuts(rule.target, into);
      }
  return into;
}

function matchCuts(m: NfMatch, c: Cuts, ipsets: Ipsets | undefined): void {
  switch (m.kind) {
    case 'source':
    case 'destination':
      return c.addr.prefix(m.prefix);
    case 'tcp':
    case 'udp':
    case 'sctp':
      if (m.sport) c.port.range(m.sport.min, m.sport.max);
      if (m.dport) c.port.range(m.dport.min, m.dport.max);
      return;
    case 'multiport':
      for (const r of m.ports) c.port.range(r.min, r.max);
      return;
    case 'iprange':
      for (const r of [m.srcRange, m.dstRange]) if (r) c.addr.range(r.from, r.to);
      return;
    case 'conntrack':
      for (const a of [m.ctorigsrc, m.ctorigdst]) if (a) c.addr.prefix({ addr: a.addr, len: a.len });
      return;
    case 'set': {
      const set = ipsets?.get(m.name);
      if (!set) return; // a missing set is refused before a walk starts (and matches nothing in one)
      for (const e of set.entries)
        for (const d of e.dims) {
          if (d.kind === 'ip') c.addr.range(d.min, d.max);
          else if (d.kind === 'port') c.port.range(d.min, d.max);
          else for (const inner of [ipsets?.get(d.name)].filter((x) => x !== undefined)) matchCuts({ ...m, name: inner.name }, c, ipsets);
        }
      return;
    }
    case 'recent':
      c.labels.add(`-m recent --name ${m.name}: the list is runtime state; taken as the engine takes it (empty before the flow)`);
      return;
    case 'statistic':
      c.labels.add('-m statistic: each branch is followed and reported with its probability');
      return;
    case 'limit':
      c.labels.add('-m limit: one new connection never exceeds a rate; taken as matching');
      return;
    // compared against interfaces, marks, conntrack state, route types, ICMP types, flags:
    // none of them a value of the flow's own addresses or ports (route types follow the
    // routes, whose prefixes are cut above)
    case 'in-interface':
    case 'out-interface':
    case 'protocol':
    case 'fragment':
    case 'icmp':
    case 'state':
    case 'mark':
    case 'connmark':
    case 'addrtype':
    case 'comment':
    case 'physdev':
      return;
    default:
      return assertNever(m, 'match kind');
  }
}

function targetCuts(t: NfTarget, c: Cuts): void {
  switch (t.kind) {
    case 'DNAT':
    case 'SNAT':
      if (t.range.addr) {
        c.addr.range(t.range.addr.min, t.range.addr.max);
        if (t.range.addr.min !== t.range.addr.max) c.labels.add(`${t.kind} to an address range: the kernel picks one per connection; the engine's pick is the one shown`);
      }
      if (t.range.ports) c.port.range(t.range.ports.min, t.range.ports.max);
      return;
    case 'MASQUERADE':
    case 'REDIRECT':
      if (t.ports) c.port.range(t.ports.min, t.ports.max);
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
    case 'match':
      for (const e of s.left) if (e.sel.k === 'numgen') c.labels.add('numgen: each value is followed and reported with its probability');
      return rhsCuts(s.rhs, c);
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
