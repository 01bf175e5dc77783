/**
 * The witnesses of `netpath diff` on the real kernel: the seed and its no-SNAT variant built in
 * network namespaces (replay --netns, which creates its own uniquely named namespaces and
 * deletes them, also on failure), each change row's witness flow run as a probe with real
 * sockets, before and after. The kernel must show each row's `before` on the old plan and its
 * `after` on the new one.
 *
 * Needs root, Linux, iproute2, iptables and python3; skips loudly without them unless
 * NETPATH_REQUIRE_KERNEL=1.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { main } from '../../src/cli/main.js';
import { parseModel } from '../../src/plan/model.js';
import { preflight } from '../../src/replay/exec.js';
import { listNetns, replayNetns } from '../../src/replay/netns.js';
import { buildWorld } from '../../src/world/build.js';
import { ROOT } from '../helpers.js';

const pf = preflight();
const required = process.env['NETPATH_REQUIRE_KERNEL'] === '1';
if (!pf.ok && !required) console.warn(`\n!! SKIPPED: diff witnesses on the kernel (test/verify/kernel.test.ts): ${pf.reasons.join('; ')}\n`);

interface ChangeJson {
  proto: 'tcp' | 'udp' | 'icmp';
  before: string;
  after: string;
  witness: { from: string; dst: string; dport?: number };
}

/** The model with its probes replaced by one per witness, expecting `side` of each change. */
function witnessModel(file: string, changes: readonly ChangeJson[], side: 'before' | 'after'): ReturnType<typeof buildWorld> {
  const path = resolve(ROOT, 'models', file);
  const doc = parseDocument(readFileSync(path, 'utf8'));
  doc.set(
    'probes',
    changes.map((c, i) => ({
      name: `witness ${i + 1} ${c.proto}`,
      from: c.witness.from,
      to: c.witness.dport !== undefined ? `${c.witness.dst}:${c.witness.dport}` : c.witness.dst,
      proto: c.proto,
      expect: c[side],
    })),
  );
  // same folder, so the runbook scripts it names resolve
  return buildWorld(parseModel(doc.toString(), path));
}

describe.runIf(pf.ok || required)('diff witnesses replayed on the kernel', () => {
  it('seed -> seed without SNAT, from web1: each witness gives the row\'s before on the old plan and its after on the new one', async () => {
    let out = '';
    const code = await main(['diff', 'models/seed-lan-container.yaml', 'models/seed-no-snat.yaml', '--from', 'web1', '--json'], { out: (s) => void (out += s), err: () => undefined });
    expect(code).toBe(1);
    const changes = (JSON.parse(out) as { changes: ChangeJson[] }).changes;
    expect(changes.length).toBe(4);
    for (const [file, side] of [
      ['seed-lan-container.yaml', 'before'],
      ['seed-no-snat.yaml', 'after'],
    ] as const) {
      const report = await replayNetns(witnessModel(file, changes, side));
      expect(report.failure).toBeUndefined();
      expect(report.cleanupErrors).toEqual([]);
      expect(report.probes.map((p) => [p.name, p.observed])).toEqual(changes.map((c, i) => [`witness ${i + 1} ${c.proto}`, c[side]]));
      expect(report.probes.every((p) => p.agree)).toBe(true);
      expect(listNetns().filter((n) => n.startsWith(`${report.prefix}-`))).toEqual([]);
    }
  }, 300_000);
});
