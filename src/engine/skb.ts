/**
 * The per-packet metadata the kernel keeps in the sk_buff, as far as a walk needs it.
 */
import type { CtEntry, CtState } from './conntrack.js';
import type { IpPacket } from './packet.js';
import type { Rtable } from './route.js';

export type Dir = 'request' | 'reply';

/** skb->_nfct: the connection and the packet's direction in it (ctinfo). */
export interface SkbCt {
  readonly entry: CtEntry;
  readonly dir: 'orig' | 'reply';
  readonly state: CtState;
}

export interface Skb {
  pkt: IpPacket;
  mark: number;
  ct: SkbCt | undefined;
  /** IP_CT_UNTRACKED (raw NOTRACK) */
  untracked: boolean;
  /**
   * _nfct set by nf_ct_attach (an ICMP error or a RST the stack made about another packet): the
   * NOTRACK target leaves such a packet alone ("previously seen"). Attached from an untracked
   * packet it carries RELATED without a conntrack, which conntrack matches read as INVALID
   * (observed: models/k-notrack-icmp-error.yaml).
   */
  attached: boolean;
  /** whether this packet belongs to the probe's request or to a reply */
  readonly dir: Dir;
  /** input device name (undefined for locally generated) */
  iif: string | undefined;
  /** br_netfilter: the bridge port the frame came in on (nf_bridge->physindev) */
  physIn: string | undefined;
  /** the Ethernet header of a bridged frame (eth_hdr), for answers br_netfilter sends at layer 2 */
  mac: { readonly src: string; readonly dst: string } | undefined;
  /** skb_dst: the route chosen on output or input */
  rt: Rtable | undefined;
  /** hops so far, for the engine's own loop guard */
  hops: number;
  /**
   * PACKET_BROADCAST: the frame came to the link-layer broadcast address. IPv4 takes it (a
   * unicast destination too: drop_unicast_in_l2_multicast is 0), but ip_forward forwards only
   * PACKET_HOST frames, tcp_v4_rcv discards it and icmp_send sends no error about it.
   */
  l2Broadcast: boolean;
}

export function newSkb(pkt: IpPacket, dir: Dir, iif?: string): Skb {
  return { pkt, mark: 0, ct: undefined, untracked: false, attached: false, dir, iif, physIn: undefined, mac: undefined, rt: undefined, hops: 0, l2Broadcast: false };
}

/** A packet that never entered the stack (dropped on a link, refused before routing). */
export function looseSkb(pkt: IpPacket, dir: Dir): Skb {
  const s = newSkb(pkt, dir);
  s.untracked = true;
  return s;
}
