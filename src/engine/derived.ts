/**
 * Per-namespace facts derived once from the immutable world and cached by object identity:
 * the FIB view, the local addresses, link lookups. The per-packet path only reads these.
 */
import type { Link, NsId } from '../model/link.js';
import { fibLookup, fibView, type FibResult, type FibView } from '../route/fib.js';
import type { Route } from '../route/types.js';
import { RT_TABLE } from '../route/types.js';
import type { AddrType } from '../netfilter/types.js';
import { inPrefix, isMulticast, networkOf } from '../wire/ipv4.js';
import type { Netns, Service, World } from '../world/types.js';
import { bridgePorts, hasCarrier, peerOf } from '../world/links.js';
import { effectiveConf } from '../world/sysctl.js';

export interface NsFacts {
  readonly fib: FibView;
  readonly byIndex: ReadonlyMap<number, Link>;
  readonly byName: ReadonlyMap<string, Link>;
  /** every local address (the local table's `local` routes) */
  readonly localAddrs: ReadonlySet<number>;
  readonly hasCustomRules: boolean;
  readonly hasCustomLocalRoutes: boolean;
  /** every route of type local, in any table: an address no one of them covers is never local */
  readonly localRoutes: readonly Route[];
  /** bridge ifindex -> the MACs that are the bridge's own (its MAC and its ports': local fdb entries) */
  readonly bridgeMacs: ReadonlyMap<number, ReadonlySet<string>>;
}

const cache = new WeakMap<Netns, NsFacts>();

export function facts(ns: Netns): NsFacts {
  let f = cache.get(ns);
  if (f) return f;
  const byIndex = new Map(ns.links.map((l) => [l.ifindex, l] as const));
  const byName = new Map(ns.links.map((l) => [l.name, l] as const));
  const localAddrs = new Set<number>();
  for (const r of ns.routes) if (r.table === RT_TABLE.local && r.type === 'local' && r.dst.len === 32) localAddrs.add(r.dst.addr);
  const hasCustomRules = ns.rules.some((r) => r.origin.line > 0);
  const hasCustomLocalRoutes = ns.customLocalRoutes === true;
  const bridgeMacs = new Map<number, Set<string>>();
  for (const l of ns.links) {
    if (l.kind === 'bridge') bridgeMacs.set(l.ifindex, new Set([l.mac, ...bridgePorts(ns, l).map((p) => p.mac)]));
  }
  const localRoutes = ns.routes.filter((r) => r.type === 'local');
  f = {
    localRoutes,
    fib: fibView(ns.rules, ns.routes, (i) => byIndex.get(i)?.name),
    bridgeMacs,
    byIndex,
    byName,
    localAddrs,
    hasCustomRules,
    hasCustomLocalRoutes,
  };
  cache.set(ns, f);
  return f;
}

/** A LAN's member NICs, resolved to their namespace and link once per world. */
export interface LanPort {
  readonly ns: Netns;
  readonly link: Link;
}

/** A LAN's switch ports in the model's order, and each member link's position among them. */
export interface LanFacts {
  readonly ports: readonly LanPort[];
  readonly position: ReadonlyMap<Link, number>;
}

const lanCache = new WeakMap<World, Map<string, LanFacts>>();

export function lanFacts(world: World, lan: string): LanFacts {
  let m = lanCache.get(world);
  if (!m) lanCache.set(world, (m = new Map()));
  let lf = m.get(lan);
  if (lf) return lf;
  const ports: LanPort[] = [];
  const position = new Map<Link, number>();
  for (const p of world.lans[lan]?.ports ?? []) {
    const ns = world.netns[p.ns];
    const link = ns ? facts(ns).byIndex.get(p.ifindex) : undefined;
    if (!ns || !link) continue;
    position.set(link, ports.length);
    ports.push({ ns, link });
  }
  m.set(lan, (lf = { ports, position }));
  return lf;
}

const serviceCache = new WeakMap<World, ReadonlyMap<NsId, readonly Service[]>>();

/** Whether a socket listens on proto/port at `dst` (or on every address) in a namespace; services indexed once per world. */
export function hasService(world: World, nsId: NsId, proto: 'tcp' | 'udp', port: number, dst: number): boolean {
  return serviceAt(world, nsId, proto, port, dst) !== undefined;
}

/** The socket listening on proto/port at `dst` (or on every address) in a namespace. */
export function serviceAt(world: World, nsId: NsId, proto: 'tcp' | 'udp', port: number, dst: number): Service | undefined {
  let m = serviceCache.get(world);
  if (!m) {
    const byNs = new Map<NsId, Service[]>();
    for (const s of world.services) {
      const list = byNs.get(s.ns);
      if (list) list.push(s);
      else byNs.set(s.ns, [s]);
    }
    serviceCache.set(world, (m = byNs));
  }
  for (const s of m.get(nsId) ?? []) if (s.proto === proto && s.port === port && (s.addr === undefined || s.addr === dst)) return s;
  return undefined;
}

const netnsCache = new WeakMap<World, ReadonlyMap<NsId, Netns>>();

/** The world's namespaces by id. */
export function netnsById(world: World): ReadonlyMap<NsId, Netns> {
  let m = netnsCache.get(world);
  if (!m) netnsCache.set(world, (m = new Map(Object.entries(world.netns))));
  return m;
}

const carrierCache = new WeakMap<World, WeakMap<Link, readonly Link[]>>();

/** A bridge's ports that have carrier (the ones a flood may leave by), once per world. */
export function carrierPorts(world: World, ns: Netns, br: Link): readonly Link[] {
  let m = carrierCache.get(world);
  if (!m) carrierCache.set(world, (m = new WeakMap()));
  let ports = m.get(br);
  if (!ports) m.set(br, (ports = bridgePorts(ns, br).filter((p) => hasCarrier(world, ns, p))));
  return ports;
}

/**
 * proxy ARP on the device a request came in on (arp_process: IN_DEV_FORWARD and
 * IN_DEV_PROXY_ARP, the latter from conf.all or conf.DEV).
 */
export function proxyArpOn(ns: Netns, dev: Link): boolean {
  return effectiveConf(ns.confAll, dev.conf, 'forwarding') === 1 && effectiveConf(ns.confAll, dev.conf, 'proxy_arp') === 1;
}

/** A flood port whose far end is a plain device in another namespace: where a flooded frame ends. */
export interface FloodReceiver {
  readonly ns: NsId;
  readonly dev: Link;
}

/**
 * Who can react to a broadcast ARP request a bridge floods, indexed once per world and bridge.
 * `ports` are the ports a broadcast leaves by (carrier and bcast_flood, in the bridge's order).
 * A port is `inert` when its frame ends at a veth peer that is no bridge port and whose device
 * has neither proxy ARP nor a stale or reachable static neighbour entry: there, arp_process can
 * only answer for an address a local route covers, and otherwise only records "not-local"
 * (when the sim holds no neighbour entry for the sender: checked per flood). In arp_process a
 * request for another address changes nothing else: "Update our ARP tables" only updates an
 * existing entry for the sender, arp_accept creates one only from a gratuitous ARP or a reply,
 * and proxy neighbour entries (pneigh_lookup) answer by proxy; a model setting arp_accept or
 * adding `ip neigh add proxy` is refused, so neither is looked at here. `reactive(tpa)`
 * lists, in order, the ports that may do more for target `tpa`: every port that is not inert,
 * and each inert one whose namespace has a local route covering `tpa`.
 */
export interface ArpFloodIndex {
  readonly ports: readonly Link[];
  /** port ifindex -> position in `ports` */
  readonly portAt: ReadonlyMap<number, number>;
  /** per port: its receiver when the port is inert */
  readonly inert: readonly (FloodReceiver | undefined)[];
  /** namespace -> receiving ifindex -> port position, for the inert ports */
  readonly position: ReadonlyMap<NsId, ReadonlyMap<number, number>>;
  reactive(tpa: number): readonly number[];
}

const floodCache = new WeakMap<World, WeakMap<Link, ArpFloodIndex>>();

export function arpFloodIndex(world: World, ns: Netns, br: Link): ArpFloodIndex {
  let m = floodCache.get(world);
  if (!m) floodCache.set(world, (m = new WeakMap()));
  let x = m.get(br);
  if (!x) m.set(br, (x = buildArpFloodIndex(world, ns, br)));
  return x;
}

function buildArpFloodIndex(world: World, ns: Netns, br: Link): ArpFloodIndex {
  const ports = carrierPorts(world, ns, br).filter((p) => !p.brport || p.brport.bcast_flood);
  const inert: (FloodReceiver | undefined)[] = [];
  const always: number[] = [];
  const position = new Map<NsId, Map<number, number>>();
  /** prefix length -> network -> inert ports whose namespace has a local route for that prefix */
  const byPrefix = new Map<number, Map<number, number[]>>();
  ports.forEach((p, i) => {
    const peer = p.kind === 'veth' ? peerOf(world, p) : undefined;
    const r = peer && peer.link.up && peer.link.master === undefined && !proxyArpOn(peer.ns, peer.link) && !peer.ns.neighs.some((st) => st.ifindex === peer.link.ifindex && (st.state === 'stale' || st.state === 'reachable')) ? peer : undefined;
    if (!r) {
      inert.push(undefined);
      always.push(i);
      return;
    }
    inert.push({ ns: r.ns.id, dev: r.link });
    let at = position.get(r.ns.id);
    if (!at) position.set(r.ns.id, (at = new Map()));
    at.set(r.link.ifindex, i);
    for (const route of facts(r.ns).localRoutes) {
      let nets = byPrefix.get(route.dst.len);
      if (!nets) byPrefix.set(route.dst.len, (nets = new Map()));
      // keyed as inPrefix compares: the address bits under the mask against the route's dst
      const list = nets.get(route.dst.addr);
      if (!list) nets.set(route.dst.addr, [i]);
      else if (list[list.length - 1] !== i) list.push(i);
    }
  });
  const byTarget = new Map<number, readonly number[]>();
  return {
    ports,
    portAt: new Map(ports.map((p, i) => [p.ifindex, i] as const)),
    inert,
    position,
    reactive(tpa) {
      let r = byTarget.get(tpa);
      if (r) return r;
      const set = new Set(always);
      for (const [len, nets] of byPrefix) for (const i of nets.get(networkOf(tpa, len)) ?? []) set.add(i);
      byTarget.set(tpa, (r = [...set].sort((a, b) => a - b)));
      return r;
    },
  };
}

/** Whether a lookup of `addr` could find a local route (false: it never can, whatever the rules). */
export function mayBeLocal(ns: Netns, addr: number): boolean {
  for (const r of facts(ns).localRoutes) if (inPrefix(addr, r.dst)) return true;
  return false;
}

export function lookup(ns: Netns, daddr: number, saddr: number, mark: number, iif: string, oif?: string): FibResult {
  return fibLookup(facts(ns).fib, { daddr, saddr, mark, iif, ...(oif !== undefined ? { oif } : {}) });
}

const SCOPE_NUM = { global: 0, link: 253, host: 254 } as const;

/**
 * inet_select_addr (net/ipv4/devinet.c): the first primary address on `dev` whose scope is not
 * narrower than `scope` (link-scope addresses count as link), preferring one on the same subnet
 * as `dst`; failing that, the first primary address of any device, lo first, that is not link
 * scope and not narrower than `scope` (in_dev_select_addr). Undefined when there is none: the
 * kernel then sends from 0.0.0.0 (observed: fixtures/kernel/facts/src-noaddr.sh).
 */
export function selectAddr(ns: Netns, dev: number | undefined, dst: number, scope: number): number | undefined {
  let addr: number | undefined;
  if (dev !== undefined) {
    for (const a of ns.addrs) {
      if (a.ifindex !== dev || a.secondary) continue;
      if (Math.min(SCOPE_NUM[a.scope], SCOPE_NUM.link) > scope) continue;
      if (dst === 0 || inPrefix(dst, { addr: networkOf(a.local, a.prefixLen), len: a.prefixLen })) return a.local;
      addr ??= a.local;
    }
    if (addr !== undefined) return addr;
  }
  const links = [...ns.links].sort((a, b) => a.ifindex - b.ifindex);
  for (const l of links) {
    for (const a of ns.addrs) {
      if (a.ifindex !== l.ifindex || a.secondary) continue;
      if (a.scope !== 'link' && SCOPE_NUM[a.scope] <= scope) return a.local;
    }
  }
  return undefined;
}

/**
 * The source a local socket gets for a route (fib_result_prefsrc): the route's prefsrc, the
 * destination itself for a local route, else inet_select_addr with the route's own scope
 * (fib_info->fib_scope: link for `dev X` routes, universe for gatewayed ones), so a scope-host
 * address such as 127.0.0.1 is never chosen for the wire.
 */
export function routeSource(ns: Netns, r: Route, daddr: number): number | undefined {
  if (r.prefsrc !== undefined) return r.prefsrc;
  if (r.type === 'local') return daddr;
  return selectAddr(ns, r.oif, r.via ?? 0, SCOPE_NUM[r.scope]);
}

/** inet_addr_type_dev_table: the type of an address in this namespace. */
export function addrType(ns: Netns, addr: number, dev: string | undefined): AddrType {
  if (addr === 0) return 'UNSPEC';
  if (addr === 0xffffffff) return 'BROADCAST';
  if (isMulticast(addr)) return 'MULTICAST';
  const f = facts(ns);
  const routes = f.fib.tables.get(RT_TABLE.local) ?? [];
  const devIdx = dev !== undefined ? f.byName.get(dev)?.ifindex : undefined;
  for (const r of routes) {
    if (!inPrefix(addr, r.dst)) continue;
    if (devIdx !== undefined && r.oif !== undefined && r.oif !== devIdx && r.type === 'local') continue;
    if (r.type === 'local') return 'LOCAL';
    if (r.type === 'broadcast') return 'BROADCAST';
  }
  if (devIdx === undefined && f.localAddrs.has(addr)) return 'LOCAL';
  const res = fibLookup(f.fib, { daddr: addr, saddr: 0, mark: 0, iif: 'lo' });
  if (res.kind === 'route') {
    switch (res.route.type) {
      case 'blackhole':
        return 'BLACKHOLE';
      case 'unreachable':
        return 'UNREACHABLE';
      case 'prohibit':
        return 'PROHIBIT';
      default:
        return 'UNICAST';
    }
  }
  return 'UNICAST';
}

