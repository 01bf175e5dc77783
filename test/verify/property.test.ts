/**
 * The classes are exact: packets drawn inside and outside every reported row, run through the
 * single-packet engine (or the rules tracer for `rules matrix`), get what the rows say — inside a
 * violation row the invariant breaks with the row's result, outside every row it holds; a diff
 * row's flows change from its before to its after, all others do not change; every packet falls
 * in exactly one matrix row and gets that row's outcome. Draws lean on the values the model
 * names (and their neighbours), where a wrong cut would show.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { KERNEL } from '../../src/model/origin.js';
import { nodeIo } from '../../src/plan/model.js';
import { parseIptablesRestore } from '../../src/netfilter/restore.js';
import { applyRestore, emptyNfState } from '../../src/netfilter/tables.js';
import { traceRules, type TraceProto } from '../../src/netfilter/trace.js';
import { judge } from '../../src/prop/check.js';
import { parseInvariants, resolveInvariants } from '../../src/prop/invariants.js';
import { mentioned } from '../../src/prop/mentioned.js';
import type { Flow } from '../../src/engine/probe.js';
import { inRow } from '../../src/verify/atoms.js';
import { diffWorlds, fateOf } from '../../src/verify/diff.js';
import { outcomeKey, serviceMatrix, type MatrixRow } from '../../src/verify/matrix.js';
import { rulesDiff } from '../../src/verify/rulesdiff.js';
import { kubeProxyDump } from '../../src/netfilter/kubegen.js';
import { inIntervals, prefixInterval } from '../../src/verify/space.js';
import { ifaceClassOf } from '../../src/verify/dims.js';
import { invariantSpaces, requestSource, verifyInvariant } from '../../src/verify/verify.js';
import { resolveNsRef } from '../../src/world/build.js';
import { ROOT, model } from '../helpers.js';

const RUNS = 300;

/** A value in [lo, hi]: often one the model names or a neighbour, else anywhere. */
function valueIn(lo: number, hi: number, hints: readonly number[]): fc.Arbitrary<number> {
  const inside = hints.filter((h) => h >= lo && h <= hi);
  const any = fc.integer({ min: lo, max: hi });
  return inside.length > 0 ? fc.oneof(fc.constantFrom(...inside), any) : any;
}

function pickIn(ranges: readonly { lo: number; hi: number }[], hints: readonly number[]): fc.Arbitrary<number> {
  return fc.constantFrom(...ranges).chain((r) => valueIn(r.lo, r.hi, hints));
}

const INVARIANT_MODELS = ['verify-seed-isolate.yaml', 'prop-seed.yaml', 'prop-reject-shadowed.yaml', 'prop-refactor-one-port.yaml', 'prop-masquerade-wrong-iface.yaml', 'prop-dnat-asymmetric.yaml'];

describe('verify: the engine agrees inside and outside every violation row', () => {
  for (const file of INVARIANT_MODELS) {
    it(file, () => {
      const path = resolve(ROOT, 'models', file);
      const built = model(`models/${file}`);
      const invs = resolveInvariants(built, parseInvariants(nodeIo.readFile(path), path));
      for (const inv of invs) {
        const target = inv.form.kind === 'equivalent' ? inv.form.a : built.world;
        const verdict = verifyInvariant(built.world, inv);
        const hints = mentioned(target);
        const spaces = invariantSpaces(target, inv);
        const rowHints = verdict.violations.flatMap((v) => [prefixInterval(v.row.dst).lo, prefixInterval(v.row.dst).hi]);
        const rowPorts = verdict.violations.flatMap((v) => (v.row.dport ?? []).flatMap((r) => [r.lo, r.hi]));
        const flow = fc.constantFrom(...spaces).chain((s) =>
          fc
            .record({
              to: pickIn(s.dst, [...hints.addrs, ...rowHints]),
              port: s.dport ? pickIn(s.dport, [...hints.ports, ...rowPorts]) : fc.constant(undefined),
              sport: s.sport ? pickIn(s.sport, hints.ports) : fc.constant(undefined),
            })
            .map((p): Flow => ({ from: s.from, proto: s.proto, to: p.to, ...(p.port !== undefined ? { port: p.port } : {}), ...(p.sport !== undefined ? { sport: p.sport } : {}) })),
        );
        fc.assert(
          fc.property(flow, (f) => {
            const v = judge(target, inv.form, f);
            const row = verdict.violations.find((r) => r.from === f.from && r.proto === f.proto && inRow(r.row, f));
            if (!row) return v === undefined;
            return v !== undefined && v.trace.result === row.result && requestSource(v.trace) === row.src;
          }),
          { numRuns: RUNS, seed: 15 },
        );
      }
    });
  }
});

const DIFFS: readonly [string, string][] = [
  ['seed-lan-container.yaml', 'seed-no-snat.yaml'],
  ['seed-lan-container.yaml', 'seed-forward-drop.yaml'],
  ['seed-lan-container.yaml', 'seed-snat.yaml'],
  ['seed-no-snat.yaml', 'seed-no-forward.yaml'],
];

describe('diff: a flow changes exactly when a change row holds it, and as the row says', () => {
  for (const [a, b] of DIFFS) {
    it(`${a} -> ${b}`, () => {
      const wa = model(`models/${a}`).world;
      const wb = model(`models/${b}`).world;
      const from = ['web1', 'web2'].map((r) => resolveNsRef(wa, r, KERNEL));
      const res = diffWorlds(wa, wb, { from });
      const hints = [...mentioned(wa).addrs, ...mentioned(wb).addrs];
      const ports = [...mentioned(wa).ports, ...mentioned(wb).ports];
      const flow = fc
        .record({
          from: fc.constantFrom(...from),
          proto: fc.constantFrom('tcp' as const, 'udp' as const, 'icmp' as const),
          to: valueIn(0, 0xffffffff, hints),
          port: valueIn(1, 65535, ports),
          sport: valueIn(32768, 60999, ports),
        })
        .map((p): Flow => ({ from: p.from, proto: p.proto, to: p.to, ...(p.proto !== 'icmp' ? { port: p.port, sport: p.sport } : {}) }));
      fc.assert(
        fc.property(flow, (f) => {
          const before = fateOf(wa, f).text;
          const after = fateOf(wb, f).text;
          const row = res.changes.find((c) => c.from === f.from && c.proto === f.proto && inRow(c.row, f));
          if (!row) return before === after;
          return row.before === before && row.after === after;
        }),
        { numRuns: RUNS, seed: 15 },
      );
    });
  }
});

/** The addresses and ports a dump names, with neighbours. */
function dumpHints(text: string): { addrs: number[]; ports: number[] } {
  const addrs = new Set<number>();
  const ports = new Set<number>();
  for (const m of text.matchAll(/(\d+)\.(\d+)\.(\d+)\.(\d+)(?:\/(\d+))?/g)) {
    const a = ((Number(m[1]) << 24) | (Number(m[2]) << 16) | (Number(m[3]) << 8) | Number(m[4])) >>> 0;
    const len = m[5] !== undefined ? Number(m[5]) : 32;
    const r = prefixInterval({ addr: a, len });
    for (const v of [r.lo - 1, r.lo, r.lo + 1, r.hi - 1, r.hi, r.hi + 1]) if (v >= 0 && v <= 0xffffffff) addrs.add(v);
  }
  for (const m of text.matchAll(/(?:port|ports|:)\s*(\d{1,5})(?:[:-](\d{1,5}))?/g))
    for (const v of [m[1], m[2]].filter((x) => x !== undefined).map(Number)) for (const p of [v - 1, v, v + 1]) if (p >= 1 && p <= 65535) ports.add(p);
  return { addrs: [...addrs], ports: [...ports] };
}

const inPrefixes = (ps: MatrixRow['src'], v: number): boolean => ps.some((p) => inIntervals(v, [prefixInterval(p)]));

/** A dump whose rules tell interfaces (names and prefixes) and TCP flags apart, around a DNAT. */
const DIMS_DUMP = [
  '*nat',
  ':PREROUTING ACCEPT [0:0]',
  ':INPUT ACCEPT [0:0]',
  ':OUTPUT ACCEPT [0:0]',
  ':POSTROUTING ACCEPT [0:0]',
  '-A PREROUTING -i veth+ -p tcp -m tcp --dport 8080 -j DNAT --to-destination 10.1.0.2:80',
  '-A PREROUTING -d 10.0.0.1/32 -p tcp -m tcp --dport 8443 -j DNAT --to-destination 10.1.0.3:443',
  'COMMIT',
  '*filter',
  ':INPUT ACCEPT [0:0]',
  ':FORWARD DROP [0:0]',
  ':OUTPUT ACCEPT [0:0]',
  '-A INPUT -m conntrack --ctstate INVALID -j DROP',
  '-A INPUT -i veth0 -p tcp -m tcp --tcp-flags SYN,ACK,PSH SYN,PSH -j REJECT --reject-with tcp-reset',
  '-A INPUT -i eth0 -p tcp -m tcp ! --syn -j DROP',
  '-A FORWARD -i veth+ ! -o eth1 -p tcp -m tcp --syn -j ACCEPT',
  '-A FORWARD -i br-0 -p tcp -m tcp --tcp-flags FIN,URG NONE -j ACCEPT',
  '-A FORWARD -i eth0 -p udp -m udp --dport 53 -j ACCEPT',
  'COMMIT',
  '',
].join('\n');

/**
 * Without `dims`, the packets arrive on eth0 (--iif) as a SYN; with it, on any interface (a name
 * the dump matches, a name next to one, a prefix's member, an unnamed one) with any flags.
 */
describe('rules matrix: every packet is in exactly one row and gets its outcome', () => {
  for (const [file, local, dims] of [
    ['fixtures/iptables/docker.save', [0xac110001, 0xc0a80102], false],
    ['fixtures/iptables/kube-proxy.save', [0xc0a80102], false],
    ['fixtures/iptables/docker.save', [0xac110001, 0xc0a80102], true],
    ['dims (hand-written)', [0x0a000001], true],
  ] as const) {
    it(`${file}${dims ? ', interfaces and flags as dimensions' : ''}`, () => {
      const text = file.startsWith('fixtures') ? readFileSync(resolve(ROOT, file), 'utf8') : DIMS_DUMP;
      const nf = applyRestore(emptyNfState(), parseIptablesRestore(text, file), false, { ...KERNEL, file });
      const protos: TraceProto[] = ['tcp', 'udp', 'icmp'];
      const m = serviceMatrix({ nf, local, protos, ...(dims ? { flags: 'all' as const } : { iif: 'eth0' }) });
      const h = dumpHints(text);
      const names = [...new Set([...text.matchAll(/-i (\S+)/g)].map((x) => x[1]!))].flatMap((n) => (n.endsWith('+') ? [n.slice(0, -1), `${n.slice(0, -1)}7`] : [n, `${n}1`, n.slice(0, -1)]));
      const pkt = fc.record({
        proto: fc.constantFrom(...protos),
        src: valueIn(0, 0xffffffff, [...h.addrs, ...local]),
        dst: valueIn(0, 0xffffffff, [...h.addrs, ...local]),
        dport: valueIn(1, 65535, h.ports),
        sport: valueIn(1, 65535, h.ports),
        iif: dims ? fc.option(fc.constantFrom(...names, 'eth9', 'lo'), { nil: undefined }) : fc.constant('eth0'),
        flags: dims ? fc.integer({ min: 0, max: 63 }) : fc.constant(2),
      });
      fc.assert(
        fc.property(pkt, (p) => {
          const ported = p.proto !== 'icmp';
          const isLocal = p.src >>> 24 === 127 || (local as readonly number[]).includes(p.src);
          const cls = ifaceClassOf(m.interfaces, p.iif);
          const rows = m.rows.filter(
            (r) =>
              r.proto === p.proto &&
              inPrefixes(r.src, p.src) &&
              inPrefixes(r.dst, p.dst) &&
              inIntervals(cls, r.iif) &&
              (p.proto !== 'tcp' || inIntervals(p.flags, r.flags!)) &&
              (!ported || (inIntervals(p.dport, r.dport!) && inIntervals(p.sport, r.sport!))),
          );
          // the host's own sources are not packets arriving from elsewhere: no row holds them
          expect(rows).toHaveLength(isLocal ? 0 : 1);
          if (isLocal) return;
          const os = traceRules(nf, { src: p.src, dst: p.dst, proto: p.proto, ...(ported ? { dport: p.dport, sport: p.sport } : {}), ...(p.iif !== undefined ? { iif: p.iif } : {}), ...(p.proto === 'tcp' && p.flags !== 2 ? { tcpFlags: p.flags } : {}), local });
          expect(outcomeKey(os)).toBe(outcomeKey(rows[0]!.outcomes));
        }),
        { numRuns: RUNS, seed: 15 },
      );
    });
  }
});


describe('rules diff with interfaces and flags as dimensions: a first packet changes exactly when a change row holds it', () => {
  it('dims (hand-written), one rule changed in interface and flags', () => {
    const after = DIMS_DUMP.replace('-A INPUT -i eth0 -p tcp -m tcp ! --syn -j DROP', '-A INPUT -i eth+ -p tcp -m tcp --tcp-flags FIN,ACK ACK -j DROP');
    expect(after).not.toBe(DIMS_DUMP);
    const load = (t: string): ReturnType<typeof emptyNfState> => applyRestore(emptyNfState(), parseIptablesRestore(t, 'dims'), false, KERNEL);
    const a = load(DIMS_DUMP);
    const b = load(after);
    const local = [0x0a000001];
    const d = rulesDiff({ before: a, after: b, local, protos: ['tcp', 'udp'], flags: 'all' });
    expect(d.changes.length).toBeGreaterThan(0);
    const h = dumpHints(after);
    const pkt = fc.record({
      proto: fc.constantFrom('tcp' as const, 'udp' as const),
      src: valueIn(0, 0xffffffff, h.addrs),
      dst: valueIn(0, 0xffffffff, [...h.addrs, ...local]),
      dport: valueIn(1, 65535, h.ports),
      sport: valueIn(1, 65535, h.ports),
      iif: fc.option(fc.constantFrom('eth0', 'eth1', 'et', 'veth0', 'veth', 'br-0'), { nil: undefined }),
      flags: fc.integer({ min: 0, max: 63 }),
    });
    fc.assert(
      fc.property(pkt, (p) => {
        if (p.src >>> 24 === 127 || local.includes(p.src)) return;
        const input = { src: p.src, dst: p.dst, proto: p.proto, dport: p.dport, sport: p.sport, ...(p.iif !== undefined ? { iif: p.iif } : {}), ...(p.proto === 'tcp' ? { tcpFlags: p.flags } : {}), local };
        const before = outcomeKey(traceRules(a, input));
        const afterKey = outcomeKey(traceRules(b, input));
        const cls = ifaceClassOf(d.interfaces, p.iif);
        const row = d.changes.find((c) => c.proto === p.proto && inPrefixes(c.src, p.src) && inPrefixes(c.dst, p.dst) && inIntervals(p.dport, c.dport!) && inIntervals(p.sport, c.sport!) && inIntervals(cls, c.iif) && (p.proto !== 'tcp' || inIntervals(p.flags, c.flags!)));
        if (!row) expect(afterKey).toBe(before);
        else expect([outcomeKey(row.before), outcomeKey(row.after)]).toEqual([before, afterKey]);
      }),
      { numRuns: RUNS, seed: 15 },
    );
  });
});

describe('rules diff: a first packet changes exactly when a change row holds it', () => {
  it('kube-proxy dumps of 40 and 41 services (the 41st has a node port)', () => {
    const load = (n: number): { nf: ReturnType<typeof emptyNfState>; text: string; services: ReturnType<typeof kubeProxyDump>['services'] } => {
      const d = kubeProxyDump({ services: n });
      return { nf: applyRestore(emptyNfState(), parseIptablesRestore(d.text, `kube-${n}`), false, KERNEL), text: d.text, services: d.services };
    };
    const a = load(40);
    const b = load(41);
    const local = [0x0a000001];
    const protos: TraceProto[] = ['tcp', 'udp', 'icmp'];
    const d = rulesDiff({ before: a.nf, after: b.nf, local, protos, iif: 'eth0' });
    const added = b.services[40]!;
    expect(d.changes.length).toBeGreaterThan(0);
    // the new service's address is among the changed destinations, and nothing far from it or the node is
    expect(d.changes.some((c) => inPrefixes(c.dst, added.clusterIp))).toBe(true);
    const h = dumpHints(b.text);
    const pkt = fc.record({
      proto: fc.constantFrom(...protos),
      src: valueIn(0, 0xffffffff, h.addrs),
      dst: valueIn(0, 0xffffffff, [...h.addrs, ...local, added.clusterIp]),
      dport: valueIn(1, 65535, [...h.ports, added.port, added.nodePort ?? 1]),
      sport: valueIn(1, 65535, h.ports),
    });
    fc.assert(
      fc.property(pkt, (p) => {
        if (p.src >>> 24 === 127 || local.includes(p.src)) return;
        const ported = p.proto !== 'icmp';
        const input = { src: p.src, dst: p.dst, proto: p.proto, ...(ported ? { dport: p.dport, sport: p.sport } : {}), iif: 'eth0', local };
        const before = outcomeKey(traceRules(a.nf, input));
        const after = outcomeKey(traceRules(b.nf, input));
        const row = d.changes.find((c) => c.proto === p.proto && inPrefixes(c.src, p.src) && inPrefixes(c.dst, p.dst) && (!ported || (inIntervals(p.dport, c.dport!) && inIntervals(p.sport, c.sport!))));
        if (!row) expect(after).toBe(before);
        else expect([outcomeKey(row.before), outcomeKey(row.after)]).toEqual([before, after]);
      }),
      { numRuns: RUNS, seed: 15 },
    );
  });
});
