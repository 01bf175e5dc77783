/**
 * Neighbour resolution (net/core/neighbour.c, net/ipv4/arp.c): static entries, the cache with
 * its INCOMPLETE / REACHABLE / FAILED states and queued packets, ARP requests (arp_solicit) and
 * answers (arp_process: arp_ignore, fib_validate_source, proxy ARP).
 */
import type { Link, NsId } from '../model/link.js';
import type { Origin } from '../model/origin.js';
import { inPrefix, networkOf } from '../wire/ipv4.js';
import { effectiveConf } from '../world/sysctl.js';
import type { Sim } from './sim.js';
import type { Skb } from './skb.js';
import { facts, selectAddr } from './derived.js';
import { BROADCAST_MAC, ICMP, type ArpPacket } from './packet.js';
import { xmitFrame } from './dev.js';
import { icmpSend } from './icmp.js';
import { sourceInvalid } from './route.js';

export interface NeighEntry {
  mac: string | undefined;
  state: 'incomplete' | 'reachable' | 'failed';
  queue: Skb[];
  probes: number;
  /** the route that sent packets to this neighbour */
  origin: Origin | undefined;
}

function cacheOf(sim: Sim, nsId: NsId, ifindex: number): Map<number, NeighEntry> {
  let byDev = sim.neigh.get(nsId);
  if (!byDev) sim.neigh.set(nsId, (byDev = new Map()));
  let m = byDev.get(ifindex);
  if (!m) byDev.set(ifindex, (m = new Map()));
  return m;
}

/** neigh_output: send to the next hop's MAC, resolving it first when needed. */
export function neighOutput(sim: Sim, nsId: NsId, dev: Link, nh: number, skb: Skb, origin?: Origin): void {
  const ns = sim.ns(nsId);
  for (const n of ns.neighs) {
    if (n.ifindex !== dev.ifindex || n.dst !== nh || !n.lladdr) continue;
    sim.step({ kind: 'neigh', ns: nsId, dev: dev.name, dir: skb.dir, origin: n.origin, event: 'static', addr: nh, lladdr: n.lladdr, state: n.state });
    xmitFrame(sim, nsId, dev, { src: dev.mac, dst: n.lladdr, payload: { kind: 'ip', ip: skb.pkt } }, skb.dir);
    return;
  }
  const cache = cacheOf(sim, nsId, dev.ifindex);
  let n = cache.get(nh);
  if (n?.state === 'reachable' && n.mac) {
    xmitFrame(sim, nsId, dev, { src: dev.mac, dst: n.mac, payload: { kind: 'ip', ip: skb.pkt } }, skb.dir);
    return;
  }
  if (n?.state === 'failed') n = undefined;
  if (!n) {
    n = { mac: undefined, state: 'incomplete', queue: [skb], probes: 0, origin };
    cache.set(nh, n);
    sim.step({ kind: 'neigh', ns: nsId, dev: dev.name, dir: skb.dir, event: 'incomplete', addr: nh, ...(origin ? { origin } : {}) });
    arpSolicit(sim, nsId, dev, nh, skb, n, cache);
    return;
  }
  // arp_queue holds 3 packets by default (unres_qlen_bytes); probes hold more than enough
  n.queue.push(skb);
}

function arpSolicit(sim: Sim, nsId: NsId, dev: Link, nh: number, skb: Skb, n: NeighEntry, cache: Map<number, NeighEntry>): void {
  const ns = sim.ns(nsId);
  const solicit = Number(ns.sysctl['net.ipv4.neigh.default.mcast_solicit'] ?? '3');
  const retrans = Number(ns.sysctl['net.ipv4.neigh.default.retrans_time_ms'] ?? '1000') * 1000;
  // arp_solicit: the packet's own source when it is local (arp_announce 0), else inet_select_addr
  const src = facts(ns).localAddrs.has(skb.pkt.src) ? skb.pkt.src : (selectAddr(ns, dev.ifindex, nh, 253) ?? 0);
  const send = (): void => {
    if (n.state !== 'incomplete') return;
    if (n.probes >= solicit) {
      n.state = 'failed';
      sim.step({ kind: 'neigh', ns: nsId, dev: dev.name, dir: skb.dir, event: 'failed', addr: nh, probes: solicit });
      const queued = n.queue.splice(0);
      for (const q of queued) {
        sim.drop(nsId, q, 'neigh-failed', 'neigh', { kind: 'neigh-failed', nexthop: nh, dev: dev.name }, { dev: dev.name, origin: n.origin });
        // ipv4_link_failure -> icmp_send(ICMP_HOST_UNREACH) back to the sender
        icmpSend(sim, nsId, q, ICMP.DEST_UNREACH, ICMP.HOST_UNREACH);
      }
      cache.delete(nh);
      return;
    }
    n.probes++;
    const arp: ArpPacket = { op: 'request', sha: dev.mac, spa: src, tha: '00:00:00:00:00:00', tpa: nh };
    xmitFrame(sim, nsId, dev, { src: dev.mac, dst: BROADCAST_MAC, payload: { kind: 'arp', arp } }, skb.dir);
    sim.at(retrans, send);
  };
  send();
}

/** A neighbour became known: send what waited for it. */
function resolved(sim: Sim, nsId: NsId, dev: Link, n: NeighEntry, mac: string): void {
  n.state = 'reachable';
  n.mac = mac;
  for (const q of n.queue.splice(0)) xmitFrame(sim, nsId, dev, { src: dev.mac, dst: mac, payload: { kind: 'ip', ip: q.pkt } }, q.dir);
}

/** arp_rcv / arp_process. */
export function arpRcv(sim: Sim, nsId: NsId, dev: Link, arp: ArpPacket, dir: Skb['dir']): void {
  const ns = sim.ns(nsId);
  const f = facts(ns);
  const cache = cacheOf(sim, nsId, dev.ifindex);
  if (arp.op === 'reply') {
    const n = cache.get(arp.spa);
    if (n && n.state === 'incomplete') {
      sim.step({ kind: 'neigh', ns: nsId, dev: dev.name, dir, event: 'reachable', addr: arp.spa, lladdr: arp.sha });
      resolved(sim, nsId, dev, n, arp.sha);
    }
    return;
  }
  // request: answer when the target is a local address (arp_ignore 0: any interface)
  if (!f.localAddrs.has(arp.tpa)) {
    sim.step({ kind: 'neigh', ns: nsId, dev: dev.name, dir, event: 'not-local', addr: arp.tpa });
    return;
  }
  const ignore = effectiveConf(ns.confAll, dev.conf, 'arp_ignore');
  if (ignore >= 1) {
    const onDev = ns.addrs.some((a) => a.ifindex === dev.ifindex && a.local === arp.tpa);
    const sameNet = ns.addrs.some((a) => a.ifindex === dev.ifindex && a.local === arp.tpa && inPrefix(arp.spa, { addr: networkOf(a.local, a.prefixLen), len: a.prefixLen }));
    if ((ignore === 1 && !onDev) || (ignore === 2 && !sameNet)) {
      sim.step({ kind: 'neigh', ns: nsId, dev: dev.name, dir, event: 'ignored', addr: arp.tpa, arpIgnore: ignore });
      return;
    }
  }
  // arp_process routes the request (ip_route_input_noref(tip, sip, dev)): the sender must pass
  // fib_validate_source, so rp_filter can silence ARP (observed: replay of rp-filter-strict)
  const bad = sourceInvalid(ns, dev, arp.spa, arp.tpa);
  if (bad) {
    sim.step({ kind: 'neigh', ns: nsId, dev: dev.name, dir, event: 'source-refused', addr: arp.tpa, from: arp.spa, reason: bad.reason, ...(bad.origin ? { origin: bad.origin } : {}) });
    return;
  }
  // neigh_event_ns: the requester is learnt
  const existing = cache.get(arp.spa);
  if (!existing || existing.state !== 'incomplete') cache.set(arp.spa, { state: 'reachable', mac: arp.sha, queue: [], probes: 0, origin: undefined });
  else resolved(sim, nsId, dev, existing, arp.sha);
  const reply: ArpPacket = { op: 'reply', sha: dev.mac, spa: arp.tpa, tha: arp.sha, tpa: arp.spa };
  xmitFrame(sim, nsId, dev, { src: dev.mac, dst: arp.sha, payload: { kind: 'arp', arp: reply } }, dir);
}
