/**
 * User chains nested beyond the kernel's limit: nf_tables refuses a rule set in which a chain is
 * entered 16 jumps (or gotos) below a base chain, with EMLINK, and iptables-restore prints
 * `line N: RULE_APPEND failed (Too many links): rule in chain CHAIN` (first for the jump into
 * the 16th chain); `iptables -A` prints `RULE_APPEND failed (Too many links): rule in chain
 * INPUT`. Chains nested deeper but reached from no built-in chain are accepted. Observed on Linux
 * 6.18 with iptables v1.8.9 (nf_tables): docs/kernel-notes.md, "User-chain nesting depth". The
 * last block repeats the observation on this machine's kernel when run as root.
 */
import { spawnSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/model/errors.js';
import { KERNEL } from '../../src/model/origin.js';
import { runTable, runTableLinear, type NfEnv, type NfPacket } from '../../src/netfilter/eval.js';
import { parseIptablesRestore } from '../../src/netfilter/restore.js';
import { NFT_JUMP_STACK_SIZE, applyRestore, emptyNfState } from '../../src/netfilter/tables.js';
import type { NfState } from '../../src/netfilter/types.js';
import { run } from './helpers.js';

const pad = (k: number): string => `C${String(k).padStart(2, '0')}`;

/** INPUT -> C01 -> ... -> C<depth>, then `last` in the deepest chain; `hooked: false` leaves INPUT out */
function chainDump(depth: number, jump: '-j' | '-g', last: 'rule' | 'empty', hooked = true): string {
  const lines = ['*filter', ':INPUT ACCEPT [0:0]', ':FORWARD ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]'];
  for (let k = 1; k <= depth; k++) lines.push(`:${pad(k)} - [0:0]`);
  if (hooked) lines.push(`-A INPUT ${jump} C01`);
  for (let k = 1; k < depth; k++) lines.push(`-A ${pad(k)} ${jump} ${pad(k + 1)}`);
  if (last === 'rule') lines.push(`-A ${pad(depth)} -j ACCEPT`);
  lines.push('COMMIT', '');
  return lines.join('\n');
}

/** netpath's answer: accepted, or the error's line and detail */
function load(text: string): { ok: NfState } | { line: number; detail: string } {
  try {
    return { ok: applyRestore(emptyNfState(), parseIptablesRestore(text, 'deep.rules'), false, KERNEL) };
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    expect(e.code).toBe('kernel');
    expect(e.file).toBe('deep.rules');
    return { line: e.line, detail: e.detail };
  }
}

const lineOf = (text: string, rule: string): number => text.split('\n').indexOf(rule) + 1;

describe('user-chain nesting depth (nf_tables: NFT_JUMP_STACK_SIZE)', () => {
  it('the limit is 16 levels below a base chain', () => {
    expect(NFT_JUMP_STACK_SIZE).toBe(16);
  });

  for (const jump of ['-j', '-g'] as const) {
    it(`${jump}: 15 user chains deep are accepted; 16 are refused at the jump into the 16th`, () => {
      expect('ok' in load(chainDump(14, jump, 'rule'))).toBe(true);
      expect('ok' in load(chainDump(15, jump, 'rule'))).toBe(true);
      for (const last of ['rule', 'empty'] as const) {
        for (const depth of [16, 17, 70]) {
          const text = chainDump(depth, jump, last);
          const got = load(text);
          const line = lineOf(text, `-A C15 ${jump} C16`);
          expect(got, `${depth} ${last}`).toStrictEqual({
            line,
            detail: `iptables-restore: line ${line}: RULE_APPEND failed (Too many links): rule in chain C15 (user chains nested 16 deep; nf_tables allows 15)`,
          });
        }
      }
    });
  }

  it('chains nested deeper but reached from no built-in chain are accepted; hooking them is refused', () => {
    const loaded = load(chainDump(20, '-j', 'empty', false));
    if (!('ok' in loaded)) throw new Error(loaded.detail);
    const refuse = (cmd: string, verb: string, chain: string): void => {
      expect(() => run(loaded.ok, cmd, 9)).toThrow(
        expect.objectContaining({ code: 'kernel', line: 9, detail: `iptables: RULE_${verb} failed (Too many links): rule in chain ${chain} (user chains nested 16 deep; nf_tables allows 15)` }),
      );
    };
    refuse('-A INPUT -j C01', 'APPEND', 'INPUT'); // C20 at level 20
    refuse('-A FORWARD -j C05', 'APPEND', 'FORWARD'); // C20 at level 16
    refuse('-I FORWARD -g C05', 'INSERT', 'FORWARD');
    refuse('-A OUTPUT -g C05', 'APPEND', 'OUTPUT');
    const ok = run(loaded.ok, '-A OUTPUT -g C06'); // C20 at level 15
    expect(ok.filter.chains['OUTPUT']!.rules).toHaveLength(1);
  });

  it('a walk through 15 nested chains ends in the deepest rule (never a netpath bug)', () => {
    const loaded = load(chainDump(15, '-j', 'rule'));
    if (!('ok' in loaded)) throw new Error(loaded.detail);
    const p: NfPacket = { src: 0x0a000001, dst: 0x0a000002, proto: 6, sport: 1000, dport: 80, bridged: false, mark: 0 };
    const env: NfEnv = { addrType: () => 'UNICAST', choose: () => true };
    for (const walk of [runTable, runTableLinear]) {
      const r = walk(loaded.ok, 'filter', 'INPUT', p, env);
      expect(r.verdict).toStrictEqual({ kind: 'ACCEPT' });
      expect(r.decidedBy?.chain).toBe('C15');
      expect(r.hits).toHaveLength(16);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// The same dumps through the real iptables-restore, in scratch namespaces (root only).

const have = (cmd: string): boolean => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const kernel = process.platform === 'linux' && process.getuid?.() === 0 && have('ip') && have('iptables-restore');
const required = process.env['NETPATH_REQUIRE_KERNEL'] === '1';
const NS = `npd-${process.pid.toString(36)}`;

/** iptables-restore in a fresh namespace: accepted, or the first `line N:` it names */
function kernelLoad(text: string): { ok: true } | { line: number; message: string } {
  spawnSync('ip', ['netns', 'add', NS]);
  try {
    const r = spawnSync('ip', ['netns', 'exec', NS, 'iptables-restore'], { input: text, encoding: 'utf8' });
    if (r.status === 0) return { ok: true };
    const first = /line (\d+): (.*)/.exec(r.stderr);
    if (!first) throw new Error(`iptables-restore failed without a line: ${r.stderr}`);
    return { line: Number(first[1]), message: first[2]! };
  } finally {
    spawnSync('ip', ['netns', 'del', NS]);
  }
}

describe.runIf(kernel || required)('the same dumps through the real iptables-restore', () => {
  afterAll(() => {
    spawnSync('ip', ['netns', 'del', NS]);
  });
  for (const jump of ['-j', '-g'] as const) {
    for (const depth of [14, 15, 16, 17]) {
      it(`${jump}, ${depth} chains deep: netpath accepts or refuses as the kernel does, at the same line`, () => {
        const text = chainDump(depth, jump, 'rule');
        const real = kernelLoad(text);
        const mine = load(text);
        if ('ok' in real) expect('ok' in mine).toBe(true);
        else {
          expect(real.message).toMatch(/^RULE_APPEND failed \(Too many links\): rule in chain C15$/);
          expect(mine).toMatchObject({ line: real.line });
          if (!('ok' in mine)) expect(mine.detail).toContain(real.message);
        }
      });
    }
  }
});
