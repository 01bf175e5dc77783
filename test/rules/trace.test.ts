/**
 * `rules trace` on the fixture dumps: the outcomes a reader of the dumps expects (and that the
 * kernel tests in kernel.test.ts check against a real kernel), and the CLI's shapes.
 */
import { describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { loadDump } from '../../src/cli/rules.js';
import { main } from '../../src/cli/main.js';
import { kubeProxyDump } from '../../src/netfilter/kubegen.js';
import { traceRules, type RulesTraceInput } from '../../src/netfilter/trace.js';
import { formatIpv4, parseIpv4 } from '../../src/wire/ipv4.js';

const fixture = (name: string): string => fileURLToPath(new URL(`../../fixtures/iptables/${name}`, import.meta.url));
const ip = (t: string): number => parseIpv4(t)!;
const docker = loadDump(fixture('docker.save'));
const kube = loadDump(fixture('kube-proxy.save'));
const services = kubeProxyDump({ services: 30 }).services;
const DOCKER_LOCAL = [ip('10.0.0.1'), ip('172.17.0.1'), ip('172.18.0.1')];
const KUBE_LOCAL = [ip('10.0.0.1'), ip('10.244.0.1')];

const from = (src: string, dst: string, dport: number | undefined, more: Partial<RulesTraceInput> = {}): RulesTraceInput => ({
  src: ip(src),
  sport: 40000,
  dst: ip(dst),
  ...(dport !== undefined ? { dport } : {}),
  proto: 'tcp',
  iif: 'eth0',
  local: DOCKER_LOCAL,
  ...more,
});

describe('Docker dump', () => {
  it('a published port is DNATed to the container and forwarded, no masquerade', () => {
    const [o, ...rest] = traceRules(docker, from('10.0.0.2', '10.0.0.1', 8080, { oif: 'docker0' }));
    expect(rest).toEqual([]);
    expect(o).toMatchObject({ probability: 1, verdict: 'ACCEPT', delivery: 'forward', dnat: '172.17.0.2:80', masquerade: false });
    expect(o!.path.map((s) => `${s.table} ${s.chain} ${s.rule}`)).toEqual([
      'nat PREROUTING 1',
      'nat DOCKER 3',
      'filter FORWARD 1',
      'filter DOCKER-USER 4',
      'filter FORWARD 2',
      'filter DOCKER-ISOLATION-STAGE-1 3',
      'filter FORWARD 4',
      'filter DOCKER 1',
    ]);
  });
  it('udp published port', () => {
    expect(traceRules(docker, from('10.0.0.2', '10.0.0.1', 5353, { proto: 'udp', oif: 'docker0' }))[0]).toMatchObject({ verdict: 'ACCEPT', dnat: '172.17.0.3:53' });
  });
  it("the admin's DOCKER-USER rule drops the scanner net", () => {
    const [o] = traceRules(docker, from('203.0.113.9', '10.0.0.1', 8080, { oif: 'docker0' }));
    expect(o).toMatchObject({ verdict: 'DROP', dnat: '172.17.0.2:80' });
    expect(o!.path.at(-1)!.text).toBe('-A DOCKER-USER -s 203.0.113.0/24 -m comment --comment "block the scanner net" -j DROP');
  });
  it('the container address is not reachable directly from outside (raw PREROUTING)', () => {
    expect(traceRules(docker, from('10.0.0.2', '172.17.0.2', 80, { oif: 'docker0' }))[0]).toMatchObject({ verdict: 'DROP', delivery: 'dropped' });
  });
  it('from the host itself: nat OUTPUT DNATs to the container', () => {
    expect(traceRules(docker, from('10.0.0.1', '10.0.0.1', 8080, { oif: 'docker0' }))[0]).toMatchObject({ verdict: 'ACCEPT', delivery: 'output', dnat: '172.17.0.2:80', masquerade: false });
  });
  it('-m recent: evaluated against empty lists, and the outcome says so', () => {
    const [o] = traceRules(docker, from('10.0.0.2', '172.18.0.2', 5432, { oif: 'br-5f2a9c1e7d3b' }));
    expect(o).toMatchObject({ verdict: 'ACCEPT', delivery: 'forward' });
    expect(o!.notes.join('\n')).toContain('-m recent --name pg');
  });
  it('forwarded without a published port: FORWARD policy DROP', () => {
    expect(traceRules(docker, from('10.0.0.2', '172.18.0.2', 80, { oif: 'br-5f2a9c1e7d3b' }))[0]).toMatchObject({ verdict: 'DROP', policy: 'filter FORWARD' });
  });
});

describe('kube-proxy dump', () => {
  const svc = (k: number): (typeof services)[number] => services[k]!;
  const input = (dst: number, dport: number, proto: RulesTraceInput['proto'] = 'tcp', src = '10.0.0.2'): RulesTraceInput => ({
    src: ip(src),
    sport: 40000,
    dst,
    dport,
    proto,
    iif: 'eth0',
    oif: 'cni0',
    local: KUBE_LOCAL,
  });
  it('a cluster IP with two endpoints: two outcomes of 1/2, each DNATed, masqueraded (client outside the pod CIDR)', () => {
    const s = svc(1);
    const out = traceRules(kube, input(s.clusterIp, s.port));
    expect(out.map((o) => [o.probability, o.verdict, o.dnat, o.masquerade])).toEqual(
      s.endpoints.map((e) => [0.5, 'ACCEPT', `${formatIpv4(e.ip)}:${e.port}`, true]),
    );
    expect(out[0]!.path.map((p) => p.chain)).toContain('KUBE-MARK-MASQ');
  });
  it('a pod client is not masqueraded, except when it reaches itself (hairpin: KUBE-SEP -s POD -j KUBE-MARK-MASQ)', () => {
    const s = svc(1);
    const other = traceRules(kube, { ...input(s.clusterIp, s.port, 'tcp', '10.244.200.9'), iif: 'cni0' });
    expect(other.map((o) => o.masquerade)).toEqual([false, false]);
    const self = formatIpv4(s.endpoints[0]!.ip);
    const hairpin = traceRules(kube, { ...input(s.clusterIp, s.port, 'tcp', self), iif: 'cni0' });
    expect(hairpin.map((o) => [o.dnat?.split(':')[0] === self, o.masquerade])).toEqual([
      [true, true],
      [false, false],
    ]);
  });
  it('three endpoints over sctp: 1/3 each', () => {
    const s = svc(23);
    expect(s.proto).toBe('sctp');
    const out = traceRules(kube, input(s.clusterIp, s.port, 'sctp'));
    expect(out.map((o) => o.dnat)).toEqual(s.endpoints.map((e) => `${formatIpv4(e.ip)}:${e.port}`));
    for (const o of out) expect(o.probability).toBeCloseTo(1 / 3, 6);
  });
  it('a service without endpoints is rejected in filter', () => {
    const s = svc(9);
    expect(traceRules(kube, input(s.clusterIp, s.port))).toMatchObject([{ verdict: 'REJECT', rejectWith: 'icmp-port-unreachable', probability: 1 }]);
  });
  it('a node port on a local address goes through KUBE-NODEPORTS and KUBE-EXT', () => {
    const s = svc(0);
    const [o] = traceRules(kube, input(ip('10.0.0.1'), s.nodePort!));
    expect(o).toMatchObject({ verdict: 'ACCEPT', delivery: 'forward', dnat: `${formatIpv4(s.endpoints[0]!.ip)}:${s.endpoints[0]!.port}`, masquerade: true });
    expect(o!.path.map((p) => p.chain)).toEqual(expect.arrayContaining(['KUBE-NODEPORTS', `KUBE-EXT-${o!.path.find((p) => p.chain.startsWith('KUBE-EXT-'))!.chain.slice(9)}`]));
  });
  it('from the node itself (OUTPUT): DNAT and masquerade', () => {
    const s = svc(2);
    const out = traceRules(kube, { ...input(s.clusterIp, s.port, 'tcp', '10.0.0.1'), oif: 'cni0' });
    expect(out.length).toBe(s.endpoints.length);
    expect(out.every((o) => o.delivery === 'output' && o.masquerade && o.dnat !== undefined)).toBe(true);
  });
  it('indexed and linear evaluators give the same outcomes', () => {
    for (const k of [0, 1, 2, 7, 9, 23]) {
      const s = svc(k);
      const a = traceRules(kube, input(s.clusterIp, s.port, s.proto));
      const b = traceRules(kube, { ...input(s.clusterIp, s.port, s.proto), linear: true });
      expect(a).toEqual(b);
    }
  });
});

describe('netpath rules trace (CLI)', () => {
  const run = async (...argv: string[]): Promise<{ code: number; out: string; err: string }> => {
    let out = '';
    let err = '';
    const code = await main(argv, { out: (s) => (out += s), err: (s) => (err += s) });
    return { code, out, err };
  };
  it('--json prints {"outcomes": [...]} with the contract fields', async () => {
    const s = services[1]!;
    const r = await run('rules', 'trace', fixture('kube-proxy.save'), '--src', '10.0.0.2:40000', '--dst', `${formatIpv4(s.clusterIp)}:${s.port}`, '--iif', 'eth0', '--oif', 'cni0', '--local', '10.0.0.1,10.244.0.1', '--json');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out) as { outcomes: Record<string, unknown>[] };
    expect(j.outcomes).toHaveLength(2);
    for (const o of j.outcomes) {
      expect(Object.keys(o)).toEqual(expect.arrayContaining(['probability', 'verdict', 'dnat', 'masquerade', 'path']));
      expect(o['path']).toEqual(expect.arrayContaining([expect.objectContaining({ table: 'nat', chain: 'KUBE-SERVICES', rule: expect.any(Number), text: expect.stringMatching(/^-A KUBE-SERVICES /) })]));
    }
  });
  it('text output lists each outcome with its probability', async () => {
    const s = services[1]!;
    const r = await run('rules', 'trace', fixture('kube-proxy.save'), '--src', '10.0.0.2', '--dst', `${formatIpv4(s.clusterIp)}:${s.port}`, '--local', '10.0.0.1');
    expect(r.out).toMatch(/^outcome 1 of 2 \(50\.00%\): ACCEPT, forwarded/);
    expect(r.out).toContain('masquerade  yes');
  });
  it('bad input exits 2 with the option named', async () => {
    const r = await run('rules', 'trace', fixture('docker.save'), '--src', '10.0.0.2', '--dst', '10.0.0.1');
    expect(r.code).toBe(2);
    expect(r.err).toContain('--dst');
  });
  it('a dump using -m set without --ipset is refused, with the line', async () => {
    const { writeFileSync, mkdtempSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const dir = mkdtempSync(`${tmpdir()}/npx-set-`);
    writeFileSync(`${dir}/d.save`, '*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A INPUT -m set --match-set BAD src -j DROP\nCOMMIT\n');
    writeFileSync(`${dir}/sets`, 'create BAD hash:net family inet hashsize 1024 maxelem 65536\nadd BAD 198.51.100.0/24\n');
    const r = await run('rules', 'trace', `${dir}/d.save`, '--src', '198.51.100.7', '--dst', '10.0.0.1:22', '--local', '10.0.0.1');
    expect(r.code).toBe(2);
    expect(r.err).toContain('d.save:5');
    const ok = await run('rules', 'trace', `${dir}/d.save`, '--src', '198.51.100.7', '--dst', '10.0.0.1:22', '--local', '10.0.0.1', '--ipset', `${dir}/sets`, '--json');
    expect(JSON.parse(ok.out).outcomes[0]).toMatchObject({ verdict: 'DROP', delivery: 'dropped' });
  });
});
