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
  /** bridge port options (IFLA_BRPORT_*), set whenever `master` names a bridge: kernel defaults
   *  when the device is enslaved (again), changed by `ip link set DEV type bridge_slave ...` and
   *  `bridge link set dev DEV ...`; `origin` is the line that last set them */
  readonly brport?: Brport;
  /** a host NIC joined to a model LAN */
  readonly lan?: string;
  readonly conf: DevConf;
  /** devconf keys written explicitly for this device (they no longer follow conf.default) */
  readonly confSet: readonly string[];
  readonly origin: Origin;
}

/** Bridge port flags as `bridge -d link show` / `ip -d link show` print them (on/off). */
export interface BrportFlags {
  /** BR_HAIRPIN_MODE: a frame may leave by the port it came in on */
  readonly hairpin: boolean;
  /** BR_LEARNING: source MACs of frames arriving here are learned into the fdb */
  readonly learning: boolean;
  /** BR_FLOOD: unknown-unicast frames are flooded out of this port */
  readonly flood: boolean;
  /** BR_MCAST_FLOOD: unregistered multicast is flooded out of this port */
  readonly mcast_flood: boolean;
  /** BR_BCAST_FLOOD: broadcast (ARP requests) is flooded out of this port */
  readonly bcast_flood: boolean;
  /** BR_PROXYARP: the bridge answers ARP requests arriving here for addresses in its neighbour table */
  readonly proxyarp: boolean;
  /** BR_ISOLATED: isolated ports do not forward to each other (only to non-isolated ports) */
  readonly isolated: boolean;
}

export interface Brport extends BrportFlags {
  readonly origin: Origin;
}

/** What the kernel sets when a device becomes a bridge port (new_nbp(): BR_LEARNING | BR_FLOOD |
 *  BR_MCAST_FLOOD | BR_BCAST_FLOOD), observed with `bridge -d link show` on Linux 6.18. */
export const BRPORT_DEFAULTS: BrportFlags = Object.freeze({
  hairpin: false,
  learning: true,
  flood: true,
  mcast_flood: true,
  bcast_flood: true,
  proxyarp: false,
  isolated: false,
});

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
