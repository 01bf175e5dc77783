/**
 * `ip` command forms. Where an expectation comes from running the real command it says so
 * (iproute2-6.1.0 on Linux 6.18, in a scratch network namespace).
 */
import { describe, it, expect, vi } from 'vitest';
vi.mock('../../src/netfilter/restore.js', () => ({ parseIptablesRestore: () => [] }));
import { one, run, err } from './helpers.js';

const A = (s: string): number => s.split('.').reduce((v, o) => v * 256 + Number(o), 0);

describe('ip: objects, abbreviations and global options', () => {
  it.each([
    ['ip link add v1 type veth peer name v1p', 'link-add'],
    ['ip li add v1 type veth peer name v1p', 'link-add'],
    ['ip l a v1 type veth peer name v1p', 'link-add'], // "a" matches "add" first
    ['ip a add 10.0.0.1/24 dev v1', 'addr-add'],
    ['ip addr a 10.0.0.1/24 dev v1', 'addr-add'],
    ['ip address d 10.0.0.1/24 dev v1', 'addr-del'],
    ['ip r add 10.0.0.0/8 dev v1', 'route-add'],
    ['ip ro a 10.0.0.0/8 dev v1', 'route-add'],
    ['ip route ap 10.0.0.0/8 dev v1', 'route-append'],
    ['ip route c 10.0.0.0/8 dev v1', 'route-change'],
    ['ip route chg 10.0.0.0/8 dev v1', 'route-change'],
    ['ip route rep 10.0.0.0/8 dev v1', 'route-replace'],
    ['ip route del 10.0.0.0/8', 'route-del'],
    ['ip ru add from 10.0.0.0/8 lookup 100', 'rule-add'], // "ru" is not a prefix of "route"
    ['ip n add 10.0.0.2 lladdr 02:00:00:00:00:01 dev v1', 'neigh-add'], // "n" is neighbor, first in ip.c's table
    ['ip neighbour replace 10.0.0.2 lladdr 02:00:00:00:00:01 dev v1', 'neigh-replace'],
    ['ip net add ns1', 'netns-add'], // "net" is not a prefix of "neighbor"
    ['ip netns del ns1', 'netns-del'],
    ['ip -4 route add 10.0.0.0/8 dev v1', 'route-add'],
    ['ip -d -s -c=never link set v1 up', 'link-set'],
    ['ip --netns ns1 link set v1 up', 'link-set'],
  ])('%s -> %s', (line, op) => {
    expect(one(line).op).toBe(op);
  });

  it('-n/-netns NS sets the namespace', () => {
    expect(one('ip -n ns1 link set v1 up')).toMatchObject({ ns: 'ns1', dev: 'v1', up: true });
    expect(one('ip -netns ns1 addr add 10.0.0.1/24 dev v1')).toMatchObject({ ns: 'ns1' });
  });

  it.each([
    'ip', 'ip addr', 'ip a', 'ip a show', 'ip addr list dev eth0', 'ip -br a', 'ip -br link', 'ip link', 'ip link show eth0',
    'ip route', 'ip r', 'ip route show table all', 'ip route get 10.0.0.1', 'ip r g 1.1.1.1', 'ip rule', 'ip rule show', 'ip rule list',
    'ip neigh', 'ip neigh show', 'ip netns', 'ip netns list', 'ip netns ls', 'ip -V', 'ip maddr', 'ip -o -4 a',
  ])('%s is look-only', (line) => {
    if (line === 'ip') {
      expect(err(line).code).toBe('syntax');
      return;
    }
    expect(one(line)).toMatchObject({ op: 'noop' });
  });

  it('rejects unknown objects, commands and options with iproute2 wording', () => {
    expect(err('ip foo').detail).toBe('Object "foo" is unknown, try "ip help".');
    expect(err('ip route zzz').detail).toBe('Command "zzz" is unknown, try "ip route help".'); // real: same text
    expect(err('ip link frob v1').detail).toBe('Command "frob" is unknown, try "ip link help".');
    expect(err('ip -e link').detail).toBe('Option "-e" is unknown, try "ip -help".');
    expect(err('ip -6 route add 2001:db8::/32 dev v1').code).toBe('unsupported');
    // the file is read next to the model (here the stub answers an iptables dump: not ip commands)
    expect(err('ip -batch f').detail).toBe('Object "*filter" is unknown, try "ip help".');
    expect(err('ip xfrm state add src 1.2.3.4').code).toBe('unsupported');
  });
});

describe('ip link', () => {
  it('veth: peer name, bare peer, name keyword, peer netns', () => {
    expect(one('ip link add veth1 type veth peer name veth1-p')).toEqual({ op: 'link-add', ns: null, name: 'veth1', kind: 'veth', peer: { name: 'veth1-p' } });
    expect(one('ip link add veth1 type veth peer veth1-p')).toMatchObject({ peer: { name: 'veth1-p' } });
    expect(one('ip link add name veth1 type veth peer name p1 netns ns1')).toMatchObject({ name: 'veth1', peer: { name: 'p1', netns: 'ns1' } });
    expect(one('ip link add dev veth1 mtu 1400 address 02:AA:00:00:00:1 type veth peer name p1')).toMatchObject({
      mtu: 1400,
      address: '02:aa:00:00:00:01',
    });
    expect(one('ip link add veth1 netns ns1 type veth peer name p1')).toMatchObject({ netns: 'ns1' });
  });

  it('bridge and dummy; up/master on add become a following link-set', () => {
    expect(one('ip link add br0 type bridge')).toEqual({ op: 'link-add', ns: null, name: 'br0', kind: 'bridge' });
    expect(one('ip link add d0 type dummy')).toMatchObject({ kind: 'dummy' });
    const ops = run('ip link add br0 up type bridge');
    expect(ops.map((o) => o.op)).toEqual(['link-add', 'link-set']);
    expect(ops[1]).toMatchObject({ dev: 'br0', up: true });
  });

  it('set: several changes at once, dev keyword optional, name before dev', () => {
    expect(one('ip link set dev v1 up')).toEqual({ op: 'link-set', ns: null, dev: 'v1', up: true });
    expect(one('ip link set v1 down')).toMatchObject({ dev: 'v1', up: false });
    expect(one('ip link set name eth0 dev veth1')).toMatchObject({ dev: 'veth1', name: 'eth0' });
    expect(one('ip link set dev veth1 name eth0')).toMatchObject({ dev: 'veth1', name: 'eth0' });
    expect(one('ip link set v1 netns ns1 mtu 1400 address 02:00:00:00:00:02 master br0 up')).toEqual({
      op: 'link-set', ns: null, dev: 'v1', netns: 'ns1', mtu: 1400, address: '02:00:00:00:00:02', master: 'br0', up: true,
    });
    expect(one('ip link set v1 nomaster')).toMatchObject({ master: null });
    expect(one('ip li set v1 mtu 0x5dc')).toMatchObject({ mtu: 1500 });
  });

  it('del/delete', () => {
    expect(one('ip link del veth1')).toEqual({ op: 'link-del', ns: null, dev: 'veth1' });
    expect(one('ip link delete dev veth1')).toMatchObject({ dev: 'veth1' });
    expect(one('ip link del veth1 type veth')).toMatchObject({ dev: 'veth1' });
  });

  it('errors', () => {
    expect(err('ip link add veth1').detail).toBe('Not enough information: "type" argument is required');
    expect(err('ip link set up').detail).toBe('Not enough information: "dev" argument is required.');
    expect(err('ip link set v1 v2 up').detail).toBe('Error: either "dev" is duplicate, or "v2" is a garbage.');
    expect(err('ip link set v1 mtu').detail).toBe('Command line is not complete. Try option "help"');
    expect(err('ip link set v1 mtu big').code).toBe('syntax');
    expect(err('ip link set v1 address zz:00').detail).toBe('"zz:00" is invalid lladdr.');
    expect(err('ip link add veth1 type veth').code).toBe('unsupported');
    expect(err('ip link add veth1 type veth name x').code).toBe('syntax');
    expect(err('ip link add vx type vxlan id 5').code).toBe('unsupported');
    expect(err('ip link add d0 type dummy foo').detail).toBe('Garbage instead of arguments "foo ...". Try "ip link help".');
    expect(err('ip link set v1 promisc on').code).toBe('unsupported');
    expect(err('ip link set v1 netns 869389').code).toBe('unsupported');
    expect(err('ip link set v1 name thisnameiswaytoolong').detail).toContain('"name" not a valid ifname');
    expect(err('ip link add name a dev b type dummy').detail).toBe('both "name" and "dev" cannot be used when creating devices.');
  });
});

describe('ip address', () => {
  it('add/del with brd, scope, label, no length', () => {
    expect(one('ip addr add 192.168.2.10/24 brd + dev eth0 label eth0:1 scope link')).toEqual({
      op: 'addr-add', ns: null, dev: 'eth0', local: A('192.168.2.10'), prefixLen: 24, hadLen: true, broadcast: '+', scope: 'link', label: 'eth0:1',
    });
    expect(one('ip a a 10.0.0.1 dev eth0')).toMatchObject({ prefixLen: 32, hadLen: false });
    expect(one('ip addr add local 10.0.0.1/8 broadcast 10.255.255.255 dev eth0')).toMatchObject({ broadcast: A('10.255.255.255') });
    expect(one('ip addr add 10.0.0.1/255.255.0.0 dev eth0')).toMatchObject({ prefixLen: 16 });
    expect(one('ip addr add 10.0.0.1/31 brd + dev eth0')).not.toHaveProperty('broadcast'); // ipaddr_modify: only up to /30
    expect(one('ip addr del 10.0.0.1/24 dev eth0')).toMatchObject({ op: 'addr-del', prefixLen: 24 });
  });

  it('errors', () => {
    // real: "Error: any valid prefix is expected rather than "10.9.9.300/24"."
    expect(err('ip addr add 192.168.2.300/24 dev eth0').detail).toBe('Error: any valid prefix is expected rather than "192.168.2.300/24".');
    expect(err('ip addr add 10.9.9.9/24/2 dev d0').detail).toBe('Error: any valid prefix is expected rather than "10.9.9.9/24/2".');
    // real: "Error: either "local" is duplicate, or "d0" is a garbage."
    expect(err('ip addr add 10.9.9.9/24 d0').detail).toBe('Error: either "local" is duplicate, or "d0" is a garbage.');
    // real: 'Not enough information: "dev" argument is required.'
    expect(err('ip addr add 10.9.9.9/24').detail).toBe('Not enough information: "dev" argument is required.');
    expect(err('ip addr add 2001:db8::1/64 dev eth0').code).toBe('unsupported');
    expect(err('ip addr add 10.0.0.1/24 dev eth0 noprefixroute').code).toBe('unsupported');
    expect(one('ip addr flush dev eth0')).toMatchObject({ op: 'addr-flush', dev: 'eth0' });
    expect(err('ip addr add 10.0.0.1/24 brd 1.2.3.4 brd + dev x').detail).toBe('Error: duplicate "broadcast": "+" is the second value.');
  });
});

describe('ip route', () => {
  it('fills in what iproute2 sends: table, proto boot, scope', () => {
    expect(one('ip route add 192.168.2.0/24 dev veth1-p')).toEqual({
      op: 'route-add', ns: null, type: 'unicast', dst: { addr: A('192.168.2.0'), len: 24 }, dev: 'veth1-p', table: 254, proto: 'boot', scope: 'link', syntax: 'ip',
    });
    expect(one('ip route add default via 172.31.0.1')).toMatchObject({ dst: { addr: 0, len: 0 }, via: A('172.31.0.1'), scope: 'global' });
    expect(one('ip route add local 10.1.1.1 dev lo')).toMatchObject({ type: 'local', table: 255, scope: 'host', dst: { len: 32 } });
    expect(one('ip route add blackhole 10.0.0.0/8')).toMatchObject({ type: 'blackhole', scope: 'global', table: 254 });
    expect(one('ip route add unreachable 10.0.0.0/8')).toMatchObject({ type: 'unreachable' });
    expect(one('ip route add prohibit 10.0.0.0/8')).toMatchObject({ type: 'prohibit' });
    expect(one('ip route add throw 10.0.0.0/8 table 100')).toMatchObject({ type: 'throw', table: 100 });
    expect(one('ip route add unicast 10.0.0.0/8 dev x')).toMatchObject({ type: 'unicast' });
    // real: `ip route add u 10.7.0.0/16` installs "unreachable 10.7.0.0/16" (matches() order)
    expect(one('ip route add u 10.7.0.0/16')).toMatchObject({ type: 'unreachable' });
  });

  it('every option', () => {
    expect(
      one('ip route replace to 10.0.0.0/8 via 192.168.1.1 dev eth0 src 192.168.1.2 metric 100 table 0x10 scope global onlink proto static'),
    ).toEqual({
      op: 'route-replace', ns: null, type: 'unicast', dst: { addr: A('10.0.0.0'), len: 8 }, via: A('192.168.1.1'), dev: 'eth0',
      src: A('192.168.1.2'), metric: 100, onlink: true, table: 16, scope: 'global', proto: 'static', syntax: 'ip',
    });
    expect(one('ip route add 10.0.0.0/8 dev x priority 5')).toMatchObject({ metric: 5 });
    expect(one('ip route add 10.0.0.0/8 dev x preference 5')).toMatchObject({ metric: 5 });
    // real: `metric 010` shows "metric 8" (strtoul base 0)
    expect(one('ip route add 10.6.0.0/16 dev x metric 010')).toMatchObject({ metric: 8 });
    expect(one('ip route add 10.0.0.0/8 dev x table main')).toMatchObject({ table: 254 });
    expect(one('ip route add 10.0.0.0/8 dev x table local')).toMatchObject({ table: 255 });
    expect(one('ip route add 10.0.0.0/8 dev x table default')).toMatchObject({ table: 253 });
    // real: `table 0` installs into main
    expect(one('ip route add 10.0.0.0/8 dev x table 0')).toMatchObject({ table: 254 });
    expect(one('ip route add 10.0.0.0/8 dev x proto 99')).toMatchObject({ proto: 'openr' });
    expect(one('ip route add 10.0.0.0/8 dev x proto 77')).toMatchObject({ proto: '77' });
    expect(one('ip route add 10.0.0.0/8 via inet 10.1.1.1')).toMatchObject({ via: A('10.1.1.1') });
    expect(one('ip route add 10.0.0.0/8 dev x scope 253')).toMatchObject({ scope: 'link' });
  });

  it('reads addresses as iproute2 does', () => {
    // real: `ip route add 10.1/16 dev d0` installs 10.1.0.0/16; `010.0.0.0/8` installs 8.0.0.0/8
    expect(one('ip route add 10.1/16 dev x')).toMatchObject({ dst: { addr: A('10.1.0.0'), len: 16 } });
    expect(one('ip route add 010.0.0.0/8 dev x')).toMatchObject({ dst: { addr: A('8.0.0.0'), len: 8 } });
    expect(one('ip route add 10.0.0.0/255.0.0.0 dev x')).toMatchObject({ dst: { len: 8 } });
    expect(one('ip route add 10.4.0.0 dev x')).toMatchObject({ dst: { len: 32 } });
  });

  it('delete leaves proto and scope as wildcards', () => {
    expect(one('ip route del 10.0.0.0/8')).toEqual({ op: 'route-del', ns: null, type: 'unicast', dst: { addr: A('10.0.0.0'), len: 8 }, table: 254, syntax: 'ip' });
    expect(one('ip route del default via 1.2.3.4 metric 5')).toMatchObject({ metric: 5, via: A('1.2.3.4') });
  });

  it('errors', () => {
    // real: "Error: Invalid prefix for given prefix length." (from the kernel)
    const e = err('ip route add 10.0.0.1/24 dev x');
    expect([e.code, e.detail]).toEqual(['kernel', 'Error: Invalid prefix for given prefix length. ("10.0.0.1/24" has host bits set)']);
    // real: 'Error: any valid prefix is expected rather than "192.168.2.300/24".'
    expect(err('ip route add 192.168.2.300/24 dev x').detail).toBe('Error: any valid prefix is expected rather than "192.168.2.300/24".');
    expect(err('ip route add 10.0.0.0/33 dev x').code).toBe('syntax');
    // real: 'Error: argument "x" is wrong: "metric" value is invalid'
    expect(err('ip route add 10.0.0.0/8 dev d0 metric x').detail).toBe('Error: argument "x" is wrong: "metric" value is invalid\n');
    // real: 'Error: either "to" is duplicate, or "bogus" is a garbage.'
    expect(err('ip route add 10.0.0.0/8 dev d0 bogus').detail).toBe('Error: either "to" is duplicate, or "bogus" is a garbage.');
    // real: 'Command line is not complete. Try option "help"'
    expect(err('ip route add 10.0.0.0/8 via').detail).toBe('Command line is not complete. Try option "help"');
    expect(err('ip route add 10.0.0.0/8 dev x table foo').detail).toContain('/etc/iproute2/rt_tables');
    expect(err('ip route add 10.0.0.0/8 dev x table foo').code).toBe('syntax');
    expect(err('ip route add 10.0.0.0/8 dev x proto foo').code).toBe('syntax');
    expect(err('ip route add 10.0.0.0/8 dev x scope site').code).toBe('unsupported');
    expect(err('ip route add 10.0.0.0/8 via 1.2.3.4 via 1.2.3.5').code).toBe('syntax');
    expect(err('ip route add nat 10.0.0.0/8 via 1.2.3.4').code).toBe('unsupported');
    expect(err('ip route add 10.0.0.0/8 nexthop via 1.1.1.1').code).toBe('unsupported');
    expect(err('ip route add dev x').code).toBe('syntax');
    expect(one('ip route flush table main')).toMatchObject({ op: 'route-flush', table: 254 });
    expect(err('ip route add 2001:db8::/32 dev x').code).toBe('unsupported');
  });
});

describe('ip rule', () => {
  it('selectors, priority spellings, actions', () => {
    expect(one('ip rule add from 10.0.0.0/8 lookup 100 pref 10')).toEqual({
      op: 'rule-add', ns: null, not: false, from: { addr: A('10.0.0.0'), len: 8 }, action: 'lookup', table: 100, priority: 10,
    });
    expect(one('ip rule add not to 192.168.0.0/16 iif eth0 oif eth1 table main priority 5')).toMatchObject({
      not: true, to: { len: 16 }, iif: 'eth0', oif: 'eth1', table: 254, priority: 5,
    });
    expect(one('ip rule add fwmark 0x1 lookup 100')).toMatchObject({ fwmark: { value: 1, mask: 0xffffffff } });
    expect(one('ip rule add fwmark 1/0xff table 100')).toMatchObject({ fwmark: { value: 1, mask: 0xff } });
    expect(one('ip rule add from all prio 100 blackhole')).toEqual({ op: 'rule-add', ns: null, not: false, action: 'blackhole', priority: 100 });
    expect(one('ip rule add to 10.0.0.0/8 unreachable')).toMatchObject({ action: 'unreachable' });
    expect(one('ip rule add to 10.0.0.0/8 type prohibit')).toMatchObject({ action: 'prohibit' });
    expect(one('ip rule add from 10.0.0.0/8')).toMatchObject({ action: 'lookup', table: 254 }); // iprule_modify default
    expect(one('ip rule add dev eth0 order 7 table 7')).toMatchObject({ iif: 'eth0', priority: 7 });
    // real: `ip rule add from 10.0.0.1/8 table 5` is accepted
    expect(one('ip rule add from 10.0.0.1/8 table 5')).toMatchObject({ from: { addr: A('10.0.0.0'), len: 8 } });
  });

  it('delete: unspecified action is a wildcard', () => {
    expect(one('ip rule del pref 100')).toEqual({ op: 'rule-del', ns: null, not: false, action: 'lookup', anyAction: true, priority: 100 });
    expect(one('ip rule del from 10.0.0.0/8 table 100')).toMatchObject({ table: 100 });
    expect(one('ip rule del from 10.0.0.0/8 table 100')).not.toHaveProperty('anyAction');
  });

  it('errors', () => {
    // real: 'Error: argument "zz" is wrong: fwmark value is invalid'
    expect(err('ip rule add fwmark zz table 100').detail).toBe('Error: argument "zz" is wrong: fwmark value is invalid\n');
    expect(err('ip rule add').detail).toBe('"ip rule add" requires arguments.');
    expect(err('ip rule add from 10.0.0.0/8 lookup vpn').code).toBe('syntax');
    expect(err('ip rule add from 10.0.0.0/8 frobnicate').detail).toBe('Error: argument "frobnicate" is wrong: Failed to parse rule type');
    expect(err('ip rule add uidrange 1-2 table 5').code).toBe('unsupported');
    expect(err('ip rule add from 10.0.0.0/8 goto 5').code).toBe('unsupported');
  });
});

describe('ip neigh', () => {
  it('add/replace/del with nud states', () => {
    expect(one('ip neigh add 10.0.0.2 lladdr 02:00:00:00:00:01 dev eth0')).toEqual({
      op: 'neigh-add', ns: null, dst: A('10.0.0.2'), lladdr: '02:00:00:00:00:01', dev: 'eth0', state: 'permanent',
    });
    expect(one('ip neigh replace 10.0.0.2 lladdr 2:0:0:0:0:1 dev eth0 nud reachable')).toMatchObject({ lladdr: '02:00:00:00:00:01', state: 'reachable' });
    expect(one('ip neigh add 10.0.0.2 lladdr 02:00:00:00:00:01 dev eth0 nud noarp')).toMatchObject({ state: 'noarp' });
    expect(one('ip neigh add to 10.0.0.2 lladdr 02:00:00:00:00:01 dev eth0 nud stale')).toMatchObject({ state: 'stale' });
    expect(one('ip neigh add 10.0.0.2 lladdr 02:00:00:00:00:01 dev eth0 nud perm')).toMatchObject({ state: 'permanent' });
    expect(one('ip neigh del 10.0.0.2 dev eth0')).toEqual({ op: 'neigh-del', ns: null, dst: A('10.0.0.2'), dev: 'eth0', state: 'permanent' });
  });

  it('errors', () => {
    // real: '"zz" is invalid lladdr.' and 'Error: argument "foo" is wrong: nud state is bad'
    expect(err('ip neigh add 10.9.9.2 lladdr zz dev d0').detail).toBe('"zz" is invalid lladdr.');
    expect(err('ip neigh add 10.9.9.3 dev d0 nud foo').detail).toBe('Error: argument "foo" is wrong: nud state is bad');
    expect(err('ip neigh add 10.9.9.3 lladdr 02:00:00:00:00:01').detail).toBe('Device and destination are required arguments.');
    expect(err('ip neigh add 10.9.9.3 dev d0 nud failed').code).toBe('unsupported');
    expect(err('ip neigh add proxy 10.9.9.3 dev d0').code).toBe('unsupported');
    expect(err('ip neigh flush dev d0').code).toBe('unsupported');
  });
});

describe('ip netns', () => {
  it('add/del/attach', () => {
    expect(one('ip netns add ns1')).toEqual({ op: 'netns-add', ns: null, name: 'ns1' });
    expect(one('ip netns delete ns1')).toEqual({ op: 'netns-del', ns: null, name: 'ns1' });
    expect(one('ip netns attach ngx1 869389')).toEqual({ op: 'netns-bind', ns: null, name: 'ngx1', pid: '869389', attach: true });
    expect(err('ip netns add').detail).toBe('No netns name specified');
    expect(err('ip netns add a/b').detail).toBe('Invalid netns name "a/b"');
    expect(err('ip netns frob x').detail).toBe('Command "frob" is unknown, try "ip netns help".');
  });

  it('exec prefixes any supported command, and nests', () => {
    expect(one('ip netns exec ns1 ip addr add 10.0.0.1/24 dev eth0')).toMatchObject({ op: 'addr-add', ns: 'ns1' });
    expect(one('ip netns exec ns1 ip -n ns2 link set lo up')).toMatchObject({ ns: 'ns2' });
    expect(one('ip netns exec ns1 ip netns exec ns2 sysctl -w net.ipv4.ip_forward=1')).toMatchObject({ op: 'sysctl', ns: 'ns2' });
    expect(one('ip netns exec ns1 route add default gw 10.0.0.1')).toMatchObject({ op: 'route-add', ns: 'ns1', syntax: 'net-tools' });
    expect(one('ip netns exec ns1 iptables -A INPUT -j DROP')).toMatchObject({ op: 'iptables', ns: 'ns1', chain: 'INPUT' });
    expect(one('ip netns e ns1 ping -c1 10.0.0.2')).toMatchObject({ op: 'noop', ns: 'ns1' });
    expect(one('sudo ip netns exec ns1 sudo ip link set lo up')).toMatchObject({ ns: 'ns1', dev: 'lo' });
    expect(err('ip netns exec ns1').detail).toBe('No command specified');
    expect(err('ip netns exec ns1 frobnicate').code).toBe('unsupported');
  });
});
