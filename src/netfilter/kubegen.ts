/**
 * kube-proxy-style (iptables mode, as kube-proxy 1.28+ writes it) rule dumps for N services, in
 * iptables-save order, for bench and scale tests. Deterministic: the same options give the same
 * text. Per service port: one KUBE-SERVICES rule, a KUBE-SVC-* chain (a masquerade rule for
 * traffic from outside the pod CIDR, then one rule per endpoint, `-m statistic --mode random`
 * on all but the last), one KUBE-SEP-* chain per endpoint (hairpin KUBE-MARK-MASQ, DNAT), and for
 * every fourth service a node port (KUBE-NODEPORTS → KUBE-EXT-*). Every tenth service has no
 * endpoints: a REJECT in filter KUBE-SERVICES. About 8 rules per service.
 *
 * Chain names are built as kube-proxy builds them: prefix + the first 16 characters of the
 * base32 of sha256(service port name + protocol [+ endpoint]).
 */
import { createHash } from 'node:crypto';
import { formatIpv4, type Ipv4 } from '../wire/ipv4.js';
import { formatProbability, saveString } from './format.js';

const comment = (text: string): string => `-m comment --comment ${saveString(text)}`;

export interface KubeService {
  readonly name: string;
  readonly clusterIp: Ipv4;
  readonly port: number;
  readonly proto: 'tcp' | 'udp' | 'sctp';
  readonly nodePort?: number;
  readonly endpoints: readonly { readonly ip: Ipv4; readonly port: number }[];
}

export interface KubeDump {
  readonly text: string;
  readonly services: readonly KubeService[];
  readonly rules: number;
}

export interface KubeGenOptions {
  readonly services: number;
  /** endpoints of service k: 1 + (k mod maxEndpoints), 0 for every tenth service (default 3) */
  readonly maxEndpoints?: number;
  /** pod CIDR (default 10.244.0.0/16) */
  readonly clusterCidr?: string;
}

const B32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
function base32(buf: Buffer): string {
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of buf) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += B32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  return out;
}
function chainName(prefix: string, ...parts: string[]): string {
  return prefix + base32(createHash('sha256').update(parts.join('')).digest()).slice(0, 16);
}

/** iptables' rule text for the probability kube-proxy writes (1/n as %0.10f, then u32-rounded) */
function probability(n: number): string {
  return formatProbability(Math.round(0x80000000 * Number((1 / n).toFixed(10))));
}

const BUILTINS: Readonly<Record<string, readonly string[]>> = {
  mangle: ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'],
  filter: ['INPUT', 'FORWARD', 'OUTPUT'],
  nat: ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'],
};

class Table {
  readonly chains = new Map<string, string[]>();
  constructor(readonly name: string) {
    for (const c of BUILTINS[name]!) this.chains.set(c, []);
  }
  chain(c: string): void {
    if (!this.chains.has(c)) this.chains.set(c, []);
  }
  add(c: string, rule: string): void {
    this.chain(c);
    this.chains.get(c)!.push(rule);
  }
  text(): string {
    const builtins = BUILTINS[this.name]!;
    const users = [...this.chains.keys()].filter((c) => !builtins.includes(c)).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const order = [...builtins, ...users];
    const lines = [`*${this.name}`];
    for (const c of order) lines.push(`:${c} ${builtins.includes(c) ? 'ACCEPT' : '-'} [0:0]`);
    for (const c of order) for (const r of this.chains.get(c)!) lines.push(`-A ${c} ${r}`);
    lines.push('COMMIT');
    return lines.join('\n');
  }
  get rules(): number {
    let n = 0;
    for (const r of this.chains.values()) n += r.length;
    return n;
  }
}

export function kubeProxyDump(opts: KubeGenOptions): KubeDump {
  const maxEp = opts.maxEndpoints ?? 3;
  const cidr = opts.clusterCidr ?? '10.244.0.0/16';
  const mangle = new Table('mangle');
  const filter = new Table('filter');
  const nat = new Table('nat');
  for (const c of ['KUBE-IPTABLES-HINT', 'KUBE-KUBELET-CANARY', 'KUBE-PROXY-CANARY']) mangle.chain(c);
  for (const c of ['KUBE-EXTERNAL-SERVICES', 'KUBE-FIREWALL', 'KUBE-FORWARD', 'KUBE-KUBELET-CANARY', 'KUBE-NODEPORTS', 'KUBE-PROXY-CANARY', 'KUBE-PROXY-FIREWALL', 'KUBE-SERVICES']) filter.chain(c);
  for (const c of ['KUBE-KUBELET-CANARY', 'KUBE-MARK-MASQ', 'KUBE-NODEPORTS', 'KUBE-POSTROUTING', 'KUBE-PROXY-CANARY', 'KUBE-SERVICES']) nat.chain(c);

  filter.add('INPUT', '-m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL');
  filter.add('INPUT', '-m comment --comment "kubernetes health check service ports" -j KUBE-NODEPORTS');
  filter.add('INPUT', '-m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES');
  filter.add('INPUT', '-j KUBE-FIREWALL');
  filter.add('FORWARD', '-m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL');
  filter.add('FORWARD', '-m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD');
  filter.add('FORWARD', '-m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES');
  filter.add('FORWARD', '-m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES');
  filter.add('OUTPUT', '-m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL');
  filter.add('OUTPUT', '-m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES');
  filter.add('OUTPUT', '-j KUBE-FIREWALL');
  filter.add('KUBE-FIREWALL', '! -s 127.0.0.0/8 -d 127.0.0.0/8 -m comment --comment "block incoming localnet connections" -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP');
  filter.add('KUBE-FORWARD', '-m conntrack --ctstate INVALID -j DROP');
  filter.add('KUBE-FORWARD', '-m comment --comment "kubernetes forwarding rules" -m mark --mark 0x4000/0x4000 -j ACCEPT');
  filter.add('KUBE-FORWARD', '-m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT');

  nat.add('PREROUTING', '-m comment --comment "kubernetes service portals" -j KUBE-SERVICES');
  nat.add('OUTPUT', '-m comment --comment "kubernetes service portals" -j KUBE-SERVICES');
  nat.add('POSTROUTING', '-m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING');
  nat.add('KUBE-MARK-MASQ', '-j MARK --set-xmark 0x4000/0x4000');
  nat.add('KUBE-POSTROUTING', '-m mark ! --mark 0x4000/0x4000 -j RETURN');
  nat.add('KUBE-POSTROUTING', '-j MARK --set-xmark 0x4000/0x0');
  nat.add('KUBE-POSTROUTING', '-m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully');

  const services: KubeService[] = [];
  const svcBase = 0x0a600000 + 10; // 10.96.0.10
  const podBase = 0x0af40000 + 2; // 10.244.0.2
  let pod = 0;
  for (let k = 0; k < opts.services; k++) {
    const ns = `ns${Math.floor(k / 100)}`;
    const spn = `${ns}/svc${k}:p${k % 3}`;
    const proto = k % 50 === 7 ? 'udp' : k % 50 === 23 ? 'sctp' : 'tcp';
    const port = [80, 443, 8080, 53, 9090][k % 5]!;
    const clusterIp = (svcBase + k) >>> 0;
    const nEp = k % 10 === 9 ? 0 : 1 + (k % maxEp);
    const endpoints = Array.from({ length: nEp }, () => ({ ip: (podBase + pod++) >>> 0, port: 8000 + (k % 1000) }));
    // node ports 30000-32767, one per fourth service while they last
    const nodePort = k % 4 === 0 && nEp > 0 && k / 4 < 2768 ? 30000 + k / 4 : undefined;
    services.push({ name: spn, clusterIp, port, proto, ...(nodePort !== undefined ? { nodePort } : {}), endpoints });
  }
  for (const svc of services) {
    const ip = formatIpv4(svc.clusterIp);
    const { proto, port } = svc;
    if (svc.endpoints.length === 0) {
      filter.add('KUBE-SERVICES', `-d ${ip}/32 -p ${proto} ${comment(`${svc.name} has no endpoints`)} -m ${proto} --dport ${port} -j REJECT --reject-with icmp-port-unreachable`);
      continue;
    }
    const svcChain = chainName('KUBE-SVC-', svc.name, proto);
    nat.add('KUBE-SERVICES', `-d ${ip}/32 -p ${proto} ${comment(`${svc.name} cluster IP`)} -m ${proto} --dport ${port} -j ${svcChain}`);
    nat.add(svcChain, `! -s ${cidr} -d ${ip}/32 -p ${proto} ${comment(`${svc.name} cluster IP`)} -m ${proto} --dport ${port} -j KUBE-MARK-MASQ`);
    svc.endpoints.forEach((ep, i) => {
      const epText = `${formatIpv4(ep.ip)}:${ep.port}`;
      const sep = chainName('KUBE-SEP-', svc.name, proto, epText);
      const left = svc.endpoints.length - i;
      const stat = left > 1 ? ` -m statistic --mode random --probability ${probability(left)}` : '';
      nat.add(svcChain, `${comment(`${svc.name} -> ${epText}`)}${stat} -j ${sep}`);
      nat.add(sep, `-s ${formatIpv4(ep.ip)}/32 ${comment(svc.name)} -j KUBE-MARK-MASQ`);
      nat.add(sep, `-p ${proto} ${comment(svc.name)} -m ${proto} -j DNAT --to-destination ${epText}`);
    });
    if (svc.nodePort !== undefined) {
      const ext = chainName('KUBE-EXT-', svc.name, proto);
      nat.add('KUBE-NODEPORTS', `-p ${proto} ${comment(svc.name)} -m ${proto} --dport ${svc.nodePort} -j ${ext}`);
      nat.add(ext, `${comment(`masquerade traffic for ${svc.name} external destinations`)} -j KUBE-MARK-MASQ`);
      nat.add(ext, `-j ${svcChain}`);
    }
  }
  nat.add('KUBE-SERVICES', '-m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS');
  const text = [mangle.text(), filter.text(), nat.text()].join('\n') + '\n';
  return { text, services, rules: mangle.rules + filter.rules + nat.rules };
}
