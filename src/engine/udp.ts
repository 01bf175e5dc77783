/**
 * UDP (net/ipv4/udp.c): the probe's connected client socket and the model's echo services;
 * a datagram for a port nobody holds is answered with ICMP port unreachable (__udp4_lib_rcv).
 */
import type { NsId } from '../model/link.js';
import type { Sim } from './sim.js';
import type { Skb } from './skb.js';
import { ICMP, type IpPacket } from './packet.js';
import { icmpSend } from './icmp.js';
import { ipLocalOut } from './ip_output.js';
import { isBroadcastRoute } from './route.js';

/**
 * docker-proxy's socket towards the container for one client (udp_proxy_linux.go: a
 * connTrackEntry dialled to the backend, its replyLoop writing answers back from the address the
 * client sent to).
 */
export interface UdpRelay {
  readonly ns: NsId;
  /** the proxy socket's own port (an ephemeral one) */
  readonly lport: number;
  readonly backend: { readonly addr: number; readonly port: number };
  readonly client: { readonly addr: number; readonly port: number };
  /** the address and port the client sent to */
  readonly listen: { readonly addr: number; readonly port: number };
}

export function udpRcv(sim: Sim, nsId: NsId, skb: Skb): void {
  const p = skb.pkt;
  const l4 = p.l4;
  if (l4.kind !== 'udp') return;
  const flow = sim.clientFlow;
  if (flow && nsId === flow.ns && flow.proto === 'udp' && p.dst === flow.local && l4.dport === flow.lport) {
    if (p.src === flow.remote && l4.sport === flow.rport) sim.clientDone('ok');
    return;
  }
  const data = l4.data !== undefined ? { data: l4.data } : {};
  const back = sim.udpRelays.find((r) => r.ns === nsId && r.lport === l4.dport && r.backend.addr === p.src && r.backend.port === l4.sport);
  if (back) {
    // replyLoop: WriteMsgUDP to the client with IP_PKTINFO's source = the address it sent to
    sim.step({ kind: 'socket', ns: nsId, dir: skb.dir, event: 'udp-relay-back', port: back.listen.port, len: l4.len, to: back.client.addr, toPort: back.client.port });
    const out: IpPacket = { src: back.listen.addr, dst: back.client.addr, ttl: 64, id: sim.nextIpId(nsId), l4: { kind: 'udp', sport: back.listen.port, dport: back.client.port, len: l4.len, ...data } };
    const err = ipLocalOut(sim, nsId, out, 'reply');
    if (err) sim.step({ kind: 'socket', ns: nsId, dir: 'reply', event: 'send-failed', errno: err, what: 'udp-relay' });
    return;
  }
  const bcast = isBroadcastRoute(p.dst, skb.rt?.type);
  const svc = sim.serviceAt(nsId, 'udp', l4.dport, p.dst);
  if (svc?.relay && !bcast) {
    // Run: a datagram from a new client opens a socket dialled to the backend (the route picks
    // its source address, the kernel an ephemeral port) and is written to it
    const relay: UdpRelay = { ns: nsId, lport: sim.ephemeralPort(nsId), backend: svc.relay, client: { addr: p.src, port: l4.sport }, listen: { addr: p.dst, port: l4.dport } };
    sim.udpRelays.push(relay);
    sim.step({ kind: 'socket', ns: nsId, dir: skb.dir, event: 'udp-relay', port: l4.dport, len: l4.len, to: svc.relay.addr, toPort: svc.relay.port });
    const out: IpPacket = { src: 0, dst: svc.relay.addr, ttl: 64, id: sim.nextIpId(nsId), l4: { kind: 'udp', sport: relay.lport, dport: svc.relay.port, len: l4.len, ...data } };
    const err = ipLocalOut(sim, nsId, out, skb.dir);
    if (err) sim.step({ kind: 'socket', ns: nsId, dir: skb.dir, event: 'send-failed', errno: err, what: 'udp-relay' });
    return;
  }
  if (svc) {
    sim.step({ kind: 'socket', ns: nsId, dir: skb.dir, event: 'udp-echo', port: l4.dport, len: l4.len, to: p.src, toPort: l4.sport });
    if (bcast) {
      // the service answers from the address the datagram was sent to (IP_PKTINFO); a broadcast
      // address is no local address, so the kernel refuses that source (__ip_route_output_key:
      // ENETUNREACH; EINVAL for 255.255.255.255) and nothing is sent
      sim.step({ kind: 'socket', ns: nsId, dir: 'reply', event: 'send-failed', errno: p.dst === 0xffffffff ? 'EINVAL' : 'ENETUNREACH', what: 'udp-echo' });
      return;
    }
    const reply: IpPacket = { src: p.dst, dst: p.src, ttl: 64, id: sim.nextIpId(nsId), l4: { kind: 'udp', sport: l4.dport, dport: l4.sport, len: l4.len, ...data } };
    const err = ipLocalOut(sim, nsId, reply, 'reply');
    if (err) sim.step({ kind: 'socket', ns: nsId, dir: 'reply', event: 'send-failed', errno: err, what: 'udp-echo' });
    return;
  }
  if (bcast) {
    // __udp4_lib_mcast_deliver: no socket, no port unreachable
    sim.step({ kind: 'socket', ns: nsId, dir: skb.dir, event: 'broadcast-ignored', proto: 'udp', port: l4.dport });
    return;
  }
  sim.step({ kind: 'socket', ns: nsId, dir: skb.dir, event: 'no-listener', proto: 'udp', port: l4.dport });
  icmpSend(sim, nsId, skb, ICMP.DEST_UNREACH, ICMP.PORT_UNREACH);
}
