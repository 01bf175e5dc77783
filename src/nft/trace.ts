/**
 * `netpath rules trace` for a host holding nft rules, iptables rules or both: one packet (the
 * first of a connection) through the merged hook pipeline (pipeline.ts), no topology. The walk is
 * the iptables tracer's (src/netfilter/walk.ts: hooks, conntrack, NAT, every numgen and `-m
 * statistic` answer as an outcome with its probability); this file gives it the merged stages.
 * Outcomes have the iptables tracer's JSON shape; a step of an nft chain names its table as
 * `FAMILY NAME` (`ip kube-proxy`) and its text is the rule as `nft list ruleset` prints it.
 */
import type { Hook, NfPacket } from '../netfilter/eval.js';
import { HOOK_SLOT } from '../netfilter/hooks.js';
import { iptablesChain } from '../netfilter/trace.js';
import type { NfState, NfTableName } from '../netfilter/types.js';
import { traceWalk, type RulesTraceInput, type WalkChain, type WalkContext, type WalkOutcome, type WalkPipeline, type WalkStage, type WalkStep } from '../netfilter/walk.js';
import { runNftChain, type NftResult } from './eval.js';
import { mergedPipeline } from './pipeline.js';
import type { NftFamily, NftState } from './types.js';

export interface HostRules {
  readonly nf?: NfState;
  readonly nft?: NftState;
}

/** a step of the walk: an iptables rule (`table` is its table) or an nft rule (`FAMILY TABLE`) */
export type HostTraceStep = WalkStep;

export type HostOutcome = WalkOutcome<HostTraceStep>;

/** One nft base chain, as the walk runs it. */
class NftChain implements WalkChain {
  private readonly label: string;
  constructor(
    private readonly nft: NftState,
    private readonly family: NftFamily,
    private readonly table: string,
    private readonly chain: string,
  ) {
    this.label = `${family} ${table}`;
  }
  run(h: Hook, p: NfPacket, w: WalkContext): NftResult {
    const res = runNftChain(this.nft, this.family, this.table, this.chain, h, p, w);
    const hits = res.hits;
    // (a step per hit: a rule object is shared by the states before and after a batch that moved it)
    for (let k = 0; k < hits.length; k++) {
      const hit = hits[k]!;
      w.path.push({ hook: h, table: this.label, chain: hit.chain, rule: hit.index, text: hit.rule.text });
    }
    return res;
  }
  /** an nft policy verdict already names `FAMILY TABLE CHAIN` */
  policy(chain: string): string {
    return chain;
  }
}

/** the walk's stages of each hook, made once per (immutable) nft state, iptables state and mode */
const NONE = {};
const pipelines = new WeakMap<object, WeakMap<object, [WalkPipeline | undefined, WalkPipeline | undefined]>>();
function pipelineOf(rules: HostRules, indexed: boolean): WalkPipeline {
  const k1: object = rules.nft ?? NONE;
  const k2: object = rules.nf ?? NONE;
  let a = pipelines.get(k1);
  if (!a) pipelines.set(k1, (a = new WeakMap()));
  let both = a.get(k2);
  if (!both) a.set(k2, (both = [undefined, undefined]));
  return (both[indexed ? 0 : 1] ??= makePipeline(rules, indexed));
}

function makePipeline(rules: HostRules, indexed: boolean): WalkPipeline {
  const nf = rules.nf;
  const nft = rules.nft;
  const present = (t: NfTableName): boolean => nf !== undefined && nf[t].present;
  const ipt = new Map<NfTableName, WalkChain>();
  const iptChain = (t: NfTableName): WalkChain => {
    let c = ipt.get(t);
    if (!c) ipt.set(t, (c = iptablesChain(nf!, t, indexed) as WalkChain));
    return c;
  };
  const nftChains = new Map<string, WalkChain>();
  const nftOf = (family: NftFamily, table: string, chain: string): WalkChain => {
    const key = `${family} ${table} ${chain}`;
    let c = nftChains.get(key);
    if (!c) nftChains.set(key, (c = new NftChain(nft!, family, table, chain)));
    return c;
  };
  const stages: (readonly WalkStage[] | undefined)[] = [];
  return {
    stages(h: Hook): readonly WalkStage[] {
      const slot = HOOK_SLOT[h];
      const had = stages[slot];
      if (had) return had;
      const list: WalkStage[] = [];
      for (const s of mergedPipeline(h, nft, present)) {
        switch (s.kind) {
          case 'conntrack':
            list.push({ kind: 'conntrack' });
            break;
          case 'confirm':
            break;
          case 'table':
            if (present(s.table)) list.push({ kind: 'chain', chain: iptChain(s.table) });
            break;
          case 'nft':
            list.push({ kind: 'chain', chain: nftOf(s.family, s.table, s.chain) });
            break;
          case 'nat': {
            const chains: WalkChain[] = [];
            for (const c of s.chains) {
              if (c.kind === 'nft') chains.push(nftOf(c.family, c.table, c.chain));
              else if (present('nat')) chains.push(iptChain('nat'));
            }
            if (chains.length > 0) list.push({ kind: 'nat', chains });
            break;
          }
        }
      }
      return (stages[slot] = list);
    },
    oifRules: '-o / oifname',
  };
}

/** Every outcome of the packet (depth first over the numgen / statistic answers, "matched" first). */
export function traceHost(rules: HostRules, input: RulesTraceInput): HostOutcome[] {
  return traceWalk(input, pipelineOf(rules, input.linear !== true));
}
