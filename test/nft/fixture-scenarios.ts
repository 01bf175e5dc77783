/**
 * Packets through the nft fixtures from real producers (fixtures/nft/README.md), and the
 * namespaces that replay them on a kernel. fixtures.test.ts traces them with `netpath rules
 * trace` (outcomes pinned there); kernel.test.ts loads each ruleset in a scratch namespace,
 * sends the first packet of each case and compares the conntrack entry with the trace.
 */
import type { TraceProto } from '../../src/netfilter/trace.js';

export interface Peer {
  readonly ns: string;
  readonly hostIf: string;
  readonly hostAddrs: readonly string[];
  readonly peerAddrs: readonly string[];
  /** routes in the peer namespace, via the host's first address on the link */
  readonly routes: readonly string[];
}

export interface FixtureCase {
  readonly name: string;
  /** the peer namespace the packet is sent from */
  readonly from: string;
  readonly src: string;
  readonly dst: string;
  readonly dport: number;
  readonly proto: TraceProto;
  readonly iif: string;
  readonly oif?: string;
}

export interface FixtureScenario {
  /** fixture file(s) under fixtures/nft: an nft ruleset, or an iptables-save dump (`iptables`) */
  readonly nft?: string;
  readonly iptables?: string;
  /** loaded in the host namespace with iptables-restore instead of nft -f */
  readonly iptablesRules?: string;
  readonly local: readonly string[];
  readonly peers: readonly Peer[];
  readonly cases: readonly FixtureCase[];
}

export const SCENARIOS: Readonly<Record<string, FixtureScenario>> = {
  netavark: {
    nft: 'netavark.nft',
    local: ['192.168.188.25', '10.88.0.1'],
    peers: [
      { ns: 'cl', hostIf: 'eth0', hostAddrs: ['192.168.188.25/24'], peerAddrs: ['192.168.188.5/24'], routes: ['10.88.0.0/16'] },
      { ns: 'ct', hostIf: 'podman0', hostAddrs: ['10.88.0.1/16'], peerAddrs: ['10.88.0.14/16'], routes: ['default'] },
    ],
    cases: [
      { name: 'published tcp port 8080 (DNAT to the container)', from: 'cl', src: '192.168.188.5', dst: '192.168.188.25', dport: 8080, proto: 'tcp', iif: 'eth0', oif: 'podman0' },
      { name: 'published udp port 8080', from: 'cl', src: '192.168.188.5', dst: '192.168.188.25', dport: 8080, proto: 'udp', iif: 'eth0', oif: 'podman0' },
      { name: 'a port not published: the host itself', from: 'cl', src: '192.168.188.5', dst: '192.168.188.25', dport: 8081, proto: 'tcp', iif: 'eth0' },
      { name: 'routed straight to the container address', from: 'cl', src: '192.168.188.5', dst: '10.88.0.14', dport: 80, proto: 'tcp', iif: 'eth0', oif: 'podman0' },
      { name: 'the container connects out (masquerade)', from: 'ct', src: '10.88.0.14', dst: '192.168.188.5', dport: 80, proto: 'tcp', iif: 'podman0', oif: 'eth0' },
    ],
  },
  libvirt: {
    nft: 'libvirt-nat-default.nft',
    local: ['192.168.122.1', '198.51.100.1'],
    peers: [
      { ns: 'gu', hostIf: 'virbr0', hostAddrs: ['192.168.122.1/24'], peerAddrs: ['192.168.122.10/24'], routes: ['default'] },
      { ns: 'ou', hostIf: 'eth0', hostAddrs: ['198.51.100.1/24'], peerAddrs: ['198.51.100.2/24'], routes: ['192.168.122.0/24'] },
    ],
    cases: [
      { name: 'a guest connects out over tcp (masquerade to ports 1024-65535)', from: 'gu', src: '192.168.122.10', dst: '198.51.100.2', dport: 80, proto: 'tcp', iif: 'virbr0', oif: 'eth0' },
      { name: 'a guest sends udp out', from: 'gu', src: '192.168.122.10', dst: '198.51.100.2', dport: 53, proto: 'udp', iif: 'virbr0', oif: 'eth0' },
      { name: 'a new connection from outside to a guest (guest_input rejects)', from: 'ou', src: '198.51.100.2', dst: '192.168.122.10', dport: 22, proto: 'tcp', iif: 'eth0', oif: 'virbr0' },
    ],
  },
  firewalld: {
    nft: 'firewalld-public.nft',
    local: ['198.51.100.1', '10.66.0.1'],
    peers: [
      { ns: 'cl', hostIf: 'eth0', hostAddrs: ['198.51.100.1/24'], peerAddrs: ['198.51.100.2/24'], routes: ['10.66.0.0/24'] },
      { ns: 'in', hostIf: 'eth1', hostAddrs: ['10.66.0.1/24'], peerAddrs: ['10.66.0.2/24'], routes: ['default'] },
    ],
    cases: [
      { name: 'ssh to the host (service ssh in zone public)', from: 'cl', src: '198.51.100.2', dst: '198.51.100.1', dport: 22, proto: 'tcp', iif: 'eth0' },
      { name: 'http to the host (not allowed: reject with icmpx admin-prohibited)', from: 'cl', src: '198.51.100.2', dst: '198.51.100.1', dport: 80, proto: 'tcp', iif: 'eth0' },
      { name: 'udp 546 over IPv4 (dhcpv6-client matches ip6 only)', from: 'cl', src: '198.51.100.2', dst: '198.51.100.1', dport: 546, proto: 'udp', iif: 'eth0' },
      { name: 'forwarded between two interfaces of the default zone', from: 'cl', src: '198.51.100.2', dst: '10.66.0.2', dport: 80, proto: 'tcp', iif: 'eth0', oif: 'eth1' },
    ],
  },
  'docker (iptables-nft, nft view)': {
    nft: 'docker-iptables-nft.nft',
    iptablesRules: 'docker-iptables-nft.rules',
    local: ['198.51.100.1', '192.168.0.1'],
    peers: [
      { ns: 'cl', hostIf: 'eth0', hostAddrs: ['198.51.100.1/24'], peerAddrs: ['198.51.100.2/24'], routes: ['192.168.0.0/24'] },
      { ns: 'ct', hostIf: 'br-dummy', hostAddrs: ['192.168.0.1/24'], peerAddrs: ['192.168.0.2/24'], routes: ['default'] },
    ],
    cases: [
      { name: 'published port 8080 (DNAT to 192.168.0.2:80)', from: 'cl', src: '198.51.100.2', dst: '198.51.100.1', dport: 8080, proto: 'tcp', iif: 'eth0', oif: 'br-dummy' },
      { name: 'routed straight to the container address (raw PREROUTING drops)', from: 'cl', src: '198.51.100.2', dst: '192.168.0.2', dport: 80, proto: 'tcp', iif: 'eth0', oif: 'br-dummy' },
      { name: 'the container connects out (masquerade)', from: 'ct', src: '192.168.0.2', dst: '198.51.100.2', dport: 80, proto: 'tcp', iif: 'br-dummy', oif: 'eth0' },
      { name: 'a port not published: the host itself', from: 'cl', src: '198.51.100.2', dst: '198.51.100.1', dport: 8081, proto: 'tcp', iif: 'eth0' },
    ],
  },
};
