/**
 * The laid-out topology as SVG, and a probe's path drawn over it: request and reply hops in two
 * colours (the reply also dashed) along the topology's edges, each NAT rewrite labelled at the
 * namespace or interface where it happened, the drop point marked with its reason.
 */
import type { World } from '../world/types.js';
import { displayNs } from '../world/build.js';
import { nodeIdOf, lanNodeId, CHAR_W, LINE_H, type Point, type TopoEdge, type TopoNode, type Topology } from './topology.js';
import type { Dir, Hop, Place, ProbePath } from './path.js';

export function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

const n1 = (v: number): string => String(Math.round(v * 10) / 10);

/** Colours for light and dark; shared by the report page and the standalone SVG. */
export const SVG_CSS = `
.np-svg { --bg:#ffffff; --fg:#1f2328; --muted:#59636e; --host:#f6f8fa; --host-b:#8c959f; --ns:#ffffff; --ns-b:#afb8c1;
  --if:#ddf4ff; --if-b:#54aeff; --br:#fff8c5; --br-b:#d4a72c; --lan:#dafbe1; --lan-b:#4ac26b; --down:#ffebe9;
  --link:#6e7781; --req:#0550ae; --rep:#bc4c00; --drop:#cf222e; --stack:#eaeef2; }
@media (prefers-color-scheme: dark) {
  .np-svg { --bg:#0d1117; --fg:#e6edf3; --muted:#9198a1; --host:#161b22; --host-b:#3d444d; --ns:#0d1117; --ns-b:#3d444d;
    --if:#0c2d6b; --if-b:#1f6feb; --br:#3b2300; --br-b:#9e6a03; --lan:#033a16; --lan-b:#2ea043; --down:#490202;
    --link:#8b949e; --req:#58a6ff; --rep:#ffa657; --drop:#ff7b72; --stack:#21262d; }
}
.np-svg text { font: 12px ui-monospace, SFMono-Regular, Menlo, Consolas, 'DejaVu Sans Mono', monospace; fill: var(--fg); }
.np-svg .glabel { font-weight: 600; }
.np-svg .muted { fill: var(--muted); }
.np-svg .host > rect { fill: var(--host); stroke: var(--host-b); }
.np-svg .ns > rect { fill: var(--ns); stroke: var(--ns-b); stroke-dasharray: 4 3; }
.np-svg .if > rect { fill: var(--if); stroke: var(--if-b); }
.np-svg .if.kind-bridge > rect { fill: var(--br); stroke: var(--br-b); }
.np-svg .if.down > rect { fill: var(--down); }
.np-svg .lan > rect { fill: var(--lan); stroke: var(--lan-b); stroke-width: 2; }
.np-svg .stack > rect { fill: var(--stack); stroke: var(--ns-b); }
.np-svg .link { fill: none; stroke: var(--link); stroke-width: 1.6; }
.np-svg .link.kind-stack { stroke-width: 1; stroke-dasharray: 2 3; opacity: .7; }
.np-svg .hop { fill: none; stroke-width: 3.2; stroke-linejoin: round; }
.np-svg .hop.request { stroke: var(--req); }
.np-svg .hop.reply { stroke: var(--rep); stroke-dasharray: 7 4; }
.np-svg .mark-request { fill: var(--req); }
.np-svg .mark-reply { fill: var(--rep); }
.np-svg .tag rect { fill: var(--bg); stroke-width: 1.4; }
.np-svg .tag.request rect { stroke: var(--req); }
.np-svg .tag.reply rect { stroke: var(--rep); }
.np-svg .tag.drop rect { stroke: var(--drop); stroke-width: 2; }
.np-svg .tag.drop text { fill: var(--drop); font-weight: 600; }
.np-svg .leader { fill: none; stroke-width: 1; stroke-dasharray: 3 2; }
.np-svg .tag.request .leader { stroke: var(--req); } .np-svg .tag.reply .leader { stroke: var(--rep); } .np-svg .tag.drop .leader { stroke: var(--drop); }
.np-svg .dropmark circle { fill: var(--drop); }
.np-svg .dropmark path { stroke: var(--bg); stroke-width: 2.4; }
.np-svg .endpoint circle { fill: var(--bg); stroke: var(--req); stroke-width: 2.4; }
`;

const MARKERS = `<defs>
<marker id="np-arrow-request" viewBox="0 0 10 10" refX="8" refY="5" markerWidth="3.4" markerHeight="3.4" orient="auto-start-reverse"><path class="mark-request" d="M0,0L10,5L0,10z"/></marker>
<marker id="np-arrow-reply" viewBox="0 0 10 10" refX="8" refY="5" markerWidth="3.4" markerHeight="3.4" orient="auto-start-reverse"><path class="mark-reply" d="M0,0L10,5L0,10z"/></marker>
</defs>`;

export interface SvgOptions {
  /** paths drawn over the topology; with `interactive`, each in its own hidden group */
  readonly paths?: readonly { readonly key: string; readonly path: ProbePath }[];
  /** report page: path groups start hidden, the page's script shows one */
  readonly interactive?: boolean;
  /** a standalone file: XML prologue and xmlns */
  readonly standalone?: boolean;
  readonly title?: string;
}

export function topologySvg(world: World, topo: Topology, opts: SvgOptions = {}): string {
  const byId = new Map(topo.nodes.map((n) => [n.id, n]));
  const parts: string[] = [];
  let maxX = topo.width;
  let maxY = topo.height;

  for (const n of topo.nodes) parts.push(nodeSvg(world, n));
  for (const e of topo.edges) parts.push(edgeSvg(e));

  const overlays: string[] = [];
  for (const { key, path } of opts.paths ?? []) {
    const o = pathOverlay(world, topo, byId, path);
    maxX = Math.max(maxX, o.maxX);
    maxY = Math.max(maxY, o.maxY);
    overlays.push(
      `<g class="probe-path" data-probe="${esc(key)}"${opts.interactive ? ' visibility="hidden"' : ''}>${o.svg}</g>`,
    );
  }
  const w = Math.ceil(maxX + 8);
  const h = Math.ceil(maxY + 8);
  const title = opts.title ?? 'netpath topology';
  const head = opts.standalone ? `<?xml version="1.0" encoding="UTF-8"?>\n` : '';
  return (
    `${head}<svg xmlns="http://www.w3.org/2000/svg" class="np-svg" viewBox="0 0 ${w} ${h}" width="${w}" height="${h}" role="img" aria-labelledby="np-svg-title">` +
    `<title id="np-svg-title">${esc(title)}</title><style>${SVG_CSS}</style>${MARKERS}` +
    `<rect class="np-bg" x="0" y="0" width="${w}" height="${h}" fill="var(--bg)"/>` +
    `<g class="topology">${parts.join('')}</g><g class="paths">${overlays.join('')}</g></svg>\n`
  );
}

function nodeSvg(world: World, n: TopoNode): string {
  const rect = (rx: number): string => `<rect x="${n1(n.x)}" y="${n1(n.y)}" width="${n1(n.width)}" height="${n1(n.height)}" rx="${rx}"/>`;
  const text = (s: string, dx: number, line: number, cls = ''): string =>
    `<text x="${n1(n.x + dx)}" y="${n1(n.y + 15 + line * LINE_H)}"${cls ? ` class="${cls}"` : ''}>${esc(s)}</text>`;
  switch (n.kind) {
    case 'host':
      return `<g class="host" data-host="${esc(n.host!)}"><title>host ${esc(n.label)}</title>${rect(8)}${text(`host ${n.label}`, 8, 0, 'glabel')}</g>`;
    case 'ns':
      return `<g class="ns" data-ns="${esc(n.ns!)}" data-name="${esc(displayNs(world, n.ns!))}"><title>namespace ${esc(n.label)}</title>${rect(6)}${text(n.label, 8, 0, 'glabel')}</g>`;
    case 'stack':
      return (
        `<g class="stack" data-ns="${esc(n.ns!)}"><title>${esc(displayNs(world, n.ns!))}: IP stack (routing, netfilter, conntrack, sockets)</title>` +
        `${rect(12)}<text x="${n1(n.x + n.width / 2)}" y="${n1(n.y + n.height / 2 + 4)}" text-anchor="middle" class="muted">${esc(n.label)}</text></g>`
      );
    case 'if':
      return (
        `<g class="if kind-${esc(n.sub ?? 'if')}${n.down ? ' down' : ''}" data-ns="${esc(n.ns!)}" data-dev="${esc(n.dev!)}">` +
        `<title>${esc(displayNs(world, n.ns!))} ${esc(n.dev!)} (${esc(n.sub ?? '')}${n.down ? ', down' : ''})</title>${rect(4)}` +
        text(n.label, 8, 0, 'glabel') +
        n.lines.map((l, i) => text(l, 8, i + 1, 'muted')).join('') +
        `</g>`
      );
    case 'lan':
      return `<g class="lan" data-lan="${esc(n.label)}"><title>LAN ${esc(n.label)}</title>${rect(10)}${text(n.label, 8, 0, 'glabel')}${text('LAN', 8, 1, 'muted')}</g>`;
  }
}

function edgeSvg(e: TopoEdge): string {
  return `<path class="link kind-${e.kind}" data-link="${esc(e.id)}" data-a="${esc(e.a)}" data-b="${esc(e.b)}" d="${pathD(e.points)}"/>`;
}

function pathD(pts: readonly Point[]): string {
  return pts.map((p, i) => `${i === 0 ? 'M' : 'L'}${n1(p.x)},${n1(p.y)}`).join('');
}

/** The topology edge joining two nodes, either way round. */
export function edgeBetween(topo: Topology, u: string, v: string): TopoEdge | undefined {
  return topo.edges.find((x) => (x.a === u && x.b === v) || (x.a === v && x.b === u));
}

/** The points of the edge between two nodes, oriented from u to v (a straight line when no edge joins them). */
function along(topo: Topology, byId: Map<string, TopoNode>, u: string, v: string): Point[] {
  const e = edgeBetween(topo, u, v);
  if (e && e.points.length >= 2) return e.a === u ? [...e.points] : [...e.points].reverse();
  const a = byId.get(u);
  const b = byId.get(v);
  if (!a || !b) return [];
  return [centre(a), centre(b)];
}

function centre(n: TopoNode): Point {
  return { x: n.x + n.width / 2, y: n.y + n.height / 2 };
}

/** The polyline moved `d` px to the right of its travel direction, so a reply beside a request stays visible. */
function offset(pts: readonly Point[], d: number): Point[] {
  const normals = pts.slice(1).map((p, i) => {
    const q = pts[i]!;
    const len = Math.hypot(p.x - q.x, p.y - q.y) || 1;
    return { x: -(p.y - q.y) / len, y: (p.x - q.x) / len };
  });
  return pts.map((p, i) => {
    const a = normals[Math.max(0, i - 1)] ?? { x: 0, y: 0 };
    const b = normals[Math.min(normals.length - 1, i)] ?? a;
    const nx = a.x + b.x;
    const ny = a.y + b.y;
    const l = Math.hypot(nx, ny) || 1;
    // keep corners square: scale so each segment moves by d
    const k = d / Math.max(0.5, (nx * a.x + ny * a.y) / l) / l;
    return { x: p.x - nx * k, y: p.y - ny * k };
  });
}

/** The two topology nodes a hop runs between, in travel order. */
export function hopEnds(h: Hop): [string, string] {
  switch (h.kind) {
    case 'veth':
      return [nodeIdOf(h.from), nodeIdOf(h.to)];
    case 'lan':
      return h.way === 'out' ? [nodeIdOf(h.nic), lanNodeId(h.lan)] : [lanNodeId(h.lan), nodeIdOf(h.nic)];
    case 'inside':
      return [nodeIdOf(h.from), nodeIdOf(h.to)];
  }
}

function natName(dir: Dir, manip: 'src' | 'dst'): string {
  if (dir === 'request') return manip === 'dst' ? 'DNAT' : 'SNAT';
  return manip === 'dst' ? 'reply: dst' : 'reply: src';
}

function pathOverlay(world: World, topo: Topology, byId: Map<string, TopoNode>, path: ProbePath): { svg: string; maxX: number; maxY: number } {
  const out: string[] = [];
  let maxX = 0;
  let maxY = 0;
  for (const h of path.hops) {
    const [u, v] = hopEnds(h);
    const pts = offset(along(topo, byId, u, v), 2.6);
    if (pts.length < 2) continue;
    out.push(`<path class="hop ${h.dir}" data-hop="${h.kind}" d="${pathD(pts)}" marker-end="url(#np-arrow-${h.dir})"/>`);
  }
  // tags sit in a column right of the topology, each level with (or just below) the node it
  // belongs to and joined to it by a leader line, so they never cover a node
  const tags: { node: TopoNode; cls: string; label: string; title: string }[] = [];
  const tag = (at: Place, cls: string, label: string, title: string): void => {
    const node = byId.get(nodeIdOf(at)) ?? byId.get(nodeIdOf({ ns: at.ns }));
    if (node) tags.push({ node, cls, label, title });
  };
  const from = byId.get(nodeIdOf({ ns: path.from }));
  if (from) out.push(`<g class="endpoint client"><title>client: ${esc(displayNs(world, path.from))}</title><circle cx="${n1(from.x)}" cy="${n1(from.y)}" r="5"/></g>`);
  for (const n of path.nats) {
    const label = `${natName(n.dir, n.manip)} ${n.before} → ${n.after}`;
    tag(n.at, `nat ${n.dir}`, label, `${n.dir}: ${n.manip === 'dst' ? 'destination' : 'source'} rewritten in ${displayNs(world, n.at.ns)}${n.at.dev ? ` at ${n.at.dev}` : ''}`);
  }
  for (const d of path.drops) {
    const node = byId.get(nodeIdOf(d.at)) ?? byId.get(nodeIdOf({ ns: d.at.ns }));
    if (node) {
      const cx = node.x + node.width;
      const cy = node.y;
      out.push(
        `<g class="dropmark" data-ns="${esc(d.at.ns)}"${d.at.dev ? ` data-dev="${esc(d.at.dev)}"` : ''}><title>${esc(d.detail)}</title>` +
          `<circle cx="${n1(cx)}" cy="${n1(cy)}" r="8"/><path d="M${n1(cx - 4)},${n1(cy - 4)}L${n1(cx + 4)},${n1(cy + 4)}M${n1(cx + 4)},${n1(cy - 4)}L${n1(cx - 4)},${n1(cy + 4)}"/></g>`,
      );
    }
    tag(d.at, 'drop', `✕ ${d.what} (${d.dir}) dropped: ${d.code} at ${d.stage}`, `${d.detail}${d.counter ? ` (counted as ${d.counter})` : ''}: ${d.packet}`);
  }
  const col = topo.width + 28;
  let bottom = 0;
  for (const t of [...tags].sort((p, q) => p.node.y - q.node.y)) {
    const w = t.label.length * CHAR_W + 12;
    const h = LINE_H + 6;
    const y = Math.max(t.node.y, bottom + 4);
    bottom = y + h;
    maxX = Math.max(maxX, col + w);
    maxY = Math.max(maxY, bottom);
    const ax = t.node.x + t.node.width;
    const ay = t.node.y + Math.min(t.node.height / 2, 12);
    out.push(
      `<g class="tag ${t.cls}"><title>${esc(t.title)}</title><path class="leader" d="M${n1(ax)},${n1(ay)}L${n1(col - 10)},${n1(y + h / 2)}L${n1(col)},${n1(y + h / 2)}"/>` +
        `<rect x="${n1(col)}" y="${n1(y)}" width="${n1(w)}" height="${h}" rx="3"/><text x="${n1(col + 6)}" y="${n1(y + LINE_H)}">${esc(t.label)}</text></g>`,
    );
  }
  return { svg: out.join(''), maxX, maxY };
}
