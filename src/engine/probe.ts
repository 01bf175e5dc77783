/**
 * Probes: a client program in one namespace tries a destination; the result is what that program
 * sees on real Linux (see docs/semantics.md "Client results"):
 *   tcp  -- connect(): reachable on SYN-ACK, refused on RST or ICMP port unreachable, no-route on
 *           ENETUNREACH/EHOSTUNREACH (local routing, failed ARP, ICMP unreachable or time
 *           exceeded), timeout when nothing comes back;
 *   udp  -- a connected socket without IP_RECVERR (nc -u, python): reachable when the echo comes
 *           back, refused on ICMP port unreachable; only "hard" ICMP errors are reported, so host
 *           and net unreachable end as timeout;
 *   icmp -- ping: reachable on echo reply, no-route on any unreachable or time exceeded.
 *
 * A probe that meets `-m statistic` runs once per combination of branches; each outcome carries
 * its probability.
 */
import type { NsId } from '../model/link.js';
import type { ProbeProto, ProbeResult } from '../plan/model.js';
import type { Ipv4 } from '../wire/ipv4.js';
import { formatIpv4 } from '../wire/ipv4.js';
import type { World } from '../world/types.js';
import type { ProbeTrace } from '../trace/types.js';
import { DEFAULT_SIM, Sim, type SimOptions } from './sim.js';
import { connectLookupAgain, connectRefused, injectTcp, tcpConnect } from './tcp.js';
import { ipLocalOut } from './ip_output.js';
import { isBroadcastRoute, sendable, socketDestination } from './route.js';
import { looseSkb } from './skb.js';
import { ICMP, type IpPacket, type TcpFlags } from './packet.js';
import { facts, lookup, routeSource } from './derived.js';

export interface Flow {
  readonly from: NsId;
  readonly to: Ipv4;
  readonly port?: number;
  readonly proto: ProbeProto;
  /** client source port (default: drawn from ip_local_port_range by the seed) */
  readonly sport?: number;
  /** client source address, as if bound before connect() (default: the route's choice) */
  readonly src?: Ipv4;
  /**
   * tcp only: send one crafted segment with these flags instead of a connect() (a raw socket).
   * The result is then `reachable` when the segment reaches the destination's socket layer,
   * `no-route` when an ICMP error or a local error comes back, else `timeout`.
   */
  readonly tcpFlags?: TcpFlags;
  /** tcp only: 'established' first completes a handshake, then sends the crafted segment on it */
  readonly state?: 'new' | 'established';
}

export const MAX_BRANCHES = 256;

export function errnoResult(errno: string | undefined): ProbeResult {
  if (errno === undefined) return 'timeout';
  if (errno === 'ok') return 'reachable';
  if (errno === 'ECONNREFUSED') return 'refused';
  return 'no-route';
}

/** Runs one flow; returns one trace per statistic branch combination (one without branches). */
export function simulate(world: World, flow: Flow, opts: Partial<SimOptions> = {}): ProbeTrace[] {
  const base: SimOptions = { ...DEFAULT_SIM, ...opts };
  const out: ProbeTrace[] = [];
  const todo: boolean[][] = [[...base.choices]];
  while (todo.length > 0 && out.length < MAX_BRANCHES) {
    const choices = todo.shift()!;
    const sim = runOnce(world, flow, { ...base, choices });
    // branches not yet explored: flip each decision after the forced prefix
    for (let i = choices.length; i < sim.choiceLog.length; i++) {
      const c = sim.choiceLog[i]!;
      const alt = !c.matched;
      const pAlt = alt ? c.p : 1 - c.p;
      if (pAlt <= 0) continue;
      todo.push([...sim.choiceLog.slice(0, i).map((x) => x.matched), alt]);
    }
    let probability = 1;
    for (const c of sim.choiceLog) probability *= c.matched ? c.p : 1 - c.p;
    if (probability <= 0) continue;
    out.push(toTrace(world, flow, sim, probability));
  }
  if (todo.length > 0 && out.length > 0) {
    const last = out[out.length - 1]!;
    out[out.length - 1] = { ...last, notes: [...last.notes, `only the first ${MAX_BRANCHES} statistic branches were followed`] };
  }
  return out;
}

function runOnce(world: World, flow: Flow, opts: SimOptions): Sim {
  // a crafted segment is judged alone: the handshake before it, if any, stops at ESTABLISHED
  const craftedFlow = flow.proto === 'tcp' && (flow.tcpFlags !== undefined || flow.state === 'established');
  const sim = new Sim(world, { ...opts, choices: opts.choices, fullTcp: opts.fullTcp && !craftedFlow });
  const ns = world.netns[flow.from];
  if (!ns) throw new Error(`netpath bug: probe from unknown namespace ${flow.from}`);
  const sport = flow.sport ?? sim.ephemeralPort(flow.from);
  switch (flow.proto) {
    case 'tcp': {
      if (flow.tcpFlags !== undefined || flow.state === 'established') {
        crafted(sim, ns, flow, sport);
        return sim;
      }
      const err = tcpConnect(sim, flow.from, flow.to, flow.port ?? 80, sport, flow.src);
      if (err) sim.clientDone(err);
      break;
    }
    case 'udp':
    case 'icmp': {
      // connect()/sendto: the route is looked up first; errors come back synchronously
      if (flow.src !== undefined && !facts(ns).localAddrs.has(flow.src)) {
        sim.clientDone('EADDRNOTAVAIL');
        break;
      }
      const to = socketDestination(flow.to, flow.src);
      const res = lookup(ns, to, flow.src ?? 0, 0, 'lo');
      const ok = res.kind === 'route' && sendable(res.route.type);
      const src = flow.src ?? (ok ? routeSource(ns, res.route, to) : undefined);
      const id = flow.proto === 'icmp' ? sport & 0xffff : sport;
      const pkt: IpPacket =
        flow.proto === 'udp'
          ? { src: flow.src ?? 0, dst: to, ttl: 64, id: sim.nextIpId(flow.from), l4: { kind: 'udp', sport, dport: flow.port ?? 7, len: 14, data: 'netpath probe\n' } }
          : { src: flow.src ?? 0, dst: to, ttl: 64, id: sim.nextIpId(flow.from), l4: { kind: 'icmp', type: ICMP.ECHO, code: 0, id, seq: 1 } };
      sim.clientFlow = { ns: flow.from, proto: flow.proto, local: src ?? 0, lport: id, remote: to, rport: flow.port ?? 0 };
      sim.step({ kind: 'send', ns: flow.from, what: flow.proto === 'udp' ? 'sendto' : 'ping', to, ...(flow.proto === 'udp' ? { toPort: flow.port ?? 7 } : {}), packet: pkt, dir: 'request' });
      // a connected UDP socket: ip_route_connect looks the route up again with the source it chose
      // (a raw ICMP socket does not); that route's error is connect()'s
      // a connected UDP socket looks its route up again from the source it chose (a raw ICMP
      // socket does not): that route's error is connect()'s
      if (flow.proto === 'udp' && ok && flow.src === undefined && src !== undefined) {
        const again = connectLookupAgain(ns, to, src);
        if (again) {
          sim.clientDone(connectRefused(sim, flow.from, { ...pkt, src }, again, to));
          break;
        }
      }
      if (ok && isBroadcastRoute(to, res.route.type)) {
        // udp_sendmsg / raw_sendmsg: a broadcast destination needs SO_BROADCAST (observed: bcast-zero.sh)
        sim.drop(flow.from, looseSkb(pkt, 'request'), 'broadcast-denied', 'output', { kind: 'broadcast', dst: to, tcp: false });
        sim.clientDone('EACCES');
        break;
      }
      const err = ipLocalOut(sim, flow.from, pkt, 'request');
      if (err) sim.clientDone(err);
      break;
    }
  }
  sim.run();
  return sim;
}

/** A crafted segment, after a handshake when the flow asks for an established connection. */
function crafted(sim: Sim, ns: World['netns'][string], flow: Flow, sport: number): void {
  const flags = flow.tcpFlags ?? { ack: true, psh: true };
  const dport = flow.port ?? 80;
  let src = flow.src;
  if (flow.state === 'established') {
    const err = tcpConnect(sim, flow.from, flow.to, dport, sport, flow.src);
    if (err) sim.clientDone(err);
    sim.run();
    if (sim.client?.errno !== 'ok') return; // no connection: the result is the handshake's
    src = sim.clientFlow?.local;
    sim.resetClient();
  }
  if (src === undefined) {
    const res = lookup(ns, flow.to, 0, 0, 'lo');
    src = res.kind === 'route' && ['unicast', 'local', 'broadcast'].includes(res.route.type) ? routeSource(ns, res.route, flow.to) : undefined;
  }
  if (src === undefined || !facts(ns).localAddrs.has(src)) {
    sim.clientDone(src === undefined ? 'ENETUNREACH' : 'EADDRNOTAVAIL');
    return;
  }
  const t0 = sim.t;
  const err = injectTcp(sim, flow.from, src, flow.to, sport, dport, flags);
  if (err) sim.clientDone(err);
  sim.run();
  const dst = flow.to;
  const reached = sim.deliveries.some((d) => d.t >= t0 && sim.world.netns[d.ns] !== undefined && facts(sim.world.netns[d.ns]!).localAddrs.has(dst));
  // the segment's own fate decides: delivered beats whatever the stack answered
  if (reached) {
    sim.resetClient();
    sim.clientDone('ok');
  } else if (sim.client?.errno === 'ok' || sim.client?.errno === 'ECONNREFUSED') sim.resetClient();
}

function toTrace(world: World, flow: Flow, sim: Sim, probability: number): ProbeTrace {
  const errno = sim.client?.errno ?? 'timeout';
  // ping reports every ICMP error (and every local send error) as a failure to reach the host
  const result = flow.proto === 'icmp' && errno !== 'ok' && errno !== 'timeout' ? 'no-route' : errnoResult(sim.client?.errno);
  const to = flow.port !== undefined ? `${formatIpv4(flow.to)}:${flow.port}` : formatIpv4(flow.to);
  const notes = [...sim.notes];
  if (sim.choiceLog.length > 0)
    notes.push(`statistic branch: ${sim.choiceLog.map((c) => `${c.what} ${c.matched ? 'matched' : 'did not match'}`).join(', ')}`);
  const base: ProbeTrace = {
    from: flow.from,
    to,
    proto: flow.proto,
    result,
    errno,
    probability,
    steps: sim.record(),
    drops: sim.drops,
    captures: sim.captures,
    notes,
    ...(sim.requestDelivered ? { delivered: sim.requestDelivered } : {}),
  };
  void world;
  return base;
}
