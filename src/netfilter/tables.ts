/**
 * The four iptables tables as an immutable value, and what each iptables command does to them.
 *
 * Every function is pure: it returns a new NfState (sharing untouched tables and chains) or throws
 * a ConfigError with the message iptables v1.8.9 (nf_tables) prints on this machine. The checks
 * the kernel makes when a rule is added (x_tables' table and hook restrictions of each target,
 * jumps to missing or built-in chains, loops) are made here, for command lines and
 * iptables-restore alike.
 */
import { ConfigError } from '../model/errors.js';
import { KERNEL, type Origin } from '../model/origin.js';
import { matchHookCheck, targetExt } from './ext/index.js';
import type {
  IptablesCommand,
  IptablesRestoreTable,
  NfChain,
  NfRule,
  NfState,
  NfTable,
  NfTableName,
} from './types.js';

/** Built-in chains per table, in kernel hook order (the order iptables-save prints them). */
export const BUILTIN_CHAINS: Readonly<Record<NfTableName, readonly string[]>> = {
  raw: ['PREROUTING', 'OUTPUT'],
  mangle: ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'],
  nat: ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'],
  filter: ['INPUT', 'FORWARD', 'OUTPUT'],
};

/** The order iptables-save (nf_tables backend) prints tables in. */
export const TABLE_ORDER: readonly NfTableName[] = ['mangle', 'raw', 'filter', 'nat'];

export function isBuiltin(table: NfTableName, chain: string): boolean {
  return BUILTIN_CHAINS[table].includes(chain);
}

function emptyTable(name: NfTableName, present: boolean): NfTable {
  const chains: Record<string, NfChain> = {};
  for (const c of BUILTIN_CHAINS[name]) chains[c] = { name: c, policy: 'ACCEPT', rules: [], origin: KERNEL };
  return { name, chains, present };
}

/** A fresh network namespace: no table exists yet (iptables-nft creates them on first use). */
export function emptyNfState(): NfState {
  return {
    raw: emptyTable('raw', false),
    mangle: emptyTable('mangle', false),
    nat: emptyTable('nat', false),
    filter: emptyTable('filter', false),
  };
}

/** Chains in iptables-save order: built-ins in hook order, then user chains by strcmp. */
export function chainList(t: NfTable): NfChain[] {
  return orderChains(t.name, Object.values(t.chains));
}

/** `chains` (unique names) in iptables-save order; the default sort compares as `<` does (UTF-16 units) */
function orderChains(table: NfTableName, chains: Iterable<NfChain>): NfChain[] {
  const builtins = BUILTIN_CHAINS[table];
  const found: (NfChain | undefined)[] = builtins.map(() => undefined);
  const users: NfChain[] = [];
  for (const c of chains) {
    const k = builtins.indexOf(c.name);
    if (k >= 0) found[k] = c;
    else users.push(c);
  }
  // dumps list user chains sorted already (iptables-save does): checked in one pass, sorted if not
  let sorted = true;
  for (let k = 1; k < users.length && sorted; k++) if (users[k - 1]!.name > users[k]!.name) sorted = false;
  if (!sorted) users.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const out: NfChain[] = [];
  for (const c of found) if (c !== undefined) out.push(c);
  for (const c of users) out.push(c);
  return out;
}

function withChains(t: NfTable, chains: Iterable<NfChain>, present = true): NfTable {
  // a later chain of the same name replaces an earlier one (as Object.fromEntries did)
  const byName = new Map<string, NfChain>();
  for (const c of chains) byName.set(c.name, c);
  const rec: Record<string, NfChain> = {};
  for (const c of orderChains(t.name, byName.values())) rec[c.name] = c;
  return { name: t.name, chains: rec, present };
}

function setChain(t: NfTable, chain: NfChain): NfTable {
  return withChains(t, [...Object.values(t.chains).filter((c) => c.name !== chain.name), chain]);
}

const NO_CHAIN = 'iptables: No chain/target/match by that name.';

function chainOf(t: NfTable, name: string, origin: Origin): NfChain {
  const c = Object.hasOwn(t.chains, name) ? t.chains[name] : undefined;
  if (!c) throw ConfigError.at(origin, 'kernel', NO_CHAIN);
  return c;
}

/** user chains that rules jump or go to, with how often */
function references(t: NfTable, name: string): number {
  let n = 0;
  for (const c of Object.values(t.chains)) {
    for (const r of c.rules) if ((r.target?.kind === 'jump' || r.target?.kind === 'goto') && r.target.chain === name) n++;
  }
  return n;
}

type Verb = 'APPEND' | 'INSERT' | 'REPLACE';

function ruleFailed(origin: Origin, verb: Verb, chain: string, errno: string, why: string): ConfigError {
  return ConfigError.at(origin, 'kernel', `iptables: RULE_${verb} failed (${errno}): rule in chain ${chain} (${why})`);
}

/**
 * The jump graph of a table: chains numbered in `ordered` order, and for each the chains its
 * rules jump or go to (targets that name no chain of the table are left out: they have no rules).
 */
interface JumpGraph {
  /** a chain's number, or undefined when the table has no such chain */
  readonly id: (name: string) => number | undefined;
  readonly edges: readonly (readonly number[])[];
}

const NO_EDGES: readonly number[] = Object.freeze([]);

/**
 * `id`: the chains' numbers when the caller has them already (by default a map is built);
 * `missing`: called for a jump to a chain the table does not have (by default it is left out)
 */
function jumpGraph(ordered: readonly NfChain[], id?: (name: string) => number | undefined, missing?: () => void): JumpGraph {
  let idOf = id;
  if (idOf === undefined) {
    const map = new Map<string, number>();
    for (let k = 0; k < ordered.length; k++) map.set(ordered[k]!.name, k);
    idOf = (name) => map.get(name);
  }
  const edges: (readonly number[])[] = new Array<readonly number[]>(ordered.length);
  for (let k = 0; k < ordered.length; k++) {
    let out: number[] | undefined;
    let prevName: string | undefined;
    let prevId: number | undefined;
    for (const r of ordered[k]!.rules) {
      const tg = r.target;
      if (tg === undefined || (tg.kind !== 'jump' && tg.kind !== 'goto')) continue;
      // consecutive rules often jump to the same chain (KUBE-MARK-MASQ): skip the hash lookup
      const to = tg.chain === prevName ? prevId : idOf(tg.chain);
      prevName = tg.chain;
      prevId = to;
      if (to !== undefined) (out ??= []).push(to);
      else missing?.();
    }
    edges[k] = out ?? NO_EDGES;
  }
  return { id: idOf, edges };
}

/**
 * hooks (built-in chains) from which each chain of the table can be reached, as a bit set per
 * chain number: bit k is BUILTIN_CHAINS[table][k]
 */
function reachingHooks(table: NfTableName, g: JumpGraph): Uint8Array {
  const bits = new Uint8Array(g.edges.length);
  const builtins = BUILTIN_CHAINS[table];
  const stack: number[] = [];
  for (let k = 0; k < builtins.length; k++) {
    const root = g.id(builtins[k]!);
    if (root === undefined) continue;
    const bit = 1 << k;
    stack.push(root);
    while (stack.length > 0) {
      const c = stack.pop()!;
      if (bits[c]! & bit) continue;
      bits[c] = bits[c]! | bit;
      for (const n of g.edges[c]!) stack.push(n);
    }
  }
  return bits;
}

/** the reachingHooks bits of some hook names */
function hookBits(table: NfTableName, hooks: readonly string[]): number {
  const builtins = BUILTIN_CHAINS[table];
  let bits = 0;
  for (let k = 0; k < builtins.length; k++) if (hooks.includes(builtins[k]!)) bits |= 1 << k;
  return bits;
}

/** the hook names of a reachingHooks bit set, in hook order */
function hookNames(table: NfTableName, bits: number): string[] {
  return BUILTIN_CHAINS[table].filter((_, k) => (bits & (1 << k)) !== 0);
}

/**
 * nf_tables validates a table by walking its jumps from each base chain at level 0; entering a
 * chain at level NFT_JUMP_STACK_SIZE (16) fails with EMLINK, "Too many links" (nft_chain_validate,
 * net/netfilter/nf_tables_api.c). So at most 15 user chains deep; -g counts like -j. Observed:
 * docs/kernel-notes.md "User-chain nesting depth".
 */
export const NFT_JUMP_STACK_SIZE = 16;

/**
 * What is wrong with the jump graph as seen from the built-in chains: a cycle (nf_tables refuses
 * it: EMLINK, "Too many links"), chains nested too deep (the same errno), or nothing.
 */
function shapeProblem(table: NfTableName, g: JumpGraph): 'loop' | 'deep' | undefined {
  // iterative depth-first search (a recursive one is slow and deep on 30k-chain dumps); a chain
  // is done when all it reaches is done, and then its height (longest jump path below it) is known
  const OPEN = 1;
  const DONE = 2;
  const state = new Uint8Array(g.edges.length);
  const height = new Uint8Array(g.edges.length);
  const nodes: number[] = [];
  const at: number[] = [];
  let deep = false;
  for (const name of BUILTIN_CHAINS[table]) {
    const root = g.id(name);
    if (root === undefined || state[root] === DONE) continue;
    state[root] = OPEN;
    nodes.push(root);
    at.push(0);
    while (nodes.length > 0) {
      const top = nodes.length - 1;
      const node = nodes[top]!;
      const list = g.edges[node]!;
      if (at[top]! >= list.length) {
        state[node] = DONE;
        let h = 0;
        for (const c of list) if (height[c]! + 1 > h) h = Math.min(height[c]! + 1, NFT_JUMP_STACK_SIZE);
        height[node] = h;
        nodes.pop();
        at.pop();
        continue;
      }
      const c = list[at[top]!++]!;
      if (state[c] === OPEN) return 'loop';
      if (state[c] === DONE) continue;
      state[c] = OPEN;
      nodes.push(c);
      at.push(0);
    }
    if (height[root]! >= NFT_JUMP_STACK_SIZE) deep = true;
  }
  return deep ? 'deep' : undefined;
}

/**
 * The rules the kernel blames for chains nested too deep: the jumps into a chain at level 16
 * and the rules of chains at that level (each chain at its deepest level from a built-in chain).
 */
function tooDeepRules(table: NfTableName, ordered: readonly NfChain[], g: JumpGraph): { chain: NfChain; rule: NfRule }[] {
  const level = new Int8Array(g.edges.length).fill(-1);
  const stack: number[] = [];
  for (const name of BUILTIN_CHAINS[table]) {
    const root = g.id(name);
    if (root === undefined) continue;
    level[root] = Math.max(level[root]!, 0);
    stack.push(root);
    // levels only rise and stop at 16: each chain is revisited at most 16 times
    while (stack.length > 0) {
      const c = stack.pop()!;
      const next = Math.min(level[c]! + 1, NFT_JUMP_STACK_SIZE);
      for (const n of g.edges[c]!) {
        if (level[n]! >= next) continue;
        level[n] = next;
        stack.push(n);
      }
    }
  }
  const out: { chain: NfChain; rule: NfRule }[] = [];
  for (let k = 0; k < ordered.length; k++) {
    const chain = ordered[k]!;
    if (level[k]! >= NFT_JUMP_STACK_SIZE) for (const rule of chain.rules) out.push({ chain, rule });
    else if (level[k] === NFT_JUMP_STACK_SIZE - 1) {
      for (const rule of chain.rules) if (rule.target?.kind === 'jump' || rule.target?.kind === 'goto') out.push({ chain, rule });
    }
  }
  return out;
}

/** Every rule of the table against the hooks that reach its chain, then the loop and depth checks. */
function validateTable(
  t: NfTable,
  ordered: readonly NfChain[],
  check: (c: NfChain, builtin: boolean, r: NfRule, hooks: number) => void,
  loop: () => ConfigError,
  deep: (blamed: readonly { chain: NfChain; rule: NfRule }[]) => ConfigError,
  graph?: { readonly id: (name: string) => number | undefined; readonly missing: () => void },
): void {
  const g = jumpGraph(ordered, graph?.id, graph?.missing);
  const hooks = reachingHooks(t.name, g);
  for (let k = 0; k < ordered.length; k++) {
    const c = ordered[k]!;
    const builtin = isBuiltin(t.name, c.name);
    for (const r of c.rules) check(c, builtin, r, hooks[k]!);
  }
  const problem = shapeProblem(t.name, g);
  if (problem === 'loop') throw loop();
  if (problem === 'deep') throw deep(tooDeepRules(t.name, ordered, g));
}

/** the `(why)` of a nesting refusal */
const TOO_DEEP = `user chains nested ${NFT_JUMP_STACK_SIZE} deep; nf_tables allows ${NFT_JUMP_STACK_SIZE - 1}`;

/** iptables-restore's refusal of chains nested too deep: the first blamed rule of the file, at its line */
function restoreTooDeep(blamed: readonly { chain: NfChain; rule: NfRule }[], origin: Origin): ConfigError {
  const mine = blamed.filter((b) => b.rule.origin.file === origin.file);
  const pool = mine.length > 0 ? mine : blamed;
  let first = pool[0];
  for (const b of pool) if (b.rule.origin.line < first!.rule.origin.line) first = b;
  if (first === undefined) return ConfigError.at(origin, 'kernel', `iptables-restore: RULE_APPEND failed (Too many links): ${TOO_DEEP}`);
  const o = first.rule.origin;
  return ConfigError.at(o, 'kernel', `iptables-restore: line ${o.line}: RULE_APPEND failed (Too many links): rule in chain ${first.chain.name} (${TOO_DEEP})`);
}

/** What the kernel checks for one new rule in `chain`, given the table it lands in. */
function checkRule(t: NfTable, where: string, whereBuiltin: boolean, rule: NfRule, hooks: number, verb: Verb, opChain: string, origin: Origin, jumpsChecked = false): void {
  const target = rule.target;
  // errors name the chain of the command, as iptables does, even when the rule sits in a user chain
  const chain = opChain;
  const o = origin;
  if (target) {
    if (target.kind === 'jump' || target.kind === 'goto') {
      if (!jumpsChecked && !Object.hasOwn(t.chains, target.chain)) {
        throw ConfigError.at(o, 'kernel', `iptables: Chain '${target.chain}' does not exist`);
      }
      if (isBuiltin(t.name, target.chain)) {
        throw ruleFailed(o, verb, chain, 'Operation not supported', `cannot jump to built-in chain ${target.chain}`);
      }
    } else {
      // x_tables' checks of the target extension (xt_check_target): table, hooks, its checkentry
      const ext = targetExt(target.kind)!;
      if (ext.table !== undefined && ext.table !== t.name) {
        throw ruleFailed(o, verb, chain, 'Invalid argument', `x_tables: ${target.kind} target: only valid in ${ext.table} table, not ${t.name}`);
      }
      if (ext.hooks !== undefined && (hooks & ~hookBits(t.name, ext.hooks)) !== 0) {
        const allowed = ext.hooks;
        const bad = hookNames(t.name, hooks).filter((h) => !allowed.includes(h));
        throw ruleFailed(o, verb, chain, 'Invalid argument', `x_tables: ${target.kind} target: used from hooks ${bad.join('/')}, but only usable from ${allowed.join('/')}`);
      }
      const why = ext.check?.(target, rule);
      if (why !== undefined) throw ruleFailed(o, verb, chain, 'Invalid argument', why);
    }
  }
  // match hook checks apply to rules in built-in chains only: iptables-nft accepts
  // `-A Y -m addrtype --limit-iface-in` in a user chain Y that OUTPUT jumps to (verified)
  if (!whereBuiltin) return;
  for (const m of rule.matches) {
    const why = matchHookCheck(m, where);
    if (why !== undefined) throw ruleFailed(o, verb, chain, 'Invalid argument', why);
  }
}

/** Validates every rule of the table against the hooks that now reach its chain. */
function validate(t: NfTable, verb: Verb, chain: string, origin: Origin): void {
  validateTable(
    t,
    chainList(t),
    (c, builtin, r, hooks) => checkRule(t, c.name, builtin, r, hooks, verb, chain, origin),
    () => ruleFailed(origin, verb, chain, 'Too many links', 'jump loop'),
    () => ruleFailed(origin, verb, chain, 'Too many links', TOO_DEEP),
  );
}

function putRule(state: NfState, table: NfTableName, chainName: string, origin: Origin, verb: Verb, edit: (rules: readonly NfRule[]) => NfRule[]): NfState {
  const t = state[table];
  const c = chainOf(t, chainName, origin);
  const next = setChain(t, { ...c, rules: edit(c.rules) });
  validate(next, verb, chainName, origin);
  return { ...state, [table]: next };
}

/** One `iptables` command applied to the state. Look-only commands return the state unchanged. */
export function applyIptables(state: NfState, cmd: IptablesCommand, origin: Origin): NfState {
  const t = state[cmd.table];
  switch (cmd.cmd) {
    case 'show':
      return state;
    case 'A':
      return putRule(state, cmd.table, cmd.chain, origin, 'APPEND', (rules) => [...rules, cmd.rule]);
    case 'I':
      return putRule(state, cmd.table, cmd.chain, origin, 'INSERT', (rules) => {
        if (cmd.index > rules.length + 1) throw ConfigError.at(origin, 'kernel', 'iptables: Index of insertion too big.');
        return [...rules.slice(0, cmd.index - 1), cmd.rule, ...rules.slice(cmd.index - 1)];
      });
    case 'R':
      return putRule(state, cmd.table, cmd.chain, origin, 'REPLACE', (rules) => {
        if (cmd.index > rules.length) throw ConfigError.at(origin, 'kernel', 'iptables: Index of replacement too big.');
        return rules.map((r, k) => (k === cmd.index - 1 ? cmd.rule : r));
      });
    case 'D': {
      const c = chainOf(t, cmd.chain, origin);
      let at: number;
      if (cmd.index !== undefined) {
        if (cmd.index > c.rules.length) throw ConfigError.at(origin, 'kernel', 'iptables: Index of deletion too big.');
        at = cmd.index - 1;
      } else {
        const text = cmd.rule?.text ?? '';
        at = c.rules.findIndex((r) => r.text === text);
        if (at < 0) throw ConfigError.at(origin, 'kernel', 'iptables: Bad rule (does a matching rule exist in that chain?).');
      }
      return { ...state, [cmd.table]: setChain(t, { ...c, rules: c.rules.filter((_, k) => k !== at) }) };
    }
    case 'P': {
      const c = Object.hasOwn(t.chains, cmd.chain) ? t.chains[cmd.chain] : undefined;
      if (!c || !isBuiltin(cmd.table, cmd.chain)) throw ConfigError.at(origin, 'kernel', 'iptables: Bad built-in chain name.');
      return { ...state, [cmd.table]: setChain(t, { ...c, policy: cmd.policy, policyOrigin: origin }) };
    }
    case 'N':
      if (Object.hasOwn(t.chains, cmd.chain)) throw ConfigError.at(origin, 'kernel', 'iptables: Chain already exists.');
      return { ...state, [cmd.table]: setChain(t, { name: cmd.chain, rules: [], origin }) };
    case 'X': {
      const busy = (c: NfChain): ConfigError =>
        ConfigError.at(origin, 'kernel', `iptables: CHAIN_DEL failed (Device or resource busy): chain ${c.name}`);
      if (cmd.chain === undefined) {
        const users = chainList(t).filter((c) => !isBuiltin(cmd.table, c.name));
        for (const c of users) if (c.rules.length > 0 || references(t, c.name) > 0) throw busy(c);
        if (users.length === 0) return state;
        return { ...state, [cmd.table]: withChains(t, chainList(t).filter((c) => isBuiltin(cmd.table, c.name)), t.present) };
      }
      const c = chainOf(t, cmd.chain, origin);
      if (isBuiltin(cmd.table, c.name)) {
        // iptables-nft deletes an empty base chain (iptables-save still lists it); a full one is refused
        if (c.rules.length > 0) throw ConfigError.at(origin, 'kernel', 'iptables: Directory not empty.');
        return state;
      }
      if (c.rules.length > 0 || references(t, c.name) > 0) throw busy(c);
      return { ...state, [cmd.table]: withChains(t, Object.values(t.chains).filter((x) => x.name !== c.name), t.present) };
    }
    case 'F': {
      if (cmd.chain === undefined) {
        if (!t.present) return state;
        return { ...state, [cmd.table]: withChains(t, Object.values(t.chains).map((c) => ({ ...c, rules: [] })), t.present) };
      }
      const c = chainOf(t, cmd.chain, origin);
      if (c.rules.length === 0) return state;
      return { ...state, [cmd.table]: setChain(t, { ...c, rules: [] }) };
    }
    case 'Z':
      if (cmd.chain !== undefined) chainOf(t, cmd.chain, origin);
      return state; // counters are not modelled
  }
}

/**
 * iptables-restore: each block replaces its table (unless `noflush`: then declared user chains
 * are flushed, declared policies set, and rules appended to what is there).
 */
export function applyRestore(state: NfState, tables: readonly IptablesRestoreTable[], noflush: boolean, origin: Origin): NfState {
  let next = state;
  for (const block of tables) {
    const before = next[block.table];
    const hasContent = block.chains.length > 0 || block.rules.length > 0;
    const start: NfTable = noflush ? before : emptyTable(block.table, before.present);
    const s = new Slots(block.table);
    for (const c of Object.values(start.chains)) s.add(c.name, c, c.origin);
    for (const decl of block.chains) {
      if (isBuiltin(block.table, decl.name)) {
        if (decl.policy === undefined) continue;
        const k = s.index.get(decl.name)!;
        s.chain[k] = { ...s.chain[k]!, policy: decl.policy, policyOrigin: decl.origin };
        continue;
      }
      // one hash operation for a new chain; a chain declared again (or kept by --noflush) is flushed
      const k = s.add(decl.name, undefined, decl.origin);
      s.rules[k] = [];
    }
    // dumps list a chain's rules together, chains in declaration order: the previous rule's
    // chain, then the next few declared chains, are tried before a lookup by name
    let prevChain: string | undefined;
    let prevList: NfRule[] | undefined;
    let cursor = 0;
    const rules = block.rules;
    for (let n = 0; n < rules.length; n++) {
      const { chain, rule } = rules[n]!;
      let list = chain === prevChain ? prevList : undefined;
      if (list === undefined) {
        let k = -1;
        for (let j = cursor; j < cursor + 4 && j < s.name.length; j++) {
          if (s.name[j] === chain) {
            k = j;
            break;
          }
        }
        if (k < 0) k = s.index.get(chain) ?? -1;
        if (k < 0) throw firstMissingJump(s, rules, n) ?? ConfigError.at(rule.origin, 'kernel', `iptables-restore: line ${rule.origin.line} failed: No chain/target/match by that name.`);
        cursor = k + 1;
        list = s.rules[k] ??= [...s.chain[k]!.rules];
      }
      list.push(rule);
      prevChain = chain;
      prevList = list;
    }
    const { ordered, id } = s.ordered();
    const rec: Record<string, NfChain> = {};
    for (const c of ordered) rec[c.name] = c;
    const t: NfTable = { name: block.table, chains: rec, present: hasContent ? true : start.present };
    validateTable(
      t,
      ordered,
      (c, builtin, r, hooks) => checkRule(t, c.name, builtin, r, hooks, 'APPEND', c.name, r.origin, true),
      () => ConfigError.at(block.origin ?? origin, 'kernel', 'iptables-restore: jump loop (Too many links)'),
      (blamed) => restoreTooDeep(blamed, block.origin ?? origin),
      {
        id: (name) => {
          const k = s.index.get(name);
          return k === undefined ? undefined : id[k];
        },
        missing: () => {
          throw firstMissingJump(s, rules, rules.length)!;
        },
      },
    );
    next = { ...next, [block.table]: t };
  }
  return next;
}

/**
 * The chains of a table while a restore block is applied, by number: name, the chain as it was
 * (or with the block's policy; undefined for a new chain), its origin, and its new rule list once
 * the block declares or appends to it. Numbers are small integers in one map: no object per chain.
 */
class Slots {
  readonly index = new Map<string, number>();
  readonly name: string[] = [];
  readonly chain: (NfChain | undefined)[] = [];
  readonly origin: Origin[] = [];
  readonly rules: (NfRule[] | undefined)[] = [];
  constructor(readonly table: NfTableName) {}

  /** the chain's number; a name already there keeps its number, chain and origin */
  add(name: string, chain: NfChain | undefined, origin: Origin): number {
    const size = this.index.size;
    const k = this.index.get(name) ?? size;
    if (k === size) {
      this.index.set(name, k);
      this.name.push(name);
      this.chain.push(chain);
      this.origin.push(origin);
      this.rules.push(undefined);
    }
    return k;
  }

  /** the chains in iptables-save order, and each slot's position in it */
  ordered(): { ordered: NfChain[]; id: Int32Array } {
    const chains: NfChain[] = [];
    for (let k = 0; k < this.name.length; k++) {
      const rules = this.rules[k];
      const c = this.chain[k];
      if (rules === undefined) chains.push(c!);
      else if (c !== undefined) chains.push({ ...c, rules });
      else chains.push({ name: this.name[k]!, rules, origin: this.origin[k]! });
    }
    const ordered = orderChains(this.table, chains);
    const id = new Int32Array(chains.length);
    if (ordered.length === chains.length && ordered.every((c, k) => c === chains[k])) {
      for (let k = 0; k < id.length; k++) id[k] = k;
    } else {
      const pos = new Map<NfChain, number>();
      ordered.forEach((c, k) => pos.set(c, k));
      for (let k = 0; k < id.length; k++) id[k] = pos.get(chains[k]!)!;
    }
    return { ordered, id };
  }
}

/** the first rule before `end` (in the file's order) that jumps to a chain the block does not have */
function firstMissingJump(s: Slots, rules: IptablesRestoreTable['rules'], end: number): ConfigError | undefined {
  for (let n = 0; n < end; n++) {
    const { rule } = rules[n]!;
    const target = rule.target;
    if ((target?.kind === 'jump' || target?.kind === 'goto') && !s.index.has(target.chain)) {
      return ConfigError.at(rule.origin, 'kernel', `iptables-restore: Chain '${target.chain}' does not exist`);
    }
  }
  return undefined;
}
