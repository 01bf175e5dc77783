/**
 * The resolved route (the kernel's `struct rtable`), decided once per lookup and kept on the
 * skb: output device, next hop, source, and whether the packet is for this host. It is not the
 * routing-table row (`Route`) that produced it: a `local` row resolves to the loopback device,
 * as ip_route_output_key_hash_rcu does (`dev_out = net->loopback_dev` for RTN_LOCAL), so traffic
 * to an own address leaves through `lo` in OUTPUT and POSTROUTING.
 *
 * Also here: the route errors (what the socket call gets, what ip_error sends) and
 * fib_validate_source.
 */
import type { FibRule, Route, RouteType } from '../route/types.js';
import type { Link, NsId } from '../model/link.js';
import type { Origin } from '../model/origin.js';
import { formatIpv4 } from '../wire/ipv4.js';
import type { Netns } from '../world/types.js';
import { effectiveConf } from '../world/sysctl.js';
import type { DropCode, DropReason, RouteView } from '../trace/types.js';
import { facts, lookup, routeSource } from './derived.js';
import { ICMP } from './packet.js';

export interface Rtable {
  /** the routing-table row behind it */
  readonly route: Route;
  /** the policy rule whose table held the row */
  readonly rule: FibRule;
  readonly type: RouteType;
  /** RTCF_LOCAL: delivered to this host */
  readonly local: boolean;
  /** dst.dev: the output device (lo for a local destination) */
  readonly dev: Link;
  /** rt_gw4, or the destination itself for a directly connected one */
  readonly nexthop: number;
}

const LOOPBACK = 0x7f000001;
const LIMITED_BROADCAST = 0xffffffff;

/**
 * The destination a socket really talks to: connect() or sendto() 0.0.0.0 means this host, the
 * bound source or 127.0.0.1 (__ip_route_output_key; observed: fixtures/kernel/facts/bcast-zero.sh).
 */
export function socketDestination(dst: number, bound: number | undefined): number {
  return dst === 0 ? (bound ?? LOOPBACK) : dst;
}

/**
 * fib_compute_spec_dst for a packet received as a broadcast: the preferred source of the route back
 * to its sender (the address an answer such as an echo reply leaves from).
 */
export function specDst(ns: Netns, sender: number): number | undefined {
  const res = lookup(ns, sender, 0, 0, 'lo');
  return res.kind === 'route' ? routeSource(ns, res.route, sender) : undefined;
}

/**
 * RTCF_BROADCAST: the limited broadcast, or a `broadcast` route of the local table (`t` undefined:
 * a packet without a route yet). A received packet with it (ip_route_input_slow's brd_input) is
 * never answered by TCP (tcp_v4_conn_request, and tcp_v4_send_reset only answers RTN_LOCAL), gets
 * no port unreachable from UDP (__udp4_lib_mcast_deliver), and is ignored by ICMP echo by default
 * (icmp_echo_ignore_broadcasts).
 */
export function isBroadcastRoute(dst: number, t: RouteType | undefined): boolean {
  return dst === LIMITED_BROADCAST || t === 'broadcast';
}

/** The types a socket can send to (the others are errors, see routeError). */
export function sendable(t: RouteType): boolean {
  return t === 'unicast' || t === 'local' || t === 'broadcast';
}

function loopback(ns: Netns): Link {
  return facts(ns).byName.get('lo') ?? facts(ns).byIndex.get(1)!;
}

/** Resolves a table row into the route a packet carries. */
export function resolve(ns: Netns, route: Route, rule: FibRule, dst: number): Rtable {
  const f = facts(ns);
  const local = route.type === 'local';
  const dev = local || route.oif === undefined ? loopback(ns) : (f.byIndex.get(route.oif) ?? loopback(ns));
  return { route, rule, type: route.type, local, dev, nexthop: route.via ?? dst };
}

/**
 * __mkroute_output (net/ipv4/route.c): a loopback source (127/8) with an output device that is
 * not a loopback device is EINVAL unless route_localnet is on for that device (all or DEV), at
 * connect() for a bound socket and at send for the others (observed: models/k-bound-source.yaml).
 */
export function loopbackSourceRefused(ns: Netns, src: number, rt: Rtable): boolean {
  return src >>> 24 === 127 && rt.dev.kind !== 'loopback' && effectiveConf(ns.confAll, rt.dev.conf, 'route_localnet') === 0;
}

/** The source address a local packet gets on this route (fib_result_prefsrc / inet_select_addr). */
export function outputSource(ns: Netns, rt: Rtable, dst: number): number | undefined {
  return routeSource(ns, rt.route, dst);
}

/** The row as a route step shows it (the row's own device: a local row names the device that holds the address). */
export function routeView(ns: Netns, rt: Rtable): RouteView {
  // a row and its rule always look the same in one namespace: made once, shared by the steps
  let byRule = viewCache.get(ns);
  if (!byRule) viewCache.set(ns, (byRule = new WeakMap()));
  let byRoute = byRule.get(rt.rule);
  if (!byRoute) byRule.set(rt.rule, (byRoute = new WeakMap()));
  let v = byRoute.get(rt.route);
  if (!v) byRoute.set(rt.route, (v = makeRouteView(ns, rt)));
  return v;
}

const viewCache = new WeakMap<Netns, WeakMap<FibRule, WeakMap<Route, RouteView>>>();

function makeRouteView(ns: Netns, rt: Rtable): RouteView {
  const r = rt.route;
  const dst = r.dst.len === 0 ? 'default' : r.dst.len === 32 ? formatIpv4(r.dst.addr) : `${formatIpv4(r.dst.addr)}/${r.dst.len}`;
  const v: { -readonly [K in keyof RouteView]: RouteView[K] } = { dst, type: r.type, table: r.table };
  if (r.via !== undefined) v.via = r.via;
  if (r.oif !== undefined) v.dev = facts(ns).byIndex.get(r.oif)?.name ?? String(r.oif);
  if (rt.rule.priority !== 32766 && rt.rule.priority !== 0) v.rulePriority = rt.rule.priority;
  return v;
}

export interface RouteError {
  readonly errno: string;
  readonly code: DropCode;
  readonly reason: DropReason;
  readonly origin?: Origin;
  /** ip_error's ICMP code (dest unreachable), undefined for a silent discard */
  readonly icmpCode?: number;
}

/** What a failed lookup means: the socket's errno, the drop, and ip_error's ICMP. */
export function routeError(res: ReturnType<typeof lookup>, dst: number, nsId: NsId, reroute = false): RouteError {
  if (res.kind === 'none') return { errno: 'ENETUNREACH', code: 'no-route', reason: { kind: 'route', dst, ns: nsId, reroute }, icmpCode: ICMP.NET_UNREACH };
  const type = res.kind === 'route' ? res.route.type : res.rule.action;
  const origin = res.kind === 'route' ? res.route.origin : res.rule.origin;
  const by = res.kind === 'route' ? { route: res.route.dst.len === 0 ? 'default' : `${formatIpv4(res.route.dst.addr)}/${res.route.dst.len}` } : { rule: res.rule.priority };
  const reason: DropReason = { kind: 'route', dst, ns: nsId, routeType: type, by, reroute };
  switch (type) {
    case 'blackhole':
      return { errno: 'EINVAL', code: 'blackhole-route', reason, origin };
    case 'unreachable':
      return { errno: 'EHOSTUNREACH', code: 'unreachable-route', reason, origin, icmpCode: ICMP.HOST_UNREACH };
    case 'prohibit':
      return { errno: 'EACCES', code: 'prohibit-route', reason, origin, icmpCode: ICMP.PKT_FILTERED };
    default:
      return { errno: 'ENETUNREACH', code: 'no-route', reason, origin, icmpCode: ICMP.NET_UNREACH };
  }
}

/**
 * fib_validate_source (net/ipv4/fib_frontend.c): with rp_filter 0 and no custom rules or local
 * routes only a local source address is refused (unless accept_local); otherwise the route back
 * to the source must exist (loose, 2), be unicast, and leave through `dev` (strict, 1).
 * Returns why the source is refused, or undefined when it is fine.
 */
export function sourceInvalid(ns: Netns, dev: Link, src: number, dst: number): { code: DropCode; reason: DropReason; counter?: string; origin?: Origin } | undefined {
  if (dev.kind === 'loopback') return undefined;
  const f = facts(ns);
  const rpf = effectiveConf(ns.confAll, dev.conf, 'rp_filter');
  const acceptLocal = effectiveConf(ns.confAll, dev.conf, 'accept_local') === 1;
  if (rpf === 0) {
    if (acceptLocal) return undefined;
    if (!f.hasCustomLocalRoutes && !f.hasCustomRules)
      return f.localAddrs.has(src) ? { code: 'martian', reason: { kind: 'martian-source', src, why: 'local', dev: dev.name } } : undefined;
  }
  const rev = lookup(ns, src, dst, 0, 'lo');
  // a lookup that fails (no route; a blackhole, unreachable or prohibit route or rule: fib_props
  // errors) goes to last_resort: fine without rp_filter, refused with it (observed:
  // models/conf-prohibit-route-back.yaml)
  if (rev.kind !== 'route' || rev.route.type === 'blackhole' || rev.route.type === 'unreachable' || rev.route.type === 'prohibit')
    return rpf === 0 ? undefined : { code: 'rp-filter', reason: { kind: 'rp-filter', src, mode: rpf, dev: dev.name }, counter: 'IPReversePathFilter' };
  const t = rev.route.type;
  if (t !== 'unicast' && !(t === 'local' && acceptLocal))
    return { code: 'martian', reason: { kind: 'martian-source', src, why: 'local', dev: dev.name, backType: t }, origin: rev.route.origin };
  if (rev.route.oif === dev.ifindex || rpf !== 1) return undefined;
  const back = rev.route.oif !== undefined ? f.byIndex.get(rev.route.oif)?.name : undefined;
  return {
    code: 'rp-filter',
    reason: { kind: 'rp-filter', src, mode: 1, dev: dev.name, ...(back !== undefined ? { back } : {}) },
    counter: 'IPReversePathFilter',
    origin: rev.route.origin,
  };
}
