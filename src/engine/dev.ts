/**
 * Devices (net/core/dev.c, drivers/net/veth.c, drivers/net/loopback.c): a frame sent on a link
 * (dev_queue_xmit) and a frame arriving on one (netif_receive_skb). A model LAN is a learning
 * switch: it learns source MACs per port, sends known unicast to its port, floods broadcast and
 * unknown unicast; a NIC that is not a bridge port drops (in hardware) unicast for another MAC.
 */
import type { Link, NsId } from '../model/link.js';
import type { Sim } from './sim.js';
import { looseSkb, type Dir, type Skb } from './skb.js';
import { facts, lanFacts, type LanPort } from './derived.js';
import { BROADCAST_MAC, isMulticastMac, type Frame } from './packet.js';
import { peerOf } from '../world/links.js';
import { arpRcv } from './arp.js';
import { bridgeInput, bridgeXmit } from './bridge.js';
import { ipRcv, loopbackRcv } from './ip_input.js';

/** a frame's time across a veth pair */
export const LINK_LATENCY_US = 5;
const LAN_LATENCY_US = 60;

/** loopback_xmit: the packet comes back in on lo with its conntrack entry. */
export function loopbackXmit(sim: Sim, nsId: NsId, skb: Skb): void {
  const lo = facts(sim.ns(nsId)).byName.get('lo')!;
  const frame: Frame = { src: lo.mac, dst: lo.mac, payload: { kind: 'ip', ip: skb.pkt } };
  if (!lo.up) {
    // a down lo drops what is sent through it: no error, the sender times out (observed: lo-routes.sh)
    linkDrop(sim, nsId, lo, frame, skb.dir, false);
    return;
  }
  sim.capture(nsId, 'lo', 'out', frame);
  sim.at(1, () => loopbackRcv(sim, nsId, skb));
}

/** dev_queue_xmit: a frame leaves on `dev`. */
export function xmitFrame(sim: Sim, nsId: NsId, dev: Link, frame: Frame, dir: Dir): void {
  if (!dev.up) {
    linkDrop(sim, nsId, dev, frame, dir, false);
    return;
  }
  sim.capture(nsId, dev.name, 'out', frame);
  if (frame.payload.kind === 'ip') sim.step({ kind: 'xmit', ns: nsId, dev: dev.name, lladdr: frame.dst, packet: frame.payload.ip, dir });
  switch (dev.kind) {
    case 'loopback':
      sim.at(1, () => rx(sim, nsId, dev, frame, dir));
      return;
    case 'veth': {
      const peer = peerOf(sim.world, dev);
      if (!peer || !peer.link.up) {
        linkDrop(sim, nsId, dev, frame, dir, true);
        return;
      }
      const pns = peer.ns.id;
      const plink = peer.link;
      sim.at(LINK_LATENCY_US, () => rx(sim, pns, plink, frame, dir));
      return;
    }
    case 'nic':
      if (dev.lan !== undefined) lanXmit(sim, nsId, dev, dev.lan, frame, dir);
      return;
    case 'bridge':
      bridgeXmit(sim, nsId, dev, frame, undefined, dir);
      return;
    case 'dummy':
      return; // dummy devices swallow everything
  }
}

/** The LAN's switch: learn the source, then forward or flood. */
function lanXmit(sim: Sim, nsId: NsId, dev: Link, lan: string, frame: Frame, dir: Dir): void {
  const { ports, position } = lanFacts(sim.world, lan);
  let fdb = sim.lanFdb.get(lan);
  if (!fdb) sim.lanFdb.set(lan, (fdb = new Map()));
  const me = position.get(dev) ?? -1;
  if (me >= 0) fdb.set(frame.src, me);
  const group = frame.dst === BROADCAST_MAC || isMulticastMac(frame.dst);
  const known = group ? undefined : fdb.get(frame.dst);
  if (known !== undefined) {
    if (known !== me) lanDeliver(sim, ports[known]!, frame, dir);
    return;
  }
  for (let i = 0; i < ports.length; i++) {
    if (i === me) continue;
    const port = ports[i]!;
    // a NIC filters unicast for other MACs in hardware; a bridge port is promiscuous
    if (!group && frame.dst !== port.link.mac && port.link.master === undefined) continue;
    lanDeliver(sim, port, frame, dir);
  }
}

function lanDeliver(sim: Sim, port: LanPort, frame: Frame, dir: Dir): void {
  const pns = port.ns.id;
  const plink = port.link;
  sim.at(LAN_LATENCY_US, () => rx(sim, pns, plink, frame, dir));
}

export function linkDrop(sim: Sim, nsId: NsId, dev: Link, frame: Frame, dir: Dir, peer: boolean): void {
  const reason = { kind: 'link-down', dev: dev.name, peer } as const;
  if (frame.payload.kind === 'ip') sim.drop(nsId, looseSkb(frame.payload.ip, dir), 'link-down', 'xmit', reason, { dev: dev.name, counter: 'tx_dropped' });
  else sim.step({ kind: 'neigh', ns: nsId, dev: dev.name, dir, event: 'not-sent', reason });
}

/** netif_receive_skb: a frame arriving on a device (a link of the world the sim runs on). */
export function rx(sim: Sim, nsId: NsId, dev: Link, frame: Frame, dir: Dir): void {
  sim.capture(nsId, dev.name, 'in', frame);
  if (!dev.up) return;
  if (dev.master !== undefined) {
    const br = facts(sim.ns(nsId)).byIndex.get(dev.master);
    if (br) bridgeInput(sim, nsId, br, dev, frame, dir);
    return;
  }
  l3Input(sim, nsId, dev, frame, dir);
}

/** The protocol handlers: ARP (arp_rcv) or IPv4 (ip_rcv), after the PACKET_OTHERHOST check. */
export function l3Input(sim: Sim, nsId: NsId, dev: Link, frame: Frame, dir: Dir): void {
  if (frame.dst !== BROADCAST_MAC && !isMulticastMac(frame.dst) && frame.dst !== dev.mac && dev.kind !== 'loopback') {
    if (frame.payload.kind === 'ip')
      sim.drop(nsId, looseSkb(frame.payload.ip, dir), 'not-for-us', 'l2', { kind: 'otherhost', lladdr: frame.dst, dev: dev.name }, { dev: dev.name });
    return;
  }
  if (frame.payload.kind === 'arp') {
    arpRcv(sim, nsId, dev, frame.payload.arp, dir);
    return;
  }
  if (frame.dst !== BROADCAST_MAC && isMulticastMac(frame.dst)) return; // no IPv4 multicast traffic in probes
  // a packet sent through a broadcast route comes to every host of the link (PACKET_BROADCAST)
  ipRcv(sim, nsId, dev, frame.payload.ip, dir, frame.dst === BROADCAST_MAC);
}
