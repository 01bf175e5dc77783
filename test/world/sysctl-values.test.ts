/**
 * Values written to the sysctls netpath models: what the kernel stores and what it refuses with
 * EINVAL (docs/kernel-notes.md z). The table is the observation; when run as root it is repeated
 * on the kernel, each write in a fresh namespace.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { devconfValue, nsSysctlValue, procInts } from '../../src/world/sysctl.js';
import { inline } from '../helpers.js';

/** [key, value, what the kernel then reads back, or 'EINVAL'] */
const OBSERVED: readonly (readonly [string, string, string])[] = [
  ['net.ipv4.ip_forward', '99999999999999999999999', 'EINVAL'],
  ['net.ipv4.ip_forward', '2147483648', 'EINVAL'],
  ['net.ipv4.ip_forward', '-2147483649', 'EINVAL'],
  ['net.ipv4.ip_forward', '2147483647', '2147483647'],
  ['net.ipv4.ip_forward', '-1', '-1'],
  ['net.ipv4.ip_forward', 'abc', 'EINVAL'],
  ['net.ipv4.ip_forward', '1x', 'EINVAL'],
  ['net.ipv4.ip_forward', '+1', 'EINVAL'],
  ['net.ipv4.ip_forward', '08', 'EINVAL'],
  ['net.ipv4.ip_forward', '0x', 'EINVAL'],
  ['net.ipv4.ip_forward', '1,2', 'EINVAL'],
  ['net.ipv4.ip_forward', '0x1', '1'],
  ['net.ipv4.ip_forward', '0X1f', '31'],
  ['net.ipv4.ip_forward', '010', '8'],
  ['net.ipv4.ip_forward', '1 2', '1'],
  ['net.ipv4.conf.all.rp_filter', '99999999999', 'EINVAL'],
  ['net.ipv4.conf.all.rp_filter', '0x2', '2'],
  ['net.ipv4.icmp_echo_ignore_all', '2', 'EINVAL'],
  ['net.ipv4.icmp_echo_ignore_all', '-1', 'EINVAL'],
  ['net.ipv4.icmp_echo_ignore_all', '-0', 'EINVAL'],
  ['net.ipv4.icmp_echo_ignore_all', '0x1', '1'],
  ['net.ipv4.icmp_echo_ignore_all', '01', '1'],
  ['net.ipv4.icmp_echo_ignore_broadcasts', '2', 'EINVAL'],
  ['net.ipv4.ip_local_port_range', '1023 2000', 'EINVAL'],
  ['net.ipv4.ip_local_port_range', '2000 1000', 'EINVAL'],
  ['net.ipv4.ip_local_port_range', '1024 70000', 'EINVAL'],
  ['net.ipv4.ip_local_port_range', '1024 1024', '1024\t1024'],
  ['net.ipv4.ip_local_port_range', '0x400 0x800', '1024\t2048'],
  ['net.ipv4.ip_local_port_range', '2000', '2000\t60999'],
  ['net.ipv4.ip_local_port_range', '2000 3000 4000', '2000\t3000'],
  ['net.bridge.bridge-nf-call-iptables', '2', '1'],
  ['net.bridge.bridge-nf-call-iptables', '-1', '1'],
  ['net.bridge.bridge-nf-call-iptables', '0x0', '0'],
  ['net.bridge.bridge-nf-call-iptables', 'abc', 'EINVAL'],
];

/** netpath's answer for one write on a fresh namespace: the stored text, or 'EINVAL' */
function netpath(key: string, value: string): string {
  if (key.startsWith('net.ipv4.conf.') || key === 'net.ipv4.ip_forward') {
    const v = procInts(value, 1)?.[0];
    return v === undefined ? 'EINVAL' : String(v);
  }
  const r = nsSysctlValue(key, value, undefined);
  return typeof r === 'string' ? r : 'EINVAL';
}

describe('sysctl values', () => {
  it.each(OBSERVED)('%s=%j reads back %j', (key, value, kernel) => {
    expect(netpath(key, value)).toBe(kernel);
  });

  it('devconf: EINVAL with procps wording; values the kernel stores but netpath does not model are named so', () => {
    expect(devconfValue('forwarding', '99999999999999999999999', 'net.ipv4.ip_forward')).toBe('sysctl: setting key "net.ipv4.ip_forward": Invalid argument');
    expect(devconfValue('forwarding', '-3', 'net.ipv4.ip_forward')).toBe(1);
    expect(devconfValue('rp_filter', '0x2', 'net.ipv4.conf.all.rp_filter')).toBe(2);
    expect(devconfValue('rp_filter', '5', 'net.ipv4.conf.all.rp_filter')).toContain('the kernel stores it, but netpath models only 0..2');
  });

  it('a runbook writing a value the kernel refuses: exit-2 error with EINVAL wording, code kernel', () => {
    expect(() => inline('hosts:\n  a:\n    run: |\n      sysctl -w net.ipv4.ip_forward=99999999999999999999999\n')).toThrow(
      /inline.yaml:4: sysctl: setting key "net.ipv4.ip_forward": Invalid argument/,
    );
    const b = inline('hosts:\n  a:\n    run: |\n      ip netns add n\n      ip netns exec n sysctl -w net.ipv4.ip_local_port_range=2000\n');
    expect(b.world.netns['a/n']!.sysctl['net.ipv4.ip_local_port_range']).toBe('2000\t60999');
  });

  const root = process.getuid?.() === 0 && spawnSync('ip', ['netns', 'list']).status === 0;
  /** fresh-namespace values, written back before each case */
  const DEFAULTS: Readonly<Record<string, string>> = {
    'net.ipv4.ip_forward': '0',
    'net.ipv4.conf.all.rp_filter': '0',
    'net.ipv4.icmp_echo_ignore_all': '0',
    'net.ipv4.icmp_echo_ignore_broadcasts': '1',
    'net.ipv4.ip_local_port_range': '32768 60999',
    'net.bridge.bridge-nf-call-iptables': '1',
  };
  it.skipIf(!root)('the kernel agrees (one namespace, each key back to its fresh value before each write)', () => {
    const ns = `npsys${process.pid}`;
    execFileSync('ip', ['netns', 'add', ns]);
    try {
      for (const [key, value, expected] of OBSERVED) {
        execFileSync('ip', ['netns', 'exec', ns, 'sysctl', '-q', '-w', `${key}=${DEFAULTS[key]!}`]);
        const w = spawnSync('ip', ['netns', 'exec', ns, 'sysctl', '-w', `${key}=${value}`], { encoding: 'utf8' });
        const got = w.status === 0 ? execFileSync('ip', ['netns', 'exec', ns, 'sysctl', '-n', key], { encoding: 'utf8' }).trimEnd() : 'EINVAL';
        if (w.status !== 0) expect(w.stderr).toContain(`sysctl: setting key "${key}": Invalid argument`);
        expect(`${key}=${value} -> ${got}`).toBe(`${key}=${value} -> ${expected}`);
      }
    } finally {
      execFileSync('ip', ['netns', 'del', ns]);
    }
  }, 180_000);
});
