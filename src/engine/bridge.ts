/**
 * The Linux bridge (net/bridge/br_input.c, br_forward.c) and br_netfilter
 * (br_netfilter_hooks.c), which hands bridged IPv4 frames to the iptables hooks when
 * net.bridge.bridge-nf-call-iptables is 1:
 *
 *   frame in on a port -> learn the source MAC
 *     br_nf_pre_routing: PREROUTING (iif = the bridge, --physdev-in = the port), once per frame
 *     for the bridge itself (its MAC or a port's: local fdb entries) -> up the stack, where
 *       ip_sabotage_in skips PREROUTING (already run) and routing goes on (INPUT or FORWARD keep
 *       --physdev-in)
 *     else, per output port (known destination, or flood): br_nf_forward_ip FORWARD
 *       (iif = oif = the bridge, --physdev-out = the port), br_nf_post_routing POSTROUTING, out.
 *
 * A port never sends a frame back out of itself unless it is in hairpin mode (should_deliver).
 */
import type { Link, NsId } from '../model/link.js';
import type { Sim } from './sim.js';
import { newSkb, type Dir, type Skb } from './skb.js';
import { arpFloodIndex, carrierPorts, facts, lookup, type ArpFloodIndex } from './derived.js';
import { effectiveConf } from '../world/sysctl.js';
import { neighResolve, notLocal } from './arp.js';
import { hasCarrier } from '../world/links.js';
import { BROADCAST_MAC, isMulticastMac, type ArpPacket, type Frame, type IpPacket } from './packet.js';
import { nfHook, nfVerdict, type Ifs } from './nf_hook.js';
import type { Step } from '../trace/types.js';
import { l3Input, LINK_LATENCY_US, xmitFrame } from './dev.js';
import { ipRcvFinish } from './ip_input.js';

function fdbOf(sim: Sim, nsId: NsId, br: Link): Map<string, number> {
  let m = sim.fdb.get(nsId);
  if (!m) sim.fdb.set(nsId, (m = new Map()));
  let f = m.get(br.ifindex);
  if (!f) m.set(br.ifindex, (f = new Map()));
  return f;
}

function brNfOn(sim: Sim, nsId: NsId): boolean {
  return sim.ns(nsId).sysctl['net.bridge.bridge-nf-call-iptables'] === '1';
}

/** Whether the destination MAC is the bridge's own (its MAC or a port's: local fdb entries). */
function isLocalMac(sim: Sim, nsId: NsId, br: Link, mac: string): boolean {
  return mac === br.mac || facts(sim.ns(nsId)).bridgeMacs.get(br.ifindex)?.has(mac) === true;
}

/** br_handle_frame: a frame arriving on a bridge port. */
export function bridgeInput(sim: Sim, nsId: NsId, br: Link, port: Link, frame: Frame, dir: Dir): void {
  if (!br.up) {
    sim.step({ kind: 'bridge', ns: nsId, dev: port.name, dir, event: 'down', bridge: br.name, port: port.name });
    return;
  }
  // br_fdb_update, unless the port does not learn (bridge link set ... learning off)
  if (port.brport?.learning !== false) fdbOf(sim, nsId, br).set(frame.src, port.ifindex);
  const bcast = frame.dst === BROADCAST_MAC || isMulticastMac(frame.dst);
  if (frame.payload.kind === 'ip' && brNfOn(sim, nsId)) {
    brNfPreRouting(sim, nsId, br, port, frame, frame.payload.ip, dir, bcast);
    return;
  }
  if (bcast) {
    sim.step({ kind: 'bridge', ns: nsId, dev: br.name, dir, event: 'broadcast', bridge: br.name, port: port.name });
    bridgeXmit(sim, nsId, br, frame, port, dir);
    sim.capture(nsId, br.name, 'in', frame);
    l3Input(sim, nsId, br, frame, dir);
    return;
  }
  if (isLocalMac(sim, nsId, br, frame.dst)) {
    sim.capture(nsId, br.name, 'in', frame);
    l3Input(sim, nsId, br, frame.dst === br.mac ? frame : { ...frame, dst: br.mac }, dir);
    return;
  }
  bridgeXmit(sim, nsId, br, frame, port, dir);
}

/** The ports a frame goes out of: its known port (br_fdb_find), or every port with carrier (flood). */
function outPorts(sim: Sim, nsId: NsId, br: Link, frame: Frame, inPort: Link | undefined): { outs: Link[]; known: boolean } {
  const ns = sim.ns(nsId);
  const bcast = frame.dst === BROADCAST_MAC || isMulticastMac(frame.dst);
  const knownIdx = bcast ? undefined : sim.fdb.get(nsId)?.get(br.ifindex)?.get(frame.dst);
  if (knownIdx !== undefined) {
    const p = facts(ns).byIndex.get(knownIdx);
    const deliver = p !== undefined && p.master === br.ifindex && (!inPort || p.ifindex !== inPort.ifindex || hairpin(p)) && hasCarrier(sim.world, ns, p);
    return { outs: deliver ? [p] : [], known: true };
  }
  const outs: Link[] = [];
  for (const p of carrierPorts(sim.world, ns, br)) {
    // br_flood: unknown unicast only to ports with flood on, broadcast only with bcast_flood on
    if (p.brport && (bcast ? (frame.dst === BROADCAST_MAC ? !p.brport.bcast_flood : !p.brport.mcast_flood) : !p.brport.flood)) continue;
    // should_deliver: never back out of the ingress port unless it is in hairpin mode
    if (inPort && p.ifindex === inPort.ifindex && !hairpin(p)) continue;
    outs.push(p);
  }
  return { outs, known: false };
}

function hairpin(p: Link): boolean {
  return p.brport?.hairpin === true;
}

/** br_forward / br_flood (and br_dev_xmit for frames the bridge device itself sends). */
export function bridgeXmit(sim: Sim, nsId: NsId, br: Link, frame: Frame, inPort: Link | undefined, dir: Dir): void {
  if (!sim.opts.captures && frame.dst === BROADCAST_MAC && frame.payload.kind === 'arp' && frame.payload.arp.op === 'request') {
    floodArpRequest(sim, nsId, br, frame, frame.payload.arp, inPort, dir);
    return;
  }
  const { outs, known } = outPorts(sim, nsId, br, frame, inPort);
  if (inPort && frame.payload.kind === 'ip') {
    if (known) sim.step({ kind: 'bridge', ns: nsId, dev: br.name, packet: frame.payload.ip, dir, event: 'forward', bridge: br.name, to: outs[0]?.name ?? '?' });
    else sim.step({ kind: 'bridge', ns: nsId, dev: br.name, packet: frame.payload.ip, dir, event: 'flood', bridge: br.name, to: outs.map((p) => p.name) });
  }
  for (const out of outs) xmitFrame(sim, nsId, out, frame, dir);
}

/**
 * br_flood of a broadcast ARP request when no frame is kept (captures off): the same walk, but
 * the ports where the request can only be "not-local" (derived.ts arpFloodIndex, and no
 * neighbour entry for the sender there in this sim) are not sent to one by one: each run of them
 * between two other ports is one event, at the time and in the order their frames would have
 * arrived, that records each one's "not-local" step and counts each as an event. Steps, drops and
 * results are those of the full walk (test/engine/arp-flood.test.ts).
 */
function floodArpRequest(sim: Sim, nsId: NsId, br: Link, frame: Frame, arp: ArpPacket, inPort: Link | undefined, dir: Dir): void {
  const x = arpFloodIndex(sim.world, sim.ns(nsId), br);
  const reactive = withNeighbourOf(sim, x, arp.spa, x.reactive(arp.tpa));
  const n = x.ports.length;
  let from = 0;
  for (let k = 0; k <= reactive.length; k++) {
    const r = k < reactive.length ? reactive[k]! : n;
    if (from < r) notLocalRun(sim, x, from, r, inPort, arp.tpa, dir);
    if (r < n) {
      const p = x.ports[r]!;
      if (!inPort || p.ifindex !== inPort.ifindex || hairpin(p)) xmitFrame(sim, nsId, p, frame, dir);
    }
    from = r + 1;
  }
}

/** `reactive` and the inert ports whose receiver holds a neighbour entry for `spa` in this sim (arp_process updates it). */
function withNeighbourOf(sim: Sim, x: ArpFloodIndex, spa: number, reactive: readonly number[]): readonly number[] {
  let held: number[] | undefined;
  for (const [nsId, byDev] of sim.neigh) {
    const at = x.position.get(nsId);
    if (!at) continue;
    for (const [ifindex, cache] of byDev) {
      const i = at.get(ifindex);
      if (i !== undefined && cache.has(spa)) (held ??= []).push(i);
    }
  }
  return held ? [...new Set([...reactive, ...held])].sort((a, b) => a - b) : reactive;
}

/**
 * The inert ports [from, to), less the ingress port unless it is in hairpin mode: one event that
 * records each one's "not-local" step (with 'why' steps, the first one; the others are deferred).
 */
function notLocalRun(sim: Sim, x: ArpFloodIndex, from: number, to: number, inPort: Link | undefined, tpa: number, dir: Dir): void {
  const skip = inPort && !hairpin(inPort) ? inPort.ifindex : -1;
  if (to - from === 1 && x.ports[from]!.ifindex === skip) return;
  sim.at(LINK_LATENCY_US, () => {
    let i = from;
    if (x.ports[i]!.ifindex === skip) i++;
    const r = x.inert[i]!;
    notLocal(sim, r.ns, r.dev, dir, tpa);
    if (sim.opts.steps !== 'why') {
      for (i++; i < to; i++) {
        if (x.ports[i]!.ifindex === skip) continue;
        if (!sim.countEvent()) return;
        const q = x.inert[i]!;
        notLocal(sim, q.ns, q.dev, dir, tpa);
      }
      return;
    }
    // the rest: counted as events now, their steps made only for namespaces the trace names
    const at = skip >= 0 ? (x.portAt.get(skip) ?? -1) : -1;
    const inside = at > i && at < to ? 1 : 0;
    const got = sim.countEvents(to - i - 1 - inside);
    const end = i + 1 + got + (at > i && at < i + 1 + got ? 1 : 0);
    if (got > 0) deferNotLocal(sim, x, i + 1, end, skip, tpa, dir);
  });
}

/** The "not-local" steps of the inert ports [from, to) (less `skip`), deferred. */
function deferNotLocal(sim: Sim, x: ArpFloodIndex, from: number, to: number, skip: number, tpa: number, dir: Dir): void {
  const t = sim.t;
  let last = to - 1;
  if (x.ports[last]!.ifindex === skip) last--;
  if (last < from) return;
  const step = (i: number): Step => {
    const r = x.inert[i]!;
    return { kind: 'neigh', ns: r.ns, dev: r.dev.name, dir, event: 'not-local', addr: tpa, t };
  };
  sim.defer({
    lastNs: x.inert[last]!.ns,
    made(named, withLast) {
      const at: number[] = [];
      for (const ns of named) for (const i of x.position.get(ns)?.values() ?? []) if (i >= from && i <= last && x.ports[i]!.ifindex !== skip) at.push(i);
      if (withLast && !at.includes(last)) at.push(last);
      return at.sort((a, b) => a - b).map(step);
    },
  });
}

/** br_nf_pre_routing and what follows it for one IPv4 frame. */
function brNfPreRouting(sim: Sim, nsId: NsId, br: Link, port: Link, frame: Frame, pkt: IpPacket, dir: Dir, bcast: boolean): void {
  const skb = newSkb(pkt, dir, br.name);
  skb.physIn = port.name;
  skb.mac = { src: frame.src, dst: frame.dst };
  const ifs: Ifs = { iif: br.name, physIn: port.name, bridged: true };
  const v = nfHook(sim, nsId, 'PREROUTING', skb, ifs);
  if (nfVerdict(sim, nsId, 'PREROUTING', skb, v, br.name) !== undefined) return;
  const f2: Frame = skb.pkt === pkt ? frame : { ...frame, payload: { kind: 'ip', ip: skb.pkt } };
  // br_nf_pre_routing_finish: a connection with DNAT is routed again; when the new route leaves
  // by this bridge the frame stays bridged, to the neighbour's MAC, from the port it came in on
  // (needs forwarding: observed, fixtures/kernel/facts/hairpin.sh); elsewhere it goes up the stack
  if (skb.ct !== undefined && skb.ct.entry.dnat) {
    brNfDnat(sim, nsId, br, port, f2, skb);
    return;
  }
  if (bcast) {
    sim.step({ kind: 'bridge', ns: nsId, dev: br.name, dir, event: 'broadcast', bridge: br.name, port: port.name });
    brNfForward(sim, nsId, br, port, f2, skb);
    return;
  }
  if (isLocalMac(sim, nsId, br, frame.dst)) {
    // br_pass_frame_up -> ip_rcv; ip_sabotage_in: PREROUTING already ran, routing goes on
    sim.capture(nsId, br.name, 'in', f2);
    sim.step({ kind: 'recv', ns: nsId, dev: br.name, packet: skb.pkt, dir: skb.dir });
    ipRcvFinish(sim, nsId, br, skb);
    return;
  }
  brNfForward(sim, nsId, br, port, f2, skb);
}

function brNfDnat(sim: Sim, nsId: NsId, br: Link, port: Link, frame: Frame, skb: Skb): void {
  const ns = sim.ns(nsId);
  const p = skb.pkt;
  const res = lookup(ns, p.dst, p.src, skb.mark, br.name);
  const onBridge = res.kind === 'route' && res.route.type === 'unicast' && res.route.oif === br.ifindex;
  if (!onBridge) {
    sim.capture(nsId, br.name, 'in', frame);
    sim.step({ kind: 'recv', ns: nsId, dev: br.name, packet: p, dir: skb.dir });
    ipRcvFinish(sim, nsId, br, skb);
    return;
  }
  if (effectiveConf(ns.confAll, br.conf, 'forwarding') !== 1) {
    sim.drop(nsId, skb, 'forwarding-disabled', 'routing', { kind: 'forwarding-disabled', dst: p.dst, dev: br.name, wouldForward: true }, { dev: br.name, counter: 'InAddrErrors' });
    return;
  }
  const nh = res.route.via ?? p.dst;
  neighResolve(sim, nsId, br, nh, skb, res.route.origin, (mac) => brNfForward(sim, nsId, br, port, { ...frame, dst: mac }, skb));
}

/** br_forward with br_nf_forward_ip and br_nf_post_routing for each output port. */
function brNfForward(sim: Sim, nsId: NsId, br: Link, inPort: Link, frame: Frame, skb: Skb): void {
  const { outs, known } = outPorts(sim, nsId, br, frame, inPort);
  if (known) sim.step({ kind: 'bridge', ns: nsId, dev: br.name, packet: skb.pkt, dir: skb.dir, event: 'forward', bridge: br.name, to: outs[0]?.name ?? '?' });
  else sim.step({ kind: 'bridge', ns: nsId, dev: br.name, packet: skb.pkt, dir: skb.dir, event: 'flood', bridge: br.name, to: outs.map((p) => p.name) });
  for (const out of outs) {
    // each copy goes through FORWARD and POSTROUTING on its own (br_flood clones the skb)
    const c: Skb = { ...skb };
    const fifs: Ifs = { iif: br.name, oif: br.name, physIn: inPort.name, physOut: out.name, bridged: true };
    const v = nfHook(sim, nsId, 'FORWARD', c, fifs);
    if (nfVerdict(sim, nsId, 'FORWARD', c, v, br.name) !== undefined) continue;
    const v2 = nfHook(sim, nsId, 'POSTROUTING', c, fifs);
    if (nfVerdict(sim, nsId, 'POSTROUTING', c, v2, br.name) !== undefined) continue;
    xmitFrame(sim, nsId, out, c.pkt === skb.pkt ? frame : { ...frame, payload: { kind: 'ip', ip: c.pkt } }, c.dir);
  }
}

/**
 * nf_send_reset for a bridged frame: the RST is built with the original destination's MAC as
 * its source and sent straight out of the port the frame came in on (dev_queue_xmit on physindev).
 */
export function bridgedReset(sim: Sim, nsId: NsId, skb: Skb, rst: IpPacket, dir: Dir): void {
  const port = skb.physIn !== undefined ? facts(sim.ns(nsId)).byName.get(skb.physIn) : undefined;
  if (!port || !skb.mac) return;
  xmitFrame(sim, nsId, port, { src: skb.mac.dst, dst: skb.mac.src, payload: { kind: 'ip', ip: rst } }, dir);
}
