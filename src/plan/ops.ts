/**
 * Typed operations: what a runbook line means, independent of how it was spelled.
 *
 * The parser turns each runbook line into zero or more Ops; the world folds them (src/world/apply.ts)
 * and the replay adapter renders them back into real commands (src/replay). Every Op carries the
 * namespace it acts in and the runbook line it came from.
 *
 * Namespaces: `ns` is null for the host's own root namespace, otherwise the name of a namespace
 * the same host's runbook created (`ip netns add`, `docker run`), as the runbook spells it.
 */
import type { Origin } from '../model/origin.js';
import type { BrportFlags } from '../model/link.js';
import type { Ipv4, Prefix } from '../wire/ipv4.js';
import type { IptablesCommand, IptablesRestoreTable } from '../netfilter/types.js';
import type { NftCommand } from '../nft/parse.js';
import type { RouteType, RouteScope, RuleSelector } from '../route/types.js';

interface OpBase {
  /** Host whose runbook holds the line. */
  readonly host: string;
  /** Target namespace on that host: null = the host's root namespace. */
  readonly ns: string | null;
  readonly origin: Origin;
  /** made by the Docker daemon model for a docker line (src/plan/docker.ts): may name a container's
   *  namespace, which dockerd holds by handle and `ip netns` does not list */
  readonly byDocker?: true;
}

export type LinkKind = 'veth' | 'bridge' | 'dummy';

export interface NetnsAddOp extends OpBase { readonly op: 'netns-add'; readonly name: string }
export interface NetnsDelOp extends OpBase { readonly op: 'netns-del'; readonly name: string }
/** A port docker-proxy listens on in the host's root namespace (a published TCP port, userland proxy on). */
export interface ProxyListen {
  readonly proto: 'tcp' | 'udp';
  readonly port: number;
  /** the host address given in `-p IP:...`; absent = every address */
  readonly addr?: Ipv4;
  /** udp: the container's address and port each datagram is sent on to */
  readonly backend?: { readonly addr: Ipv4; readonly port: number };
}
/**
 * `docker run --name NAME`: a container netns NAME with only lo (up). On a Docker network the
 * same line also yields the ops that wire it (src/plan/docker.ts); `proxies` are the docker-proxy
 * listeners its published ports get when the userland proxy is on.
 */
export interface DockerRunOp extends OpBase {
  readonly op: 'docker-run';
  readonly name: string;
  readonly image: string;
  readonly proxies?: readonly ProxyListen[];
}
/**
 * `ln -s /proc/PID/ns/net /var/run/netns/NAME` or `ip netns attach NAME PID`: makes a container's
 * netns reachable as NAME. `link`: ln's link path as typed (ln's messages repeat it); `force`:
 * `ln -sf` (replaces a symlink of that name); `attach`: made by `ip netns attach` (a namespace
 * file, as `ip netns add` makes, not a symlink).
 */
export interface NetnsBindOp extends OpBase {
  readonly op: 'netns-bind';
  readonly name: string;
  readonly pid: string;
  readonly link?: string;
  readonly force?: true;
  readonly attach?: true;
}

export interface LinkAddOp extends OpBase {
  readonly op: 'link-add';
  readonly name: string;
  readonly kind: LinkKind;
  /** veth only: the peer's name, and the namespace it is created in (`peer name X netns NS`). */
  readonly peer?: { readonly name: string; readonly netns?: string };
  readonly mtu?: number;
  readonly address?: string;
  /** `ip link add ... netns NS`: created directly inside NS. */
  readonly netns?: string;
}
export interface LinkSetOp extends OpBase {
  readonly op: 'link-set';
  readonly dev: string;
  readonly up?: boolean;
  readonly name?: string;
  readonly netns?: string;
  /** a bridge name, or null for `nomaster` */
  readonly master?: string | null;
  readonly mtu?: number;
  readonly address?: string;
  /** bridge port options: `ip link set DEV type bridge_slave ...` or `bridge link set dev DEV ...`
   *  (only the flags written); the device must already be a bridge port */
  readonly brport?: Partial<BrportFlags>;
  /** how the port options were spelled, for export: `ip link set ... type bridge_slave` or `bridge link set` */
  readonly brportSyntax?: 'ip' | 'bridge';
}
export interface LinkDelOp extends OpBase { readonly op: 'link-del'; readonly dev: string }

export interface AddrOp extends OpBase {
  readonly op: 'addr-add' | 'addr-del';
  readonly dev: string;
  readonly local: Ipv4;
  readonly prefixLen: number;
  /** explicit `broadcast X` (or `brd +` => computed); undefined when not given */
  readonly broadcast?: Ipv4 | '+';
  readonly scope?: RouteScope;
  /** whether the prefix length was written (`ip addr add 10.0.0.1 dev x` means /32; for
   *  `ip addr del 10.0.0.1 dev x` the kernel then deletes 10.0.0.1 whatever its prefix length) */
  readonly hadLen?: boolean;
  readonly label?: string;
}

export interface RouteOp extends OpBase {
  readonly op: 'route-add' | 'route-del' | 'route-replace' | 'route-append' | 'route-change';
  readonly type: RouteType;
  readonly dst: Prefix;
  readonly via?: Ipv4;
  readonly dev?: string;
  readonly src?: Ipv4;
  readonly metric?: number;
  /** numeric table id; main = 254, local = 255, default = 253 */
  readonly table?: number;
  readonly scope?: RouteScope;
  readonly onlink?: boolean;
  readonly proto?: string;
  /** how the line was spelled, for error messages and export: 'ip' or 'route' (net-tools) */
  readonly syntax: 'ip' | 'net-tools';
}

/** `ip route flush ...`: every route of `table` (or all tables) matching the selectors given. */
export interface RouteFlushOp extends OpBase {
  readonly op: 'route-flush';
  readonly table: number | 'all';
  readonly dev?: string;
  readonly proto?: string;
  readonly type?: RouteType;
}

/** `ip address flush dev D`: every IPv4 address of D. */
export interface AddrFlushOp extends OpBase { readonly op: 'addr-flush'; readonly dev: string }

export interface RuleOp extends OpBase, RuleSelector {
  readonly op: 'rule-add' | 'rule-del';
  readonly priority?: number;
  /** for action 'lookup' (numeric table id) */
  readonly table?: number;
  /** rule-del only: neither an action nor a table was written, so a rule with any action matches
   *  (the kernel's rule lookup ignores action 0); `action` is then only a placeholder */
  readonly anyAction?: boolean;
}

export interface NeighOp extends OpBase {
  readonly op: 'neigh-add' | 'neigh-replace' | 'neigh-del';
  readonly dst: Ipv4;
  readonly lladdr?: string;
  readonly dev: string;
  readonly state: 'permanent' | 'noarp' | 'reachable' | 'stale';
}

/** `sysctl -w net.ipv4.ip_forward=1` or `echo 1 > /proc/sys/net/ipv4/ip_forward`. Key in dotted form. */
export interface SysctlOp extends OpBase { readonly op: 'sysctl'; readonly key: string; readonly value: string }

/** One iptables invocation (legacy command syntax); the command itself is netfilter's type. */
export type IptablesOp = OpBase & { readonly op: 'iptables' } & IptablesCommand;

/** `iptables-restore [--noflush] < FILE`: whole tables replaced (or appended to with --noflush). */
export interface IptablesRestoreOp extends OpBase {
  readonly op: 'iptables-restore';
  readonly file: string;
  readonly noflush: boolean;
  readonly tables: readonly IptablesRestoreTable[];
}

/**
 * One `nft` line or `nft -f FILE`: its commands, applied as one transaction (all or nothing).
 * `text` is what `nft -f -` reads to do the same (for replay); `file` the file it came from.
 */
export interface NftOp extends OpBase {
  readonly op: 'nft';
  readonly cmds: readonly NftCommand[];
  readonly text: string;
  readonly file?: string;
}

/** A line that only looks or does bookkeeping (`ip route show`, `curl`, `tcpdump`, ...). */
export interface NoopOp extends OpBase { readonly op: 'noop'; readonly why: string }

export type Op =
  | NetnsAddOp
  | NetnsDelOp
  | DockerRunOp
  | NetnsBindOp
  | LinkAddOp
  | LinkSetOp
  | LinkDelOp
  | AddrOp
  | AddrFlushOp
  | RouteOp
  | RouteFlushOp
  | RuleOp
  | NeighOp
  | SysctlOp
  | IptablesOp
  | IptablesRestoreOp
  | NftOp
  | NoopOp;
