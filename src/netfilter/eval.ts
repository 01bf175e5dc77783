/**
 * One table's chain walk for one packet at one hook, as ipt_do_table (net/ipv4/netfilter/
 * ip_tables.c) does it: rules in order, all matches must hold, a jump pushes a return point,
 * a goto does not, RETURN or falling off a user chain pops, falling off a built-in chain applies
 * its policy. Non-terminating targets (MARK, CONNMARK, LOG, NOTRACK, CT) act and continue.
 *
 * The walk is pure: the packet is a value, the environment answers the questions a match may
 * ask (address types, the statistic match's coin), and the result lists every rule that matched.
 */
import { maskOf, type Ipv4 } from '../wire/ipv4.js';
import { CONTINUE, RETURN, type MatchExt, type TargetExt, type TargetResult, type WalkState } from './ext/api.js';
import { matchDef, matchDefs, TARGET_EXTS, targetExt } from './ext/index.js';
import type { RecentMatch } from './ext/recent.js';
import type { AddrType, NfChain, NfMatch, NfRule, NfState, NfTableName, NfTarget, NfVerdictPolicy, RejectWith } from './types.js';
import { formatRule } from './format.js';
import { chainIndex, INDEX_MIN_RULES, type ChainIndex } from './chainindex.js';
import type { Ipsets } from './ipset.js';

export { flagBits } from './ext/tcp.js';
import { recentDefault } from './ext/recent.js';
export { recentDefault };

export type Hook = 'PREROUTING' | 'INPUT' | 'FORWARD' | 'OUTPUT' | 'POSTROUTING';

/** What a match can see of a packet. */
export interface NfPacket {
  readonly src: Ipv4;
  readonly dst: Ipv4;
  /** IP protocol number */
  readonly proto: number;
  readonly sport?: number;
  readonly dport?: number;
  /** TCP flags as a bit set: FIN 1, SYN 2, RST 4, PSH 8, ACK 16, URG 32 */
  readonly tcpFlags?: number;
  readonly icmpType?: number;
  readonly icmpCode?: number;
  readonly iif?: string;
  readonly oif?: string;
  readonly physIn?: string;
  readonly physOut?: string;
  readonly bridged: boolean;
  readonly mark: number;
  /** conntrack view; undefined = no conntrack entry at all (treated as INVALID) */
  readonly ct?: NfCtView;
}

export interface NfCtView {
  readonly state: 'NEW' | 'ESTABLISHED' | 'RELATED' | 'INVALID' | 'UNTRACKED';
  readonly snat: boolean;
  readonly dnat: boolean;
  readonly origSrc: Ipv4;
  readonly origDst: Ipv4;
  readonly seenReply: boolean;
  readonly confirmed: boolean;
  readonly mark: number;
}

export interface NfEnv {
  /** the route type of an address in this namespace (inet_addr_type / _dev_table) */
  addrType(addr: Ipv4, dev: string | undefined): AddrType;
  /** the statistic match: does this branch match? The engine follows both answers. */
  choose(probability: number, what: string): boolean;
  /**
   * `-m recent`: the kernel's lists are runtime state no rule set shows. When absent, each walk
   * starts from empty lists (see recentDefault) and the result's `notes` say so.
   */
  recent?(m: RecentMatch, p: NfPacket): boolean;
  /** the namespace's ipsets, for `-m set`; when absent (or the set is missing) the match fails and `notes` say so */
  readonly ipsets?: Ipsets | undefined;
  /** receives the caveats a walk has to make (also collected into NfResult.notes) */
  note?(text: string): void;
}

export interface NfHit {
  readonly table: NfTableName;
  readonly chain: string;
  /** 1-based, as `iptables -L --line-numbers` counts */
  readonly index: number;
  readonly rule: NfRule;
}

export type NatTarget = Extract<NfTarget, { kind: 'SNAT' | 'DNAT' | 'MASQUERADE' | 'REDIRECT' }>;

export type NfVerdict =
  | { readonly kind: 'ACCEPT'; readonly policy?: string }
  | { readonly kind: 'DROP'; readonly policy?: string }
  | { readonly kind: 'REJECT'; readonly with: RejectWith }
  | { readonly kind: 'NAT'; readonly target: NatTarget };

export interface NfResult {
  readonly verdict: NfVerdict;
  /** the rule that decided (undefined when a built-in chain's policy did) */
  readonly decidedBy?: NfHit;
  /** the chain whose policy decided, when one did */
  readonly policyChain?: string;
  readonly mark: number;
  readonly ctmark: number;
  readonly notrack: boolean;
  /** every rule whose matches held, in order (including LOG, MARK and jumps) */
  readonly hits: readonly NfHit[];
  readonly logs: readonly string[];
  /** what the walk had to assume (-m recent lists, missing ipsets, ...); absent when nothing */
  readonly notes?: readonly string[];
}

const MAX_DEPTH = 64;

/** Does match `m` hold for packet `p`? (its extension's match, ext/) */
export function matchOne(m: NfMatch, p: NfPacket, env: NfEnv): boolean {
  return matchDef(m).match(m, p, env);
}

/** the table's built-in chain for the hook, when the table is present and has one */
export function builtinChain(nf: NfState, table: NfTableName, hook: Hook): NfChain | undefined {
  const t = nf[table];
  return t.present && Object.hasOwn(t.chains, hook) ? t.chains[hook] : undefined;
}

/**
 * Runs `table`'s built-in chain for `hook`. A table without that chain accepts.
 * Long chains are walked through their index (chainindex.ts): same hits, same verdict, same
 * sequence of `env.choose` calls as the rule-by-rule walk (runTableLinear), fewer rules tested.
 */
export function runTable(nf: NfState, table: NfTableName, hook: Hook, p: NfPacket, env: NfEnv): NfResult {
  return walk(nf, table, hook, p, env, true);
}

/** The plain rule-by-rule walk, kept as the reference the indexed walk is tested against. */
export function runTableLinear(nf: NfState, table: NfTableName, hook: Hook, p: NfPacket, env: NfEnv): NfResult {
  return walk(nf, table, hook, p, env, false);
}

/**
 * Receives each rule whose matches held, in walk order (`index` 0-based in `chain.rules`).
 * `slot.memo` is the sink's to keep what it makes of that rule position (the walks keep it with
 * the chain value: the same position of the same chain gets the same slot).
 */
export interface NfHitSink {
  hit(chain: NfChain, index: number, rule: NfRule, slot: HitSlot): void;
}
export interface HitSlot {
  memo: unknown;
  /** the rule has a `-m limit` match (which a walk takes as matching) */
  readonly limited: boolean;
}

/** runTable's sink: the hits as NfHit values */
class HitList implements NfHitSink {
  readonly hits: NfHit[] = [];
  constructor(private readonly table: NfTableName) {}
  hit(chain: NfChain, index: number, rule: NfRule): void {
    this.hits.push({ table: this.table, chain: chain.name, index: index + 1, rule });
  }
}

/** shared by every result without LOG lines (frozen: nobody may push to it) */
const NO_LOGS: readonly string[] = Object.freeze([]);

const ACCEPTED: NfVerdict = Object.freeze({ kind: 'ACCEPT' });

/** the policy verdicts, one value per policy and hook (a walk that falls off makes none) */
const POLICY_VERDICTS: Readonly<Record<NfVerdictPolicy, Readonly<Record<Hook, NfVerdict>>>> = {
  ACCEPT: policyVerdicts('ACCEPT'),
  DROP: policyVerdicts('DROP'),
};
function policyVerdicts(kind: NfVerdictPolicy): Readonly<Record<Hook, NfVerdict>> {
  const v = (hook: Hook): NfVerdict => Object.freeze({ kind, policy: hook });
  return { PREROUTING: v('PREROUTING'), INPUT: v('INPUT'), FORWARD: v('FORWARD'), OUTPUT: v('OUTPUT'), POSTROUTING: v('POSTROUTING') };
}

/** the environment of a walker between walks (never asked: it drops the caller's) */
const NO_ENV: NfEnv = { addrType: () => 'UNICAST', choose: () => true };

function recentViaOuter(this: TableWalk, m: RecentMatch, p: NfPacket): boolean {
  return this.outer.recent!(m, p);
}

/**
 * One table's walk, ipt_do_table's loop, with what it leaves behind: the verdict, marks, LOG
 * lines and notes (read them after `run`, before the next run). An instance is reused from walk
 * to walk, so a walk allocates nothing per rule: the chain stack is three arrays kept between
 * walks, the walker itself is the environment its matches see (the caller's, with the notes also
 * collected) and the state its targets change, and the packet is copied only when a target has
 * changed its mark or conntrack mark (once per change, not per rule).
 */
export class TableWalk implements WalkState {
  /** the verdict; ACCEPT when the table or the hook's chain is absent */
  verdict: NfVerdict = ACCEPTED;
  /** whether a rule's target decided (else a built-in chain's policy, or nothing) */
  byRule = false;
  /** the chain whose policy decided, when one did */
  policyChain: string | undefined = undefined;
  mark = 0;
  ctmark = 0;
  notrack = false;
  logs: string[] | undefined = undefined;
  /** the notes of this walk (also passed on to the caller's env as they come) */
  notes: string[] | undefined = undefined;

  /** the caller's environment, while a walk runs */
  outer: NfEnv = NO_ENV;
  /** what the matches see of the environment: set for each walk from the caller's */
  recent: ((m: RecentMatch, p: NfPacket) => boolean) | undefined = undefined;
  ipsets: Ipsets | undefined = undefined;

  // the stack of return points: chain (its plan), its candidate positions (all rules when undefined), next position
  private readonly stackPlan: (ChainPlan | undefined)[] = [];
  private readonly stackCand: (readonly number[] | undefined)[] = [];
  private readonly stackK: number[] = [];
  private deepest = 0;
  /**
   * The packet with the marks the targets have set, filled in (not made) when they change: what
   * the matches after them see. A match or env callback reads it during its call only.
   */
  private readonly view: NfPacketFields = blankPacket();
  private readonly viewCt: CtFields = { state: 'NEW', snat: false, dnat: false, origSrc: 0, origDst: 0, seenReply: false, confirmed: false, mark: 0 };

  addrType(addr: Ipv4, dev: string | undefined): AddrType {
    return this.outer.addrType(addr, dev);
  }
  choose(probability: number, what: string): boolean {
    return this.outer.choose(probability, what);
  }
  note(text: string): void {
    if (this.notes === undefined) this.notes = [text];
    else if (!this.notes.includes(text)) this.notes.push(text);
    this.outer.note?.(text);
  }

  /**
   * Runs `table`'s built-in chain for `hook` on `p`, every rule whose matches hold going to
   * `sink`. Long chains are walked through their index when `indexed` (chainindex.ts).
   */
  run(nf: NfState, table: NfTableName, hook: Hook, p: NfPacket, outer: NfEnv, indexed: boolean, sink: NfHitSink): void {
    this.runBase(nf[table].chains, builtinChain(nf, table, hook), table, hook, p, outer, indexed, sink);
  }

  /**
   * As run, for a caller that has looked up the table's chains and its built-in chain for `hook`
   * already (undefined: the table is absent or has no chain there, and accepts).
   */
  runBase(chains: NfState[NfTableName]['chains'], base: NfChain | undefined, table: NfTableName, hook: Hook, p: NfPacket, outer: NfEnv, indexed: boolean, sink: NfHitSink): void {
    const ctmark0 = p.ct?.mark ?? 0;
    this.verdict = ACCEPTED;
    this.byRule = false;
    this.policyChain = undefined;
    this.mark = p.mark;
    this.ctmark = ctmark0;
    this.notrack = false;
    this.logs = undefined;
    this.notes = undefined;
    if (!base) return;
    this.outer = outer;
    this.recent = outer.recent ? recentViaOuter : undefined;
    this.ipsets = outer.ipsets;
    try {
      this.loop(chains, base, table, hook, p, ctmark0, indexed, sink);
    } finally {
      this.outer = NO_ENV;
      this.recent = undefined;
      this.ipsets = undefined;
      // keep no chain of this rule set alive between walks
      for (let d = 0; d < this.deepest; d++) {
        this.stackPlan[d] = undefined;
        this.stackCand[d] = undefined;
      }
    }
  }

  private loop(chains: NfState[NfTableName]['chains'], base: NfChain, table: NfTableName, hook: Hook, p: NfPacket, ctmark0: number, indexed: boolean, sink: NfHitSink): void {
    const env = this as unknown as NfEnv;
    const stackPlan = this.stackPlan;
    const stackCand = this.stackCand;
    const stackK = this.stackK;
    let depth = 0;
    // the packet the matches see: p, or p with the marks the targets set so far
    let pv = p;
    let pvMark = p.mark;
    let pvCtmark = ctmark0;
    let plan = planOf(base);
    let cand = indexed ? candidates(plan, p) : undefined;
    let k = 0;
    let end = cand !== undefined ? cand.length : plan.chain.rules.length;
    let steps = 0;
    for (;;) {
      if (++steps > 1_000_000) throw new Error(`netpath bug: chain walk in ${table}/${hook} does not end`);
      if (k >= end) {
        // falling off: a user chain returns, a built-in chain (or, after a goto from it, the
        // chain gone to) applies the built-in chain's policy
        if (depth > 0) {
          depth--;
          plan = stackPlan[depth]!;
          cand = stackCand[depth];
          k = stackK[depth]!;
          end = cand !== undefined ? cand.length : plan.chain.rules.length;
          continue;
        }
        this.verdict = POLICY_VERDICTS[base.policy ?? 'ACCEPT'][hook];
        this.policyChain = hook;
        return;
      }
      const i = cand !== undefined ? cand[k]! : k;
      k++;
      const rp = plan.rules[i] ?? rulePlan(plan, i);
      // the rule's addresses and protocol, as ip_packet_match tests struct ipt_ip before any match
      if (((p.src & rp.smsk) === rp.src) === rp.sinv || ((p.dst & rp.dmsk) === rp.dst) === rp.dinv || (rp.proto === 0 || p.proto === rp.proto) === rp.pinv) continue;
      const tests = rp.tests;
      if (tests.length > 0) {
        if (this.mark !== pvMark || this.ctmark !== pvCtmark) {
          pvMark = this.mark;
          pvCtmark = this.ctmark;
          pv = pvMark === p.mark && pvCtmark === ctmark0 ? p : fillWithMarks(this.view, this.viewCt, p, pvMark, pvCtmark);
        }
        let ok = true;
        for (let j = 0; j < tests.length; j += 2) {
          if (!(tests[j + 1] as MatchTest).match(tests[j] as NfMatch, pv, env)) {
            ok = false;
            break;
          }
        }
        if (!ok) continue;
      }
      sink.hit(plan.chain, i, rp.rule, rp);
      const tg = rp.rule.target;
      if (!tg) continue;
      if (tg.kind === 'jump' || tg.kind === 'goto') {
        if (rp.chains !== chains) {
          const next = chains[tg.chain];
          if (!next) throw new Error(`netpath bug: ${table} chain ${tg.chain} missing (the loader checks jumps)`);
          rp.next = planOf(next);
          rp.chains = chains;
        }
        if (tg.kind === 'jump') {
          if (depth >= MAX_DEPTH) throw new Error(`netpath bug: chain nesting deeper than ${MAX_DEPTH} in ${table} (the loader refuses it)`);
          stackPlan[depth] = plan;
          stackCand[depth] = cand;
          stackK[depth] = k;
          depth++;
          if (depth > this.deepest) this.deepest = depth;
        }
        plan = rp.next!;
        cand = indexed ? candidates(plan, p) : undefined;
        k = 0;
        end = cand !== undefined ? cand.length : plan.chain.rules.length;
        continue;
      }
      const r = rp.answer ?? rp.ext!.run(tg, this);
      if (r === CONTINUE) continue;
      if (r === RETURN) {
        // as falling off the chain: back to the return point, or (none) the built-in chain's policy
        k = end;
        continue;
      }
      this.verdict = r;
      this.byRule = true;
      return;
    }
  }
}

type MatchTest = Pick<MatchExt<NfMatch>, 'match'>;

/**
 * What walks keep of a chain value (made on its first walk): its index, and per rule, made on
 * the rule's first test, what testing it takes.
 */
interface ChainPlan {
  readonly chain: NfChain;
  readonly ix: ChainIndex | undefined;
  readonly rules: (RulePlan | undefined)[];
}

interface RulePlan extends HitSlot {
  readonly rule: NfRule;
  /**
   * `-s`, `-d` and `-p` (the first base matches, struct ipt_ip's part of the rule) kept as
   * signed 32-bit numbers (small integers, never boxed): a packet matches when
   * (src & smsk) === src differs from sinv, and so on; 0/0/false
   * (any) when the rule has none. Tested before `tests`, as the kernel does, without reading the
   * match values again.
   */
  readonly smsk: number;
  readonly src: number;
  readonly sinv: boolean;
  readonly dmsk: number;
  readonly dst: number;
  readonly dinv: boolean;
  /** 0: any */
  readonly proto: number;
  readonly pinv: boolean;
  /** the other matches to test, each followed by its extension: [m0, ext0, m1, ext1, ...] (without those every packet passes) */
  readonly tests: readonly (NfMatch | MatchTest)[];
  /** the target's extension (undefined for none, a jump or a goto) */
  readonly ext: TargetExt<NfTarget & { readonly kind: string }> | undefined;
  /** a pure target's answer (the same for every packet), kept */
  readonly answer: TargetResult | undefined;
  /** a jump's or goto's chain, and the table's chains it was looked up in (a rule set's chains value) */
  next: ChainPlan | undefined;
  chains: object | undefined;
}

/**
 * Plans are made by constructors, not object literals: a literal's allocation site is one V8
 * tracks, and once most plans have outlived a scavenge it switches the site to old-space
 * allocation and throws away the optimised code of the walk that inlined it (seen with
 * --trace-deopt: "marking dependent code ... reason: code dependencies"), so that the walk ran
 * unoptimised again for a while, in the middle of a run of traces.
 */
class ChainPlanOf implements ChainPlan {
  constructor(
    readonly chain: NfChain,
    readonly ix: ChainIndex | undefined,
    readonly rules: (RulePlan | undefined)[],
  ) {}
}
class RulePlanOf implements RulePlan {
  next: ChainPlan | undefined = undefined;
  chains: object | undefined = undefined;
  memo: unknown = undefined;
  constructor(
    readonly rule: NfRule,
    readonly smsk: number,
    readonly src: number,
    readonly sinv: boolean,
    readonly dmsk: number,
    readonly dst: number,
    readonly dinv: boolean,
    readonly proto: number,
    readonly pinv: boolean,
    readonly tests: readonly (NfMatch | MatchTest)[],
    readonly ext: RulePlan['ext'],
    readonly answer: TargetResult | undefined,
    readonly limited: boolean,
  ) {}
}

const plans = new WeakMap<NfChain, ChainPlan>();

/** what a pure target is run on once (it reads none of it) */
const NO_STATE: WalkState = { mark: 0, ctmark: 0, notrack: false, logs: undefined };

/** the test of each match kind a walk must test (a kind every packet passes, `-m comment`, has none) */
const MATCH_TESTS = new Map<string, MatchTest>();
for (const [kind, def] of matchDefs()) if (def.passesAll !== true) MATCH_TESTS.set(kind, def as MatchTest);

/** each target kind's extension and whether its answer is the same for every packet (jumps and gotos have none) */
const TARGET_PLANS = new Map<string, { readonly ext: NonNullable<RulePlan['ext']>; readonly pure: boolean }>();
for (const kind of Object.keys(TARGET_EXTS)) {
  const ext = targetExt(kind) as NonNullable<RulePlan['ext']>;
  TARGET_PLANS.set(kind, { ext, pure: ext.pure === true });
}

/**
 * rulePlan's scratch list of tests: a plan keeps an exact-size copy (a list grown by push keeps
 * room for 17 entries, and a dump's plans are kept)
 */
const TESTS: (NfMatch | MatchTest)[] = [];

/** the tests of a rule without any (shared) */
const NO_TESTS: readonly (NfMatch | MatchTest)[] = Object.freeze([]);

function planOf(chain: NfChain): ChainPlan {
  let plan = plans.get(chain);
  if (plan === undefined) {
    const n = chain.rules.length;
    plans.set(chain, (plan = new ChainPlanOf(chain, n >= INDEX_MIN_RULES ? chainIndex(chain) : undefined, new Array<RulePlan | undefined>(n))));
  }
  return plan;
}

function rulePlan(plan: ChainPlan, i: number): RulePlan {
  const rule = plan.chain.rules[i]!;
  const tests = TESTS;
  tests.length = 0;
  let smsk = 0;
  let src = 0;
  let sinv = false;
  let dmsk = 0;
  let dst = 0;
  let dinv = false;
  let proto = 0;
  let pinv = false;
  // the base matches come first, -s -d -i -o -p -f (types.ts NfRule.matches)
  let base = true;
  let limited = false;
  const ms = rule.matches;
  for (let k = 0; k < ms.length; k++) {
    const m = ms[k]!;
    const kind = m.kind;
    if (base && kind === 'source') {
      smsk = maskOf(m.prefix.len) | 0;
      src = m.prefix.addr | 0;
      sinv = m.invert;
      continue;
    }
    if (base && kind === 'destination') {
      dmsk = maskOf(m.prefix.len) | 0;
      dst = m.prefix.addr | 0;
      dinv = m.invert;
      continue;
    }
    if (base && kind === 'protocol') {
      proto = m.proto;
      pinv = m.invert;
      continue;
    }
    if (kind !== 'in-interface' && kind !== 'out-interface' && kind !== 'fragment') base = false;
    if (kind === 'limit') limited = true;
    const test = MATCH_TESTS.get(kind);
    if (test !== undefined) tests.push(m, test);
  }
  const tg = rule.target;
  const tp = tg === undefined ? undefined : TARGET_PLANS.get(tg.kind);
  const ext = tp?.ext;
  const answer = tp?.pure === true ? tp.ext.run(tg!, NO_STATE) : undefined;
  const rp = new RulePlanOf(rule, smsk, src, sinv, dmsk, dst, dinv, proto, pinv, tests.length === 0 ? NO_TESTS : tests.slice(), ext, answer, limited);
  plan.rules[i] = rp;
  return rp;
}

/** the rule positions of the plan's chain to try for `p` (undefined: all of them, in order) */
function candidates(plan: ChainPlan, p: NfPacket): readonly number[] | undefined {
  const ix = plan.ix;
  return ix === undefined ? undefined : ix.candidates(p.dst, p.proto, p.dport);
}

/** every field of a packet, an absent one as undefined (what a match reads is the same) */
export type NfPacketFields = { -readonly [K in keyof NfPacket]-?: NfPacket[K] | undefined };

/** an NfCtView to fill in */
type CtFields = { -readonly [K in keyof NfCtView]: NfCtView[K] };

/** a packet to fill in (every field undefined or zero) */
export function blankPacket(): NfPacketFields {
  return { src: 0, dst: 0, proto: 0, sport: undefined, dport: undefined, tcpFlags: undefined, icmpType: undefined, icmpCode: undefined, iif: undefined, oif: undefined, physIn: undefined, physOut: undefined, bridged: false, mark: 0, ct: undefined };
}

/** `v` made `p` with the marks the walk's targets have set, as the matches after them see it */
function fillWithMarks(v: NfPacketFields, vct: CtFields, p: NfPacket, mark: number, ctmark: number): NfPacket {
  v.src = p.src;
  v.dst = p.dst;
  v.proto = p.proto;
  v.sport = p.sport;
  v.dport = p.dport;
  v.tcpFlags = p.tcpFlags;
  v.icmpType = p.icmpType;
  v.icmpCode = p.icmpCode;
  v.iif = p.iif;
  v.oif = p.oif;
  v.physIn = p.physIn;
  v.physOut = p.physOut;
  v.bridged = p.bridged;
  v.mark = mark;
  const ct = p.ct;
  if (ct === undefined) v.ct = undefined;
  else {
    vct.state = ct.state;
    vct.snat = ct.snat;
    vct.dnat = ct.dnat;
    vct.origSrc = ct.origSrc;
    vct.origDst = ct.origDst;
    vct.seenReply = ct.seenReply;
    vct.confirmed = ct.confirmed;
    vct.mark = ctmark;
    v.ct = vct;
  }
  return v as NfPacket;
}


function result(verdict: NfVerdict, decidedBy: NfHit | undefined, policyChain: string | undefined, mark: number, ctmark: number, notrack: boolean, hits: readonly NfHit[], logs: readonly string[], notes: readonly string[] | undefined): NfResult {
  // the same properties, in the same order, as before: verdict, decidedBy | policyChain, then the rest
  if (decidedBy !== undefined) {
    return notes !== undefined ? { verdict, decidedBy, mark, ctmark, notrack, hits, logs, notes } : { verdict, decidedBy, mark, ctmark, notrack, hits, logs };
  }
  if (policyChain !== undefined) {
    return notes !== undefined ? { verdict, policyChain, mark, ctmark, notrack, hits, logs, notes } : { verdict, policyChain, mark, ctmark, notrack, hits, logs };
  }
  return notes !== undefined ? { verdict, mark, ctmark, notrack, hits, logs, notes } : { verdict, mark, ctmark, notrack, hits, logs };
}

/** a walker for runTable, taken while a walk runs (a walk started from inside a walk makes its own) */
let spare: TableWalk | undefined;

function walk(nf: NfState, table: NfTableName, hook: Hook, p: NfPacket, outer: NfEnv, indexed: boolean): NfResult {
  const base = builtinChain(nf, table, hook);
  if (!base) return { verdict: { kind: 'ACCEPT' }, mark: p.mark, ctmark: p.ct?.mark ?? 0, notrack: false, hits: [], logs: [] };
  const w = spare ?? new TableWalk();
  spare = undefined;
  try {
    const list = new HitList(table);
    w.run(nf, table, hook, p, outer, indexed, list);
    const hits = list.hits;
    return result(w.verdict, w.byRule ? hits[hits.length - 1] : undefined, w.policyChain, w.mark, w.ctmark, w.notrack, hits, w.logs ?? NO_LOGS, w.notes);
  } finally {
    spare = w;
  }
}

/**
 * Explain on demand: why one rule does or does not match a packet — the first match that fails
 * (in the order the kernel tests them), or undefined when all hold. Statistic and recent matches
 * are reported without asking the environment.
 */
export function explainRule(rule: NfRule, p: NfPacket, env: Pick<NfEnv, 'addrType' | 'ipsets'>): { readonly match: NfMatch; readonly text: string } | undefined {
  const quiet: NfEnv = { ...env, choose: () => true, recent: (m) => recentDefault(m) !== m.invert };
  for (const m of rule.matches) {
    if (m.kind === 'statistic') continue;
    if (!matchOne(m, p, quiet)) return { match: m, text: formatRule([m], undefined) };
  }
  return undefined;
}
