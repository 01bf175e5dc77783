/**
 * ICMP received (net/ipv4/icmp.c icmp_rcv, ping.c): echo requests answered, echo replies to the
 * probe's ping socket, and errors reported to the socket they concern (tcp_v4_err,
 * __udp4_lib_err, ping_err).
 */
import type { NsId } from '../model/link.js';
import type { Sim } from './sim.js';
import type { Skb } from './skb.js';
import { ICMP, isIcmpError, type IpPacket } from './packet.js';
import { icmpErrno } from './icmp.js';
import { ipLocalOut } from './ip_output.js';
import { isBroadcastRoute, specDst } from './route.js';

export function icmpRcv(sim: Sim, nsId: NsId, skb: Skb): void {
  const p = skb.pkt;
  const l4 = p.l4;
  if (l4.kind !== 'icmp') return;
  const flow = sim.clientFlow;
  if (l4.type === ICMP.ECHO) {
    const bcast = isBroadcastRoute(p.dst, skb.rt?.type);
    // icmp_rcv drops an echo to a broadcast before icmp_echo looks at icmp_echo_ignore_all
    if (bcast && sim.ns(nsId).sysctl['net.ipv4.icmp_echo_ignore_broadcasts'] === '1') {
      sim.step({ kind: 'socket', ns: nsId, dir: skb.dir, event: 'broadcast-ignored', proto: 'icmp' });
      return;
    }
    if (sim.ns(nsId).sysctl['net.ipv4.icmp_echo_ignore_all'] === '1') {
      sim.step({ kind: 'socket', ns: nsId, dir: skb.dir, event: 'echo-ignored' });
      return;
    }
    // icmp_reply: from the address the echo was sent to, or fib_compute_spec_dst for a broadcast
    const from = bcast ? specDst(sim.ns(nsId), p.src) : p.dst;
    if (from === undefined) {
      sim.step({ kind: 'socket', ns: nsId, dir: 'reply', event: 'send-failed', errno: 'ENETUNREACH', what: 'echo-reply' });
      return;
    }
    const reply: IpPacket = { src: from, dst: p.src, ttl: 64, id: sim.nextIpId(nsId), l4: { kind: 'icmp', type: ICMP.ECHOREPLY, code: 0, id: l4.id ?? 0, seq: l4.seq ?? 0 } };
    const err = ipLocalOut(sim, nsId, reply, 'reply');
    if (err) sim.step({ kind: 'socket', ns: nsId, dir: 'reply', event: 'send-failed', errno: err, what: 'echo-reply' });
    return;
  }
  if (l4.type === ICMP.ECHOREPLY) {
    if (flow && nsId === flow.ns && flow.proto === 'icmp' && p.dst === flow.local && l4.id === flow.lport) sim.clientDone('ok');
    return;
  }
  if (isIcmpError(p)) icmpErrorRcv(sim, nsId, p);
}

/** An ICMP error for one of our sockets. */
function icmpErrorRcv(sim: Sim, nsId: NsId, p: IpPacket): void {
  const flow = sim.clientFlow;
  if (p.l4.kind !== 'icmp' || !p.l4.quoted || !flow || flow.ns !== nsId) return;
  const q = p.l4.quoted;
  const mine =
    q.src === flow.local &&
    q.dst === flow.remote &&
    (q.l4.kind === 'icmp' ? flow.proto === 'icmp' && q.l4.id === flow.lport : q.l4.kind === flow.proto && q.l4.sport === flow.lport && q.l4.dport === flow.rport);
  if (!mine) return;
  const { type, code } = p.l4;
  const errno = icmpErrno(type, code);
  if (flow.proto === 'udp' && !errno.fatal) {
    // a connected UDP socket without IP_RECVERR only reports "hard" errors (icmp_err_convert)
    sim.step({ kind: 'socket', ns: nsId, dir: 'reply', event: 'soft-error', icmpType: type, icmpCode: code });
    return;
  }
  sim.step({ kind: 'socket', ns: nsId, dir: 'reply', event: 'client-error', errno: errno.errno, icmpType: type, icmpCode: code, from: p.src });
  sim.clientDone(errno.errno);
}
