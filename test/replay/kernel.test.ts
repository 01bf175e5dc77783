/**
 * Kernel conformance: every model in models/ built for real in network namespaces, every probe run
 * with real sockets, the observed result compared with the simulation's.
 *
 * Needs root, Linux, iproute2, iptables and python3. Without them the tests skip with a loud notice,
 * unless NETPATH_REQUIRE_KERNEL=1 (CI), where a missing kernel is a failure.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { loadModel } from '../../src/plan/model.js';
import type { Op } from '../../src/plan/ops.js';
import { preflight } from '../../src/replay/exec.js';
import { formatKnown, KNOWN_DISAGREEMENTS } from '../../src/replay/known.js';
import { newPrefix } from '../../src/replay/names.js';
import { listNetns, replayNetns, type ReplayReport } from '../../src/replay/netns.js';
import { buildWorld } from '../../src/world/build.js';

const pf = preflight();
const required = process.env['NETPATH_REQUIRE_KERNEL'] === '1';
if (!pf.ok && !required)
  console.warn(
    `\n${'!'.repeat(78)}\n!! SKIPPED: kernel conformance tests (test/replay/kernel.test.ts)\n!! ${pf.reasons.join('\n!! ')}\n!! run as root on Linux with iproute2, iptables and python3; CI sets NETPATH_REQUIRE_KERNEL=1\n${'!'.repeat(78)}\n`,
  );

/**
 * Disagreements between the simulation and the kernel that are reported to the engine and not fixed
 * yet (src/replay/known.ts): model file -> probe names. The test asserts they are EXACTLY these, so
 * a fix (or a new disagreement) makes it fail; remove the entry when the engine is fixed.
 */
const KNOWN: Readonly<Record<string, readonly string[]>> = Object.fromEntries(KNOWN_DISAGREEMENTS.map((k) => [k.model, k.probes]));
console.log(formatKnown());

/**
 * Models whose simulation crashes (reported, not fixed yet): the test asserts they still do, so a
 * fix makes it fail; remove the entry then.
 */
const CRASHES: Readonly<Record<string, RegExp>> = {};

const MODELS = readdirSync('models')
  .filter((f) => f.endsWith('.yaml'))
  .sort();
/** replays this file started: the pid part of their prefix is ours */
const OURS = `npr${process.pid.toString(36)}_`;

function explain(r: ReplayReport): string {
  const lines = r.probes.filter((p) => !p.agree).map((p) => `  ${p.name}: predicted ${p.predictedAll.join('|')} (${p.predictedErrno}), observed ${p.observed} (${p.errno}: ${p.detail})`);
  if (r.failure) lines.unshift(`  setup failed: ${r.failure.message}`, ...r.commands.slice(-5).map((c) => `    [${c.rc}] ${c.argv.join(' ').slice(0, 200)}`));
  return lines.join('\n');
}

describe.runIf(pf.ok || required)('replay --netns: the kernel agrees with the simulation', () => {
  let before: string[] = [];
  beforeAll(() => {
    expect(pf.reasons, 'NETPATH_REQUIRE_KERNEL=1 but the kernel tests cannot run here').toEqual([]);
    before = listNetns();
  });

  afterAll(() => {
    if (!pf.ok) return;
    const after = listNetns();
    // nothing of ours is left
    expect(after.filter((n) => n.startsWith(OURS))).toEqual([]);
    // and the list is the same as before; other programs on a shared machine may add or remove
    // their own namespaces meanwhile, so outside CI that is only reported
    const changed = [...before.filter((n) => !after.includes(n)).map((n) => `-${n}`), ...after.filter((n) => !before.includes(n)).map((n) => `+${n}`)];
    if (required || process.env['CI'] === 'true') expect(changed, 'ip netns list changed during the replay tests').toEqual([]);
    else if (changed.length > 0) console.warn(`note: ip netns list changed by other programs during the replay tests: ${changed.join(' ')}`);
  });

  describe.concurrent('models', () => {
    for (const f of MODELS)
      it(f, async () => {
        if (CRASHES[f]) {
          expect(() => buildWorld(loadModel(join('models', f)))).toThrow(CRASHES[f]);
          return;
        }
        // how long a replay takes is a benchmark figure, not a pass/fail condition (probes past
        // the fifth are paced 1.05 s apart: docs/semantics.md, "Probes")
        const report = await replayNetns(buildWorld(loadModel(join('models', f))));
        expect(report.failure, explain(report)).toBeUndefined();
        expect(report.cleanupErrors).toEqual([]);
        const disagree = report.probes.filter((p) => !p.agree).map((p) => p.name);
        expect(disagree, `${f}: the kernel and the simulation disagree:\n${explain(report)}`).toEqual(KNOWN[f] ?? []);
        expect(listNetns().filter((n) => n.startsWith(`${report.prefix}-`))).toEqual([]);
      }, 300_000);
  });

  it('removes everything when a runbook line fails on the real kernel', async () => {
    const built = buildWorld(loadModel('models/seed-lan-container.yaml'));
    const web2 = built.ops['web2']!;
    const bogus: Op = { op: 'link-set', host: 'web2', ns: null, dev: 'no-such-dev', up: true, origin: { file: 'test', line: 1, text: 'ip link set no-such-dev up' } };
    const report = await replayNetns({ ...built, ops: { ...built.ops, web2: [...web2.slice(0, 3), bogus, ...web2.slice(3)] } });
    expect(report.ok).toBe(false);
    expect(report.failure?.command.argv).toEqual(['ip', '-n', `${report.prefix}-web2`, 'link', 'set', 'dev', 'no-such-dev', 'up']);
    expect(report.failure?.command.stderr).toMatch(/Cannot find device/);
    expect(report.probes.map((p) => p.observed)).toEqual(['error']);
    expect(listNetns().filter((n) => n.startsWith(`${report.prefix}-`))).toEqual([]);
  });

  it('netpath replay --netns --json: the seed works for real, the no-SNAT variant fails for real', async () => {
    const out: string[] = [];
    const io = { out: (s: string) => out.push(s), err: (s: string) => out.push(s) };
    expect(await main(['replay', 'models/seed-lan-container.yaml', '--netns', '--json'], io)).toBe(0);
    const seed = JSON.parse(out.join('')) as ReplayReport;
    expect(seed.probes.map((p) => [p.observed, p.agree])).toEqual([['reachable', true]]);
    out.length = 0;
    expect(await main(['replay', 'models/seed-no-snat.yaml', '--netns'], io)).toBe(0);
    expect(out.join('')).toMatch(/web1 curl ngx1\s+timeout\s+timeout\s+timeout\s+yes/);
  });

  it('--pcap DIR: one real capture per namespace and interface, named like the synthetic ones', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'netpath-pcap-'));
    try {
      const report = await replayNetns(buildWorld(loadModel('models/seed-lan-container.yaml')), { pcapDir: dir });
      expect(report.ok).toBe(true);
      const files = readdirSync(dir).sort();
      expect(files).toEqual(expect.arrayContaining(['web1_eth0.pcap', 'web2_eth0.pcap', 'web2_veth1-p.pcap', 'web2_ngx1_eth0.pcap', 'lan_lan0_br0.pcap']));
      // the SYN to ngx1 was seen on its eth0, after MASQUERADE (from web2's veth1-p address)
      const r = spawnSync('tcpdump', ['-n', '-r', join(dir, 'web2_ngx1_eth0.pcap'), 'tcp[tcpflags] & tcp-syn != 0'], { encoding: 'utf8' });
      expect(r.stdout).toMatch(/IP 192\.168\.2\.20\.\d+ > 192\.168\.2\.10\.80: Flags \[S\]/);
      expect(report.captures?.every((c) => c.error === undefined)).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('--keep leaves the namespaces; --cleanup removes a dead run\'s leftovers', async () => {
    // a run whose process is gone: the prefix carries the pid of a process that has exited
    const dead = spawnSync('true').pid!;
    const report = await replayNetns(buildWorld(loadModel('models/seed-snat.yaml')), { keep: true, prefix: newPrefix(dead) });
    expect(report.kept.length).toBe(4);
    expect(listNetns().filter((n) => n.startsWith(`${report.prefix}-`)).sort()).toEqual([...report.kept].sort());
    const out: string[] = [];
    expect(await main(['replay', '--cleanup'], { out: (s) => out.push(s), err: (s) => out.push(s) })).toBe(0);
    expect(out.join('')).toContain(`${report.prefix}-web1`);
    expect(listNetns().filter((n) => n.startsWith(`${report.prefix}-`))).toEqual([]);
  });
});

describe('replay CLI without a backend', () => {
  it('asks for one, clearly', async () => {
    const err: string[] = [];
    const io = { out: () => undefined, err: (s: string) => err.push(s) };
    expect(await main(['replay', 'models/seed-lan-container.yaml', '--pcap', '/tmp/x'], io)).toBe(2); // --pcap needs --netns
    expect(await main(['replay', 'models/seed-lan-container.yaml', '--ssh', 'web1=root@10.0.0.1'], io)).toBe(2);
    expect(await main(['replay', 'models/seed-lan-container.yaml'], io)).toBe(2);
    expect(err.join('')).toMatch(/choose a backend: --netns[\s\S]*every host of the model needs --ssh HOST=DEST; missing: --ssh web2=[\s\S]*choose a backend: --netns .* or --ssh/);
  });
});
