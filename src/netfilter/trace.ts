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
import { runTable, runTableLinear, type Hook, type NfCtView, type NfEnv, type NfPacket, type NfResult } from './eval.js';
import type { Ipsets } from './ipset.js';
import { hookTables } from './hooks.js';
import { natPort } from './nat.js';
import type { AddrType, NfMatch, NfRule, NfState, NfTableName, RejectWith } from './types.js';

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
  if (isLocal(a)) return 'LOCAL';
  if (a === 0xffffffff) return 'BROADCAST';
  if (a >>> 28 === 14) return 'MULTICAST';
  return 'UNICAST';
  function isLocal(x: Ipv4): boolean {
    return x >>> 24 === 127 || local.includes(x);
  }
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

/** a step's `-A CHAIN ...` text, made once per rule (a rule belongs to one chain) */
const stepTexts = new WeakMap<NfRule, string>();
function stepText(chain: string, rule: NfRule): string {
  let t = stepTexts.get(rule);
  if (t === undefined) stepTexts.set(rule, (t = rule.text === '' ? `-A ${chain}` : `-A ${chain} ${rule.text}`));
  return t;
}

const endpoint = (a: Ipv4, port: number | undefined): string => (port === undefined ? formatIpv4(a) : `${formatIpv4(a)}:${port}`);

interface Run {
  outcome: Omit<RulesOutcome, 'probability' | 'choices'>;
  choices: { probability: number; matched: boolean; what: string }[];
}

/** One walk with the statistic answers forced for the first `forced.length` coins (true after). */
function walkOnce(nf: NfState, input: RulesTraceInput, forced: readonly boolean[]): Run {
  const notes: string[] = [];
  const note = (t: string): void => {
    if (!notes.includes(t)) notes.push(t);
  };
  const choices: Run['choices'] = [];
  let recent: Map<string, Map<number, number>> | undefined;
  const env: NfEnv = {
    addrType: (a) => addrTypeOf(a, input.local),
    choose: (probability, what) => {
      const matched = forced[choices.length] ?? true;
      choices.push({ probability, matched, what });
      return matched;
    },
    recent: (m, p) => recentMatch((recent ??= new Map()), m, p, note),
    ...(input.ipsets ? { ipsets: input.ipsets } : {}),
    note,
  };
  const run = input.linear ? runTableLinear : runTable;
  const path: RulesTraceStep[] = [];
  const proto = PROTO_NUM[input.proto];
  let src = input.src;
  let dst = input.dst;
  let sport = input.sport;
  let dport = input.dport;
  let mark = 0;
  let ctmark = 0;
  let tracked = true;
  const tcpFlags = input.tcpFlags ?? 2;
  // no conntrack entry: INVALID to every match, and no NAT (nf_nat_inet_fn needs a ct)
  const invalid = proto === 6 && !tcpStartsConnection(tcpFlags);
  let dnat: string | undefined;
  let snat: string | undefined;
  let masquerade = false;
  const origSrc = src;
  const origDst = dst;
  const localSrc = isLocal(src, input.local);

  // the packet as the tables see it, made again only after the walk changed it (most tables of
  // a walk see the same packet)
  let last: NfPacket | undefined;
  const changed = (): void => {
    last = undefined;
  };
  const packet = (iif: string | undefined, oif: string | undefined): NfPacket => {
    if (last !== undefined && last.iif === iif && last.oif === oif) return last;
    last = build(iif, oif);
    return last;
  };
  const build = (iif: string | undefined, oif: string | undefined): NfPacket => {
    const ct: NfCtView | undefined = tracked && invalid ? undefined : {
      state: tracked ? 'NEW' : 'UNTRACKED',
      snat: snat !== undefined || masquerade,
      dnat: dnat !== undefined,
      origSrc,
      origDst,
      seenReply: false,
      confirmed: false,
      mark: ctmark,
    };
    // built by assignment, not spreads (one packet per table per hook per walk); same properties
    const pk: { -readonly [K in keyof NfPacket]: NfPacket[K] } = { src, dst, proto, bridged: false, mark };
    if (ct !== undefined) pk.ct = ct;
    if (sport !== undefined && proto !== 1) pk.sport = sport;
    if (dport !== undefined && proto !== 1) pk.dport = dport;
    if (proto === 6) pk.tcpFlags = tcpFlags;
    if (proto === 1) {
      pk.icmpType = 8;
      pk.icmpCode = 0;
    }
    if (iif !== undefined) pk.iif = iif;
    if (oif !== undefined) pk.oif = oif;
    return pk;
  };

  type Stop = Omit<RulesOutcome, 'probability' | 'choices'>;
  const finish = (verdict: RulesOutcome['verdict'], delivery: RulesOutcome['delivery'], extra: { rejectWith?: RejectWith; policy?: string } = {}): Stop => ({
    verdict,
    ...(extra.rejectWith !== undefined ? { rejectWith: extra.rejectWith } : {}),
    delivery,
    ...(dnat !== undefined ? { dnat } : {}),
    ...(snat !== undefined ? { snat } : {}),
    masquerade,
    ...(mark !== 0 ? { mark: `0x${mark.toString(16)}` } : {}),
    ...(extra.policy !== undefined ? { policy: extra.policy } : {}),
    path,
    notes,
  });

  /** runs the tables of one hook; returns a final outcome when the packet stops there */
  const hook = (h: Hook, iif: string | undefined, oif: string | undefined, skipNat = false): Stop | undefined => {
    for (const table of TABLES_OF[h]) {
      if (table === 'nat' && (skipNat || !tracked || invalid)) continue;
      if (!nf[table].present) continue;
      const res: NfResult = run(nf, table, h, packet(iif, oif), env);
      const hits = res.hits;
      for (let k = 0; k < hits.length; k++) {
        const hit = hits[k]!;
        path.push({ hook: h, table, chain: hit.chain, rule: hit.index, text: stepText(hit.chain, hit.rule) });
      }
      for (let k = 0; k < hits.length; k++) {
        const hit = hits[k]!;
        if (hit.rule.matches.some(isLimit)) note(`-m limit assumed to match (one packet never exceeds a rate): ${hit.rule.text}`);
      }
      if (res.notes !== undefined) for (const n of res.notes) note(n);
      if (res.mark !== mark || res.ctmark !== ctmark || (res.notrack && tracked)) changed();
      mark = res.mark;
      ctmark = res.ctmark;
      if (res.notrack) tracked = false;
      const v = res.verdict;
      if (v.kind === 'NAT') changed();
      const policy = res.policyChain !== undefined ? `${table} ${res.policyChain}` : undefined;
      if (v.kind === 'DROP') return finish('DROP', 'dropped', policy !== undefined ? { policy } : {});
      if (v.kind === 'REJECT') return finish('REJECT', 'dropped', { rejectWith: v.with });
      if (v.kind !== 'NAT') continue;
      const tg = v.target;
      switch (tg.kind) {
        case 'DNAT': {
          const r = tg.range;
          if (r.addr) {
            dst = r.addr.min;
            if (r.addr.max !== r.addr.min) note(`DNAT to a range ${formatIpv4(r.addr.min)}-${formatIpv4(r.addr.max)}: the kernel picks one address per connection; shown: the first`);
          }
          if (r.ports && proto !== 1 && dport !== undefined) dport = natPort(dport, r.ports);
          dnat = endpoint(dst, proto === 1 ? undefined : dport);
          break;
        }
        case 'REDIRECT': {
          // nf_nat_redirect_ipv4: 127.0.0.1 from OUTPUT, else the first address of the incoming interface
          dst = h === 'OUTPUT' ? 0x7f000001 : (input.local[0] ?? 0x7f000001);
          if (h !== 'OUTPUT') note(`REDIRECT goes to the first address of the incoming interface; shown: ${formatIpv4(dst)} (the first --local address)`);
          if (tg.ports && proto !== 1 && dport !== undefined) dport = natPort(dport, tg.ports);
          dnat = endpoint(dst, proto === 1 ? undefined : dport);
          break;
        }
        case 'SNAT': {
          const r = tg.range;
          if (r.addr) src = r.addr.min;
          if (r.ports && proto !== 1) sport = natPort(sport ?? r.ports.min, r.ports);
          snat = endpoint(src, r.ports && proto !== 1 ? sport : undefined);
          break;
        }
        case 'MASQUERADE':
          masquerade = true;
          note('MASQUERADE: the source becomes the outgoing interface\'s address for this route (not known from a dump)');
          break;
      }
    }
    return undefined;
  };

  if (!localSrc) {
    const stop = hook('PREROUTING', input.iif, undefined);
    if (stop) return { outcome: stop, choices };
    if (isLocal(dst, input.local)) {
      const s2 = hook('INPUT', input.iif, undefined);
      return { outcome: s2 ?? finish('ACCEPT', 'local'), choices };
    }
    if (input.oif === undefined) note('no --oif given: rules with -o match no interface name (! -o matches)');
    const s2 = hook('FORWARD', input.iif, input.oif) ?? hook('POSTROUTING', undefined, input.oif);
    return { outcome: s2 ?? finish('ACCEPT', 'forward'), choices };
  }
  const outIf = (): string | undefined => (isLocal(dst, input.local) ? 'lo' : input.oif);
  if (input.oif === undefined && !isLocal(dst, input.local)) note('no --oif given: rules with -o match no interface name (! -o matches)');
  const s1 = hook('OUTPUT', undefined, outIf());
  if (s1) return { outcome: s1, choices };
  const s2 = hook('POSTROUTING', undefined, outIf());
  if (s2) return { outcome: s2, choices };
  if (!isLocal(dst, input.local)) return { outcome: finish('ACCEPT', 'output'), choices };
  const s3 = hook('PREROUTING', 'lo', undefined, true) ?? hook('INPUT', 'lo', undefined, true);
  return { outcome: s3 ?? finish('ACCEPT', 'local'), choices };
}

/** xt_recent against lists that start empty for this walk (what a dump cannot show). */
function recentMatch(lists: Map<string, Map<number, number>>, m: Extract<NfMatch, { kind: 'recent' }>, p: NfPacket, note: (t: string) => void): boolean {
  note(`-m recent --name ${m.name}: the kernel's list is runtime state; assumed empty before this packet`);
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
  let cut = false;
  while (todo.length > 0) {
    const forced = todo.pop()!;
    const r = walkOnce(nf, input, forced);
    // the answers taken by default (beyond `forced`) each open the other branch
    for (let k = r.choices.length - 1; k >= forced.length; k--) {
      if (out.length + todo.length >= MAX_OUTCOMES) {
        cut = true;
        break;
      }
      todo.push([...r.choices.slice(0, k).map((c) => c.matched), false]);
    }
    let probability = 1;
    for (const c of r.choices) probability *= c.matched ? c.probability : 1 - c.probability;
    if (probability <= 0) continue;
    const nth = r.choices.some((c) => c.what.startsWith('statistic nth'));
    const notes = [...r.outcome.notes];
    if (nth) notes.push('-m statistic --mode nth counts packets; taken here as probability 1/every');
    out.push({ probability, ...r.outcome, notes, choices: r.choices.map((c) => ({ what: c.what, probability: c.probability, matched: c.matched })) });
  }
  if (cut) for (const o of out) (o.notes as string[]).push(`more than ${MAX_OUTCOMES} statistic branches: the rest were not explored`);
  return out;
}
