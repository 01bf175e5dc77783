/** `netpath prop`: the JSON contract, exit codes, the text report, and reproducible seeds. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { ROOT } from '../helpers.js';

async function run(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(args, { out: (s) => (out += s), err: (s) => (err += s) });
  return { code, out, err };
}

const seedModel = join(ROOT, 'models/prop-seed.yaml');

function tmpModel(text: string): string {
  const m = join(mkdtempSync(join(tmpdir(), 'netpath-prop-')), 'm.yaml');
  writeFileSync(m, text);
  return m;
}

const TWO = 'hosts:\n  a:\n  b:\nlans:\n  l:\n    a/eth0: 10.0.0.1/24\n    b/eth0: 10.0.0.2/24\nservices:\n  - { at: b, listen: tcp/22 }\n';

interface PropJson {
  seed: number;
  invariants: {
    name: string;
    form: string;
    holds: boolean;
    runs: number;
    counterexample?: { from: string; to: string; proto: string; result: string; why: string; violation: string; trace: { steps: unknown[] } };
  }[];
}

describe('netpath prop --json', () => {
  it('keeps the shape other tools rely on; exit 1 when an invariant fails', async () => {
    const r = await run('prop', seedModel, '--json', '--seed', '42');
    expect(r.code).toBe(1);
    const j = JSON.parse(r.out) as PropJson;
    expect(j.seed).toBe(42);
    expect(j.invariants.map((i) => [i.form, i.holds])).toEqual([
      ['isolate', false],
      ['reach', true],
      ['return', true],
      ['reach', true],
      ['nat-reversible', true],
    ]);
    const bad = j.invariants[0]!;
    expect(bad.name).toBe('web1 reaches no container port up to 1024');
    expect(bad.counterexample).toMatchObject({ from: 'web1', to: '192.168.2.10:80', proto: 'tcp', result: 'reachable' });
    expect(bad.counterexample!.why).toContain('reached 192.168.2.10:80');
    expect(bad.counterexample!.trace.steps.length).toBeGreaterThan(0);
    expect(j.invariants[1]!.runs).toBe(100);
    expect(j.invariants[1]!.counterexample).toBeUndefined();
  });

  it('--runs sets the flows per invariant; exit 0 when all hold', async () => {
    const m = tmpModel(TWO + 'invariants:\n  - reach: { from: a, to: 10.0.0.2, ports: 22 }\n  - isolate: { from: a, to: 10.0.0.2, ports: 1-21 }\n    runs: 5\n');
    const r = await run('prop', m, '--json', '--runs', '30', '--seed', '1');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out) as PropJson;
    expect(j.invariants.map((i) => [i.holds, i.runs])).toEqual([
      [true, 30],
      [true, 30],
    ]);
    const own = JSON.parse((await run('prop', m, '--json', '--seed', '1')).out) as PropJson;
    expect(own.invariants.map((i) => i.runs)).toEqual([100, 5]);
  });

  it('the why of a failed flow is the engine\'s explanation', async () => {
    const m = tmpModel(TWO + 'invariants:\n  - reach: { from: a, to: 10.0.0.2, ports: 20-25 }\n');
    const j = JSON.parse((await run('prop', m, '--json', '--seed', '3')).out) as PropJson;
    const c = j.invariants[0]!.counterexample!;
    expect(c.result).toBe('refused');
    expect(c.to).toBe('10.0.0.2:20'); // shrunk to the lowest port
    expect(c.why).toContain('nothing listens on tcp/20');
    expect(c.violation).toBe('expected reachable, the client saw refused (ECONNREFUSED)');
  });
});

describe('netpath prop (text)', () => {
  it('prints the table, the counterexample with its trace and why, and the seed', async () => {
    const r = await run('prop', seedModel, '--seed', '42');
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/web1 reaches no container port up to 1024\s+isolate\s+\d+\s+FAIL/);
    expect(r.out).toContain('FAIL web1 reaches no container port up to 1024   [');
    expect(r.out).toContain('counterexample: tcp web1 -> 192.168.2.10:80');
    expect(r.out).toContain('tcp web1 -> 192.168.2.10:80: reachable');
    expect(r.out).toContain('connect() succeeded: SYN-ACK from 192.168.2.10:80');
    expect(r.out).toContain(`seed 42: netpath prop ${seedModel} --seed 42`);
    expect(r.err).toBe(''); // not a terminal: no progress line
  });

  it('the same seed gives the same report', async () => {
    const m = join(ROOT, 'models/prop-masquerade-wrong-iface.yaml');
    const a = await run('prop', m, '--json', '--seed', '99');
    const b = await run('prop', m, '--json', '--seed', '99');
    expect(a.out).toBe(b.out);
  });

  it('without --seed a fresh seed is printed', async () => {
    const r = await run('prop', seedModel, '--json');
    expect(Number.isInteger((JSON.parse(r.out) as PropJson).seed)).toBe(true);
  });

  it('a model without invariants', async () => {
    const r = await run('prop', tmpModel(TWO));
    expect(r.code).toBe(0);
    expect(r.out).toContain('no invariants');
  });

  it('bad input is exit 2 with file:line', async () => {
    const m = tmpModel(TWO + 'invariants:\n  - isolate: { from: nobody, to: 10.0.0.2 }\n');
    const r = await run('prop', m);
    expect(r.code).toBe(2);
    expect(r.err).toContain(`${m}:11: no host or namespace called "nobody"`);
    const s = await run('prop', seedModel, '--seed', 'x');
    expect(s.code).toBe(2);
    expect(s.err).toContain('--seed');
  });
});
