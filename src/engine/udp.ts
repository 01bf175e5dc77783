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
import { receivedAsBroadcast } from './route.js';

export function udpRcv(sim: Sim, nsId: NsId, skb: Skb): void {
  const p = skb.pkt;
  const l4 = p.l4;
  if (l4.kind !== 'udp') return;
  const flow = sim.clientFlow;
  if (flow && nsId === flow.ns && flow.proto === 'udp' && p.dst === flow.local && l4.dport === flow.lport) {
    if (p.src === flow.remote && l4.sport === flow.rport) sim.clientDone('ok');
    return;
  }
  const bcast = receivedAsBroadcast(skb.rt, p.dst);
  if (sim.hasService(nsId, 'udp', l4.dport, p.dst)) {
    sim.step({ kind: 'socket', ns: nsId, dir: skb.dir, event: 'udp-echo', port: l4.dport, len: l4.len, to: p.src, toPort: l4.sport });
    if (bcast) {
      // the service answers from the address the datagram was sent to (IP_PKTINFO); a broadcast
      // address is no local address, so the kernel refuses that source (__ip_route_output_key:
      // ENETUNREACH; EINVAL for 255.255.255.255) and nothing is sent
      sim.step({ kind: 'socket', ns: nsId, dir: 'reply', event: 'send-failed', errno: p.dst === 0xffffffff ? 'EINVAL' : 'ENETUNREACH', what: 'udp-echo' });
      return;
    }
    const reply: IpPacket = { src: p.dst, dst: p.src, ttl: 64, id: sim.nextIpId(nsId), l4: { kind: 'udp', sport: l4.dport, dport: l4.sport, len: l4.len, ...(l4.data !== undefined ? { data: l4.data } : {}) } };
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
