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
import fc from 'fast-check';

export type Link = 'veth' | 'bridge';
export type RouteBreak = 'drop' | 'phantom' | 'wrong' | 'blackhole' | 'unreachable' | 'prohibit';
export type Target = 'ACCEPT' | 'DROP' | 'REJECT' | 'REJECT-host' | 'REJECT-net' | 'REJECT-admin' | 'REJECT-reset' | 'REJECT-proto';

export interface GenPlan {
  /** number of hosts (1..3); with 2 or more they share LAN lan0 */
  readonly hosts: number;
  /** runbook namespaces: the host (index, modulo) that creates them and how they attach */
  readonly children: readonly { readonly parent: number; readonly link: Link }[];
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
}

export interface ProbeGen {
  readonly from: number;
  readonly to: number;
  readonly proto: 'tcp' | 'udp' | 'icmp';
  /** 0: the service port (80 / 53), 1: 8080 (DNAT'd), 2: a closed port (81 / 54) */
  readonly port: 0 | 1 | 2;
}

const idx = fc.nat({ max: 15 });

/** The plan arbitrary. */
export function genPlan(): fc.Arbitrary<GenPlan> {
  const filter: fc.Arbitrary<FilterGen> = fc.record({
    ns: idx,
    chain: fc.constantFrom('INPUT', 'FORWARD', 'OUTPUT'),
    insert: fc.boolean(),
    proto: fc.constantFrom('any', 'tcp', 'udp', 'icmp'),
    dport: fc.boolean(),
    src: fc.oneof({ weight: 2, arbitrary: fc.constant(-1) }, { weight: 1, arbitrary: idx }),
    dst: fc.oneof({ weight: 2, arbitrary: fc.constant(-1) }, { weight: 1, arbitrary: idx }),
    target: fc.constantFrom<Target>('DROP', 'ACCEPT', 'REJECT', 'REJECT-host', 'REJECT-net', 'REJECT-admin', 'REJECT-reset', 'REJECT-proto'),
  });
  const nat: fc.Arbitrary<NatGen> = fc.record({
    ns: idx,
    kind: fc.constantFrom('MASQUERADE', 'SNAT', 'DNAT', 'DNAT-OUTPUT'),
    src: fc.oneof(fc.constant(-1), idx),
    oif: fc.oneof(fc.constant(-1), idx),
    addr: idx,
    to: idx,
    proto: fc.constantFrom('tcp', 'udp'),
  });
  const probe: fc.Arbitrary<ProbeGen> = fc.record({
    from: idx,
    to: idx,
    proto: fc.constantFrom('tcp', 'udp', 'icmp'),
    port: fc.constantFrom<0 | 1 | 2>(0, 2, 1),
  });
  return fc.record({
    hosts: fc.constantFrom(2, 3, 1),
    children: fc.array(fc.record({ parent: idx, link: fc.constantFrom<Link>('veth', 'bridge') }), { maxLength: 3 }),
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
  readonly ifaces: Iface[];
  /** baseline routes: destination and gateway */
  readonly routes: { dst: string; via: string }[];
  forward: boolean;
  /** runbook lines (without the `ip netns exec` prefix) */
  readonly lines: string[];
}

function pick<T>(list: readonly T[], i: number): T {
  return list[((i % list.length) + list.length) % list.length]!;
}

/**
 * The plan as a model file. Deterministic: the same plan gives the same text.
 */
export function planToModel(plan: GenPlan, title = 'generated conformance case'): string {
  const nHosts = Math.max(1, Math.min(3, plan.hosts));
  const nss: Ns[] = [];
  for (let h = 1; h <= nHosts; h++)
    nss.push({
      name: `h${h}`,
      host: `h${h}`,
      child: false,
      ifaces: nHosts > 1 ? [{ dev: 'eth0', addr: `10.0.0.${h}`, subnet: '10.0.0.0/24', net: '10.0.0' }] : [],
      routes: [],
      forward: false,
      lines: [],
    });
  // children: at most 4 namespaces in all, at least 2
  let children = plan.children.slice(0, 4 - nHosts);
  if (nHosts + children.length < 2) children = [{ parent: 0, link: 'veth' }];
  const hostLines = new Map<string, string[]>(nss.map((n) => [n.name, []]));
  const bridges = new Set<number>();
  children.forEach((c, j) => {
    const k = j + 1;
    const p = ((c.parent % nHosts) + nHosts) % nHosts;
    const parent = nss[p]!;
    const L = hostLines.get(parent.name)!;
    const name = `c${k}`;
    let net: string;
    let addr: string;
    if (c.link === 'veth') {
      net = `10.1.${k}`;
      addr = `${net}.2`;
      L.push(`ip netns add ${name}`, `ip link add v${k} type veth peer name v${k}c`, `ip link set v${k}c netns ${name}`);
      L.push(`ip addr add ${net}.1/24 dev v${k}`, `ip link set v${k} up`);
      parent.ifaces.push({ dev: `v${k}`, addr: `${net}.1`, subnet: `${net}.0/24`, net });
    } else {
      net = `10.2.${p + 1}`;
      addr = `${net}.${10 + k}`;
      if (!bridges.has(p)) {
        bridges.add(p);
        L.push('ip link add br0 type bridge', `ip addr add ${net}.1/24 dev br0`, 'ip link set br0 up');
        parent.ifaces.push({ dev: 'br0', addr: `${net}.1`, subnet: `${net}.0/24`, net });
      }
      L.push(`ip netns add ${name}`, `ip link add v${k} type veth peer name v${k}c`, `ip link set v${k}c netns ${name}`);
      L.push(`ip link set v${k} master br0`, `ip link set v${k} up`);
    }
    L.push(`ip -n ${name} link set v${k}c name eth0`, `ip -n ${name} addr add ${addr}/24 dev eth0`, `ip -n ${name} link set eth0 up`);
    nss.push({
      name,
      host: parent.name,
      child: true,
      ifaces: [{ dev: 'eth0', addr, subnet: `${net}.0/24`, net }],
      routes: [{ dst: 'default', via: `${net}.1` }],
      forward: false,
      lines: [],
    });
    parent.forward = true;
  });
  // hosts route the other hosts' namespace subnets via their owner
  for (const n of nss.filter((x) => !x.child))
    for (const o of nss.filter((x) => !x.child && x !== n))
      for (const i of o.ifaces) if (i.dev !== 'eth0' && !n.routes.some((r) => r.dst === i.subnet)) n.routes.push({ dst: i.subnet, via: o.ifaces[0]!.addr! });

  const addrs = nss.flatMap((n) => n.ifaces.flatMap((i) => (i.addr !== undefined ? [i.addr] : [])));
  const subnets = [...new Set(nss.flatMap((n) => n.ifaces.map((i) => i.subnet)))];
  const own = (n: Ns): string[] => n.ifaces.flatMap((i) => (i.addr !== undefined ? [i.addr] : []));
  /** on-link gateways of a namespace: neighbours' addresses and an absent .99 per subnet */
  const onLink = (n: Ns): { real: string[]; phantom: string[] } => {
    const nets = new Set(n.ifaces.map((i) => i.net));
    return {
      real: addrs.filter((a) => nets.has(a.slice(0, a.lastIndexOf('.'))) && !own(n).includes(a)),
      phantom: [...nets].map((x) => `${x}.99`),
    };
  };

  // route changes
  const routeLines = new Map<Ns, string[]>(nss.map((n) => [n, []]));
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
  for (const e of plan.extra) {
    const n = pick(nss, e.ns);
    const dst = `${pick(addrs, e.dst)}/32`;
    const rs = routes.get(n)!;
    if (rs.some((r) => r.dst === dst)) continue;
    const gw = onLink(n);
    const via = pick([...gw.real, ...gw.phantom], e.via);
    rs.push({ dst, line: e.kind === 'via' ? `ip route add ${dst} via ${via}` : `ip route add ${e.kind} ${dst}` });
  }
  for (const n of nss) for (const r of routes.get(n)!) if (r.line !== null) routeLines.get(n)!.push(r.line);

  // sysctls
  const flip = new Set(plan.forward.map((i) => pick(nss, i)));
  for (const n of nss) {
    const on = flip.has(n) ? !n.forward : n.forward;
    if (on || flip.has(n)) n.lines.push(`sysctl -w net.ipv4.ip_forward=${on ? 1 : 0}`);
  }
  for (const r of plan.rpFilter) {
    const n = pick(nss, r.ns);
    const key = r.scope === 'all' || n.ifaces.length === 0 ? 'all' : pick(n.ifaces, r.dev).dev;
    n.lines.push(`sysctl -w net.ipv4.conf.${key}.rp_filter=${r.value}`);
  }
  for (const n of nss) n.lines.unshift(...routeLines.get(n)!);

  // filter rules
  const where = (i: number): string => (i % 2 === 0 ? pick(addrs, i >> 1) : pick(subnets, i >> 1));
  for (const f of plan.filter) {
    const n = pick(nss, f.ns);
    const a = [f.insert ? `-I ${f.chain}` : `-A ${f.chain}`];
    if (f.src >= 0) a.push(`-s ${where(f.src)}`);
    if (f.dst >= 0) a.push(`-d ${where(f.dst)}`);
    if (f.proto !== 'any') a.push(`-p ${f.proto}`);
    if (f.dport && f.proto === 'tcp') a.push('--dport 80');
    if (f.dport && f.proto === 'udp') a.push('--dport 53');
    a.push(`-j ${targetText(f.target, f.proto)}`);
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
      a.push(r.kind === 'MASQUERADE' ? '-j MASQUERADE' : `-j SNAT --to-source ${pick(mine, r.addr)}`);
      n.lines.push(a.join(' '));
    } else {
      const chain = r.kind === 'DNAT' ? 'PREROUTING' : 'OUTPUT';
      const d = r.kind === 'DNAT' ? pick(mine, r.addr) : pick(addrs, r.addr);
      n.lines.push(`iptables -t nat -A ${chain} -d ${d} -p ${r.proto} --dport 8080 -j DNAT --to-destination ${pick(addrs, r.to)}:${dnatPort(r.proto)}`);
    }
  }

  // the model text
  const out: string[] = [`# ${title}`, `name: ${title}`, 'hosts:'];
  for (const h of nss.filter((x) => !x.child)) {
    const lines = [...hostLines.get(h.name)!, ...h.lines];
    for (const c of nss.filter((x) => x.child && x.host === h.name)) lines.push(...c.lines.map((l) => inNs(c.name, l)));
    if (lines.length === 0) out.push(`  ${h.name}:`);
    else out.push(`  ${h.name}:`, '    run: |', ...lines.map((l) => `      ${l}`));
  }
  if (nHosts > 1) {
    out.push('lans:', '  lan0:');
    for (const h of nss.filter((x) => !x.child)) out.push(`    ${h.name}/eth0: ${h.ifaces[0]!.addr!}/24`);
  }
  out.push('services:');
  for (const n of nss) out.push(`  - {at: ${n.host === n.name ? n.name : `${n.host}/${n.name}`}, listen: tcp/80}`, `  - {at: ${n.host === n.name ? n.name : `${n.host}/${n.name}`}, listen: udp/53}`);
  out.push('probes:');
  const targets = [...addrs, ...[...new Set(nss.flatMap((n) => n.ifaces.map((i) => `${i.net}.99`)))], '10.9.9.9'];
  const seen = new Set<string>();
  for (const p of plan.probes) {
    const from = pick(nss, p.from);
    const to = pick(targets, p.to);
    const port = p.proto === 'icmp' ? undefined : p.port === 1 ? 8080 : p.proto === 'tcp' ? (p.port === 0 ? 80 : 81) : p.port === 0 ? 53 : 54;
    const ref = from.host === from.name ? from.name : `${from.host}/${from.name}`;
    const dest = port === undefined ? to : `${to}:${port}`;
    const name = `${ref} ${p.proto} ${dest}`;
    if (seen.has(name)) continue;
    seen.add(name);
    out.push(`  - {name: "${name}", from: ${ref}, to: "${dest}", proto: ${p.proto}}`);
  }
  return `${out.join('\n')}\n`;
}

function inNs(ns: string, line: string): string {
  if (line.startsWith('ip ')) return `ip -n ${ns} ${line.slice(3)}`;
  return `ip netns exec ${ns} ${line}`;
}

function targetText(t: Target, proto: FilterGen['proto']): string {
  switch (t) {
    case 'ACCEPT':
    case 'DROP':
      return t;
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
    case 'REJECT-reset':
      return proto === 'tcp' ? 'REJECT --reject-with tcp-reset' : 'REJECT --reject-with icmp-port-unreachable';
  }
}
