/**
 * A route's gateway as fib_check_nh_v4_gw (net/ipv4/fib_semantics.c) checks it: found by a route
 * of scope link or host (in the route's own table if it exists, else local, main, default) whose
 * type is unicast or local; an onlink gateway must not be an address of another type in the local
 * table (inet_addr_type_dev_table). Observed on Linux 6.18.44 (the table below); repeated on the
 * kernel when run as root, each case in a fresh namespace with eth0 10.0.0.1/24.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { inline } from '../helpers.js';

/** [earlier lines, the line, 'ok' or the kernel's error] */
const OBSERVED: readonly (readonly [readonly string[], string, string])[] = [
  [[], 'ip route add default via 10.0.0.2 table 100', 'ok'],
  [['ip route add broadcast 10.0.0.2 dev eth0'], 'ip route add default via 10.0.0.2 table 100', 'Error: Nexthop has invalid gateway.'],
  [['ip route add broadcast 10.0.0.2 dev eth0'], 'ip route add 10.9.9.9/32 via 10.0.0.2', 'Error: Nexthop has invalid gateway.'],
  [[], 'ip route add 10.9.9.9/32 via 10.0.0.5 dev eth0 onlink', 'ok'],
  [['ip route add local 10.0.0.5 dev lo'], 'ip route add 10.9.9.9/32 via 10.0.0.5 dev eth0 onlink', 'Error: Nexthop has invalid gateway.'],
  [['ip route add broadcast 10.0.0.5 dev eth0'], 'ip route add 10.9.9.9/32 via 10.0.0.5 dev eth0 onlink', 'Error: Nexthop has invalid gateway.'],
  [[], 'ip route add 10.9.9.9/32 via 10.0.0.1', 'ok'],
  [[], 'ip route add 10.9.9.9/32 via 10.0.0.255', 'Error: Nexthop has invalid gateway.'],
  [[], 'ip route add 10.9.9.9/32 via 10.1.0.1', 'Error: Nexthop has invalid gateway.'],
];

function netpath(before: readonly string[], line: string): string {
  const run = ['ip link add eth0 type veth peer name p0', 'ip addr add 10.0.0.1/24 dev eth0', 'ip link set eth0 up', 'ip link set p0 up', ...before, line].map((l) => `      ${l}\n`).join('');
  try {
    inline(`hosts:\n  a:\n    run: |\n${run}`);
    return 'ok';
  } catch (e) {
    const m = e instanceof Error ? e.message : String(e);
    const k = /(Error: [^\n]*|RTNETLINK answers: [^\n]*)/.exec(m);
    if (k) return k[1]!;
    throw e;
  }
}

describe('route gateways as fib_check_nh_v4_gw checks them', () => {
  it.each(OBSERVED)('after %j: %s -> %s', (before, line, kernel) => {
    expect(netpath(before, line)).toBe(kernel);
  });

  const root = process.getuid?.() === 0 && spawnSync('ip', ['netns', 'list']).status === 0;
  it.skipIf(!root)('the kernel agrees (each case in a fresh namespace)', () => {
    const ns = `npgw${process.pid}`;
    for (const [before, line, expected] of OBSERVED) {
      execFileSync('ip', ['netns', 'add', ns]);
      try {
        const ip = (l: string): ReturnType<typeof spawnSync> => spawnSync('ip', ['-n', ns, ...l.split(' ').slice(1)], { encoding: 'utf8' });
        for (const l of ['ip link add eth0 type veth peer name p0', 'ip addr add 10.0.0.1/24 dev eth0', 'ip link set eth0 up', 'ip link set p0 up', ...before]) expect(ip(l).status, l).toBe(0);
        const r = ip(line);
        const got = r.status === 0 ? 'ok' : String(r.stderr).trim();
        expect(`${before.join('; ')} | ${line} -> ${got}`).toBe(`${before.join('; ')} | ${line} -> ${expected}`);
      } finally {
        execFileSync('ip', ['netns', 'del', ns]);
      }
    }
  }, 60_000);
});
