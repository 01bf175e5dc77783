/**
 * Bridge port options: `ip link set DEV type bridge_slave ...` and `bridge link set dev DEV ...`.
 *
 * Kernel side (root, Linux): the same runbook runs in scratch namespaces and `bridge -d link show`
 * there must equal netpath's `showBridgeLinks` line for line. Observed on Linux 6.18 with
 * iproute2 6.1.0 (docs/kernel-notes.md "Bridge port options"): a new port has hairpin off,
 * learning on, flood on, mcast_flood on, bcast_flood on, proxy_arp off, isolated off; the options
 * go with the port (nomaster then master again gives the defaults back); a device that is not a
 * port answers EOPNOTSUPP, also when the same `ip link set` names the master.
 */
import { spawnSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { inline } from '../helpers.js';
import { showBridgeLinks } from '../../src/world/show.js';
import { ConfigError } from '../../src/model/errors.js';
import { BRPORT_DEFAULTS } from '../../src/model/link.js';
import { parseRunbook } from '../../src/plan/runbook.js';

const P = `npb${process.pid.toString(36)}`;
const A = `${P}a`;
const B = `${P}b`;

function build(lines: readonly string[]): ReturnType<typeof inline> {
  const run = [`ip netns add ${A}`, `ip netns add ${B}`, ...lines.map((l) => `ip netns exec ${A} ${l}`)];
  return inline(`hosts:\n  h:\n    run: |\n${run.map((l) => `      ${l}`).join('\n')}\n`);
}
function netpathPorts(lines: readonly string[]): string {
  const b = build(lines);
  return showBridgeLinks(b.world, b.world.netns[`h/${A}`]!);
}
function fails(lines: readonly string[]): ConfigError {
  try {
    build(lines);
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error('expected a ConfigError');
}

const SCENARIOS: Record<string, readonly string[]> = {
  'new ports, everything down': [
    'ip link add br0 type bridge',
    'ip link add v0 type veth peer name v1',
    `ip link add w0 type veth peer name w1 netns ${B}`,
    'ip link set v0 master br0',
    'ip link set w0 master br0',
  ],
  'options set both ways, ports up': [
    'ip link add br0 type bridge',
    'ip link add v0 type veth peer name v1',
    `ip link add w0 type veth peer name w1 netns ${B}`,
    'ip link set v0 master br0',
    'ip link set w0 master br0',
    'ip link set br0 up',
    'ip link set v0 up',
    'ip link set v1 up',
    'ip link set w0 up',
    'ip link set v0 type bridge_slave hairpin on learning off flood off proxy_arp on',
    'bridge link set dev w0 mcast_flood off bcast_flood off isolated on hairpin on',
    'bridge link set dev w0 hairpin off',
  ],
  're-enslaved ports start from the defaults; the same master again keeps them': [
    'ip link add br0 type bridge',
    'ip link add br1 type bridge',
    'ip link add v0 type veth peer name v1',
    'ip link add u0 type veth peer name u1',
    'ip link set v0 master br0',
    'ip link set u0 master br0',
    'ip link set v0 type bridge_slave hairpin on isolated on',
    'ip link set u0 type bridge_slave learning off',
    'ip link set v0 nomaster',
    'ip link set v0 master br1',
    'ip link set u0 master br0',
    'ip link set v0 up',
    'ip link set br1 up',
  ],
};

describe('bridge port options in the world', () => {
  it('a new port has the kernel defaults, from the line that enslaved it', () => {
    const b = build(['ip link add br0 type bridge', 'ip link add v0 type veth peer name v1', 'ip link set v0 master br0']);
    const v0 = b.world.netns[`h/${A}`]!.links.find((l) => l.name === 'v0')!;
    const { origin, ...flags } = v0.brport!;
    expect(flags).toEqual(BRPORT_DEFAULTS);
    expect(origin.text).toBe(`ip netns exec ${A} ip link set v0 master br0`);
    expect(b.world.netns[`h/${A}`]!.links.find((l) => l.name === 'v1')!.brport).toBeUndefined();
  });
  it('both spellings set the flags and the origin moves to the last line', () => {
    const b = build([
      'ip link add br0 type bridge',
      'ip link add v0 type veth peer name v1',
      'ip link set v0 master br0',
      'ip link set v0 type bridge_slave hairpin on proxy_arp on',
      'bridge link set dev v0 learning off isolated on',
    ]);
    const p = b.world.netns[`h/${A}`]!.links.find((l) => l.name === 'v0')!.brport!;
    expect(p).toMatchObject({ hairpin: true, proxyarp: true, learning: false, isolated: true, flood: true });
    expect(p.origin.text).toContain('bridge link set dev v0 learning off isolated on');
  });
  it('nomaster, moving the device and deleting the bridge drop the options', () => {
    const b = build([
      'ip link add br0 type bridge',
      'ip link add br1 type bridge',
      'ip link add v0 type veth peer name v1',
      'ip link add u0 type veth peer name u1',
      'ip link add t0 type veth peer name t1',
      'ip link set v0 master br0',
      'ip link set u0 master br0',
      'ip link set t0 master br1',
      'ip link set v0 nomaster',
      `ip link set u0 netns ${B}`,
      'ip link del br1',
    ]);
    for (const [ns, dev] of [[`h/${A}`, 'v0'], [`h/${B}`, 'u0'], [`h/${A}`, 't0']] as const) {
      const l = b.world.netns[ns]!.links.find((x) => x.name === dev)!;
      expect(l.master).toBeUndefined();
      expect(l.brport).toBeUndefined();
    }
  });
  it('a device that is not a port: EOPNOTSUPP, also with master in the same line', () => {
    const base = ['ip link add br0 type bridge', 'ip link add v0 type veth peer name v1'];
    expect(fails([...base, 'ip link set v0 type bridge_slave hairpin on']).detail).toMatch(/^RTNETLINK answers: Operation not supported/);
    expect(fails([...base, 'bridge link set dev v0 hairpin on']).detail).toMatch(/^RTNETLINK answers: Operation not supported/);
    expect(fails([...base, 'ip link set v0 master br0 type bridge_slave hairpin on']).detail).toMatch(/Operation not supported/);
    expect(fails([...base, 'bridge link set dev br0 hairpin on']).detail).toMatch(/Operation not supported/);
  });
  it('iproute2 wording for bad values and options; unmodelled options refused with the reason', () => {
    const base = ['ip link add br0 type bridge', 'ip link add v0 type veth peer name v1', 'ip link set v0 master br0'];
    expect(fails([...base, 'bridge link set dev v0 hairpin 1']).detail).toBe('Error: argument of "hairpin" must be one of "off", "on", not "1"');
    expect(fails([...base, 'ip link set v0 type bridge_slave hairpin yes']).detail).toBe('Error: argument of "hairpin" must be one of "off", "on", not "yes"');
    expect(fails([...base, 'ip link set v0 type bridge_slave foo on']).detail).toBe('bridge_slave: unknown option "foo"?');
    const e = fails([...base, 'ip link set v0 type bridge_slave cost 10']);
    expect(e.code).toBe('unsupported');
    expect(e.detail).toContain('"cost" is not modelled');
    expect(fails([...base, 'bridge link set hairpin on']).detail).toBe('Device is a required argument.');
    expect(fails([...base, 'bridge link set dev v0 hairpin on self']).code).toBe('unsupported');
    expect(fails([...base, 'bridge fdb add 02:00:00:00:00:01 dev v0']).code).toBe('unsupported');
  });
  it('bridge look-only commands and abbreviations (bridge li s), -n NS', () => {
    const ops = parseRunbook(
      { host: 'h', file: 'r', text: 'bridge link\nbridge -d link show\nbridge fdb show\nbridge -n x li s dev v0 hairpin on', firstLine: 1, baseDir: '/' },
      { readFile: () => '' },
    );
    expect(ops.map((o) => o.op)).toEqual(['noop', 'noop', 'noop', 'link-set']);
    expect(ops[3]).toMatchObject({ ns: 'x', dev: 'v0', brport: { hairpin: true } });
  });
});

// ------------------------------------------------------------------------------------------------
// against the kernel

const have = (cmd: string): boolean => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const missing = [
  ...(process.platform !== 'linux' ? ['not Linux'] : []),
  ...(process.getuid?.() !== 0 ? ['not root'] : []),
  ...['ip', 'bridge'].filter((c) => !have(c)).map((c) => `no ${c}`),
];
const required = process.env['NETPATH_REQUIRE_KERNEL'] === '1';
if (missing.length > 0 && !required) {
  console.warn(`\n${'!'.repeat(78)}\n!! SKIPPED: bridge ports vs real kernel (test/world/brport.test.ts): ${missing.join(', ')}\n!! run as root on Linux; CI sets NETPATH_REQUIRE_KERNEL=1\n${'!'.repeat(78)}\n`);
}
const run = missing.length === 0 || required;

function sh(cmd: string): string {
  const r = spawnSync('sh', ['-c', cmd], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd}: ${r.stderr}`);
  return r.stdout;
}
function cleanup(): void {
  for (const n of [A, B]) spawnSync('ip', ['netns', 'del', n]);
}

describe.runIf(run)('bridge -d link show matches the kernel', () => {
  afterAll(cleanup);
  for (const [title, lines] of Object.entries(SCENARIOS)) {
    it(title, () => {
      cleanup();
      sh(`ip netns add ${A} && ip netns add ${B}`);
      for (const l of lines) sh(`ip netns exec ${A} ${l}`);
      // carrier and port state settle asynchronously after a link comes up (linkwatch)
      spawnSync('sleep', ['0.3']);
      const kernel = sh(`ip netns exec ${A} bridge -d link show`);
      expect(netpathPorts(lines)).toBe(kernel);
    });
  }
});
