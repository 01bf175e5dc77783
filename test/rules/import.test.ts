/**
 * `netpath import`: a namespace built here (npx-<pid>-imp, its veth peer in npx-<pid>-peer) is
 * imported, and `netpath show` on the written model prints what the kernel prints there:
 * `ip -4 -br addr`, `ip -4 route show table all`, `ip rule`, `iptables-save` (veth `@ifN`
 * suffixes and the save's timestamp comments aside).
 *
 * Needs root, Linux, iproute2 and iptables; skips loudly otherwise, unless NETPATH_REQUIRE_KERNEL=1.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { hostModel } from '../../src/cli/import.js';

const have = (cmd: string): boolean => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const missing = [
  ...(process.platform !== 'linux' ? ['not Linux'] : []),
  ...(process.getuid?.() !== 0 ? ['not root'] : []),
  ...['ip', 'iptables-save'].filter((c) => !have(c)).map((c) => `no ${c}`),
];
const required = process.env['NETPATH_REQUIRE_KERNEL'] === '1';
if (missing.length > 0 && !required) {
  console.warn(`\n${'!'.repeat(78)}\n!! SKIPPED: netpath import vs real namespaces (test/rules/import.test.ts): ${missing.join(', ')}\n${'!'.repeat(78)}\n`);
}

const NS = `npx-${process.pid.toString(36)}-imp`;
const PEER = `npx-${process.pid.toString(36)}-peer`;
const sh = (cmd: string): string => {
  const r = spawnSync('sh', ['-c', cmd], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd}: ${r.stderr}`);
  return r.stdout;
};

describe('hostModel (no kernel)', () => {
  it('a NIC becomes a one-member LAN, routes and rules become runbook lines, the kernel defaults are left out', () => {
    const m = hostModel(
      {
        name: 'h',
        addr: [{ ifname: 'lo', link_type: 'loopback' }, { ifname: 'eth0', link_type: 'ether', flags: ['UP'], addr_info: [{ family: 'inet', local: '192.0.2.10', prefixlen: 24 }] }, { ifname: 'wg0', link_type: 'none', linkinfo: { info_kind: 'wireguard' } }],
        routes: [{ dst: 'default', gateway: '192.0.2.1', dev: 'eth0' }, { dst: '192.0.2.0/24', dev: 'eth0', protocol: 'kernel', scope: 'link' }, { dst: '10.8.0.0/24', dev: 'wg0' }],
        rules: [{ priority: 0, src: 'all', table: 'local' }, { priority: 32766, src: 'all', table: 'main' }, { priority: 32767, src: 'all', table: 'default' }],
        neigh: [],
        iptables: '',
        sysctl: { 'net.ipv4.ip_forward': '1' },
      },
      'h.rules',
    );
    expect(m.rules).toBeUndefined();
    expect(m.model).toContain('h/eth0: 192.0.2.10/24');
    expect(m.model).toContain('ip route add default via 192.0.2.1 dev eth0');
    expect(m.model).toContain('sysctl -w net.ipv4.ip_forward=1');
    expect(m.model).toContain('# not imported: device wg0 (wireguard)');
    expect(m.model).toContain('# not imported: route 10.8.0.0/24 dev wg0');
    expect(m.model).not.toContain('ip rule add');
  });
});

describe.runIf(missing.length === 0 || required)('netpath import from a real namespace', () => {
  afterAll(() => {
    spawnSync('ip', ['netns', 'del', NS]);
    spawnSync('ip', ['netns', 'del', PEER]);
  });
  it('netpath show prints the imported model as the kernel prints the namespace', async () => {
    sh(`ip netns add ${NS} && ip netns add ${PEER}`);
    const x = (c: string): string => sh(`ip netns exec ${NS} sh -c '${c}'`);
    x('ip link set lo up');
    sh(`ip netns exec ${NS} ip link add eth0 type veth peer name p0 && ip netns exec ${NS} ip link set p0 netns ${PEER} && ip netns exec ${PEER} ip link set p0 up`);
    x('ip addr add 192.0.2.10/24 dev eth0 && ip addr add 192.0.2.11/24 dev eth0 && ip link set eth0 up');
    x('ip link add br0 type bridge && ip addr add 10.1.0.1/24 dev br0 && ip link set br0 up');
    x('ip route add default via 192.0.2.1 && ip route add 10.2.0.0/16 via 192.0.2.254 table 100 && ip route add blackhole 10.66.0.0/16');
    x('ip rule add from 10.1.0.0/24 lookup 100 priority 1000 && ip rule add fwmark 0x4/0x4 lookup 100');
    x('ip neigh add 192.0.2.1 lladdr 02:00:00:00:00:01 dev eth0 nud permanent && sysctl -qw net.ipv4.ip_forward=1');
    x('iptables -t nat -A POSTROUTING -s 10.1.0.0/24 -o eth0 -j MASQUERADE && iptables -A FORWARD -m comment --comment "hello world" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT && iptables -P FORWARD DROP');
    const dir = mkdtempSync(`${tmpdir()}/npx-import-`);
    const io = (buf: string[]): { out(s: string): void; err(s: string): void } => ({ out: (s) => buf.push(s), err: (s) => buf.push(s) });
    const log: string[] = [];
    expect(await main(['import', '--netns', NS, '-o', `${dir}/h.yaml`], io(log))).toBe(0);
    expect(readFileSync(`${dir}/h.yaml`, 'utf8')).toContain('iptables-restore < h.rules');
    const shown: string[] = [];
    expect(await main(['show', `${dir}/h.yaml`], io(shown))).toBe(0);
    const sections = shown.join('').split(/^\$ /m).slice(1);
    const want = ['ip -4 -br addr', 'ip -4 route show table all', 'ip rule', 'iptables-save'].map((c) => `${c}\n${x(c)}`);
    // ip -br pads the name column: eth0@if2 and eth0 differ in padding only
    const norm = (s: string): string => s.replace(/@if\d+/g, '').replace(/^#.*\n/gm, '').replace(/ +/g, ' ').trimEnd();
    expect(sections.map(norm)).toEqual(want.map(norm));
  });
});
