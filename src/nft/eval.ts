/**
 * One nft base chain for one packet, as nft_do_chain (net/netfilter/nf_tables_core.c) runs it:
 * rules in order, statements left to right; a match that fails (or a vmap lookup that finds
 * nothing) ends the rule; `jump` pushes a return point, `goto` does not, `return` or falling off
 * a regular chain pops, falling off the base chain applies its policy. accept, drop, reject and
 * the NAT statements end the chain; the other statements act and continue.
 *
 * The result has the shape of the iptables evaluator's (src/netfilter/eval.ts NfResult): the
 * same verdicts (NAT statements as the iptables NAT targets they equal), marks, notrack, LOG
 * lines and notes; hits name the nft table and chain. numgen asks `env.choose` once per value
 * (value k with probability 1/(N-k) among the rest), so a tracer explores every branch with its
 * probability, as for `-m statistic`.
 */
import { assertNever } from '../model/errors.js';
import type { AddrType, RejectWith } from '../netfilter/types.js';
import type { Hook, NatTarget, NfEnv, NfPacket, NfResult, NfVerdict } from '../netfilter/eval.js';
import type { NftAtom, NftChain, NftElement, NftExpr, NftFamily, NftRhs, NftRule, NftSelector, NftSet, NftStmt, NftTable, NftState, NftVerdict } from './types.js';
import { atomHas, atomRange, BITMASK_TYPES, FIB_ADDRTYPE } from './values.js';
import { selType } from './parse.js';
import { formatIpv4 } from '../wire/ipv4.js';

export interface NftHit {
  readonly family: NftFamily;
  readonly table: string;
  readonly chain: string;
  /** 1-based position in the chain */
  readonly index: number;
  readonly rule: NftRule;
}

/** NfResult with nft hits (the rule's text, handle and origin). */
export type NftResult = Omit<NfResult, 'hits' | 'decidedBy'> & {
  readonly hits: readonly NftHit[];
  readonly decidedBy?: NftHit;
};

/** What nft may ask beyond the iptables environment. */
export interface NftEnv extends NfEnv {
  /**
   * `fib ... oif|oifname`: the route lookup the kernel does (nft_fib4_eval): the output
   * interface for `addr` (with the incoming interface / mark when the rule names them), or
   * undefined when there is no route. When absent, the walk assumes the route exists through
   * the interface the packet came in on, and says so.
   */
  fibOif?(q: { readonly addr: number; readonly iif?: string; readonly oif?: string; readonly mark?: number }): string | undefined;
}

const NF_HOOK: Readonly<Record<Hook, string>> = {
  PREROUTING: 'prerouting',
  INPUT: 'input',
  FORWARD: 'forward',
  OUTPUT: 'output',
  POSTROUTING: 'postrouting',
};

export function nftHookName(h: Hook): string {
  return NF_HOOK[h];
}

const ADDRTYPE_NUM = (t: AddrType): number => FIB_ADDRTYPE[t.toLowerCase()] ?? 0;

/** `numgen MODE mod N: VALUE`, the text of numgen's k-th choice, made once per selector and value */
const numgenTexts = new WeakMap<NftSelector, string[]>();
function numgenWhat(sel: Extract<NftSelector, { k: 'numgen' }>, k: number): string {
  let texts = numgenTexts.get(sel);
  if (!texts) numgenTexts.set(sel, (texts = []));
  return (texts[k] ??= `numgen ${sel.mode} mod ${sel.mod}: ${k + sel.offset}`);
}

const CT_STATE_BIT: Readonly<Record<string, number>> = { INVALID: 1, ESTABLISHED: 2, RELATED: 4, NEW: 8, UNTRACKED: 64 };

// ---------------------------------------------------------------------------------------------
// indexes (built once per immutable object; looked up without making strings per packet)

/** a table with its chains and sets by name */
interface TableIndex {
  readonly table: NftTable;
  readonly chains: Map<string, NftChain>;
  readonly sets: Map<string, NftSet>;
}
const tableMaps = new WeakMap<NftState, Map<NftFamily, Map<string, TableIndex>>>();
function tableOf(s: NftState, family: NftFamily, name: string): TableIndex | undefined {
  let m = tableMaps.get(s);
  if (!m) {
    m = new Map();
    for (const t of s.tables) {
      let byName = m.get(t.family);
      if (!byName) m.set(t.family, (byName = new Map()));
      byName.set(t.name, { table: t, chains: new Map(t.chains.map((c) => [c.name, c])), sets: new Map(t.sets.map((x) => [x.name, x])) });
    }
    tableMaps.set(s, m);
  }
  return m.get(family)?.get(name);
}

/**
 * A set's elements for lookups: elements with an exact key (one number or name per column) in
 * nested hash maps, one level per column (a lookup makes no key string); the others (ranges,
 * prefixes, wildcards, flag lists) tested one by one, in order.
 */
interface ElementIndex {
  /** column 0 value -> (column 1 value -> ... -> first element with that key) */
  readonly exact: Map<number | string, unknown>;
  readonly rest: readonly NftElement[];
}
const elementIndexes = new WeakMap<readonly NftElement[], ElementIndex>();

/** the exact hash key of one column, or undefined when the atom covers more than one value */
function exactAtom(a: NftAtom): number | string | undefined {
  if (a.t === 'num' && a.hi === undefined && (a.plen === undefined || a.plen === 32)) return a.v;
  if (a.t === 'str' && !a.v.endsWith('*')) return a.v;
  return undefined;
}

function indexOf(els: readonly NftElement[]): ElementIndex {
  let ix = elementIndexes.get(els);
  if (ix) return ix;
  const exact = new Map<number | string, unknown>();
  const rest: NftElement[] = [];
  for (const e of els) {
    const key = e.key;
    let exactKey = key.length > 0;
    for (const a of key) if (exactAtom(a) === undefined) exactKey = false;
    if (!exactKey) {
      rest.push(e);
      continue;
    }
    let m = exact;
    const last = key.length - 1;
    for (let c = 0; c < last; c++) {
      const k = exactAtom(key[c]!)!;
      let next = m.get(k) as Map<number | string, unknown> | undefined;
      if (!next) m.set(k, (next = new Map()));
      m = next;
    }
    const k = exactAtom(key[last]!)!;
    if (!m.has(k)) m.set(k, e);
  }
  ix = { exact, rest };
  elementIndexes.set(els, ix);
  return ix;
}

/** sets this small are scanned (cheaper than finding and keeping their index) */
const SCAN_MAX = 4;

/** lookup's answer by scanning: an element with an exact key first, then the others in order */
function scan(els: readonly NftElement[], vals: readonly (number | string | undefined)[], n: number): NftElement | undefined {
  for (let pass = 0; pass < 2; pass++) {
    for (const e of els) {
      const key = e.key;
      if (key.length !== n) continue;
      let exact = true;
      for (let c = 0; exact && c < n; c++) exact = exactAtom(key[c]!) !== undefined;
      if (exact !== (pass === 0)) continue;
      let all = true;
      for (let c = 0; all && c < n; c++) all = atomHas(key[c]!, vals[c]);
      if (all) return e;
    }
  }
  return undefined;
}

/** the element whose key holds `vals[0..n)` (an exact match first, then ranges in order) */
function lookup(els: readonly NftElement[], vals: readonly (number | string | undefined)[], n: number): NftElement | undefined {
  for (let c = 0; c < n; c++) if (vals[c] === undefined) return undefined;
  if (els.length === 0) return undefined;
  if (els.length <= SCAN_MAX) return scan(els, vals, n);
  const ix = indexOf(els);
  let m: unknown = ix.exact;
  for (let c = 0; c < n && m !== undefined; c++) m = (m as Map<number | string, unknown>).get(vals[c]!);
  if (m !== undefined) return m as NftElement;
  for (const e of ix.rest) {
    let all = e.key.length === n;
    for (let c = 0; all && c < n; c++) all = atomHas(e.key[c]!, vals[c]);
    if (all) return e;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// the walk

interface Frame {
  chain: NftChain;
  k: number;
}

/** the values of one statement's left side (one array for every walk: a walk never runs inside another) */
const VALS: (number | string | undefined)[] = [];
const NO_HITS: readonly NftHit[] = [];

class Walk {
  mark: number;
  ctmark: number;
  notrack = false;
  /** made at the first hit (most chains a packet passes hit nothing) */
  hits: NftHit[] | undefined;
  logs: string[] | undefined;
  notes: string[] | undefined;
  readonly vals = VALS;
  constructor(
    readonly ix: TableIndex,
    readonly p: NfPacket,
    readonly env: NftEnv,
  ) {
    this.mark = p.mark;
    this.ctmark = p.ct?.mark ?? 0;
  }
  note(text: string): void {
    if (this.notes === undefined) this.notes = [text];
    else if (!this.notes.includes(text)) this.notes.push(text);
    this.env.note?.(text);
  }

  value(sel: NftSelector): number | string | undefined {
    const p = this.p;
    switch (sel.k) {
      case 'payload': {
        const l4 = p.proto === 6 || p.proto === 17 || p.proto === 132;
        switch (sel.proto) {
          case 'ip':
            if (sel.field === 'saddr') return p.src;
            if (sel.field === 'daddr') return p.dst;
            if (sel.field === 'protocol') return p.proto;
            if (sel.field === 'version') return 4;
            this.note(`ip ${sel.field} is not modelled: the match was taken as not matching`);
            return undefined;
          case 'ip6':
          case 'icmpv6':
            return undefined; // an IPv4 packet has no IPv6 header
          case 'tcp':
          case 'udp':
          case 'sctp': {
            const num = sel.proto === 'tcp' ? 6 : sel.proto === 'udp' ? 17 : 132;
            if (p.proto !== num) return undefined;
            if (sel.field === 'flags') return p.tcpFlags ?? 0;
            return sel.field === 'sport' ? p.sport : p.dport;
          }
          case 'th':
            if (!l4) return undefined;
            return sel.field === 'sport' ? p.sport : p.dport;
          case 'icmp':
            if (p.proto !== 1) return undefined;
            return sel.field === 'type' ? p.icmpType : (p.icmpCode ?? 0);
        }
        return undefined;
      }
      case 'meta':
        switch (sel.key) {
          case 'l4proto':
            return p.proto;
          case 'protocol':
            return 0x0800;
          case 'nfproto':
            return 2;
          case 'mark':
            return this.mark;
          case 'iifname':
          case 'iif':
            return p.iif;
          case 'oifname':
          case 'oif':
            return p.oif;
          case 'pkttype': {
            const t = this.env.addrType(p.dst, p.iif);
            return t === 'BROADCAST' ? 1 : t === 'MULTICAST' ? 2 : 0;
          }
          case 'nftrace':
            return 0;
        }
        return undefined;
      case 'ct': {
        const ct = p.ct;
        switch (sel.key) {
          case 'state':
            return ct ? CT_STATE_BIT[ct.state]! : CT_STATE_BIT['INVALID']!;
          case 'status': {
            if (!ct) return undefined;
            let s = 0;
            if (ct.seenReply) s |= 2;
            if (ct.confirmed) s |= 8;
            if (ct.snat) s |= 16;
            if (ct.dnat) s |= 32;
            return s;
          }
          case 'mark':
            return ct ? this.ctmark : undefined;
          case 'direction':
            if (!ct) return undefined;
            this.note('ct direction: the packet is taken as going in the original direction');
            return 0;
          case 'saddr':
            return ct ? (sel.dir === 'reply' ? undefined : ct.origSrc) : undefined;
          case 'daddr':
            return ct ? (sel.dir === 'reply' ? undefined : ct.origDst) : undefined;
          case 'protocol':
            return ct ? p.proto : undefined;
        }
        return undefined;
      }
      case 'fib': {
        const addr = sel.flags.includes('saddr') ? p.src : p.dst;
        const dev = sel.flags.includes('iif') ? p.iif : sel.flags.includes('oif') ? p.oif : undefined;
        if (sel.result === 'type') return ADDRTYPE_NUM(this.env.addrType(addr, dev));
        const q = { addr, ...(sel.flags.includes('iif') && p.iif !== undefined ? { iif: p.iif } : {}), ...(sel.flags.includes('mark') ? { mark: this.mark } : {}) };
        if (this.env.fibOif) {
          const o = this.env.fibOif(q);
          return o === undefined ? (sel.result === 'oif' ? 0 : '') : o;
        }
        this.note(`fib ${sel.flags.join(' . ')} ${sel.result}: no route lookup here; the route to ${formatIpv4(addr)} was taken to leave by ${p.iif ?? 'the incoming interface'}`);
        return p.iif ?? '';
      }
      case 'numgen': {
        for (let k = 0; k < sel.mod - 1; k++) {
          const prob = 1 / (sel.mod - k);
          if (this.env.choose(prob, numgenWhat(sel, k))) return k + sel.offset;
        }
        if (sel.mode === 'inc') this.note('numgen inc counts packets; each value taken here with probability 1/mod');
        return sel.mod - 1 + sel.offset;
      }
    }
  }

  exprValue(e: NftExpr): number | string | undefined {
    const v = this.value(e.sel);
    if (!e.bitop || typeof v !== 'number') return v;
    switch (e.bitop.op) {
      case '&':
        return (v & e.bitop.v) >>> 0;
      case '|':
        return (v | e.bitop.v) >>> 0;
      case '^':
        return (v ^ e.bitop.v) >>> 0;
    }
  }

  setElements(rhs: NftRhs): readonly NftElement[] | undefined {
    if (rhs.kind === 'set') return rhs.elements;
    if (rhs.kind === 'ref') {
      const s = this.ix.sets.get(rhs.name);
      if (s && s.flags.includes('dynamic') && s.elements.length === 0) {
        this.note(`@${rhs.name} is filled by the ruleset at run time (update/add @${rhs.name}); taken as empty before this packet`);
      }
      return s?.elements ?? [];
    }
    return undefined;
  }

  /** the left side's values into `vals`; false when one is missing (the match fails) */
  leftValues(left: readonly NftExpr[]): boolean {
    const vals = this.vals;
    let ok = true;
    for (let c = 0; c < left.length; c++) {
      const v = this.exprValue(left[c]!);
      vals[c] = v;
      if (v === undefined) ok = false;
    }
    return ok;
  }

  match(s: Extract<NftStmt, { k: 'match' }>): boolean {
    if (!this.leftValues(s.left)) return false;
    const vals = this.vals;
    let hit: boolean;
    const els = this.setElements(s.rhs);
    if (els !== undefined) {
      hit = lookup(els, vals, s.left.length) !== undefined;
    } else {
      const atoms = (s.rhs as { atoms: readonly NftAtom[] }).atoms;
      if (s.op === '<' || s.op === '>' || s.op === '<=' || s.op === '>=') {
        const v = vals[0] as number;
        const lo = (atoms[0] as Extract<NftAtom, { t: 'num' }>).v;
        return s.op === '<' ? v < lo : s.op === '>' ? v > lo : s.op === '<=' ? v <= lo : v >= lo;
      }
      hit = true;
      for (let c = 0; hit && c < atoms.length; c++) {
        const a = atoms[c]!;
        const v = vals[c];
        if (s.op === 'implicit' && a.t === 'num' && a.hi === undefined && typeof v === 'number' && !s.left[c]!.bitop && BITMASK_TYPES.has(selType(s.left[c]!.sel))) hit = (v & a.v) !== 0;
        else hit = atomHas(a, v);
      }
    }
    return s.op === '!=' ? !hit : hit;
  }
}

function rejectWith(s: Extract<NftStmt, { k: 'reject' }>): RejectWith {
  if (!s.with) return 'icmp-port-unreachable';
  if (s.with.kind === 'tcp reset') return 'tcp-reset';
  const code = s.with.code ?? 'port-unreachable';
  const icmp: Record<string, RejectWith> = {
    'net-unreachable': 'icmp-net-unreachable',
    'host-unreachable': 'icmp-host-unreachable',
    'prot-unreachable': 'icmp-proto-unreachable',
    'port-unreachable': 'icmp-port-unreachable',
    'net-prohibited': 'icmp-net-prohibited',
    'host-prohibited': 'icmp-host-prohibited',
    'admin-prohibited': 'icmp-admin-prohibited',
    'no-route': 'icmp-net-unreachable',
  };
  return icmp[code] ?? 'icmp-port-unreachable';
}

function natTarget(w: Walk, s: Extract<NftStmt, { k: 'nat' }>): NatTarget | undefined {
  let addr: { min: number; max: number } | undefined;
  if (s.addr !== undefined) {
    if ('mapFrom' in s.addr) {
      const ok = w.leftValues(s.addr.mapFrom);
      const els = w.setElements(s.addr.map) ?? [];
      const e = ok ? lookup(els, w.vals, s.addr.mapFrom.length) : undefined;
      if (!e || e.data?.kind !== 'value') return undefined; // no mapping: the rule ends (NFT_BREAK)
      const r = atomRange(e.data.atoms[0]!)!;
      addr = { min: r.lo, max: r.hi };
    } else {
      const r = atomRange(s.addr)!;
      addr = { min: r.lo, max: r.hi };
    }
  }
  const ports = s.port !== undefined ? atomRange(s.port) : undefined;
  const pr = ports ? { min: ports.lo, max: ports.hi } : undefined;
  const flags = s.flags;
  const random = flags.length > 0 && flags.includes('random');
  const fully = flags.length > 0 && flags.includes('fully-random');
  const persistent = flags.length > 0 && flags.includes('persistent');
  // built by assignment, not spreads (per packet); the same properties in the same order
  const range: { addr?: { min: number; max: number }; ports?: { min: number; max: number } } = {};
  if (addr) range.addr = addr;
  if (pr) range.ports = pr;
  switch (s.nat) {
    case 'dnat':
      return { kind: 'DNAT', range, random, persistent };
    case 'snat':
      return { kind: 'SNAT', range, random, randomFully: fully, persistent };
    case 'masquerade':
      return pr ? { kind: 'MASQUERADE', ports: pr, random, randomFully: fully } : { kind: 'MASQUERADE', random, randomFully: fully };
    case 'redirect':
      return pr ? { kind: 'REDIRECT', ports: pr, random } : { kind: 'REDIRECT', random };
  }
}

/** the map's verdict for the packet, or undefined (the rule ends) */
function vmapVerdict(w: Walk, s: Extract<NftStmt, { k: 'vmap' }>): NftVerdict | undefined {
  const ok = w.leftValues(s.left);
  const els = w.setElements(s.map) ?? [];
  const e = ok ? lookup(els, w.vals, s.left.length) : undefined;
  return e?.data?.kind === 'verdict' ? e.data.verdict : undefined;
}

const MAX_DEPTH = 64;

const NO_LOGS: readonly string[] = [];
const ACCEPT: NfVerdict = { kind: 'ACCEPT' };
const DROP: NfVerdict = { kind: 'DROP' };

/** the walk's result, built by assignment, not spreads (several chains per packet); the same properties in order */
function result(w: Walk, verdict: NfVerdict, decidedBy: NftHit | undefined, policyChain: string | undefined): NftResult {
  const r: { -readonly [K in keyof NftResult]: NftResult[K] } = { verdict, mark: 0, ctmark: 0, notrack: false, hits: NO_HITS, logs: NO_LOGS };
  if (decidedBy) r.decidedBy = decidedBy;
  if (policyChain !== undefined) r.policyChain = policyChain;
  r.mark = w.mark;
  r.ctmark = w.ctmark;
  r.notrack = w.notrack;
  r.hits = w.hits ?? NO_HITS;
  r.logs = w.logs ?? NO_LOGS;
  if (w.notes) r.notes = w.notes;
  return r;
}
const POLICY_VERDICT = new WeakMap<NftChain, NfVerdict>();
/** the verdict of a base chain's policy (one object per chain) */
function policyVerdict(base: NftChain): NfVerdict {
  const had = POLICY_VERDICT.get(base);
  if (had) return had;
  const v: NfVerdict = { kind: base.base?.policy === 'drop' ? 'DROP' : 'ACCEPT', policy: base.name };
  POLICY_VERDICT.set(base, v);
  return v;
}
const POLICY_LABEL = new WeakMap<NftChain, string>();
/** `FAMILY TABLE CHAIN`, the name a policy verdict gives (one string per chain) */
function policyLabel(family: NftFamily, table: string, base: NftChain): string {
  let l = POLICY_LABEL.get(base);
  if (l === undefined) POLICY_LABEL.set(base, (l = `${family} ${table} ${base.name}`));
  return l;
}

/**
 * Runs base chain `chain` of table `family table` for packet `p` at `hook`. Throws only on a
 * netpath bug (the loader checks jumps and sets).
 */
export function runNftChain(state: NftState, family: NftFamily, table: string, chain: string, hook: Hook, p: NfPacket, env: NftEnv): NftResult {
  const ix = tableOf(state, family, table);
  const base = ix?.chains.get(chain);
  if (!ix || !base?.base) throw new Error(`netpath bug: nft base chain ${family} ${table} ${chain} missing`);
  void hook;
  const w = new Walk(ix, p, env);
  const chains = w.ix.chains;
  let stack: Frame[] | undefined;
  let f: Frame = { chain: base, k: 0 };
  let steps = 0;
  for (;;) {
    if (++steps > 1_000_000) throw new Error(`netpath bug: nft chain walk in ${table}/${chain} does not end`);
    if (f.k >= f.chain.rules.length) {
      const back = stack?.pop();
      if (back) {
        f = back;
        continue;
      }
      if (f.chain !== base) {
        // fell off a chain entered by goto from the base chain: the base chain's policy
        f = { chain: base, k: base.rules.length };
        continue;
      }
      return result(w, policyVerdict(base), undefined, policyLabel(family, table, base));
    }
    const idx = f.k;
    const rule = f.chain.rules[idx]!;
    f.k++;
    // the hit is made only for a rule that runs to its end (most rules end at a match)
    const chainName = f.chain.name;
    let hit: NftHit | undefined;
    let verdict: NftVerdict | undefined;
    let broke = false;
    let terminal: NftResult | undefined;
    const stmts = rule.stmts;
    for (let j = 0; j < stmts.length; j++) {
      const s = stmts[j]!;
      switch (s.k) {
        case 'match':
          if (!w.match(s)) broke = true;
          break;
        case 'verdict':
          verdict = s.verdict;
          break;
        case 'vmap': {
          const v = vmapVerdict(w, s);
          if (!v) broke = true;
          else verdict = v;
          break;
        }
        case 'reject':
          if (s.with?.kind === 'tcp reset' && p.proto !== 6) {
            broke = true;
            break;
          }
          hit = { family, table, chain: chainName, index: idx + 1, rule };
          (w.hits ??= []).push(hit);
          terminal = result(w, { kind: 'REJECT', with: rejectWith(s) }, hit, undefined);
          break;
        case 'counter':
        case 'nftrace':
          break;
        case 'log':
          (w.logs ??= []).push(`LOG ${s.prefix ?? ''}`.trimEnd());
          break;
        case 'limit':
          w.note(`limit rate ${s.over ? 'over ' : ''}${s.rate}/${s.per} assumed ${s.over ? 'not exceeded (no match)' : 'to match'} (one packet never exceeds a rate)`);
          if (s.over) broke = true;
          break;
        case 'nat': {
          const tg = natTarget(w, s);
          if (!tg) {
            broke = true;
            break;
          }
          hit = { family, table, chain: chainName, index: idx + 1, rule };
          (w.hits ??= []).push(hit);
          terminal = result(w, { kind: 'NAT', target: tg }, hit, undefined);
          break;
        }
        case 'set': {
          const v = s.value.kind === 'const' ? s.value.v : w.exprValue(s.value.from);
          if (typeof v !== 'number') break;
          if (s.target === 'meta mark') w.mark = v >>> 0;
          else w.ctmark = v >>> 0;
          break;
        }
        case 'notrack':
          w.notrack = true;
          break;
        case 'setop':
          w.note(`${s.op} @${s.set}: the set is fed at run time; this walk does not keep it`);
          break;
        default:
          return assertNever(s, 'nft statement');
      }
      if (broke || verdict || terminal) break;
    }
    if (terminal) return terminal;
    if (broke) continue;
    hit = { family, table, chain: chainName, index: idx + 1, rule };
    (w.hits ??= []).push(hit);
    if (!verdict) continue;
    switch (verdict.kind) {
      case 'accept':
        return result(w, ACCEPT, hit, undefined);
      case 'drop':
        return result(w, DROP, hit, undefined);
      case 'continue':
        continue;
      case 'return': {
        const back = stack?.pop();
        f = back ?? { chain: base, k: base.rules.length };
        continue;
      }
      case 'jump':
      case 'goto': {
        const next = chains.get(verdict.chain);
        if (!next) throw new Error(`netpath bug: nft chain ${verdict.chain} missing (the loader checks jumps)`);
        if (verdict.kind === 'jump') {
          stack ??= [];
          if (stack.length >= MAX_DEPTH) throw new Error(`netpath bug: nft chain nesting deeper than ${MAX_DEPTH}`);
          stack.push(f);
        }
        f = { chain: next, k: 0 };
        continue;
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// the hook pipeline

/** One nft base chain registered at a hook, for IPv4 packets. */
export interface NftHookChain {
  readonly family: NftFamily;
  readonly table: string;
  readonly chain: string;
  readonly type: 'filter' | 'nat' | 'route';
  readonly priority: number;
  /** registration order (later registered runs first at equal priority) */
  readonly seq: number;
  /** iptables tables that existed when this chain registered */
  readonly iptablesBefore: readonly string[];
}

/**
 * The base chains of families ip and inet at `hook` (IPv4 packets), in the order the kernel
 * runs them: by priority, and at equal priority the chain registered last first. Bridge-family
 * chains are not included (they run on bridged frames, before br_netfilter's IPv4 hooks).
 */
const hookChainCache = new WeakMap<NftState, Map<Hook, readonly NftHookChain[]>>();

export function nftHookChains(state: NftState | undefined, hook: Hook): readonly NftHookChain[] {
  if (!state) return [];
  let byHook = hookChainCache.get(state);
  if (!byHook) hookChainCache.set(state, (byHook = new Map()));
  const hit = byHook.get(hook);
  if (hit) return hit;
  const list = hookChainsOf(state, hook);
  byHook.set(hook, list);
  return list;
}

function hookChainsOf(state: NftState, hook: Hook): NftHookChain[] {
  const name = NF_HOOK[hook];
  const out: NftHookChain[] = [];
  for (const t of state.tables) {
    if (t.family !== 'ip' && t.family !== 'inet') continue;
    for (const c of t.chains) {
      if (!c.base || c.base.hook !== name) continue;
      out.push({
        family: t.family,
        table: t.name,
        chain: c.name,
        type: c.base.type,
        priority: c.base.priority,
        seq: c.registered?.seq ?? c.handle,
        iptablesBefore: c.registered?.iptablesBefore ?? [],
      });
    }
  }
  return out.sort((a, b) => a.priority - b.priority || b.seq - a.seq);
}
