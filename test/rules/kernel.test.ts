/**
 * `rules trace` against a real kernel: each fixture dump is loaded with iptables-restore into a
 * scratch host namespace (npx-<pid>-h) wired to a client and to container/pod namespaces; a
 * packet is sent from the client (or from the host itself) and the host's conntrack entry is
 * read: no entry = the packet was dropped before conntrack confirmed it; the reply tuple gives
 * the DNAT destination (reply source) and whether the source was NATed (reply destination).
 * The trace must predict exactly that (for -m statistic: the kernel's pick is one of the
 * outcomes).
 *
 * Needs root, Linux, iproute2, iptables, conntrack and python3; without them the tests skip with
 * a loud notice, unless NETPATH_REQUIRE_KERNEL=1, where that is a failure. Namespaces are deleted
 * afterwards, and the root namespace is never touched.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadDump } from '../../src/cli/rules.js';
import { kubeProxyDump } from '../../src/netfilter/kubegen.js';
import { traceRules, type RulesOutcome, type TraceProto } from '../../src/netfilter/trace.js';
import { formatIpv4, parseIpv4 } from '../../src/wire/ipv4.js';
import { scratchNetns } from '../netns.js';

const have = (cmd: string): boolean => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const missing = [
  ...(process.platform !== 'linux' ? ['not Linux'] : []),
  ...(process.getuid?.() !== 0 ? ['not root'] : []),
  ...['ip', 'iptables-restore', 'conntrack', 'python3'].filter((c) => !have(c)).map((c) => `no ${c}`),
];
const required = process.env['NETPATH_REQUIRE_KERNEL'] === '1';
if (missing.length > 0 && !required) {
  console.warn(`\n${'!'.repeat(78)}\n!! SKIPPED: rules trace vs real kernel (test/rules/kernel.test.ts): ${missing.join(', ')}\n!! run as root on Linux; CI sets NETPATH_REQUIRE_KERNEL=1\n${'!'.repeat(78)}\n`);
}
const run = missing.length === 0 || required;

const { sh, inNs, netns, veth, cleanup } = scratchNetns(`npx-${process.pid.toString(36)}`);

interface Observed {
  entry: boolean;
  dnat?: string;
  snatted: boolean;
}

/** sends the first packet of a connection from `ns` (src:sport → dst:dport) and reads the host's conntrack */
function send(ns: string, host: string, proto: TraceProto, src: string, sport: number, dst: string, dport: number): Observed {
  inNs(host, 'conntrack -F 2>/dev/null || true');
  const py =
    proto === 'tcp'
      ? `import socket;s=socket.socket();s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1);s.bind(('${src}',${sport}));s.settimeout(0.5)\ntry: s.connect(('${dst}',${dport}))\nexcept Exception as e: pass`
      : `import socket;s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM);s.bind(('${src}',${sport}));s.sendto(b'x',('${dst}',${dport}))`;
  inNs(ns, `python3 -c "${py.replace(/"/g, '\\"')}"`);
  const lines = inNs(host, `conntrack -L -p ${proto} 2>/dev/null || true`).split('\n');
  const line = lines.find((l) => l.includes(`src=${src} `) && l.includes(`sport=${sport} `) && l.includes(`dst=${dst} `));
  if (!line) return { entry: false, snatted: false };
  const srcs = [...line.matchAll(/src=(\S+)/g)].map((m) => m[1]!);
  const dsts = [...line.matchAll(/dst=(\S+)/g)].map((m) => m[1]!);
  const sports = [...line.matchAll(/sport=(\d+)/g)].map((m) => m[1]!);
  const replySrc = `${srcs[1]}:${sports[1]}`;
  return { entry: true, ...(replySrc !== `${dst}:${dport}` ? { dnat: replySrc } : {}), snatted: dsts[1] !== src };
}

/** the kernel's observation is one of the predicted outcomes */
function agrees(outcomes: readonly RulesOutcome[], o: Observed): void {
  const predicted = outcomes.map((x) => (x.verdict === 'ACCEPT' ? { entry: true, ...(x.dnat !== undefined ? { dnat: x.dnat } : {}), snatted: x.masquerade || x.snat !== undefined } : { entry: false, snatted: false }));
  expect(predicted).toContainEqual(o);
}

const fixture = (name: string): string => fileURLToPath(new URL(`../../fixtures/iptables/${name}`, import.meta.url));
const ip = (t: string): number => parseIpv4(t)!;

describe.runIf(run)('rules trace agrees with a real kernel (conntrack NAT tuples)', () => {
  afterAll(() => {
    cleanup();
  });

  describe('Docker dump', () => {
    let h = '';
    let c = '';
    const nf = loadDump(fixture('docker.save'));
    const local = [ip('10.0.0.1'), ip('172.17.0.1'), ip('172.18.0.1')];
    beforeAll(() => {
      h = netns('dh');
      c = netns('dc');
      const k1 = netns('dk1');
      const k2 = netns('dk2');
      veth(h, 'eth0', ['10.0.0.1/24'], c, 'eth0', ['10.0.0.2/24', '203.0.113.9/24']);
      veth(h, 'docker0', ['172.17.0.1/16'], k1, 'eth0', ['172.17.0.2/16', '172.17.0.3/16']);
      veth(h, 'br-5f2a9c1e7d3b', ['172.18.0.1/16'], k2, 'eth0', ['172.18.0.2/16']);
      inNs(h, 'ip route add 203.0.113.0/24 dev eth0');
      inNs(c, 'ip route add default via 10.0.0.1 dev eth0');
      inNs(k1, 'ip route add default via 172.17.0.1');
      inNs(k2, 'ip route add default via 172.18.0.1');
      // no answer from the containers: an RST would make conntrack drop the unassured entry
      for (const k of [k1, k2]) inNs(k, 'iptables -A INPUT -p tcp -j DROP');
      inNs(h, 'sysctl -qw net.ipv4.ip_forward=1');
      inNs(h, 'iptables-restore', readFileSync(fixture('docker.save'), 'utf8'));
    });
    const cases: [string, TraceProto, string, number, string, number, string?][] = [
      ['published tcp port', 'tcp', '10.0.0.2', 41001, '10.0.0.1', 8080, 'docker0'],
      ['published udp port', 'udp', '10.0.0.2', 41002, '10.0.0.1', 5353, 'docker0'],
      ["DOCKER-USER drop of the scanner net", 'tcp', '203.0.113.9', 41003, '10.0.0.1', 8080, 'docker0'],
      ['direct to the container address (raw DROP)', 'tcp', '10.0.0.2', 41004, '172.17.0.2', 80, 'docker0'],
      ['unpublished port on the second network (FORWARD policy DROP)', 'tcp', '10.0.0.2', 41005, '172.18.0.2', 80, 'br-5f2a9c1e7d3b'],
      ['published port of the second network, recent lists empty', 'tcp', '10.0.0.2', 41006, '172.18.0.2', 5432, 'br-5f2a9c1e7d3b'],
    ];
    for (const [name, proto, src, sport, dst, dport, oif] of cases) {
      it(name, () => {
        const predicted = traceRules(nf, { src: ip(src), sport, dst: ip(dst), dport, proto, iif: 'eth0', ...(oif ? { oif } : {}), local });
        agrees(predicted, send(c, h, proto, src, sport, dst, dport));
      });
    }
    it('from the host itself to its published port (nat OUTPUT)', () => {
      const predicted = traceRules(nf, { src: ip('10.0.0.1'), sport: 41007, dst: ip('10.0.0.1'), dport: 8080, proto: 'tcp', oif: 'docker0', local });
      agrees(predicted, send(h, h, 'tcp', '10.0.0.1', 41007, '10.0.0.1', 8080));
    });
  });

  describe('kube-proxy dump', () => {
    let h = '';
    let c = '';
    const nf = loadDump(fixture('kube-proxy.save'));
    const services = kubeProxyDump({ services: 30 }).services;
    const local = [ip('10.0.0.1'), ip('10.244.0.1')];
    beforeAll(() => {
      h = netns('kh');
      c = netns('kc');
      const pods = netns('kp');
      const podIps = [...new Set(services.flatMap((s) => s.endpoints.map((e) => `${formatIpv4(e.ip)}/16`)))];
      veth(h, 'eth0', ['10.0.0.1/24'], c, 'eth0', ['10.0.0.2/24']);
      veth(h, 'cni0', ['10.244.0.1/16'], pods, 'eth0', podIps);
      inNs(c, 'ip route add default via 10.0.0.1 dev eth0');
      inNs(h, 'ip route add default via 10.0.0.2 dev eth0');
      inNs(pods, 'ip route add default via 10.244.0.1');
      inNs(pods, 'iptables -A INPUT -p tcp -j DROP');
      inNs(h, 'sysctl -qw net.ipv4.ip_forward=1');
      inNs(h, 'iptables-restore', readFileSync(fixture('kube-proxy.save'), 'utf8'));
    });
    const clusterCases: [string, number, TraceProto][] = [
      ['cluster IP, one endpoint', 0, 'tcp'],
      ['cluster IP, two endpoints (statistic)', 1, 'tcp'],
      ['cluster IP, three endpoints (statistic)', 2, 'tcp'],
      ['udp cluster IP', 7, 'udp'],
      ['service without endpoints (REJECT)', 9, 'tcp'],
    ];
    let sport = 42000;
    for (const [name, k, proto] of clusterCases) {
      it(name, () => {
        const s = services[k]!;
        expect(s.proto).toBe(proto);
        // several sends: the kernel's random pick must always be one of the predicted outcomes
        for (let r = 0; r < 4; r++) {
          const sp = sport++;
          const predicted = traceRules(nf, { src: ip('10.0.0.2'), sport: sp, dst: s.clusterIp, dport: s.port, proto, iif: 'eth0', oif: 'cni0', local });
          agrees(predicted, send(c, h, proto, '10.0.0.2', sp, formatIpv4(s.clusterIp), s.port));
        }
      });
    }
    it('node port on the node address (KUBE-NODEPORTS, masquerade)', () => {
      const s = services[0]!;
      const predicted = traceRules(nf, { src: ip('10.0.0.2'), sport: 42100, dst: ip('10.0.0.1'), dport: s.nodePort!, proto: 'tcp', iif: 'eth0', oif: 'cni0', local });
      agrees(predicted, send(c, h, 'tcp', '10.0.0.2', 42100, '10.0.0.1', s.nodePort!));
    });
    it('from the node itself to a cluster IP (nat OUTPUT, masquerade)', () => {
      const s = services[1]!;
      const predicted = traceRules(nf, { src: ip('10.0.0.1'), sport: 42101, dst: s.clusterIp, dport: s.port, proto: 'tcp', oif: 'cni0', local });
      agrees(predicted, send(h, h, 'tcp', '10.0.0.1', 42101, formatIpv4(s.clusterIp), s.port));
    });
  });
});

// only registered when the kernel tests cannot run, so a CI log never shows a skip that did not happen
if (!run)
  describe('rules trace vs real kernel', () => {
    it.skip(`skipped: ${missing.join(', ')}`, () => undefined);
  });
