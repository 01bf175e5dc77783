/**
 * Runbook lines the real command would refuse are refused with the kernel's words, at their line.
 * Messages: iproute2 6.1.0 / net-tools 2.10 on Linux 6.18 (docs/kernel-notes.md a.5, and the
 * commands re-run by hand in a scratch namespace).
 */
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/model/errors.js';
import { inline } from '../helpers.js';

function fails(lines: string[]): ConfigError {
  const yaml = `hosts:\n  h:\n    run: |\n${lines.map((l) => `      ${l}`).join('\n')}\nlans:\n  l:\n    h/eth0: 10.0.0.1/24\n`;
  try {
    inline(yaml);
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error('expected a ConfigError');
}

describe('the world refuses what the kernel refuses', () => {
  it('a device that does not exist', () => {
    const e = fails(['ip addr add 10.1.0.1/24 dev nope']);
    expect(e.detail).toBe('Cannot find device "nope"');
    expect(e.line).toBe(4);
  });
  it('a gateway that is not on a connected subnet (ip and net-tools)', () => {
    expect(fails(['ip route add 10.9.0.0/16 via 10.99.0.1']).detail).toBe('Error: Nexthop has invalid gateway.');
    expect(fails(['route add -host 10.13.0.1 gw 10.99.0.1']).detail).toBe('SIOCADDRT: Network is unreachable');
  });
  it('a route that already exists', () => {
    expect(fails(['ip route add 10.9.0.0/16 via 10.0.0.2', 'ip route add 10.9.0.0/16 via 10.0.0.3']).detail).toBe('RTNETLINK answers: File exists');
    expect(fails(['ip route add 10.9.0.0/16 via 10.0.0.2 table 7 metric 5', 'ip route add 10.9.0.0/16 via 10.0.0.3 table 7 metric 5']).detail).toBe('RTNETLINK answers: File exists');
  });
  it('a route of another table, metric or prefix length is another route', () => {
    const first = 'ip route add 10.9.0.0/16 via 10.0.0.2 table 7 metric 5';
    for (const other of ['table 8 metric 5', 'table 7 metric 6', 'table 7']) {
      const b = inline(`hosts:\n  h:\n    run: |\n      ip link add d0 type veth peer name d1\n      ip addr add 10.0.0.1/24 dev d0\n      ip link set d0 up\n      ${first}\n      ip route add 10.9.0.0/16 via 10.0.0.3 ${other}\n      ip route add 10.9.0.0/17 via 10.0.0.3 table 7 metric 5\n`);
      expect(b.world.netns['h']!.routes.filter((r) => r.dst.addr === 0x0a090000).length).toBe(3);
    }
  });
  it('a veth whose name is taken', () => {
    expect(fails(['ip link add eth0 type veth peer name x']).detail).toBe('RTNETLINK answers: File exists');
  });
  it('`ip link add a type ...`: iproute2 reads `a` as `address` (real ip 6.1.0 says the same)', () => {
    expect(fails(['ip link add a type veth peer name b']).detail).toBe('"type" is invalid lladdr.');
  });
  it('renaming an up device works (observed: ip link set aa2 up; ip link set aa2 name cc -> rc 0 on Linux 6.18)', () => {
    const b = inline('hosts:\n  h:\n    run: |\n      ip link add aa2 type veth peer name bb2\n      ip link set aa2 up\n      ip link set aa2 name cc\n');
    expect(b.world.netns['h']!.links.some((l) => l.name === 'cc' && l.up)).toBe(true);
  });
  it('ip netns exec into a namespace that does not exist', () => {
    expect(fails(['ip netns exec ghost ip link set lo up']).detail).toBe('Cannot open network namespace "ghost": No such file or directory');
  });
  it('a docker container is only an ip netns name after ln -s', () => {
    expect(fails(['docker run --name c1 --rm --network none -d nginx', 'ip netns exec c1 ip link set lo up']).detail).toContain('after ln -s /proc/PID/ns/net /var/run/netns/c1');
  });
  it('a name under /var/run/netns is taken once (observed: coreutils ln and iproute2 6.1 on Linux 6.18)', () => {
    const run = 'docker run --name c1 --rm --network none -d nginx';
    const run2 = 'docker run --name c2 --rm --network none -d nginx';
    // ln -s and ip netns attach over a name already there: File exists
    expect(fails([run, 'ln -s /proc/11/ns/net /var/run/netns/c1', run2, 'ln -s /proc/12/ns/net /var/run/netns/c1']).detail).toBe("ln: failed to create symbolic link '/var/run/netns/c1': File exists");
    expect(fails([run, 'ln -s /proc/11/ns/net /run/netns/c1', 'ip netns attach c1 11']).detail).toBe('Cannot create namespace file "/run/netns/c1": File exists');
    // ln repeats the link path as it was typed
    expect(fails([run, 'ln -s /proc/11/ns/net /var/run/netns/c1', run2, 'ln -s /proc/12/ns/net /run/netns/c1']).detail).toBe("ln: failed to create symbolic link '/run/netns/c1': File exists");
    expect(fails(['ip netns add n1', run, 'ln -s /proc/11/ns/net /var/run/netns/n1']).detail).toBe("ln: failed to create symbolic link '/var/run/netns/n1': File exists");
    expect(fails([run, 'ip netns attach c1 11', run2, 'ln -s /proc/12/ns/net /var/run/netns/c1']).detail).toBe("ln: failed to create symbolic link '/var/run/netns/c1': File exists");
    // ln -sf replaces a symlink, not a namespace file (ip netns add, ip netns attach)
    expect(fails(['ip netns add n1', run, 'ln -sf /proc/11/ns/net /var/run/netns/n1']).detail).toBe("ln: failed to create symbolic link '/var/run/netns/n1': Device or resource busy");
    expect(fails([run, 'ip netns attach c1 11', run2, 'ln -sf /proc/12/ns/net /var/run/netns/c1']).detail).toBe("ln: failed to create symbolic link '/var/run/netns/c1': Device or resource busy");
    const b = inline(`hosts:\n  h:\n    run: |\n      ${run}\n      ln -s /proc/11/ns/net /var/run/netns/x\n      ${run2}\n      ln -sf /proc/12/ns/net /var/run/netns/x\n      ln -s /proc/11/ns/net /var/run/netns/c1\n`);
    // x now names c2; c1 was free again and is named by the last line
    expect(b.world.bindings['h']).toEqual({ x: 'h/c2', c1: 'h/c1' });
  });
  it('ln -s names the container of that name, else the only one not named yet', () => {
    const lines = (n: number): string[] => Array.from({ length: n }, (_, k) => [`docker run --name c${k} --rm --network none -d nginx`]).flat();
    const b = inline(`hosts:\n  h:\n    run: |\n${[...lines(3), 'ln -s /proc/1/ns/net /var/run/netns/c2', 'ln -s /proc/2/ns/net /var/run/netns/c0', 'ln -s /proc/3/ns/net /var/run/netns/web', 'ip netns del c0', 'docker run --name d --rm --network none -d nginx', 'ln -s /proc/4/ns/net /var/run/netns/d', 'ln -s /proc/2/ns/net /var/run/netns/zero'].map((l) => `      ${l}`).join('\n')}\n`);
    // deleting the name c0 left c0's container unnamed: the only one when zero is made
    expect(b.world.bindings['h']).toEqual({ c2: 'h/c2', web: 'h/c1', d: 'h/d', zero: 'h/c0' });
    expect(fails([...lines(3), 'ln -s /proc/1/ns/net /var/run/netns/web']).detail).toBe('cannot tell which container has PID 1 (c0, c1, c2): name the link after the container');
    expect(fails([...lines(1), 'ln -s /proc/1/ns/net /var/run/netns/c0', 'ln -s /proc/2/ns/net /var/run/netns/web']).detail).toBe('no container on h for /proc/2/ns/net: start one with docker run --network none first');
  });
  it('ip netns del removes a name; a container keeps its namespace, an ip netns add namespace dies', () => {
    // observed (Linux 6.18, iproute2 6.1): `unshare -n sleep` named by ln -s or ip netns attach,
    // then ip netns del: exit 0, the name gone, the process's namespace still there with its
    // devices up (docs/kernel-notes.md af)
    const run = 'docker run --name c1 --rm --network none -d nginx';
    const yaml = (ls: string[]): string => `hosts:\n  h:\n    run: |\n${ls.map((l) => `      ${l}`).join('\n')}\n`;
    const a = inline(yaml([run, 'ln -s /proc/11/ns/net /var/run/netns/c1', 'ip link add v0 netns c1 type dummy', 'ip netns del c1']));
    expect(a.world.netns['h/c1']!.links.map((l) => l.name)).toContain('v0');
    expect(a.world.bindings['h']).toEqual({});
    // named again (the same name is free, and the container is the only one without a name)
    const again = inline(yaml([run, 'ip netns attach x 11', 'ip netns del x', 'ip netns attach x 11', 'ip netns del x', 'ln -s /proc/11/ns/net /var/run/netns/y', 'ip link add v0 netns y type dummy']));
    expect(again.world.bindings['h']).toEqual({ y: 'h/c1' });
    expect(again.world.attached?.['h']?.['x']).toBeUndefined();
    expect(again.world.netns['h/c1']!.links.map((l) => l.name)).toContain('v0');
    // the name is gone for ip netns
    expect(fails([run, 'ln -s /proc/11/ns/net /var/run/netns/c1', 'ip netns del c1', 'ip netns exec c1 ip link set lo up']).detail).toMatch(/^Cannot open network namespace "c1": No such file or directory/);
    // an ip netns add namespace is destroyed, and the veth peer in another namespace with it
    const n = inline(yaml(['ip netns add n', 'ip link add va type veth peer name vb', 'ip link set va netns n', 'ip netns del n']));
    expect(n.world.netns['h/n']).toBeUndefined();
    expect(n.world.netns['h']!.links.some((l) => l.name === 'vb')).toBe(false);
    // no such name (an unnamed container's has none either)
    expect(fails(['ip netns del nope']).detail).toBe('Cannot remove namespace file "/run/netns/nope": No such file or directory');
    expect(fails([run, 'ip netns del c1']).detail).toBe('Cannot remove namespace file "/run/netns/c1": No such file or directory');
    expect(fails([run, 'ln -s /proc/11/ns/net /var/run/netns/c1', 'ip netns del c1', 'ip netns del c1']).detail).toBe('Cannot remove namespace file "/run/netns/c1": No such file or directory');
    expect(fails(['ip netns add n', 'ip netns add n']).detail).toBe('Cannot create namespace file "/run/netns/n": File exists');
  });
  it('a sysctl netpath does not model is refused, not ignored', () => {
    const e = fails(['sysctl -w net.ipv4.tcp_timestamps=0']);
    expect(e.code).toBe('unsupported');
    expect(e.detail).toContain('net.ipv4.tcp_timestamps');
  });
  it('moving a device to another namespace takes its addresses and routes away', () => {
    const b = inline(
      'hosts:\n  h:\n    run: |\n      ip netns add n\n      ip link add va type veth peer name vb\n      ip addr add 10.5.0.1/24 dev va\n      ip link set va up\n      ip link set va netns n\nlans:\n  l:\n    h/eth0: 10.0.0.1/24\n',
    );
    const h = b.world.netns['h']!;
    const n = b.world.netns['h/n']!;
    expect(h.addrs.some((a) => a.local === 0x0a050001)).toBe(false);
    expect(h.routes.some((r) => r.dst.addr === 0x0a050000)).toBe(false);
    const moved = n.links.find((l) => l.name === 'va')!;
    expect(moved.up).toBe(false);
    const peer = h.links.find((l) => l.name === 'vb')!;
    expect(peer.peer).toEqual({ ns: 'h/n', ifindex: moved.ifindex });
  });
});
