/**
 * ip_forward (net/ipv4/ip_forward.c): TTL, then NF_INET_FORWARD, then ip_output's POSTROUTING.
 */
import type { Link, NsId } from '../model/link.js';
import { bug } from '../model/errors.js';
import type { Sim } from './sim.js';
import type { Skb } from './skb.js';
import { ICMP, withTtl } from './packet.js';
import { nfHook, nfVerdict, type Ifs } from './nf_hook.js';
import { icmpSend } from './icmp.js';
import { ipPostRouting } from './ip_output.js';

const MAX_HOPS = 255;

export function ipForward(sim: Sim, nsId: NsId, dev: Link, skb: Skb): void {
  const rt = skb.rt ?? bug('forward without a route');
  if (++skb.hops > MAX_HOPS) bug('hop guard');
  if (skb.pkt.ttl <= 1) {
    sim.drop(nsId, skb, 'ttl-expired', 'forward', { kind: 'ttl', ttl: skb.pkt.ttl }, { dev: dev.name, counter: 'InHdrErrors' });
    icmpSend(sim, nsId, skb, ICMP.TIME_EXCEEDED, 0);
    return;
  }
  skb.pkt = withTtl(skb.pkt, skb.pkt.ttl - 1);
  const ifs: Ifs = { iif: dev.name, oif: rt.dev.name, physIn: skb.physIn, bridged: false };
  const v = nfHook(sim, nsId, 'FORWARD', skb, ifs);
  if (nfVerdict(sim, nsId, 'FORWARD', skb, v, dev.name) !== undefined) return;
  ipPostRouting(sim, nsId, skb);
}
