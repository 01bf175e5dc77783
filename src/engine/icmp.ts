/**
 * ICMP errors the stack sends (icmp_send, net/ipv4/icmp.c) and ipt_REJECT's answers
 * (nf_send_unreach, nf_send_reset in net/ipv4/netfilter/nf_reject_ipv4.c).
 */
import type { NsId } from '../model/link.js';
import type { RejectWith } from '../netfilter/types.js';
import { isMulticast } from '../wire/ipv4.js';
import type { Sim } from './sim.js';
import type { Dir, Skb, SkbCt } from './skb.js';
import { facts } from './derived.js';
import { ICMP, isIcmpError, type IpPacket } from './packet.js';
import { ipLocalOut } from './ip_output.js';
import { rstFor } from './tcp.js';
import { bridgedReset } from './bridge.js';

/**
 * The connection an answer to `skb` belongs to (nf_ct_attach): the answer travels the other way,
 * so its direction is the opposite of the packet's; an ICMP error is RELATED to it even before
 * the entry is confirmed, and NAT translates its quoted header back.
 */
function attachedCt(skb: Skb, state: 'RELATED' | 'ESTABLISHED'): SkbCt | undefined {
  if (!skb.ct) return undefined;
  return { entry: skb.ct.entry, dir: skb.ct.dir === 'orig' ? 'reply' : 'orig', state };
}

/** icmp_send: an error about `skb` back to its source. */
export function icmpSend(sim: Sim, nsId: NsId, skb: Skb, type: number, code: number): void {
  const p = skb.pkt;
  // __icmp_send: no error about an ICMP error, nor about a frame to a link-layer broadcast address
  if (isIcmpError(p) || p.src === 0 || isMulticast(p.dst) || p.dst === 0xffffffff || skb.l2Broadcast) return;
  const ns = sim.ns(nsId);
  // a packet that was for us answers from its destination; otherwise the route picks the source
  const src = skb.rt?.local || facts(ns).localAddrs.has(p.dst) ? p.dst : 0;
  const err: IpPacket = { src, dst: p.src, ttl: 64, id: sim.nextIpId(nsId), l4: { kind: 'icmp', type, code, quoted: p } };
  const dir: Dir = skb.dir === 'request' ? 'reply' : 'request';
  sim.step({ kind: 'icmp', ns: nsId, icmpType: type, icmpCode: code, to: p.src, packet: err, dir });
  // icmp_glue_bits: nf_ct_attach(error, skb), also when skb is untracked
  const ct = attachedCt(skb, 'RELATED');
  ipLocalOut(sim, nsId, err, dir, ct, ct !== undefined || skb.untracked);
}

const REJECT_CODE: Readonly<Record<Exclude<RejectWith, 'tcp-reset'>, number>> = {
  'icmp-net-unreachable': ICMP.NET_UNREACH,
  'icmp-host-unreachable': ICMP.HOST_UNREACH,
  'icmp-port-unreachable': ICMP.PORT_UNREACH,
  'icmp-proto-unreachable': ICMP.PROT_UNREACH,
  'icmp-net-prohibited': ICMP.NET_ANO,
  'icmp-host-prohibited': ICMP.HOST_ANO,
  'icmp-admin-prohibited': ICMP.PKT_FILTERED,
};

/** ipt_REJECT: an ICMP error or a TCP RST (nf_send_reset) for the rejected packet. */
export function rejectPacket(sim: Sim, nsId: NsId, skb: Skb, how: RejectWith): void {
  const p = skb.pkt;
  if (how !== 'tcp-reset') {
    icmpSend(sim, nsId, skb, ICMP.DEST_UNREACH, REJECT_CODE[how]);
    return;
  }
  if (p.l4.kind !== 'tcp' || p.l4.flags.rst) return;
  const rst = rstFor(p, p.l4);
  const dir: Dir = skb.dir === 'request' ? 'reply' : 'request';
  sim.step({ kind: 'send', ns: nsId, what: 'reject-rst', to: p.src, toPort: p.l4.sport, packet: rst, dir });
  // nf_send_reset attaches the original connection (nf_ct_attach), so NAT is undone
  const ct = attachedCt(skb, 'ESTABLISHED');
  // a bridged frame's RST goes straight out of the port it came in on, MACs swapped
  if (skb.physIn !== undefined && skb.rt === undefined) {
    bridgedReset(sim, nsId, skb, rst, dir);
    return;
  }
  ipLocalOut(sim, nsId, rst, dir, ct, ct !== undefined || skb.untracked);
}

export function icmpName(type: number, code: number): string {
  if (type === ICMP.ECHO) return 'echo request';
  if (type === ICMP.ECHOREPLY) return 'echo reply';
  if (type === ICMP.TIME_EXCEEDED) return 'time exceeded in-transit';
  if (type === ICMP.DEST_UNREACH) {
    const names: Record<number, string> = {
      0: 'net unreachable',
      1: 'host unreachable',
      2: 'protocol unreachable',
      3: 'port unreachable',
      9: 'net prohibited',
      10: 'host prohibited',
      13: 'admin prohibited',
    };
    return names[code] ?? `unreachable code ${code}`;
  }
  return `type ${type} code ${code}`;
}

/** icmp_err_convert (net/ipv4/icmp.c) and tcp_v4_err/ping_err's errno for an ICMP error. */
export function icmpErrno(type: number, code: number): { errno: string; fatal: boolean } {
  if (type === ICMP.TIME_EXCEEDED) return { errno: 'EHOSTUNREACH', fatal: false };
  return ERR_CONVERT[code] ?? { errno: 'EHOSTUNREACH', fatal: false };
}

const ERR_CONVERT: Readonly<Record<number, { errno: string; fatal: boolean }>> = {
  0: { errno: 'ENETUNREACH', fatal: false },
  1: { errno: 'EHOSTUNREACH', fatal: false },
  2: { errno: 'ENOPROTOOPT', fatal: true },
  3: { errno: 'ECONNREFUSED', fatal: true },
  4: { errno: 'EMSGSIZE', fatal: false },
  5: { errno: 'EOPNOTSUPP', fatal: false },
  6: { errno: 'ENETUNREACH', fatal: true },
  7: { errno: 'EHOSTDOWN', fatal: true },
  8: { errno: 'ENONET', fatal: true },
  9: { errno: 'ENETUNREACH', fatal: true },
  10: { errno: 'EHOSTUNREACH', fatal: true },
  11: { errno: 'ENETUNREACH', fatal: false },
  12: { errno: 'EHOSTUNREACH', fatal: false },
  13: { errno: 'EHOSTUNREACH', fatal: true },
  14: { errno: 'EHOSTUNREACH', fatal: true },
  15: { errno: 'EHOSTUNREACH', fatal: true },
};
