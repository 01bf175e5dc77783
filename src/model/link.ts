/** Interfaces, addresses and neighbours of one namespace, named as iproute2 names them. */
import type { Origin } from './origin.js';
import type { Ipv4 } from '../wire/ipv4.js';

export type LinkKind = 'loopback' | 'veth' | 'bridge' | 'dummy' | 'nic';

/** Canonical namespace id: `host` for a host's root namespace, `host/name` for one its runbook made. */
export type NsId = string;

/** Per-device IPv4 settings (net.ipv4.conf.DEV.*) that change a packet's fate. */
export interface DevConf {
  readonly forwarding: number;
  readonly rp_filter: number;
  readonly accept_local: number;
  readonly route_localnet: number;
  readonly arp_ignore: number;
  readonly arp_announce: number;
  readonly arp_filter: number;
  readonly proxy_arp: number;
  readonly send_redirects: number;
  readonly accept_redirects: number;
}

export interface Link {
  readonly ifindex: number;
  readonly name: string;
  readonly kind: LinkKind;
  readonly mac: string;
  readonly mtu: number;
  /** IFF_UP: administratively up (`ip link set X up`) */
  readonly up: boolean;
  /** veth: where the other end lives now */
  readonly peer?: { readonly ns: NsId; readonly ifindex: number };
  /** bridge port: the bridge's ifindex in the same namespace */
  readonly master?: number;
  /** a host NIC joined to a model LAN */
  readonly lan?: string;
  readonly conf: DevConf;
  /** devconf keys written explicitly for this device (they no longer follow conf.default) */
  readonly confSet: readonly string[];
  readonly origin: Origin;
}

export interface IfAddr {
  readonly ifindex: number;
  readonly local: Ipv4;
  readonly prefixLen: number;
  readonly broadcast?: Ipv4;
  readonly scope: 'global' | 'link' | 'host';
  /** IFA_F_SECONDARY: another address of the same subnet came first on this device */
  readonly secondary: boolean;
  readonly label: string;
  readonly origin: Origin;
}

export type NudState = 'permanent' | 'noarp' | 'reachable' | 'stale';

export interface Neigh {
  readonly ifindex: number;
  readonly dst: Ipv4;
  readonly lladdr?: string;
  readonly state: NudState;
  readonly origin: Origin;
}
