/**
 * The walk against the kernel's behaviour recorded in docs/kernel-notes.md (KN), on the seed
 * topology with one change each. The comment on each case names the section with the evidence.
 */
import { describe, expect, it } from 'vitest';
import { inline, one } from '../helpers.js';

/** The seed (MASQUERADE) with extra lines for web1, web2 and ngx1 (run in ngx1 via ip netns exec). */
function seed(extra: { web1?: string[]; web2?: string[]; ngx1?: string[]; web2Pre?: string[] } = {}): ReturnType<typeof inline> {
  const web2 = [
    'ip netns add ngx1',
    ...(extra.web2Pre ?? []),
    'ip link add veth1 type veth peer name veth1-p',
    'ip link set veth1 netns ngx1',
    'ip netns exec ngx1 ip link set name eth0 dev veth1',
    'ip netns exec ngx1 ip addr add 192.168.2.10/24 dev eth0',
    'ip netns exec ngx1 ip link set dev eth0 up',
    'ip addr add 192.168.2.20/24 dev veth1-p',
    'ip link set dev veth1-p up',
    'echo 1 > /proc/sys/net/ipv4/ip_forward',
    ...(extra.web2 ?? []),
    ...(extra.ngx1 ?? []).map((c) => `ip netns exec ngx1 ${c}`),
  ];
  const web1 = ['ip route add default via 172.31.0.1 dev eth0', ...(extra.web1 ?? ['route add -host 192.168.2.10 gw 172.31.0.2 dev eth0'])];
  const block = (l: string[]): string => l.map((c) => `      ${c}`).join('\n');
  return inline(
    `hosts:\n  web1:\n    run: |\n${block(web1)}\n  web2:\n    run: |\n${block(web2)}\nlans:\n  lan0:\n    web1/eth0: 172.31.0.3/24\n    web2/eth0: 172.31.0.2/24\nservices:\n  - at: ngx1\n    listen: tcp/80\n  - at: ngx1\n    listen: udp/7\n`,
  );
}
const MASQ = 'iptables -t nat -A POSTROUTING -s 172.31.0.3 -j MASQUERADE';

describe('REJECT in web2 FORWARD (KN f.2): what connect() sees', () => {
  const cases: [string, string, string][] = [
    ['', 'refused', 'ECONNREFUSED'],
    ['--reject-with tcp-reset', 'refused', 'ECONNREFUSED'],
    ['--reject-with icmp-net-unreachable', 'no-route', 'ENETUNREACH'],
    ['--reject-with icmp-net-prohibited', 'no-route', 'ENETUNREACH'],
    ['--reject-with icmp-host-unreachable', 'no-route', 'EHOSTUNREACH'],
    ['--reject-with icmp-host-prohibited', 'no-route', 'EHOSTUNREACH'],
    ['--reject-with icmp-admin-prohibited', 'no-route', 'EHOSTUNREACH'],
    ['--reject-with icmp-proto-unreachable', 'no-route', 'ENOPROTOOPT'],
  ];
  for (const [how, result, errno] of cases) {
    it(`REJECT ${how || '(default)'} -> ${errno}`, () => {
      // tcp-reset needs -p tcp (the kernel refuses it otherwise: TCP_RESET invalid for non-tcp)
      const tr = one(seed({ web2: [MASQ, `iptables -A FORWARD -p tcp -j REJECT ${how}`.trim()] }), 'web1', '192.168.2.10:80');
      expect(tr.result).toBe(result);
      expect(tr.errno).toBe(errno);
    });
  }
  it('REJECT in ngx1 INPUT comes back through web2 NAT to the client (KN f.3)', () => {
    const tr = one(seed({ web2: [MASQ], ngx1: ['iptables -A INPUT -p tcp --dport 80 -j REJECT --reject-with icmp-host-prohibited'] }), 'web1', '192.168.2.10:80');
    expect(tr.errno).toBe('EHOSTUNREACH');
    // the error left ngx1 to 192.168.2.20 and was de-NATed on web2 to web1's address
    const icmpOnEth0 = tr.captures.find((c) => c.ns === 'web2' && c.dev === 'eth0' && c.dir === 'out' && c.frame.payload.kind === 'ip' && c.frame.payload.ip.l4.kind === 'icmp');
    expect(icmpOnEth0).toBeDefined();
  });
});

describe('routing failures', () => {
  it('no route at the client: ENETUNREACH at once (KN g)', () => {
    const b = inline('hosts:\n  a:\nlans:\n  l:\n    a/eth0: 10.0.0.1/24\n');
    const tr = one(b, 'a', '192.0.2.1:80');
    expect(tr.errno).toBe('ENETUNREACH');
    expect(tr.drops[0]?.stage).toBe('connect');
    expect(tr.steps.some((s) => s.kind === 'xmit')).toBe(false);
  });
  it('a gateway that never answers ARP: EHOSTUNREACH after 3 requests, 1 s apart (KN g)', () => {
    const tr = one(seed({ web1: [] }), 'web1', '192.168.2.10:80');
    expect(tr.result).toBe('no-route');
    expect(tr.errno).toBe('EHOSTUNREACH');
    const arps = tr.captures.filter((c) => c.ns === 'web1' && c.dir === 'out' && c.frame.payload.kind === 'arp');
    expect(arps).toHaveLength(3);
    expect(arps.map((a) => a.t)).toEqual([0, 1_000_000, 2_000_000]);
    expect(tr.why?.code).toBe('neigh-failed');
  });
  it('forwarding host without a route answers net unreachable: ENETUNREACH (KN e.2)', () => {
    const tr = one(seed({ web1: ['ip route add 10.99.0.0/24 via 172.31.0.2'] }), 'web1', '10.99.0.5:80');
    expect(tr.errno).toBe('ENETUNREACH');
  });
  it('unreachable and prohibit routes on the forwarding host: EHOSTUNREACH; blackhole: timeout (KN e.3)', () => {
    const w1 = ['ip route add 10.99.0.0/24 via 172.31.0.2'];
    expect(one(seed({ web1: w1, web2: ['ip route add unreachable 10.99.0.0/24'] }), 'web1', '10.99.0.5:80').errno).toBe('EHOSTUNREACH');
    expect(one(seed({ web1: w1, web2: ['ip route add prohibit 10.99.0.0/24'] }), 'web1', '10.99.0.5:80').errno).toBe('EHOSTUNREACH');
    expect(one(seed({ web1: w1, web2: ['ip route add blackhole 10.99.0.0/24'] }), 'web1', '10.99.0.5:80').result).toBe('timeout');
  });
  it('a routing loop ends in ICMP time exceeded: EHOSTUNREACH (KN h)', () => {
    const b = inline(
      'hosts:\n  a:\n    run: |\n      ip route add 10.99.0.0/24 via 10.0.0.2\n  b:\n    run: |\n      sysctl -w net.ipv4.ip_forward=1\n      ip route add 10.99.0.0/24 via 10.0.0.3\n  c:\n    run: |\n      sysctl -w net.ipv4.ip_forward=1\n      ip route add 10.99.0.0/24 via 10.0.0.2\nlans:\n  l:\n    a/eth0: 10.0.0.1/24\n    b/eth0: 10.0.0.2/24\n    c/eth0: 10.0.0.3/24\n',
    );
    const tr = one(b, 'a', '10.99.0.1:80');
    expect(tr.errno).toBe('EHOSTUNREACH');
    expect(tr.drops.some((d) => d.code === 'ttl-expired')).toBe(true);
  });
});

describe('UDP and ICMP clients (KN g)', () => {
  it('udp to a closed port: refused; to the echo service: reachable', () => {
    const b = seed({ web2: [MASQ] });
    expect(one(b, 'web1', '192.168.2.10:9', 'udp').result).toBe('refused');
    expect(one(b, 'web1', '192.168.2.10:7', 'udp').result).toBe('reachable');
  });
  it('udp: a net unreachable is a soft error, not reported: timeout', () => {
    const tr = one(seed({ web1: ['ip route add 10.99.0.0/24 via 172.31.0.2'] }), 'web1', '10.99.0.5:7', 'udp');
    expect(tr.result).toBe('timeout');
  });
  it('ping through the seed, and a ping that gets net unreachable', () => {
    expect(one(seed({ web2: [MASQ] }), 'web1', '192.168.2.10', 'icmp').result).toBe('reachable');
    expect(one(seed({ web1: ['ip route add 10.99.0.0/24 via 172.31.0.2'] }), 'web1', '10.99.0.5', 'icmp').result).toBe('no-route');
  });
});

describe('DNAT port forwarding on web2 (KN k)', () => {
  const DNAT = 'iptables -t nat -A PREROUTING -d 172.31.0.2 -p tcp --dport 8080 -j DNAT --to-destination 192.168.2.10:80';
  it('without a way back: timeout (ngx1 cannot answer 172.31.0.3)', () => {
    const tr = one(seed({ web2: [DNAT] }), 'web1', '172.31.0.2:8080');
    expect(tr.result).toBe('timeout');
    expect(tr.why?.ns).toBe('web2/ngx1');
  });
  it('with a default route in ngx1: reachable, the reply de-DNATed to 172.31.0.2:8080', () => {
    const tr = one(seed({ web2: [DNAT], ngx1: ['ip route add default via 192.168.2.20'] }), 'web1', '172.31.0.2:8080');
    expect(tr.result).toBe('reachable');
  });
  it('with MASQUERADE: reachable', () => {
    expect(one(seed({ web2: [DNAT, 'iptables -t nat -A POSTROUTING -o veth1-p -j MASQUERADE'] }), 'web1', '172.31.0.2:8080').result).toBe('reachable');
  });
  it('from web2 itself: local traffic skips PREROUTING, nothing listens: refused', () => {
    expect(one(seed({ web2: [DNAT] }), 'web2', '172.31.0.2:8080').result).toBe('refused');
  });
});

describe('rp_filter and the weak host model (KN j)', () => {
  it("web2's 192.168.2.20 answers on eth0 even with forwarding off", () => {
    const tr = one(seed({ web1: ['ip route add 192.168.2.0/24 via 172.31.0.2'], web2: ['echo 0 > /proc/sys/net/ipv4/ip_forward'] }), 'web1', '192.168.2.20', 'icmp');
    expect(tr.result).toBe('reachable');
  });
});

describe('a bridge with two containers (KN l, fixtures/kernel/seed/bridge2)', () => {
  const bridge = (extra: string[] = []): ReturnType<typeof inline> => {
    const web2 = [
      'ip netns add c1',
      'ip netns add c2',
      'ip link add br0 type bridge',
      'ip addr add 192.168.2.1/24 dev br0',
      'ip link set br0 up',
      ...[1, 2].flatMap((i) => [
        `ip link add veth${i} type veth peer name veth${i}-p`,
        `ip link set veth${i} netns c${i}`,
        `ip link set veth${i}-p master br0`,
        `ip link set veth${i}-p up`,
        `ip netns exec c${i} ip link set name eth0 dev veth${i}`,
        `ip netns exec c${i} ip addr add 192.168.2.1${i}/24 dev eth0`,
        `ip netns exec c${i} ip link set dev eth0 up`,
        `ip netns exec c${i} ip route add default via 192.168.2.1`,
      ]),
      'echo 1 > /proc/sys/net/ipv4/ip_forward',
      ...extra,
    ];
    return inline(
      `hosts:\n  web1:\n    run: |\n      route add -net 192.168.2.0 netmask 255.255.255.0 gw 172.31.0.2 dev eth0\n  web2:\n    run: |\n${web2.map((c) => `      ${c}`).join('\n')}\nlans:\n  lan0:\n    web1/eth0: 172.31.0.3/24\n    web2/eth0: 172.31.0.2/24\nservices:\n  - at: c2\n    listen: tcp/80\n  - at: web1\n    listen: tcp/80\n`,
    );
  };
  it('c1 reaches c2 across the bridge, and web1 through web2', () => {
    expect(one(bridge(), 'c1', '192.168.2.12:80').result).toBe('reachable');
    expect(one(bridge(), 'c1', '172.31.0.3:80').result).toBe('reachable');
    expect(one(bridge(), 'web1', '192.168.2.12:80').result).toBe('reachable');
  });
  it('bridged traffic passes FORWARD as -i br0 -o br0: policy DROP stops c1 -> c2', () => {
    const tr = one(bridge(['iptables -P FORWARD DROP']), 'c1', '192.168.2.12:80');
    expect(tr.result).toBe('timeout');
    expect(tr.why?.code).toBe('nf-drop');
  });
  it('-m physdev lets it through again; bridge-nf-call-iptables=0 bypasses iptables', () => {
    const physdev = ['iptables -P FORWARD DROP', 'iptables -A FORWARD -m physdev --physdev-in veth1-p --physdev-out veth2-p -j ACCEPT', 'iptables -A FORWARD -m physdev --physdev-in veth2-p --physdev-out veth1-p -j ACCEPT'];
    expect(one(bridge(physdev), 'c1', '192.168.2.12:80').result).toBe('reachable');
    expect(one(bridge(['iptables -P FORWARD DROP', 'sysctl -w net.bridge.bridge-nf-call-iptables=0']), 'c1', '192.168.2.12:80').result).toBe('reachable');
    expect(one(bridge(['iptables -P FORWARD DROP', 'iptables -A FORWARD -i br0 -o br0 -j ACCEPT']), 'c1', '192.168.2.12:80').result).toBe('reachable');
  });
});

describe('a client bound to a source address (Flow.src)', () => {
  it('policy routing by source: from 10.0.0.9 uses table 100', async () => {
    const { traceFlow } = await import('../../src/trace/run.js');
    const b = inline(
      'hosts:\n  a:\n    run: |\n      ip addr add 10.0.0.9/24 dev eth0\n      ip rule add from 10.0.0.9 lookup 100\n      ip route add blackhole 10.99.0.0/24 table 100\n      ip route add 10.99.0.0/24 via 10.0.0.2\n  b:\n    run: |\n      sysctl -w net.ipv4.ip_forward=1\nlans:\n  l:\n    a/eth0: 10.0.0.1/24\n    b/eth0: 10.0.0.2/24\n',
    );
    const bound = traceFlow(b.world, { from: 'a', to: 0x0a630001, port: 80, proto: 'tcp', src: 0x0a000009 });
    expect(bound[0]!.errno).toBe('EINVAL'); // the blackhole in table 100
    const free = traceFlow(b.world, { from: 'a', to: 0x0a630001, port: 80, proto: 'tcp' });
    expect(free[0]!.errno).toBe('ENETUNREACH'); // b forwards, has no route: net unreachable
    const foreign = traceFlow(b.world, { from: 'a', to: 0x0a630001, port: 80, proto: 'tcp', src: 0x0a000063 });
    expect(foreign[0]!.errno).toBe('EADDRNOTAVAIL');
  });
});

describe('crafted TCP segments (Flow.tcpFlags, Flow.state)', () => {
  // FORWARD policy DROP on web2, replies accepted by state, new connections to port 80 only.
  // A plain ACK without a conntrack entry is picked up as NEW (nf_conntrack_tcp_loose=1, the
  // default: docs/kernel-notes.md b; tcp_new() in net/netfilter/nf_conntrack_proto_tcp.c), so
  // `--ctstate NEW` without `--syn` lets a lone ACK through; with `--syn` it does not.
  // Observed with raw sockets: fixtures/kernel/crafted-segments.sh (results in its header).
  const fw = (syn: boolean): ReturnType<typeof inline> =>
    seed({
      web2: [
        MASQ,
        'iptables -P FORWARD DROP',
        'iptables -A FORWARD -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT',
        `iptables -A FORWARD -p tcp --dport 80${syn ? ' --syn' : ''} -m conntrack --ctstate NEW -j ACCEPT`,
      ],
    });
  const go = async (b: ReturnType<typeof inline>, port: number, extra: object) => {
    const { traceFlow } = await import('../../src/trace/run.js');
    return traceFlow(b.world, { from: 'web1', to: 0xc0a8020a, port, proto: 'tcp', ...extra })[0]!;
  };
  it('a lone ACK to port 80 passes --ctstate NEW (loose pickup), to port 81 it does not', async () => {
    expect((await go(fw(false), 80, { tcpFlags: { ack: true } })).result).toBe('reachable');
    expect((await go(fw(false), 81, { tcpFlags: { ack: true } })).result).toBe('timeout');
  });
  it('with --syn the lone ACK is dropped, a SYN passes', async () => {
    expect((await go(fw(true), 80, { tcpFlags: { ack: true } })).result).toBe('timeout');
    expect((await go(fw(true), 80, { tcpFlags: { syn: true } })).result).toBe('reachable');
  });
  it('a FIN or RST without an entry is INVALID: dropped', async () => {
    expect((await go(fw(false), 80, { tcpFlags: { fin: true, ack: true } })).result).toBe('timeout');
    expect((await go(fw(false), 80, { tcpFlags: { rst: true } })).result).toBe('timeout');
  });
  it('on an established connection a data segment passes as ESTABLISHED', async () => {
    const tr = await go(fw(true), 80, { state: 'established', tcpFlags: { ack: true, psh: true } });
    expect(tr.result).toBe('reachable');
    expect(tr.steps.some((s) => s.kind === 'conntrack' && s.ns === 'web2' && s.state === 'ESTABLISHED')).toBe(true);
  });
});
