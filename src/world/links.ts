/** Link-layer state derived from the world: carrier, bridge ports, veth peers, LAN neighbours. */
import type { Link } from '../model/link.js';
import type { Netns, World } from './types.js';

/** A namespace's links by ifindex and by name, and each bridge's ports, indexed once per (immutable) Netns. */
interface LinkIndex {
  readonly byIndex: ReadonlyMap<number, Link>;
  readonly byName: ReadonlyMap<string, Link>;
  readonly ports: ReadonlyMap<number, readonly Link[]>;
}

const indexCache = new WeakMap<Netns, LinkIndex>();

function linkIndex(ns: Netns): LinkIndex {
  let x = indexCache.get(ns);
  if (x) return x;
  const byIndex = new Map<number, Link>();
  const byName = new Map<string, Link>();
  const ports = new Map<number, Link[]>();
  for (const l of ns.links) {
    if (!byIndex.has(l.ifindex)) byIndex.set(l.ifindex, l);
    if (!byName.has(l.name)) byName.set(l.name, l);
    if (l.master === undefined) continue;
    let list = ports.get(l.master);
    if (!list) ports.set(l.master, (list = []));
    list.push(l);
  }
  indexCache.set(ns, (x = { byIndex, byName, ports }));
  return x;
}

export function linkByIndex(ns: Netns, ifindex: number): Link | undefined {
  return linkIndex(ns).byIndex.get(ifindex);
}

/** The ports of a bridge, in the order of the namespace's links. */
export function bridgePorts(ns: Netns, br: Link): readonly Link[] {
  return linkIndex(ns).ports.get(br.ifindex) ?? [];
}

export function linkByName(ns: Netns, name: string): Link | undefined {
  return linkIndex(ns).byName.get(name);
}

/**
 * Whether the device has carrier (IFF_LOWER_UP): a veth when both ends are up, a bridge when one
 * of its ports has carrier (a bridge without ports shows NO-CARRIER), a LAN NIC and dummy when up.
 */
export function hasCarrier(world: World, ns: Netns, link: Link): boolean {
  if (!link.up) return false;
  switch (link.kind) {
    case 'loopback':
    case 'dummy':
    case 'nic':
      return true;
    case 'veth': {
      if (!link.peer) return false;
      const peer = peerOf(world, link);
      return peer !== undefined && peer.link.up;
    }
    case 'bridge': {
      // observed: a bridge without ports shows LOWER_UP (state UNKNOWN); with ports, it has
      // carrier when one of them has
      const ports = bridgePorts(ns, link);
      return ports.length === 0 || ports.some((p) => hasCarrier(world, ns, p));
    }
  }
}

export function peerOf(world: World, link: Link): { ns: Netns; link: Link } | undefined {
  if (!link.peer) return undefined;
  const ns = world.netns[link.peer.ns];
  const l = ns ? linkByIndex(ns, link.peer.ifindex) : undefined;
  return ns && l ? { ns, link: l } : undefined;
}

/** `ip -br link` state column: UP, DOWN (also when up without carrier), or UNKNOWN (lo, dummy, a bridge without ports). */
export function operState(world: World, ns: Netns, link: Link): string {
  if (link.kind === 'loopback') return link.up ? 'UNKNOWN' : 'DOWN';
  if (!link.up) return 'DOWN';
  if (link.kind === 'dummy') return 'UNKNOWN';
  if (link.kind === 'bridge' && bridgePorts(ns, link).length === 0) return 'UNKNOWN';
  return hasCarrier(world, ns, link) ? 'UP' : 'DOWN';
}

