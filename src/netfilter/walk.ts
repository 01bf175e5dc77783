/**
 * The walk behind `netpath rules trace`: one packet, the first of a new connection, through one
 * host's rules, no topology. The same walk serves an iptables-save dump (src/netfilter/trace.ts),
 * an nft ruleset and both at once (src/nft/trace.ts): they differ only in the stages each hook
 * runs, which they give as data (WalkStage); the order of hooks, conntrack and NAT live here once.
 *
 *   source not local:  PREROUTING → (destination local after DNAT?)
 *                        yes: INPUT                              (delivered to a local socket)
 *                        no:  FORWARD → POSTROUTING
 *   source local:      OUTPUT → POSTROUTING, and when the destination is local, back in through
 *                        lo: PREROUTING → INPUT (the NAT chains are not consulted again: both
 *                        bindings were made on the way out)
 *
 * Conntrack is as the kernel has it for a first packet: stages before the hook's conntrack stage
 * (iptables' raw table, nft chains at priority -300) see no entry, which conntrack matches read as
 * INVALID (xt_conntrack and nft_ct without skb->_nfct); from the conntrack stage on the entry is
 * NEW; a packet sent back in through lo keeps the entry it left with, so raw sees NEW there
 * (observed: raw PREROUTING and OUTPUT counters in a namespace, docs/kernel-notes.md). A TCP
 * packet conntrack does not take as a first packet (tcpStartsConnection) gets no entry at all:
 * INVALID everywhere, and the NAT chains are not consulted (nf_nat_inet_fn needs an entry).
 *
 * Every `-m statistic` rule or `numgen` reached splits the walk: each branch is one outcome with
 * its probability (the product of p and 1-p along the way). What cannot be known from a dump (the
 * `-m recent` lists, the MASQUERADE address, an outgoing interface nobody named) is said in the
 * outcome's notes, never guessed silently.
 */
import { ConfigError } from '../model/errors.js';
import { formatIpv4, type Ipv4 } from '../wire/ipv4.js';
import { blankPacket, type Hook, type NatTarget, type NfCtView, type NfEnv, type NfPacket, type NfPacketFields, type NfVerdict } from './eval.js';
import type { Ipsets } from './ipset.js';
import { natPort } from './nat.js';
import type { AddrType, NfMatch, RejectWith } from './types.js';

export type TraceProto = 'tcp' | 'udp' | 'sctp' | 'icmp';
const PROTO_NUM: Readonly<Record<TraceProto, number>> = { tcp: 6, udp: 17, sctp: 132, icmp: 1 };

export interface RulesTraceInput {
  readonly src: Ipv4;
  readonly sport?: number;
  readonly dst: Ipv4;
  readonly dport?: number;
  readonly proto: TraceProto;
  readonly iif?: string;
  readonly oif?: string;
  /**
   * TCP flags of the packet, as NfPacket.tcpFlags (FIN 1, SYN 2, RST 4, PSH 8, ACK 16, URG 32);
   * default SYN. A combination conntrack does not take as a first packet (tcpStartsConnection)
   * gets no conntrack entry: INVALID, and the nat chains are not consulted.
   */
  readonly tcpFlags?: number;
  /** the host's own addresses (127.0.0.0/8 is always local) */
  readonly local: readonly Ipv4[];
  readonly ipsets?: Ipsets;
  /** the plain rule-by-rule evaluator instead of the indexed one (for tests and bench) */
  readonly linear?: boolean;
}

/** One rule whose matches held: an iptables rule (`table` is its table) or an nft rule (`FAMILY TABLE`). */
export interface WalkStep {
  readonly hook: Hook;
  readonly table: string;
  readonly chain: string;
  /** 1-based rule number in its chain, as `iptables -L --line-numbers` (or the nft chain) counts */
  readonly rule: number;
  /** the rule as iptables-save (`-A CHAIN ...`) or `nft list ruleset` prints it */
  readonly text: string;
}

export interface RulesChoice {
  readonly what: string;
  readonly probability: number;
  readonly matched: boolean;
}

export interface WalkOutcome<S extends WalkStep = WalkStep> {
  readonly probability: number;
  readonly verdict: 'ACCEPT' | 'DROP' | 'REJECT';
  readonly rejectWith?: RejectWith;
  /** where the packet ended: delivered to a local socket, sent out (forwarded or local output), or dropped */
  readonly delivery: 'local' | 'forward' | 'output' | 'dropped';
  /** `IP[:PORT]` after DNAT/REDIRECT, when the destination changed */
  readonly dnat?: string;
  /** `IP[:PORT]` after SNAT */
  readonly snat?: string;
  readonly masquerade: boolean;
  /** the packet mark at the end, hex, when not 0 */
  readonly mark?: string;
  /** the chain whose policy decided, when no rule did (`filter FORWARD`) */
  readonly policy?: string;
  readonly path: readonly S[];
  readonly choices: readonly RulesChoice[];
  readonly notes: readonly string[];
}

/** at most this many outcomes are explored (a service with more endpoints is cut, and says so) */
export const MAX_OUTCOMES = 4096;

/**
 * What a chain's run gives the walk: the iptables evaluator's TableWalk and the nft evaluator's
 * result both are one. Its notes have already gone to the walk (the evaluators pass each note on
 * to their environment as it comes).
 */
export interface ChainResult {
  readonly verdict: NfVerdict;
  readonly mark: number;
  readonly ctmark: number;
  readonly notrack: boolean;
  /** the chain whose policy decided, when one did */
  readonly policyChain?: string | undefined;
}

/** What a chain's run gets from the walk: its environment, and the path its hits go on. */
export interface WalkContext<S extends WalkStep = WalkStep> extends NfEnv {
  readonly path: S[];
}

/** One chain as the walk runs it: an iptables table's chain for the hook, or an nft base chain. */
export interface WalkChain<S extends WalkStep = WalkStep> {
  /** runs the chain for `p` at `hook`, pushing the rules whose matches held onto `w.path` */
  run(hook: Hook, p: NfPacket, w: WalkContext<S>): ChainResult;
  /** what an outcome's `policy` says when the policy of `chain` decided (`filter FORWARD`) */
  policy(chain: string): string;
}

/** One function registered at a hook, as the walk sees it (src/netfilter/hooks.ts PIPELINE). */
export type WalkStage<S extends WalkStep = WalkStep> =
  | { readonly kind: 'chain'; readonly chain: WalkChain<S> }
  /** nf_conntrack_in: from here on the packet has its entry */
  | { readonly kind: 'conntrack' }
  /** the NAT core: its chains in the order it calls them; the first binding wins (nf_nat_inet_fn) */
  | { readonly kind: 'nat'; readonly chains: readonly WalkChain<S>[] };

export interface WalkPipeline<S extends WalkStep = WalkStep> {
  /** the stages of each hook, in order (only the ones that exist in this rule set) */
  stages(hook: Hook): readonly WalkStage<S>[];
  /** how the rules that test the outgoing interface are called, for the note when none was given */
  readonly oifRules: string;
}

function isLocalAddr(a: Ipv4, local: readonly Ipv4[]): boolean {
  return a >>> 24 === 127 || local.includes(a);
}

function addrTypeOf(a: Ipv4, local: readonly Ipv4[]): AddrType {
  if (isLocalAddr(a, local)) return 'LOCAL';
  if (a === 0xffffffff) return 'BROADCAST';
  if (a >>> 28 === 14) return 'MULTICAST';
  return 'UNICAST';
}

/**
 * Whether conntrack makes a new entry for a TCP packet without one (nf_conntrack_proto_tcp.c,
 * tcp_new through tcp_conntracks[0][index][sNO]): a SYN without ACK, RST or FIN, or (with the
 * default nf_conntrack_tcp_loose=1, picking up mid-stream) an ACK without SYN, RST or FIN. PSH
 * and URG change nothing. Every other combination is INVALID (no entry).
 */
export function tcpStartsConnection(flags: number): boolean {
  const f = flags & 0x17; // FIN SYN RST ACK
  return f === 0x02 || f === 0x10;
}

/**
 * `IP[:PORT]` texts of NAT results, kept in a fixed table of slots, one text per slot (a text
 * whose slot another address took is made again). A Map grew by rehashing all its entries, in
 * the middle of a trace: the trace that took the 1,025th endpoint took 250 µs more
 * (docs/performance.md, "The dump p99").
 */
const ENDPOINT_BITS = 12;
const ENDPOINT_SLOTS = 1 << ENDPOINT_BITS;
const endpointKeys = new Float64Array(ENDPOINT_SLOTS).fill(-1);
const endpointTexts: (string | undefined)[] = new Array<string | undefined>(ENDPOINT_SLOTS).fill(undefined);
export function endpoint(a: Ipv4, port: number | undefined): string {
  const p = port === undefined ? 0 : port + 1;
  const key = a * 65537 + p; // exact: below 2^49
  const slot = (Math.imul(a | 0, 0x9e3779b1) ^ Math.imul(p, 0x85ebca6b)) >>> (32 - ENDPOINT_BITS);
  if (endpointKeys[slot] === key) return endpointTexts[slot]!;
  const t = port === undefined ? formatIpv4(a) : `${formatIpv4(a)}:${port}`;
  endpointKeys[slot] = key;
  endpointTexts[slot] = t;
  return t;
}

const NO_COINS: readonly boolean[] = [];
// what a Walker holds between traces (frozen: nothing may be added to them)
const NO_NOTES: string[] = Object.freeze([]) as unknown as string[];
const NO_CHOICES: RulesChoice[] = Object.freeze([]) as unknown as RulesChoice[];
const NO_PATH: WalkStep[] = Object.freeze([]) as unknown as WalkStep[];
const NO_INPUT: RulesTraceInput = { src: 0, dst: 0, proto: 'tcp', local: [] };
const NO_PIPELINE: WalkPipeline = { stages: () => [], oifRules: '' };

/** the walker of traceWalk, taken while a trace runs (a trace started from inside one makes its own) */
let spare: Walker<WalkStep> | undefined;

/**
 * The walks of one traced packet, one at a time: what a walk has done to the packet so far, the
 * path, notes and statistic answers it collects, and the environment its chains see (addresses,
 * coins, -m recent lists, ipsets, notes). One instance serves every walk of a traceWalk call;
 * each walk gets fresh path, notes and choices (they become its outcome).
 */
class Walker<S extends WalkStep> implements WalkContext<S> {
  // the traced packet and its rules (start() sets them)
  private input: RulesTraceInput = NO_INPUT;
  private pipeline: WalkPipeline<S> = NO_PIPELINE as WalkPipeline<S>;
  private proto = 6;
  private tcpFlags = 2;
  /** a TCP packet conntrack makes no entry for: INVALID to every match, and no NAT (nf_nat_inet_fn needs a ct) */
  private invalid = false;
  /** the environment's ipsets, for `-m set` (undefined: none given) */
  ipsets: Ipsets | undefined = undefined;

  // one walk: what it has found and changed so far
  private forced: readonly boolean[] = NO_COINS;
  notes: string[] = NO_NOTES;
  choices: RulesChoice[] = NO_CHOICES;
  path: S[] = NO_PATH as S[];
  private recentLists: Map<string, Map<number, number>> | undefined = undefined;
  private src: Ipv4 = 0;
  private dst: Ipv4 = 0;
  private sport: number | undefined = undefined;
  private dport: number | undefined = undefined;
  private mark = 0;
  private ctmark = 0;
  private tracked = true;
  /** past a conntrack stage: the packet has its entry (before it, none: INVALID) */
  private attached = false;
  private dnat: string | undefined = undefined;
  private snat: string | undefined = undefined;
  private masquerade = false;
  /**
   * The packet as the chains see it: filled in (not made) again when the walk has changed it or
   * a hook sees other interfaces; a chain reads it while it runs only.
   */
  private readonly pk: NfPacketFields = blankPacket();
  private readonly pkCt: { -readonly [K in keyof NfCtView]: NfCtView[K] } = { state: 'NEW', snat: false, dnat: false, origSrc: 0, origDst: 0, seenReply: false, confirmed: false, mark: 0 };
  private pkValid = false;
  // where the walk stopped
  private verdict: WalkOutcome['verdict'] = 'ACCEPT';
  private delivery: WalkOutcome['delivery'] = 'local';
  private rejectWith: RejectWith | undefined = undefined;
  private policy: string | undefined = undefined;
  private noOif = '';
  private oifRules = '';

  /** takes the packet to trace and the stages its hooks run */
  start(input: RulesTraceInput, pipeline: WalkPipeline<S>): void {
    this.input = input;
    this.proto = PROTO_NUM[input.proto];
    this.tcpFlags = input.tcpFlags ?? 2;
    this.invalid = this.proto === 6 && !tcpStartsConnection(this.tcpFlags);
    this.ipsets = input.ipsets;
    this.pkCt.origSrc = input.src;
    this.pkCt.origDst = input.dst;
    if (pipeline.oifRules !== this.oifRules || this.noOif === '') {
      this.oifRules = pipeline.oifRules;
      this.noOif = `no --oif given: rules with ${pipeline.oifRules} match no interface name (! -o matches)`;
    }
    this.pipeline = pipeline;
  }

  /** lets go of the packet, its rules and its outcomes */
  end(): void {
    this.input = NO_INPUT;
    this.pipeline = NO_PIPELINE as WalkPipeline<S>;
    this.ipsets = undefined;
    this.forced = NO_COINS;
    this.notes = NO_NOTES;
    this.choices = NO_CHOICES;
    this.path = NO_PATH as S[];
    this.recentLists = undefined;
    this.pkValid = false;
  }

  // the environment of the chains (NfEnv)
  addrType(a: Ipv4): AddrType {
    return addrTypeOf(a, this.input.local);
  }
  choose(probability: number, what: string): boolean {
    const matched = this.forced[this.choices.length] ?? true;
    this.choices.push({ what, probability, matched });
    return matched;
  }
  recent(m: Extract<NfMatch, { kind: 'recent' }>, p: NfPacket): boolean {
    return recentMatch((this.recentLists ??= new Map()), m, p, this);
  }
  note(t: string): void {
    if (!this.notes.includes(t)) this.notes.push(t);
  }

  /** One walk with the statistic answers forced for the first `forced.length` coins (true after). */
  walk(forced: readonly boolean[]): void {
    const input = this.input;
    this.forced = forced;
    this.notes = [];
    this.choices = [];
    this.path = [];
    this.recentLists = undefined;
    this.src = input.src;
    this.dst = input.dst;
    this.sport = input.sport;
    this.dport = input.dport;
    this.mark = 0;
    this.ctmark = 0;
    this.tracked = true;
    this.attached = false;
    this.dnat = undefined;
    this.snat = undefined;
    this.masquerade = false;
    this.pkValid = false;
    this.rejectWith = undefined;
    this.policy = undefined;
    if (!isLocalAddr(input.src, input.local)) {
      if (this.hookRun('PREROUTING', input.iif, undefined, false)) return;
      if (isLocalAddr(this.dst, input.local)) {
        if (!this.hookRun('INPUT', input.iif, undefined, false)) this.stop('ACCEPT', 'local');
        return;
      }
      if (input.oif === undefined) this.note(this.noOif);
      if (!this.hookRun('FORWARD', input.iif, input.oif, false) && !this.hookRun('POSTROUTING', undefined, input.oif, false)) this.stop('ACCEPT', 'forward');
      return;
    }
    if (input.oif === undefined && !isLocalAddr(this.dst, input.local)) this.note(this.noOif);
    if (this.hookRun('OUTPUT', undefined, this.outIf(), false)) return;
    if (this.hookRun('POSTROUTING', undefined, this.outIf(), false)) return;
    if (!isLocalAddr(this.dst, input.local)) {
      this.stop('ACCEPT', 'output');
      return;
    }
    // back in through lo with the entry it left with: NAT was done on the way out
    if (!this.hookRun('PREROUTING', 'lo', undefined, true) && !this.hookRun('INPUT', 'lo', undefined, true)) this.stop('ACCEPT', 'local');
  }

  private outIf(): string | undefined {
    return isLocalAddr(this.dst, this.input.local) ? 'lo' : this.input.oif;
  }

  private stop(verdict: WalkOutcome['verdict'], delivery: WalkOutcome['delivery']): void {
    this.verdict = verdict;
    this.delivery = delivery;
  }

  /** the packet as the chains see it (the last one again while the walk has not changed it) */
  private packet(iif: string | undefined, oif: string | undefined): NfPacket {
    const pk = this.pk;
    if (this.pkValid && pk.iif === iif && pk.oif === oif) return pk as NfPacket;
    const proto = this.proto;
    const ported = proto !== 1;
    pk.src = this.src;
    pk.dst = this.dst;
    pk.proto = proto;
    pk.sport = ported ? this.sport : undefined;
    pk.dport = ported ? this.dport : undefined;
    pk.tcpFlags = proto === 6 ? this.tcpFlags : undefined;
    pk.icmpType = ported ? undefined : 8;
    pk.icmpCode = ported ? undefined : 0;
    pk.iif = iif;
    pk.oif = oif;
    pk.mark = this.mark;
    // no entry before conntrack ran, nor for a TCP packet it refuses; NOTRACK leaves the untracked one
    if (this.tracked && (!this.attached || this.invalid)) pk.ct = undefined;
    else {
      const ct = this.pkCt;
      ct.state = this.tracked ? 'NEW' : 'UNTRACKED';
      ct.snat = this.snat !== undefined || this.masquerade;
      ct.dnat = this.dnat !== undefined;
      ct.mark = this.ctmark;
      pk.ct = ct;
    }
    this.pkValid = true;
    return pk as NfPacket;
  }

  /** takes one chain's result; true when the packet stops there (verdict and delivery set) */
  private take(h: Hook, chain: WalkChain<S>, res: ChainResult): boolean {
    if (res.mark !== this.mark || res.ctmark !== this.ctmark || (res.notrack && this.tracked)) this.pkValid = false;
    this.mark = res.mark;
    this.ctmark = res.ctmark;
    if (res.notrack) this.tracked = false;
    const v = res.verdict;
    if (v.kind === 'DROP') {
      if (res.policyChain !== undefined) this.policy = chain.policy(res.policyChain);
      this.stop('DROP', 'dropped');
      return true;
    }
    if (v.kind === 'REJECT') {
      this.rejectWith = v.with;
      this.stop('REJECT', 'dropped');
      return true;
    }
    if (v.kind === 'NAT') {
      this.pkValid = false;
      this.nat(v.target, h);
    }
    return false;
  }

  /** runs the stages of one hook; true when the packet stops there */
  private hookRun(h: Hook, iif: string | undefined, oif: string | undefined, skipNat: boolean): boolean {
    const stages = this.pipeline.stages(h);
    for (let k = 0; k < stages.length; k++) {
      const s = stages[k]!;
      if (s.kind === 'conntrack') {
        if (!this.attached) {
          this.attached = true;
          this.pkValid = false;
        }
      } else if (s.kind === 'chain') {
        if (this.take(h, s.chain, s.chain.run(h, this.packet(iif, oif), this))) return true;
      } else {
        if (skipNat || !this.tracked || this.invalid) continue;
        const chains = s.chains;
        for (let c = 0; c < chains.length; c++) {
          const chain = chains[c]!;
          const res = chain.run(h, this.packet(iif, oif), this);
          if (this.take(h, chain, res)) return true;
          if (res.verdict.kind === 'NAT') break; // the first binding wins (nf_nat_inet_fn)
        }
      }
    }
    return false;
  }

  private nat(tg: NatTarget, h: Hook): void {
    const proto = this.proto;
    switch (tg.kind) {
      case 'DNAT': {
        const r = tg.range;
        if (r.addr) {
          this.dst = r.addr.min;
          if (r.addr.max !== r.addr.min) this.note(`DNAT to a range ${formatIpv4(r.addr.min)}-${formatIpv4(r.addr.max)}: the kernel picks one address per connection; shown: the first`);
        }
        if (r.ports && proto !== 1 && this.dport !== undefined) this.dport = natPort(this.dport, r.ports);
        this.dnat = endpoint(this.dst, proto === 1 ? undefined : this.dport);
        break;
      }
      case 'REDIRECT': {
        // nf_nat_redirect_ipv4: 127.0.0.1 from OUTPUT, else the first address of the incoming interface
        this.dst = h === 'OUTPUT' ? 0x7f000001 : (this.input.local[0] ?? 0x7f000001);
        if (h !== 'OUTPUT') this.note(`REDIRECT goes to the first address of the incoming interface; shown: ${formatIpv4(this.dst)} (the first --local address)`);
        if (tg.ports && proto !== 1 && this.dport !== undefined) this.dport = natPort(this.dport, tg.ports);
        this.dnat = endpoint(this.dst, proto === 1 ? undefined : this.dport);
        break;
      }
      case 'SNAT': {
        const r = tg.range;
        if (r.addr) this.src = r.addr.min;
        if (r.ports && proto !== 1) this.sport = natPort(this.sport ?? r.ports.min, r.ports);
        this.snat = endpoint(this.src, r.ports && proto !== 1 ? this.sport : undefined);
        break;
      }
      case 'MASQUERADE':
        this.masquerade = true;
        this.note("MASQUERADE: the source becomes the outgoing interface's address for this route (not known from a dump)");
        break;
    }
  }

  /** the outcome of the last walk, with its probability (the walk's path, notes and choices) */
  outcome(probability: number): WalkOutcome<S> {
    // built by assignment, in the order `rules trace --json` has always printed the properties
    const o: { -readonly [K in keyof WalkOutcome<S>]: WalkOutcome<S>[K] } = { probability, verdict: this.verdict } as WalkOutcome<S>;
    if (this.rejectWith !== undefined) o.rejectWith = this.rejectWith;
    o.delivery = this.delivery;
    if (this.dnat !== undefined) o.dnat = this.dnat;
    if (this.snat !== undefined) o.snat = this.snat;
    o.masquerade = this.masquerade;
    if (this.mark !== 0) o.mark = `0x${this.mark.toString(16)}`;
    if (this.policy !== undefined) o.policy = this.policy;
    o.path = this.path;
    o.notes = this.notes;
    o.choices = this.choices;
    return o;
  }
}

/** xt_recent against lists that start empty for this walk (what a dump cannot show). */
function recentMatch(lists: Map<string, Map<number, number>>, m: Extract<NfMatch, { kind: 'recent' }>, p: NfPacket, notes: { note(t: string): void }): boolean {
  notes.note(`-m recent --name ${m.name}: the kernel's list is runtime state; assumed empty before this packet`);
  let list = lists.get(m.name);
  if (!list) lists.set(m.name, (list = new Map()));
  const key = ((m.side === 'source' ? p.src : p.dst) & m.mask) >>> 0;
  const hits = list.get(key) ?? 0;
  let hit: boolean;
  switch (m.mode) {
    case 'set':
      list.set(key, hits + 1);
      hit = true;
      break;
    case 'rcheck':
      hit = hits > 0 && hits >= m.hitcount;
      break;
    case 'update':
      hit = hits > 0 && hits >= m.hitcount;
      if (hits > 0) list.set(key, hits + 1);
      break;
    case 'remove':
      hit = hits > 0;
      list.delete(key);
      break;
  }
  return hit !== m.invert;
}

/**
 * Every outcome of the packet: one walk per combination of statistic answers reached (depth
 * first, "matched" before "not matched", so outcomes come in rule order). Outcomes with
 * probability 0 (`--probability 1` not taken) are left out.
 */
export function traceWalk<S extends WalkStep>(input: RulesTraceInput, pipeline: WalkPipeline<S>): WalkOutcome<S>[] {
  if (input.proto !== 'icmp' && input.dport === undefined) throw new ConfigError('model', '--dst', 0, `${input.proto} needs --dst IP:PORT`);
  const out: WalkOutcome<S>[] = [];
  const todo: boolean[][] = [[]];
  const w = (spare ?? new Walker()) as Walker<S>;
  spare = undefined;
  try {
    w.start(input, pipeline);
    return walkAll(w, out, todo);
  } finally {
    w.end();
    spare = w as unknown as Walker<WalkStep>;
  }
}

function walkAll<S extends WalkStep>(w: Walker<S>, out: WalkOutcome<S>[], todo: boolean[][]): WalkOutcome<S>[] {
  let cut = false;
  while (todo.length > 0) {
    const forced = todo.pop()!;
    w.walk(forced);
    const choices = w.choices;
    // the answers taken by default (beyond `forced`) each open the other branch
    for (let k = choices.length - 1; k >= forced.length; k--) {
      if (out.length + todo.length >= MAX_OUTCOMES) {
        cut = true;
        break;
      }
      const next = new Array<boolean>(k + 1);
      for (let j = 0; j < k; j++) next[j] = choices[j]!.matched;
      next[k] = false;
      todo.push(next);
    }
    let probability = 1;
    let nth = false;
    for (const c of choices) {
      probability *= c.matched ? c.probability : 1 - c.probability;
      if (c.what.startsWith('statistic nth')) nth = true;
    }
    if (probability <= 0) continue;
    if (nth) w.notes.push('-m statistic --mode nth counts packets; taken here as probability 1/every');
    out.push(w.outcome(probability));
  }
  if (cut) for (const o of out) (o.notes as string[]).push(`more than ${MAX_OUTCOMES} statistic branches: the rest were not explored`);
  return out;
}
