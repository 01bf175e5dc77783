/**
 * NAT at a hook (nf_nat_inet_fn, net/netfilter/nf_nat_core.c): the nat table is consulted for a
 * connection's first packet (NEW, original direction, this manip type not yet decided) and its
 * target becomes a binding on the conntrack entry (nf_nat_setup_info, get_unique_tuple); every
 * packet of the connection is then rewritten from the entry (nf_nat_packet).
 */
import type { NsId } from '../model/link.js';
import type { Origin } from '../model/origin.js';
import type { Hook } from '../netfilter/hooks.js';
import type { NatTarget } from '../netfilter/eval.js';
import { formatIpv4 } from '../wire/ipv4.js';
import { natAddr, natPort } from '../netfilter/nat.js';
import type { Sim } from './sim.js';
import type { Skb } from './skb.js';
import type { Tuple } from './conntrack.js';
import { natPacket } from './conntrack.js';
import { facts, selectAddr } from './derived.js';
import { runNftAt, runTableAt, verdictOrigin, type HookVerdict, type Ifs, ACCEPT } from './nf_hook.js';
import type { NatChainRef } from '../nft/pipeline.js';
import type { NfResult } from '../netfilter/eval.js';
import type { IpPacket } from './packet.js';

const IPTABLES_ONLY: readonly NatChainRef[] = [{ kind: 'iptables', priority: 0 }];

/**
 * `chains`: the NAT core's list at this hook (the iptables nat table and nft `type nat` chains,
 * in the order it calls them); for the first packet each runs until one makes a binding or drops.
 */
export function natHook(sim: Sim, nsId: NsId, hook: Hook, manip: 'src' | 'dst', skb: Skb, ifs: Ifs, chains: readonly NatChainRef[] = IPTABLES_ONLY): HookVerdict {
  if (skb.untracked || !skb.ct) return ACCEPT;
  const e = skb.ct.entry;
  const done = manip === 'src' ? e.srcDone : e.dstDone;
  if (!done && skb.ct.state === 'NEW' && skb.ct.dir === 'orig') {
    const ns = sim.ns(nsId);
    for (const c of chains) {
      const res = c.kind === 'iptables' ? runTableAt(sim, nsId, 'nat', hook, skb, ifs) : runNftAt(sim, nsId, c, hook, skb, ifs);
      const origin = c.kind === 'iptables' ? verdictOrigin(ns, 'nat', hook, res as NfResult) : res.decidedBy?.rule.origin;
      if (res.verdict.kind === 'DROP') return { kind: 'verdict', table: c.kind === 'iptables' ? 'nat' : `${c.family} ${c.table}`, res, origin };
      if (res.verdict.kind === 'NAT') {
        if (!bind(sim, nsId, skb, res.verdict.target, manip, hook, ifs, origin)) return { kind: 'dropped', errno: 'EPERM' };
        break;
      }
    }
    if (manip === 'src') e.srcDone = true;
    else e.dstDone = true;
  }
  const before = skb.pkt;
  const after = natPacket(e, skb.ct.dir, manip, before);
  if (after !== before && !sameHeaders(before, after)) {
    skb.pkt = after;
    sim.step({ kind: 'nat', ns: nsId, before, packet: after, dir: skb.dir });
  }
  return ACCEPT;
}

function sameHeaders(a: IpPacket, b: IpPacket): boolean {
  if (a.src !== b.src || a.dst !== b.dst) return false;
  const x = a.l4;
  const y = b.l4;
  if (x.kind === 'icmp' && y.kind === 'icmp') return x.id === y.id && x.quoted === y.quoted;
  if (x.kind !== 'icmp' && y.kind !== 'icmp') return x.sport === y.sport && x.dport === y.dport;
  return false;
}

/** nf_nat_setup_info: computes the new reply tuple for a NAT target. False when the packet is dropped. */
function bind(sim: Sim, nsId: NsId, skb: Skb, tg: NatTarget, manip: 'src' | 'dst', hook: Hook, ifs: Ifs, origin: Origin | undefined): boolean {
  const e = skb.ct!.entry;
  const ns = sim.ns(nsId);
  const orig = e.orig;
  let reply: Tuple = e.reply;
  const hasPorts = orig.proto !== 'icmp';
  if (manip === 'dst') {
    if (tg.kind === 'DNAT') {
      // find_best_ips_proto: the kernel's hash of the connection's addresses picks one of a range
      const a = tg.range.addr ? natAddr(orig.src, orig.dst, tg.range.addr, tg.persistent) : orig.dst;
      // get_unique_tuple: a port already inside the range is kept (nf_nat_inet_in_range)
      const port = hasPorts && tg.range.ports ? natPort(orig.dport, tg.range.ports) : orig.dport;
      reply = { ...reply, src: a, sport: port };
    } else if (tg.kind === 'REDIRECT') {
      // nf_nat_redirect_ipv4: the primary address of the incoming device (127.0.0.1 for local)
      let a = 0x7f000001;
      if (hook === 'PREROUTING' && ifs.iif !== undefined) {
        const dev = facts(ns).byName.get(ifs.iif);
        const prim = ns.addrs.find((x) => x.ifindex === dev?.ifindex && !x.secondary);
        if (!prim) {
          sim.drop(nsId, skb, 'nf-drop', 'prerouting', { kind: 'nat-no-addr', target: 'REDIRECT', dev: ifs.iif }, { dev: ifs.iif, origin });
          return false;
        }
        a = prim.local;
      }
      const port = hasPorts && tg.ports ? natPort(orig.dport, tg.ports) : orig.dport;
      reply = { ...reply, src: a, sport: port };
    } else {
      sim.notes.add(`${tg.kind} in a DST-manip hook is refused by iptables`);
      return true;
    }
    e.dnat = reply.src !== orig.dst || reply.sport !== orig.dport;
  } else {
    let a: number | undefined;
    let ports = tg.kind === 'SNAT' ? tg.range.ports : tg.kind === 'MASQUERADE' ? tg.ports : undefined;
    if (tg.kind === 'SNAT') {
      const r = tg.range.addr;
      // get_unique_tuple: a source already inside the range (and its port inside the port range)
      // is kept unless --random/--random-fully (nf_in_range); else find_best_ips_proto's hash over
      // the source and the (DNATed) destination
      const keep = r !== undefined && !tg.random && !tg.randomFully && orig.src >= r.min && orig.src <= r.max && (!hasPorts || !tg.range.ports || (orig.sport >= tg.range.ports.min && orig.sport <= tg.range.ports.max));
      a = r === undefined || keep ? orig.src : natAddr(orig.src, reply.src, r, tg.persistent);
    }
    else if (tg.kind === 'MASQUERADE') {
      // nf_nat_masquerade_ipv4: inet_select_addr(out, nexthop, RT_SCOPE_UNIVERSE)
      const rt = skb.rt;
      a = selectAddr(ns, rt?.dev.ifindex, rt?.nexthop ?? skb.pkt.dst, 0);
      if (a === undefined) {
        sim.drop(nsId, skb, 'nf-drop', 'postrouting', { kind: 'nat-no-addr', target: 'MASQUERADE', dev: ifs.oif ?? '?' }, { dev: ifs.oif, origin });
        return false;
      }
    } else {
      sim.notes.add(`${tg.kind} in a SRC-manip hook is refused by iptables`);
      return true;
    }
    if (!hasPorts) ports = undefined;
    let port = ports ? natPort(orig.sport, ports) : orig.sport;
    reply = { ...reply, dst: a, dport: port };
    // nf_nat_used_tuple: keep the port unless another connection already has that tuple
    const ct = sim.conntrack(nsId);
    let tries = 0;
    while (ct.replyTaken(reply, e) && tries++ < 65536) {
      port = ports ? (port >= ports.max ? ports.min : port + 1) : port >= 65535 ? 1024 : port + 1;
      reply = { ...reply, dport: port };
    }
    e.snat = reply.dst !== orig.src || reply.dport !== orig.sport;
  }
  e.reply = reply;
  sim.step({ kind: 'nat-bind', ns: nsId, target: tg.kind, reply, packet: skb.pkt, dir: skb.dir, ...(origin ? { origin } : {}) });
  return true;
}

