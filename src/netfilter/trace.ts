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
import { builtinChain, TableWalk, type HitSlot, type Hook, type NfHitSink, type NfPacket } from './eval.js';
import { HOOK_SLOT, HOOKS, PIPELINE } from './hooks.js';
import type { NfChain, NfRule, NfState, NfTableName } from './types.js';
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

/**
 * A step of a path: one per rule position of a chain value, hook and table, made on the first hit
 * and kept in the walk's slot for that position (IptablesChain.hit), shared by every path through
 * it (chains are immutable, so a position keeps its rule). Its text is joined, not printed: the
 * rule's own text behind `-A CHAIN`, flattened only when something reads it.
 */
function step(hook: Hook, table: NfTableName, chain: string, rule: number, r: NfRule): RulesTraceStep {
  return new Step(hook, table, chain, rule, r.text === '' ? `-A ${chain}` : `-A ${chain} ${r.text}`);
}

/** a step, made by a constructor (why: eval.ts, ChainPlanOf) */
class Step implements RulesTraceStep {
  constructor(
    readonly hook: Hook,
    readonly table: NfTableName,
    readonly chain: string,
    readonly rule: number,
    readonly text: string,
  ) {}
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
  /** the table's chains, and its built-in chain of each hook (HOOK_SLOT), looked up once */
  private readonly chains: NfState[NfTableName]['chains'];
  private readonly base: (NfChain | undefined)[];

  constructor(
    nf: NfState,
    private readonly table: NfTableName,
    private readonly indexed: boolean,
  ) {
    const t = nf[table];
    this.chains = t.chains;
    this.base = HOOKS.map((h) => builtinChain(nf, table, h));
  }

  run(h: Hook, p: NfPacket, w: WalkContext<RulesTraceStep>): TableWalk {
    this.hook = h;
    this.path = w.path;
    this.limited = undefined;
    TABLE_WALK.runBase(this.chains, this.base[HOOK_SLOT[h]], this.table, h, p, w, this.indexed, this);
    const limited = this.limited as NfRule[] | undefined; // set by hit() during the run
    if (limited !== undefined) for (const r of limited) w.note?.(`-m limit assumed to match (one packet never exceeds a rate): ${r.text}`);
    return TABLE_WALK;
  }

  policy(chain: string): string {
    return `${this.table} ${chain}`;
  }

  hit(chain: NfChain, index: number, rule: NfRule, slot: HitSlot): void {
    // the slot keeps the step of the first hook that hit the position, and (a rule of a user
    // chain reached from several hooks) an array of them by HOOK_SLOT once another hook hits it
    const memo = slot.memo as RulesTraceStep | (RulesTraceStep | undefined)[] | undefined;
    let s: RulesTraceStep | undefined;
    if (memo === undefined) slot.memo = s = step(this.hook, this.table, chain.name, index + 1, rule);
    else if (!Array.isArray(memo)) {
      if (memo.hook === this.hook) s = memo;
      else {
        const steps: (RulesTraceStep | undefined)[] = [undefined, undefined, undefined, undefined, undefined];
        steps[HOOK_SLOT[memo.hook]] = memo;
        steps[HOOK_SLOT[this.hook]] = s = step(this.hook, this.table, chain.name, index + 1, rule);
        slot.memo = steps;
      }
    } else {
      const h = HOOK_SLOT[this.hook];
      s = memo[h] ??= step(this.hook, this.table, chain.name, index + 1, rule);
    }
    if (s.table !== this.table) s = step(this.hook, this.table, chain.name, index + 1, rule);
    this.path.push(s);
    if (slot.limited) (this.limited ??= []).push(rule);
  }
}

/**
 * Whether the table's chain for the hook can change nothing: absent, or without rules and with
 * policy ACCEPT (its run would accept, leave the marks and hit no rule). The walk leaves such
 * stages out.
 */
function inert(nf: NfState, table: NfTableName, h: Hook): boolean {
  const c = builtinChain(nf, table, h);
  return c === undefined || (c.rules.length === 0 && c.policy !== 'DROP');
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
      else if (s.kind === 'table' && !inert(nf, s.table, h)) out.push({ kind: 'chain', chain: chainOf(s.table) });
      else if (s.kind === 'nat' && !inert(nf, 'nat', h)) out.push({ kind: 'nat', chains: [chainOf('nat')] });
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
