/**
 * One packet through one host's iptables rules, no topology: what `netpath rules trace` prints
 * for an iptables-save dump. The walk (order of hooks, conntrack, NAT, statistic branches) is
 * walk.ts's; this file gives it the tables netfilter/hooks.ts declares for each hook (the engine
 * runs the same declaration):
 *
 *   PREROUTING raw, (conntrack), mangle, nat    INPUT mangle, filter, nat
 *   FORWARD mangle, filter                       OUTPUT raw, (conntrack), mangle, nat, filter
 *   POSTROUTING mangle, nat
 */
import { TableWalk, type HitSlot, type Hook, type NfHitSink, type NfPacket } from './eval.js';
import { HOOK_SLOT, HOOKS, PIPELINE } from './hooks.js';
import type { NfChain, NfMatch, NfRule, NfState, NfTableName } from './types.js';
import { traceWalk, type RulesChoice, type RulesTraceInput, type TraceProto, type WalkChain, type WalkContext, type WalkOutcome, type WalkPipeline, type WalkStage } from './walk.js';

export { MAX_OUTCOMES, tcpStartsConnection } from './walk.js';
export type { RulesChoice, RulesTraceInput, TraceProto };

export interface RulesTraceStep {
  readonly hook: Hook;
  readonly table: NfTableName;
  readonly chain: string;
  /** 1-based rule number in its chain, as `iptables -L --line-numbers` */
  readonly rule: number;
  /** `-A CHAIN ...` as iptables-save prints it */
  readonly text: string;
}

export type RulesOutcome = WalkOutcome<RulesTraceStep>;

const isLimit = (m: NfMatch): boolean => m.kind === 'limit';

/**
 * A step of a path. Its `text` is printed when first read (a trace that is only counted or
 * compared never prints a rule): an own enumerable accessor, so JSON, spreads, structuredClone
 * and deep equality see the same five properties, in the same order, as a plain object; every
 * step shares the one getter (one hidden class), which prints the rule kept in a private field
 * (no property at all) and keeps the text there. Steps are values: one per rule position of a
 * chain value and hook, made on the first hit and kept in the walk's slot for that position
 * (IptablesChain.hit), shared by every path through it (chains are immutable, so a position
 * keeps its rule).
 */
class Step implements RulesTraceStep {
  readonly hook: Hook;
  readonly table: NfTableName;
  readonly chain: string;
  readonly rule: number;
  declare readonly text: string;
  readonly #rule: NfRule;
  #text: string | undefined = undefined;
  private static readonly TEXT: PropertyDescriptor = {
    get(this: Step): string {
      if (this.#text === undefined) this.#text = this.#rule.text === '' ? `-A ${this.chain}` : `-A ${this.chain} ${this.#rule.text}`;
      return this.#text;
    },
    enumerable: true,
    configurable: true,
  };
  constructor(hook: Hook, table: NfTableName, chain: string, rule: number, r: NfRule) {
    this.hook = hook;
    this.table = table;
    this.chain = chain;
    this.rule = rule;
    this.#rule = r;
    Object.defineProperty(this, 'text', Step.TEXT);
  }
}

/** the one table walker of every trace (a walk never runs inside another) */
const TABLE_WALK = new TableWalk();

/**
 * One iptables table's chain for a hook as the walk runs it, and the sink of its table walk: the
 * rules that matched go onto the walk's path as steps.
 */
class IptablesChain implements WalkChain<RulesTraceStep>, NfHitSink {
  // the run in progress, for the sink
  private hook: Hook = 'PREROUTING';
  private path: RulesTraceStep[] = [];
  /** rules with -m limit hit in this run (noted after it) */
  private limited: NfRule[] | undefined = undefined;

  constructor(
    private readonly nf: NfState,
    private readonly table: NfTableName,
    private readonly indexed: boolean,
  ) {}

  run(h: Hook, p: NfPacket, w: WalkContext<RulesTraceStep>): TableWalk {
    this.hook = h;
    this.path = w.path;
    this.limited = undefined;
    TABLE_WALK.run(this.nf, this.table, h, p, w, this.indexed, this);
    const limited = this.limited as NfRule[] | undefined; // set by hit() during the run
    if (limited !== undefined) for (const r of limited) w.note?.(`-m limit assumed to match (one packet never exceeds a rate): ${r.text}`);
    return TABLE_WALK;
  }

  policy(chain: string): string {
    return `${this.table} ${chain}`;
  }

  hit(chain: NfChain, index: number, rule: NfRule, slot: HitSlot): void {
    const h = HOOK_SLOT[this.hook];
    let steps = slot.memo as (RulesTraceStep | undefined)[] | undefined;
    if (steps === undefined) slot.memo = steps = [undefined, undefined, undefined, undefined, undefined];
    let s = steps[h];
    if (s === undefined || s.table !== this.table) {
      s = new Step(this.hook, this.table, chain.name, index + 1, rule);
      steps[h] ??= s;
    }
    this.path.push(s);
    if (rule.matches.some(isLimit)) (this.limited ??= []).push(rule);
  }
}

/** One iptables table's chain for a hook, as the walk runs it (for walks that also hold nft chains). */
export function iptablesChain(nf: NfState, table: NfTableName, indexed: boolean): WalkChain<RulesTraceStep> {
  return new IptablesChain(nf, table, indexed);
}

/** the walk's stages of each hook for an iptables rule set, made once per state and mode */
const pipelines = new WeakMap<NfState, [WalkPipeline<RulesTraceStep> | undefined, WalkPipeline<RulesTraceStep> | undefined]>();
function pipelineOf(nf: NfState, indexed: boolean): WalkPipeline<RulesTraceStep> {
  let both = pipelines.get(nf);
  if (!both) pipelines.set(nf, (both = [undefined, undefined]));
  return (both[indexed ? 0 : 1] ??= makePipeline(nf, indexed));
}
function makePipeline(nf: NfState, indexed: boolean): WalkPipeline<RulesTraceStep> {
  const chains = new Map<NfTableName, WalkChain<RulesTraceStep>>();
  const chainOf = (t: NfTableName): WalkChain<RulesTraceStep> => {
    let c = chains.get(t);
    if (!c) chains.set(t, (c = new IptablesChain(nf, t, indexed)));
    return c;
  };
  const stages = [] as (readonly WalkStage<RulesTraceStep>[])[];
  for (const h of HOOKS) {
    const out: WalkStage<RulesTraceStep>[] = [];
    for (const s of PIPELINE[h]) {
      if (s.kind === 'conntrack') out.push({ kind: 'conntrack' });
      else if (s.kind === 'table' && nf[s.table].present) out.push({ kind: 'chain', chain: chainOf(s.table) });
      else if (s.kind === 'nat' && nf.nat.present) out.push({ kind: 'nat', chains: [chainOf('nat')] });
    }
    stages[HOOK_SLOT[h]] = out;
  }
  return { stages: (h) => stages[HOOK_SLOT[h]]!, oifRules: '-o' };
}

/**
 * Every outcome of the packet through an iptables rule set (walk.ts traceWalk): one per
 * combination of statistic answers reached, in rule order.
 */
export function traceRules(nf: NfState, input: RulesTraceInput): RulesOutcome[] {
  return traceWalk(input, pipelineOf(nf, input.linear !== true));
}
