/**
 * Netfilter (iptables) state as data. The names exported here are relied on by src/plan and
 * src/world; the match and target unions are keyed on `kind`, spelled as iptables spells the
 * option or the extension (`source`, `in-interface`, `tcp`, `conntrack`, `DNAT`, ...). Each
 * extension's own value type lives in its file in ext/; the values they share are here.
 *
 * Every number is stored as the kernel stores it (ports, marks, the statistic probability as a
 * u32 fraction of 2^31, the limit rate in XT_LIMIT_SCALE units), so printing reproduces
 * iptables-save exactly and evaluation can follow the kernel's arithmetic.
 */
import type { Origin } from '../model/origin.js';
import type { Ipv4 } from '../wire/ipv4.js';
import type { BaseMatch, ExtMatch, ExtTarget } from './ext/index.js';

export type NfTableName = 'raw' | 'mangle' | 'nat' | 'filter';
export type NfVerdictPolicy = 'ACCEPT' | 'DROP';

/** An inclusive port range; a single port has min === max. */
export interface PortRange {
  readonly min: number;
  readonly max: number;
}

/** `--sport`/`--dport` of the tcp/udp matches. */
export interface PortSpec extends PortRange {
  readonly invert: boolean;
}

export type TcpFlag = 'FIN' | 'SYN' | 'RST' | 'PSH' | 'ACK' | 'URG';
/** conntrack states as `--ctstate` spells them; `state` accepts the first five. */
export type CtState = 'INVALID' | 'NEW' | 'RELATED' | 'ESTABLISHED' | 'UNTRACKED' | 'SNAT' | 'DNAT';
export type CtStatus = 'EXPECTED' | 'SEEN_REPLY' | 'ASSURED' | 'CONFIRMED';
/** Route types of the addrtype match (RTN_*). */
export type AddrType =
  | 'UNSPEC'
  | 'UNICAST'
  | 'LOCAL'
  | 'BROADCAST'
  | 'ANYCAST'
  | 'MULTICAST'
  | 'BLACKHOLE'
  | 'UNREACHABLE'
  | 'PROHIBIT'
  | 'THROW'
  | 'NAT'
  | 'XRESOLVE';

export type RecentMode = 'set' | 'rcheck' | 'update' | 'remove';

/** An address with the host bits kept, as conntrack's --ctorigsrc prints it (`10.0.0.1/8`). */
export interface CtAddr {
  readonly invert: boolean;
  readonly addr: Ipv4;
  readonly len: number;
}

/**
 * One match. Base matches (`-s -d -i -o -p -f`, ext/base.ts) and `-m` extensions (one file each
 * in ext/, listed in ext/index.ts) share one union, keyed on `kind`.
 */
export type NfMatch = BaseMatch | ExtMatch;

export type NfMatchKind = NfMatch['kind'];

export type RejectWith =
  | 'icmp-net-unreachable'
  | 'icmp-host-unreachable'
  | 'icmp-port-unreachable'
  | 'icmp-proto-unreachable'
  | 'icmp-net-prohibited'
  | 'icmp-host-prohibited'
  | 'icmp-admin-prohibited'
  | 'tcp-reset';

export type LogFlag = 'tcp-sequence' | 'tcp-options' | 'ip-options' | 'uid' | 'macdecode';

/** `--to-source`/`--to-destination A[-B][:p[-q]]`; either part may be absent (`:80`). */
export interface NatRange {
  readonly addr?: { readonly min: Ipv4; readonly max: Ipv4 };
  readonly ports?: PortRange;
}

/** One target: an extension (ext/index.ts) or a user chain (`-j NAME`, `-g NAME`). */
export type NfTarget = ExtTarget | { readonly kind: 'jump'; readonly chain: string } | { readonly kind: 'goto'; readonly chain: string };

export type NfTargetKind = NfTarget['kind'];

export interface NfRule {
  /** base matches first (-s -d -i -o -p -f, in that order), then `-m` matches in the order loaded */
  readonly matches: readonly NfMatch[];
  /** undefined for a rule with no -j/-g (it only counts) */
  readonly target?: NfTarget;
  /** the rule in iptables-save's canonical spelling, without `-A CHAIN ` */
  readonly text: string;
  readonly origin: Origin;
}

export interface NfChain {
  readonly name: string;
  /** built-in chains only */
  readonly policy?: NfVerdictPolicy;
  /** the line that set the policy (`iptables -P`, or a restore file's `:CHAIN POLICY`) */
  readonly policyOrigin?: Origin;
  readonly rules: readonly NfRule[];
  readonly origin: Origin;
}

export interface NfTable {
  readonly name: NfTableName;
  /** chains in iptables-save order: built-ins in kernel order, then user chains sorted by name */
  readonly chains: Readonly<Record<string, NfChain>>;
  /**
   * Whether the table exists in the kernel. iptables-nft creates a table on the first command
   * that changes it (-A -I -R -P -N, or iptables-restore with content); -L -S -F -Z -X on an
   * untouched table leave it absent, and iptables-save prints only present tables.
   */
  readonly present: boolean;
}

export type NfState = Readonly<Record<NfTableName, NfTable>>;

/** One `*table ... COMMIT` block of an iptables-save / iptables-restore file. */
export interface IptablesRestoreTable {
  readonly table: NfTableName;
  readonly chains: readonly { readonly name: string; readonly policy?: NfVerdictPolicy; readonly origin: Origin }[];
  readonly rules: readonly { readonly chain: string; readonly rule: NfRule }[];
  /** the `*table` line */
  readonly origin?: Origin;
}

/** One `iptables ...` command line, parsed (the table defaults to filter). */
export type IptablesCommand = { readonly table: NfTableName } & (
  | { readonly cmd: 'A'; readonly chain: string; readonly rule: NfRule }
  | { readonly cmd: 'I'; readonly chain: string; readonly index: number; readonly rule: NfRule }
  | { readonly cmd: 'R'; readonly chain: string; readonly index: number; readonly rule: NfRule }
  | { readonly cmd: 'D'; readonly chain: string; readonly index?: number; readonly rule?: NfRule }
  | { readonly cmd: 'P'; readonly chain: string; readonly policy: NfVerdictPolicy }
  | { readonly cmd: 'N'; readonly chain: string }
  | { readonly cmd: 'X'; readonly chain?: string }
  | { readonly cmd: 'F'; readonly chain?: string }
  | { readonly cmd: 'Z'; readonly chain?: string }
  /** -L, -S, -C (check) etc.: look only */
  | { readonly cmd: 'show' }
);
