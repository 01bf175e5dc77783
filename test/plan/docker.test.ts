/**
 * Docker lines: what dockerd v28.5.2 would build (src/plan/docker.ts).
 *
 * The rules are compared with fixtures/docker/*.save: real `iptables-save` output of the rules
 * moby's own golden docs (integration/network/bridge/iptablesdoc/generated/*.md at v28.5.2) show
 * for the same docker commands (fixtures/docker/README.md). The packet behaviour of these setups
 * is checked on the kernel by the models models/docker-*.yaml (test/replay/kernel.test.ts).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { iptablesSave } from '../../src/netfilter/save.js';
import type { NfTableName } from '../../src/netfilter/types.js';
import { renderOps } from '../../src/replay/render.js';
import { replayNames } from '../../src/replay/names.js';
import { addHost, applyOps, emptyWorld } from '../../src/world/apply.js';
import type { World } from '../../src/world/types.js';
import { ROOT } from '../helpers.js';
import { err, run } from './helpers.js';

function world(text: string): World {
  return applyOps(addHost(emptyWorld(), 'h1', { file: 'rb.yaml', line: 0, text: '' }), run(text));
}

/** A fixture without its comment lines, and the tables it holds. */
function fixture(name: string): { text: string; tables: NfTableName[] } {
  const text = readFileSync(join(ROOT, 'fixtures/docker', name), 'utf8')
    .split('\n')
    .filter((l) => !l.startsWith('#'))
    .join('\n');
  const tables = [...text.matchAll(/^\*(\w+)$/gm)].map((m) => m[1] as NfTableName);
  return { text, tables };
}

const USERNET = [
  // the daemon of the golden docs runs with ip_forward already 1: FORWARD keeps policy ACCEPT
  'sysctl -w net.ipv4.ip_forward=1',
  'docker network create -o com.docker.network.bridge.name=bridge1 --subnet 192.0.2.0/24 --gateway 192.0.2.1 bridge1',
];

describe('iptables-save of a folded Docker runbook equals the fixture of the same commands', () => {
  const cases: [string, string[]][] = [
    ['usernet-portmap.save', [...USERNET, 'docker run --network bridge1 -p 8080:80 --name c1 busybox']],
    ['usernet-portmap-noproxy.save', ['sysctl -w net.ipv4.ip_forward=1', 'dockerd --userland-proxy=false', USERNET[1]!, 'docker run --network bridge1 -p 8080:80 --name c1 busybox']],
    ['usernet-portmap-lo.save', [...USERNET, 'docker run --network bridge1 -p 127.0.0.1:8080:80 --name c1 busybox']],
  ];
  for (const [file, lines] of cases)
    it(file, () => {
      const f = fixture(file);
      const w = world(lines.join('\n'));
      expect(iptablesSave(w.netns['h1']!.nf, { tables: f.tables })).toBe(f.text);
    });

  it('a different command gives a different dump (the comparison can fail)', () => {
    const f = fixture('usernet-portmap.save');
    const w = world([...USERNET, 'docker run --network bridge1 -p 8081:80 --name c1 busybox'].join('\n'));
    expect(iptablesSave(w.netns['h1']!.nf, { tables: f.tables })).not.toBe(f.text);
  });
});

describe('the daemon', () => {
  it('turns ip_forward on and sets the FORWARD policy to DROP when forwarding was off', () => {
    const w = world('docker run -d --name web nginx');
    expect(w.netns['h1']!.confAll.forwarding).toBe(1);
    expect(iptablesSave(world('sysctl -w net.ipv4.ip_forward=1\ndocker run -d --name web nginx').netns['h1']!.nf, { tables: ['filter'] })).toMatch(/^:FORWARD ACCEPT/m);
    expect(iptablesSave(w.netns['h1']!.nf, { tables: ['filter'] })).toMatch(/^:FORWARD DROP/m);
  });

  it('docker0 is 172.17.0.1/16, containers get the lowest free address, with a default route via .1', () => {
    const w = world('docker run -d --name a nginx\ndocker run -d --name b nginx');
    const h = w.netns['h1']!;
    expect(h.addrs.filter((a) => h.links.find((l) => l.ifindex === a.ifindex)?.name === 'docker0').map((a) => [a.local, a.prefixLen])).toEqual([[0xac110001, 16]]);
    for (const [c, addr] of [['a', 0xac110002], ['b', 0xac110003]] as const) {
      const ns = w.netns[`h1/${c}`]!;
      expect(ns.addrs.map((a) => a.local)).toContain(addr);
      expect(ns.routes.some((r) => r.dst.len === 0 && r.via === 0xac110001)).toBe(true);
    }
  });

  it('user networks take the next default pool (172.18.0.0/16, ...), --ip reserves, the lowest free address follows', () => {
    const w = world(
      ['docker network create n1', 'docker network create --subnet 10.9.0.0/24 n2', 'docker run --name x --network n2 --ip 10.9.0.2 img', 'docker run --name y --network n2 img', 'docker run --name z --network n1 img'].join('\n'),
    );
    expect(w.netns['h1/x']!.addrs.map((a) => a.local)).toContain(0x0a090002);
    expect(w.netns['h1/y']!.addrs.map((a) => a.local)).toContain(0x0a090003);
    expect(w.netns['h1/z']!.addrs.map((a) => a.local)).toContain(0xac120002);
  });

  it('published ports: ranges pair up, a bare port is ephemeral from ip_local_port_range, ip::port keeps the address', () => {
    const save = iptablesSave(world('docker run --name a -p 8000-8001:80-81 -p 90 -p 127.0.0.1::91 img').netns['h1']!.nf, { tables: ['nat'] });
    expect(save).toContain('-A DOCKER ! -i docker0 -p tcp -m tcp --dport 8000 -j DNAT --to-destination 172.17.0.2:80');
    expect(save).toContain('-A DOCKER ! -i docker0 -p tcp -m tcp --dport 8001 -j DNAT --to-destination 172.17.0.2:81');
    expect(save).toContain('-A DOCKER ! -i docker0 -p tcp -m tcp --dport 32768 -j DNAT --to-destination 172.17.0.2:90');
    expect(save).toContain('-A DOCKER -d 127.0.0.1/32 ! -i docker0 -p tcp -m tcp --dport 32769 -j DNAT --to-destination 172.17.0.2:91');
    // without the proxy: UDP too, and no "! -i docker0" (hairpin DNAT)
    const udp = iptablesSave(world('dockerd --userland-proxy=false\ndocker run --name a -p 5353:53/udp img').netns['h1']!.nf, { tables: ['nat'] });
    expect(udp).toContain('-A DOCKER -p udp -m udp --dport 5353 -j DNAT --to-destination 172.17.0.2:53');
    expect(udp).toContain('-A POSTROUTING -s 172.17.0.2/32 -d 172.17.0.2/32 -p udp -m udp --dport 53 -j MASQUERADE');
  });

  it('the userland proxy listens on each published TCP port of the host (bound to the -p address)', () => {
    const w = world('docker run --name a -p 8080:80 -p 127.0.0.1:8081:80 img');
    expect(w.services.map((s) => [s.ns, s.proto, s.port, s.addr])).toEqual([
      ['h1', 'tcp', 8080, undefined],
      ['h1', 'tcp', 8081, 0x7f000001],
    ]);
    expect(world('dockerd --userland-proxy=false\ndocker run --name a -p 8080:80 img').services).toEqual([]);
  });

  it('replay builds the same things: the container namespace, the veth into it, the rules', () => {
    const cmds = renderOps(run('docker run -d --name web -p 8080:80 nginx'), replayNames('npx'))
      .map((c) => c.join(' '))
      .join('\n');
    expect(cmds).toMatch(/^ip netns add npx-h1-web$/m);
    expect(cmds).toMatch(/link add veth[0-9a-f]{7} type veth peer name eth0 netns npx-h1-web$/m);
    expect(cmds).toMatch(/iptables -t nat -A DOCKER ! -i docker0 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 172\.17\.0\.2:80$/m);
  });
});

describe('a UDP port with the userland proxy on', () => {
  it('is a docker-proxy relay in the root namespace, from the host address to the container', () => {
    const w = world('docker run --name a -p 5353:53/udp img\ndocker run --name b -p 127.0.0.1:5354:54/udp img');
    const relays = w.services.filter((s) => s.relay !== undefined).map((s) => ({ ns: s.ns, port: s.port, addr: s.addr, relay: s.relay }));
    expect(relays).toEqual([
      { ns: 'h1', port: 5353, addr: undefined, relay: { addr: 0xac110002, port: 53 } },
      { ns: 'h1', port: 5354, addr: 0x7f000001, relay: { addr: 0xac110003, port: 54 } },
    ]);
  });
});

describe('errors as dockerd gives them, at the docker line', () => {
  it.each([
    ['docker run --name a --ip 172.17.0.9 img', /supported on user defined networks only/],
    ['docker network create n\ndocker run --name a --network n --ip 172.18.0.9 img', /user configured subnets/],
    ['docker network create --subnet 10.0.0.0/24 n\ndocker run --name a --network n --ip 10.0.1.9 img', /no configured subnet or ip-range contain the IP address 10\.0\.1\.9/],
    ['docker run --name a -p 8080:80 img\ndocker run --name b -p 8080:80 img', /Bind for 0\.0\.0\.0:8080 failed: port is already allocated/],
    ['docker run --name a img\ndocker run --name a img', /The container name "\/a" is already in use/],
    ['docker run --name a --network nope img', /network nope not found/],
    ['docker run --name a -p 8000-8002:80-81 img', /invalid ranges specified/],
    ['docker run --name a img\ndockerd --userland-proxy=false', /already runs \(started at rb\.yaml:1\)/],
    ['docker network create --subnet 172.17.5.0/24 n', /overlaps/],
  ])('%s', (text, re) => {
    const e = err(text);
    expect(e.message).toMatch(re);
    expect(e.message).toContain('rb.yaml:');
  });
});
