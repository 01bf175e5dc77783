/**
 * The kernel proves the fixes: for every bundled model with a failing probe (a result other than
 * reachable, or one that misses its expect), `netpath fix` writes the model with each probe's first
 * proven fix; that model is built for real in network namespaces and the fixed probes are run with
 * real sockets. Each must give the result the fix promised.
 *
 * Needs root, Linux, iproute2, iptables and python3, like test/replay/kernel.test.ts; without them
 * the tests skip with a loud notice, unless NETPATH_REQUIRE_KERNEL=1 (CI).
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fixModel } from '../../src/explain/apply.js';
import { modelRuns, wantedOf } from '../../src/explain/search.js';
import { loadModel, nodeIo, parseModel } from '../../src/plan/model.js';
import { preflight } from '../../src/replay/exec.js';
import { listNetns, replayNetns } from '../../src/replay/netns.js';
import { buildWorld } from '../../src/world/build.js';

const pf = preflight();
const required = process.env['NETPATH_REQUIRE_KERNEL'] === '1';
if (!pf.ok && !required)
  console.warn(
    `\n${'!'.repeat(78)}\n!! SKIPPED: kernel proof of the fixes (test/explain/kernel-fixes.test.ts)\n!! ${pf.reasons.join('\n!! ')}\n${'!'.repeat(78)}\n`,
  );

/** the models with a failing probe, and the fixed model of each (computed without the kernel) */
const CASES = readdirSync('models')
  .filter((f) => f.endsWith('.yaml'))
  .sort()
  .map((f) => {
    const path = join('models', f);
    const built = buildWorld(loadModel(path));
    if (!modelRuns(built).some((r) => wantedOf(r) !== undefined)) return undefined;
    const fixed = fixModel(built, nodeIo.readFile(path));
    return { f, path, fixed };
  })
  .filter((c) => c !== undefined && c.fixed.probes.some((p) => p.fix));

describe('explained fixes', () => {
  it('cover the bundled models that fail somewhere (the list the kernel replays)', () => {
    // a fix for a probe in most failing models; the rest say "no single change found"
    expect(CASES.length).toBeGreaterThanOrEqual(30);
  });
});

describe.runIf(pf.ok || required)('the kernel gives what each first fix promised', () => {
  afterAll(() => {
    if (!pf.ok) return;
    expect(listNetns().filter((n) => n.startsWith(`npr${process.pid.toString(36)}_`))).toEqual([]);
  });

  describe.concurrent('models', () => {
    for (const c of CASES)
      it(c!.f, async () => {
        const { path, fixed } = c!;
        const promised = new Map(fixed.probes.filter((p) => p.fix || p.byEarlier).map((p) => [p.probe, p.wanted]));
        const model = parseModel(fixed.text, path);
        // only the fixed probes are run: the others are simulated unchanged by the search
        const built = buildWorld({ ...model, probes: model.probes.filter((p) => promised.has(p.name)) });
        const report = await replayNetns(built);
        expect(report.failure?.message, `${c!.f}: the fixed runbooks failed on the kernel`).toBeUndefined();
        expect(report.cleanupErrors).toEqual([]);
        const got = Object.fromEntries(report.probes.map((p) => [p.name, p.observed]));
        expect(got, `${c!.f}: fixes:\n${fixed.probes.map((p) => `  ${p.probe}: ${p.fix?.host ?? ''} ${p.fix?.command ?? ''}`).join('\n')}`).toEqual(Object.fromEntries(promised));
      }, 300_000);
  });
});
