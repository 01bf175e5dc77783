/**
 * The one place that reads a ProbeTrace for pictures: it turns the engine's steps into the path
 * drawn on the topology (which wires and which in-namespace hops the request and the reply
 * took), the NAT rewrites with where they happened, the drop point, and the step list shown
 * beside the picture. Everything else under src/report/ draws a ProbePath and never looks at a
 * step. It switches on step fields (kind, ns, dev, dir, packet, before), never on step text.
 */
import type { NsId } from '../model/link.js';
import type { Origin } from '../model/origin.js';
import { ICMP, type IpPacket } from '../engine/packet.js';
import type { ProbeTrace, Step } from '../trace/types.js';
import type { World } from '../world/types.js';
import { linkByName, peerOf } from '../world/links.js';
import { formatIpv4 } from '../wire/ipv4.js';
import { dropText, pktText, stepText } from '../trace/text.js';

export type Dir = 'request' | 'reply';

type Iface = Place & { readonly dev: string };

/** A point of the topology a packet passes: an interface, or a namespace's IP stack (dev undefined). */
export interface Place {
  readonly ns: NsId;
  readonly dev?: string;
}

/** One hop drawn on the picture, always along one edge of the topology graph. */
export type Hop =
  /** on the wire: a veth pair end to the other end */
  | { readonly kind: 'veth'; readonly dir: Dir; readonly from: Place & { dev: string }; readonly to: Place & { dev: string } }
  /** a LAN NIC sending onto its LAN (out) or receiving from it (in) */
  | { readonly kind: 'lan'; readonly dir: Dir; readonly lan: string; readonly nic: Place & { dev: string }; readonly way: 'out' | 'in' }
  /** inside a namespace: an interface and the IP stack, or a bridge port and its bridge */
  | { readonly kind: 'inside'; readonly dir: Dir; readonly from: Place; readonly to: Place };

export interface NatMark {
  readonly dir: Dir;
  readonly at: Place;
  /** which address changed: 'src' (SNAT, MASQUERADE, un-DNAT of a reply) or 'dst' */
  readonly manip: 'src' | 'dst';
  readonly before: string;
  readonly after: string;
}

export interface DropMark {
  readonly dir: Dir;
  readonly at: Place;
  readonly code: string;
  readonly stage: string;
  readonly detail: string;
  /** the kernel's SNMP counter that counts this drop (OutNoRoutes ...), when there is one */
  readonly counter?: string;
  readonly packet: string;
  /** the packet by name: SYN, SYN-ACK, RST, echo request, UDP ... */
  readonly what: string;
  readonly origin?: Origin;
}

/** One row of the step list. */
export interface StepRow {
  readonly t: number;
  readonly ns: NsId;
  readonly dev?: string;
  readonly kind: string;
  readonly dir?: Dir;
  readonly text: string;
  readonly packet?: string;
  readonly origin?: Origin;
}

export interface ProbePath {
  /** the client's namespace */
  readonly from: NsId;
  /** where the request reached a local socket, if it did */
  readonly delivered?: NsId;
  /** hops in the order first taken, each (edge, direction) once */
  readonly hops: readonly Hop[];
  readonly nats: readonly NatMark[];
  readonly drops: readonly DropMark[];
  readonly steps: readonly StepRow[];
}

export function probePath(world: World, tr: ProbeTrace): ProbePath {
  const hops: Hop[] = [];
  const seen = new Set<string>();
  const add = (h: Hop): void => {
    const k = hopKey(h);
    if (seen.has(k)) return;
    seen.add(k);
    hops.push(h);
  };
  /** where the packet now being handled in a namespace entered it, per direction (none: the stack) */
  const entry = new Map<string, { readonly at: Iface; readonly bridged: boolean }>();
  /** frames put on a veth towards a namespace and not yet taken in there, oldest first (several can be in flight) */
  const arriving = new Map<string, Iface[]>();
  const key = (ns: NsId, dir: Dir): string => `${dir} ${ns}`;
  const inside = (dir: Dir, from: Place, to: Place): void => {
    if (from.ns === to.ns && from.dev === to.dev) return;
    add({ kind: 'inside', dir, from, to });
  };
  const stack = (ns: NsId): Place => ({ ns });
  /** takes the oldest frame in flight to `dev`, or to a port of `dev` when it is a bridge */
  const takeArrival = (here: string, ns: NsId, dev: string): Iface | undefined => {
    const q = arriving.get(here);
    const n = world.netns[ns];
    const master = n ? linkByName(n, dev) : undefined;
    const i = q?.findIndex((f) => f.dev === dev || (master?.kind === 'bridge' && n && linkByName(n, f.dev)?.master === master.ifindex)) ?? -1;
    return i >= 0 ? q!.splice(i, 1)[0] : undefined;
  };

  for (const s of tr.steps) {
    const dir = s.dir;
    if (dir === undefined || s.packet === undefined) continue; // ARP and socket notes are not drawn
    const here = key(s.ns, dir);
    switch (s.kind) {
      case 'send':
        entry.delete(here);
        break;
      case 'recv':
        if (s.dev !== undefined) {
          const at = { ns: s.ns, dev: s.dev };
          const link = linkByName(world.netns[s.ns]!, s.dev);
          if (link?.lan !== undefined) add({ kind: 'lan', dir, lan: link.lan, nic: at, way: 'in' });
          // a frame that came in on a bridge port goes up the bridge device to the stack
          const prev = takeArrival(here, s.ns, s.dev);
          if (prev && prev.dev !== s.dev) inside(dir, prev, at);
          entry.set(here, { at, bridged: false });
        }
        break;
      case 'bridge':
        if (s.dev !== undefined) {
          const at = { ns: s.ns, dev: s.dev };
          const cur = entry.get(here);
          inside(dir, (cur?.bridged ? cur.at : undefined) ?? takeArrival(here, s.ns, s.dev) ?? cur?.at ?? stack(s.ns), at);
          entry.set(here, { at, bridged: true });
        }
        break;
      case 'xmit': {
        if (s.dev === undefined) break;
        const out = { ns: s.ns, dev: s.dev };
        const from = entry.get(here);
        if (from?.bridged) inside(dir, from.at, out);
        else {
          if (from) inside(dir, from.at, stack(s.ns));
          inside(dir, stack(s.ns), out);
        }
        const link = linkByName(world.netns[s.ns]!, s.dev);
        // sent on a bridge device: the bridge forwards it to one of its ports next
        if (link?.kind === 'bridge') entry.set(here, { at: out, bridged: true });
        else entry.delete(here);
        if (link?.lan !== undefined) add({ kind: 'lan', dir, lan: link.lan, nic: out, way: 'out' });
        const peer = link ? peerOf(world, link) : undefined;
        if (peer) {
          const to = { ns: peer.ns.id, dev: peer.link.name };
          add({ kind: 'veth', dir, from: out, to });
          const k = key(peer.ns.id, dir);
          arriving.set(k, [...(arriving.get(k) ?? []), to]);
        }
        break;
      }
      case 'deliver': {
        const from = entry.get(here);
        if (from) inside(dir, from.at, stack(s.ns));
        entry.delete(here);
        break;
      }
      case 'route':
        // an input route names the device the packet came in on (for a frame taken in on a bridge
        // port, the bridge): port -> bridge when it arrived on a port
        if (s.input && s.dev !== undefined) {
          const at = { ns: s.ns, dev: s.dev };
          const cur = entry.get(here);
          const from = cur && !cur.bridged ? cur.at : takeArrival(here, s.ns, s.dev);
          if (from && from.dev !== s.dev) inside(dir, from, at);
          entry.set(here, { at, bridged: false });
        }
        break;
      case 'nf':
      case 'conntrack':
      case 'nat':
      case 'nat-bind':
      case 'neigh':
      case 'drop':
      case 'icmp':
      case 'socket':
        break;
    }
  }

  const nats: NatMark[] = [];
  for (const s of tr.steps) {
    if (s.kind !== 'nat' || s.before === undefined || s.packet === undefined) continue;
    const dir = s.dir ?? 'request';
    const at: Place = s.dev !== undefined ? { ns: s.ns, dev: s.dev } : { ns: s.ns };
    const b = s.before;
    const a = s.packet;
    if (b.src !== a.src || sport(b) !== sport(a)) nats.push({ dir, at, manip: 'src', before: endpoint(b.src, sport(b)), after: endpoint(a.src, sport(a)) });
    if (b.dst !== a.dst || dport(b) !== dport(a)) nats.push({ dir, at, manip: 'dst', before: endpoint(b.dst, dport(b)), after: endpoint(a.dst, dport(a)) });
  }
  const natSeen = new Set<string>();
  const uniqueNats = nats.filter((n) => {
    const k = `${n.dir} ${n.at.ns} ${n.at.dev ?? ''} ${n.manip} ${n.before} ${n.after}`;
    if (natSeen.has(k)) return false;
    natSeen.add(k);
    return true;
  });

  const drops: DropMark[] = tr.drops.map((d) => ({
    dir: d.dir,
    at: d.dev !== undefined ? { ns: d.ns, dev: d.dev } : { ns: d.ns },
    code: d.code,
    stage: d.stage,
    detail: dropText(d),
    ...(d.counter !== undefined ? { counter: d.counter } : {}),
    packet: pktText(d.packet),
    what: packetName(d.packet),
    ...(d.origin && d.origin.line > 0 ? { origin: d.origin } : {}),
  }));

  return {
    from: tr.from,
    ...(tr.delivered ? { delivered: tr.delivered.ns } : {}),
    hops,
    nats: uniqueNats,
    drops,
    steps: tr.steps.map(stepRow),
  };
}

function stepRow(s: Step): StepRow {
  return {
    t: s.t,
    ns: s.ns,
    ...(s.dev !== undefined ? { dev: s.dev } : {}),
    kind: s.kind,
    ...(s.dir !== undefined ? { dir: s.dir } : {}),
    text: stepText(s),
    ...(s.packet ? { packet: pktText(s.packet) } : {}),
    ...(s.origin && s.origin.line > 0 ? { origin: s.origin } : {}),
  };
}

/** A packet as people name it, from its header fields. */
export function packetName(p: IpPacket): string {
  const l4 = p.l4;
  switch (l4.kind) {
    case 'tcp': {
      const f = l4.flags;
      if (f.rst) return 'RST';
      if (f.syn) return f.ack ? 'SYN-ACK' : 'SYN';
      if (f.fin) return 'FIN';
      return l4.len > 0 ? 'TCP data' : 'ACK';
    }
    case 'udp':
      return 'UDP';
    case 'icmp':
      return l4.type === ICMP.ECHO
        ? 'echo request'
        : l4.type === ICMP.ECHOREPLY
          ? 'echo reply'
          : l4.type === ICMP.DEST_UNREACH
            ? 'ICMP unreachable'
            : l4.type === ICMP.TIME_EXCEEDED
              ? 'ICMP time exceeded'
              : `ICMP type ${l4.type}`;
  }
}

function sport(p: IpPacket): number | undefined {
  return p.l4.kind === 'icmp' ? undefined : p.l4.sport;
}
function dport(p: IpPacket): number | undefined {
  return p.l4.kind === 'icmp' ? undefined : p.l4.dport;
}
function endpoint(a: number, port: number | undefined): string {
  return port === undefined ? formatIpv4(a) : `${formatIpv4(a)}:${port}`;
}

/** The topology edge a hop runs along, and which way (see topology.ts for the edge ids). */
export function hopKey(h: Hop): string {
  switch (h.kind) {
    case 'veth':
      return `${h.dir} veth ${placeId(h.from)} ${placeId(h.to)}`;
    case 'lan':
      return `${h.dir} lan ${h.lan} ${placeId(h.nic)} ${h.way}`;
    case 'inside':
      return `${h.dir} inside ${placeId(h.from)} ${placeId(h.to)}`;
  }
}

/** A stable id for an interface (`ns|dev`) or a namespace's stack (`ns|`). */
export function placeId(p: Place): string {
  return `${p.ns}|${p.dev ?? ''}`;
}
