/**
 * A broadcast ARP request flooded by a bridge when no frame is kept (src/engine/bridge.ts
 * floodArpRequest, src/engine/derived.ts arpFloodIndex): the ports where it can only be
 * "not-local" are not walked one by one, and with 'why' steps their steps are left out unless the
 * trace names their namespace. Results, steps (all kept), whys and fixes must be those of the full
 * walk, on a star with every kind of port that can react: a container answering by proxy ARP, one
 * owning a prefix by a local route, one whose veth end is bridged further, one holding a static
 * stale entry for the sender, one that learnt the sender earlier in the probe, a hairpin port and a
 * port without broadcast flooding. (arp_accept is not modelled: a model setting it is refused.)
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkModel, explainModel } from '../../src/cli/check.js';
import { arpFloodIndex } from '../../src/engine/derived.js';
import { simulate } from '../../src/engine/probe.js';
import { DEFAULT_SIM, Sim } from '../../src/engine/sim.js';
import { whyOf, type WhyFacts } from '../../src/explain/why.js';
import { parseModel } from '../../src/plan/model.js';
import { probeFlow } from '../../src/trace/probe.js';
import type { ProbeTrace } from '../../src/trace/types.js';
import { parseIpv4 } from '../../src/wire/ipv4.js';
import { buildWorld, type Built } from '../../src/world/build.js';

const addr = (k: number): string => `10.1.${(k + 2) >> 8}.${(k + 2) & 255}`;

/** A star of `n` containers on br0 (one host), each with a veth whose host end is a br0 port. */
function star(n: number, variants: boolean): string {
  const run = ['ip link add br0 type bridge', 'ip addr add 10.1.0.1/16 dev br0', 'ip link set br0 up'];
  for (let k = 0; k < n; k++) {
    run.push(`ip netns add c${k}`, `ip link add veth${k} type veth peer name vp${k}`, `ip link set veth${k} netns c${k}`, `ip link set vp${k} master br0`, `ip link set vp${k} up`);
    if (variants && k === 5) {
      // c5's veth end is a port of a bridge in c5, with d5 behind it
      run.push(
        'ip netns exec c5 ip link add br5 type bridge',
        'ip netns exec c5 ip link set veth5 master br5',
        'ip netns exec c5 ip link set br5 up',
        'ip netns add d5',
        'ip netns exec c5 ip link add e5 type veth peer name f5',
        'ip netns exec c5 ip link set f5 netns d5',
        'ip netns exec c5 ip link set e5 master br5',
        'ip netns exec c5 ip link set e5 up',
        'ip netns exec d5 ip addr add 10.1.5.5/16 dev f5',
        'ip netns exec d5 ip link set f5 up',
        'ip netns exec c5 ip link set veth5 up',
      );
      continue;
    }
    run.push(`ip netns exec c${k} ip addr add ${addr(k)}/16 dev veth${k}`, `ip netns exec c${k} ip link set veth${k} up`);
  }
  if (variants) {
    run.push(
      // c3 answers by proxy ARP for 10.1.250.0/24, which it routes out of a dummy
      'ip netns exec c3 ip link add dm3 type dummy',
      'ip netns exec c3 ip link set dm3 up',
      'ip netns exec c3 ip route add 10.1.250.0/24 dev dm3',
      'ip netns exec c3 sysctl -w net.ipv4.conf.all.forwarding=1',
      'ip netns exec c3 sysctl -w net.ipv4.conf.veth3.proxy_arp=1',
      // c6 owns 10.1.77.0/24 by a local route
      'ip netns exec c6 ip route add local 10.1.77.0/24 dev lo',
      // c7 holds a stale entry for c0
      `ip netns exec c7 ip neigh add ${addr(0)} lladdr 02:00:00:00:00:07 dev veth7 nud stale`,
      // c0 reaches 10.9.0.0/16 through c9, which forwards it to c4: c9's ARP request for c4 reaches
      // c0, which learnt c9 before (its entry is updated)
      'ip netns exec c9 sysctl -w net.ipv4.ip_forward=1',
      `ip netns exec c9 ip route add 10.9.0.0/16 via ${addr(4)}`,
      'ip netns exec c4 ip addr add 10.9.0.1/32 dev lo',
      `ip netns exec c0 ip route add 10.9.0.0/16 via ${addr(9)}`,
      'bridge link set dev vp8 hairpin on',
      'ip link set vp10 type bridge_slave bcast_flood off',
    );
  }
  const lines = [`name: star of ${n}`, 'hosts:', '  web2:', '    run: |', ...run.map((l) => `      $ ${l}`), 'services:'];
  for (let k = 0; k < n; k++) if (!(variants && k === 5)) lines.push(`  - {at: c${k}, listen: tcp/80}`);
  if (variants) lines.push('  - {at: d5, listen: tcp/80}');
  lines.push('probes:');
  const probes: [string, string][] = [
    ['c0', addr(1)],
    ['c1', addr(2)],
    ['c2', '10.1.0.1'],
    ['web2', addr(12)],
    ['c0', '10.1.99.99'],
  ];
  if (variants)
    probes.push(['c0', '10.1.5.5'], ['c0', '10.1.250.9'], ['c0', '10.1.77.9'], ['c0', addr(7)], ['c7', addr(0)], ['c0', '10.9.0.1'], ['c8', addr(11)], ['c11', addr(8)], ['c0', addr(10)]);
  for (const [from, to] of probes) lines.push(`  - {name: ${from} to ${to}, from: ${from}, to: "${to}:80", proto: tcp}`);
  for (const [from, to] of probes.slice(0, 2)) lines.push(`  - {name: ${from} pings ${to}, from: ${from}, to: "${to}", proto: icmp}`);
  return lines.join('\n') + '\n';
}

const dir = mkdtempSync(join(tmpdir(), 'netpath-flood-'));
function file(name: string, text: string): string {
  const f = join(dir, name);
  writeFileSync(f, text);
  return f;
}
const PLAIN = file('star.yaml', star(24, false));
const VARIANTS = file('variants.yaml', star(24, true));

function built(path: string): Built {
  return buildWorld(parseModel(star(24, path === VARIANTS), path));
}

/** A why without its step index (an index into the record it was read from). */
function noIndex(w: WhyFacts): unknown {
  const { index: _, ...point } = w.point as WhyFacts['point'] & { index?: number };
  return { ...w, point };
}

function whyAndStep(world: Built['world'], t: ProbeTrace): { why: unknown; step: unknown } {
  const w = whyOf(world, t);
  const i = 'index' in w.point ? w.point.index : -1;
  return { why: noIndex(w), step: t.steps[i] };
}

describe('ARP flood without captures', () => {
  for (const path of [PLAIN, VARIANTS]) {
    const b = built(path);
    const name = path === PLAIN ? 'star' : 'star with reacting ports';
    it(`${name}: the same results and steps with and without captures, and the same whys with 'why' steps`, () => {
      let fewer = 0;
      for (const p of b.model.probes) {
        const flow = probeFlow(b.world, p);
        const full = simulate(b.world, flow);
        const lean = simulate(b.world, flow, { captures: false });
        const why = simulate(b.world, flow, { captures: false, steps: 'why' });
        expect(lean.map((t) => t.result), p.name).toEqual(full.map((t) => t.result));
        expect(why.map((t) => t.result), p.name).toEqual(full.map((t) => t.result));
        expect(lean.map((t) => t.steps), p.name).toEqual(full.map((t) => t.steps));
        expect(why.map((t) => t.drops), p.name).toEqual(full.map((t) => t.drops));
        expect(why.map((t) => t.notes), p.name).toEqual(full.map((t) => t.notes));
        for (const [i, t] of full.entries()) {
          if (t.result !== 'reachable') expect(whyAndStep(b.world, why[i]!), p.name).toEqual(whyAndStep(b.world, t));
          // 'why' steps: a subsequence of all steps
          let j = 0;
          for (const s of t.steps) if (j < why[i]!.steps.length && JSON.stringify(s) === JSON.stringify(why[i]!.steps[j])) j++;
          expect(j, p.name).toBe(why[i]!.steps.length);
          if (why[i]!.steps.length < t.steps.length) fewer++;
          // every step of a namespace the trace names otherwise is kept (the client's own request
          // back through its hairpin port, too)
          const named = new Set(t.steps.filter((s) => !(s.kind === 'neigh' && s.event === 'not-local')).map((s) => s.ns));
          expect(why[i]!.steps.filter((s) => named.has(s.ns)), p.name).toEqual(t.steps.filter((s) => named.has(s.ns)));
        }
      }
      // the flood's not-local steps of containers the probe never touches are left out
      expect(fewer).toBeGreaterThan(b.model.probes.length / 2);
    });

    it(`${name}: check reports the same with and without traces`, () => {
      const kept = checkModel(path);
      const lean = checkModel(path, { traces: false });
      const strip = (r: (typeof kept.reports)[number]): unknown => ({ ...r, ...(r.explanation ? { explanation: { ...r.explanation, why: noIndex(r.explanation.why) } } : {}) });
      expect(lean.reports.map(strip)).toEqual(kept.reports.map(strip));
      expect(kept.reports.filter((r) => !r.ok).length).toBeGreaterThan(0);
    });
  }

  it("the variants: what the full walk does at each reacting port, the 'why' walk does too", () => {
    const b = built(VARIANTS);
    const runs = explainModel(b, { captures: false, steps: 'why' }).runs;
    const result = (name: string): string | undefined => runs.find((r) => r.name === name)?.result;
    expect(result('c0 to 10.1.5.5')).toBe('reachable'); // through c5's bridge to d5
    expect(result('c0 to 10.1.77.9')).toBe('reachable'); // c6's local route
    expect(result('c0 to 10.1.250.9')).toBe('no-route'); // c3 answers by proxy, then its dummy swallows the SYN
    expect(result('c0 to 10.9.0.1')).toBe('reachable'); // via c9 to c4
    expect(result(`c0 to ${addr(10)}`)).toBe('no-route'); // vp10 floods no broadcast
    expect(result(`c8 to ${addr(11)}`)).toBe('reachable');
    const proxy = runs.find((r) => r.name === 'c0 to 10.1.250.9')!.traces[0]!;
    expect(proxy.steps.some((s) => s.kind === 'neigh' && s.event === 'proxy-reply' && s.ns === 'web2/c3')).toBe(true);
  });

  it('a probe cut short by the horizon between ARP retries ends as the full walk does', () => {
    const b = built(PLAIN);
    const p = b.model.probes.find((q) => q.name === 'c0 to 10.1.99.99')!;
    const flow = probeFlow(b.world, p);
    for (const horizonUs of [1_000, 1_000_005, 2_000_005, 3_000_000]) {
      const full = simulate(b.world, flow, { horizonUs });
      const why = simulate(b.world, flow, { horizonUs, captures: false, steps: 'why' });
      expect(why.map((t) => [t.result, t.errno, t.drops.length]), String(horizonUs)).toEqual(full.map((t) => [t.result, t.errno, t.drops.length]));
    }
  });
});

describe('the event count of a run of inert ports', () => {
  it('countEvents(n) admits what n calls of countEvent would, and stops alike', () => {
    const b = built(PLAIN);
    const one = new Sim(b.world, DEFAULT_SIM);
    const many = new Sim(b.world, DEFAULT_SIM);
    let admitted = 0;
    while (one.countEvent()) admitted++;
    expect(admitted).toBeGreaterThan(1000);
    expect(many.countEvents(admitted - 7)).toBe(admitted - 7);
    expect(many.exhausted).toBe(false);
    expect(many.countEvents(10)).toBe(7);
    expect(many.exhausted).toBe(true);
    expect([...many.notes]).toEqual([...one.notes]);
    expect(many.countEvents(3)).toBe(0);
    expect(many.countEvent()).toBe(false);
  });
});

describe('arpFloodIndex', () => {
  const b = built(VARIANTS);
  const host = b.world.netns['web2']!;
  const br = host.links.find((l) => l.name === 'br0')!;
  const x = arpFloodIndex(b.world, host, br);
  const pos = (port: string): number => x.ports.findIndex((p) => p.name === port);
  const ip = (s: string): number => parseIpv4(s)!;

  it('floods by every port with carrier and bcast_flood', () => {
    expect(x.ports.map((p) => p.name)).toEqual(Array.from({ length: 24 }, (_, k) => `vp${k}`).filter((p) => p !== 'vp10'));
    expect(x.ports.every((p, i) => x.portAt.get(p.ifindex) === i)).toBe(true);
    expect(arpFloodIndex(b.world, host, br)).toBe(x);
  });

  it('ports that may react to any request: proxy ARP, bridged further, a static stale entry', () => {
    for (const p of ['vp3', 'vp5', 'vp7']) expect(x.inert[pos(p)], p).toBeUndefined();
    for (const p of ['vp0', 'vp1', 'vp4', 'vp6', 'vp8', 'vp9', 'vp23']) expect(x.inert[pos(p)], p).toBeDefined();
    expect(x.inert[pos('vp4')]).toEqual({ ns: 'web2/c4', dev: expect.objectContaining({ name: 'veth4' }) });
    expect(x.position.get('web2/c4')?.get(x.inert[pos('vp4')]!.dev.ifindex)).toBe(pos('vp4'));
  });

  it('for a target: those ports and the ones whose namespace has a local route covering it', () => {
    const always = [pos('vp3'), pos('vp5'), pos('vp7')];
    expect(x.reactive(ip(addr(4)))).toEqual([...always, pos('vp4')].sort((a, c) => a - c));
    expect(x.reactive(ip('10.9.0.1'))).toEqual([...always, pos('vp4')].sort((a, c) => a - c));
    expect(x.reactive(ip('10.1.77.200'))).toEqual([...always, pos('vp6')].sort((a, c) => a - c));
    expect(x.reactive(ip('10.1.99.99'))).toEqual(always);
    // 127.0.0.0/8 is local everywhere
    expect(x.reactive(ip('127.0.0.5'))).toEqual(x.ports.map((_, i) => i));
    expect(x.reactive(ip('10.1.77.200'))).toBe(x.reactive(ip('10.1.77.200')));
  });
});
