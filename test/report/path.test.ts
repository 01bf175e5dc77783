/**
 * The trace-to-picture adapter and the laid-out topology: every hop of every probe of every
 * bundled model runs along an edge of the topology, the seed's path is the one the kernel
 * takes (docs/kernel-notes.md d: SYNs reach ngx1, no SYN-ACK leaves it), NAT rewrites are
 * placed where the engine did them.
 */
import { readdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers.js';
import { expectedCounts } from './helpers.js';
import { reportProbes } from '../../src/report/report.js';
import { layoutTopology, nodeIdOf } from '../../src/report/topology.js';
import { edgeBetween, hopEnds, topologySvg } from '../../src/report/svg.js';
import type { Hop } from '../../src/report/path.js';

const m = (name: string): string => resolve(ROOT, 'models', name);

function hopText(h: Hop): string {
  switch (h.kind) {
    case 'veth':
      return `${h.dir} veth ${h.from.ns}/${h.from.dev} -> ${h.to.ns}/${h.to.dev}`;
    case 'lan':
      return h.way === 'out' ? `${h.dir} lan ${h.nic.ns}/${h.nic.dev} -> ${h.lan}` : `${h.dir} lan ${h.lan} -> ${h.nic.ns}/${h.nic.dev}`;
    case 'inside':
      return `${h.dir} inside ${h.from.ns}/${h.from.dev ?? 'IP'} -> ${h.to.ns}/${h.to.dev ?? 'IP'}`;
  }
}


describe('seed without SNAT', () => {
  it('draws the SYN from web1 over lan0 and web2 into ngx1, and the SYN-ACK dying in ngx1', () => {
    const { probes } = reportProbes(m('seed-no-snat.yaml'));
    const p = probes[0]!.path;
    expect(p.hops.map(hopText)).toEqual([
      'request inside web1/IP -> web1/eth0',
      'request lan web1/eth0 -> lan0',
      'request lan lan0 -> web2/eth0',
      'request inside web2/eth0 -> web2/IP',
      'request inside web2/IP -> web2/veth1-p',
      'request veth web2/veth1-p -> web2/ngx1/eth0',
      'request inside web2/ngx1/eth0 -> web2/ngx1/IP',
    ]);
    expect(p.drops).toHaveLength(1);
    expect(p.drops[0]).toMatchObject({ dir: 'reply', at: { ns: 'web2/ngx1' }, code: 'no-route', stage: 'output', what: 'SYN-ACK' });
    expect(p.nats).toEqual([]);
    expect(p.delivered).toBe('web2/ngx1');
    expect(p.steps.some((s) => s.origin?.line === 8)).toBe(true);
  });
});

describe('DNAT with MASQUERADE', () => {
  it('labels the rewrites in web2, request and reply, from the packets before and after', () => {
    const { probes } = reportProbes(m('dnat-port-forward.yaml'));
    const p = probes[0]!.path;
    const nats = p.nats.map((n) => `${n.dir} ${n.at.ns} ${n.manip} ${n.before} -> ${n.after}`);
    expect(nats).toEqual([
      'request web2 dst 172.31.0.2:8080 -> 192.168.2.10:80',
      'request web2 src 172.31.0.3:49049 -> 192.168.2.20:49049',
      'reply web2 dst 192.168.2.20:49049 -> 172.31.0.3:49049',
      'reply web2 src 192.168.2.10:80 -> 172.31.0.2:8080',
    ]);
    const hops = p.hops.map(hopText);
    expect(hops).toContain('reply veth web2/ngx1/eth0 -> web2/veth1-p');
    expect(hops).toContain('reply lan web2/eth0 -> lan0');
    expect(hops).toContain('reply inside web1/eth0 -> web1/IP');
    expect(p.drops).toEqual([]);
  });
});

describe('bridge', () => {
  it('routes into br0 then bridges to the port; a reply comes up through the bridge device', () => {
    const { probes } = reportProbes(m('bridge-two-containers.yaml'));
    const routed = probes.find((x) => x.name === 'web1 curl c1 (routed via web2)')!.path.hops.map(hopText);
    expect(routed).toContain('request inside web2/IP -> web2/br0');
    expect(routed).toContain('request inside web2/br0 -> web2/veth1-p');
    expect(routed).toContain('reply inside web2/veth1-p -> web2/br0');
    expect(routed).toContain('reply inside web2/br0 -> web2/IP');
    const bridged = probes.find((x) => x.name === 'c1 curl c2 (bridged)')!.path.hops.map(hopText);
    expect(bridged).toContain('request inside web2/veth1-p -> web2/br0');
    expect(bridged).toContain('request inside web2/br0 -> web2/veth2-p');
    // bridged frames never reach web2's stack
    expect(bridged.filter((h) => h.includes('web2/IP'))).toEqual([]);
  });
});

const models = readdirSync(resolve(ROOT, 'models')).filter((f) => f.endsWith('.yaml'));

describe.each(models)('%s', (file) => {
  it('has a node per namespace and interface, an edge per link, and every hop on an edge', async () => {
    const { world, probes } = reportProbes(m(file));
    const topo = await layoutTopology(world);
    const want = expectedCounts(world);
    expect(topo.nodes.filter((n) => n.kind === 'ns')).toHaveLength(want.ns);
    expect(topo.edges.filter((e) => e.kind === 'veth')).toHaveLength(want.veth);
    expect(topo.edges.filter((e) => e.kind === 'lan')).toHaveLength(want.lan);
    expect(topo.edges.filter((e) => e.kind === 'port')).toHaveLength(want.port);
    for (const ns of Object.values(world.netns))
      for (const l of ns.links) if (l.kind !== 'loopback') expect(topo.nodes.some((n) => n.id === nodeIdOf({ ns: ns.id, dev: l.name }))).toBe(true);
    for (const n of topo.nodes) {
      expect(Number.isFinite(n.x) && Number.isFinite(n.y) && n.width > 0 && n.height > 0, n.id).toBe(true);
      expect(n.x + n.width <= topo.width && n.y + n.height <= topo.height, n.id).toBe(true);
    }
    for (const e of topo.edges) expect(e.points.length, e.id).toBeGreaterThanOrEqual(2);
    for (const p of probes)
      for (const h of p.path.hops) {
        const [u, v] = hopEnds(h);
        expect(edgeBetween(topo, u, v), `${p.name}: ${hopText(h)}`).toBeDefined();
      }
    const svg = topologySvg(world, topo, { paths: probes.map((p) => ({ key: p.key, path: p.path })), standalone: true });
    expect(svg.match(/<g class="ns"/g) ?? []).toHaveLength(want.ns);
  });
});
