/**
 * kube-proxy nftables-mode rulesets for N services, for bench and scale tests: the shape of
 * fixtures/nft/kube-proxy.nft (kube-proxy's own TestOverallNFTablesRules): the base chains and
 * verdict maps, and per service port a `service-*` chain (masquerade mark for traffic from
 * outside the pod CIDR, then `numgen random mod N vmap` over its endpoints), one `endpoint-*`
 * chain per endpoint (hairpin mark, dnat), elements in @cluster-ips and @service-ips, a node
 * port in @service-nodeports for every fourth service, and `goto reject-chain` in
 * @no-endpoint-services for services without endpoints. The services are the iptables
 * generator's (src/netfilter/kubegen.ts), so both modes can be compared packet for packet.
 */
import { formatIpv4 } from '../wire/ipv4.js';
import { kubeProxyDump, type KubeGenOptions, type KubeService } from '../netfilter/kubegen.js';

const BASE = `add table ip kube-proxy { comment "rules for kube-proxy" ; }
add set ip kube-proxy cluster-ips { type ipv4_addr ; comment "Active ClusterIPs" ; }
add set ip kube-proxy nodeport-ips { type ipv4_addr ; comment "IPs that accept NodePort traffic" ; }
add map ip kube-proxy firewall-ips { type ipv4_addr . inet_proto . inet_service : verdict ; comment "destinations that are subject to LoadBalancerSourceRanges" ; }
add map ip kube-proxy no-endpoint-nodeports { type inet_proto . inet_service : verdict ; comment "vmap to drop or reject packets to service nodeports with no endpoints" ; }
add map ip kube-proxy no-endpoint-services { type ipv4_addr . inet_proto . inet_service : verdict ; comment "vmap to drop or reject packets to services with no endpoints" ; }
add map ip kube-proxy service-ips { type ipv4_addr . inet_proto . inet_service : verdict ; comment "ClusterIP, ExternalIP and LoadBalancer IP traffic" ; }
add map ip kube-proxy service-nodeports { type inet_proto . inet_service : verdict ; comment "NodePort traffic" ; }
add chain ip kube-proxy cluster-ips-check
add chain ip kube-proxy filter-prerouting-pre-dnat { type filter hook prerouting priority -110 ; }
add chain ip kube-proxy filter-output-pre-dnat { type filter hook output priority -110 ; }
add chain ip kube-proxy filter-forward { type filter hook forward priority 0 ; }
add chain ip kube-proxy filter-input { type filter hook input priority 0 ; }
add chain ip kube-proxy filter-output { type filter hook output priority 0 ; }
add chain ip kube-proxy firewall-check
add chain ip kube-proxy mark-for-masquerade
add chain ip kube-proxy masquerading
add chain ip kube-proxy nat-output { type nat hook output priority -100 ; }
add chain ip kube-proxy nat-postrouting { type nat hook postrouting priority 100 ; }
add chain ip kube-proxy nat-prerouting { type nat hook prerouting priority -100 ; }
add chain ip kube-proxy nodeport-endpoints-check
add chain ip kube-proxy reject-chain { comment "helper for @no-endpoint-services / @no-endpoint-nodeports" ; }
add chain ip kube-proxy services
add chain ip kube-proxy service-endpoints-check
add rule ip kube-proxy cluster-ips-check ip daddr @cluster-ips reject comment "Reject traffic to invalid ports of ClusterIPs"
add rule ip kube-proxy cluster-ips-check ip daddr { 10.96.0.0/12 } drop comment "Drop traffic to unallocated ClusterIPs"
add rule ip kube-proxy filter-prerouting-pre-dnat ct state new jump firewall-check
add rule ip kube-proxy filter-forward ct state new jump service-endpoints-check
add rule ip kube-proxy filter-forward ct state new jump cluster-ips-check
add rule ip kube-proxy filter-input ct state new jump nodeport-endpoints-check
add rule ip kube-proxy filter-input ct state new jump service-endpoints-check
add rule ip kube-proxy filter-output ct state new jump service-endpoints-check
add rule ip kube-proxy filter-output-pre-dnat ct state new jump firewall-check
add rule ip kube-proxy filter-output ct state new jump cluster-ips-check
add rule ip kube-proxy firewall-check ip daddr . meta l4proto . th dport vmap @firewall-ips
add rule ip kube-proxy mark-for-masquerade mark set mark or 0x4000
add rule ip kube-proxy masquerading mark and 0x4000 == 0 return
add rule ip kube-proxy masquerading mark set mark xor 0x4000
add rule ip kube-proxy masquerading masquerade fully-random
add rule ip kube-proxy nat-output jump services
add rule ip kube-proxy nat-postrouting jump masquerading
add rule ip kube-proxy nat-prerouting jump services
add rule ip kube-proxy nodeport-endpoints-check ip daddr @nodeport-ips meta l4proto . th dport vmap @no-endpoint-nodeports
add rule ip kube-proxy reject-chain reject
add rule ip kube-proxy services ip daddr . meta l4proto . th dport vmap @service-ips
add rule ip kube-proxy services ip daddr @nodeport-ips meta l4proto . th dport vmap @service-nodeports
add rule ip kube-proxy service-endpoints-check ip daddr . meta l4proto . th dport vmap @no-endpoint-services
add element ip kube-proxy nodeport-ips { 10.0.0.1 }
`;

export interface KubeNftDump {
  readonly text: string;
  readonly services: readonly KubeService[];
}

export function kubeProxyNftDump(opts: KubeGenOptions): KubeNftDump {
  const services = kubeProxyDump(opts).services;
  const cidr = opts.clusterCidr ?? '10.244.0.0/16';
  const out: string[] = [BASE];
  const T = 'ip kube-proxy';
  for (const s of services) {
    // kube-proxy's chain names: `service-<hash>-<namespace>/<name>/<protocol>/<port name>` (no `:`,
    // which nft does not read in a name)
    const [nsName, portName] = s.name.split(':') as [string, string | undefined];
    const id = `${nsName}/${s.proto}/${portName ?? `p${s.port}`}`;
    const svc = `service-${id}`;
    const cip = formatIpv4(s.clusterIp);
    out.push(`add element ${T} cluster-ips { ${cip} }`);
    if (s.endpoints.length === 0) {
      out.push(`add element ${T} no-endpoint-services { ${cip} . ${s.proto} . ${s.port} comment "${s.name}" : goto reject-chain }`);
      continue;
    }
    const eps = s.endpoints.map((e) => ({ e, chain: `endpoint-${id}__${formatIpv4(e.ip)}/${e.port}` }));
    out.push(`add chain ${T} ${svc}`);
    for (const { chain } of eps) out.push(`add chain ${T} ${chain}`);
    out.push(`add rule ${T} ${svc} ip daddr ${cip} ip saddr != ${cidr} jump mark-for-masquerade`);
    out.push(`add rule ${T} ${svc} numgen random mod ${eps.length} vmap { ${eps.map((x, k) => `${k} : goto ${x.chain}`).join(' , ')} }`);
    for (const { e, chain } of eps) {
      out.push(`add rule ${T} ${chain} ip saddr ${formatIpv4(e.ip)} jump mark-for-masquerade`);
      out.push(`add rule ${T} ${chain} meta l4proto ${s.proto} dnat to ${formatIpv4(e.ip)}:${e.port}`);
    }
    out.push(`add element ${T} service-ips { ${cip} . ${s.proto} . ${s.port} : goto ${svc} }`);
    if (s.nodePort !== undefined) out.push(`add element ${T} service-nodeports { ${s.proto} . ${s.nodePort} : goto ${svc} }`);
  }
  return { text: out.join('\n') + '\n', services };
}
