/**
 * Random plans for kernel conformance: a fast-check arbitrary of small networks (1 to 3 hosts on a
 * LAN, runbook namespaces on veth pairs or a bridge, 2 to 4 namespaces in all), routes, sysctls,
 * filter and nat rules, services and probes, printed as a model file (YAML) so that a failure
 * shows the shrunk plan as something `netpath check` and `netpath replay --netns` take as is.
 *
 * A plan is a working baseline plus mutations. The baseline connects everything: every namespace
 * answers tcp/80 and udp/53; a runbook namespace has a default route via its host; a host routes
 * every other host's namespace subnets via that host; a host with namespaces forwards. The
 * mutations break or bend it: a baseline route removed or replaced (a wrong or absent gateway, a
 * blackhole/unreachable/prohibit route), extra host routes, ip_forward toggled, rp_filter, filter
 * rules (ACCEPT, DROP, REJECT variants, DROP policies) and nat rules (MASQUERADE, SNAT, DNAT).
 * Every choice is an index resolved modulo what the topology offers, so fast-check shrinks each
 * part on its own (fewer mutations, fewer namespaces, smaller indices) and the plan stays valid.
 *
 * Kept within docs/semantics.md (no ICMP redirects are asked for, no dummy devices, no statistic)
 * and to commands the world accepts: gateways are on-link, duplicate routes are skipped.
 */
/**
 * Random plans for kernel conformance: a fast-check arbitrary of networks (1 to 3 hosts on a LAN,
 * runbook namespaces on veth pairs or bridges, behind hosts or behind each other, 2 to 6 namespaces
 * in all), routes, policy rules, sysctls, filter, nat, mangle and raw rules, services and probes,
 * printed as a model file (YAML) so that a failure shows the shrunk plan as something
 * `netpath check` and `netpath replay --netns` take as is.
 *
 * A plan is a working baseline plus mutations. The baseline connects everything: every namespace
 * answers tcp/80 and udp/53; a runbook namespace has a default route via its parent; every
 * namespace routes the subnets behind its children via them, and a host routes every other host's
 * subnets via that host; a namespace with children forwards. The mutations break or bend it:
 * baseline routes removed or replaced, extra host routes, ip_forward toggled, rp_filter, filter
 * rules with an extra match from a wide pool, DROP policies, nat rules, and the weighted catalogue
 * of src/replay/catalogue.ts (MUTATIONS: policy routing and marks, user chains, proxy ARP, ARP
 * sysctls, route forms, neighbours, REDIRECT, raw NOTRACK, bridge netfilter, undo lines, ...).
 * Every choice is an index resolved modulo what the topology offers, so fast-check shrinks each
 * part on its own (fewer mutations, fewer namespaces, smaller indices) and the plan stays valid.
 *
 * Kept to commands the world accepts (a refusal fails the case as a generator bug): gateways are
 * on-link, duplicate routes are skipped, iptables options where iptables allows them.
 */
import fc from 'fast-check';
import { MUTATIONS, type MutationKind } from './catalogue.js';
import { nftMutation, pick } from './gen-nft.js';

export type Link = 'veth' | 'bridge' | 'none';
export type RouteBreak = 'drop' | 'phantom' | 'wrong' | 'blackhole' | 'unreachable' | 'prohibit';
export type Target =
  | 'ACCEPT'
  | 'DROP'
  | 'REJECT'
  | 'REJECT-host'
  | 'REJECT-net'
  | 'REJECT-admin'
  | 'REJECT-reset'
  | 'REJECT-proto'
  | 'REJECT-net-prohib'
  | 'REJECT-host-prohib'
  | 'LOG';

export interface ChildGen {
  /** the namespace it hangs off (a host or an earlier child), index modulo */
  readonly parent: number;
  /** hang off the previous child instead (routers in a line) */
  readonly chain: boolean;
  readonly link: Link;
  /** made with `docker run --network none` + `ln -s /proc/PID/ns/net` instead of `ip netns add` */
  readonly docker: boolean;
}

export interface GenPlan {
  /** number of hosts (1..3); with 2 or more they share LAN lan0 */
  readonly hosts: number;
  /** runbook namespaces: where they hang and how they attach */
  readonly children: readonly ChildGen[];
  /** hosts (index) whose LAN NIC is enslaved to a bridge `brl` that takes its address */
  readonly nicBridge: readonly number[];
  /** baseline routes changed: namespace index, route index, what it becomes */
  readonly breaks: readonly { readonly ns: number; readonly route: number; readonly kind: RouteBreak; readonly via: number }[];
  /** extra /32 routes: namespace, destination address index, gateway index or a route type */
  readonly extra: readonly { readonly ns: number; readonly dst: number; readonly kind: 'via' | 'blackhole' | 'unreachable' | 'prohibit'; readonly via: number }[];
  /** namespaces whose ip_forward is the opposite of the baseline's */
  readonly forward: readonly number[];
  readonly rpFilter: readonly { readonly ns: number; readonly scope: 'all' | 'dev'; readonly dev: number; readonly value: 1 | 2 }[];
  readonly filter: readonly FilterGen[];
  readonly policies: readonly { readonly ns: number; readonly chain: 'INPUT' | 'FORWARD' | 'OUTPUT' }[];
  readonly nat: readonly NatGen[];
  /** catalogue mutations (src/replay/catalogue.ts MUTATIONS), drawn with their weights */
  readonly features: readonly FeatureGen[];
  readonly probes: readonly ProbeGen[];
}

export interface FilterGen {
  readonly ns: number;
  readonly chain: 'INPUT' | 'FORWARD' | 'OUTPUT';
  readonly insert: boolean;
  readonly proto: 'any' | 'tcp' | 'udp' | 'icmp';
  readonly dport: boolean;
  /** -1 none; else an address (even) or a subnet (odd) index */
  readonly src: number;
  readonly dst: number;
  /** an extra match from EXTRA_MATCHES (0: none) */
  readonly match: number;
  readonly target: Target;
}

export interface NatGen {
  readonly ns: number;
  readonly kind: 'MASQUERADE' | 'SNAT' | 'DNAT' | 'DNAT-OUTPUT';
  /** -1 none; else a subnet index (MASQUERADE/SNAT -s) */
  readonly src: number;
  /** -1 none; else an interface index of the namespace (-o) */
  readonly oif: number;
  /** SNAT: own address index; DNAT: own address index (-d) */
  readonly addr: number;
  /** DNAT target address index */
  readonly to: number;
  readonly proto: 'tcp' | 'udp';
  /** 0 plain; 1 an address range; 2 a port range; 3 --random */
  readonly variant: number;
}

export interface FeatureGen {
  readonly kind: MutationKind;
  readonly ns: number;
  readonly i: number;
  readonly j: number;
  readonly k: number;
}

export interface ProbeGen {
  readonly from: number;
  readonly to: number;
  readonly proto: 'tcp' | 'udp' | 'icmp';
  /** 0: the service port (80 / 53), 1: 8080 (DNAT'd), 2: a closed port (81 / 54) */
  readonly port: 0 | 1 | 2;
  /** -1: unbound; else the source the client binds (an own address, 127.0.0.1 or one it does not hold) */
  readonly src: number;
}

const idx = fc.nat({ max: 15 });

/** The extra match of a filter rule: weight and the words (given the rule's chain). */
export const EXTRA_MATCHES: readonly { readonly weight: number; readonly name: string }[] = [
  { weight: 12, name: 'none' },
  { weight: 2, name: 'ctstate NEW' },
  { weight: 2, name: 'ctstate ESTABLISHED,RELATED' },
  { weight: 1, name: 'ctstate INVALID' },
  { weight: 1, name: 'state NEW' },
  { weight: 1, name: 'ctorigdst' },
  { weight: 2, name: 'addrtype dst LOCAL' },
  { weight: 1, name: 'addrtype src LOCAL' },
  { weight: 1, name: 'addrtype dst UNICAST limit-iface' },
  { weight: 2, name: 'multiport' },
  { weight: 2, name: 'iprange dst' },
  { weight: 1, name: 'iprange src' },
  { weight: 2, name: 'iif' },
  { weight: 2, name: 'oif' },
  { weight: 1, name: 'icmp-type' },
  { weight: 1, name: 'syn' },
  { weight: 1, name: 'comment' },
  { weight: 1, name: 'mark' },
  { weight: 1, name: 'connmark' },
  { weight: 1, name: 'limit' },
  { weight: 1, name: 'statistic random' },
  { weight: 1, name: 'statistic nth' },
  { weight: 1, name: 'fragment' },
  { weight: 1, name: 'not source' },
];

/** The plan arbitrary. */
export function genPlan(): fc.Arbitrary<GenPlan> {
  const weighted = <T>(list: readonly { readonly weight: number }[], f: (i: number) => T): fc.Arbitrary<T> =>
    fc.oneof(...list.map((x, i) => ({ weight: x.weight, arbitrary: fc.constant(f(i)) })));
  const filter: fc.Arbitrary<FilterGen> = fc.record({
    ns: idx,
    chain: fc.constantFrom('INPUT', 'FORWARD', 'OUTPUT'),
    insert: fc.boolean(),
    proto: fc.constantFrom('any', 'tcp', 'udp', 'icmp'),
    dport: fc.boolean(),
    src: fc.oneof({ weight: 2, arbitrary: fc.constant(-1) }, { weight: 1, arbitrary: idx }),
    dst: fc.oneof({ weight: 2, arbitrary: fc.constant(-1) }, { weight: 1, arbitrary: idx }),
    match: weighted(EXTRA_MATCHES, (i) => i),
    target: fc.constantFrom<Target>('DROP', 'ACCEPT', 'REJECT', 'REJECT-host', 'REJECT-net', 'REJECT-admin', 'REJECT-reset', 'REJECT-proto', 'REJECT-net-prohib', 'REJECT-host-prohib', 'LOG'),
  });
  const nat: fc.Arbitrary<NatGen> = fc.record({
    ns: idx,
    kind: fc.constantFrom('MASQUERADE', 'SNAT', 'DNAT', 'DNAT-OUTPUT'),
    src: fc.oneof(fc.constant(-1), idx),
    oif: fc.oneof(fc.constant(-1), idx),
    addr: idx,
    to: idx,
    proto: fc.constantFrom('tcp', 'udp'),
    variant: fc.oneof({ weight: 3, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.nat({ max: 3 }) }),
  });
  const feature: fc.Arbitrary<FeatureGen> = fc.oneof(
    ...(Object.keys(MUTATIONS) as MutationKind[]).map((kind) => ({
      weight: MUTATIONS[kind].weight,
      arbitrary: fc.record({ kind: fc.constant(kind), ns: idx, i: idx, j: idx, k: idx }),
    })),
  );
  const probe: fc.Arbitrary<ProbeGen> = fc.record({
    from: idx,
    to: idx,
    proto: fc.constantFrom('tcp', 'udp', 'icmp'),
    port: fc.constantFrom<0 | 1 | 2>(0, 2, 1),
    src: fc.oneof({ weight: 5, arbitrary: fc.constant(-1) }, { weight: 1, arbitrary: idx }),
  });
  return fc.record({
    hosts: fc.constantFrom(2, 3, 1),
    children: fc.array(
      fc.record({
        parent: idx,
        chain: fc.oneof({ weight: 3, arbitrary: fc.constant(false) }, { weight: 2, arbitrary: fc.constant(true) }),
        link: fc.oneof({ weight: 5, arbitrary: fc.constant<Link>('veth') }, { weight: 3, arbitrary: fc.constant<Link>('bridge') }, { weight: 1, arbitrary: fc.constant<Link>('none') }),
        docker: fc.oneof({ weight: 5, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
      }),
      { maxLength: 4 },
    ),
    nicBridge: fc.oneof({ weight: 5, arbitrary: fc.constant([]) }, { weight: 1, arbitrary: fc.uniqueArray(idx, { maxLength: 1 }) }),
    breaks: fc.array(
      fc.record({ ns: idx, route: idx, kind: fc.constantFrom<RouteBreak>('drop', 'phantom', 'wrong', 'blackhole', 'unreachable', 'prohibit'), via: idx }),
      { maxLength: 2 },
    ),
    extra: fc.array(fc.record({ ns: idx, dst: idx, kind: fc.constantFrom('via', 'via', 'blackhole', 'unreachable', 'prohibit'), via: idx }), { maxLength: 2 }),
    forward: fc.uniqueArray(idx, { maxLength: 2 }),
    rpFilter: fc.array(fc.record({ ns: idx, scope: fc.constantFrom('all', 'dev'), dev: idx, value: fc.constantFrom<1 | 2>(1, 2) }), { maxLength: 1 }),
    filter: fc.array(filter, { maxLength: 3 }),
    policies: fc.array(fc.record({ ns: idx, chain: fc.constantFrom('FORWARD', 'INPUT', 'OUTPUT') }), { maxLength: 1 }),
    nat: fc.array(nat, { maxLength: 2 }),
    features: fc.array(feature, { maxLength: 3 }),
    probes: fc.array(probe, { minLength: 1, maxLength: 5 }),
  });
}

// ---------------------------------------------------------------------------------------------
// the topology a plan resolves to

interface Iface {
  readonly dev: string;
  readonly addr?: string;
  readonly subnet: string;
  /** the subnet's prefix without the last octet, e.g. 10.1.1 */
  readonly net: string;
}

interface Ns {
  readonly name: string;
  /** the host whose runbook configures it */
  readonly host: string;
  readonly child: boolean;
  /** the namespace it hangs off, and its own address on that link */
  readonly parent?: Ns;
  readonly up?: { readonly addr: string; readonly gw: string };
  readonly ifaces: Iface[];
  /** baseline routes: destination and gateway */
  readonly routes: { dst: string; via: string }[];
  forward: boolean;
  /** runbook lines (without the `ip netns exec` prefix) */
  readonly lines: string[];
  /** second addresses the second-address mutation added (sources for bound probes) */
  extraAddrs?: string[];
}


/** The plan as a model file (deterministic: the same plan gives the same text). */
export function planToModel(plan: GenPlan, title = 'generated conformance case'): string {
  return resolvePlan(plan, title).model;
}

/** The model text and the plan features that Ops alone do not show (catalogue TOPOLOGY keys). */
export function resolvePlan(plan: GenPlan, title = 'generated conformance case'): { model: string; features: string[] } {
  const features = new Set<string>();
  const nHosts = Math.max(1, Math.min(3, plan.hosts));
  const nss: Ns[] = [];
  const hostLines = new Map<string, string[]>();
  const nicBridged = new Set(plan.nicBridge.map((i) => ((i % nHosts) + nHosts) % nHosts));
  if (nHosts > 1) features.add('topo:lan');
  for (let h = 1; h <= nHosts; h++) {
    const L: string[] = [];
    let dev = 'eth0';
    if (nHosts > 1 && nicBridged.has(h - 1)) {
      dev = 'brl';
      features.add('topo:nic-in-bridge');
      L.push('ip link add brl type bridge', `ip addr del 10.0.0.${h}/24 dev eth0`, 'ip link set eth0 master brl', `ip addr add 10.0.0.${h}/24 dev brl`, 'ip link set brl up');
    }
    hostLines.set(`h${h}`, L);
    nss.push({
      name: `h${h}`,
      host: `h${h}`,
      child: false,
      ifaces: nHosts > 1 ? [{ dev, addr: `10.0.0.${h}`, subnet: '10.0.0.0/24', net: '10.0.0' }] : [],
      routes: [],
      forward: false,
      lines: [],
    });
  }
  // children: at most 6 namespaces in all, at least 2
  let children = plan.children.slice(0, 6 - nHosts);
  if (nHosts + children.length < 2) children = [{ parent: 0, chain: false, link: 'veth', docker: false }];
  /** the bridge br0 of a namespace, once made: its subnet prefix */
  const bridges = new Map<Ns, string>();
  const at = (n: Ns, line: string): string => (n.child ? inNs(n.name, line) : line);
  children.forEach((c, j) => {
    const k = j + 1;
    const name = `c${k}`;
    const candidates = nss.filter((x) => !x.child || x.ifaces.length > 0);
    let parent = c.chain && j > 0 && nss[nss.length - 1]!.ifaces.length > 0 ? nss[nss.length - 1]! : pick(candidates, c.parent);
    if (parent.child && parent.ifaces.length === 0) parent = nss.find((x) => x.name === parent.host)!;
    const L = hostLines.get(parent.host)!;
    if (c.docker) L.push(`docker run -d --network none --name ${name} nginx:alpine`, `ln -s /proc/${4000 + k}/ns/net /var/run/netns/${name}`);
    else L.push(`ip netns add ${name}`);
    if (c.link === 'none') {
      features.add('topo:lo-only');
      nss.push({ name, host: parent.host, child: true, parent, ifaces: [], routes: [], forward: false, lines: [] });
      return;
    }
    let net: string;
    let addr: string;
    L.push(`ip link add v${k} type veth peer name v${k}c`, `ip link set v${k}c netns ${name}`);
    if (parent.child) L.push(`ip link set v${k} netns ${parent.name}`);
    if (c.link === 'veth') {
      features.add('topo:veth');
      net = `10.1.${k}`;
      addr = `${net}.2`;
      L.push(at(parent, `ip addr add ${net}.1/24 dev v${k}`), at(parent, `ip link set v${k} up`));
      parent.ifaces.push({ dev: `v${k}`, addr: `${net}.1`, subnet: `${net}.0/24`, net });
    } else {
      features.add('topo:bridge');
      if (!bridges.has(parent)) {
        const b = `10.2.${nss.indexOf(parent) + 1}`;
        bridges.set(parent, b);
        L.push(at(parent, 'ip link add br0 type bridge'), at(parent, `ip addr add ${b}.1/24 dev br0`), at(parent, 'ip link set br0 up'));
        parent.ifaces.push({ dev: 'br0', addr: `${b}.1`, subnet: `${b}.0/24`, net: b });
      }
      net = bridges.get(parent)!;
      addr = `${net}.${10 + k}`;
      L.push(at(parent, `ip link set v${k} master br0`), at(parent, `ip link set v${k} up`));
    }
    L.push(`ip -n ${name} link set v${k}c name eth0`, `ip -n ${name} addr add ${addr}/24 dev eth0`, `ip -n ${name} link set eth0 up`);
    nss.push({
      name,
      host: parent.host,
      child: true,
      parent,
      up: { addr, gw: `${net}.1` },
      ifaces: [{ dev: 'eth0', addr, subnet: `${net}.0/24`, net }],
      routes: [{ dst: 'default', via: `${net}.1` }],
      forward: false,
      lines: [],
    });
    parent.forward = true;
  });
  const depth = (n: Ns): number => (n.parent ? 1 + depth(n.parent) : 1);
  if (nss.some((n) => depth(n) >= 4 && n.ifaces.length > 0)) features.add('topo:line4');
  // baseline routes: the subnets behind a child via that child; a host routes the other hosts'
  // subnets via their LAN address; a child's default covers the rest
  const rootOf = (n: Ns): Ns => (n.parent ? rootOf(n.parent) : n);
  /** the namespace a subnet hangs off (its parent side); undefined for the LAN */
  const attach = new Map<string, Ns>();
  for (const n of nss) if (n.up) attach.set(n.ifaces[0]!.subnet, n.parent!);
  const below = (n: Ns, x: Ns): Ns | undefined => {
    // the child of n on the way down to x, if x is under n
    for (let y: Ns | undefined = x; y?.parent; y = y.parent) if (y.parent === n) return y;
    return undefined;
  };
  for (const n of nss) {
    const mine = new Set(n.ifaces.map((i) => i.subnet));
    for (const [subnet, a] of attach) {
      if (mine.has(subnet) || n.routes.some((r) => r.dst === subnet)) continue;
      const c = a === n ? undefined : below(n, a);
      if (c) n.routes.push({ dst: subnet, via: c.up!.addr });
      else if (!n.child && rootOf(a) !== n && nHosts > 1) n.routes.push({ dst: subnet, via: rootOf(a).ifaces[0]!.addr! });
    }
  }

  const addrs = nss.flatMap((n) => n.ifaces.flatMap((i) => (i.addr !== undefined ? [i.addr] : [])));
  const subnets = [...new Set(nss.flatMap((n) => n.ifaces.map((i) => i.subnet)))];
  const own = (n: Ns): string[] => n.ifaces.flatMap((i) => (i.addr !== undefined ? [i.addr] : []));
  const withIfaces = nss.filter((n) => n.ifaces.length > 0);
  /** on-link gateways of a namespace: neighbours' addresses and an absent .99 per subnet */
  const onLink = (n: Ns): { real: string[]; phantom: string[] } => {
    const nets = new Set(n.ifaces.map((i) => i.net));
    return {
      real: addrs.filter((a) => nets.has(a.slice(0, a.lastIndexOf('.'))) && !own(n).includes(a)),
      phantom: [...nets].map((x) => `${x}.99`),
    };
  };
  /** neighbours on a shared subnet: the other namespace, my interface, its address */
  const neighbours = (n: Ns): { ns: Ns; dev: string; addr: string }[] =>
    nss.flatMap((m) =>
      m === n
        ? []
        : m.ifaces.flatMap((mi) => n.ifaces.filter((ni) => ni.subnet === mi.subnet && mi.addr !== undefined).map((ni) => ({ ns: m, dev: ni.dev, addr: mi.addr! }))),
    );

  // route changes
  const routes = new Map<Ns, { dst: string; line: string | null }[]>(nss.map((n) => [n, n.routes.map((r) => ({ dst: r.dst, line: `ip route add ${r.dst} via ${r.via}` }))]));
  for (const b of plan.breaks) {
    const n = pick(nss, b.ns);
    const rs = routes.get(n)!;
    if (rs.length === 0) continue;
    const r = pick(rs, b.route);
    const gw = onLink(n);
    switch (b.kind) {
      case 'drop':
        r.line = null;
        break;
      case 'phantom':
        r.line = `ip route add ${r.dst} via ${pick(gw.phantom, b.via)}`;
        break;
      case 'wrong': {
        const cur = n.routes.find((x) => x.dst === r.dst)?.via;
        const others = gw.real.filter((a) => a !== cur);
        r.line = `ip route add ${r.dst} via ${others.length > 0 ? pick(others, b.via) : pick(gw.phantom, b.via)}`;
        break;
      }
      default:
        r.line = `ip route add ${b.kind} ${r.dst}`;
    }
  }
  const used = (n: Ns, dst: string): boolean => routes.get(n)!.some((r) => r.dst === dst);
  for (const e of plan.extra) {
    const n = pick(nss, e.ns);
    const dst = `${pick(addrs, e.dst)}/32`;
    if (n.ifaces.length === 0 || used(n, dst)) continue;
    const gw = onLink(n);
    const via = pick([...gw.real, ...gw.phantom], e.via);
    routes.get(n)!.push({ dst, line: e.kind === 'via' ? `ip route add ${dst} via ${via}` : `ip route add ${e.kind} ${dst}` });
  }

  // sysctls
  const flip = new Set(plan.forward.map((i) => pick(nss, i)));
  for (const n of nss) {
    const on = flip.has(n) ? !n.forward : n.forward;
    if (on || flip.has(n)) n.lines.push(`sysctl -w net.ipv4.ip_forward=${on ? 1 : 0}`);
  }
  for (const r of plan.rpFilter) {
    const n = pick(nss, r.ns);
    const key = r.scope === 'all' || n.ifaces.length === 0 ? 'all' : pick([...n.ifaces.map((i) => i.dev), 'lo'], r.dev);
    n.lines.push(`sysctl -w net.ipv4.conf.${key}.rp_filter=${r.value}`);
  }

  // filter rules
  const where = (i: number): string => (i % 2 === 0 ? pick(addrs, i >> 1) : pick(subnets, i >> 1));
  for (const f of plan.filter) {
    const n = pick(nss, f.ns);
    let proto = f.proto;
    const extra = extraMatch(EXTRA_MATCHES[f.match]?.name ?? 'none', f, n, addrs);
    if (extra.proto) proto = extra.proto;
    const a = [f.insert ? `-I ${f.chain}` : `-A ${f.chain}`];
    if (f.src >= 0 && addrs.length > 0 && !extra.words.includes('!')) a.push(`-s ${where(f.src)}`);
    if (f.dst >= 0 && addrs.length > 0) a.push(`-d ${where(f.dst)}`);
    if (proto !== 'any') a.push(`-p ${proto}`);
    if (f.dport && proto === 'tcp' && !extra.words.includes('--dports')) a.push('--dport 80');
    if (f.dport && proto === 'udp' && !extra.words.includes('--dports')) a.push('--dport 53');
    if (extra.words) a.push(extra.words);
    a.push(`-j ${targetText(f.target, proto)}`);
    n.lines.push(`iptables ${a.join(' ')}`);
  }
  for (const p of plan.policies) pick(nss, p.ns).lines.push(`iptables -P ${p.chain} DROP`);

  // nat rules
  const dnatPort = (proto: 'tcp' | 'udp'): number => (proto === 'tcp' ? 80 : 53);
  for (const r of plan.nat) {
    const n = pick(nss, r.ns);
    const mine = own(n);
    if (mine.length === 0) continue;
    if (r.kind === 'MASQUERADE' || r.kind === 'SNAT') {
      const a = ['iptables -t nat -A POSTROUTING'];
      if (r.src >= 0) a.push(`-s ${pick(subnets, r.src)}`);
      if (r.oif >= 0) a.push(`-o ${pick(n.ifaces, r.oif).dev}`);
      const me = pick(mine, r.addr);
      if (r.variant === 2) a.push(`-p ${r.proto}`);
      if (r.kind === 'MASQUERADE') a.push(r.variant === 2 ? '-j MASQUERADE --to-ports 20000-20010' : r.variant === 3 ? '-j MASQUERADE --random' : '-j MASQUERADE');
      else if (r.variant === 1) a.push(`-j SNAT --to-source ${me}-${bump(me, 1)}`);
      else if (r.variant === 2) a.push(`-j SNAT --to-source ${me}:20000-20010`);
      else a.push(`-j SNAT --to-source ${me}${r.variant === 3 ? ' --random' : ''}`);
      n.lines.push(a.join(' '));
    } else {
      const chain = r.kind === 'DNAT' ? 'PREROUTING' : 'OUTPUT';
      const d = r.kind === 'DNAT' ? pick(mine, r.addr) : pick(addrs, r.addr);
      const to = pick(addrs, r.to);
      const port = dnatPort(r.proto);
      const dest = r.variant === 1 ? `${to}-${bump(to, 1)}:${port}` : r.variant === 2 ? `${to}:${port}-${port + 1}` : `${to}:${port}`;
      n.lines.push(`iptables -t nat -A ${chain} -d ${d} -p ${r.proto} --dport 8080 -j DNAT --to-destination ${dest}`);
    }
  }

  // catalogue mutations
  plan.features.forEach((f, fi) => {
    if (withIfaces.length === 0) return;
    const n = pick(withIfaces, f.ns);
    const ctx: MutationCtx = { n, fi, addrs, subnets, own: own(n), onLink: onLink(n), neighbours: neighbours(n), routes: routes.get(n)!, nss, bridges, routesOf: (m) => routes.get(m)! };
    mutate(f, ctx);
  });
  // a local or broadcast route on an address makes it no gateway (fib_check_nh_v4_gw: "Nexthop has
  // invalid gateway"), so those come last, after every line that may use it as a gateway, unless a
  // later line deletes them (test/world/gateway.test.ts)
  for (const n of nss) {
    const rs = routes.get(n)!;
    const late = (r: { dst: string; line: string | null }): boolean => r.line !== null && /^ip route add (local|broadcast) /.test(r.line) && !rs.some((x) => x.line === `ip route del ${r.dst}`);
    const text = (r: { line: string | null }): string[] => (r.line !== null ? r.line.split('\n') : []);
    n.lines.unshift(...rs.filter((r) => !late(r)).flatMap(text));
    n.lines.push(...rs.filter(late).flatMap(text));
  }

  // the model text
  const out: string[] = [`# ${title}`, `name: ${title}`, 'hosts:'];
  for (const h of nss.filter((x) => !x.child)) {
    const lines = [...hostLines.get(h.name)!, ...h.lines];
    for (const c of nss.filter((x) => x.child && x.host === h.name)) lines.push(...c.lines.map((l) => (l.startsWith('@host ') ? l.slice(6) : inNs(c.name, l))));
    if (lines.length === 0) out.push(`  ${h.name}:`);
    else out.push(`  ${h.name}:`, '    run: |', ...lines.map((l) => `      ${l}`));
  }
  if (nHosts > 1) {
    out.push('lans:', '  lan0:');
    for (const h of nss.filter((x) => !x.child)) out.push(`    ${h.name}/eth0: ${h.ifaces[0]!.addr!}/24`);
  }
  const ref = (n: Ns): string => (n.child ? `${n.host}/${n.name}` : n.name);
  out.push('services:');
  for (const n of nss) out.push(`  - {at: ${ref(n)}, listen: tcp/80}`, `  - {at: ${ref(n)}, listen: udp/53}`);
  out.push('probes:');
  const targets = [...addrs, ...[...new Set(nss.flatMap((n) => n.ifaces.map((i) => `${i.net}.99`)))], '10.9.9.9', '127.0.0.1'];
  /** sources a probe may bind: the namespace's addresses (with the second ones), loopback, one it does not hold */
  const sources = (n: Ns): string[] => [...own(n), ...(n.extraAddrs ?? []), '127.0.0.1', '10.9.9.9'];
  const seen = new Set<string>();
  for (const p of plan.probes) {
    const from = pick(nss, p.from);
    const to = pick(targets, p.to);
    if (to === '127.0.0.1' || own(from).includes(to)) features.add('probe:loopback');
    const port = p.proto === 'icmp' ? undefined : p.port === 1 ? 8080 : p.proto === 'tcp' ? (p.port === 0 ? 80 : 81) : p.port === 0 ? 53 : 54;
    const dest = port === undefined ? to : `${to}:${port}`;
    const src = p.src >= 0 ? pick(sources(from), p.src) : undefined;
    if (src !== undefined) features.add('probe:src');
    const name = `${ref(from)} ${p.proto} ${dest}${src !== undefined ? ` from ${src}` : ''}`;
    if (seen.has(name)) continue;
    seen.add(name);
    out.push(`  - {name: "${name}", from: ${ref(from)}, to: "${dest}", proto: ${p.proto}${src !== undefined ? `, src: ${src}` : ''}}`);
  }
  return { model: `${out.join('\n')}\n`, features: [...features].sort() };
}

/** the address `d` further in the last octet (wrapping inside 1..254) */
function bump(addr: string, d: number): string {
  const i = addr.lastIndexOf('.');
  const last = ((Number(addr.slice(i + 1)) - 1 + d) % 254) + 1;
  return `${addr.slice(0, i)}.${last}`;
}

function extraMatch(name: string, f: FilterGen, n: Ns, addrs: readonly string[]): { words: string; proto?: FilterGen['proto'] } {
  const inOk = f.chain !== 'OUTPUT';
  const outOk = f.chain !== 'INPUT';
  const dev = n.ifaces.length > 0 ? pick(n.ifaces, f.dst + f.src + 2).dev : 'lo';
  const a = pick(addrs.length > 0 ? addrs : ['10.9.9.9'], f.dst + 7);
  switch (name) {
    case 'ctstate NEW':
      return { words: '-m conntrack --ctstate NEW' };
    case 'ctstate ESTABLISHED,RELATED':
      return { words: '-m conntrack --ctstate RELATED,ESTABLISHED' };
    case 'ctstate INVALID':
      return { words: '-m conntrack --ctstate INVALID' };
    case 'state NEW':
      return { words: '-m state --state NEW' };
    case 'ctorigdst':
      return { words: `-m conntrack --ctorigdst ${a}` };
    case 'addrtype dst LOCAL':
      return { words: '-m addrtype --dst-type LOCAL' };
    case 'addrtype src LOCAL':
      return { words: '-m addrtype --src-type LOCAL' };
    case 'addrtype dst UNICAST limit-iface':
      return { words: f.chain === 'OUTPUT' ? '-m addrtype --dst-type UNICAST --limit-iface-out' : '-m addrtype --dst-type UNICAST --limit-iface-in' };
    case 'multiport':
      return { words: '-m multiport --dports 80,53,8080', proto: f.proto === 'udp' ? 'udp' : 'tcp' };
    case 'iprange dst':
      return { words: `-m iprange --dst-range ${a}-${bump(a, 3)}` };
    case 'iprange src':
      return { words: `-m iprange --src-range ${a}-${bump(a, 3)}` };
    case 'iif':
      return inOk ? { words: `-i ${dev}` } : { words: `-o ${dev}` };
    case 'oif':
      return outOk ? { words: `-o ${dev}` } : { words: `-i ${dev}` };
    case 'icmp-type':
      return { words: '-m icmp --icmp-type echo-request', proto: 'icmp' };
    case 'syn':
      return { words: '--syn', proto: 'tcp' };
    case 'comment':
      return { words: '-m comment --comment "generated rule"' };
    case 'mark':
      return { words: '-m mark --mark 0x1' };
    case 'connmark':
      return { words: '-m connmark ! --mark 0x5' };
    case 'limit':
      return { words: '-m limit --limit 1/sec' };
    case 'statistic random':
      return { words: '-m statistic --mode random --probability 0.5' };
    case 'statistic nth':
      return { words: '-m statistic --mode nth --every 2 --packet 0' };
    case 'fragment':
      return { words: '-f' };
    case 'not source':
      return { words: `! -s ${a}` };
    default:
      return { words: '' };
  }
}

interface MutationCtx {
  readonly n: Ns;
  /** the mutation's index in the plan (unique names) */
  readonly fi: number;
  readonly addrs: readonly string[];
  readonly subnets: readonly string[];
  readonly own: readonly string[];
  readonly onLink: { readonly real: readonly string[]; readonly phantom: readonly string[] };
  readonly neighbours: readonly { readonly ns: Ns; readonly dev: string; readonly addr: string }[];
  readonly routes: { dst: string; line: string | null }[];
  readonly nss: readonly Ns[];
  readonly bridges: ReadonlyMap<Ns, string>;
  readonly routesOf: (n: Ns) => { dst: string; line: string | null }[];
}

/** Appends one catalogue mutation's lines (to the namespace `n`, and neighbours where it needs). */
function mutate(f: FeatureGen, c: MutationCtx): void {
  const { n, fi } = c;
  const L = n.lines;
  const gw = pick([...c.onLink.real, ...c.onLink.phantom], f.k);
  const dev = pick(n.ifaces, f.j).dev;
  const other = (i: number): string => pick(c.addrs.filter((a) => !c.own.includes(a)).concat(['10.9.9.9']), i);
  const freshDst = (i: number): string | undefined => {
    for (let d = 0; d < c.addrs.length + 1; d++) {
      const dst = `${other(i + d)}/32`;
      if (!c.routes.some((r) => r.dst === dst)) return dst;
    }
    return undefined;
  };
  const tproto = pick(['tcp', 'udp', 'icmp'], f.k);
  switch (f.kind) {
    case 'mark-route': {
      const chain = f.i % 2 === 1 ? 'OUTPUT' : 'PREROUTING';
      const match = pick(['-p tcp --dport 80', `-d ${other(f.k)}`, '', `-p ${tproto}`], f.j);
      const v = f.i % 4 < 2 ? '0x1' : '0x10';
      L.push(`iptables -t mangle -A ${chain}${match ? ` ${match}` : ''} -j MARK ${f.i % 3 === 0 ? `--set-xmark ${v}/0xffffffff` : `--set-mark ${v}`}`);
      // the same rule twice at one priority is refused by the kernel (File exists): once per host
      const rule = f.i % 4 < 2 ? `ip rule add fwmark ${v} lookup 100` : `ip rule add fwmark ${v}/0xf0 table 100 priority 100`;
      if (!L.includes(rule) || !rule.includes('priority')) L.push(rule);
      table100(
        L,
        pick(
          [`ip route add default via ${gw} table 100`, 'ip route add blackhole default table 100', 'ip route add unreachable default table 100', 'ip route add prohibit default table 100', 'ip route add throw default table 100'],
          f.k,
        ),
      );
      return;
    }
    case 'connmark': {
      if (f.i % 2 === 0) {
        L.push(`iptables -t mangle -A PREROUTING -p ${tproto} -j CONNMARK --set-mark 0x2`);
        L.push(`iptables -A ${pick(['INPUT', 'FORWARD', 'OUTPUT'], f.j)} -m connmark --mark 0x2 -j ${pick(['DROP', 'REJECT', 'ACCEPT'], f.k)}`);
      } else {
        L.push('iptables -t mangle -A PREROUTING -j CONNMARK --restore-mark');
        L.push(`iptables -t mangle -A ${pick(['PREROUTING', 'OUTPUT'], f.j)} -p ${tproto} -j MARK --set-mark 0x3`);
        L.push('iptables -t mangle -A POSTROUTING -j CONNMARK --save-mark');
        if (f.k % 2 === 0) {
          L.push('ip rule add fwmark 0x3 lookup 100');
          table100(L, 'ip route add unreachable default table 100');
        }
        else L.push(`iptables -A ${pick(['FORWARD', 'OUTPUT', 'INPUT'], f.j)} -m mark --mark 0x3 -j DROP`);
      }
      return;
    }
    case 'policy-rule': {
      const sel = pick([`from ${pick(c.subnets, f.k)}`, `to ${other(f.k)}`, `iif ${dev}`, `oif ${dev}`, `not from ${pick(c.subnets, f.k)}`, 'iif lo'], f.j);
      const act = pick(['lookup 100', 'lookup 100', 'blackhole', 'unreachable', 'prohibit'], f.i);
      L.push(`ip rule add ${sel} ${act}`);
      if (act === 'lookup 100' && f.i % 5 === 0) table100(L, `ip route add default via ${gw} table 100`);
      if (act === 'lookup 100' && f.i % 5 === 1 && f.k % 2 === 0) table100(L, `ip route add unreachable ${other(f.j)} table 100`);
      if (f.i % 7 === 6) L.push(`ip rule del ${sel} ${act}`);
      return;
    }
    case 'user-chain': {
      const ch = `NPC${fi}`;
      L.push(`iptables -N ${ch}`);
      const m = pick(['', `-p ${tproto}`, `-d ${other(f.k)}`, '-p tcp --dport 80'], f.k);
      L.push(`iptables -A ${ch}${m ? ` ${m}` : ''} -j ${pick(['DROP', 'REJECT', 'ACCEPT', 'RETURN'], f.i)}`);
      if (f.i % 3 === 0) L.push(`iptables -A ${ch} -j ${pick(['DROP', 'RETURN', 'REJECT --reject-with icmp-host-prohibited'], f.j)}`);
      const chain = pick(['INPUT', 'FORWARD', 'OUTPUT'], f.j);
      L.push(`iptables ${f.i % 2 === 0 ? '-A' : '-I'} ${chain}${f.k % 2 === 0 ? '' : ` -p ${tproto}`} ${f.j % 3 === 2 ? '-g' : '-j'} ${ch}`);
      if (f.k % 5 === 4) L.push('iptables -N NPCTMP', 'iptables -X NPCTMP');
      return;
    }
    case 'proxy-arp': {
      // n answers ARP on dev for addresses it routes elsewhere; a neighbour on dev sends a remote
      // address on-link
      const nb = c.neighbours.filter((x) => x.dev === dev);
      if (nb.length === 0) return;
      const m = pick(nb, f.i);
      L.push(`sysctl -w net.ipv4.conf.${f.k % 3 === 2 ? 'all' : dev}.proxy_arp=1`);
      const dst = `${pick(c.addrs.filter((a) => !c.own.includes(a) && a !== m.addr).concat(['10.9.9.9']), f.j)}/32`;
      const mdev = m.ns.ifaces.find((i) => n.ifaces.some((ni) => ni.dev === dev && ni.subnet === i.subnet))?.dev;
      if (mdev === undefined || c.routesOf(m.ns).some((r) => r.dst === dst)) return;
      c.routesOf(m.ns).push({ dst, line: `ip route add ${dst} dev ${mdev}` });
      return;
    }
    case 'onlink-route': {
      const dst = freshDst(f.i);
      if (!dst) return;
      c.routes.push({ dst, line: f.k % 2 === 0 ? `ip route add ${dst} dev ${dev}` : `ip route add ${dst} via ${other(f.j)} dev ${dev} onlink` });
      return;
    }
    case 'arp-sysctl': {
      const [key, value] = pick(
        [
          ['arp_ignore', 1],
          ['arp_ignore', 2],
          ['arp_announce', 1],
          ['arp_announce', 2],
          ['arp_filter', 1],
          ['accept_local', 1],
          ['route_localnet', 1],
          ['arp_ignore', 8],
        ] as const,
        f.i,
      );
      L.push(`sysctl -w net.ipv4.conf.${f.j % 2 === 0 ? 'all' : dev}.${key}=${value}`);
      // a neighbour asks for another of n's addresses on-link (weak host model meets arp_ignore)
      const nb = c.neighbours.filter((x) => x.dev === dev);
      if (nb.length === 0) return;
      const m = pick(nb, f.k);
      const target = pick(c.own, f.k + 1);
      const mdev = m.ns.ifaces.find((i) => n.ifaces.some((ni) => ni.dev === dev && ni.subnet === i.subnet))?.dev;
      if (mdev === undefined || c.routesOf(m.ns).some((r) => r.dst === `${target}/32`)) return;
      if (m.ns.ifaces.some((i) => i.addr === target)) return;
      c.routesOf(m.ns).push({ dst: `${target}/32`, line: `ip route add ${target}/32 dev ${mdev}` });
      return;
    }
    case 'dev-forwarding':
      L.push(`sysctl -w net.ipv4.conf.${f.k % 4 === 3 ? 'default' : dev}.forwarding=${f.i % 2}`);
      return;
    case 'ttl-loop': {
      const nb = c.neighbours;
      if (nb.length === 0) return;
      const m = pick(nb, f.i);
      const dst = freshDst(f.j);
      if (!dst || c.routesOf(m.ns).some((r) => r.dst === dst)) return;
      const myAddr = n.ifaces.find((i) => i.dev === m.dev)?.addr;
      if (myAddr === undefined || m.ns.ifaces.some((i) => `${i.addr}/32` === dst) || c.own.some((a) => `${a}/32` === dst)) return;
      c.routes.push({ dst, line: `ip route add ${dst} via ${m.addr}` });
      c.routesOf(m.ns).push({ dst, line: `ip route add ${dst} via ${myAddr}` });
      L.push('sysctl -w net.ipv4.ip_forward=1');
      m.ns.lines.push('sysctl -w net.ipv4.ip_forward=1');
      return;
    }
    case 'route-form': {
      const dst = freshDst(f.j);
      if (!dst) return;
      const host = dst.slice(0, -3);
      const real = c.onLink.real.length > 0 ? pick(c.onLink.real, f.k) : gw;
      const lines = pick(
        [
          [`ip route add local ${host} dev lo`],
          [`ip route add broadcast ${host} dev ${dev}`],
          [`ip route add throw ${dst}`],
          [`ip route add ${dst} via ${gw}`, `ip route replace ${dst} via ${real}`],
          [`ip route append ${dst} via ${real}`],
          [`ip route add ${dst} via ${gw}`, `ip route change ${dst} via ${real}`],
          [`route add -host ${host} gw ${real}`],
          [`route add -net ${host} netmask 255.255.255.255 gw ${gw}`, `route del -net ${host} netmask 255.255.255.255`],
          [`route add -host ${host} reject`],
          [`ip route add ${dst} via ${real} src ${pick(c.own, f.k)} metric 50`],
        ],
        f.i,
      );
      c.routes.push({ dst, line: lines.join('\n') });
      return;
    }
    case 'neigh': {
      const nb = c.neighbours.filter((x) => x.dev === dev);
      const target = nb.length > 0 ? pick(nb, f.i).addr : gw;
      const state = pick(['permanent', 'noarp', 'reachable', 'stale'], f.k);
      L.push(`ip neigh ${f.i % 2 === 0 ? 'add' : 'replace'} ${target} lladdr 02:00:00:00:00:99 dev ${dev} nud ${state}`);
      if (f.j % 3 === 2) L.push(`ip neigh del ${target} dev ${dev}`);
      return;
    }
    case 'notrack': {
      L.push(`iptables -t raw -A ${pick(['PREROUTING', 'OUTPUT'], f.i)}${f.j % 2 === 0 ? '' : ` -p ${tproto}`} -j ${f.k % 2 === 0 ? 'NOTRACK' : 'CT --notrack'}`);
      L.push(`iptables -A ${pick(['INPUT', 'FORWARD', 'OUTPUT'], f.j)} ${pick(['-m conntrack --ctstate UNTRACKED', '-m conntrack --ctstate NEW', '-m state --state UNTRACKED', '-m conntrack --ctstate INVALID'], f.k)} -j ${pick(['DROP', 'REJECT', 'ACCEPT'], f.i)}`);
      return;
    }
    case 'redirect': {
      const proto = f.i % 2 === 0 ? 'tcp' : 'udp';
      const to = f.k % 3 === 2 ? '' : ` --to-ports ${proto === 'tcp' ? 80 : 53}`;
      L.push(`iptables -t nat -A ${pick(['PREROUTING', 'OUTPUT'], f.j)} -p ${proto} --dport 8080 -j REDIRECT${to}`);
      return;
    }
    case 'bridge-nf': {
      const br = [...c.bridges.keys()];
      const b = br.length > 0 ? pick(br, f.i) : n;
      const port = b.ifaces.length > 0 ? `v${(f.k % 6) + 1}` : dev;
      b.lines.push(`sysctl -w net.bridge.bridge-nf-call-iptables=${f.j % 2}`);
      // hairpin on a real port of that bridge: a member reaching its own published port
      const bnet = c.bridges.get(b);
      const ports = bnet === undefined ? [] : c.nss.filter((x) => x.parent === b && x.ifaces[0]?.net === bnet).map((x) => `v${x.name.slice(1)}`);
      if (ports.length > 0 && f.k % 3 !== 1) {
        const hp = pick(ports, f.i + f.j);
        b.lines.push(f.k % 2 === 0 ? `bridge link set dev ${hp} hairpin on` : `ip link set ${hp} type bridge_slave hairpin on`);
      }
      const phys = pick([`--physdev-in ${port}`, `--physdev-out ${port}`, '--physdev-is-bridged', `--physdev-in ${port} --physdev-is-bridged`], f.k);
      b.lines.push(`iptables -${f.i % 2 === 0 ? 'A' : 'I'} FORWARD -m physdev ${phys} -j ${pick(['DROP', 'ACCEPT', 'REJECT'], f.j)}`);
      if (f.i % 3 === 2) b.lines.push('iptables -P FORWARD DROP');
      return;
    }
    case 'undo': {
      switch (f.i % 8) {
        case 0: {
          const r = c.routes.filter((x) => x.line !== null && x.line.startsWith('ip route add') && !x.line.includes('\n'));
          if (r.length > 0) c.routes.push({ dst: `del ${fi}`, line: `ip route del ${pick(r, f.k).dst}` });
          return;
        }
        case 1:
          L.push(`iptables -A ${pick(['INPUT', 'OUTPUT', 'FORWARD'], f.j)} -p ${tproto} -j DROP`, `iptables -D ${pick(['INPUT', 'OUTPUT', 'FORWARD'], f.j)} -p ${tproto} -j DROP`);
          return;
        case 2:
          L.push(`iptables -I ${pick(['INPUT', 'OUTPUT', 'FORWARD'], f.j)} 1 -p ${tproto} -j DROP`, `iptables -R ${pick(['INPUT', 'OUTPUT', 'FORWARD'], f.j)} 1 -p ${pick(['tcp', 'udp', 'icmp'], f.k + 1)} -j REJECT`);
          return;
        case 3:
          L.push(`iptables -F${f.k % 2 === 0 ? '' : ` ${pick(['INPUT', 'OUTPUT', 'FORWARD'], f.j)}`}`);
          return;
        case 4:
          L.push('iptables -Z');
          return;
        case 5:
          L.push(`ip addr add 10.7.${fi}.1/24 dev ${dev}`, `ip addr del 10.7.${fi}.1/24 dev ${dev}`);
          L.push(`ip route add unreachable 10.8.${fi}.0/24 table 101`, 'ip route flush table 101');
          return;
        case 6:
          L.push(`ip link add x${fi} type veth peer name y${fi}`, `ip addr add 10.7.${fi}.1/24 dev x${fi}`, `ip addr flush dev x${fi}`, `ip link del x${fi}`);
          return;
        default:
          if (!n.child) L.push(`ip netns add t${fi}`, `ip netns del t${fi}`);
          else L.push(`@host ip netns add t${fi}`, `@host ip netns del t${fi}`);
          return;
      }
    }
    case 'link-attrs': {
      const line = pick([`ip link set dev ${dev} mtu 1400`, `ip link set dev ${dev} address 02:00:00:00:0${fi}:0${(f.k % 9) + 1}`, `ip link set ${dev} down\nip link set ${dev} up`, 'sysctl -w net.ipv4.icmp_echo_ignore_all=1'], f.i);
      L.push(...line.split('\n'));
      return;
    }
    case 'nft':
      L.push(
        ...nftMutation({
          fi,
          i: f.i,
          j: f.j,
          k: f.k,
          own: c.own,
          subnets: c.subnets,
          dev,
          other,
          table100: (line) => table100(L, line),
        }),
      );
      return;
    case 'second-address': {
      const a = f.i % 2 === 0 ? `10.6.${fi}.${(f.k % 8) + 1}` : `${n.ifaces.find((x) => x.dev === dev)?.net ?? '10.6.9'}.${200 + fi}`;
      if (f.i % 2 === 0) L.push(`ip addr add ${a}/32 dev lo`);
      else L.push(`ip addr add ${a}/24 dev ${dev}`);
      (n.extraAddrs ??= []).push(a);
      return;
    }
    case 'ct-filter': {
      const chain = pick(['INPUT', 'FORWARD', 'OUTPUT'], f.i);
      const state = f.j % 2 === 0 ? '-m conntrack --ctstate' : '-m state --state';
      L.push(`iptables -A ${chain} ${state} RELATED,ESTABLISHED -j ACCEPT`);
      const last = pick([`iptables -A ${chain} ${state} NEW -p ${tproto} -j DROP`, `iptables -P ${chain} DROP`, `iptables -A ${chain} -m conntrack --ctorigdst ${other(f.k)} -j REJECT`], f.k);
      L.push(last);
      return;
    }
  }
}

/** a route in table 100, unless the namespace already has one for that destination */
function table100(lines: string[], line: string): void {
  const dst = (l: string): string | undefined => /^ip route add (?:\w+ )?(\S+)(?: via \S+)? table 100$/.exec(l)?.[1];
  if (!lines.some((l) => dst(l) !== undefined && dst(l) === dst(line))) lines.push(line);
}

function inNs(ns: string, line: string): string {
  if (line.startsWith('ip ')) return `ip -n ${ns} ${line.slice(3)}`;
  return `ip netns exec ${ns} ${line}`;
}

function targetText(t: Target, proto: FilterGen['proto']): string {
  switch (t) {
    case 'ACCEPT':
    case 'DROP':
    case 'LOG':
      return t === 'LOG' ? 'LOG --log-prefix "npc "' : t;
    case 'REJECT':
      return 'REJECT';
    case 'REJECT-host':
      return 'REJECT --reject-with icmp-host-unreachable';
    case 'REJECT-net':
      return 'REJECT --reject-with icmp-net-unreachable';
    case 'REJECT-admin':
      return 'REJECT --reject-with icmp-admin-prohibited';
    case 'REJECT-proto':
      return 'REJECT --reject-with icmp-proto-unreachable';
    case 'REJECT-net-prohib':
      return 'REJECT --reject-with icmp-net-prohibited';
    case 'REJECT-host-prohib':
      return 'REJECT --reject-with icmp-host-prohibited';
    case 'REJECT-reset':
      return proto === 'tcp' ? 'REJECT --reject-with tcp-reset' : 'REJECT --reject-with icmp-port-unreachable';
  }
}
