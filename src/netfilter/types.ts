/**
 * Netfilter (iptables) state as data. CONTRACT SKELETON: the netfilter module fills in the match
 * and target unions; the names exported here are relied on by src/plan and src/world.
 */
import type { Origin } from '../model/origin.js';

export type NfTableName = 'raw' | 'mangle' | 'nat' | 'filter';
export type NfVerdictPolicy = 'ACCEPT' | 'DROP';

/** One match (`-s`, `-p tcp --dport 80`, `-m conntrack --ctstate NEW`, ...). Discriminated on `kind`. */
export type NfMatch = { readonly kind: string; readonly [k: string]: unknown };
/** One target (`-j ACCEPT`, `-j DNAT --to-destination ...`, a user chain, ...). Discriminated on `kind`. */
export type NfTarget = { readonly kind: string; readonly [k: string]: unknown };

export interface NfRule {
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
  readonly rules: readonly NfRule[];
  readonly origin: Origin;
}

export interface NfTable {
  readonly name: NfTableName;
  /** chains in iptables-save order: built-ins in kernel order, then user chains sorted by name */
  readonly chains: Readonly<Record<string, NfChain>>;
}

export type NfState = Readonly<Record<NfTableName, NfTable>>;

/** One `*table ... COMMIT` block of an iptables-save / iptables-restore file. */
export interface IptablesRestoreTable {
  readonly table: NfTableName;
  readonly chains: readonly { readonly name: string; readonly policy?: NfVerdictPolicy; readonly origin: Origin }[];
  readonly rules: readonly { readonly chain: string; readonly rule: NfRule }[];
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
  /** -L, -S, --list-rules etc.: look only */
  | { readonly cmd: 'show' }
);
