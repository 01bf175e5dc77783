/**
 * TCP (net/ipv4/tcp_ipv4.c, tcp_output.c, tcp_input.c), as much as a probe needs: the client's
 * connect(), a listener's SYN-ACK, the HTTP exchange and FIN for captures, RST for a port
 * nobody listens on (tcp_v4_send_reset), and crafted segments from a raw socket.
 */
import type { NsId } from '../model/link.js';
import type { Sim } from './sim.js';
import { looseSkb, type Dir, type Skb } from './skb.js';
import { facts, lookup } from './derived.js';
import type { FibResult } from '../route/fib.js';
import type { Netns } from '../world/types.js';
import type { IpPacket, TcpFlags, TcpHeader } from './packet.js';
import { ipLocalOut } from './ip_output.js';
import { isBroadcastRoute, loopbackSourceRefused, outputSource, resolve, routeError, sendable, socketDestination } from './route.js';
import { isMulticast } from '../wire/ipv4.js';

export const HTTP_REQUEST = 'GET / HTTP/1.1\r\nHost: netpath\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n';
export const HTTP_RESPONSE_HEADER =
  'HTTP/1.1 200 OK\r\nServer: netpath\r\nContent-Type: text/plain\r\nContent-Length: 24\r\nConnection: close\r\n\r\n';
export const HTTP_RESPONSE_BODY = 'hello from netpath probe\n'.slice(0, 24);

export interface TcpConn {
  readonly ns: NsId;
  readonly local: number;
  readonly lport: number;
  readonly remote: number;
  readonly rport: number;
  role: 'client' | 'server';
  state: 'SYN_SENT' | 'SYN_RECV' | 'ESTABLISHED' | 'FIN_WAIT' | 'CLOSE_WAIT' | 'LAST_ACK' | 'CLOSED';
  snd: number;
  rcv: number;
  /** bytes of response still expected (client) */
  pending: number;
}

/** __inet_lookup_established: the socket of a 4-tuple in a namespace. */
function findConn(sim: Sim, nsId: NsId, local: number, lport: number, remote: number, rport: number): TcpConn | undefined {
  const list = sim.tcp.get(nsId);
  if (!list) return undefined;
  for (const c of list) if (c.lport === lport && c.rport === rport && c.local === local && c.remote === remote) return c;
  return undefined;
}

function addConn(sim: Sim, c: TcpConn): void {
  let list = sim.tcp.get(c.ns);
  if (!list) sim.tcp.set(c.ns, (list = []));
  list.push(c);
}

/**
 * A route connect() cannot use: the drop at `connect`, with the route's reason, and the errno
 * connect() returns at once (routeError).
 */
export function connectRefused(sim: Sim, nsId: NsId, pkt: IpPacket, res: FibResult, dst: number): string {
  const e = routeError(res, dst, nsId);
  sim.drop(nsId, looseSkb(pkt, 'request'), e.code, 'connect', e.reason, { origin: e.origin, ...(e.code === 'no-route' ? { counter: 'OutNoRoutes' } : {}) });
  return e.errno;
}

/**
 * ip_route_connect's second lookup: with no bound source, the route is looked up again from the
 * source the first lookup chose, and a rule `from` that source can send it elsewhere; that
 * route's error is connect()'s (models/k-connect-second-lookup.yaml). The failing lookup, or
 * undefined when the route from `src` can be used.
 */
export function connectLookupAgain(ns: Netns, dst: number, src: number): FibResult | undefined {
  if (src === 0) return undefined;
  const again = lookup(ns, dst, src, 0, 'lo');
  return again.kind !== 'route' || !sendable(again.route.type) ? again : undefined;
}

/** The client's connect(): a SYN with the options Linux sends. Returns the errno connect() gets at once. */
export function tcpConnect(sim: Sim, nsId: NsId, to: number, dport: number, sport: number, bindSrc?: number): string | undefined {
  const isn = sim.random();
  const dst = socketDestination(to, bindSrc);
  const syn: IpPacket = { src: 0, dst, ttl: 64, id: sim.nextIpId(nsId), l4: { kind: 'tcp', sport, dport, flags: { syn: true }, seq: isn, ack: 0, len: 0 } };
  sim.step({ kind: 'send', ns: nsId, what: 'connect', to: dst, toPort: dport, packet: syn, dir: 'request' });
  // the socket's route is looked up before the SYN exists (ip_route_connect)
  const ns = sim.ns(nsId);
  if (bindSrc !== undefined && !facts(ns).localAddrs.has(bindSrc)) {
    sim.drop(nsId, looseSkb(syn, 'request'), 'no-route', 'connect', { kind: 'bind-not-local', addr: bindSrc });
    return 'EADDRNOTAVAIL';
  }
  const res = lookup(ns, dst, bindSrc ?? 0, 0, 'lo');
  if (res.kind !== 'route' || !sendable(res.route.type)) return connectRefused(sim, nsId, syn, res, dst);
  // tcp_v4_connect: a broadcast or multicast route is ENETUNREACH at once (observed: bcast-zero.sh)
  if (isBroadcastRoute(dst, res.route.type) || isMulticast(dst)) {
    sim.drop(nsId, looseSkb(syn, 'request'), 'no-route', 'connect', { kind: 'broadcast', dst, tcp: true });
    return 'ENETUNREACH';
  }
  const rt = resolve(ns, res.route, res.rule, dst);
  if (bindSrc !== undefined && loopbackSourceRefused(ns, bindSrc, rt)) {
    sim.drop(nsId, looseSkb(syn, 'request'), 'martian', 'connect', { kind: 'loopback-source', src: bindSrc, dev: rt.dev.name });
    return 'EINVAL';
  }
  // no usable source address: connect() goes on from 0.0.0.0 (fixtures/kernel/facts/src-noaddr.sh)
  const src = bindSrc ?? outputSource(ns, rt, dst) ?? 0;
  const again = bindSrc === undefined ? connectLookupAgain(ns, dst, src) : undefined;
  if (again) return connectRefused(sim, nsId, { ...syn, src }, again, dst);
  const conn: TcpConn = { ns: nsId, local: src, lport: sport, remote: dst, rport: dport, role: 'client', state: 'SYN_SENT', snd: (isn + 1) >>> 0, rcv: 0, pending: 0 };
  addConn(sim, conn);
  sim.clientFlow = { ns: nsId, proto: 'tcp', local: src, lport: sport, remote: dst, rport: dport };
  const err = ipLocalOut(sim, nsId, { ...syn, src }, 'request');
  // tcp_connect ignores transmit errors other than ECONNREFUSED (a DROP's EPERM, a reroute's
  // EACCES or ENETUNREACH after a mark): the SYN will be retransmitted (observed:
  // models/k-tcp-connect-errors.yaml, models/conf-mark-reroute-prohibit.yaml)
  return err === 'ECONNREFUSED' ? err : undefined;
}

/**
 * A crafted TCP segment from the client (a raw socket, or one more segment on the client's
 * established connection when there is one): for testing what a firewall lets through.
 */
export function injectTcp(sim: Sim, nsId: NsId, src: number, dst: number, sport: number, dport: number, flags: TcpFlags): string | undefined {
  const c = findConn(sim, nsId, src, sport, dst, dport);
  const data = flags.psh ? 'x' : '';
  const seq = c ? c.snd : sim.random();
  const ack = flags.ack ? (c ? c.rcv : sim.random()) : 0;
  const pkt: IpPacket = { src, dst, ttl: 64, id: sim.nextIpId(nsId), l4: { kind: 'tcp', sport, dport, flags, seq, ack, len: data.length, ...(data ? { data } : {}) } };
  if (c) c.snd = (c.snd + data.length + (flags.syn ? 1 : 0) + (flags.fin ? 1 : 0)) >>> 0;
  sim.clientFlow = { ns: nsId, proto: 'tcp', local: src, lport: sport, remote: dst, rport: dport };
  sim.step({ kind: 'send', ns: nsId, what: c ? 'crafted-established' : 'crafted', packet: pkt, dir: 'request' });
  return ipLocalOut(sim, nsId, pkt, 'request');
}

function tcpSend(sim: Sim, c: TcpConn, flags: TcpFlags, data: string, dir: Dir): void {
  const pkt: IpPacket = {
    src: c.local,
    dst: c.remote,
    ttl: 64,
    id: sim.nextIpId(c.ns),
    l4: { kind: 'tcp', sport: c.lport, dport: c.rport, flags, seq: c.snd, ack: flags.ack ? c.rcv : 0, len: data.length, ...(data ? { data } : {}) },
  };
  c.snd = (c.snd + data.length + (flags.syn ? 1 : 0) + (flags.fin ? 1 : 0)) >>> 0;
  const err = ipLocalOut(sim, c.ns, pkt, dir);
  if (err) sim.step({ kind: 'socket', ns: c.ns, dir, event: 'send-failed', errno: err, what: 'tcp' });
}

/** tcp_v4_rcv: an established socket, a listener, or a RST for nobody. */
export function tcpRcv(sim: Sim, nsId: NsId, skb: Skb): void {
  const p = skb.pkt;
  if (p.l4.kind !== 'tcp') return;
  if (skb.l2Broadcast) {
    // tcp_v4_rcv: "if (skb->pkt_type != PACKET_HOST) goto discard_it" (no RST)
    sim.drop(nsId, skb, 'not-for-us', 'input', { kind: 'l2-broadcast', dev: skb.iif ?? '', layer: 'tcp' }, {});
    return;
  }
  const l4 = p.l4;
  const c = findConn(sim, nsId, p.dst, l4.dport, p.src, l4.sport);
  if (c) return tcpSegment(sim, c, p, l4);
  if (isBroadcastRoute(p.dst, skb.rt?.type)) {
    // tcp_v4_conn_request: "never answer to SYNs send to broadcast or multicast"; tcp_v4_send_reset
    // answers only RTN_LOCAL (observed: models/k-broadcast-route.yaml)
    sim.step({ kind: 'socket', ns: nsId, dir: skb.dir, event: 'broadcast-ignored', proto: 'tcp', port: l4.dport });
    return;
  }
  if (l4.flags.syn && !l4.flags.ack && sim.hasService(nsId, 'tcp', l4.dport, p.dst)) {
    const isn = sim.random();
    const s: TcpConn = { ns: nsId, local: p.dst, lport: l4.dport, remote: p.src, rport: l4.sport, role: 'server', state: 'SYN_RECV', snd: isn, rcv: (l4.seq + 1) >>> 0, pending: 0 };
    addConn(sim, s);
    sim.step({ kind: 'socket', ns: nsId, dir: 'reply', event: 'listener-syn', port: l4.dport, from: p.src, fromPort: l4.sport });
    tcpSend(sim, s, { syn: true, ack: true }, '', 'reply');
    return;
  }
  if (l4.flags.rst) return;
  // tcp_v4_send_reset: nothing listens
  sim.step({ kind: 'socket', ns: nsId, dir: skb.dir, event: 'no-listener', proto: 'tcp', port: l4.dport });
  ipLocalOut(sim, nsId, rstFor(p, l4), skb.dir === 'request' ? 'reply' : 'request');
}

function tcpSegment(sim: Sim, c: TcpConn, p: IpPacket, l4: TcpHeader): void {
  const f = l4.flags;
  const myDir: Dir = c.role === 'client' ? 'request' : 'reply';
  if (f.rst) {
    if (c.role === 'client' && c.state === 'SYN_SENT') {
      sim.step({ kind: 'socket', ns: c.ns, dir: 'reply', event: 'connect-refused', from: p.src, fromPort: l4.sport });
      sim.clientDone('ECONNREFUSED');
    }
    c.state = 'CLOSED';
    return;
  }
  if (c.role === 'client' && c.state === 'SYN_SENT') {
    if (!(f.syn && f.ack)) return;
    c.rcv = (l4.seq + 1) >>> 0;
    c.state = 'ESTABLISHED';
    sim.step({ kind: 'socket', ns: c.ns, dir: 'reply', event: 'connect-ok', from: p.src, fromPort: l4.sport });
    sim.clientDone('ok');
    tcpSend(sim, c, { ack: true }, '', myDir);
    if (sim.opts.fullTcp) {
      c.pending = HTTP_RESPONSE_HEADER.length + HTTP_RESPONSE_BODY.length;
      tcpSend(sim, c, { psh: true, ack: true }, HTTP_REQUEST, myDir);
    }
    return;
  }
  if (c.role === 'server' && c.state === 'SYN_RECV' && f.ack && !f.syn) c.state = 'ESTABLISHED';
  // data and FIN
  if (l4.len > 0) {
    c.rcv = (l4.seq + l4.len) >>> 0;
    if (c.role === 'server' && c.state === 'ESTABLISHED') {
      tcpSend(sim, c, { ack: true }, '', myDir);
      tcpSend(sim, c, { psh: true, ack: true }, HTTP_RESPONSE_HEADER, myDir);
      tcpSend(sim, c, { psh: true, ack: true }, HTTP_RESPONSE_BODY, myDir);
      return;
    }
    if (c.role === 'client') {
      c.pending -= l4.len;
      tcpSend(sim, c, { ack: true }, '', myDir);
      if (c.pending <= 0 && c.state === 'ESTABLISHED') {
        c.state = 'FIN_WAIT';
        tcpSend(sim, c, { fin: true, ack: true }, '', myDir);
      }
      return;
    }
  }
  if (f.fin) {
    c.rcv = (l4.seq + l4.len + 1) >>> 0;
    if (c.role === 'server' && c.state === 'ESTABLISHED') {
      c.state = 'LAST_ACK';
      tcpSend(sim, c, { fin: true, ack: true }, '', myDir);
      return;
    }
    if (c.role === 'client' && c.state === 'FIN_WAIT') {
      c.state = 'CLOSED';
      tcpSend(sim, c, { ack: true }, '', myDir);
      return;
    }
  }
  if (c.role === 'server' && c.state === 'LAST_ACK' && f.ack) c.state = 'CLOSED';
}

/**
 * The RST answering a segment, as tcp_v4_send_reset and nf_send_reset build it: the ACK's number
 * as sequence when the segment had ACK, else an ACK of everything it carried.
 */
export function rstFor(p: IpPacket, l4: TcpHeader): IpPacket {
  return {
    src: p.dst,
    dst: p.src,
    ttl: 64,
    id: 0,
    l4: {
      kind: 'tcp',
      sport: l4.dport,
      dport: l4.sport,
      flags: l4.flags.ack ? { rst: true } : { rst: true, ack: true },
      seq: l4.flags.ack ? l4.ack : 0,
      ack: l4.flags.ack ? 0 : (l4.seq + l4.len + (l4.flags.syn ? 1 : 0) + (l4.flags.fin ? 1 : 0)) >>> 0,
      len: 0,
    },
  };
}
