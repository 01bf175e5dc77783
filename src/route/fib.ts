/**
 * Route lookup as net/ipv4/fib_rules.c and fib_trie.c do it: policy rules in priority order, each
 * `lookup` rule consulting one table; within a table the longest matching prefix, then the lowest
 * metric; a table with no match (or a `throw` route) lets the next rule try.
 */
import type { Ipv4 } from '../wire/ipv4.js';
import { inPrefix } from '../wire/ipv4.js';
import type { FibRule, Route } from './types.js';

export interface FlowKey {
  readonly daddr: Ipv4;
  /** 0 when the source is not chosen yet (a local socket's first lookup) */
  readonly saddr: Ipv4;
  readonly mark: number;
  /** input device name; `lo` for locally generated packets (as the kernel sets flowi4_iif) */
  readonly iif: string;
  /** output device name if the socket is bound to one */
  readonly oif?: string;
}

export type FibResult =
  | { readonly kind: 'route'; readonly route: Route; readonly rule: FibRule }
  /** a rule's own action: blackhole/unreachable/prohibit */
  | { readonly kind: 'rule-action'; readonly rule: FibRule }
  /** nothing matched anywhere: ENETUNREACH */
  | { readonly kind: 'none' };

export interface FibView {
  readonly rules: readonly FibRule[];
  /** routes grouped by table id, each list sorted longest prefix first, then metric */
  readonly tables: ReadonlyMap<number, readonly Route[]>;
  /** ifindex -> name, for oif matching */
  readonly ifname: (ifindex: number) => string | undefined;
}

/** Groups and orders routes for lookup; build once per namespace, reuse for every packet. */
export function fibView(rules: readonly FibRule[], routes: readonly Route[], ifname: (i: number) => string | undefined): FibView {
  const tables = new Map<number, Route[]>();
  for (const r of routes) {
    let t = tables.get(r.table);
    if (!t) tables.set(r.table, (t = []));
    t.push(r);
  }
  for (const t of tables.values()) t.sort((a, b) => b.dst.len - a.dst.len || a.metric - b.metric);
  const sortedRules = [...rules].sort((a, b) => a.priority - b.priority);
  return { rules: sortedRules, tables, ifname };
}

export function ruleMatches(rule: FibRule, key: FlowKey): boolean {
  let m = true;
  if (rule.from && !inPrefix(key.saddr, rule.from)) m = false;
  else if (rule.to && !inPrefix(key.daddr, rule.to)) m = false;
  else if (rule.fwmark && ((key.mark ^ rule.fwmark.value) & rule.fwmark.mask) !== 0) m = false;
  else if (rule.iif !== undefined && rule.iif !== key.iif) m = false;
  else if (rule.oif !== undefined && rule.oif !== key.oif) m = false;
  return rule.not ? !m : m;
}

/** The first route of a table that matches, honouring a bound output device. */
export function tableLookup(view: FibView, table: number, key: FlowKey): Route | undefined {
  const routes = view.tables.get(table);
  if (!routes) return undefined;
  for (const r of routes) {
    if (!inPrefix(key.daddr, r.dst)) continue;
    if (key.oif !== undefined && r.oif !== undefined && view.ifname(r.oif) !== key.oif) continue;
    return r;
  }
  return undefined;
}

export function fibLookup(view: FibView, key: FlowKey): FibResult {
  for (const rule of view.rules) {
    if (!ruleMatches(rule, key)) continue;
    if (rule.action !== 'lookup') return { kind: 'rule-action', rule };
    const r = tableLookup(view, rule.table, key);
    if (!r || r.type === 'throw') continue;
    return { kind: 'route', route: r, rule };
  }
  return { kind: 'none' };
}
