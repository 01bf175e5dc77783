/** renderOps: pure rendering of parsed runbook ops into real commands (no kernel needed). */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadModel } from '../../src/plan/model.js';
import type { Op } from '../../src/plan/ops.js';
import { parseRunbook } from '../../src/plan/runbook.js';
import { buildWorld } from '../../src/world/build.js';
import { IDENTITY_NAMES, newPrefix, ownerOf, replayNames } from '../../src/replay/names.js';
import { renderCommands, renderOps, shellQuote } from '../../src/replay/render.js';
import { assertConfined, renderLans, setupNetns } from '../../src/replay/netns.js';

const P = 'nprtest_abcd';
const names = replayNames(P);
const files: Record<string, string> = { 'models/r.v4': '*filter\n:INPUT DROP [0:0]\n:LOG_DROP - [0:0]\n-A INPUT -m comment --comment "ssh in" -p tcp --dport 22 -j ACCEPT\nCOMMIT\n' };
const io = { readFile: (p: string): string => files[p] ?? '' };

function ops(text: string, host = 'h1'): Op[] {
  return parseRunbook({ host, file: 'rb', text, firstLine: 1, baseDir: 'models' }, io);
}
function render(text: string, host = 'h1'): string[] {
  return renderOps(ops(text, host), names).map((a) => a.join(' '));
}

describe('renderOps: namespaces', () => {
  it('runs ip commands with ip -n, others with ip netns exec, in the host namespace', () => {
    expect(render('ip route add default via 10.0.0.1 dev eth0 metric 100')).toEqual([`ip -n ${P}-h1 route add 0.0.0.0/0 via 10.0.0.1 dev eth0 metric 100 table 254 scope global proto boot`]);
    expect(render('sysctl -w net.ipv4.ip_forward=1')).toEqual([`ip netns exec ${P}-h1 sysctl -w net.ipv4.ip_forward=1`]);
    expect(render('echo 1 > /proc/sys/net/ipv4/conf/all/rp_filter')).toEqual([`ip netns exec ${P}-h1 sysctl -w net.ipv4.conf.all.rp_filter=1`]);
  });

  it('keeps runbook namespaces apart per host and brings lo up in each new one', () => {
    expect(render('ip netns add blue\nip netns exec blue ip addr add 10.1.0.1/24 dev lo', 'h2')).toEqual([
      `ip netns add ${P}-h2-blue`,
      `ip -n ${P}-h2-blue link set dev lo up`,
      `ip -n ${P}-h2-blue addr add 10.1.0.1/24 dev lo`,
    ]);
  });

  it('turns docker run into a namespace and binds the ln -s alias to it (nothing runs for ln)', () => {
    const text = [
      'docker run --name ngx1 --rm --network none -d nginx',
      'ip link add veth1 type veth peer name veth1-p',
      'ln -s /proc/869389/ns/net /var/run/netns/ngx1',
      'ip link set veth1 netns ngx1',
      'ip netns exec ngx1 ip link set name eth0 dev veth1',
      'ip -n ngx1 link set dev eth0 up',
    ].join('\n');
    expect(render(text, 'web2')).toEqual([
      `ip netns add ${P}-web2-ngx1`,
      `ip -n ${P}-web2-ngx1 link set dev lo up`,
      `ip -n ${P}-web2 link add veth1 type veth peer name veth1-p`,
      `ip -n ${P}-web2 link set dev veth1 netns ${P}-web2-ngx1`,
      `ip -n ${P}-web2-ngx1 link set dev veth1 name eth0`,
      `ip -n ${P}-web2-ngx1 link set dev eth0 up`,
    ]);
  });

  it('resolves an alias with another name to the only unbound container', () => {
    const out = render('docker run --name c1 --network none -d img\nln -s /proc/42/ns/net /var/run/netns/foo\nip link add v0 netns foo type dummy');
    expect(out.at(-1)).toBe(`ip -n ${P}-h1 link add v0 netns ${P}-h1-c1 type dummy`);
  });

  it('ip netns del of a name bound to a container removes the name only: nothing runs, the container keeps its namespace', () => {
    // as the world folds it (world/apply.ts Fold.unname; kernel: docs/kernel-notes.md af)
    const text = [
      'docker run --name c1 --network none -d img',
      'ln -s /proc/42/ns/net /var/run/netns/foo',
      'ip netns del foo',
      'ln -s /proc/42/ns/net /var/run/netns/bar',
      'ip link add v0 netns bar type dummy',
      'ip netns add n',
      'ip netns del n',
    ].join('\n');
    expect(render(text).filter((l) => !l.includes(' lo '))).toEqual([
      `ip netns add ${P}-h1-c1`,
      `ip -n ${P}-h1 link add v0 netns ${P}-h1-c1 type dummy`,
      `ip netns add ${P}-h1-n`,
      `ip netns del ${P}-h1-n`,
    ]);
  });

  it('rewrites namespaces inside link add (netns, peer netns) and deletes namespaces', () => {
    expect(render('ip netns add a\nip netns add b\nip link add x netns a type veth peer name y netns b\nip netns del a').filter((l) => !l.includes(' lo '))).toEqual([
      `ip netns add ${P}-h1-a`,
      `ip netns add ${P}-h1-b`,
      `ip -n ${P}-h1 link add x netns ${P}-h1-a type veth peer name y netns ${P}-h1-b`,
      `ip netns del ${P}-h1-a`,
    ]);
  });

  it('renders the same runbook unchanged for a real host (identity names)', () => {
    const out = renderOps(ops('ip netns add blue\nip link set veth0 netns blue\nip netns exec blue iptables -P INPUT DROP'), IDENTITY_NAMES).map((a) => a.join(' '));
    expect(out).toEqual(['ip netns add blue', 'ip link set dev lo up'.replace('ip ', 'ip -n blue '), 'ip link set dev veth0 netns blue', 'ip netns exec blue iptables -t filter -P INPUT DROP']);
  });
});

describe('renderOps: ip', () => {
  it('addresses: length kept as written, brd, scope, label', () => {
    expect(render('ip addr add 10.0.0.1/24 brd + dev eth0 label eth0:1')).toEqual([`ip -n ${P}-h1 addr add 10.0.0.1/24 broadcast + label eth0:1 dev eth0`]);
    expect(render('ip addr del 10.0.0.1 dev eth0')).toEqual([`ip -n ${P}-h1 addr del 10.0.0.1 dev eth0`]);
    expect(render('ip addr add 10.0.0.2/32 scope link dev eth0')).toEqual([`ip -n ${P}-h1 addr add 10.0.0.2/32 scope link dev eth0`]);
  });

  it('routes: types, tables, src, onlink (with what iproute2 fills in); net-tools route as ip route', () => {
    expect(render('ip route add blackhole 10.9.0.0/16 table 100')).toEqual([`ip -n ${P}-h1 route add blackhole 10.9.0.0/16 table 100 scope global proto boot`]);
    expect(render('ip route replace 10.1.0.0/16 via 10.0.0.1 dev eth0 src 10.0.0.2 onlink')).toEqual([
      `ip -n ${P}-h1 route replace 10.1.0.0/16 via 10.0.0.1 dev eth0 src 10.0.0.2 table 254 scope global onlink proto boot`,
    ]);
    expect(render('route add -host 192.168.2.10 gw 172.31.0.2 dev eth0')).toEqual([`ip -n ${P}-h1 route add 192.168.2.10/32 via 172.31.0.2 dev eth0`]);
    expect(render('route add -net 10.2.0.0 netmask 255.255.0.0 dev eth0')).toEqual([`ip -n ${P}-h1 route add 10.2.0.0/16 dev eth0 scope link`]);
    expect(render('route add -net 10.4.0.0 netmask 255.255.0.0 reject')).toEqual([`ip -n ${P}-h1 route add unreachable 10.4.0.0/16 scope host`]);
  });

  it('rules and neighbours', () => {
    expect(render('ip rule add fwmark 0x1 lookup 100 priority 10')).toEqual([`ip -n ${P}-h1 rule add fwmark 0x1/0xffffffff priority 10 lookup 100`]);
    expect(render('ip rule add not from 10.0.0.0/8 iif eth0 prohibit')).toEqual([`ip -n ${P}-h1 rule add not from 10.0.0.0/8 iif eth0 prohibit`]);
    expect(render('ip neigh add 10.0.0.9 lladdr 02:00:00:00:00:09 dev eth0')).toEqual([`ip -n ${P}-h1 neigh add 10.0.0.9 lladdr 02:00:00:00:00:09 dev eth0 nud permanent`]);
    expect(render('ip neigh del 10.0.0.9 dev eth0')).toEqual([`ip -n ${P}-h1 neigh del 10.0.0.9 dev eth0`]);
  });

  it('links: bridge, master, mtu, address, down', () => {
    expect(render('ip link add br0 type bridge\nip link set eth1 master br0\nip link set dev eth1 mtu 1400 address 02:00:00:00:00:01 down\nip link set eth1 nomaster')).toEqual([
      `ip -n ${P}-h1 link add br0 type bridge`,
      `ip -n ${P}-h1 link set dev eth1 master br0`,
      `ip -n ${P}-h1 link set dev eth1 mtu 1400 address 02:00:00:00:00:01 down`,
      `ip -n ${P}-h1 link set dev eth1 nomaster`,
    ]);
  });
});

describe('renderOps: iptables', () => {
  const x = `ip netns exec ${P}-h1 iptables`;
  it('re-spells each command from the parsed rule (iptables-save canonical text)', () => {
    expect(render('iptables -t nat -A POSTROUTING -s 172.31.0.3 -j  MASQUERADE')).toEqual([`${x} -t nat -A POSTROUTING -s 172.31.0.3/32 -j MASQUERADE`]);
    expect(render('iptables -I FORWARD 2 -p tcp --dport 80 -j DROP')).toEqual([`${x} -t filter -I FORWARD 2 -p tcp -m tcp --dport 80 -j DROP`]);
    expect(render('iptables -D FORWARD 1')).toEqual([`${x} -t filter -D FORWARD 1`]);
    expect(render('iptables -D FORWARD -p tcp --dport 80 -j DROP')).toEqual([`${x} -t filter -D FORWARD -p tcp -m tcp --dport 80 -j DROP`]);
    expect(render('iptables -N LOGDROP\niptables -F LOGDROP\niptables -X LOGDROP\niptables -t nat -F')).toEqual([
      `${x} -t filter -N LOGDROP`,
      `${x} -t filter -F LOGDROP`,
      `${x} -t filter -X LOGDROP`,
      `${x} -t nat -F`,
    ]);
    expect(render('iptables -L -n -v\niptables-save')).toEqual([]);
  });

  it('keeps a quoted comment as one argument', () => {
    const argv = renderOps(ops('iptables -A INPUT -m comment --comment "allow web" -j ACCEPT'), names)[0]!;
    expect(argv.slice(-5)).toEqual(['comment', '--comment', 'allow web', '-j', 'ACCEPT']);
  });

  it('feeds iptables-restore its tables on stdin', () => {
    const [c] = renderCommands(ops('iptables-restore --noflush < r.v4'), names);
    expect(c!.argv).toEqual(['ip', 'netns', 'exec', `${P}-h1`, 'iptables-restore', '--noflush']);
    expect(c!.stdin).toBe('*filter\n:INPUT DROP [0:0]\n:LOG_DROP - [0:0]\n-A INPUT -p tcp -m comment --comment "ssh in" -m tcp --dport 22 -j ACCEPT\nCOMMIT\n');
  });
});

describe('names and safety', () => {
  it('prefixes carry the pid, so --cleanup can tell live runs from leftovers', () => {
    const p = newPrefix(123456, () => 0.5);
    expect(p).toBe(`npr${(123456).toString(36)}_iiii`);
    expect(ownerOf(`${p}-web1`)).toEqual({ prefix: p, pid: 123456 });
    expect(ownerOf('npk-e-web1')).toBeUndefined();
    expect(ownerOf('myns')).toBeUndefined();
  });

  it('refuses commands that would run outside the run namespaces', () => {
    expect(() => assertConfined(['ip', 'route', 'add', 'default', 'via', '10.0.0.1'], P)).toThrow(/not confined/);
    expect(() => assertConfined(['ip', '-n', 'other', 'link'], P)).toThrow(/not confined/);
    expect(() => assertConfined(['iptables', '-F'], P)).toThrow(/not confined/);
    expect(() => assertConfined(['ip', 'netns', 'exec', `${P}-h1`, 'sysctl', '-w', 'kernel.panic=1'], P)).toThrow(/global sysctl/);
    expect(() => assertConfined(['ip', 'netns', 'exec', `${P}-h1`, 'sysctl', '-w', 'net.ipv4.ip_forward=1'], P)).not.toThrow();
  });

  it('every command for every model is confined, setup and LANs included', () => {
    const dir = 'models';
    for (const f of readdirSync(dir).filter((x) => x.endsWith('.yaml'))) {
      const built = buildWorld(loadModel(join(dir, f)));
      const all = [
        ...built.model.hosts.flatMap((h) => setupNetns(names.host(h.name))),
        ...renderLans(built, names),
        ...Object.values(built.ops).flatMap((o) => renderCommands(o, names, { setupNetns: (r) => setupNetns(r) })),
      ];
      for (const c of all) assertConfined(c.argv, P);
    }
  });
});

describe('round trip: rendered commands parse back to the same ops', () => {
  /** ops without origins, and with the spellings rendering normalises */
  const norm = (o: readonly Op[]): unknown[] =>
    o
      .filter((x) => !['noop', 'netns-bind', 'iptables-restore'].includes(x.op) && !(x.op === 'link-set' && x.dev === 'lo'))
      .map((x) => {
        const { origin: _o, ...rest } = x as Op & { syntax?: string; scope?: string; rule?: { origin?: unknown } };
        void _o;
        const r: Record<string, unknown> = { ...rest };
        delete r['ns'];
        // what dockerd does for a docker line replays as the plain commands it stands for
        delete r['byDocker'];
        if (r['op'] === 'docker-run') return { op: 'netns-add', host: x.host, name: (x as { name: string }).name };
        // `bridge link set dev X hairpin on` is replayed as its iproute2 twin `ip link set X type bridge_slave hairpin on`
        if (r['brportSyntax'] === 'bridge') r['brportSyntax'] = 'ip';
        if (x.op.startsWith('route-') && 'syntax' in x) {
          // what iproute2 fills in (and the ioctl of net-tools means): table, proto, scope
          const t = x.type;
          if (x.syntax === 'net-tools' && t === 'unreachable') {
            delete r['dev'];
            r['scope'] = 'host';
          }
          r['syntax'] = 'ip';
          r['table'] ??= t === 'local' || t === 'broadcast' ? 255 : 254;
          r['proto'] ??= 'boot';
          r['scope'] ??= t === 'local' ? 'host' : x.via !== undefined ? 'global' : ['unicast', 'broadcast'].includes(t) ? 'link' : 'global';
          if (x.op === 'route-del') delete r['scope'];
        }
        if (r['rule'] && typeof r['rule'] === 'object') {
          const { origin: _ro, ...rr } = r['rule'] as Record<string, unknown>;
          void _ro;
          r['rule'] = rr;
        }
        return r;
      });

  for (const f of readdirSync('models').filter((x) => x.endsWith('.yaml'))) {
    it(f, () => {
      const built = buildWorld(loadModel(join('models', f)));
      for (const [host, o] of Object.entries(built.ops)) {
        const text = renderCommands(o, IDENTITY_NAMES)
          .filter((c) => c.stdin === undefined)
          .map((c) => shellQuote(c.argv))
          .join('\n');
        const back = parseRunbook({ host, file: 'rendered', text, firstLine: 1, baseDir: 'models' }, io);
        // (ns is left out: an ln -s alias renders as the container's own name)
        expect(norm(back)).toEqual(norm(o));
      }
    });
  }
});
