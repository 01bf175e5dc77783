/** The CLI contracts: commands, JSON shapes and exit codes other tools rely on. */
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

const seed = join(ROOT, 'models/seed-lan-container.yaml');

describe('netpath show', () => {
  it('prints web2 and ngx1 routes and web2 iptables-save', async () => {
    const r = await run('show', seed);
    expect(r.code).toBe(0);
    expect(r.out).toContain('=== ngx1 (web2/ngx1) ===');
    expect(r.out).toContain('192.168.2.0/24 dev veth1-p proto kernel scope link src 192.168.2.20');
    expect(r.out).toContain('default via 172.31.0.1 dev eth0 metric 100');
    expect(r.out).toContain('-A POSTROUTING -s 172.31.0.3/32 -j MASQUERADE');
  });
  it('--ns and --json', async () => {
    const r = await run('show', seed, '--ns', 'ngx1', '--json');
    const j = JSON.parse(r.out) as { namespaces: { id: string; routes: string[] }[] };
    expect(j.namespaces.map((n) => n.id)).toEqual(['web2/ngx1']);
    expect(j.namespaces[0]!.routes[0]).toBe('192.168.2.0/24 dev eth0 proto kernel scope link src 192.168.2.10');
  });
});

describe('netpath check', () => {
  it('exit 0 and the JSON shape when every probe meets its expect', async () => {
    const r = await run('check', seed, '--json');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out) as { probes: Record<string, unknown>[] };
    expect(j.probes[0]).toMatchObject({ name: 'web1 curl ngx1', from: 'web1', to: '192.168.2.10:80', proto: 'tcp', expect: 'reachable', result: 'reachable', ok: true });
  });
  it('exit 1 when a result differs from its expect, with the why', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'netpath-'));
    const m = join(dir, 'm.yaml');
    writeFileSync(m, 'hosts:\n  a:\n  b:\nlans:\n  l:\n    a/eth0: 10.0.0.1/24\n    b/eth0: 10.0.0.2/24\nprobes:\n  - from: a\n    to: 10.0.0.2:22\n    expect: reachable\n');
    const r = await run('check', m, '--json');
    expect(r.code).toBe(1);
    const j = JSON.parse(r.out) as { probes: { result: string; ok: boolean; why?: { text: string }; fixes?: { command: string }[] }[] };
    expect(j.probes[0]!.result).toBe('refused');
    expect(j.probes[0]!.ok).toBe(false);
    expect(j.probes[0]!.why?.text).toContain('nothing listens on tcp/22');
    expect(j.probes[0]!.fixes?.[0]?.command).toBe('{at: b, listen: tcp/22}');
  });
});

describe('netpath trace', () => {
  it('JSON outcomes with steps pointing at runbook lines', async () => {
    const r = await run('trace', seed, '--from', 'web1', '--to', '192.168.2.10:80', '--json');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out) as { outcomes: { result: string; steps: { kind: string; origin?: { line: number } }[] }[] };
    expect(j.outcomes).toHaveLength(1);
    expect(j.outcomes[0]!.result).toBe('reachable');
    expect(j.outcomes[0]!.steps.some((s) => s.kind === 'nat')).toBe(true);
  });
});

describe('bad input', () => {
  it('one clear error naming file, line and command; exit 2', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'netpath-'));
    const m = join(dir, 'bad.yaml');
    writeFileSync(m, 'hosts:\n  a:\n    run: |\n      ip link add v0 type veth peer name v1\n      iptables -A INPUT -p tcp --dportt 22 -j ACCEPT\n');
    const r = await run('show', m);
    expect(r.code).toBe(2);
    expect(r.err).toContain(`${m}:5:`);
    expect(r.err).toContain('--dportt');
    expect(r.err).toContain('iptables -A INPUT -p tcp --dportt 22 -j ACCEPT');
  });
});
