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
import type { Netns } from '../world/types.js';
import type { Skb } from './skb.js';
import { facts, lookup, mayBeLocal, proxyArpOn, selectAddr } from './derived.js';
import { BROADCAST_MAC, ICMP, type ArpPacket } from './packet.js';
import { xmitFrame } from './dev.js';
import { icmpSend } from './icmp.js';
import { sourceInvalid } from './route.js';

export interface NeighEntry {
  mac: string | undefined;
  state: 'incomplete' | 'reachable' | 'failed';
  /** what waits for the address: each packet with what to do once the MAC is known */
  queue: { readonly skb: Skb; readonly then: (mac: string) => void }[];
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
  neighResolve(sim, nsId, dev, nh, skb, origin, (mac) => xmitFrame(sim, nsId, dev, { src: dev.mac, dst: mac, payload: { kind: 'ip', ip: skb.pkt } }, skb.dir));
}

/** The next hop's MAC (static entry, cache, or ARP), then `then`; a failed resolution drops the packet. */
export function neighResolve(sim: Sim, nsId: NsId, dev: Link, nh: number, skb: Skb, origin: Origin | undefined, then: (mac: string) => void): void {
  const ns = sim.ns(nsId);
  const cache = cacheOf(sim, nsId, dev.ifindex);
  let n = cache.get(nh);
  for (const st of ns.neighs) {
    if (st.ifindex !== dev.ifindex || st.dst !== nh || !st.lladdr) continue;
    // an entry added as stale or reachable is overridden by what the neighbour's own ARP said
    // (neigh_update from arp_process); permanent and noarp entries never are
    // (observed: models/conf-neigh-learned.yaml)
    if ((st.state === 'stale' || st.state === 'reachable') && n?.state === 'reachable' && n.mac) break;
    sim.step({ kind: 'neigh', ns: nsId, dev: dev.name, dir: skb.dir, origin: st.origin, event: 'static', addr: nh, lladdr: st.lladdr, state: st.state });
    then(st.lladdr);
    return;
  }
  if (n?.state === 'reachable' && n.mac) {
    then(n.mac);
    return;
  }
  if (n?.state === 'failed') n = undefined;
  if (!n) {
    n = { mac: undefined, state: 'incomplete', queue: [{ skb, then }], probes: 0, origin };
    cache.set(nh, n);
    sim.step({ kind: 'neigh', ns: nsId, dev: dev.name, dir: skb.dir, event: 'incomplete', addr: nh, ...(origin ? { origin } : {}) });
    arpSolicit(sim, nsId, dev, nh, skb, n, cache);
    return;
  }
  // arp_queue holds 3 packets by default (unres_qlen_bytes); probes hold more than enough
  n.queue.push({ skb, then });
}

function arpSolicit(sim: Sim, nsId: NsId, dev: Link, nh: number, skb: Skb, n: NeighEntry, cache: Map<number, NeighEntry>): void {
  const ns = sim.ns(nsId);
  const solicit = Number(ns.sysctl['net.ipv4.neigh.default.mcast_solicit'] ?? '3');
  const retrans = Number(ns.sysctl['net.ipv4.neigh.default.retrans_time_ms'] ?? '1000') * 1000;
  const src = arpSource(ns, dev, nh, skb.pkt.src);
  const send = (): void => {
    if (n.state !== 'incomplete') return;
    if (n.probes >= solicit) {
      n.state = 'failed';
      sim.step({ kind: 'neigh', ns: nsId, dev: dev.name, dir: skb.dir, event: 'failed', addr: nh, probes: solicit });
      const queued = n.queue.splice(0);
      for (const q of queued) {
        sim.drop(nsId, q.skb, 'neigh-failed', 'neigh', { kind: 'neigh-failed', nexthop: nh, dev: dev.name }, { dev: dev.name, origin: n.origin });
        // ipv4_link_failure -> icmp_send(ICMP_HOST_UNREACH) back to the sender
        icmpSend(sim, nsId, q.skb, ICMP.DEST_UNREACH, ICMP.HOST_UNREACH);
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

/**
 * arp_solicit's sender address by arp_announce (max of all and DEV): 0 the packet's own source
 * when it is local; 1 that source only when it is on this device's subnet of the target; 2 (and
 * the fallback) inet_select_addr(dev, target, link) (observed: fixtures/kernel/facts/arp-sysctls.sh).
 */
function arpSource(ns: Netns, dev: Link, target: number, saddr: number): number {
  const mode = effectiveConf(ns.confAll, dev.conf, 'arp_announce');
  let src = 0;
  if (mode === 0 && facts(ns).localAddrs.has(saddr)) src = saddr;
  else if (mode === 1 && facts(ns).localAddrs.has(saddr)) {
    const onlink = ns.addrs.some((a) => a.ifindex === dev.ifindex && inPrefix(target, { addr: networkOf(a.local, a.prefixLen), len: a.prefixLen }) && inPrefix(saddr, { addr: networkOf(a.local, a.prefixLen), len: a.prefixLen }));
    if (onlink) src = saddr;
  }
  return src || (selectAddr(ns, dev.ifindex, target, 253) ?? 0);
}

/** A neighbour became known: send what waited for it. */
function resolved(sim: Sim, nsId: NsId, dev: Link, n: NeighEntry, mac: string): void {
  n.state = 'reachable';
  n.mac = mac;
  for (const q of n.queue.splice(0)) q.then(mac);
}

/** arp_rcv / arp_process (net/ipv4/arp.c). */
export function arpRcv(sim: Sim, nsId: NsId, dev: Link, arp: ArpPacket, dir: Skb['dir']): void {
  const ns = sim.ns(nsId);
  const cache = cacheOf(sim, nsId, dev.ifindex);
  // "Update our ARP tables": any ARP from the sender (a request for another target too) gives an
  // existing entry for it the sender's MAC; permanent and noarp entries stay as they are
  // (arp_process, neigh_update; observed: conformance seed 12 case 50, models/conf-neigh-any-arp.yaml)
  const known = cache.get(arp.spa);
  if (known !== undefined && known.state !== 'incomplete') {
    known.mac = arp.sha;
    known.state = 'reachable';
  } else if (known === undefined && ns.neighs.some((st) => st.ifindex === dev.ifindex && st.dst === arp.spa && (st.state === 'stale' || st.state === 'reachable'))) {
    cache.set(arp.spa, { state: 'reachable', mac: arp.sha, queue: [], probes: 0, origin: undefined });
  }
  if (arp.op === 'reply') {
    const n = cache.get(arp.spa);
    if (n && n.state === 'incomplete') {
      sim.step({ kind: 'neigh', ns: nsId, dev: dev.name, dir, event: 'reachable', addr: arp.spa, lladdr: arp.sha });
      resolved(sim, nsId, dev, n, arp.sha);
    }
    return;
  }
  // a request is routed like a packet from its sender (ip_route_input_noref(tip, sip, dev)); it
  // can only be answered for a local address, or by proxy ARP: without either, no lookup is needed
  // (a flood reaches every port of a bridge)
  const proxyArp = proxyArpOn(ns, dev);
  if (!proxyArp && !mayBeLocal(ns, arp.tpa)) {
    notLocal(sim, nsId, dev, dir, arp.tpa);
    return;
  }
  const res = lookup(ns, arp.tpa, arp.spa, 0, dev.name);
  const type = res.kind === 'route' ? res.route.type : undefined;
  if (type === 'local') {
    if (!arpIgnoreAllows(ns, dev, arp.spa, arp.tpa)) {
      sim.step({ kind: 'neigh', ns: nsId, dev: dev.name, dir, event: 'ignored', addr: arp.tpa, arpIgnore: effectiveConf(ns.confAll, dev.conf, 'arp_ignore') });
      return;
    }
    // the route input's fib_validate_source: rp_filter can silence ARP (observed: replay of rp-filter-strict)
    const bad = sourceInvalid(ns, dev, arp.spa, arp.tpa);
    if (bad) {
      sim.step({ kind: 'neigh', ns: nsId, dev: dev.name, dir, event: 'source-refused', addr: arp.tpa, from: arp.spa, reason: bad.reason, ...(bad.origin ? { origin: bad.origin } : {}) });
      return;
    }
    // arp_filter: only the device this host would route the answer through replies
    if (effectiveConf(ns.confAll, dev.conf, 'arp_filter') === 1) {
      const back = lookup(ns, arp.spa, arp.tpa, 0, 'lo');
      if (back.kind === 'route' && back.route.oif !== undefined && back.route.oif !== dev.ifindex) {
        sim.step({ kind: 'neigh', ns: nsId, dev: dev.name, dir, event: 'filtered', addr: arp.tpa, from: arp.spa });
        return;
      }
    }
    learnAndReply(sim, nsId, dev, arp, dir, cache);
    return;
  }
  // proxy ARP: the target routes (unicast) out another device, the incoming device forwards and
  // has proxy_arp (conf.all or conf.DEV); the answer is delayed up to proxy_delay
  // (observed: fixtures/kernel/facts/proxy-arp.sh)
  if (
    type === 'unicast' &&
    res.kind === 'route' &&
    res.route.oif !== undefined &&
    res.route.oif !== dev.ifindex &&
    proxyArp &&
    !sourceInvalid(ns, dev, arp.spa, arp.tpa)
  ) {
    const delayUs = (sim.random() % Number(ns.sysctl['net.ipv4.neigh.default.proxy_delay'] ?? '80')) * 10_000;
    sim.step({ kind: 'neigh', ns: nsId, dev: dev.name, dir, event: 'proxy-reply', addr: arp.tpa, from: arp.spa, origin: res.route.origin });
    sim.at(delayUs, () => learnAndReply(sim, nsId, dev, arp, dir, cache));
    return;
  }
  notLocal(sim, nsId, dev, dir, arp.tpa);
}

/** A request this namespace neither answers nor proxies: all arp_process did with it. */
export function notLocal(sim: Sim, nsId: NsId, dev: Link, dir: Skb['dir'], tpa: number): void {
  sim.step({ kind: 'neigh', ns: nsId, dev: dev.name, dir, event: 'not-local', addr: tpa });
}

/** neigh_event_ns (the requester is learnt), then the reply with this device's MAC. */
function learnAndReply(sim: Sim, nsId: NsId, dev: Link, arp: ArpPacket, dir: Skb['dir'], cache: Map<number, NeighEntry>): void {
  const existing = cache.get(arp.spa);
  if (!existing || existing.state !== 'incomplete') cache.set(arp.spa, { state: 'reachable', mac: arp.sha, queue: [], probes: 0, origin: undefined });
  else resolved(sim, nsId, dev, existing, arp.sha);
  const reply: ArpPacket = { op: 'reply', sha: dev.mac, spa: arp.tpa, tha: arp.sha, tpa: arp.spa };
  xmitFrame(sim, nsId, dev, { src: dev.mac, dst: arp.sha, payload: { kind: 'arp', arp: reply } }, dir);
}

/**
 * arp_ignore (max of conf.all and conf.DEV), as arp_ignore() and inet_confirm_addr decide:
 * 0 any local address; 1 an address of the incoming device; 2 the same, and the sender in its
 * subnet; 3 any address whose scope is not host; 8 never (observed: fixtures/kernel/facts/arp-sysctls.sh).
 */
function arpIgnoreAllows(ns: Netns, dev: Link, sip: number, tip: number): boolean {
  const mode = effectiveConf(ns.confAll, dev.conf, 'arp_ignore');
  switch (mode) {
    case 1:
      return ns.addrs.some((a) => a.ifindex === dev.ifindex && a.local === tip);
    case 2:
      return ns.addrs.some((a) => a.ifindex === dev.ifindex && a.local === tip && inPrefix(sip, { addr: networkOf(a.local, a.prefixLen), len: a.prefixLen }));
    case 3:
      return ns.addrs.some((a) => a.local === tip && a.scope !== 'host');
    case 8:
      return false;
    default:
      return true;
  }
}
