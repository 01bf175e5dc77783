/**
 * Connection tracking and NAT bindings, after net/netfilter/nf_conntrack_core.c and nf_nat_core.c.
 *
 * - A connection has one tuple per direction. The reply tuple starts as the inverse of the
 *   original and NAT rewrites it: DNAT changes its source, SNAT its destination.
 * - ctinfo: the first packet is NEW, and so is every original-direction packet until a reply has
 *   been seen; then ESTABLISHED. Reply-direction packets are ESTABLISHED. ICMP errors quoting a
 *   tracked packet are RELATED. A TCP packet that is not a SYN and has no entry is NEW when it is a
 *   plain ACK (nf_conntrack_tcp_loose=1 picks up mid-stream), otherwise INVALID; an ICMP echo reply
 *   without an entry is INVALID.
 * - NAT is decided once per connection and manip type (SRC, DST), on the first packet.
 * - Packets are rewritten from the tuples: DST manip at PREROUTING and OUTPUT, SRC manip at
 *   POSTROUTING and INPUT; original-direction packets take the NAT'd tuple, replies are mapped back.
 */
import type { Ipv4 } from '../wire/ipv4.js';
import type { IcmpHeader, IpPacket, L4 } from './packet.js';
import { ICMP, isIcmpError, withAddrs } from './packet.js';
import type { NsId } from '../model/link.js';
import type { Sim } from './sim.js';
import type { Skb } from './skb.js';

export interface Tuple {
  readonly proto: 'tcp' | 'udp' | 'icmp';
  readonly src: Ipv4;
  readonly dst: Ipv4;
  /** tcp/udp source port; icmp echo id */
  readonly sport: number;
  /** tcp/udp destination port; icmp echo id */
  readonly dport: number;
}

export interface CtEntry {
  readonly id: number;
  orig: Tuple;
  reply: Tuple;
  seenReply: boolean;
  confirmed: boolean;
  snat: boolean;
  dnat: boolean;
  /** NAT decided for the manip type (a null binding counts) */
  srcDone: boolean;
  dstDone: boolean;
  mark: number;
}

export type CtState = 'NEW' | 'ESTABLISHED' | 'RELATED' | 'INVALID' | 'UNTRACKED';

export interface CtRef {
  readonly entry: CtEntry;
  readonly dir: 'orig' | 'reply';
  readonly state: CtState;
}

/**
 * A tuple's place in the table (the kernel hashes the tuple, nf_conntrack_hash): two exact
 * numbers, the source side (address, port) and the destination side (address, port, protocol),
 * each below 2^53, so no string is built per packet.
 */
function srcKey(t: Tuple): number {
  return t.src * 0x10000 + t.sport;
}

const PROTO_KEY = { tcp: 0, udp: 1, icmp: 2 } as const;

function dstKey(t: Tuple): number {
  return (t.dst * 0x10000 + t.dport) * 4 + PROTO_KEY[t.proto];
}

export function sameTuple(a: Tuple, b: Tuple): boolean {
  return a.src === b.src && a.dst === b.dst && a.sport === b.sport && a.dport === b.dport && a.proto === b.proto;
}

export function invert(t: Tuple): Tuple {
  return { proto: t.proto, src: t.dst, dst: t.src, sport: t.dport, dport: t.sport };
}

/** The tuple of a packet, or undefined for packets conntrack cannot track (ICMP errors aside). */
export function tupleOf(p: IpPacket): Tuple | undefined {
  const l4 = p.l4;
  switch (l4.kind) {
    case 'tcp':
    case 'udp':
      return { proto: l4.kind, src: p.src, dst: p.dst, sport: l4.sport, dport: l4.dport };
    case 'icmp':
      if (l4.type === ICMP.ECHO || l4.type === ICMP.ECHOREPLY) {
        const id = l4.id ?? 0;
        // echo and echo reply share the id; the reply tuple of an echo is the echo reply
        return { proto: 'icmp', src: p.src, dst: p.dst, sport: id, dport: id };
      }
      return undefined;
  }
}

interface CtHit {
  readonly entry: CtEntry;
  readonly dir: 'orig' | 'reply';
}

/** One namespace's conntrack table. Mutable, owned by one simulation run. */
export class Conntrack {
  /** source key -> destination key -> the entry and the direction of that tuple */
  private readonly hash = new Map<number, Map<number, CtHit>>();
  private nextId = 1;
  readonly entries: CtEntry[] = [];

  lookup(t: Tuple): CtHit | undefined {
    return this.hash.get(srcKey(t))?.get(dstKey(t));
  }

  /** Whether some other connection already uses this reply tuple (NAT must pick another). */
  replyTaken(t: Tuple, self: CtEntry): boolean {
    const hit = this.lookup(t);
    return hit !== undefined && hit.entry !== self;
  }

  /** A new, unconfirmed entry; it is only findable once confirmed. */
  create(t: Tuple): CtEntry {
    return { id: this.nextId++, orig: t, reply: invert(t), seenReply: false, confirmed: false, snat: false, dnat: false, srcDone: false, dstDone: false, mark: 0 };
  }

  /** __nf_conntrack_confirm: the entry becomes visible under both tuples. */
  confirm(e: CtEntry): boolean {
    if (e.confirmed) return true;
    if (this.lookup(e.orig) || this.lookup(e.reply)) return false; // a clash: the kernel drops the packet
    e.confirmed = true;
    this.insert(e.orig, { entry: e, dir: 'orig' });
    this.insert(e.reply, { entry: e, dir: 'reply' });
    this.entries.push(e);
    return true;
  }

  private insert(t: Tuple, hit: CtHit): void {
    const k = srcKey(t);
    let bySrc = this.hash.get(k);
    if (!bySrc) this.hash.set(k, (bySrc = new Map()));
    bySrc.set(dstKey(t), hit);
  }
}

/**
 * Classifies a packet against the table (nf_conntrack_in): an existing entry in either direction,
 * or a new unconfirmed one, or INVALID.
 */
export function classify(ct: Conntrack, p: IpPacket, pending: CtEntry | undefined): CtRef | { readonly state: 'INVALID' } {
  const t = tupleOf(p);
  if (!t) return { state: 'INVALID' };
  const hit = ct.lookup(t);
  if (hit) {
    const e = hit.entry;
    if (hit.dir === 'reply') return { entry: e, dir: 'reply', state: 'ESTABLISHED' };
    return { entry: e, dir: 'orig', state: e.seenReply ? 'ESTABLISHED' : 'NEW' };
  }
  if (pending && sameTuple(pending.orig, t)) return { entry: pending, dir: 'orig', state: 'NEW' };
  // what may start a connection
  if (p.l4.kind === 'tcp') {
    const f = p.l4.flags;
    const startsTcp = (f.syn === true && !f.ack && !f.rst && !f.fin) || (f.ack === true && !f.syn && !f.rst && !f.fin);
    if (!startsTcp) return { state: 'INVALID' };
  }
  if (p.l4.kind === 'icmp' && p.l4.type !== ICMP.ECHO) return { state: 'INVALID' };
  return { entry: ct.create(t), dir: 'orig', state: 'NEW' };
}

/** The ICMP error's quoted packet, matched to its connection (icmp_error_message). */
export function classifyRelated(ct: Conntrack, err: IpPacket): { entry: CtEntry; dir: 'orig' | 'reply' } | undefined {
  if (err.l4.kind !== 'icmp' || !err.l4.quoted) return undefined;
  const inner = tupleOf(err.l4.quoted);
  if (!inner) return undefined;
  // the quoted packet travelled the other way: look up its inverse
  const hit = ct.lookup(invert(inner));
  return hit;
}

function withL4Ports(l4: L4, sport: number, dport: number): L4 {
  if (l4.kind === 'icmp') return l4.type === ICMP.ECHO || l4.type === ICMP.ECHOREPLY ? { ...l4, id: l4.type === ICMP.ECHO ? sport : dport } : l4;
  return { ...l4, sport, dport };
}

/**
 * Rewrites a packet for one manip at one hook (nf_nat_packet). `manip` is 'dst' at PREROUTING and
 * OUTPUT, 'src' at POSTROUTING and INPUT. Returns the same object when nothing changes.
 */
export function natPacket(e: CtEntry, dir: 'orig' | 'reply', manip: 'src' | 'dst', p: IpPacket): IpPacket {
  // which NAT status applies: orig packets get their own manip, replies the other one undone
  const applies = dir === 'orig' ? (manip === 'src' ? e.snat : e.dnat) : manip === 'src' ? e.dnat : e.snat;
  if (!applies) return p;
  // the target is the inverse of the other direction's tuple: its destination side for SRC
  // manip, its source side for DST manip
  const other = dir === 'orig' ? e.reply : e.orig;
  const l4 = p.l4;
  if (l4.kind === 'icmp' && l4.quoted) return natIcmpError(other, manip, p, l4, l4.quoted);
  if (manip === 'src') return withAddrs(p, other.dst, p.dst, l4.kind === 'icmp' ? icmpId(l4, other.dport) : withL4Ports(l4, other.dport, l4.dport));
  return withAddrs(p, p.src, other.src, l4.kind === 'icmp' ? icmpId(l4, other.sport) : withL4Ports(l4, l4.sport, other.sport));
}

function icmpId(l4: IcmpHeader, id: number): L4 {
  return { ...l4, id };
}

/**
 * nf_nat_icmp_reply_translation: the quoted packet is set back to how it looked before this
 * host's NAT ("the opposite manip", with the other direction's tuple as it is, not inverted),
 * and the outer header is translated like any packet of this direction.
 */
function natIcmpError(other: Tuple, manip: 'src' | 'dst', p: IpPacket, l4: IcmpHeader, q: IpPacket): IpPacket {
  const quoted =
    manip === 'dst'
      ? withAddrs(q, other.src, q.dst, q.l4.kind === 'icmp' ? icmpId(q.l4, other.sport) : withL4Ports(q.l4, other.sport, q.l4.dport))
      : withAddrs(q, q.src, other.dst, q.l4.kind === 'icmp' ? icmpId(q.l4, other.dport) : withL4Ports(q.l4, q.l4.sport, other.dport));
  const outer = { ...l4, quoted };
  return manip === 'src' ? withAddrs(p, other.dst, p.dst, outer) : withAddrs(p, p.src, other.src, outer);
}

// ---------------------------------------------------------------------------------------------
// the conntrack hooks (nf_conntrack_in, nf_confirm), over a simulation's tables

/** nf_conntrack_in at PREROUTING or OUTPUT. */
export function conntrackIn(sim: Sim, nsId: NsId, skb: Skb): void {
  if (skb.untracked) return;
  // a packet that already carries its connection keeps it: looped back through lo after the
  // entry was confirmed, or an error/RST the stack attached to the connection it answers
  // (nf_ct_attach); nf_conntrack_in returns at once for a skb with a non-template ct
  if (skb.ct && (skb.ct.entry.confirmed || skb.ct.state === 'RELATED' || skb.iif === undefined)) return;
  const ct = sim.conntrack(nsId);
  if (isIcmpError(skb.pkt)) {
    const rel = classifyRelated(ct, skb.pkt);
    if (rel) {
      skb.ct = { entry: rel.entry, dir: rel.dir, state: 'RELATED' };
      sim.step({ kind: 'conntrack', ns: nsId, state: 'RELATED', replyDir: rel.dir === 'reply', orig: rel.entry.orig, packet: skb.pkt, dir: skb.dir });
      return;
    }
    skb.ct = undefined;
    sim.step({ kind: 'conntrack', ns: nsId, state: 'INVALID', replyDir: false, orphanIcmp: true, packet: skb.pkt, dir: skb.dir });
    return;
  }
  const c = classify(ct, skb.pkt, undefined);
  if (!('entry' in c)) {
    skb.ct = undefined;
    sim.step({ kind: 'conntrack', ns: nsId, state: 'INVALID', replyDir: false, packet: skb.pkt, dir: skb.dir });
    return;
  }
  skb.ct = { entry: c.entry, dir: c.dir, state: c.state };
  if (c.dir === 'reply' && !c.entry.seenReply) c.entry.seenReply = true;
  sim.step({ kind: 'conntrack', ns: nsId, state: c.state, replyDir: c.dir === 'reply', orig: c.entry.orig, packet: skb.pkt, dir: skb.dir });
}

/** __nf_conntrack_confirm at POSTROUTING / INPUT: false on a clash (the kernel drops the packet). */
export function confirm(sim: Sim, nsId: NsId, skb: Skb): boolean {
  if (!skb.ct || skb.ct.entry.confirmed || skb.ct.state === 'RELATED') return true;
  return sim.conntrack(nsId).confirm(skb.ct.entry);
}
