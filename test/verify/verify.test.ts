/**
 * netpath verify and netpath diff on the seed and the bundled models: the rows the issue's
 * "done when" names, witnesses confirmed by `netpath check`, and the interval arithmetic the
 * rows are made of.
 */
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { main } from '../../src/cli/main.js';
import { checkModel } from '../../src/cli/check.js';
import { atomsOf, intervalPrefixes, mergeIntervals, prefixText } from '../../src/verify/space.js';
import { mergeRows } from '../../src/verify/atoms.js';
import { ROOT } from '../helpers.js';

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(args, { out: (s) => void (out += s), err: (s) => void (err += s) });
  return { code, out, err };
}

const m = (p: string): string => resolve(ROOT, 'models', p);

describe('intervals', () => {
  it('atoms cover the range and break exactly at the cuts', () => {
    expect(atomsOf({ lo: 1, hi: 65535 }, [80, 81])).toEqual([
      { lo: 1, hi: 79 },
      { lo: 80, hi: 80 },
      { lo: 81, hi: 65535 },
    ]);
    expect(atomsOf({ lo: 90, hi: 100 }, [80, 81])).toEqual([{ lo: 90, hi: 100 }]);
  });

  it('an address range becomes the fewest prefixes', () => {
    // 10.0.0.1 - 10.0.0.14: /32 /31 /30 /30 /31 /32
    const ps = intervalPrefixes({ lo: 0x0a000001, hi: 0x0a00000e }).map(prefixText);
    expect(ps).toEqual(['10.0.0.1', '10.0.0.2/31', '10.0.0.4/30', '10.0.0.8/30', '10.0.0.12/31', '10.0.0.14']);
    expect(intervalPrefixes({ lo: 0, hi: 0xffffffff }).map(prefixText)).toEqual(['0.0.0.0/0']);
  });

  it('touching intervals merge', () => {
    expect(mergeIntervals([{ lo: 5, hi: 9 }, { lo: 1, hi: 4 }, { lo: 11, hi: 12 }])).toEqual([
      { lo: 1, hi: 9 },
      { lo: 11, hi: 12 },
    ]);
  });

  it('rows merge ports first, then destinations, and keep different verdicts apart', () => {
    const box = (d: number, p: number, q = p): { dst: { lo: number; hi: number }; dport: { lo: number; hi: number } } => ({ dst: { lo: d, hi: d }, dport: { lo: p, hi: q } });
    const rows = mergeRows([
      { box: box(0x0a000000, 1, 79), key: 'x' },
      { box: box(0x0a000000, 81, 100), key: 'x' },
      { box: box(0x0a000001, 1, 79), key: 'x' },
      { box: box(0x0a000001, 81, 100), key: 'x' },
      { box: box(0x0a000001, 80), key: 'y' },
    ]);
    expect(rows.map((r) => `${prefixText(r.dst)} ${r.dport!.map((p) => `${p.lo}-${p.hi}`).join(',')} ${r.key}`)).toEqual(['10.0.0.0/31 1-79,81-100 x', '10.0.0.1 80-80 y']);
  });
});

describe('netpath verify', () => {
  it('seed with MASQUERADE: isolate web1 -> 192.168.2.0/24 over every TCP port fails with exactly one row, 192.168.2.10 tcp 80', async () => {
    const r = await run(['verify', m('verify-seed-isolate.yaml'), '--json']);
    expect(r.code).toBe(1);
    const j = JSON.parse(r.out) as { invariants: { holds: boolean; violations: Record<string, unknown>[] }[] };
    expect(j.invariants).toHaveLength(1);
    const inv = j.invariants[0]!;
    expect(inv.holds).toBe(false);
    expect(inv.violations).toHaveLength(1);
    const v = inv.violations[0]!;
    expect({ from: v.from, src: v.src, dst: v.dst, proto: v.proto, dport: v.dport, sport: v.sport, result: v.result }).toEqual({
      from: 'web1',
      src: '172.31.0.3',
      dst: '192.168.2.10',
      proto: 'tcp',
      dport: '80',
      sport: '32768-60999',
      result: 'reachable',
    });
    const w = v.witness as Record<string, unknown>;
    expect(w).toMatchObject({ from: 'web1', dst: '192.168.2.10', dport: 80, proto: 'tcp', result: 'reachable' });
    // the witness command, run, shows the same result
    const t = await run(['trace', m('verify-seed-isolate.yaml'), '--from', 'web1', '--to', '192.168.2.10:80', '--sport', String(w.sport), '--json']);
    expect((JSON.parse(t.out) as { outcomes: { result: string }[] }).outcomes.map((o) => o.result)).toEqual(['reachable']);
  });

  it('the prop-seed invariants: the false one fails on 192.168.2.10:80 only, the others hold for every flow', async () => {
    const r = await run(['verify', m('prop-seed.yaml'), '--json']);
    expect(r.code).toBe(1);
    const j = JSON.parse(r.out) as { invariants: { name: string; holds: boolean; violations?: { dst: string; dport?: string }[] }[] };
    expect(j.invariants.map((i) => i.holds)).toEqual([false, true, true, true, true]);
    expect(j.invariants[0]!.violations!.map((v) => `${v.dst}:${v.dport}`)).toEqual(['192.168.2.10:80']);
  });

  it('the refactor: the equivalent fails exactly on tcp/444, which the new rules let through to a closed port', async () => {
    const r = await run(['verify', m('prop-refactor-one-port.yaml'), '--json']);
    const j = JSON.parse(r.out) as { invariants: { holds: boolean; violations?: { dst: string; dport?: string; proto: string; result: string }[] }[] };
    expect(j.invariants[0]!.violations!.map((v) => `${v.proto} ${v.dst}:${v.dport} ${v.result}`)).toEqual(['tcp 192.168.2.10:444 refused']);
    expect(j.invariants[1]!.holds).toBe(true);
  });

  it('a model without invariants says so, exit 0', async () => {
    const r = await run(['verify', m('seed-lan-container.yaml')]);
    expect(r.code).toBe(0);
    expect(r.out).toContain('no invariants');
  });
});

interface ChangeJson {
  from: string;
  src: string | null;
  dst: string;
  proto: 'tcp' | 'udp' | 'icmp';
  dport?: string;
  before: string;
  after: string;
  witness: { from: string; dst: string; proto: 'tcp' | 'udp' | 'icmp'; dport?: number; sport?: number };
}

const tmp: string[] = [];
afterAll(() => {
  for (const d of tmp) rmSync(d, { recursive: true, force: true });
});

/** The model at `path` with its probes replaced by `probes`, written beside copies of the files it runs. */
function withProbes(path: string, probes: readonly Record<string, unknown>[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'netpath-verify-'));
  tmp.push(dir);
  for (const f of readdirSync(resolve(ROOT, 'models'))) if (/\.(sh|rules)$/.test(f)) copyFileSync(resolve(ROOT, 'models', f), join(dir, f));
  const doc = parseDocument(readFileSync(path, 'utf8'));
  doc.set('probes', probes);
  doc.delete('invariants');
  const out = join(dir, 'model.yaml');
  writeFileSync(out, doc.toString());
  return out;
}

describe('netpath diff', () => {
  it('seed -> seed without SNAT, from web1: every changed class, each witness confirmed by netpath check on both plans', async () => {
    const r = await run(['diff', m('seed-lan-container.yaml'), m('seed-no-snat.yaml'), '--from', 'web1', '--json']);
    expect(r.code).toBe(1);
    const j = JSON.parse(r.out) as { changes: ChangeJson[] };
    expect(j.changes.map((c) => `${c.proto} ${c.dst} ${c.dport ?? '-'} ${c.before} -> ${c.after}`)).toEqual([
      'tcp 192.168.2.10 1-79,81-65535 refused -> timeout',
      'tcp 192.168.2.10 80 reachable -> timeout',
      'udp 192.168.2.10 1-65535 refused -> timeout',
      'icmp 192.168.2.10 - reachable -> timeout',
    ]);
    const probe = (c: ChangeJson, expect: string): Record<string, unknown> => ({
      name: `${c.proto} ${c.witness.dst}:${c.witness.dport ?? ''}`,
      from: c.witness.from,
      to: c.witness.dport !== undefined ? `${c.witness.dst}:${c.witness.dport}` : c.witness.dst,
      proto: c.proto,
      expect,
    });
    // check picks its own source port: every row covers the whole ephemeral range, so any pick is a member
    for (const c of j.changes) expect(c.witness.sport === undefined || (c as unknown as { sport: string }).sport === '32768-60999').toBe(true);
    const before = checkModel(withProbes(m('seed-lan-container.yaml'), j.changes.map((c) => probe(c, c.before))));
    expect(before.reports.map((p) => [p.name, p.result, p.ok])).toEqual(j.changes.map((c) => [probe(c, '').name, c.before, true]));
    const after = checkModel(withProbes(m('seed-no-snat.yaml'), j.changes.map((c) => probe(c, c.after))));
    expect(after.reports.map((p) => [p.name, p.result, p.ok])).toEqual(j.changes.map((c) => [probe(c, '').name, c.after, true]));
  });

  it('a plan against itself changes nothing, exit 0', async () => {
    const r = await run(['diff', m('seed-lan-container.yaml'), m('seed-lan-container.yaml'), '--from', 'web1']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/no flow from web1 changes its result \(\d+ classes compared\)/);
  });

  it('the FORWARD DROP variant cuts web1 off from the container, and nothing else from web1', async () => {
    const r = await run(['diff', m('seed-lan-container.yaml'), m('seed-forward-drop.yaml'), '--from', 'web1', '--json']);
    const j = JSON.parse(r.out) as { changes: ChangeJson[] };
    expect(j.changes.length).toBeGreaterThan(0);
    for (const c of j.changes) expect(c.dst).toBe('192.168.2.10');
    expect(j.changes.every((c) => c.after === 'timeout' || c.after === 'no-route')).toBe(true);
  });

  it('bad options are usage errors (exit 2)', async () => {
    expect((await run(['diff', m('seed-lan-container.yaml'), m('seed-no-snat.yaml'), '--to', 'nope'])).code).toBe(2);
    expect((await run(['diff', m('seed-lan-container.yaml'), m('seed-no-snat.yaml'), '--from', 'nosuchns'])).code).toBe(2);
  });
});
