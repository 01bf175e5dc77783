/**
 * A packet arriving at layer 3 (net/ipv4/ip_input.c, route.c):
 *   ip_rcv (NF_INET_PRE_ROUTING) -> ip_rcv_finish -> ip_route_input_slow
 *     local:      ip_local_deliver (NF_INET_LOCAL_IN) -> the transport layer
 *     not local:  ip_forward (ip_forward.ts), or ip_error when there is no route
 */
import type { Link, NsId } from '../model/link.js';
import { isLoopbackNet, isMulticast } from '../wire/ipv4.js';
import { effectiveConf } from '../world/sysctl.js';
import type { Sim } from './sim.js';
import { newSkb, type Dir, type Skb } from './skb.js';
import { facts, lookup } from './derived.js';
import { ICMP, type IpPacket } from './packet.js';
import { nfHook, nfVerdict, type Ifs } from './nf_hook.js';
import { resolve, routeError, routeView, sourceInvalid } from './route.js';
import { icmpSend } from './icmp.js';
import { ipForward } from './ip_forward.js';
import { deliver } from './socket.js';

/** ip_rcv: PREROUTING, then routing (br_netfilter's frames join at ipRcvFinish: bridge.ts). */
export function ipRcv(sim: Sim, nsId: NsId, dev: Link, pkt: IpPacket, dir: Dir, l2Broadcast = false): void {
  const skb = newSkb(pkt, dir, dev.name);
  skb.l2Broadcast = l2Broadcast;
  sim.step({ kind: 'recv', ns: nsId, dev: dev.name, packet: pkt, dir });
  // ip_route_input_slow's martian checks on addresses
  if (isMulticast(pkt.src) || pkt.src === 0xffffffff || pkt.src === 0) {
    const why = isMulticast(pkt.src) ? 'multicast' : pkt.src === 0 ? 'zero' : 'limited-broadcast';
    sim.drop(nsId, skb, 'martian', 'prerouting', { kind: 'martian-source', src: pkt.src, why, dev: dev.name }, { dev: dev.name });
    return;
  }
  const ifs: Ifs = { iif: dev.name, bridged: false };
  const v = nfHook(sim, nsId, 'PREROUTING', skb, ifs);
  if (nfVerdict(sim, nsId, 'PREROUTING', skb, v, dev.name) !== undefined) return;
  ipRcvFinish(sim, nsId, dev, skb);
}

/** lo's receive: the looped packet keeps its connection and goes through PREROUTING again. */
export function loopbackRcv(sim: Sim, nsId: NsId, skb: Skb): void {
  const lo = facts(sim.ns(nsId)).byName.get('lo')!;
  sim.capture(nsId, 'lo', 'in', { src: lo.mac, dst: lo.mac, payload: { kind: 'ip', ip: skb.pkt } });
  skb.iif = 'lo';
  const ifs: Ifs = { iif: 'lo', bridged: false };
  const v = nfHook(sim, nsId, 'PREROUTING', skb, ifs);
  if (nfVerdict(sim, nsId, 'PREROUTING', skb, v, 'lo') !== undefined) return;
  // skb_dst stays the one output chose (a local route, or a route through lo): delivered here
  ipLocalDeliver(sim, nsId, lo, skb);
}

/** ip_rcv_finish: the input route (ip_route_input_slow), then local delivery or forwarding. */
export function ipRcvFinish(sim: Sim, nsId: NsId, dev: Link, skb: Skb): void {
  const ns = sim.ns(nsId);
  const p = skb.pkt;
  const fwd = effectiveConf(ns.confAll, dev.conf, 'forwarding') === 1;
  if ((isLoopbackNet(p.src) || isLoopbackNet(p.dst)) && dev.kind !== 'loopback' && effectiveConf(ns.confAll, dev.conf, 'route_localnet') === 0) {
    const reason = isLoopbackNet(p.src)
      ? ({ kind: 'martian-source', src: p.src, why: 'loopback', dev: dev.name } as const)
      : ({ kind: 'martian-destination', dst: p.dst, dev: dev.name } as const);
    sim.drop(nsId, skb, 'martian', 'routing', reason, { dev: dev.name });
    return;
  }
  const res = lookup(ns, p.dst, p.src, skb.mark, dev.name);
  if (res.kind === 'route' && (res.route.type === 'local' || res.route.type === 'broadcast')) {
    if (!validateSource(sim, nsId, dev, skb)) return;
    const rt = resolve(ns, res.route, res.rule, p.dst);
    skb.rt = rt;
    sim.step({ kind: 'route', ns: nsId, input: true, local: true, reroute: false, dst: p.dst, route: routeView(ns, rt), origin: res.route.origin, dev: dev.name, packet: p, dir: skb.dir });
    ipLocalDeliver(sim, nsId, dev, skb);
    return;
  }
  if (!fwd) {
    // ip_error with forwarding off: counted (InAddrErrors / InNoRoutes), nothing sent back
    const wouldForward = res.kind === 'route' && res.route.type === 'unicast';
    sim.drop(nsId, skb, 'forwarding-disabled', 'routing', { kind: 'forwarding-disabled', dst: p.dst, dev: dev.name, wouldForward }, { dev: dev.name, counter: wouldForward ? 'InAddrErrors' : 'InNoRoutes' });
    return;
  }
  if (res.kind !== 'route' || res.route.type !== 'unicast') {
    const e = routeError(res, p.dst, nsId);
    sim.drop(nsId, skb, e.code, 'routing', e.reason, { dev: dev.name, origin: e.origin, ...(e.code === 'no-route' ? { counter: 'InNoRoutes' } : {}) });
    // ip_error: ICMP for unreachable destinations, nothing for blackholes
    if (e.icmpCode !== undefined) icmpSend(sim, nsId, skb, ICMP.DEST_UNREACH, e.icmpCode);
    return;
  }
  if (!validateSource(sim, nsId, dev, skb)) return;
  const rt = resolve(ns, res.route, res.rule, p.dst);
  skb.rt = rt;
  sim.step({ kind: 'route', ns: nsId, input: true, local: false, reroute: false, dst: p.dst, route: routeView(ns, rt), origin: res.route.origin, dev: dev.name, packet: p, dir: skb.dir });
  if (skb.l2Broadcast) {
    // ip_forward: "if (skb->pkt_type != PACKET_HOST) goto drop"
    sim.drop(nsId, skb, 'not-for-us', 'forward', { kind: 'l2-broadcast', dev: dev.name, layer: 'forward' }, { dev: dev.name });
    return;
  }
  ipForward(sim, nsId, dev, skb);
}

/** fib_validate_source for a received packet; records the drop when it fails. */
function validateSource(sim: Sim, nsId: NsId, dev: Link, skb: Skb): boolean {
  const bad = sourceInvalid(sim.ns(nsId), dev, skb.pkt.src, skb.pkt.dst);
  if (!bad) return true;
  sim.drop(nsId, skb, bad.code, 'routing', bad.reason, { dev: dev.name, origin: bad.origin, ...(bad.counter !== undefined ? { counter: bad.counter } : {}) });
  return false;
}

/** ip_local_deliver: INPUT (mangle, filter, SNAT, confirm), then the transport layer. */
export function ipLocalDeliver(sim: Sim, nsId: NsId, dev: Link, skb: Skb): void {
  const ifs: Ifs = { iif: dev.name, physIn: skb.physIn, bridged: false };
  const v = nfHook(sim, nsId, 'INPUT', skb, ifs);
  if (nfVerdict(sim, nsId, 'INPUT', skb, v, dev.name) !== undefined) return;
  deliver(sim, nsId, dev, skb);
}
