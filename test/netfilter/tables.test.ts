/**
 * Chain and table semantics. Every message and outcome below was observed with iptables v1.8.9
 * (nf_tables) in a scratch network namespace on kernel 6.18 (see docs/iptables.md, "Verified").
 */
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/model/errors.js';
import { iptablesSave } from '../../src/netfilter/save.js';
import { parseIptablesRestore } from '../../src/netfilter/restore.js';
import { applyRestore, emptyNfState } from '../../src/netfilter/tables.js';
import type { NfState } from '../../src/netfilter/types.js';
import { at, run } from './helpers.js';

function runAll(lines: string[], state: NfState = emptyNfState()): NfState {
  return lines.reduce((s, l, k) => run(s, l, k + 1), state);
}
function fails(lines: string[], message: string | RegExp): void {
  const last = lines.pop()!;
  const s = runAll(lines);
  let err: unknown;
  try {
    run(s, last, 99);
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(ConfigError);
  expect((err as ConfigError).code).toBe('kernel');
  expect((err as ConfigError).line).toBe(99);
  if (typeof message === 'string') expect((err as ConfigError).detail).toContain(message);
  else expect((err as ConfigError).detail).toMatch(message);
}
const rules = (s: NfState): string[] => iptablesSave(s).split('\n').filter((l) => l.startsWith('-A'));

describe('iptables-save output shape', () => {
  it('a fresh namespace prints nothing; a nat rule brings only *nat', () => {
    expect(iptablesSave(emptyNfState())).toBe('');
    expect(iptablesSave(run(emptyNfState(), '-t nat -A POSTROUTING -s 172.31.0.3 -j MASQUERADE'))).toBe(
      '*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n' +
        '-A POSTROUTING -s 172.31.0.3/32 -j MASQUERADE\nCOMMIT\n',
    );
  });
  it('tables print in the order mangle, raw, filter, nat; user chains sorted by strcmp after built-ins', () => {
    const s = runAll(['-t nat -N X', '-N FOO', '-N BAR', '-N AAA', '-N Zed', '-N _x', '-N b.c', '-t raw -N Z', '-t mangle -N Y']);
    const heads = iptablesSave(s).split('\n').filter((l) => l.startsWith('*') || l.startsWith(':') && l.includes(' - '));
    expect(heads).toEqual(['*mangle', ':Y - [0:0]', '*raw', ':Z - [0:0]', '*filter', ':AAA - [0:0]', ':BAR - [0:0]', ':FOO - [0:0]', ':Zed - [0:0]', ':_x - [0:0]', ':b.c - [0:0]', '*nat', ':X - [0:0]']);
  });
  it('-L -S -F -Z on an untouched table do not create it; -P and -N do', () => {
    expect(iptablesSave(runAll(['-t nat -L', '-t nat -S', '-t nat -F', '-t nat -Z', '-t raw -X']))).toBe('');
    expect(iptablesSave(run(emptyNfState(), '-t nat -P INPUT ACCEPT'))).toContain('*nat');
    expect(iptablesSave(runAll(['-t mangle -N X', '-t mangle -X X']))).toContain('*mangle');
  });
  it('policies print on the chain lines; `all` prints absent tables too', () => {
    const s = run(emptyNfState(), '-P INPUT DROP');
    expect(iptablesSave(s)).toContain(':INPUT DROP [0:0]\n:FORWARD ACCEPT [0:0]');
    expect(iptablesSave(s, { all: true }).match(/^\*/gm)).toEqual(['*', '*', '*', '*']);
    expect(iptablesSave(s, { tables: ['nat'] })).toBe('');
  });
});

describe('rule positions', () => {
  it('-I N inserts before rule N, -R replaces, -D N and -D rulespec delete the first match', () => {
    let s = runAll(['-A INPUT -s 1.1.1.1 -j ACCEPT', '-A INPUT -s 2.2.2.2 -j ACCEPT', '-I INPUT 2 -s 3.3.3.3 -j DROP', '-I INPUT -j LOG']);
    expect(rules(s)).toEqual(['-A INPUT -j LOG', '-A INPUT -s 1.1.1.1/32 -j ACCEPT', '-A INPUT -s 3.3.3.3/32 -j DROP', '-A INPUT -s 2.2.2.2/32 -j ACCEPT']);
    s = runAll(['-R INPUT 1 -j RETURN', '-D INPUT 2', '-D INPUT -s 2.2.2.2/32 -j ACCEPT'], s);
    expect(rules(s)).toEqual(['-A INPUT -j RETURN', '-A INPUT -s 3.3.3.3/32 -j DROP']);
    // -D by rulespec compares the canonical text: -p tcp --dport 22 equals -p tcp -m tcp --dport 22
    s = runAll(['-A INPUT -p tcp --dport 22 -j ACCEPT', '-D INPUT -p tcp -m tcp --dport 22 -j ACCEPT'], s);
    expect(rules(s)).toHaveLength(2);
  });
  it('refuses indexes past the end with iptables messages', () => {
    fails(['-I INPUT 2 -j ACCEPT'], 'iptables: Index of insertion too big.');
    fails(['-R INPUT 5 -j ACCEPT'], 'iptables: Index of replacement too big.');
    fails(['-D INPUT 9'], 'iptables: Index of deletion too big.');
    fails(['-D INPUT -j LOG'], 'iptables: Bad rule (does a matching rule exist in that chain?).');
  });
});

describe('chains', () => {
  it('unknown chains, duplicates, policies', () => {
    fails(['-A NOSUCH -j ACCEPT'], 'iptables: No chain/target/match by that name.');
    fails(['-t raw -A INPUT -j ACCEPT'], 'iptables: No chain/target/match by that name.');
    fails(['-F NOSUCH'], 'iptables: No chain/target/match by that name.');
    fails(['-N FOO', '-N FOO'], 'iptables: Chain already exists.');
    fails(['-N INPUT'], 'iptables: Chain already exists.');
    fails(['-N FOO', '-P FOO DROP'], 'iptables: Bad built-in chain name.');
    fails(['-A FORWARD -j NOSUCH'], "iptables: Chain 'NOSUCH' does not exist");
    fails(['-A FORWARD -j accept'], "iptables: Chain 'accept' does not exist");
  });
  it('-X refuses chains with rules or references, -X without a chain deletes all empty user chains', () => {
    fails(['-N FOO', '-A INPUT -j FOO', '-X FOO'], 'CHAIN_DEL failed (Device or resource busy): chain FOO');
    fails(['-N FOO', '-A FOO -j ACCEPT', '-X FOO'], 'CHAIN_DEL failed (Device or resource busy): chain FOO');
    fails(['-N BAR', '-A INPUT -j BAR', '-X'], 'chain BAR');
    fails(['-A INPUT -j ACCEPT', '-X INPUT'], 'iptables: Directory not empty.');
    const s = runAll(['-N BAR', '-N FOO', '-A INPUT -j BAR', '-F', '-X']);
    expect(iptablesSave(s)).not.toContain(' - [0:0]');
  });
  it('jumps to built-in chains and loops reachable from a hook are refused', () => {
    fails(['-N FOO', '-A FOO -j INPUT'], 'Operation not supported');
    // the loop itself is accepted while no built-in chain reaches it
    const s = runAll(['-N A', '-N B', '-A A -j B', '-A B -j A']);
    expect(rules(s)).toEqual(['-A A -j B', '-A B -j A']);
    fails(['-N A', '-N B', '-A A -j B', '-A B -j A', '-A INPUT -j A'], 'RULE_APPEND failed (Too many links): rule in chain INPUT');
  });
});

describe('targets the kernel restricts to tables and hooks', () => {
  it.each([
    ['-t nat -A INPUT -j DNAT --to-destination 1.2.3.4', 'RULE_APPEND failed (Invalid argument): rule in chain INPUT'],
    ['-t filter -A INPUT -j DNAT --to-destination 1.2.3.4', 'rule in chain INPUT'],
    ['-t filter -A INPUT -j SNAT --to-source 1.2.3.4', 'SNAT target: only valid in nat table, not filter'],
    ['-t nat -A PREROUTING -j MASQUERADE', 'rule in chain PREROUTING'],
    ['-t nat -A OUTPUT -j SNAT --to-source 1.2.3.4', 'rule in chain OUTPUT'],
    ['-t nat -A POSTROUTING -j REDIRECT', 'rule in chain POSTROUTING'],
    ['-t mangle -A INPUT -j REJECT', 'REJECT target: only valid in filter table, not mangle'],
    ['-t filter -A INPUT -j NOTRACK', 'rule in chain INPUT'],
    ['-t mangle -A PREROUTING -j CT --notrack', 'rule in chain PREROUTING'],
    ['-A FORWARD -j REJECT --reject-with tcp-reset', 'rule in chain FORWARD'],
    ['-A INPUT ! -p tcp -j REJECT --reject-with tcp-reset', 'rule in chain INPUT'],
    ['-A INPUT -m addrtype --src-type LOCAL --limit-iface-out -j ACCEPT', 'rule in chain INPUT'],
    ['-t nat -I PREROUTING -j MASQUERADE', 'RULE_INSERT failed (Invalid argument): rule in chain PREROUTING'],
  ])('%s', (line, message) => fails([line], message));

  it('checks hooks through user chains, naming the chain of the command', () => {
    fails(['-t nat -N X', '-t nat -A X -p tcp -j DNAT --to 1.1.1.1', '-t nat -A POSTROUTING -j X'], 'RULE_APPEND failed (Invalid argument): rule in chain POSTROUTING');
    const s = runAll(['-t nat -N X', '-t nat -A X -p tcp -j DNAT --to 1.1.1.1', '-t nat -A PREROUTING -j X']);
    expect(rules(s)).toEqual(['-A PREROUTING -j X', '-A X -p tcp -j DNAT --to-destination 1.1.1.1']);
    // MARK, CONNMARK and LOG are valid in every table (verified in nat, filter and raw)
    expect(rules(runAll(['-t nat -A PREROUTING -j MARK --set-mark 1', '-t raw -A PREROUTING -j LOG']))).toHaveLength(2);
  });
});

describe('iptables-restore', () => {
  it('without --noflush replaces the table: rules, user chains and undeclared policies reset', () => {
    const s0 = runAll(['-N FOO', '-A FOO -j ACCEPT', '-A INPUT -j FOO', '-P FORWARD DROP']);
    const text = '*filter\n:INPUT ACCEPT [5:6]\n:BAR - [0:0]\n-A INPUT -m comment --comment "a \\"b" -j BAR\n-A BAR -m comment --comment it\\x -j ACCEPT\nCOMMIT\n';
    const s = applyRestore(s0, parseIptablesRestore(text, 'r.rules'), false, at(1));
    expect(iptablesSave(s)).toBe(
      '*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:BAR - [0:0]\n' +
        '-A INPUT -m comment --comment "a \\"b" -j BAR\n-A BAR -m comment --comment "it\\\\x" -j ACCEPT\nCOMMIT\n',
    );
  });
  it('with --noflush flushes declared user chains, sets policies and appends', () => {
    const s0 = runAll(['-N FOO', '-A FOO -j ACCEPT', '-A INPUT -j FOO', '-P FORWARD DROP']);
    const text = '*filter\n:FOO - [0:0]\n:INPUT DROP [0:0]\n-A INPUT -s 1.1.1.1 -j ACCEPT\nCOMMIT\n';
    const s = applyRestore(s0, parseIptablesRestore(text, 'r.rules'), true, at(1));
    expect(iptablesSave(s)).toBe(
      '*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n:FOO - [0:0]\n-A INPUT -j FOO\n-A INPUT -s 1.1.1.1/32 -j ACCEPT\nCOMMIT\n',
    );
  });
  it('an empty block does not create the table; counters on rules are dropped', () => {
    expect(iptablesSave(applyRestore(emptyNfState(), parseIptablesRestore('*nat\nCOMMIT\n', 'r'), false, at(1)))).toBe('');
    const s = applyRestore(emptyNfState(), parseIptablesRestore('*filter\n:INPUT ACCEPT\n[3:4] -A INPUT -j ACCEPT\nCOMMIT\n', 'r'), false, at(1));
    expect(iptablesSave(s)).toContain('-A INPUT -j ACCEPT\n');
  });
  it.each([
    ["*filter\n-A INPUT -m comment --comment 'a b' -j ACCEPT\nCOMMIT\n", 2, "Bad argument `b''"],
    ['*filter\n-A INPUT -j ACCEPT\n', 3, 'COMMIT expected at line 3'],
    ['*filter\n-t nat -A INPUT -j ACCEPT\nCOMMIT\n', 2, 'The -t option cannot be used in iptables-restore.'],
    ['*filter\n:INPUT FOO [0:0]\nCOMMIT\n', 2, 'Bad policy name.'],
    ['*foo\nCOMMIT\n', 1, "table name 'foo' invalid"],
    ['*filter\nfoo bar\nCOMMIT\n', 2, "Bad argument `foo'"],
  ])('refuses %j at line %i', (text, line, message) => {
    let err: unknown;
    try {
      parseIptablesRestore(text, 'r.rules');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).file).toBe('r.rules');
    expect((err as ConfigError).line).toBe(line);
    expect((err as ConfigError).detail).toContain(message);
  });
  it.each([
    ['*filter\n-A NOPE -j ACCEPT\nCOMMIT\n', 'line 2 failed: No chain/target/match by that name.'],
    ['*filter\n-A INPUT -j NOPE\nCOMMIT\n', "Chain 'NOPE' does not exist"],
  ])('refuses %j when applied', (text, message) => {
    expect(() => applyRestore(emptyNfState(), parseIptablesRestore(text, 'r.rules'), false, at(1))).toThrow(message);
  });
});

describe('iptables-restore errors come in file order', () => {
  it('a jump to a missing chain before an -A to an undeclared chain is the one reported, and vice versa', () => {
    const load = (text: string): unknown => applyRestore(emptyNfState(), parseIptablesRestore(text, 'r.rules'), false, at(1));
    const missingFirst = '*filter\n:A - [0:0]\n-A A -j NOPE\n-A B -j ACCEPT\nCOMMIT\n';
    expect(() => load(missingFirst)).toThrow(expect.objectContaining({ line: 3, detail: "iptables-restore: Chain 'NOPE' does not exist" }));
    const undeclaredFirst = '*filter\n:A - [0:0]\n-A B -j ACCEPT\n-A A -j NOPE\nCOMMIT\n';
    expect(() => load(undeclaredFirst)).toThrow(expect.objectContaining({ line: 3, detail: 'iptables-restore: line 3 failed: No chain/target/match by that name.' }));
    const jumpsOnly = '*filter\n:A - [0:0]\n:B - [0:0]\n-A B -j NOPE2\n-A A -j NOPE1\nCOMMIT\n';
    expect(() => load(jumpsOnly)).toThrow(expect.objectContaining({ line: 4, detail: "iptables-restore: Chain 'NOPE2' does not exist" }));
  });
});
