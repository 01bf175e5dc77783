/**
 * Locally generated packets and the way out of the box (net/ipv4/ip_output.c):
 *   ip_route_output_key -> ip_local_out (NF_INET_LOCAL_OUT) -> ip_output (NF_INET_POST_ROUTING)
 *   -> ip_finish_output2 -> neighbour output, or loopback for a local destination.
 * Forwarded packets join at POSTROUTING (ipPostRouting).
 */
import type { NsId } from '../model/link.js';
import type { Sim } from './sim.js';
import { newSkb, type Dir, type Skb, type SkbCt } from './skb.js';
import { facts, lookup } from './derived.js';
import type { IpPacket } from './packet.js';
import { nfHook, nfVerdict, type Ifs } from './nf_hook.js';
import { loopbackSourceRefused, outputSource, resolve, routeError, routeView, sendable, type Rtable } from './route.js';
import { neighOutput } from './arp.js';
import { loopbackXmit, xmitFrame } from './dev.js';
import { isMulticast } from '../wire/ipv4.js';
import { BROADCAST_MAC } from './packet.js';

/**
 * ip_route_output_key: the route for a locally generated packet, recorded as a step; fills in the
 * source address when the socket left it to the route. Returns the errno on failure.
 */
export function ipRouteOutput(sim: Sim, nsId: NsId, skb: Skb, reroute: boolean): Rtable | string {
  const ns = sim.ns(nsId);
  const p = skb.pkt;
  const res = lookup(ns, p.dst, p.src, skb.mark, 'lo');
  if (res.kind !== 'route' || !sendable(res.route.type)) {
    const e = routeError(res, p.dst, nsId, reroute);
    sim.drop(nsId, skb, e.code, 'output', e.reason, { origin: e.origin, ...(e.code === 'no-route' ? { counter: 'OutNoRoutes' } : {}) });
    return e.errno;
  }
  const rt = resolve(ns, res.route, res.rule, p.dst);
  if (loopbackSourceRefused(ns, p.src, rt)) {
    sim.drop(nsId, skb, 'martian', 'output', { kind: 'loopback-source', src: p.src, dev: rt.dev.name });
    return 'EINVAL';
  }
  if (p.src === 0) {
    // no usable address: the kernel sends from 0.0.0.0 (fixtures/kernel/facts/src-noaddr.sh)
    const src = outputSource(ns, rt, p.dst);
    if (src !== undefined) skb.pkt = { ...p, src };
  }
  sim.step({ kind: 'route', ns: nsId, input: false, local: rt.local, reroute, dst: p.dst, route: routeView(ns, rt), origin: rt.route.origin, packet: skb.pkt, dir: skb.dir, dev: rt.route.oif !== undefined ? (facts(ns).byIndex.get(rt.route.oif)?.name ?? rt.dev.name) : rt.dev.name });
  return rt;
}

/**
 * A locally generated packet (socket, stack reply, REJECT, ICMP error). `ct` is the connection
 * the stack attached (nf_ct_attach) for answers it makes itself. Returns an errno when the send
 * fails synchronously (what the socket call would return), else undefined.
 */
export function ipLocalOut(sim: Sim, nsId: NsId, pkt: IpPacket, dir: Dir, ct?: SkbCt, attached = ct !== undefined): string | undefined {
  const skb = newSkb(pkt, dir);
  if (ct) skb.ct = ct;
  skb.attached = attached;
  const r = ipRouteOutput(sim, nsId, skb, false);
  if (typeof r === 'string') return r;
  skb.rt = r;
  const ifs: Ifs = { oif: r.dev.name, bridged: false };
  const v = nfHook(sim, nsId, 'OUTPUT', skb, ifs, {
    reroute: () => {
      // ip_route_me_harder: a new destination or mark means a new route
      const r2 = ipRouteOutput(sim, nsId, skb, true);
      if (typeof r2 === 'string') return r2;
      skb.rt = r2;
      return undefined;
    },
  });
  const err = nfVerdict(sim, nsId, 'OUTPUT', skb, v, undefined);
  if (err !== undefined) return err;
  return ipPostRouting(sim, nsId, skb);
}

/** ip_output: POSTROUTING (mangle, SNAT, confirm), then out of the box. */
export function ipPostRouting(sim: Sim, nsId: NsId, skb: Skb): string | undefined {
  const rt = skb.rt!;
  const ifs: Ifs = { iif: skb.iif, oif: rt.dev.name, physIn: skb.physIn, bridged: false };
  const v = nfHook(sim, nsId, 'POSTROUTING', skb, ifs);
  const err = nfVerdict(sim, nsId, 'POSTROUTING', skb, v, rt.dev.name);
  if (err !== undefined) return err;
  ipFinishOutput(sim, nsId, skb);
  return undefined;
}

/** ip_finish_output2: loopback for a local destination, else the neighbour of the next hop. */
export function ipFinishOutput(sim: Sim, nsId: NsId, skb: Skb): void {
  const rt = skb.rt!;
  if (rt.dev.kind === 'loopback') {
    loopbackXmit(sim, nsId, skb);
    return;
  }
  const dst = skb.pkt.dst;
  if (isMulticast(dst) || dst === 0xffffffff || rt.type === 'broadcast') {
    // no neighbour for broadcast and multicast: the MAC is mapped (arp_mc_map; observed: bcast-zero.sh)
    const mac = isMulticast(dst) ? `01:00:5e:${hex2((dst >>> 16) & 0x7f)}:${hex2((dst >>> 8) & 0xff)}:${hex2(dst & 0xff)}` : BROADCAST_MAC;
    xmitFrame(sim, nsId, rt.dev, { src: rt.dev.mac, dst: mac, payload: { kind: 'ip', ip: skb.pkt } }, skb.dir);
    return;
  }
  neighOutput(sim, nsId, rt.dev, rt.nexthop, skb, rt.route.origin);
}

function hex2(n: number): string {
  return n.toString(16).padStart(2, '0');
}
