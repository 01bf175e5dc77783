/**
 * fast-check arbitraries over netpath's inputs.
 *
 * - `flows(world, set)`: flows a client could try in that world, drawn from a flow set (source
 *   namespaces, destination addresses inside CIDRs, ports, protocols), biased toward the values
 *   the model mentions (src/prop/mentioned.ts) so that a small run still finds the one port a
 *   rule lets through. Counterexamples shrink toward the lowest address and port of the set.
 * - `ruleSets(opts)`: small iptables filter chains (ACCEPT/DROP/REJECT rules on addresses and
 *   ports), with `ruleLines` to print them as runbook lines and `firstMatch` as a reference
 *   evaluator, for users testing their own rule generators.
 * - `topologies(opts)`: a client, a forwarding router holding a rule set, one or two servers, as a
 *   model file text (load it with `loadText`).
 *
 * Flows are fresh client connections (a TCP SYN, a UDP datagram, an echo request); with
 * `tcpSegments: true`, TCP flows are also drawn as crafted segments (a lone SYN, ACK, FIN|ACK or
 * RST, or a data segment on an established connection), so firewalls that trust conntrack state
 * can be tested too (docs/properties.md).
 */
import fc from 'fast-check';
import type { PortRange } from '../netfilter/types.js';
import { formatIpv4, inPrefix, parseCidr, type Ipv4 } from '../wire/ipv4.js';
import type { World } from '../world/types.js';
import { inRanges, prefixRange, resolveFlowSet, type Flow, type FlowSet, type FlowSetInput } from './flowset.js';
import { mentioned, type Mentioned } from './mentioned.js';

/** The TCP shapes `tcpSegments` draws from: a connect(), then crafted segments. */
export const TCP_SHAPES: readonly Pick<Flow, 'tcpFlags' | 'state'>[] = [
  {},
  { tcpFlags: { syn: true } },
  { tcpFlags: { ack: true } },
  { tcpFlags: { fin: true, ack: true } },
  { tcpFlags: { rst: true } },
  { state: 'established', tcpFlags: { ack: true, psh: true } },
];

/** Flows drawn from a flow set, checked against the world (unknown namespaces throw ConfigError). */
export function flows(world: World, set: FlowSetInput & { readonly tcpSegments?: boolean }): fc.Arbitrary<Flow> {
  const base = flowsOf(world, resolveFlowSet(world, set));
  if (!set.tcpSegments) return base;
  // shapes shrink toward the plain connect()
  return fc.tuple(base, fc.constantFrom(...TCP_SHAPES)).map(([f, shape]) => (f.proto === 'tcp' ? { ...f, ...shape } : f));
}

/**
 * `flows` for an already resolved set (invariants resolve theirs with file:line origins).
 * `hints`: the worlds whose mentioned values are favoured (both sides of an `equivalent`).
 */
export function flowsOf(world: World, set: FlowSet, hints: readonly World[] = [world]): fc.Arbitrary<Flow> {
  const m = mentionedIn(hints);
  const from = fc.constantFrom(...set.from);
  const proto = fc.constantFrom(...set.proto);
  const to = biased(set.to.map(prefixRange), m.addrs);
  const port = biased(set.ports, m.ports);
  const sport = set.sports ? biased(set.sports, m.ports) : fc.constant(undefined);
  // the unmapper lets fast-check shrink flows it did not draw itself (the corner examples)
  const unmap = (v: unknown): FlowFields => {
    const f = v as Flow;
    if (typeof f !== 'object' || f === null || typeof f.to !== 'number') throw new Error('not a flow');
    return { from: f.from, proto: f.proto, to: f.to, port: f.port ?? set.ports[0]!.min, sport: f.sport };
  };
  const free = fc.record({ from, proto, to, port, sport }).map(mkFlow, unmap);
  // services and DNAT'd destinations inside the set: an address and its port drawn together
  const eps = m.endpoints.filter((e) => set.proto.includes(e.proto) && set.to.some((p) => inPrefix(e.addr, p)) && inRanges(e.port, set.ports));
  if (eps.length === 0) return free;
  const aimed = fc.record({ from, ep: fc.constantFrom(...eps), sport }).map(({ from: f, ep, sport: s }) => mkFlow({ from: f, proto: ep.proto, to: ep.addr, port: ep.port, sport: s }));
  return fc.oneof({ withCrossShrink: true }, { weight: 3, arbitrary: free }, { weight: 1, arbitrary: aimed });
}

/**
 * Every combination of the set's namespaces and protocols with the mentioned addresses and ports
 * inside the set (the set's first address or port where it mentions none), when there are at
 * most `max` of them; else none. Invariants try these before random flows, so a run of a few
 * hundred flows covers every value a rule names, deterministically.
 */
export function cornerFlows(set: FlowSet, hints: readonly World[], max: number): Flow[] {
  const m = mentionedIn(hints);
  const ranges = set.to.map(prefixRange);
  const addrs = m.addrs.filter((a) => inRanges(a, ranges));
  const ports = m.ports.filter((p) => inRanges(p, set.ports));
  const toList = addrs.length > 0 ? addrs : ranges.map((r) => r.min);
  const portList = ports.length > 0 ? ports : [set.ports[0]!.min];
  const l4 = set.proto.filter((p) => p !== 'icmp').length;
  const count = set.from.length * toList.length * (l4 * portList.length + (set.proto.includes('icmp') ? 1 : 0));
  if (count > max) return [];
  const sport = set.sports?.[0]?.min;
  const out: Flow[] = [];
  for (const from of set.from)
    for (const proto of set.proto)
      for (const to of toList)
        for (const port of proto === 'icmp' ? [0] : portList) out.push(mkFlow({ from, proto, to, port, sport }));
  return out;
}

interface FlowFields {
  from: string;
  proto: Flow['proto'];
  to: Ipv4;
  port: number;
  sport: number | undefined;
}

function mkFlow(f: FlowFields): Flow {
  return {
    from: f.from,
    to: f.to,
    proto: f.proto,
    ...(f.proto !== 'icmp' ? { port: f.port } : {}),
    ...(f.sport !== undefined && f.proto !== 'icmp' ? { sport: f.sport } : {}),
  };
}

function mentionedIn(worlds: readonly World[]): Mentioned {
  if (worlds.length === 1) return mentioned(worlds[0]!);
  const all = worlds.map(mentioned);
  const merge = (xs: number[]): number[] => [...new Set(xs)].sort((a, b) => a - b);
  return {
    ports: merge(all.flatMap((x) => x.ports)),
    addrs: merge(all.flatMap((x) => x.addrs)),
    endpoints: all.flatMap((x) => x.endpoints),
  };
}

/**
 * An integer in the union of `ranges`: half the time uniformly (weighted by range size), half the
 * time one of `hints` that falls inside. Small sets are drawn exhaustively by constantFrom.
 */
export function biased(ranges: readonly PortRange[], hints: readonly number[]): fc.Arbitrary<number> {
  const total = ranges.reduce((n, r) => n + (r.max - r.min + 1), 0);
  if (total <= 32) {
    const all: number[] = [];
    for (const r of ranges) for (let v = r.min; v <= r.max; v++) all.push(v);
    return fc.constantFrom(...all);
  }
  const uniform =
    ranges.length === 1
      ? fc.integer({ min: ranges[0]!.min, max: ranges[0]!.max })
      : fc.oneof(...ranges.map((r) => ({ weight: Math.max(1, Math.round((1000 * (r.max - r.min + 1)) / total)), arbitrary: fc.integer({ min: r.min, max: r.max }) })));
  const inside = hints.filter((h) => inRanges(h, ranges));
  if (inside.length === 0) return uniform;
  // cross shrink: a hinted value that fails shrinks toward the low end of the uniform range too
  return fc.oneof({ withCrossShrink: true }, { weight: 1, arbitrary: uniform }, { weight: 1, arbitrary: fc.constantFrom(...inside) });
}

// --- rule sets ---------------------------------------------------------------------------------

export type RuleTarget = 'ACCEPT' | 'DROP' | 'REJECT';

/** One filter rule: every field optional but the target; `dport` only with `proto`. */
export interface RuleSpec {
  readonly proto?: 'tcp' | 'udp';
  /** CIDR or address */
  readonly src?: string;
  readonly dst?: string;
  readonly dport?: PortRange;
  readonly target: RuleTarget;
}

export interface RuleSet {
  readonly chain: 'INPUT' | 'FORWARD' | 'OUTPUT';
  readonly policy: 'ACCEPT' | 'DROP';
  /** a first rule `-m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT` */
  readonly stateful: boolean;
  readonly rules: readonly RuleSpec[];
}

export interface RuleSetOptions {
  readonly chain?: RuleSet['chain'];
  /** what -s draws from (CIDRs or addresses); default a few private prefixes */
  readonly sources?: readonly string[];
  readonly destinations?: readonly string[];
  /** what --dport draws from (single ports and ranges between them); default 22, 80, 443, 5432, 8080 */
  readonly ports?: readonly number[];
  readonly targets?: readonly RuleTarget[];
  readonly maxRules?: number;
}

const DEFAULT_PORTS = [22, 80, 443, 5432, 8080];

export function ruleSets(opts: RuleSetOptions = {}): fc.Arbitrary<RuleSet> {
  const sources = opts.sources ?? ['10.0.0.0/8', '10.0.0.0/24', '10.0.0.2', '192.168.0.0/16'];
  const dests = opts.destinations ?? ['10.0.1.0/24', '10.0.1.10', '10.0.1.11'];
  const ports = [...(opts.ports ?? DEFAULT_PORTS)].sort((a, b) => a - b);
  const targets = opts.targets ?? ['ACCEPT', 'DROP', 'REJECT'];
  const port = fc.constantFrom(...ports);
  const dport = fc.oneof(
    port.map((p) => ({ min: p, max: p })),
    fc.tuple(port, port).map(([a, b]) => ({ min: Math.min(a, b), max: Math.max(a, b) })),
    port.map((p) => ({ min: Math.min(p + 1, 65535), max: 65535 })),
  );
  const rule: fc.Arbitrary<RuleSpec> = fc
    .record(
      {
        target: fc.constantFrom(...targets),
        src: fc.constantFrom(...sources),
        dst: fc.constantFrom(...dests),
        l4: fc.record({ proto: fc.constantFrom<'tcp' | 'udp'>('tcp', 'udp'), dport: fc.option(dport, { nil: undefined }) }),
      },
      { requiredKeys: ['target'] },
    )
    .map((r) => ({
      target: r.target,
      ...(r.src !== undefined ? { src: r.src } : {}),
      ...(r.dst !== undefined ? { dst: r.dst } : {}),
      ...(r.l4 !== undefined ? { proto: r.l4.proto, ...(r.l4.dport ? { dport: r.l4.dport } : {}) } : {}),
    }));
  return fc.record({
    chain: fc.constant(opts.chain ?? 'FORWARD'),
    policy: fc.constantFrom<RuleSet['policy']>('ACCEPT', 'DROP'),
    stateful: fc.boolean(),
    rules: fc.array(rule, { maxLength: opts.maxRules ?? 6 }),
  });
}

/** The rule set as runbook lines (`iptables -P ...`, `iptables -A ...`). */
export function ruleLines(rs: RuleSet): string[] {
  const lines = [`iptables -P ${rs.chain} ${rs.policy}`];
  if (rs.stateful) lines.push(`iptables -A ${rs.chain} -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT`);
  for (const r of rs.rules) {
    const parts = [`iptables -A ${rs.chain}`];
    if (r.src !== undefined) parts.push(`-s ${r.src}`);
    if (r.dst !== undefined) parts.push(`-d ${r.dst}`);
    if (r.proto !== undefined) parts.push(`-p ${r.proto}`);
    if (r.proto !== undefined && r.dport) parts.push(`--dport ${r.dport.min === r.dport.max ? r.dport.min : `${r.dport.min}:${r.dport.max}`}`);
    parts.push(`-j ${r.target}`);
    lines.push(parts.join(' '));
  }
  return lines;
}

/** A packet as the reference evaluator sees it. */
export interface RulePacket {
  readonly src: Ipv4;
  readonly dst: Ipv4;
  readonly proto: 'tcp' | 'udp' | 'icmp';
  readonly dport?: number;
}

/**
 * The verdict of the first matching rule, else the policy: a naive reference for a rule set
 * (without the stateful rule: a new connection's first packet is never ESTABLISHED).
 */
export function firstMatch(rs: RuleSet, p: RulePacket): RuleTarget {
  const has = (cidr: string | undefined, a: Ipv4): boolean => {
    if (cidr === undefined) return true;
    const c = parseCidr(cidr);
    return c !== undefined && inPrefix(a, c.prefix);
  };
  for (const r of rs.rules) {
    if (!has(r.src, p.src) || !has(r.dst, p.dst)) continue;
    if (r.proto !== undefined && r.proto !== p.proto) continue;
    if (r.dport && (p.dport === undefined || p.dport < r.dport.min || p.dport > r.dport.max)) continue;
    return r.target;
  }
  return rs.policy;
}

// --- topologies --------------------------------------------------------------------------------

export interface TopologyServer {
  readonly host: string;
  readonly addr: string;
  /** tcp ports that listen */
  readonly ports: readonly number[];
}

/** A small routed topology: client -- lan0 -- router -- lan1 -- servers. */
export interface Topology {
  /** the model file text */
  readonly yaml: string;
  readonly client: string;
  readonly clientAddr: string;
  readonly router: string;
  readonly servers: readonly TopologyServer[];
  /** the router's FORWARD chain */
  readonly ruleSet: RuleSet;
  /** the router MASQUERADEs what it forwards to lan1 */
  readonly masquerade: boolean;
  /** the servers have a route back to the client's LAN */
  readonly returnRoute: boolean;
}

export interface TopologyOptions {
  /** the router's FORWARD rule set; default ruleSets over the topology's own addresses */
  readonly ruleSets?: fc.Arbitrary<RuleSet>;
  readonly maxServers?: 1 | 2;
  /** pin or draw (default) whether the router masquerades and the servers route back */
  readonly masquerade?: boolean;
  readonly returnRoute?: boolean;
}

const CLIENT_NET = '10.0.0.0/24';
const SERVER_NET = '10.0.1.0/24';

export function topologies(opts: TopologyOptions = {}): fc.Arbitrary<Topology> {
  const rules =
    opts.ruleSets ??
    ruleSets({
      chain: 'FORWARD',
      sources: [CLIENT_NET, '10.0.0.2', '10.0.0.0/25', '10.0.0.128/25', '0.0.0.0/0'],
      destinations: [SERVER_NET, '10.0.1.10', '10.0.1.11'],
      ports: DEFAULT_PORTS,
    });
  const server = (i: number): fc.Arbitrary<TopologyServer> =>
    fc.uniqueArray(fc.constantFrom(...DEFAULT_PORTS), { minLength: 1, maxLength: 3 }).map((ports) => ({
      host: `srv${i + 1}`,
      addr: formatIpv4(0x0a00010a + i),
      ports: [...ports].sort((a, b) => a - b),
    }));
  return fc
    .record({
      n: fc.integer({ min: 1, max: opts.maxServers ?? 2 }),
      s1: server(0),
      s2: server(1),
      ruleSet: rules,
      masquerade: opts.masquerade !== undefined ? fc.constant(opts.masquerade) : fc.boolean(),
      returnRoute: opts.returnRoute !== undefined ? fc.constant(opts.returnRoute) : fc.boolean(),
    })
    .map(({ n, s1, s2, ruleSet, masquerade, returnRoute }) => {
      const servers = n === 1 ? [s1] : [s1, s2];
      return { yaml: topologyYaml(servers, ruleSet, masquerade, returnRoute), client: 'client', clientAddr: '10.0.0.2', router: 'router', servers, ruleSet, masquerade, returnRoute };
    });
}

function topologyYaml(servers: readonly TopologyServer[], rs: RuleSet, masquerade: boolean, returnRoute: boolean): string {
  const block = (lines: readonly string[]): string => lines.map((l) => `      ${l}\n`).join('');
  const router = ['sysctl -w net.ipv4.ip_forward=1', ...ruleLines(rs), ...(masquerade ? ['iptables -t nat -A POSTROUTING -o eth1 -j MASQUERADE'] : [])];
  let y = 'name: generated topology\nhosts:\n';
  y += `  client:\n    run: |\n${block(['ip route add default via 10.0.0.1'])}`;
  y += `  router:\n    run: |\n${block(router)}`;
  for (const s of servers) y += returnRoute ? `  ${s.host}:\n    run: |\n${block(['ip route add default via 10.0.1.1'])}` : `  ${s.host}:\n`;
  y += 'lans:\n  lan0:\n    client/eth0: 10.0.0.2/24\n    router/eth0: 10.0.0.1/24\n  lan1:\n    router/eth1: 10.0.1.1/24\n';
  for (const s of servers) y += `    ${s.host}/eth0: ${s.addr}/24\n`;
  y += 'services:\n';
  for (const s of servers) for (const p of s.ports) y += `  - at: ${s.host}\n    listen: tcp/${p}\n`;
  return y;
}

