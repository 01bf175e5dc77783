/**
 * The topology as a graph, laid out by ELK (elkjs, the Eclipse Layout Kernel's layered
 * algorithm; docs/report.md says why): hosts are groups, their namespaces groups inside them,
 * each namespace holds its interfaces (with addresses) and one node for its IP stack. Edges:
 * a veth pair (one edge per pair), a LAN NIC to its LAN, a bridge port to its bridge, and an
 * interface to its namespace's stack. A probe's hops run along these edges (path.ts).
 *
 * Layout runs here, when the report is written, so the page and the SVG carry coordinates and
 * no layout code.
 */
import elkBundled from 'elkjs/lib/elk.bundled.js';
import type { ELK, ELKConstructorArguments, ElkExtendedEdge, ElkNode } from 'elkjs/lib/elk-api.js';
import type { NsId } from '../model/link.js';
import type { World } from '../world/types.js';
import { displayNs } from '../world/build.js';
import { linkByIndex, peerOf } from '../world/links.js';
import { formatIpv4 } from '../wire/ipv4.js';
import { placeId, type Place } from './path.js';

export type NodeKind = 'host' | 'ns' | 'stack' | 'if' | 'lan';
export type EdgeKind = 'veth' | 'lan' | 'port' | 'stack';

export interface Point {
  readonly x: number;
  readonly y: number;
}

export interface TopoNode {
  readonly id: string;
  readonly kind: NodeKind;
  /** first line */
  readonly label: string;
  /** further lines (addresses, link kind) */
  readonly lines: readonly string[];
  readonly ns?: NsId;
  readonly dev?: string;
  readonly host?: string;
  /** if: the link kind (veth, bridge, nic, dummy); lan: 'lan' */
  readonly sub?: string;
  readonly down?: boolean;
  /** absolute position of the top-left corner */
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

export interface TopoEdge {
  readonly id: string;
  readonly kind: EdgeKind;
  /** node ids; points run from a to b */
  readonly a: string;
  readonly b: string;
  readonly points: readonly Point[];
}

export interface Topology {
  readonly width: number;
  readonly height: number;
  /** groups first (hosts, then namespaces), then the nodes inside them */
  readonly nodes: readonly TopoNode[];
  readonly edges: readonly TopoEdge[];
}

/** Text metrics: the picture uses a monospace font at 12px (7.2px a character). */
export const CHAR_W = 7.2;
export const LINE_H = 14;

export function nodeIdOf(p: Place): string {
  return `p:${placeId(p)}`;
}
const nsNodeId = (ns: NsId): string => `n:${ns}`;
const hostNodeId = (h: string): string => `h:${h}`;
export const lanNodeId = (l: string): string => `l:${l}`;

interface Draft {
  readonly nodes: Map<string, Omit<TopoNode, 'x' | 'y' | 'width' | 'height'> & { parent?: string; width: number; height: number }>;
  readonly edges: { id: string; kind: EdgeKind; a: string; b: string }[];
}

function textBox(lines: readonly string[]): { width: number; height: number } {
  return { width: Math.ceil(Math.max(...lines.map((l) => l.length)) * CHAR_W + 16), height: lines.length * LINE_H + 10 };
}

/** The graph before layout: every namespace, interface (lo left out), LAN and link of the world. */
export function topologyGraph(world: World): Draft {
  const nodes: Draft['nodes'] = new Map();
  const edges: Draft['edges'] = [];
  for (const host of world.hosts) nodes.set(hostNodeId(host), { id: hostNodeId(host), kind: 'host', label: host, lines: [], host, width: 0, height: 0 });
  for (const ns of Object.values(world.netns)) {
    const name = displayNs(world, ns.id);
    const label = ns.name === null ? `${name} (root namespace)` : ns.container ? `${name} (container)` : `${name} (netns)`;
    nodes.set(nsNodeId(ns.id), { id: nsNodeId(ns.id), kind: 'ns', label, lines: [], ns: ns.id, host: ns.host, parent: hostNodeId(ns.host), width: 0, height: 0 });
    const stack = nodeIdOf({ ns: ns.id });
    nodes.set(stack, { id: stack, kind: 'stack', label: 'IP', lines: [], ns: ns.id, parent: nsNodeId(ns.id), width: 30, height: 24 });
    for (const link of ns.links) {
      if (link.kind === 'loopback') continue;
      const addrs = ns.addrs.filter((a) => a.ifindex === link.ifindex).map((a) => `${formatIpv4(a.local)}/${a.prefixLen}`);
      const sub = link.kind;
      const head = `${link.name}${link.up ? '' : ' DOWN'}`;
      const lines = [...addrs, ...(link.lan !== undefined ? [] : link.kind === 'nic' ? [] : [sub])];
      const id = nodeIdOf({ ns: ns.id, dev: link.name });
      nodes.set(id, { id, kind: 'if', label: head, lines, ns: ns.id, dev: link.name, sub, down: !link.up, parent: nsNodeId(ns.id), ...textBox([head, ...lines]) });
      const peer = peerOf(world, link);
      const master = link.master !== undefined ? linkByIndex(ns, link.master) : undefined;
      if (master) edges.push({ id: `port ${id}`, kind: 'port', a: id, b: nodeIdOf({ ns: ns.id, dev: master.name }) });
      // an interface that leads up the picture (a LAN NIC, the far end of a veth pair) sits above the stack
      else if (link.lan !== undefined || (peer && !vethFirst(world, ns.id, link.name, peer.ns.id, peer.link.name)))
        edges.push({ id: `stack ${id}`, kind: 'stack', a: id, b: stack });
      else edges.push({ id: `stack ${id}`, kind: 'stack', a: stack, b: id });
      if (link.lan !== undefined) edges.push({ id: `lan ${id}`, kind: 'lan', a: lanNodeId(link.lan), b: id });
      // one edge per pair, drawn from the end nearer a host's root namespace
      if (peer && vethFirst(world, ns.id, link.name, peer.ns.id, peer.link.name))
        edges.push({ id: `veth ${id}`, kind: 'veth', a: id, b: nodeIdOf({ ns: peer.ns.id, dev: peer.link.name }) });
    }
  }
  for (const lan of Object.keys(world.lans)) {
    const lines = [lan];
    nodes.set(lanNodeId(lan), { id: lanNodeId(lan), kind: 'lan', label: lan, lines: ['LAN'], sub: 'lan', ...textBox([...lines, 'LAN']) });
  }
  return { nodes, edges };
}

function vethFirst(world: World, ns: NsId, dev: string, peerNs: NsId, peerDev: string): boolean {
  const rootA = world.netns[ns]?.name === null;
  const rootB = world.netns[peerNs]?.name === null;
  if (rootA !== rootB) return rootA;
  return `${ns}|${dev}` < `${peerNs}|${peerDev}`;
}

const LAYOUT: Record<string, string> = {
  'elk.algorithm': 'layered',
  'elk.direction': 'RIGHT',
  'elk.hierarchyHandling': 'INCLUDE_CHILDREN',
  'elk.edgeRouting': 'ORTHOGONAL',
  'elk.layered.spacing.nodeNodeBetweenLayers': '28',
  'elk.spacing.nodeNode': '24',
  'elk.layered.considerModelOrder.strategy': 'NODES_AND_EDGES',
  'elk.padding': '[top=12,left=12,bottom=12,right=12]',
};

/** Lays the graph out with ELK; every coordinate of the result is absolute. */
export async function layoutTopology(world: World): Promise<Topology> {
  const draft = topologyGraph(world);
  const all = [...draft.nodes.values()];
  // siblings keep the model's order (hosts as listed, namespaces and links in creation order)
  const toElk = (n: (typeof all)[number]): ElkNode =>
    n.kind === 'host' || n.kind === 'ns'
      ? {
          id: n.id,
          layoutOptions: { 'elk.padding': `[top=${n.kind === 'host' ? 26 : 24},left=10,bottom=10,right=10]` },
          children: all.filter((c) => c.parent === n.id).map(toElk),
        }
      : { id: n.id, width: n.width, height: n.height };

  const root: ElkNode = {
    id: 'root',
    layoutOptions: LAYOUT,
    children: all.filter((n) => n.parent === undefined).map(toElk),
    edges: draft.edges.map((e): ElkExtendedEdge => ({ id: e.id, sources: [e.a], targets: [e.b] })),
  };
  // elk.bundled.js is CommonJS whose module.exports is the constructor (its .d.ts says otherwise)
  const Elk = elkBundled as unknown as new (args?: ELKConstructorArguments) => ELK;
  const elk = new Elk();
  const out = await elk.layout(root);

  const abs = new Map<string, Point>();
  const nodes: TopoNode[] = [];
  const walk = (n: ElkNode, ox: number, oy: number): void => {
    for (const c of n.children ?? []) {
      const x = ox + (c.x ?? 0);
      const y = oy + (c.y ?? 0);
      abs.set(c.id, { x, y });
      const d = draft.nodes.get(c.id)!;
      const { parent: _parent, ...rest } = d;
      nodes.push({ ...rest, x, y, width: c.width ?? 0, height: c.height ?? 0 });
      walk(c, x, y);
    }
  };
  abs.set('root', { x: 0, y: 0 });
  walk(out, 0, 0);
  const groupsFirst = (k: NodeKind): number => (k === 'host' ? 0 : k === 'ns' ? 1 : 2);
  nodes.sort((a, b) => groupsFirst(a.kind) - groupsFirst(b.kind));

  const edges: TopoEdge[] = (out.edges ?? []).map((e: ElkExtendedEdge) => {
    const d = draft.edges.find((x) => x.id === e.id)!;
    const container = (e as ElkExtendedEdge & { container?: string }).container ?? 'root';
    const o = abs.get(container) ?? { x: 0, y: 0 };
    const points: Point[] = [];
    for (const s of e.sections ?? []) {
      points.push({ x: o.x + s.startPoint.x, y: o.y + s.startPoint.y });
      for (const b of s.bendPoints ?? []) points.push({ x: o.x + b.x, y: o.y + b.y });
      points.push({ x: o.x + s.endPoint.x, y: o.y + s.endPoint.y });
    }
    return { ...d, points };
  });
  return { width: out.width ?? 0, height: out.height ?? 0, nodes, edges };
}
