/**
 * Netfilter (iptables) state as data. The names exported here are relied on by src/plan and
 * src/world; the match and target unions are keyed on `kind`, spelled as iptables spells the
 * option or the extension (`source`, `in-interface`, `tcp`, `conntrack`, `DNAT`, ...).
 *
 * Every number is stored as the kernel stores it (ports, marks, the statistic probability as a
 * u32 fraction of 2^31, the limit rate in XT_LIMIT_SCALE units), so printing reproduces
 * iptables-save exactly and evaluation can follow the kernel's arithmetic.
 */
import type { Origin } from '../model/origin.js';
import type { Ipv4, Prefix } from '../wire/ipv4.js';

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

/** One match. Base matches (`-s -d -i -o -p -f`) and `-m` extensions share one union. */
export type NfMatch =
  | { readonly kind: 'source'; readonly invert: boolean; readonly prefix: Prefix }
  | { readonly kind: 'destination'; readonly invert: boolean; readonly prefix: Prefix }
  /** `name` may end in `+` (any interface with that prefix) */
  | { readonly kind: 'in-interface'; readonly invert: boolean; readonly name: string }
  | { readonly kind: 'out-interface'; readonly invert: boolean; readonly name: string }
  /** IP protocol number (`-p all` is no match at all) */
  | { readonly kind: 'protocol'; readonly invert: boolean; readonly proto: number }
  /** `-f`: second and later fragments */
  | { readonly kind: 'fragment'; readonly invert: boolean }
  | {
      readonly kind: 'tcp';
      readonly sport?: PortSpec;
      readonly dport?: PortSpec;
      /** `--tcp-flags MASK COMP` (`--syn` is FIN,SYN,RST,ACK SYN) */
      readonly flags?: { readonly invert: boolean; readonly mask: readonly TcpFlag[]; readonly comp: readonly TcpFlag[] };
    }
  | { readonly kind: 'udp'; readonly sport?: PortSpec; readonly dport?: PortSpec }
  /** `-p sctp -m sctp [!] --sport/--dport` (kube-proxy's SCTP services); --chunk-types is not modelled */
  | { readonly kind: 'sctp'; readonly sport?: PortSpec; readonly dport?: PortSpec }
  /** type 255 is `any`; codes are an inclusive range (0..255 when not given) */
  | {
      readonly kind: 'icmp';
      readonly invert: boolean;
      readonly type: number;
      readonly codeMin: number;
      readonly codeMax: number;
    }
  | {
      readonly kind: 'multiport';
      readonly invert: boolean;
      /** --sports, --dports, --ports */
      readonly dir: 'source' | 'destination' | 'either';
      readonly ports: readonly PortRange[];
    }
  | {
      readonly kind: 'conntrack';
      readonly ctstate?: { readonly invert: boolean; readonly states: readonly CtState[] };
      readonly ctorigsrc?: CtAddr;
      readonly ctorigdst?: CtAddr;
      /** an empty list is `NONE` */
      readonly ctstatus?: { readonly invert: boolean; readonly statuses: readonly CtStatus[] };
    }
  | { readonly kind: 'state'; readonly invert: boolean; readonly states: readonly CtState[] }
  | { readonly kind: 'mark'; readonly invert: boolean; readonly value: number; readonly mask: number }
  | { readonly kind: 'connmark'; readonly invert: boolean; readonly value: number; readonly mask: number }
  | {
      readonly kind: 'addrtype';
      readonly srcType?: { readonly invert: boolean; readonly types: readonly AddrType[] };
      readonly dstType?: { readonly invert: boolean; readonly types: readonly AddrType[] };
      readonly limitIface?: 'in' | 'out';
    }
  | {
      readonly kind: 'iprange';
      readonly srcRange?: { readonly invert: boolean; readonly from: Ipv4; readonly to: Ipv4 };
      readonly dstRange?: { readonly invert: boolean; readonly from: Ipv4; readonly to: Ipv4 };
    }
  | { readonly kind: 'comment'; readonly comment: string }
  /** probability as the kernel keeps it: a u32, p = probability / 2^31 */
  | { readonly kind: 'statistic'; readonly mode: 'random'; readonly invert: boolean; readonly probability: number }
  | {
      readonly kind: 'statistic';
      readonly mode: 'nth';
      readonly invert: boolean;
      readonly every: number;
      readonly packet: number;
    }
  /** avg: seconds per packet times XT_LIMIT_SCALE (10000), as xt_limit keeps it */
  | { readonly kind: 'limit'; readonly avg: number; readonly burst: number }
  /**
   * `-m recent`: a per-name list of recently seen addresses kept in the kernel (xt_recent). The
   * list is runtime state no dump shows; see eval.ts for how a walk treats it.
   */
  | {
      readonly kind: 'recent';
      readonly invert: boolean;
      readonly mode: RecentMode;
      /** 0 = not given */
      readonly seconds: number;
      readonly reap: boolean;
      /** 0 = not given */
      readonly hitcount: number;
      readonly rttl: boolean;
      readonly name: string;
      /** the address mask applied before lookup (255.255.255.255 by default) */
      readonly mask: Ipv4;
      readonly side: 'source' | 'dest';
    }
  /** `-m set [!] --match-set NAME src,dst,... [--return-nomatch]`; the set itself is an ipset (ipset.ts) */
  | {
      readonly kind: 'set';
      readonly invert: boolean;
      readonly name: string;
      /** one direction per dimension of the set type, in order */
      readonly dirs: readonly ('src' | 'dst')[];
      readonly returnNomatch: boolean;
    }
  | {
      readonly kind: 'physdev';
      readonly physdevIn?: { readonly invert: boolean; readonly name: string };
      readonly physdevOut?: { readonly invert: boolean; readonly name: string };
      readonly isIn?: { readonly invert: boolean };
      readonly isOut?: { readonly invert: boolean };
      readonly isBridged?: { readonly invert: boolean };
    };

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

/** One target. iptables' own names; `jump`/`goto` go to a user chain (`-j NAME`, `-g NAME`). */
export type NfTarget =
  | { readonly kind: 'ACCEPT' }
  | { readonly kind: 'DROP' }
  | { readonly kind: 'RETURN' }
  | { readonly kind: 'REJECT'; readonly with: RejectWith }
  /** level 0..7 (4 = warning, the default) */
  | { readonly kind: 'LOG'; readonly prefix?: string; readonly level: number; readonly flags: readonly LogFlag[] }
  | {
      readonly kind: 'SNAT';
      readonly range: NatRange;
      readonly random: boolean;
      readonly randomFully: boolean;
      readonly persistent: boolean;
    }
  | { readonly kind: 'DNAT'; readonly range: NatRange; readonly random: boolean; readonly persistent: boolean }
  | { readonly kind: 'MASQUERADE'; readonly ports?: PortRange; readonly random: boolean; readonly randomFully: boolean }
  | { readonly kind: 'REDIRECT'; readonly ports?: PortRange; readonly random: boolean }
  /** xmark semantics, as the kernel keeps every MARK form: mark = (mark & ~mask) ^ value */
  | { readonly kind: 'MARK'; readonly value: number; readonly mask: number }
  /** `set`: ctmark = (ctmark & ~mask) ^ value */
  | { readonly kind: 'CONNMARK'; readonly mode: 'set'; readonly value: number; readonly mask: number }
  /** save: ctmark = (ctmark & ~ctmask) ^ (mark & nfmask); restore: mark = (mark & ~nfmask) ^ (ctmark & ctmask) */
  | { readonly kind: 'CONNMARK'; readonly mode: 'save' | 'restore'; readonly nfmask: number; readonly ctmask: number }
  | { readonly kind: 'NOTRACK' }
  | { readonly kind: 'CT'; readonly notrack: boolean }
  | { readonly kind: 'jump'; readonly chain: string }
  | { readonly kind: 'goto'; readonly chain: string };

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
