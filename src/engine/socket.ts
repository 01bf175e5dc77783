/**
 * The transport layer's entry (ip_local_deliver_finish's protocol handlers): TCP, UDP and ICMP,
 * with the probe's client socket and the model's services on the other side.
 */
import type { Link, NsId } from '../model/link.js';
import type { Sim } from './sim.js';
import type { Skb } from './skb.js';
import { tcpRcv } from './tcp.js';
import { udpRcv } from './udp.js';
import { icmpRcv } from './ping.js';

export function deliver(sim: Sim, nsId: NsId, dev: Link, skb: Skb): void {
  const p = skb.pkt;
  sim.step({ kind: 'deliver', ns: nsId, dev: dev.name, packet: p, dir: skb.dir });
  if (sim.clientFlow && skb.dir === 'request' && !sim.requestDelivered) sim.requestDelivered = { ns: nsId, t: sim.t };
  if (skb.dir === 'request') sim.deliveries.push({ ns: nsId, t: sim.t });
  switch (p.l4.kind) {
    case 'tcp':
      return tcpRcv(sim, nsId, skb);
    case 'udp':
      return udpRcv(sim, nsId, skb);
    case 'icmp':
      return icmpRcv(sim, nsId, skb);
  }
}
