/**
 * Replay is free of timing artefacts: the kernel's ICMP error budget (ip_error()'s per-source token
 * bucket, net.ipv4.route.error_burst/error_cost, root-namespace-only) must not turn one probe's
 * answer into another's silence, and replaying a model twice gives the same observations.
 *
 * Kernel facts pinned here (docs/kernel-notes.md aa, Linux 6.18): back to back, a router answers the
 * first 5 forwarded packets to an unreachable route from one source with ICMP and drops the rest
 * silently; paced (runPaced), every probe gets its ICMP error.
 *
 * Gated like the other kernel tests (root, Linux, iproute2, iptables, python3).
 */
import { describe, expect, it } from 'vitest';
import { loadModel } from '../../src/plan/model.js';
import { preflight } from '../../src/replay/exec.js';
import { ICMP_ERROR_BUDGET, parseNeighLine, replayNetns, resetScript, runPaced } from '../../src/replay/netns.js';
import { buildWorld } from '../../src/world/build.js';

const pf = preflight();
const required = process.env['NETPATH_REQUIRE_KERNEL'] === '1';
if (!pf.ok && !required)
  console.warn(`\n${'!'.repeat(78)}\n!! SKIPPED: replay pacing kernel tests (test/replay/pacing.test.ts)\n!! ${pf.reasons.join('\n!! ')}\n${'!'.repeat(78)}\n`);

describe('runPaced', () => {
  it('runs one at a time: the first 5 back to back, each later one a gap after the previous; between() before all but the first', async () => {
    expect(ICMP_ERROR_BUDGET).toEqual({ burst: 5, gapMs: 1050 });
    const events: string[] = [];
    const run = async (x: number): Promise<number> => {
      events.push(`start ${x}`);
      await Promise.resolve();
      events.push(`end ${x}`);
      return x * 10;
    };
    const wait = async (ms: number): Promise<void> => void events.push(`wait ${ms}`);
    const between = async (): Promise<void> => void events.push('reset');
    expect(await runPaced([1, 2, 3, 4, 5, 6, 7], run, ICMP_ERROR_BUDGET, wait, between)).toEqual([10, 20, 30, 40, 50, 60, 70]);
    expect(events).toEqual([
      'start 1', 'end 1', 'reset', 'start 2', 'end 2', 'reset', 'start 3', 'end 3', 'reset', 'start 4', 'end 4', 'reset', 'start 5', 'end 5',
      'wait 1050', 'reset', 'start 6', 'end 6', 'wait 1050', 'reset', 'start 7', 'end 7',
    ]);
    events.length = 0;
    expect(await runPaced([1, 2], run, ICMP_ERROR_BUDGET, wait)).toEqual([10, 20]);
    expect(events.filter((e) => e.startsWith('wait'))).toEqual([]);
  });
});

describe('between probes: the neighbour table as the runbooks left it', () => {
  it('reads `ip -4 neigh show` lines', () => {
    expect(parseNeighLine('10.0.0.1 dev eth0 lladdr 02:00:00:00:00:99 STALE')).toEqual({ addr: '10.0.0.1', dev: 'eth0', lladdr: '02:00:00:00:00:99', state: 'STALE' });
    expect(parseNeighLine('10.0.0.9 dev eth1 FAILED')).toEqual({ addr: '10.0.0.9', dev: 'eth1', lladdr: undefined, state: 'FAILED' });
    expect(parseNeighLine('10.0.0.3 dev eth0 lladdr 02:00:00:00:00:03 router PERMANENT')?.state).toBe('PERMANENT');
    expect(parseNeighLine('')).toBeUndefined();
  });
  it('deletes what was learned, writes the runbooks\' entries back, flushes conntrack', () => {
    const s = resetScript([
      { addr: '10.0.0.1', dev: 'eth0', lladdr: '02:00:00:00:00:99', state: 'STALE' },
      { addr: '10.0.0.9', dev: 'eth1', lladdr: undefined, state: 'FAILED' },
    ]);
    expect(s).toContain("keep=' 10.0.0.1@eth0 10.0.0.9@eth1 '");
    expect(s).toContain('ip neigh del "$a" dev "$dev"');
    expect(s).toContain('ip neigh replace 10.0.0.1 dev eth0 lladdr 02:00:00:00:00:99 nud stale');
    expect(s).not.toContain('replace 10.0.0.9');
    expect(s).toContain('conntrack -F');
  });
});

/** the models whose routers and REJECT rules send ICMP errors to their clients */
const ROUTED_REJECT = ['icmp-error-budget.yaml', 'reject-forward-tcp.yaml', 'reject-forward-udp-icmp.yaml', 'route-types-forwarding.yaml', 'reject-input.yaml'];

describe.runIf(pf.ok || required)('replay --netns: ICMP errors are not rate-limited away', () => {
  it('the kernel swallows the 6th back-to-back ICMP error of one router (why replay paces)', async () => {
    expect(pf.reasons).toEqual([]);
    const r = await replayNetns(buildWorld(loadModel('models/icmp-error-budget.yaml')), { pace: false });
    const observed = r.probes.map((p) => p.observed);
    // the first errors arrive, later ones are dropped by ip_error()'s bucket: timeouts
    expect(observed.filter((o) => o === 'no-route').length, observed.join(' ')).toBeGreaterThanOrEqual(5);
    expect(observed.filter((o) => o === 'timeout').length, observed.join(' ')).toBeGreaterThan(0);
  }, 30_000);

  it('paced, every probe of the routed reject models agrees, and twice the same', async () => {
    const runs = await Promise.all(
      ROUTED_REJECT.map(async (f) => {
        const built = buildWorld(loadModel(`models/${f}`));
        return { f, a: await replayNetns(built), b: await replayNetns(built) };
      }),
    );
    for (const { f, a, b } of runs) {
      const seen = (r: typeof a): string[] => r.probes.map((p) => `${p.name}: ${p.observed} (${p.errno})`);
      expect(a.failure, f).toBeUndefined();
      expect(a.probes.filter((p) => !p.agree).map((p) => p.name), `${f}\n${seen(a).join('\n')}`).toEqual([]);
      expect(seen(b), f).toEqual(seen(a));
    }
  }, 180_000);
});
