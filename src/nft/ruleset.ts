/**
 * Applying nft commands to a namespace's nftables state, as one kernel transaction: every
 * command of an `nft -f` file (or of one `nft` command line) is checked against the state the
 * earlier ones built, and the first error rejects the whole batch (the kernel aborts the
 * transaction: nothing changes). Errors are the kernel's, as nft prints them ("Could not process
 * rule: No such file or directory").
 */
import { ConfigError } from '../model/errors.js';
import type { Origin } from '../model/origin.js';
import { parsePendingElements, type NftCommand } from './parse.js';
import { ruleText } from './print.js';
import type { NftChain, NftElement, NftFamily, NftRhs, NftRule, NftSet, NftState, NftStmt, NftTable, NftVerdict } from './types.js';

export interface ApplyContext {
  /** the iptables(-nft) tables present in the namespace when the batch runs (for hook order) */
  readonly iptablesPresent?: readonly string[];
}

interface MTable {
  family: NftFamily;
  name: string;
  comment?: string;
  flags: readonly string[];
  chains: NftChain[];
  sets: NftSet[];
  handle: number;
  origin: Origin;
  /** name -> position in chains / sets (rebuilt after a delete) */
  cix?: Map<string, number>;
  six?: Map<string, number>;
  /** per set name: the keys of its elements (built on first use in this batch) */
  keys?: Map<string, Set<string>>;
  /** jump depth: chain name -> deepest level a base chain reaches it at (built on first use) */
  lvl?: Map<string, number>;
  /** map name -> chains with a rule `vmap @name` (built on first use) */
  binds?: Map<string, Set<string>>;
}

type MChain = { -readonly [K in keyof NftChain]: NftChain[K] };
type MSet = { -readonly [K in keyof NftSet]: NftSet[K] };

/**
 * A rule; its `nft list ruleset` text is printed when first read (a 100k-rule ruleset is traced
 * without printing every rule). `text` is an own enumerable accessor, so spreads, JSON,
 * structuredClone and deep equality see the text as before; every rule shares the one getter
 * (and so one hidden class: property reads stay fast), which keeps the family and the printed
 * text in two non-enumerable symbol-keyed properties.
 */
const RULE_FAMILY = Symbol('family');
const RULE_TEXT = Symbol('text');
interface LazyRule {
  readonly stmts: readonly NftStmt[];
  readonly comment?: string;
  [RULE_FAMILY]: NftFamily;
  [RULE_TEXT]: string | undefined;
}
const frozenTexts = new WeakMap<object, string>();
const TEXT_ACCESSOR: PropertyDescriptor = {
  get(this: LazyRule): string {
    const had = this[RULE_TEXT];
    if (had !== undefined) return had;
    if (!Object.isFrozen(this)) return (this[RULE_TEXT] = ruleText(this.stmts, this.comment, this[RULE_FAMILY]));
    // frozen (a world's state is) before its text was read: kept beside it
    let t = frozenTexts.get(this);
    if (t === undefined) frozenTexts.set(this, (t = ruleText(this.stmts, this.comment, this[RULE_FAMILY])));
    return t;
  },
  enumerable: true,
  configurable: true,
};

function nftRule(stmts: readonly NftStmt[], comment: string | undefined, family: NftFamily, handle: number, origin: Origin): NftRule {
  const rule: Record<string | symbol, unknown> = comment !== undefined ? { stmts, comment } : { stmts };
  Object.defineProperty(rule, 'text', TEXT_ACCESSOR);
  rule['handle'] = handle;
  rule['origin'] = origin;
  Object.defineProperty(rule, RULE_FAMILY, { value: family, writable: true });
  Object.defineProperty(rule, RULE_TEXT, { value: undefined, writable: true });
  return rule as unknown as NftRule;
}

function kernelErr(origin: Origin, what: string, errno: string): never {
  throw ConfigError.at(origin, 'kernel', `nft: Error: Could not process ${what}: ${errno}`);
}

const HOOKS_OF: Readonly<Record<string, readonly string[]>> = {
  ip: ['prerouting', 'input', 'forward', 'output', 'postrouting'],
  inet: ['prerouting', 'input', 'forward', 'output', 'postrouting', 'ingress'],
  ip6: ['prerouting', 'input', 'forward', 'output', 'postrouting'],
  bridge: ['prerouting', 'input', 'forward', 'output', 'postrouting'],
  arp: ['input', 'output'],
  netdev: ['ingress', 'egress'],
};

/** Applies one batch; throws the first error (the state passed in is never changed). */
export function applyNft(state: NftState, cmds: readonly NftCommand[], ctx: ApplyContext = {}): NftState {
  let handle = state.nextHandle;
  // chains and sets copied during this batch, with their rule and element arrays: changed in
  // place (the state passed in is never touched; one copy per chain, not one per rule added, and
  // a 10k-element map filled one `add element` at a time stays linear)
  const owned = new Set<object>();
  const ownAt = <T extends object>(list: T[], k: number, items: 'rules' | 'elements'): T => {
    const x = list[k]!;
    if (owned.has(x)) return x;
    // a plain spread, then a store to the property it already has (a computed key in the literal
    // would give every copy a hidden class of its own)
    const copy = { ...x };
    (copy as Record<string, readonly unknown[]>)[items] = (x as Record<string, readonly unknown[]>)[items]!.slice();
    owned.add(copy);
    list[k] = copy;
    return copy;
  };
  const ownChain = (t: MTable, k: number): MChain & { rules: NftRule[] } => ownAt<NftChain>(t.chains, k, 'rules') as MChain & { rules: NftRule[] };
  const ownSet = (t: MTable, k: number): MSet & { elements: NftElement[] } => ownAt<NftSet>(t.sets, k, 'elements') as MSet & { elements: NftElement[] };
  let tables: MTable[] = state.tables.map((t) => ({ ...t, chains: [...t.chains], sets: [...t.sets] }));
  const findT = (fam: NftFamily, name: string): MTable | undefined => tables.find((t) => t.family === fam && t.name === name);
  const needT = (c: { family: NftFamily; table: string; origin: Origin }, what: string): MTable =>
    findT(c.family, c.table) ?? kernelErr(c.origin, what, 'No such file or directory');
  const chainIx = (t: MTable, name: string): number => {
    t.cix ??= new Map(t.chains.map((c, i) => [c.name, i]));
    return t.cix.get(name) ?? -1;
  };
  const setIx = (t: MTable, name: string): number => {
    t.six ??= new Map(t.sets.map((x, i) => [x.name, i]));
    return t.six.get(name) ?? -1;
  };
  const keysOf = (t: MTable, set: NftSet): Set<string> => {
    t.keys ??= new Map();
    let k = t.keys.get(set.name);
    if (!k) t.keys.set(set.name, (k = new Set(set.elements.map(keyString))));
    return k;
  };

  for (const c of cmds) {
    switch (c.cmd) {
      case 'flush-ruleset':
        tables = c.family === undefined ? [] : tables.filter((t) => t.family !== c.family);
        break;
      case 'add-table':
      case 'create-table': {
        const t = findT(c.family, c.table);
        if (c.family === 'netdev' || c.family === 'arp') {
          throw ConfigError.at(c.origin, 'unsupported', `nft: "${c.family}" tables are not modelled by netpath (only ip, inet, ip6 and bridge)`);
        }
        if (t) {
          if (c.cmd === 'create-table') kernelErr(c.origin, 'rule', 'File exists');
          if (c.comment !== undefined) t.comment = c.comment;
          if (c.flags.length > 0) t.flags = c.flags;
          break;
        }
        tables.push({ family: c.family, name: c.table, flags: c.flags, ...(c.comment !== undefined ? { comment: c.comment } : {}), chains: [], sets: [], handle: handle++, origin: c.origin });
        break;
      }
      case 'delete-table': {
        const t = needT(c, 'rule');
        tables = tables.filter((x) => x !== t);
        break;
      }
      case 'flush-table': {
        const t = needT(c, 'rule');
        t.chains = t.chains.map((ch) => ({ ...ch, rules: [] }));
        forgetDepth(t);
        break;
      }
      case 'add-chain':
      case 'create-chain': {
        const t = needT(c, 'rule');
        const k = chainIx(t, c.chain);
        const base = c.spec.base;
        if (base) {
          if (!HOOKS_OF[t.family]!.includes(base.hook)) kernelErr(c.origin, 'rule', 'Operation not supported');
          if (base.hook === 'ingress' || base.hook === 'egress') {
            throw ConfigError.at(c.origin, 'unsupported', `nft: the ${base.hook} hook is not modelled by netpath`);
          }
          if (base.type === 'nat' && t.family !== 'ip' && t.family !== 'ip6' && t.family !== 'inet') kernelErr(c.origin, 'rule', 'Operation not supported');
          if (base.type === 'route' && (base.hook !== 'output' || t.family === 'bridge')) kernelErr(c.origin, 'rule', 'Operation not supported');
          if (base.type === 'nat' && base.hook === 'forward') kernelErr(c.origin, 'rule', 'Operation not supported');
        }
        if (k >= 0) {
          if (c.cmd === 'create-chain') kernelErr(c.origin, 'rule', 'File exists');
          const old = t.chains[k]!;
          if (base) {
            if (!old.base || old.base.hook !== base.hook || old.base.type !== base.type || old.base.priority !== base.priority) kernelErr(c.origin, 'rule', 'Device or resource busy');
            t.chains[k] = { ...old, base: { ...old.base, policy: base.policy } };
          }
          if (c.spec.comment !== undefined) t.chains[k] = { ...t.chains[k]!, comment: c.spec.comment };
          break;
        }
        const chain: NftChain = {
          name: c.chain,
          ...(base ? { base, registered: { seq: handle, iptablesBefore: [...(ctx.iptablesPresent ?? [])] } } : {}),
          ...(c.spec.comment !== undefined ? { comment: c.spec.comment } : {}),
          rules: [],
          handle: handle++,
          origin: c.origin,
        };
        t.chains.push(chain);
        t.cix?.set(chain.name, t.chains.length - 1);
        if (base && t.lvl) t.lvl.set(chain.name, 0);
        break;
      }
      case 'delete-chain':
      case 'flush-chain': {
        const t = needT(c, 'rule');
        const k = chainIx(t, c.chain);
        if (k < 0) kernelErr(c.origin, 'rule', 'No such file or directory');
        forgetDepth(t);
        if (c.cmd === 'flush-chain') {
          t.chains[k] = { ...t.chains[k]!, rules: [] };
          break;
        }
        if (referencedChain(t, c.chain)) kernelErr(c.origin, 'rule', 'Device or resource busy');
        t.chains.splice(k, 1);
        delete t.cix;
        break;
      }
      case 'add-rule':
      case 'insert-rule':
      case 'replace-rule': {
        const t = needT(c, 'rule');
        const k = chainIx(t, c.chain);
        if (k < 0) kernelErr(c.origin, 'rule', 'No such file or directory');
        checkRefs(t, c.stmts, c.origin, chainIx, setIx);
        // a replaced rule keeps its handle; the counter moves on all the same
        const next = handle++;
        const rule = nftRule(c.stmts, c.comment, t.family, c.cmd === 'replace-rule' ? c.handle! : next, c.origin);
        const ch = ownChain(t, k);
        const rules = ch.rules;
        if (c.cmd === 'replace-rule') {
          const at = rules.findIndex((r) => r.handle === c.handle);
          if (at < 0) kernelErr(c.origin, 'rule', 'No such file or directory');
          rules[at] = rule;
        } else if (c.handle !== undefined) {
          const at = rules.findIndex((r) => r.handle === c.handle);
          if (at < 0) kernelErr(c.origin, 'rule', 'No such file or directory');
          rules.splice(c.cmd === 'add-rule' ? at + 1 : at, 0, rule);
        } else if (c.index !== undefined) {
          if (c.index >= rules.length) kernelErr(c.origin, 'rule', 'No such file or directory');
          rules.splice(c.cmd === 'add-rule' ? c.index + 1 : c.index, 0, rule);
        } else if (c.cmd === 'add-rule') rules.push(rule);
        else rules.unshift(rule);
        if (c.cmd === 'replace-rule') forgetDepth(t);
        ruleAdded(t, ch.name, rule, c.origin);
        break;
      }
      case 'delete-rule': {
        const t = needT(c, 'rule');
        const k = chainIx(t, c.chain);
        if (k < 0) kernelErr(c.origin, 'rule', 'No such file or directory');
        const ch = t.chains[k]!;
        if (!ch.rules.some((r) => r.handle === c.handle)) kernelErr(c.origin, 'rule', 'No such file or directory');
        t.chains[k] = { ...ch, rules: ch.rules.filter((r) => r.handle !== c.handle) };
        forgetDepth(t);
        break;
      }
      case 'add-set':
      case 'create-set': {
        const t = needT(c, 'rule');
        const k = setIx(t, c.set);
        if (k >= 0) {
          if (c.cmd === 'create-set') kernelErr(c.origin, 'rule', 'File exists');
          const old = t.sets[k]!;
          if (c.spec.elements.length > 0) {
            mergeElements(ownSet(t, k).elements, c.spec.elements, keysOf(t, old));
            elementsAdded(t, c.set, c.spec.elements, c.origin);
          }
          break;
        }
        for (const e of c.spec.elements) checkVerdictTargets(t, e, c.origin, chainIx);
        t.sets.push({ name: c.set, ...c.spec, handle: handle++, origin: c.origin });
        t.six?.set(c.set, t.sets.length - 1);
        break;
      }
      case 'delete-set':
      case 'flush-set': {
        const t = needT(c, 'rule');
        const k = setIx(t, c.set);
        if (k < 0) kernelErr(c.origin, 'rule', 'No such file or directory');
        forgetDepth(t);
        if (c.cmd === 'flush-set') {
          t.sets[k] = { ...t.sets[k]!, elements: [] };
          t.keys?.delete(c.set);
        }
        else {
          if (referencedSet(t, c.set)) kernelErr(c.origin, 'rule', 'Device or resource busy');
          t.sets.splice(k, 1);
          delete t.six;
          t.keys?.delete(c.set);
        }
        break;
      }
      case 'add-element':
      case 'delete-element': {
        const t = needT(c, 'rule');
        const k = setIx(t, c.set);
        if (k < 0) kernelErr(c.origin, 'rule', 'No such file or directory');
        const set = t.sets[k]!;
        const els = parsePendingElements(c, set.keyType, set.map ? (set.dataType ?? 'verdict') : undefined);
        if (c.cmd === 'add-element') {
          for (const e of els) checkVerdictTargets(t, e, c.origin, chainIx);
          mergeElements(ownSet(t, k).elements, els, keysOf(t, set));
          elementsAdded(t, c.set, els, c.origin);
        } else {
          forgetDepth(t);
          const gone = new Set<string>();
          const have = keysOf(t, set);
          for (const e of els) {
            const key = keyString(e);
            if (!have.has(key) || gone.has(key)) kernelErr(c.origin, 'rule', 'No such file or directory');
            gone.add(key);
          }
          for (const key of gone) have.delete(key);
          t.sets[k] = { ...set, elements: set.elements.filter((x) => !gone.has(keyString(x))) };
        }
        break;
      }
    }
  }
  for (const t of tables) checkNatHooks(t);
  return {
    tables: tables.map((t) => {
      const { cix: _c, six: _s, keys: _k, lvl: _l, binds: _b, ...rest } = t;
      return Object.freeze(rest) as NftTable;
    }),
    nextHandle: handle,
  };
}

/** an element's key as one string (equal keys, equal strings; two different keys never meet) */
function keyString(e: NftElement): string {
  let k = '';
  for (const a of e.key) {
    switch (a.t) {
      case 'num':
        k += `n${a.v}-${a.hi ?? ''}/${a.plen ?? ''} `;
        break;
      case 'str':
        k += `s${a.v.length}:${a.v} `;
        break;
      case 'v6':
        k += `6${a.text} `;
        break;
      case 'flags':
        k += `f${a.v} `;
        break;
    }
  }
  return k;
}

/** `add element` of a key already there changes nothing (no error without `create`) */
function mergeElements(out: NftElement[], more: readonly NftElement[], have: Set<string>): NftElement[] {
  for (const e of more) {
    const k = keyString(e);
    if (have.has(k)) continue;
    have.add(k);
    out.push(e);
  }
  return out;
}

function verdictsOf(stmts: readonly NftStmt[]): NftVerdict[] {
  const out: NftVerdict[] = [];
  for (const s of stmts) {
    if (s.k === 'verdict') out.push(s.verdict);
    if (s.k === 'vmap' && s.map.kind === 'set') for (const e of s.map.elements) if (e.data?.kind === 'verdict') out.push(e.data.verdict);
  }
  return out;
}

function refsOf(stmts: readonly NftStmt[]): string[] {
  const out: string[] = [];
  const rhs = (r: NftRhs): void => {
    if (r.kind === 'ref') out.push(r.name);
  };
  for (const s of stmts) {
    if (s.k === 'match') rhs(s.rhs);
    if (s.k === 'vmap') rhs(s.map);
    if (s.k === 'setop') out.push(s.set);
    if (s.k === 'nat' && s.addr !== undefined && 'mapFrom' in s.addr) rhs(s.addr.map);
  }
  return out;
}

function checkRefs(t: MTable, stmts: readonly NftStmt[], origin: Origin, chainIx: (t: MTable, n: string) => number, setIx: (t: MTable, n: string) => number): void {
  // jumps first, then set references, as the kernel reports them (no arrays per rule)
  const jump = (v: NftVerdict): void => {
    if (v.kind !== 'jump' && v.kind !== 'goto') return;
    const k = chainIx(t, v.chain);
    if (k < 0) kernelErr(origin, 'rule', 'No such file or directory');
    if (t.chains[k]!.base) kernelErr(origin, 'rule', 'Operation not supported');
  };
  for (const s of stmts) {
    if (s.k === 'verdict') jump(s.verdict);
    else if (s.k === 'vmap' && s.map.kind === 'set') for (const e of s.map.elements) if (e.data?.kind === 'verdict') jump(e.data.verdict);
  }
  const ref = (r: NftRhs): void => {
    if (r.kind === 'ref' && setIx(t, r.name) < 0) kernelErr(origin, 'rule', 'No such file or directory');
  };
  for (const s of stmts) {
    if (s.k === 'match') ref(s.rhs);
    else if (s.k === 'vmap') ref(s.map);
    else if (s.k === 'setop') {
      if (setIx(t, s.set) < 0) kernelErr(origin, 'rule', 'No such file or directory');
    } else if (s.k === 'nat' && s.addr !== undefined && 'mapFrom' in s.addr) ref(s.addr.map);
  }
  for (const s of stmts) {
    if (s.k === 'nat' && s.family === undefined && t.family === 'inet' && s.addr !== undefined) {
      throw ConfigError.at(origin, 'syntax', `nft: Error: specify \`${s.nat} ip\` or \`${s.nat} ip6\` in inet table to convert hostname into IP`);
    }
  }
}

function checkVerdictTargets(t: MTable, e: NftElement, origin: Origin, chainIx: (t: MTable, n: string) => number): void {
  const v = e.data?.kind === 'verdict' ? e.data.verdict : undefined;
  if (v && (v.kind === 'jump' || v.kind === 'goto') && chainIx(t, v.chain) < 0) kernelErr(origin, 'rule', 'No such file or directory');
}

function referencedChain(t: MTable, name: string): boolean {
  for (const c of t.chains) for (const r of c.rules) for (const v of verdictsOf(r.stmts)) if ((v.kind === 'jump' || v.kind === 'goto') && v.chain === name) return true;
  for (const s of t.sets) for (const e of s.elements) if (e.data?.kind === 'verdict' && 'chain' in e.data.verdict && e.data.verdict.chain === name) return true;
  return false;
}

function referencedSet(t: MTable, name: string): boolean {
  for (const c of t.chains) for (const r of c.rules) if (refsOf(r.stmts).includes(name)) return true;
  return false;
}

/**
 * The kernel validates, when the transaction commits, that NAT statements are reachable only
 * from nat base chains at hooks where they may run (nft_nat_validate, nft_masq_validate,
 * nft_redir_validate): dnat/redirect at prerouting and output, snat/masquerade at postrouting
 * and input. Otherwise: "Operation not supported".
 */
function checkNatHooks(t: MTable): void {
  // which kinds of base chain reach each chain (bits: 1 dnat allowed, 2 snat allowed, 4 neither),
  // propagated once over the jump graph: linear in the rules, also for kube-proxy's 10k services
  if (!t.chains.some(hasNat)) return;
  const byName = new Map<string, NftChain>();
  for (const c of t.chains) byName.set(c.name, c);
  const setByName = new Map<string, NftSet>();
  for (const x of t.sets) setByName.set(x.name, x);
  const reach = new Map<string, number>();
  const todoName: string[] = [];
  const todoBit: number[] = [];
  for (const c of t.chains) {
    if (!c.base) continue;
    const b = c.base;
    todoName.push(c.name);
    todoBit.push(b.type !== 'nat' ? 4 : b.hook === 'prerouting' || b.hook === 'output' ? 1 : b.hook === 'postrouting' || b.hook === 'input' ? 2 : 4);
  }
  let bit = 0;
  const push = (v: NftVerdict): void => {
    if (v.kind === 'jump' || v.kind === 'goto') {
      todoName.push(v.chain);
      todoBit.push(bit);
    }
  };
  const pushMap = (els: readonly NftElement[]): void => {
    for (const e of els) if (e.data?.kind === 'verdict') push(e.data.verdict);
  };
  while (todoName.length > 0) {
    const name = todoName.pop()!;
    bit = todoBit.pop()!;
    const had = reach.get(name) ?? 0;
    if ((had & bit) === bit) continue;
    reach.set(name, had | bit);
    const c = byName.get(name);
    if (!c) continue;
    for (const r of c.rules) {
      for (const st of r.stmts) {
        if (st.k === 'verdict') push(st.verdict);
        else if (st.k === 'vmap') pushMap(st.map.kind === 'set' ? st.map.elements : st.map.kind === 'ref' ? (setByName.get(st.map.name)?.elements ?? []) : []);
      }
    }
  }
  for (const c of t.chains) {
    if (!hasNat(c)) continue;
    const bits = reach.get(c.name) ?? 0;
    for (const r of c.rules) {
      for (const st of r.stmts) {
        if (st.k !== 'nat') continue;
        const dst = st.nat === 'dnat' || st.nat === 'redirect';
        const bad = dst ? bits & ~1 : bits & ~2;
        if (bad !== 0) kernelErr(r.origin, 'rule', 'Operation not supported');
      }
    }
  }
}

function hasNat(c: NftChain): boolean {
  for (const r of c.rules) for (const st of r.stmts) if (st.k === 'nat') return true;
  return false;
}

/**
 * Jump depth, as the kernel validates it (nft_chain_validate, net/netfilter/nf_tables_api.c):
 * every rule added, and every verdict element added to a map a rule uses, is validated from the
 * table's base chains; each jump or goto (also through a verdict map) goes one level deeper, and
 * a chain reached at level 16 (NFT_JUMP_STACK_SIZE) fails the command with "Too many links"
 * (EMLINK). A loop reachable from a base chain is refused the same way. Loops among chains no
 * base chain reaches are accepted: Linux 6.18 has no separate ELOOP check at rule insertion
 * (observed: `chain a { jump b } chain b { jump a }` loads; the same with `jump a` from an input
 * chain fails at the rule that closes the loop; docs/kernel-notes.md).
 */
const NFT_JUMP_STACK_SIZE = 16;

const NO_TARGETS: readonly string[] = [];

function jumpTargets(t: MTable, stmts: readonly NftStmt[]): readonly string[] {
  let out: string[] | undefined;
  for (const s of stmts) {
    if (s.k === 'verdict') {
      if (s.verdict.kind === 'jump' || s.verdict.kind === 'goto') (out ??= []).push(s.verdict.chain);
    } else if (s.k === 'vmap') {
      const set = s.map.kind === 'set' ? s.map.elements : s.map.kind === 'ref' ? jumpMap(t, s.map.name) : undefined;
      for (const e of set ?? []) if (e.data?.kind === 'verdict' && 'chain' in e.data.verdict) (out ??= []).push(e.data.verdict.chain);
    }
  }
  return out ?? NO_TARGETS;
}

function jumpMap(t: MTable, name: string): readonly NftElement[] | undefined {
  const k = t.six?.get(name);
  return (k !== undefined ? t.sets[k] : t.sets.find((x) => x.name === name))?.elements;
}

function chainTargets(t: MTable, name: string): string[] {
  const ix = t.cix?.get(name) ?? t.chains.findIndex((c) => c.name === name);
  const c = t.chains[ix];
  if (!c) return [];
  const out: string[] = [];
  for (const r of c.rules) for (const n of jumpTargets(t, r.stmts)) out.push(n);
  return out;
}

/** raises `name`'s level to `level` and walks on; false when a chain is reached at level 16 */
function deepen(t: MTable, lvl: Map<string, number>, name: string, level: number): boolean {
  if (level >= NFT_JUMP_STACK_SIZE) return false;
  if ((lvl.get(name) ?? -1) >= level) return true;
  lvl.set(name, level);
  for (const n of chainTargets(t, name)) if (!deepen(t, lvl, n, level + 1)) return false;
  return true;
}

function levels(t: MTable): Map<string, number> {
  if (t.lvl) return t.lvl;
  const lvl = new Map<string, number>();
  t.lvl = lvl;
  for (const c of t.chains) if (c.base) deepen(t, lvl, c.name, 0);
  return lvl;
}

function forgetDepth(t: MTable): void {
  delete t.lvl;
  delete t.binds;
}

function bindings(t: MTable): Map<string, Set<string>> {
  if (t.binds) return t.binds;
  const b = new Map<string, Set<string>>();
  for (const c of t.chains) for (const r of c.rules) bindRule(b, c.name, r.stmts);
  t.binds = b;
  return b;
}

function bindRule(b: Map<string, Set<string>>, chain: string, stmts: readonly NftStmt[]): void {
  for (const s of stmts) {
    if (s.k !== 'vmap' || s.map.kind !== 'ref') continue;
    let set = b.get(s.map.name);
    if (!set) b.set(s.map.name, (set = new Set()));
    set.add(chain);
  }
}

function ruleAdded(t: MTable, chain: string, rule: NftRule, origin: Origin): void {
  if (t.binds) bindRule(t.binds, chain, rule.stmts);
  const targets = jumpTargets(t, rule.stmts);
  if (targets.length === 0) return;
  const lvl = levels(t);
  const at = lvl.get(chain);
  if (at === undefined) return;
  for (const n of targets) if (!deepen(t, lvl, n, at + 1)) kernelErr(origin, 'rule', 'Too many links');
}

function elementsAdded(t: MTable, set: string, els: readonly NftElement[], origin: Origin): void {
  const targets: string[] = [];
  for (const e of els) if (e.data?.kind === 'verdict' && 'chain' in e.data.verdict) targets.push(e.data.verdict.chain);
  if (targets.length === 0) return;
  const users = bindings(t).get(set);
  if (!users || users.size === 0) return;
  const lvl = levels(t);
  for (const chain of users) {
    const at = lvl.get(chain);
    if (at === undefined) continue;
    for (const n of targets) if (!deepen(t, lvl, n, at + 1)) kernelErr(origin, 'rule', 'Too many links');
  }
}
