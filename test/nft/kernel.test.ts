/**
 * nft against a real kernel, in scratch namespaces (npn-<pid>-*), never the root namespace:
 *
 * 1. every fixture under fixtures/nft loads with `nft -c -f` (a syntax netpath invented fails
 *    here), then with `nft -f`, and `nft list ruleset` prints exactly what netpath's printer
 *    prints for the same file; the printed ruleset parses back to the same listing;
 * 2. the kube-proxy nftables fixture replayed: a client sends the first packet of a connection,
 *    the host's conntrack entry is read (no entry = dropped or rejected; the reply tuple gives
 *    the DNAT destination and whether the source was NATed) and must be one of the outcomes
 *    `rules trace` predicts;
 * 3. the hook order the merged pipeline claims (docs/kernel-notes.md): at equal priority the
 *    chain registered last runs first (nft against nft, and nft against iptables-nft), and nat
 *    chains are called by the NAT core in priority order, the first binding winning.
 *
 * Needs root, Linux, iproute2, nft, iptables, conntrack and python3; without them the tests skip
 * with a loud notice, unless NETPATH_REQUIRE_KERNEL=1, where that is a failure.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseNftFile } from '../../src/nft/parse.js';
import { listRuleset } from '../../src/nft/print.js';
import { applyNft } from '../../src/nft/ruleset.js';
import { traceHost, type HostOutcome } from '../../src/nft/trace.js';
import { EMPTY_NFT, type NftState } from '../../src/nft/types.js';
import { loadDump } from '../../src/cli/rules.js';
import { parseIptablesRestore } from '../../src/netfilter/restore.js';
import { applyRestore, emptyNfState } from '../../src/netfilter/tables.js';
import { KERNEL } from '../../src/model/origin.js';
import type { TraceProto } from '../../src/netfilter/trace.js';
import { parseIpv4 } from '../../src/wire/ipv4.js';
import { NFT_KEYWORDS } from '../../src/nft/keywords.js';
import { VALIDATE_CASES } from './validate-cases.js';
import { SCENARIOS } from './fixture-scenarios.js';
import { kubeProxyNftDump } from '../../src/nft/kubegen.js';

const have = (cmd: string): boolean => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const missing = [
  ...(process.platform !== 'linux' ? ['not Linux'] : []),
  ...(process.getuid?.() !== 0 ? ['not root'] : []),
  ...['ip', 'nft', 'iptables', 'conntrack', 'python3'].filter((c) => !have(c)).map((c) => `no ${c}`),
];
const required = process.env['NETPATH_REQUIRE_KERNEL'] === '1';
if (missing.length > 0 && !required) {
  console.warn(`\n${'!'.repeat(78)}\n!! SKIPPED: nft vs real kernel (test/nft/kernel.test.ts): ${missing.join(', ')}\n!! run as root on Linux; CI sets NETPATH_REQUIRE_KERNEL=1\n${'!'.repeat(78)}\n`);
}
const run = missing.length === 0 || required;

const P = `npn-${process.pid.toString(36)}`;
const created: string[] = [];

function sh(cmd: string, input?: string): string {
  const r = spawnSync('sh', ['-c', cmd], { encoding: 'utf8', ...(input !== undefined ? { input } : {}) });
  if (r.status !== 0) throw new Error(`${cmd}: ${r.stderr}`);
  return r.stdout;
}
const inNs = (ns: string, cmd: string, input?: string): string => sh(`ip netns exec ${ns} ${cmd}`, input);
function netns(name: string): string {
  const n = `${P}-${name}`;
  sh(`ip netns add ${n}`);
  created.push(n);
  inNs(n, 'ip link set lo up');
  return n;
}
function veth(a: string, aIf: string, aAddrs: string[], b: string, bIf: string, bAddrs: string[]): void {
  const tmp = `v${Math.random().toString(36).slice(2, 9)}`;
  sh(`ip link add ${tmp}a type veth peer name ${tmp}b`);
  sh(`ip link set ${tmp}a netns ${a} && ip link set ${tmp}b netns ${b}`);
  inNs(a, `ip link set ${tmp}a name ${aIf}`);
  inNs(b, `ip link set ${tmp}b name ${bIf}`);
  for (const x of aAddrs) inNs(a, `ip addr add ${x} dev ${aIf}`);
  for (const x of bAddrs) inNs(b, `ip addr add ${x} dev ${bIf}`);
  inNs(a, `ip link set ${aIf} up`);
  inNs(b, `ip link set ${bIf} up`);
}

/** a TCP listener on `port` in namespace `ns`, up when this returns */
function listen(ns: string, port: number): ChildProcess {
  const child = spawn('ip', ['netns', 'exec', ns, 'python3', '-c', `import socket,time\ns=socket.socket()\ns.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)\ns.bind(('0.0.0.0',${port}))\ns.listen(16)\ntime.sleep(60)`], { stdio: 'ignore' });
  for (let k = 0; k < 100; k++) {
    if (spawnSync('ip', ['netns', 'exec', ns, 'ss', '-Hltn', `sport = :${port}`], { encoding: 'utf8' }).stdout.trim() !== '') return child;
    spawnSync('sleep', ['0.05']);
  }
  child.kill();
  throw new Error(`no listener on port ${port} in ${ns}`);
}

interface Observed {
  entry: boolean;
  dnat?: string;
  snatted: boolean;
}

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

function agrees(outcomes: readonly HostOutcome[], o: Observed): void {
  const predicted = outcomes.map((x) => (x.verdict === 'ACCEPT' ? { entry: true, ...(x.dnat !== undefined ? { dnat: x.dnat } : {}), snatted: x.masquerade || x.snat !== undefined } : { entry: false, snatted: false }));
  expect(predicted).toContainEqual(o);
}

const fixtureDir = fileURLToPath(new URL('../../fixtures/nft/', import.meta.url));
const fixtures = readdirSync(fixtureDir).filter((f) => f.endsWith('.nft'));
const load = (text: string, file: string, iptablesPresent: string[] = []): NftState => applyNft(EMPTY_NFT, parseNftFile(text, file), { iptablesPresent });
const ip = (t: string): number => parseIpv4(t)!;

describe.runIf(run)('nft agrees with a real kernel', () => {
  afterAll(() => {
    for (const n of created) spawnSync('ip', ['netns', 'del', n]);
  });

  describe('fixtures: nft -c -f, and nft list ruleset equals netpath\'s printer', () => {
    let ns = '';
    beforeAll(() => {
      ns = netns('fx');
    });
    for (const f of fixtures) {
      it(f, () => {
        const path = `${fixtureDir}${f}`;
        const text = readFileSync(path, 'utf8');
        inNs(ns, 'nft flush ruleset');
        // interfaces a ruleset names by index (`iif virbr0`) must exist when it loads
        const devices = `${fixtureDir}${f.replace(/\.nft$/, '.devices')}`;
        if (existsSync(devices)) {
          for (const line of readFileSync(devices, 'utf8').split('\n').filter((l) => l.trim() !== '')) {
            const [dev, kind] = line.trim().split(/\s+/);
            spawnSync('ip', ['netns', 'exec', ns, 'ip', 'link', 'add', dev!, 'type', kind!]);
          }
        }
        inNs(ns, `nft -c -f ${path}`);
        inNs(ns, `nft -f ${path}`);
        const kernel = inNs(ns, 'nft list ruleset');
        const mine = listRuleset(load(text, path));
        expect(mine).toBe(kernel);
        // a dump parses back to itself
        expect(listRuleset(load(kernel, `${f} (listed)`))).toBe(kernel);
      });
    }
  });

  it('the kube-proxy generator behind the bench writes a ruleset nft accepts (nft -c -f, 300 services)', () => {
    const ns = netns('kg');
    const r = spawnSync('ip', ['netns', 'exec', ns, 'nft', '-c', '-f', '-'], { input: kubeProxyNftDump({ services: 300 }).text, encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  describe('jump depth and names (test/nft/validate-cases.ts): nft -f loads or fails at the same line', () => {
    let ns = '';
    beforeAll(() => {
      ns = netns('vc');
    });
    for (const c of VALIDATE_CASES) {
      it(c.name, () => {
        inNs(ns, 'nft flush ruleset');
        const r = spawnSync('ip', ['netns', 'exec', ns, 'nft', '-f', '-'], { input: c.text, encoding: 'utf8' });
        const first = /^[^:\n]*:(\d+):\d+-\d+: Error: (.*)$/m.exec(r.stderr);
        if (c.line === undefined) {
          expect(r.stderr).toBe('');
          expect(r.status).toBe(0);
        } else {
          expect(r.status).not.toBe(0);
          expect(Number(first?.[1])).toBe(c.line);
          if (c.error !== undefined) expect(first?.[2]).toContain(c.error);
        }
      });
    }
    it('every word of src/nft/keywords.ts is refused as a table and a chain name; filter, nat, input are not', () => {
      // one word a line, five words a file: nft reports every line it cannot parse, up to 10 errors
      const words = [...NFT_KEYWORDS];
      const accepted: string[] = [];
      for (let at = 0; at < words.length; at += 5) {
        const chunk = words.slice(at, at + 5);
        const text = 'add table inet t\n' + chunk.map((w) => `add table ip ${w}\nadd chain inet t ${w}\n`).join('');
        const r = spawnSync('ip', ['netns', 'exec', ns, 'nft', '-c', '-f', '-'], { input: text, encoding: 'utf8' });
        const bad = new Set([...r.stderr.matchAll(/^[^:\n]*:(\d+):\d+-\d+: Error/gm)].map((m) => Number(m[1])));
        accepted.push(...chunk.filter((_, k) => !bad.has(2 + 2 * k) || !bad.has(3 + 2 * k)));
      }
      expect(accepted).toEqual([]);
      const ok = ['filter', 'nat', 'input', 'saddr', 'state', 'tunnel', 'kube-proxy'];
      const r2 = spawnSync('ip', ['netns', 'exec', ns, 'nft', '-c', '-f', '-'], { input: 'add table inet t\n' + ok.map((w) => `add table ip ${w}\nadd chain inet t ${w}\n`).join(''), encoding: 'utf8' });
      expect(r2.stderr).toBe('');
    });
  });

  describe('producers\' rulesets replayed (test/nft/fixture-scenarios.ts): conntrack agrees with rules trace', () => {
    for (const [name, sc] of Object.entries(SCENARIOS)) {
      describe(name, () => {
        let h = '';
        const peers = new Map<string, string>();
        const nftText = sc.nft !== undefined ? readFileSync(`${fixtureDir}${sc.nft}`, 'utf8') : '';
        const rules = sc.iptablesRules !== undefined ? { nf: loadDump(`${fixtureDir}${sc.iptablesRules.replace(/\.rules$/, '.save')}`) } : { nft: load(nftText, sc.nft!) };
        beforeAll(() => {
          h = netns(`r${Object.keys(SCENARIOS).indexOf(name)}`);
          for (const p of sc.peers) {
            const n = netns(`${p.ns}${Object.keys(SCENARIOS).indexOf(name)}`);
            peers.set(p.ns, n);
            veth(h, p.hostIf, [...p.hostAddrs], n, 'eth0', [...p.peerAddrs]);
            const gw = p.hostAddrs[0]!.split('/')[0]!;
            for (const r of p.routes) inNs(n, `ip route add ${r} via ${gw}`);
            // the peers never answer: an RST would end the unassured conntrack entry
            inNs(n, 'nft add table ip t');
            inNs(n, "nft 'add chain ip t in { type filter hook input priority 0; policy drop; }'");
          }
          inNs(h, 'sysctl -qw net.ipv4.ip_forward=1');
          if (sc.iptablesRules !== undefined) {
            // Docker's rules as dockerd gives them to iptables-nft; both listings must be the fixtures'
            inNs(h, 'iptables-restore', readFileSync(`${fixtureDir}${sc.iptablesRules}`, 'utf8'));
            const strip = (t: string): string => t.split('\n').filter((l) => !l.startsWith('#')).map((l) => l.replace(/ \[\d+:\d+\]$/, '')).join('\n');
            expect(strip(inNs(h, 'iptables-save'))).toBe(strip(readFileSync(`${fixtureDir}${sc.iptablesRules.replace(/\.rules$/, '.save')}`, 'utf8')));
            expect(inNs(h, 'nft list ruleset 2>/dev/null')).toBe(nftText);
          } else inNs(h, `nft -f ${fixtureDir}${sc.nft}`);
        });
        let sport = 45000;
        for (const c of sc.cases) {
          it(c.name, () => {
            const sp = sport++;
            const predicted = traceHost(rules, { src: ip(c.src), sport: sp, dst: ip(c.dst), dport: c.dport, proto: c.proto, iif: c.iif, ...(c.oif ? { oif: c.oif } : {}), local: sc.local.map(ip) });
            expect(predicted.length).toBeGreaterThan(0);
            // a SYN to a closed local port is answered with an RST, which deletes the unassured
            // entry: the host listens on the port for the case's duration
            const listener = c.oif === undefined && c.proto === 'tcp' ? listen(h, c.dport) : undefined;
            try {
              agrees(predicted, send(peers.get(c.from)!, h, c.proto, c.src, sp, c.dst, c.dport));
            } finally {
              listener?.kill();
            }
          });
        }
      });
    }
  });

  describe('kube-proxy nftables mode (fixtures/nft/kube-proxy.nft)', () => {
    let h = '';
    let c = '';
    const path = `${fixtureDir}kube-proxy.nft`;
    const nft = load(readFileSync(path, 'utf8'), path);
    const local = [ip('192.168.0.2'), ip('10.180.255.254')];
    beforeAll(() => {
      h = netns('kh');
      c = netns('kc');
      const pods = netns('kp');
      veth(h, 'eth0', ['192.168.0.2/24'], c, 'eth0', ['192.168.0.5/24', '203.0.113.2/32', '203.0.113.130/32']);
      veth(h, 'cni0', ['10.180.255.254/16'], pods, 'eth0', ['10.180.0.1/16', '10.180.0.2/16', '10.180.0.3/16', '10.180.0.4/16', '10.180.0.5/16']);
      for (const r of ['172.30.0.0/16', '1.2.3.4/32', '5.6.7.8/32', '192.168.99.0/24']) inNs(c, `ip route add ${r} via 192.168.0.2`);
      inNs(h, 'ip route add 203.0.113.0/24 via 192.168.0.5');
      inNs(pods, 'ip route add default via 10.180.255.254');
      // the pods never answer: an RST would end the unassured conntrack entry
      inNs(pods, 'nft add table ip t');
      inNs(pods, "nft 'add chain ip t in { type filter hook input priority 0; policy drop; }'");
      inNs(h, 'sysctl -qw net.ipv4.ip_forward=1');
      inNs(h, `nft -f ${path}`);
    });
    const cases: [string, string, string, number, number][] = [
      ['ClusterIP, one endpoint', '192.168.0.5', '172.30.0.41', 80, 1],
      ['ClusterIP, two endpoints (numgen)', '192.168.0.5', '172.30.0.44', 80, 3],
      ['ClusterIP without endpoints (reject-chain)', '192.168.0.5', '172.30.0.46', 80, 1],
      ['unallocated ClusterIP (drop)', '192.168.0.5', '172.30.0.50', 80, 1],
      ['NodePort, cluster policy (masquerade)', '192.168.0.5', '192.168.0.2', 3003, 1],
      ['NodePort, local policy without local endpoint (drop)', '192.168.0.5', '192.168.0.2', 3001, 1],
      ['ExternalIP', '192.168.0.5', '192.168.99.33', 80, 1],
      ['LoadBalancer IP from an allowed source range', '203.0.113.2', '5.6.7.8', 80, 1],
      ['LoadBalancer IP from outside the source ranges (firewall drop)', '203.0.113.130', '5.6.7.8', 80, 1],
    ];
    let sport = 43000;
    for (const [name, src, dst, dport, tries] of cases) {
      it(name, () => {
        for (let r = 0; r < tries; r++) {
          const sp = sport++;
          const predicted = traceHost({ nft }, { src: ip(src), sport: sp, dst: ip(dst), dport, proto: 'tcp', iif: 'eth0', oif: 'cni0', local });
          agrees(predicted, send(c, h, 'tcp', src, sp, dst, dport));
        }
      });
    }
  });

  describe('hook order (docs/kernel-notes.md)', () => {
    let h = '';
    let c = '';
    beforeAll(() => {
      h = netns('oh');
      c = netns('oc');
      const k = netns('ok');
      veth(h, 'eth0', ['10.77.0.1/24'], c, 'eth0', ['10.77.0.2/24']);
      veth(h, 'eth1', ['10.88.0.1/24'], k, 'eth0', ['10.88.0.2/24', '10.88.0.3/24', '10.88.0.4/24']);
      inNs(c, 'ip route add default via 10.77.0.1');
      inNs(k, 'ip route add default via 10.88.0.1');
      inNs(k, 'nft add table ip t');
      inNs(k, "nft 'add chain ip t in { type filter hook input priority 0; policy drop; }'");
      inNs(h, 'sysctl -qw net.ipv4.ip_forward=1');
    });
    const trace = (rules: Parameters<typeof traceHost>[0], sport: number): HostOutcome[] =>
      traceHost(rules, { src: ip('10.77.0.2'), sport, dst: ip('10.88.0.2'), dport: 80, proto: 'tcp', iif: 'eth0', oif: 'eth1', local: [ip('10.77.0.1'), ip('10.88.0.1')] });
    // a ct expression makes the namespace track connections (filter chains alone do not)
    const CT = 'table ip track {\n\tchain p {\n\t\ttype filter hook prerouting priority -300; policy accept;\n\t\tct state new counter\n\t}\n}\n';
    const reset = (): void => {
      inNs(h, 'nft flush ruleset');
    };

    it('two nft chains at one priority: the one created last runs first', () => {
      reset();
      const text = CT + 'table ip a {\n\tchain f {\n\t\ttype filter hook forward priority 0; policy accept;\n\t\tmeta mark set 1\n\t}\n}\ntable ip b {\n\tchain f {\n\t\ttype filter hook forward priority 0; policy accept;\n\t\tmeta mark 1 drop\n\t}\n}\n';
      inNs(h, 'nft -f -', text);
      const predicted = trace({ nft: load(text, 'order') }, 44001);
      expect(predicted.map((o) => o.verdict)).toEqual(['ACCEPT']);
      agrees(predicted, send(c, h, 'tcp', '10.77.0.2', 44001, '10.88.0.2', 80));
    });

    it('an nft chain created after an iptables table of the same priority runs before it', () => {
      reset();
      inNs(h, 'iptables -A FORWARD -m mark --mark 2 -j DROP');
      const text = CT + 'table ip c {\n\tchain f {\n\t\ttype filter hook forward priority 0; policy accept;\n\t\tmeta mark set 2\n\t}\n}\n';
      inNs(h, 'nft -f -', text);
      const ipt = '*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A FORWARD -m mark --mark 0x2 -j DROP\nCOMMIT\n';
      const nf = applyRestore(emptyNfState(), parseIptablesRestore(ipt, 'ipt'), false, KERNEL);
      const predicted = trace({ nf, nft: load(text, 'order', ['filter']) }, 44002);
      expect(predicted.map((o) => o.verdict)).toEqual(['DROP']);
      agrees(predicted, send(c, h, 'tcp', '10.77.0.2', 44002, '10.88.0.2', 80));
      // the same rules with the nft chain created first: iptables runs first, nothing dropped
      expect(trace({ nf, nft: load(text, 'order', []) }, 44003).map((o) => o.verdict)).toEqual(['ACCEPT']);
      inNs(h, 'iptables -F FORWARD');
    });

    it('nat chains: priority order inside the NAT core, the first binding wins', () => {
      reset();
      inNs(h, 'iptables -t nat -A PREROUTING -p tcp --dport 80 -j DNAT --to-destination 10.88.0.4');
      const text =
        'table ip late {\n\tchain pre {\n\t\ttype nat hook prerouting priority -50; policy accept;\n\t\ttcp dport 80 dnat to 10.88.0.3\n\t}\n}\n' +
        'table ip early {\n\tchain pre {\n\t\ttype nat hook prerouting priority -110; policy accept;\n\t\ttcp dport 80 dnat to 10.88.0.2:81\n\t}\n}\n';
      inNs(h, 'nft -f -', text);
      const nf = loadDump(fileURLToPath(new URL('../../fixtures/nft/README.md', import.meta.url)).replace('README.md', 'iptables-dnat.save'));
      const nft = load(text, 'nat', ['nat']);
      const predicted = trace({ nf, nft }, 44004);
      expect(predicted.map((o) => o.dnat)).toEqual(['10.88.0.2:81']);
      agrees(predicted, send(c, h, 'tcp', '10.77.0.2', 44004, '10.88.0.2', 80));
      // without the -110 chain, iptables' DNAT (-100) comes before the -50 chain
      inNs(h, 'nft delete table ip early');
      const nft2 = load(text.slice(0, text.indexOf('table ip early')), 'nat', ['nat']);
      const p2 = trace({ nf, nft: nft2 }, 44005);
      expect(p2.map((o) => o.dnat)).toEqual(['10.88.0.4:80']);
      agrees(p2, send(c, h, 'tcp', '10.77.0.2', 44005, '10.88.0.2', 80));
      inNs(h, 'iptables -t nat -F PREROUTING');
    });
  });
});

if (!run)
  describe('nft vs real kernel', () => {
    it.skip(`skipped: ${missing.join(', ')}`, () => undefined);
  });
