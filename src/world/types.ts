/**
 * The world: every namespace of every host, as the kernel would hold it after the runbooks ran.
 * Immutable (frozen by immer); a runbook is a fold of Ops over it (apply.ts).
 */
import type { DevConf, IfAddr, Link, Neigh, NsId } from '../model/link.js';
import type { Origin } from '../model/origin.js';
import type { FibRule, Route } from '../route/types.js';
import type { NfState } from '../netfilter/types.js';
import type { NftState } from '../nft/types.js';

export interface Netns {
  readonly id: NsId;
  readonly host: string;
  /** null for the host's root namespace */
  readonly name: string | null;
  /** `docker run` made it */
  readonly container: boolean;
  readonly links: readonly Link[];
  readonly addrs: readonly IfAddr[];
  /** every table: local (255), main (254), default (253) and user tables */
  readonly routes: readonly Route[];
  readonly rules: readonly FibRule[];
  readonly neighs: readonly Neigh[];
  /** net.ipv4.conf.all / conf.default */
  readonly confAll: DevConf;
  readonly confDefault: DevConf;
  /** the rest of the namespace's sysctls we model (dotted keys), with kernel defaults filled in */
  readonly sysctl: Readonly<Record<string, string>>;
  /** sysctls written that cannot change a probe's packet walk (world/sysctl.ts NO_EFFECT_SYSCTLS):
   *  dotted key -> the value written, why it has no effect, and the line */
  readonly noEffect: Readonly<Record<string, { readonly value: string; readonly why: string; readonly origin: Origin }>>;
  readonly nf: NfState;
  /** nftables state (`nft` lines, `nft -f FILE`); absent until the first nft command */
  readonly nft?: NftState;
  /** next ifindex the kernel would hand out in this namespace */
  readonly nextIfindex: number;
  /**
   * fib_has_custom_local_routes: an `ip route add|replace|append|change` of a route of type local
   * (in any table) succeeded here. The kernel sets it in inet_rtm_newroute and never clears it,
   * also when the route is deleted again; the kernel's own local routes (addresses) do not set
   * it, nor do routes of other types. Without it (and without custom rules) fib_validate_source
   * with rp_filter 0 only refuses a local source address.
   */
  readonly customLocalRoutes?: true;
  readonly origin: Origin;
}

export interface Lan {
  readonly name: string;
  /** member NICs: namespace id and ifindex */
  readonly ports: readonly { readonly ns: NsId; readonly ifindex: number }[];
  readonly origin: Origin;
}

export interface Service {
  readonly ns: NsId;
  readonly proto: 'tcp' | 'udp';
  readonly port: number;
  /** bound address; undefined = INADDR_ANY */
  readonly addr?: number;
  /**
   * docker-proxy for a UDP port (cmd/docker-proxy/udp_proxy_linux.go, Docker v28.5.2): every
   * datagram is sent on to this address and port from a socket of its own (the source is the
   * route's), and each answer goes back to the client from the address the client sent to
   */
  readonly relay?: { readonly addr: number; readonly port: number };
  readonly origin: Origin;
}

export interface World {
  readonly hosts: readonly string[];
  readonly netns: Readonly<Record<NsId, Netns>>;
  readonly lans: Readonly<Record<string, Lan>>;
  readonly services: readonly Service[];
  /** `ip netns` names bound by `ln -s /proc/PID/ns/net /var/run/netns/NAME`, per host: name -> ns id */
  readonly bindings: Readonly<Record<string, Readonly<Record<string, NsId>>>>;
  /** the names of `bindings` made by `ip netns attach` (namespace files, not symlinks), per host */
  readonly attached?: Readonly<Record<string, Readonly<Record<string, true>>>>;
}
