/**
 * One packet through one host's rule set, no topology: what `netpath rules trace` prints.
 *
 * The packet is the first of a new connection. Its walk runs the tables netfilter/hooks.ts
 * declares for each hook (the engine runs the same declaration), in this order of hooks:
 *
 *   source not local:  PREROUTING raw, mangle, nat  → (destination local after DNAT?)
 *                        yes: INPUT mangle, filter, nat          (delivered to a local socket)
 *                        no:  FORWARD mangle, filter → POSTROUTING mangle, nat
 *   source local:      OUTPUT raw, mangle, nat, filter → POSTROUTING mangle, nat
 *                        and when the destination is local, back in through lo:
 *                        PREROUTING raw, mangle → INPUT mangle, filter (the nat chains are not
 *                        consulted again: both NAT bindings were made on the way out)
 *
 * Every `-m statistic` rule reached splits the walk: each branch is one outcome with its
 * probability (product of p and 1-p along the way). What cannot be known from a dump (the
 * `-m recent` lists, the MASQUERADE address, an outgoing interface nobody named) is said in the
 * outcome's notes, never guessed silently.
 */
import { ConfigError } from '../model/errors.js';
import { formatIpv4, type Ipv4 } from '../wire/ipv4.js';
import { blankPacket, TableWalk, type Hook, type NatTarget, type NfCtView, type NfEnv, type HitSlot, type NfHitSink, type NfPacket, type NfPacketFields } from './eval.js';
import type { Ipsets } from './ipset.js';
import { hookTables } from './hooks.js';
import { natPort } from './nat.js';
import { emptyNfState } from './tables.js';
import type { AddrType, NfChain, NfMatch, NfRule, NfState, NfTableName, RejectWith } from './types.js';

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

export interface RulesTraceStep {
  readonly hook: Hook;
  readonly table: NfTableName;
  readonly chain: string;
  /** 1-based rule number in its chain, as `iptables -L --line-numbers` */
  readonly rule: number;
  /** `-A CHAIN ...` as iptables-save prints it */
  readonly text: string;
}

export interface RulesChoice {
  readonly what: string;
  readonly probability: number;
  readonly matched: boolean;
}

export interface RulesOutcome {
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
  readonly path: readonly RulesTraceStep[];
  readonly choices: readonly RulesChoice[];
  readonly notes: readonly string[];
}


/** at most this many outcomes are explored (a service with more endpoints is cut, and says so) */
export const MAX_OUTCOMES = 4096;

function isLocal(a: Ipv4, local: readonly Ipv4[]): boolean {
  return a >>> 24 === 127 || local.includes(a);
}

function addrTypeOf(a: Ipv4, local: readonly Ipv4[]): AddrType {
  if (isLocal(a, local)) return 'LOCAL';
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

const isLimit = (m: NfMatch): boolean => m.kind === 'limit';

/** the tables of each hook, in order (hookTables, made once) */
const TABLES_OF: Readonly<Record<Hook, readonly NfTableName[]>> = {
  PREROUTING: hookTables('PREROUTING'),
  INPUT: hookTables('INPUT'),
  FORWARD: hookTables('FORWARD'),
  OUTPUT: hookTables('OUTPUT'),
  POSTROUTING: hookTables('POSTROUTING'),
};
const HOOK_SLOT: Readonly<Record<Hook, number>> = { PREROUTING: 0, INPUT: 1, FORWARD: 2, OUTPUT: 3, POSTROUTING: 4 };

/** a step's `-A CHAIN ...` text, made once per rule (a rule belongs to one chain) */
const stepTexts = new WeakMap<NfRule, string>();
function stepText(chain: string, rule: NfRule): string {
  let t = stepTexts.get(rule);
  if (t === undefined) stepTexts.set(rule, (t = rule.text === '' ? `-A ${chain}` : `-A ${chain} ${rule.text}`));
  return t;
}

/**
 * A step of a path. Its `text` is printed when first read (a trace that is only counted or
 * compared never prints a rule): an own enumerable accessor, so JSON, spreads, structuredClone
 * and deep equality see the same five properties, in the same order, as a plain object; every
 * step shares the one getter (one hidden class), which finds the rule in a non-enumerable
 * symbol-keyed property. Steps are values: one per rule position of a chain value and hook, made
 * on the first hit and kept in the walk's slot for that position (Tracer.hit), shared by every
 * path through it (chains are immutable, so a position keeps its rule).
 */
const STEP_RULE = Symbol('rule');
interface StepRecord {
  readonly chain: string;
  readonly [STEP_RULE]: NfRule;
}
const STEP_TEXT: PropertyDescriptor = {
  get(this: StepRecord): string {
    return stepText(this.chain, this[STEP_RULE]);
  },
  enumerable: true,
  configurable: true,
};
function makeStep(hook: Hook, table: NfTableName, chain: string, rule: number, r: NfRule): RulesTraceStep {
  const s: Record<string | symbol, unknown> = { hook, table, chain, rule };
  Object.defineProperty(s, 'text', STEP_TEXT);
  Object.defineProperty(s, STEP_RULE, { value: r });
  return s as unknown as RulesTraceStep;
}

/** `IP[:PORT]` texts of NAT results, made once per address and port */
const endpointTexts = new Map<number, string>();
function endpoint(a: Ipv4, port: number | undefined): string {
  const key = a * 65537 + (port === undefined ? 0 : port + 1);
  let t = endpointTexts.get(key);
  if (t === undefined) {
    t = port === undefined ? formatIpv4(a) : `${formatIpv4(a)}:${port}`;
    if (endpointTexts.size >= 65536) endpointTexts.clear();
    endpointTexts.set(key, t);
  }
  return t;
}

const NO_COINS: readonly boolean[] = [];
// what a Tracer holds between traces (frozen: nothing may be added to them)
const NO_NOTES: string[] = Object.freeze([]) as unknown as string[];
const NO_CHOICES: RulesChoice[] = Object.freeze([]) as unknown as RulesChoice[];
const NO_PATH: RulesTraceStep[] = Object.freeze([]) as unknown as RulesTraceStep[];
const NO_STATE: NfState = emptyNfState();
const NO_INPUT: RulesTraceInput = { src: 0, dst: 0, proto: 'tcp', local: [] };

/** a tracer for traceRules, taken while a trace runs (a trace started from inside one makes its own) */
let spare: Tracer | undefined;

/**
 * The walks of one traced packet, one at a time: what a walk has done to the packet so far, the
 * path, notes and statistic answers it collects, and, for its table walks, the environment
 * (addresses, coins, -m recent lists, ipsets, notes) and the sink of the rules that matched.
 * One instance serves every walk of a traceRules call; each walk gets fresh path, notes and
 * choices (they become its outcome).
 */
class Tracer implements NfHitSink {
  private readonly run: TableWalk = new TableWalk();
  // the traced packet (start() sets them)
  private nf: NfState = NO_STATE;
  private input: RulesTraceInput = NO_INPUT;
  private indexed = true;
  private proto = 6;
  private tcpFlags = 2;
  /** no conntrack entry: INVALID to every match, and no NAT (nf_nat_inet_fn needs a ct) */
  private invalid = false;
  /** the environment's ipsets, for `-m set` (undefined: none given) */
  ipsets: Ipsets | undefined = undefined;

  // one walk: what it has found and changed so far
  private forced: readonly boolean[] = NO_COINS;
  notes: string[] = NO_NOTES;
  choices: RulesChoice[] = NO_CHOICES;
  path: RulesTraceStep[] = NO_PATH;
  private recentLists: Map<string, Map<number, number>> | undefined = undefined;
  private src: Ipv4 = 0;
  private dst: Ipv4 = 0;
  private sport: number | undefined = undefined;
  private dport: number | undefined = undefined;
  mark = 0;
  private ctmark = 0;
  private tracked = true;
  dnat: string | undefined = undefined;
  snat: string | undefined = undefined;
  masquerade = false;
  /**
   * The packet as the tables see it: filled in (not made) again when the walk has changed it or
   * a hook sees other interfaces; a table walk reads it while it runs only.
   */
  private readonly pk: NfPacketFields = blankPacket();
  private readonly pkCt: { -readonly [K in keyof NfCtView]: NfCtView[K] } = { state: 'NEW', snat: false, dnat: false, origSrc: 0, origDst: 0, seenReply: false, confirmed: false, mark: 0 };
  private pkValid = false;
  // where the walk stopped
  verdict: RulesOutcome['verdict'] = 'ACCEPT';
  delivery: RulesOutcome['delivery'] = 'local';
  rejectWith: RejectWith | undefined = undefined;
  policy: string | undefined = undefined;

  // the table being walked, for the sink
  private hook: Hook = 'PREROUTING';
  private table: NfTableName = 'filter';
  /** rules with -m limit hit in this table walk (noted after it, as before) */
  private limited: NfRule[] | undefined = undefined;

  /** takes a packet to trace */
  start(nf: NfState, input: RulesTraceInput): void {
    this.nf = nf;
    this.input = input;
    this.indexed = input.linear !== true;
    this.proto = PROTO_NUM[input.proto];
    this.tcpFlags = input.tcpFlags ?? 2;
    this.invalid = this.proto === 6 && !tcpStartsConnection(this.tcpFlags);
    this.ipsets = input.ipsets;
    this.pkCt.origSrc = input.src;
    this.pkCt.origDst = input.dst;
  }

  /** lets go of the packet, its rule set and its outcomes */
  end(): void {
    this.nf = NO_STATE;
    this.input = NO_INPUT;
    this.ipsets = undefined;
    this.forced = NO_COINS;
    this.notes = NO_NOTES;
    this.choices = NO_CHOICES;
    this.path = NO_PATH;
    this.recentLists = undefined;
    this.limited = undefined;
    this.dnat = undefined;
    this.snat = undefined;
    this.pkValid = false;
    this.pk.iif = undefined;
    this.pk.oif = undefined;
  }

  // the environment of the table walks (NfEnv)
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

  // the sink of the table walks (NfHitSink): a step per rule position and hook, kept in the slot
  hit(chain: NfChain, index: number, rule: NfRule, slot: HitSlot): void {
    const h = HOOK_SLOT[this.hook];
    let steps = slot.memo as (RulesTraceStep | undefined)[] | undefined;
    if (steps === undefined) slot.memo = steps = [undefined, undefined, undefined, undefined, undefined];
    let s = steps[h];
    if (s === undefined || s.table !== this.table) {
      s = makeStep(this.hook, this.table, chain.name, index + 1, rule);
      steps[h] ??= s;
    }
    this.path.push(s);
    if (rule.matches.some(isLimit)) (this.limited ??= []).push(rule);
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
    this.dnat = undefined;
    this.snat = undefined;
    this.masquerade = false;
    this.pkValid = false;
    this.rejectWith = undefined;
    this.policy = undefined;
    if (!isLocal(input.src, input.local)) {
      if (this.hookRun('PREROUTING', input.iif, undefined, false)) return;
      if (isLocal(this.dst, input.local)) {
        if (!this.hookRun('INPUT', input.iif, undefined, false)) this.stop('ACCEPT', 'local');
        return;
      }
      if (input.oif === undefined) this.note('no --oif given: rules with -o match no interface name (! -o matches)');
      if (!this.hookRun('FORWARD', input.iif, input.oif, false) && !this.hookRun('POSTROUTING', undefined, input.oif, false)) this.stop('ACCEPT', 'forward');
      return;
    }
    if (input.oif === undefined && !isLocal(this.dst, input.local)) this.note('no --oif given: rules with -o match no interface name (! -o matches)');
    if (this.hookRun('OUTPUT', undefined, this.outIf())) return;
    if (this.hookRun('POSTROUTING', undefined, this.outIf())) return;
    if (!isLocal(this.dst, input.local)) {
      this.stop('ACCEPT', 'output');
      return;
    }
    if (!this.hookRun('PREROUTING', 'lo', undefined, true) && !this.hookRun('INPUT', 'lo', undefined, true)) this.stop('ACCEPT', 'local');
  }

  private outIf(): string | undefined {
    return isLocal(this.dst, this.input.local) ? 'lo' : this.input.oif;
  }

  private stop(verdict: RulesOutcome['verdict'], delivery: RulesOutcome['delivery']): void {
    this.verdict = verdict;
    this.delivery = delivery;
  }

  /** the packet as the tables see it (the last one again while the walk has not changed it) */
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
    if (this.tracked && this.invalid) pk.ct = undefined;
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

  /** runs the tables of one hook; true when the packet stops there (verdict and delivery set) */
  private hookRun(h: Hook, iif: string | undefined, oif: string | undefined, skipNat = false): boolean {
    const nf = this.nf;
    const res = this.run;
    const env = this as unknown as NfEnv;
    const tables = TABLES_OF[h];
    for (let ti = 0; ti < tables.length; ti++) {
      const table = tables[ti]!;
      if (table === 'nat' && (skipNat || !this.tracked || this.invalid)) continue;
      if (!nf[table].present) continue;
      this.hook = h;
      this.table = table;
      this.limited = undefined;
      res.run(nf, table, h, this.packet(iif, oif), env, this.indexed, this);
      const limited = this.limited as NfRule[] | undefined; // set by hit() during the run
      if (limited !== undefined) for (const r of limited) this.note(`-m limit assumed to match (one packet never exceeds a rate): ${r.text}`);
      if (res.mark !== this.mark || res.ctmark !== this.ctmark || (res.notrack && this.tracked)) this.pkValid = false;
      this.mark = res.mark;
      this.ctmark = res.ctmark;
      if (res.notrack) this.tracked = false;
      const v = res.verdict;
      if (v.kind === 'DROP') {
        if (res.policyChain !== undefined) this.policy = `${table} ${res.policyChain}`;
        this.stop('DROP', 'dropped');
        return true;
      }
      if (v.kind === 'REJECT') {
        this.rejectWith = v.with;
        this.stop('REJECT', 'dropped');
        return true;
      }
      if (v.kind !== 'NAT') continue;
      this.pkValid = false;
      this.nat(v.target, h);
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
        this.note('MASQUERADE: the source becomes the outgoing interface\'s address for this route (not known from a dump)');
        break;
    }
  }

  /** the outcome of the last walk, with its probability (the walk's path, notes and choices) */
  outcome(probability: number): RulesOutcome {
    // built by assignment in the order of the properties before (probability, verdict, ...)
    const o: { -readonly [K in keyof RulesOutcome]: RulesOutcome[K] } = { probability, verdict: this.verdict } as RulesOutcome;
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
export function traceRules(nf: NfState, input: RulesTraceInput): RulesOutcome[] {
  if (input.proto !== 'icmp' && input.dport === undefined) throw new ConfigError('model', '--dst', 0, `${input.proto} needs --dst IP:PORT`);
  const out: RulesOutcome[] = [];
  const todo: boolean[][] = [[]];
  const t = spare ?? new Tracer();
  spare = undefined;
  try {
    t.start(nf, input);
    return outcomes(t, out, todo);
  } finally {
    t.end();
    spare = t;
  }
}

function outcomes(t: Tracer, out: RulesOutcome[], todo: boolean[][]): RulesOutcome[] {
  let cut = false;
  while (todo.length > 0) {
    const forced = todo.pop()!;
    t.walk(forced);
    const choices = t.choices;
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
    if (nth) t.notes.push('-m statistic --mode nth counts packets; taken here as probability 1/every');
    out.push(t.outcome(probability));
  }
  if (cut) for (const o of out) (o.notes as string[]).push(`more than ${MAX_OUTCOMES} statistic branches: the rest were not explored`);
  return out;
}
