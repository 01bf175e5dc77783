/**
 * The netfilter hook pipeline, declared once. Every walker (the engine's routed and bridged
 * packets, and `netpath rules trace` on a dump) runs these lists; none writes the order by hand.
 *
 * At each hook the kernel calls the registered functions in priority order
 * (include/uapi/linux/netfilter_ipv4.h, enum nf_ip_hook_priorities):
 *
 *   NF_IP_PRI_RAW            -300  iptable_raw
 *   NF_IP_PRI_CONNTRACK      -200  nf_conntrack_in (PREROUTING, OUTPUT)
 *   NF_IP_PRI_MANGLE         -150  iptable_mangle
 *   NF_IP_PRI_NAT_DST        -100  nf_nat_ipv4_pre_routing / local_fn (DNAT)
 *   NF_IP_PRI_FILTER            0  iptable_filter
 *   NF_IP_PRI_SECURITY         50  iptable_security
 *   NF_IP_PRI_NAT_SRC         100  nf_nat_ipv4_out / local_in (SNAT)
 *   NF_IP_PRI_CONNTRACK_CONFIRM  INT_MAX  nf_confirm (POSTROUTING, INPUT)
 *
 * so INPUT runs filter before its nat (SNAT) table, and the conntrack entry is confirmed last.
 * The security table (SELinux marks) is not modelled: `iptables -t security` is refused.
 * The NAT stages consult the nat table only for a connection's first packet (NEW, original
 * direction, binding not yet made); every later packet is rewritten from the conntrack entry
 * (nf_nat_inet_fn). The OUTPUT stages that can change the route (mangle: a new mark, address or
 * TOS; nat: a new destination) re-route the packet (ip_route_me_harder).
 *
 * nftables base chains register at the same hooks with their own priority; a walker that holds
 * nft chains merges them into these lists by priority (src/nft/pipeline.ts): at equal priority
 * the hook registered last runs first (nf_hook_entries_grow), and nft `type nat` chains join the
 * NAT core's list instead of becoming stages (observed: docs/kernel-notes.md, nftables).
 */
import type { NfTableName } from './types.js';

export type Hook = 'PREROUTING' | 'INPUT' | 'FORWARD' | 'OUTPUT' | 'POSTROUTING';

export const HOOKS: readonly Hook[] = ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'];

/** each hook's position in HOOKS (an array slot per hook, for per-hook caches) */
export const HOOK_SLOT: Readonly<Record<Hook, number>> = { PREROUTING: 0, INPUT: 1, FORWARD: 2, OUTPUT: 3, POSTROUTING: 4 };

export const NF_IP_PRI_RAW = -300;
export const NF_IP_PRI_CONNTRACK = -200;
export const NF_IP_PRI_MANGLE = -150;
export const NF_IP_PRI_NAT_DST = -100;
export const NF_IP_PRI_FILTER = 0;
export const NF_IP_PRI_SECURITY = 50;
export const NF_IP_PRI_NAT_SRC = 100;
export const NF_IP_PRI_CONNTRACK_CONFIRM = 2147483647;

/** One function registered at a hook. */
export type HookStage =
  /** an iptables table's chain for this hook (the nat table appears as a `nat` stage instead) */
  | { readonly kind: 'table'; readonly table: Exclude<NfTableName, 'nat'>; readonly priority: number; readonly reroute: boolean }
  /** nf_conntrack_in: look the packet up (or create a NEW entry) */
  | { readonly kind: 'conntrack'; readonly priority: number }
  /** the nat table (first packet) and the rewrite from the binding (every packet) */
  | { readonly kind: 'nat'; readonly manip: 'src' | 'dst'; readonly priority: number; readonly reroute: boolean }
  /** __nf_conntrack_confirm: the entry enters the hash table */
  | { readonly kind: 'confirm'; readonly priority: number };

const raw: HookStage = { kind: 'table', table: 'raw', priority: NF_IP_PRI_RAW, reroute: false };
const conntrack: HookStage = { kind: 'conntrack', priority: NF_IP_PRI_CONNTRACK };
const mangle: HookStage = { kind: 'table', table: 'mangle', priority: NF_IP_PRI_MANGLE, reroute: false };
const mangleOut: HookStage = { kind: 'table', table: 'mangle', priority: NF_IP_PRI_MANGLE, reroute: true };
const filter: HookStage = { kind: 'table', table: 'filter', priority: NF_IP_PRI_FILTER, reroute: false };
const natDst: HookStage = { kind: 'nat', manip: 'dst', priority: NF_IP_PRI_NAT_DST, reroute: false };
const natDstOut: HookStage = { kind: 'nat', manip: 'dst', priority: NF_IP_PRI_NAT_DST, reroute: true };
const natSrc: HookStage = { kind: 'nat', manip: 'src', priority: NF_IP_PRI_NAT_SRC, reroute: false };
const confirm: HookStage = { kind: 'confirm', priority: NF_IP_PRI_CONNTRACK_CONFIRM };

/** The IPv4 pipeline: what runs at each hook, in order. */
export const PIPELINE: Readonly<Record<Hook, readonly HookStage[]>> = {
  PREROUTING: [raw, conntrack, mangle, natDst],
  INPUT: [mangle, filter, natSrc, confirm],
  FORWARD: [mangle, filter],
  OUTPUT: [raw, conntrack, mangleOut, natDstOut, filter],
  POSTROUTING: [mangle, natSrc, confirm],
};

/** The table a stage runs (`nat` for the NAT stages), or undefined for conntrack and confirm. */
export function stageTable(s: HookStage): NfTableName | undefined {
  return s.kind === 'table' ? s.table : s.kind === 'nat' ? 'nat' : undefined;
}

/** The tables that have a chain at this hook, in the order they run (what iptables -L shows). */
export function hookTables(hook: Hook): readonly NfTableName[] {
  const out: NfTableName[] = [];
  for (const s of PIPELINE[hook]) {
    const t = stageTable(s);
    if (t !== undefined) out.push(t);
  }
  return out;
}

/** The netfilter hook's name in the kernel (NF_INET_*), for texts that cite it. */
export const KERNEL_HOOK: Readonly<Record<Hook, string>> = {
  PREROUTING: 'NF_INET_PRE_ROUTING',
  INPUT: 'NF_INET_LOCAL_IN',
  FORWARD: 'NF_INET_FORWARD',
  OUTPUT: 'NF_INET_LOCAL_OUT',
  POSTROUTING: 'NF_INET_POST_ROUTING',
};
