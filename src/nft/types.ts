/**
 * nftables state as data: tables, chains, rules, sets and maps, as the kernel holds them after
 * `nft -f` (and as `nft list ruleset` prints them).
 *
 * A rule is a list of statements, evaluated left to right (nft_do_chain, net/netfilter/
 * nf_tables_core.c): a match that fails ends the rule, a verdict ends it, every other statement
 * acts and continues. Values are kept as the kernel compares them (addresses and ports as
 * numbers, interface names as strings), with enough of their spelling to print them back.
 */
import type { Origin } from '../model/origin.js';

export type NftFamily = 'ip' | 'ip6' | 'inet' | 'bridge' | 'arp' | 'netdev';
export type NftHook = 'prerouting' | 'input' | 'forward' | 'output' | 'postrouting' | 'ingress' | 'egress';
export type NftChainType = 'filter' | 'nat' | 'route';

/**
 * The data type of an expression, as nft names it (`nft describe`). It decides how a value is
 * parsed and printed, and how wide it is in a concatenation.
 */
export type NftType =
  | 'ipv4_addr'
  | 'ipv6_addr'
  | 'inet_proto'
  | 'inet_service'
  | 'mark'
  | 'ifname'
  | 'iface_index'
  | 'ct_state'
  | 'ct_status'
  | 'ct_dir'
  | 'tcp_flag'
  | 'icmp_type'
  | 'icmpv6_type'
  | 'fib_addrtype'
  | 'nf_proto'
  | 'ether_type'
  | 'pkt_type'
  | 'integer'
  | 'verdict';

/** One value. `hi` makes a range, `plen` a prefix (ipv4_addr); strings are interface names. */
export type NftAtom =
  | { readonly t: 'num'; readonly v: number; readonly hi?: number; readonly plen?: number }
  /** a name; ends in `*` for a wildcard (`"eth*"`) */
  | { readonly t: 'str'; readonly v: string }
  /** IPv6 (never compared against an IPv4 packet): the text as written */
  | { readonly t: 'v6'; readonly text: string }
  /** several flags at once (`ct state established,related` without braces) */
  | { readonly t: 'flags'; readonly v: number };

/** A selector: where a value is read from the packet or its metadata. */
export type NftSelector =
  | { readonly k: 'payload'; readonly proto: 'ip' | 'ip6' | 'tcp' | 'udp' | 'sctp' | 'th' | 'icmp' | 'icmpv6'; readonly field: string }
  | { readonly k: 'meta'; readonly key: string }
  | { readonly k: 'ct'; readonly key: string; readonly dir?: 'original' | 'reply'; readonly family?: 'ip' }
  /** `fib saddr . iif oif`: flags in nft's order, result `oif`, `oifname` or `type` */
  | { readonly k: 'fib'; readonly flags: readonly string[]; readonly result: 'oif' | 'oifname' | 'type' }
  | { readonly k: 'numgen'; readonly mode: 'random' | 'inc'; readonly mod: number; readonly offset: number };

/** A selector with an optional bit operation (`meta mark & 0x4000`). */
export interface NftExpr {
  readonly sel: NftSelector;
  readonly bitop?: { readonly op: '&' | '|' | '^'; readonly v: number };
}

export type NftCmpOp = '==' | '!=' | '<' | '>' | '<=' | '>=' | 'implicit';

export type NftVerdict =
  | { readonly kind: 'accept' | 'drop' | 'continue' | 'return' }
  | { readonly kind: 'jump' | 'goto'; readonly chain: string };

/** One set element (named or anonymous): one atom per concatenated column, and map data. */
export interface NftElement {
  readonly key: readonly NftAtom[];
  readonly data?: NftData;
  readonly comment?: string;
}

export type NftData = { readonly kind: 'verdict'; readonly verdict: NftVerdict } | { readonly kind: 'value'; readonly atoms: readonly NftAtom[] };

/** The right-hand side of a match or a map lookup. */
export type NftRhs =
  | { readonly kind: 'value'; readonly atoms: readonly NftAtom[] }
  | { readonly kind: 'set'; readonly elements: readonly NftElement[] }
  | { readonly kind: 'ref'; readonly name: string };

export type NftNatKind = 'snat' | 'dnat' | 'masquerade' | 'redirect';

export type NftStmt =
  /** LEFT [op] RIGHT; LEFT is one expression or a concatenation */
  | { readonly k: 'match'; readonly left: readonly NftExpr[]; readonly op: NftCmpOp; readonly rhs: NftRhs }
  | { readonly k: 'verdict'; readonly verdict: NftVerdict }
  /** `LEFT vmap { ... }` / `vmap @name` */
  | { readonly k: 'vmap'; readonly left: readonly NftExpr[]; readonly map: NftRhs }
  /** `with` absent: port-unreachable for IPv4 (nft prints plain `reject`) */
  | { readonly k: 'reject'; readonly with?: { readonly kind: 'icmp' | 'icmpx' | 'icmpv6' | 'tcp reset'; readonly code?: string } }
  | { readonly k: 'counter'; readonly packets: number; readonly bytes: number }
  | { readonly k: 'log'; readonly prefix?: string; readonly level?: string; readonly group?: number; readonly flags?: readonly string[] }
  | { readonly k: 'limit'; readonly rate: number; readonly per: string; readonly burst?: number; readonly over: boolean; readonly bytes?: string }
  | {
      readonly k: 'nat';
      readonly nat: NftNatKind;
      /** `ip to` in an inet table */
      readonly family?: 'ip';
      /** address: a value, or `EXPR map { ... }` */
      readonly addr?: NftAtom | { readonly mapFrom: readonly NftExpr[]; readonly map: NftRhs };
      readonly port?: NftAtom;
      readonly flags: readonly string[];
    }
  /** `meta mark set ...` / `ct mark set ...` */
  | {
      readonly k: 'set';
      readonly target: 'meta mark' | 'ct mark';
      readonly value: { readonly kind: 'const'; readonly v: number } | { readonly kind: 'expr'; readonly from: NftExpr };
    }
  | { readonly k: 'notrack' }
  /** `update @set { ip saddr }` / `add @set { ... }`: a dynamic set fed at run time */
  | { readonly k: 'setop'; readonly op: 'add' | 'update'; readonly set: string; readonly keys: readonly NftExpr[] }
  /** `meta nftrace set 1` and other statements with no effect on the packet's fate */
  | { readonly k: 'nftrace'; readonly v: number };

export interface NftRule {
  readonly stmts: readonly NftStmt[];
  readonly comment?: string;
  /** the rule as `nft list ruleset` prints it */
  readonly text: string;
  readonly handle: number;
  readonly origin: Origin;
}

export interface NftBase {
  readonly type: NftChainType;
  readonly hook: NftHook;
  readonly priority: number;
  readonly policy: 'accept' | 'drop';
  readonly device?: string;
}

export interface NftChain {
  readonly name: string;
  readonly base?: NftBase;
  readonly comment?: string;
  readonly rules: readonly NftRule[];
  readonly handle: number;
  /**
   * base chains: when the chain's hook was registered (one counter per namespace), and which
   * iptables tables already existed then. At equal priority the kernel runs the hook registered
   * LAST first (nf_hook_entries_grow inserts before entries of equal priority; observed, see
   * docs/kernel-notes.md), so this orders nft chains among themselves and against iptables-nft.
   */
  readonly registered?: { readonly seq: number; readonly iptablesBefore: readonly string[] };
  readonly origin: Origin;
}

export interface NftSet {
  readonly name: string;
  readonly map: boolean;
  /** one type per concatenated column */
  readonly keyType: readonly NftType[];
  readonly dataType?: NftType;
  readonly flags: readonly string[];
  /** seconds */
  readonly timeout?: number;
  readonly size?: number;
  readonly policy?: string;
  readonly comment?: string;
  readonly elements: readonly NftElement[];
  readonly handle: number;
  readonly origin: Origin;
}

export interface NftTable {
  readonly family: NftFamily;
  readonly name: string;
  readonly comment?: string;
  readonly flags: readonly string[];
  /** chains and sets in creation order (the order `nft list ruleset` prints them) */
  readonly chains: readonly NftChain[];
  readonly sets: readonly NftSet[];
  readonly handle: number;
  readonly origin: Origin;
}

export interface NftState {
  readonly tables: readonly NftTable[];
  /** the next handle the kernel hands out (one counter per namespace here; nft -a shows them) */
  readonly nextHandle: number;
}

export const EMPTY_NFT: NftState = Object.freeze({ tables: Object.freeze([]) as readonly NftTable[], nextHandle: 1 });
