/**
 * The address a NAT range gives a connection (nf_nat_core.c find_best_ips_proto): jhash2 of the
 * source as a 16-byte nf_inet_addr, seeded with the destination, scaled into the range. The table
 * is what Linux 6.18.44 put in its conntrack table for UDP datagrams from 10.5.0.N to 10.9.9.9
 * through `iptables -t nat -A OUTPUT -d 10.9.9.9 -p udp -j DNAT --to-destination
 * 10.0.1.10-10.0.1.200`; when run as root the same is done again in a scratch namespace and read
 * back with `conntrack -L`.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { jhash2, natAddr } from '../../src/netfilter/nat.js';
import { formatIpv4, parseIpv4 } from '../../src/wire/ipv4.js';

const OBSERVED: readonly (readonly [string, string])[] = [
  ['10.5.0.1', '10.0.1.118'],
  ['10.5.0.2', '10.0.1.148'],
  ['10.5.0.3', '10.0.1.60'],
  ['10.5.0.4', '10.0.1.158'],
  ['10.5.0.5', '10.0.1.174'],
  ['10.5.0.6', '10.0.1.104'],
  ['10.5.0.7', '10.0.1.100'],
  ['10.5.0.8', '10.0.1.171'],
  ['10.5.0.9', '10.0.1.137'],
  ['10.5.0.10', '10.0.1.180'],
  ['10.5.0.11', '10.0.1.91'],
  ['10.5.0.12', '10.0.1.64'],
];
const ip = (s: string): number => parseIpv4(s)!;
const RANGE = { min: ip('10.0.1.10'), max: ip('10.0.1.200') };

describe('NAT to an address range: find_best_ips_proto', () => {
  it('jhash2 is lookup3 with the kernel constants (empty key: the seeded initial value)', () => {
    expect(jhash2([], 0)).toBe(0xdeadbeef);
    // one word and four words take the final mix and the mix-then-final paths
    expect(jhash2([1], 0)).not.toBe(jhash2([1, 0, 0, 0], 0));
    expect(jhash2([1, 0, 0, 0], 2)).not.toBe(jhash2([1, 0, 0, 0], 3));
  });

  it.each(OBSERVED)('%s -> %s', (src, kernel) => {
    expect(formatIpv4(natAddr(ip(src), ip('10.9.9.9'), RANGE, false))).toBe(kernel);
  });

  it('one address is that address; persistent ignores the destination', () => {
    expect(natAddr(ip('10.5.0.1'), ip('10.9.9.9'), { min: ip('10.0.1.7'), max: ip('10.0.1.7') }, false)).toBe(ip('10.0.1.7'));
    expect(natAddr(ip('10.5.0.1'), ip('10.9.9.9'), RANGE, true)).toBe(natAddr(ip('10.5.0.1'), ip('10.9.9.8'), RANGE, true));
  });

  const root = process.getuid?.() === 0 && spawnSync('ip', ['netns', 'list']).status === 0 && spawnSync('conntrack', ['--version']).status === 0;
  it.skipIf(!root)('the kernel agrees (a scratch namespace, conntrack -L)', () => {
    const ns = `npnat${process.pid}`;
    const x = (...a: string[]): string => execFileSync('ip', ['netns', 'exec', ns, ...a], { encoding: 'utf8' });
    execFileSync('ip', ['netns', 'add', ns]);
    try {
      x('ip', 'link', 'set', 'lo', 'up');
      x('ip', 'link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v1');
      x('ip', 'link', 'set', 'v0', 'up');
      x('ip', 'link', 'set', 'v1', 'up');
      x('ip', 'addr', 'add', '10.0.1.1/24', 'dev', 'v0');
      x('ip', 'route', 'add', '10.9.9.9/32', 'dev', 'v0');
      for (const [src] of OBSERVED) x('ip', 'addr', 'add', `${src}/32`, 'dev', 'lo');
      x('iptables', '-t', 'nat', '-A', 'OUTPUT', '-d', '10.9.9.9', '-p', 'udp', '-j', 'DNAT', '--to-destination', '10.0.1.10-10.0.1.200');
      const py = OBSERVED.map(([src]) => `s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(('${src}', 0)); s.sendto(b'x', ('10.9.9.9', 53))`).join('\n');
      x('python3', '-c', `import socket\n${py}`);
      const seen = new Map<string, string>();
      for (const line of x('conntrack', '-L').split('\n')) {
        const m = /src=(10\.5\.0\.\d+) dst=10\.9\.9\.9 .*src=(10\.0\.1\.\d+) dst=/.exec(line);
        if (m) seen.set(m[1]!, m[2]!);
      }
      for (const [src] of OBSERVED) expect(`${src} -> ${seen.get(src)}`).toBe(`${src} -> ${formatIpv4(natAddr(ip(src), ip('10.9.9.9'), RANGE, false))}`);
    } finally {
      execFileSync('ip', ['netns', 'del', ns]);
    }
  }, 60_000);
});
