/**
 * iptables-save / iptables-restore files: `*table`, `:CHAIN POLICY [pkts:bytes]`, `-A CHAIN ...`,
 * `COMMIT`, `#` comments and blank lines.
 *
 * Words are split the way iptables-restore splits them (not the shell's way): only double quotes
 * group, a backslash escapes the next character only inside double quotes, single quotes are
 * ordinary characters. Each `-A` line goes through the same parser as the command line.
 * Rule counters (`[3:4] -A ...`) are accepted and dropped: netpath counts no packets.
 */
import { ConfigError } from '../model/errors.js';
import type { Origin } from '../model/origin.js';
import { Interner, parseCanonicalRule } from './fastparse.js';
import { parseRuleSpec } from './parse.js';
import type { IptablesRestoreTable, NfRule, NfTableName, NfVerdictPolicy } from './types.js';

/** iptables-restore's add_param_to_argv */
export function splitRestoreLine(line: string): string[] {
  if (!line.includes('"')) {
    // no quotes: plain whitespace splitting (the common case, and fast on 100k-line dumps)
    const out: string[] = [];
    for (const w of line.split(/[ \t]+/)) if (w !== '') out.push(w);
    return out;
  }
  const out: string[] = [];
  const n = line.length;
  let k = 0;
  const space = (c: number): boolean => c === 32 || c === 9;
  while (k < n) {
    while (k < n && space(line.charCodeAt(k))) k++;
    if (k >= n) break;
    // a word without quotes is a plain slice of the line (most words of a quoted line)
    const start = k;
    while (k < n && !space(line.charCodeAt(k)) && line.charCodeAt(k) !== 34) k++;
    if (k >= n || space(line.charCodeAt(k))) {
      out.push(line.slice(start, k));
      continue;
    }
    k = start;
    let cur = '';
    let has = false;
    while (k < n && !space(line.charCodeAt(k))) {
      if (line.charCodeAt(k) === 34) {
        // a double-quoted run: backslash escapes the next character, up to the closing quote
        has = true;
        let from = ++k;
        while (k < n && line.charCodeAt(k) !== 34) {
          if (line.charCodeAt(k) === 92 && k + 1 < n) {
            cur += line.slice(from, k) + line[k + 1];
            k += 2;
            from = k;
          } else k++;
        }
        cur += line.slice(from, k);
        k++;
        continue;
      }
      const from = k;
      while (k < n && !space(line.charCodeAt(k)) && line.charCodeAt(k) !== 34) k++;
      cur += line.slice(from, k);
    }
    if (has || cur !== '') out.push(cur);
  }
  return out;
}

/** the text after `-A CHAIN ` when the line starts exactly so (single spaces), else undefined */
function restAfter(line: string, chain: string): string | undefined {
  const head = 3 + chain.length;
  if (!line.startsWith('-A ') || !line.startsWith(chain, 3)) return undefined;
  if (line.length === head) return '';
  return line.charCodeAt(head) === 32 ? line.slice(head + 1) : undefined;
}

/** the fast path, declining on anything it throws (it should not: errors come from the full parser) */
function fastRule(table: NfTableName, line: string, origin: Origin, intern: Interner): { chain: string; rule: NfRule } | undefined {
  try {
    return parseCanonicalRule(table, line, origin, intern);
  } catch {
    return undefined;
  }
}

/** an error of the restore file itself, at its line (made only when thrown: no per-line closure) */
function restoreError(origin: Origin, detail: string, code: 'syntax' | 'unsupported' | 'kernel' = 'syntax'): ConfigError {
  return ConfigError.at(origin, code, `iptables-restore: ${detail}`);
}

const TABLES: readonly NfTableName[] = ['raw', 'mangle', 'nat', 'filter'];

/**
 * `fast: false` reads every `-A` line with the full parser only (tests compare the two); by
 * default a line in iptables-save's canonical spelling is read directly (fastparse.ts), with the
 * same result.
 */
export function parseIptablesRestore(text: string, file: string, opts?: { readonly fast?: boolean }): IptablesRestoreTable[] {
  const fast = opts?.fast !== false;
  const intern = new Interner();
  const out: IptablesRestoreTable[] = [];
  let block:
    | { table: NfTableName; origin: Origin; chains: { name: string; policy?: NfVerdictPolicy; origin: Origin }[]; rules: { chain: string; rule: NfRule }[] }
    | undefined;
  const lines = text.split('\n');
  for (let k = 0; k < lines.length; k++) {
    const raw = lines[k]!;
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    const origin: Origin = { file, line: k + 1, text: line };
    if (trimmed.startsWith('*')) {
      if (block) throw restoreError(origin, `table '${block.table}' is not COMMITted before line ${k + 1}`);
      const name = trimmed.slice(1);
      if (name === 'security') throw restoreError(origin, "table 'security' is not modelled by netpath", 'unsupported');
      if (!(TABLES as readonly string[]).includes(name)) throw restoreError(origin, `line ${k + 1} table name '${name}' invalid`);
      block = { table: name as NfTableName, origin, chains: [], rules: [] };
      intern.names = new Map();
      continue;
    }
    if (!block) throw restoreError(origin, `no table (*filter, *nat ...) open at line ${k + 1}`);
    if (trimmed === 'COMMIT') {
      out.push(block);
      block = undefined;
      intern.names = undefined;
      continue;
    }
    if (trimmed.startsWith(':')) {
      // `:NAME - [0:0]`, as iptables-save prints every user chain: read directly
      const user = trimmed.endsWith(' - [0:0]') ? trimmed.slice(1, -8) : undefined;
      if (user !== undefined && user !== '' && !/[ \t]/.test(user)) {
        block.chains.push({ name: user, origin });
        intern.names?.set(user, user);
        continue;
      }
      const words = trimmed.slice(1).split(/[ \t]+/);
      const [name, policy, counters, ...rest] = words;
      if (name === undefined || name === '') throw restoreError(origin, `line ${k + 1}: chain name missing`);
      if (policy === undefined) throw restoreError(origin, `line ${k + 1}: policy missing for chain ${name}`);
      if (counters !== undefined && !/^\[\d+:\d+\]$/.test(counters)) throw restoreError(origin, `line ${k + 1}: bad counters \`${counters}'`);
      if (rest.length > 0) throw restoreError(origin, `Bad argument \`${rest[0]}'`);
      intern.names?.set(name, name);
      if (policy === '-') block.chains.push({ name, origin });
      else if (policy === 'ACCEPT' || policy === 'DROP') block.chains.push({ name, policy, origin });
      else throw restoreError(origin, `line ${k + 1} failed: Bad policy name.`, 'kernel');
      continue;
    }
    if (fast && trimmed.charCodeAt(0) === 45) {
      const hit = fastRule(block.table, trimmed, origin, intern);
      if (hit !== undefined) {
        block.rules.push(hit);
        continue;
      }
    }
    let words = splitRestoreLine(trimmed);
    const counted = trimmed.startsWith('[') && /^\[\d+:\d+\]$/.test(words[0] ?? '');
    if (counted) words = words.slice(1);
    for (const w of words) {
      if (w === '-t' || w.startsWith('--table')) throw restoreError(origin, 'The -t option cannot be used in iptables-restore.');
    }
    const first = words[0] ?? '';
    if (first !== '-A' && first !== '--append') {
      if (first.startsWith('-')) throw restoreError(origin, `\`${first}' lines are not modelled by netpath; use :CHAIN and -A lines`, 'unsupported');
      throw restoreError(origin, `Bad argument \`${first}'`);
    }
    // a line already in iptables-save's spelling keeps its own text as the rule's text (a slice
    // of the dump, not a second copy); used only when it equals what formatRule prints
    const canonical = !counted && first === '-A' && words.length >= 2 ? restAfter(trimmed, words[1]!) : undefined;
    block.rules.push(parseRuleSpec(block.table, words, origin, canonical));
  }
  if (block) {
    throw ConfigError.at({ file, line: lines.length, text: '' }, 'syntax', `iptables-restore: COMMIT expected at line ${lines.length}`);
  }
  return out;
}
