/**
 * One table's chain walk for one packet at one hook, as ipt_do_table (net/ipv4/netfilter/
 * ip_tables.c) does it: rules in order, all matches must hold, a jump pushes a return point,
 * a goto does not, RETURN or falling off a user chain pops, falling off a built-in chain applies
 * its policy. Non-terminating targets (MARK, CONNMARK, LOG, NOTRACK, CT) act and continue.
 *
 * The walk is pure: the packet is a value, the environment answers the questions a match may
 * ask (address types, the statistic match's coin), and the result lists every rule that matched.
 */
import type { Ipv4 } from '../wire/ipv4.js';
import { CONTINUE, RETURN, type WalkState } from './ext/api.js';
import { matchDef, targetExt } from './ext/index.js';
import type { RecentMatch } from './ext/recent.js';
import type { AddrType, NfChain, NfMatch, NfRule, NfState, NfTableName, NfTarget, RejectWith } from './types.js';
import { formatRule } from './format.js';
import { chainIndex } from './chainindex.js';
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
  readonly ipsets?: Ipsets;
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

/** Where a walk stands in one chain: `cand` lists the rule positions to try (all when undefined). */
interface Frame {
  chain: NfChain;
  cand: readonly number[] | undefined;
  k: number;
}

/**
 * The environment a walk hands to matchOne: the caller's, with the notes also collected for the
 * result. A class (one allocation, one shape) rather than a spread of the caller's object.
 */
class WalkEnv implements NfEnv {
  notes: string[] | undefined;
  // `declare`: no own property unless the caller's env has one (as the spread of it had)
  declare readonly recent?: NonNullable<NfEnv['recent']>;
  declare readonly ipsets?: Ipsets;
  constructor(private readonly outer: NfEnv) {
    if (outer.recent) (this as { recent?: NonNullable<NfEnv['recent']> }).recent = outer.recent.bind(outer);
    if (outer.ipsets) (this as { ipsets?: Ipsets }).ipsets = outer.ipsets;
  }
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
}

/** shared by every result without LOG lines (frozen: nobody may push to it) */
const NO_LOGS: readonly string[] = Object.freeze([]);

function enterChain(chain: NfChain, p: NfPacket, indexed: boolean): Frame {
  const ix = indexed ? chainIndex(chain) : undefined;
  return { chain, cand: ix === undefined ? undefined : ix.candidates(p.dst, p.proto, p.dport), k: 0 };
}

function frameEnd(f: Frame): number {
  return f.cand !== undefined ? f.cand.length : f.chain.rules.length;
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

/** what the targets of one walk have changed so far */
class Changes implements WalkState {
  logs: string[] | undefined = undefined;
  notrack = false;
  constructor(
    public mark: number,
    public ctmark: number,
  ) {}
}

function walk(nf: NfState, table: NfTableName, hook: Hook, p: NfPacket, outer: NfEnv, indexed: boolean): NfResult {
  const t = nf[table];
  const base = Object.hasOwn(t.chains, hook) ? t.chains[hook] : undefined;
  const hits: NfHit[] = [];
  const ctmark0 = p.ct?.mark ?? 0;
  if (!t.present || !base) return { verdict: { kind: 'ACCEPT' }, mark: p.mark, ctmark: ctmark0, notrack: false, hits, logs: [] };
  const w = new Changes(p.mark, ctmark0);
  const env = new WalkEnv(outer);
  const done = (verdict: NfVerdict, decidedBy: NfHit | undefined, policyChain?: string): NfResult =>
    result(verdict, decidedBy, policyChain, w.mark, w.ctmark, w.notrack, hits, w.logs ?? NO_LOGS, env.notes);
  const enter = (chain: NfChain): Frame => enterChain(chain, p, indexed);
  const end = frameEnd;

  const stack: Frame[] = [];
  const baseFrame = enter(base);
  let f: Frame = baseFrame;
  let steps = 0;
  for (;;) {
    if (++steps > 1_000_000) throw new Error(`netpath bug: chain walk in ${table}/${hook} does not end`);
    if (f.k >= end(f)) {
      // falling off: a user chain returns, a built-in chain applies its policy
      const back = stack.pop();
      if (back) {
        f = back;
        continue;
      }
      if (f.chain !== base) {
        // only reachable after a goto from the base chain: the policy of the base chain applies
        f = baseFrame;
        f.k = end(f);
        continue;
      }
      const policy = base.policy ?? 'ACCEPT';
      return done({ kind: policy, policy: hook }, undefined, hook);
    }
    const i = f.cand ? f.cand[f.k]! : f.k;
    const chain = f.chain;
    const rule = chain.rules[i]!;
    const ms = rule.matches;
    let ok = true;
    if (ms.length > 0) {
      const mark = w.mark;
      const ctmark = w.ctmark;
      const pv: NfPacket = mark === p.mark && ctmark === ctmark0 ? p : { ...p, mark, ...(p.ct ? { ct: { ...p.ct, mark: ctmark } } : {}) };
      for (let j = 0; j < ms.length; j++) {
        if (!matchOne(ms[j]!, pv, env)) {
          ok = false;
          break;
        }
      }
    }
    f.k++;
    if (!ok) continue;
    const hit: NfHit = { table, chain: chain.name, index: i + 1, rule };
    hits.push(hit);
    const tg = rule.target;
    if (!tg) continue;
    if (tg.kind === 'jump' || tg.kind === 'goto') {
      const next = t.chains[tg.chain];
      if (!next) throw new Error(`netpath bug: ${table} chain ${tg.chain} missing (the loader checks jumps)`);
      if (tg.kind === 'jump') {
        if (stack.length >= MAX_DEPTH) throw new Error(`netpath bug: chain nesting deeper than ${MAX_DEPTH} in ${table} (the loader refuses it)`);
        stack.push(f);
      }
      f = enter(next);
      continue;
    }
    const r = targetExt(tg.kind)!.run(tg, w);
    if (r === CONTINUE) continue;
    if (r === RETURN) {
      const back = stack.pop();
      if (back) f = back;
      else {
        f = baseFrame;
        f.k = end(f);
      }
      continue;
    }
    return done(r, hit);
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
