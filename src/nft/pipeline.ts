/**
 * The hook pipeline with nft base chains merged in (src/netfilter/hooks.ts PIPELINE is the
 * iptables-only declaration). What the kernel does, observed here (docs/kernel-notes.md):
 *
 * - filter and route chains are hooks of their own, run in priority order; at equal priority
 *   the hook registered LAST runs first (nf_hook_entries_grow inserts a new hook before the
 *   entries of equal priority), so an nft chain created after an iptables(-nft) table of the same
 *   priority runs before it, and one created before runs after it;
 * - nat chains are not hooks of their own: every nat-type chain (the iptables nat table and
 *   each nft `type nat` chain) registers with the NAT core (nf_nat_register_fn), whose hook runs
 *   at NF_IP_PRI_NAT_DST / NF_IP_PRI_NAT_SRC whatever the chain's priority; for a connection's
 *   first packet the core calls the chains in priority order until one makes a binding (or
 *   drops); an nft nat chain at priority -110 wins over iptables' DNAT at -100.
 */
import { PIPELINE, type Hook, type HookStage } from '../netfilter/hooks.js';
import type { NfTableName } from '../netfilter/types.js';
import { nftHookChains, type NftHookChain } from './eval.js';
import type { NftFamily, NftState } from './types.js';

/** one chain of the NAT core's list at a hook */
export type NatChainRef =
  | { readonly kind: 'iptables'; readonly priority: number }
  | { readonly kind: 'nft'; readonly family: NftFamily; readonly table: string; readonly chain: string; readonly priority: number };

export type MergedStage =
  | Exclude<HookStage, { kind: 'nat' }>
  /** the NAT core: its chains in the order it calls them (the first binding wins) */
  | (Extract<HookStage, { kind: 'nat' }> & { readonly chains: readonly NatChainRef[] })
  /** an nft filter or route base chain (route chains at output re-route like mangle OUTPUT) */
  | {
      readonly kind: 'nft';
      readonly family: NftFamily;
      readonly table: string;
      readonly chain: string;
      readonly type: 'filter' | 'route';
      readonly priority: number;
      readonly reroute: boolean;
    };

/** whether `c` runs before iptables stage `s` of the same priority */
function nftFirst(c: NftHookChain, table: NfTableName): boolean {
  return c.iptablesBefore.includes(table);
}

/**
 * The stages of `hook` for a namespace holding iptables tables (`iptablesPresent`: which exist)
 * and nft state. With no nft state this is PIPELINE[hook] with `chains: [iptables]` on the
 * nat stage.
 */
export function mergedPipeline(hook: Hook, nft: NftState | undefined, iptablesPresent: (t: NfTableName) => boolean = () => true): MergedStage[] {
  const chains = nftHookChains(nft, hook);
  const hooks = chains.filter((c) => c.type !== 'nat');
  const nats = chains.filter((c) => c.type === 'nat');
  const out: MergedStage[] = [];
  let k = 0;
  const emitUpTo = (prio: number, table: NfTableName | undefined): void => {
    while (k < hooks.length) {
      const c = hooks[k]!;
      const before = c.priority < prio || (c.priority === prio && table !== undefined && (!iptablesPresent(table) || nftFirst(c, table)));
      if (!before) break;
      out.push({ kind: 'nft', family: c.family, table: c.table, chain: c.chain, type: c.type === 'route' ? 'route' : 'filter', priority: c.priority, reroute: c.type === 'route' && hook === 'OUTPUT' });
      k++;
    }
  };
  for (const s of PIPELINE[hook]) {
    if (s.kind === 'nat') {
      emitUpTo(s.priority, undefined);
      const list: NatChainRef[] = [];
      const ipt: NatChainRef = { kind: 'iptables', priority: s.priority };
      let placed = false;
      for (const c of nats) {
        const before = c.priority < s.priority || (c.priority === s.priority && c.iptablesBefore.includes('nat'));
        if (!placed && !before) {
          list.push(ipt);
          placed = true;
        }
        list.push({ kind: 'nft', family: c.family, table: c.table, chain: c.chain, priority: c.priority });
      }
      if (!placed) list.push(ipt);
      out.push({ ...s, chains: list });
      continue;
    }
    emitUpTo(s.priority, s.kind === 'table' ? s.table : undefined);
    out.push(s);
  }
  emitUpTo(Number.POSITIVE_INFINITY, undefined);
  return out;
}
