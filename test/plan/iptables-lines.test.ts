/**
 * `iptables -A` runbook lines in iptables-save's own spelling are read by the direct reader
 * (src/netfilter/fastparse.ts) rather than from their words: for every `-A` line of the fixture
 * dumps and every command and saved form of the save-forms and k8s-forms fixtures, in every
 * table, the runbook gives exactly the op the full parser gives for the line's words (or the same
 * error, at the same line), written plainly, after `sudo`, and through `ip netns exec`.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/model/errors.js';
import type { Origin } from '../../src/model/origin.js';
import { parseIptablesArgs } from '../../src/netfilter/parse.js';
import { splitRunbook } from '../../src/plan/shell.js';
import { run } from './helpers.js';

const TABLES = ['filter', 'nat', 'mangle', 'raw'] as const;

function outcome(f: () => unknown): unknown {
  try {
    return { ok: f() };
  } catch (e) {
    if (e instanceof ConfigError) return { err: { code: e.code, message: e.message, line: e.line } };
    throw e;
  }
}

/** the runbook's ops for `line` (two lines: the same rule twice, so the reader's memory of the last chain is used) */
function viaRunbook(line: string): unknown {
  return outcome(() => run(`${line}\n${line}`));
}

/** the full parser on the words of `line` after the command, as the op the runbook makes */
function viaWords(line: string, prefix: number, ns: string | null): unknown {
  return outcome(() => {
    const ops = [];
    for (const n of [1, 2]) {
      const l = splitRunbook(line, 'rb.yaml', n)[0]!;
      const origin: Origin = { file: 'rb.yaml', line: n, text: l.text };
      const argv = l.pipelines[0]!.commands[0]!.argv.slice(prefix);
      const cmd = parseIptablesArgs(argv, origin);
      if (cmd.cmd === 'show') throw new Error('not an -A line');
      ops.push({ op: 'iptables', host: 'h1', ns, origin, ...cmd });
    }
    return ops;
  });
}

/** `-A ...` in `table` (with and without `-t filter`), written three ways: each gives what the full parser gives. true: a rule was made */
function check(table: string, rule: string): boolean {
  let made = false;
  for (const args of table === 'filter' ? [rule, `-t filter ${rule}`] : [`-t ${table} ${rule}`]) {
    const expected = viaWords(`iptables ${args}`, 1, null);
    expect(viaRunbook(`iptables ${args}`), `iptables ${args}`).toStrictEqual(expected);
    expect(viaRunbook(`sudo iptables ${args}`), `sudo iptables ${args}`).toStrictEqual(viaWords(`sudo iptables ${args}`, 2, null));
    expect(viaRunbook(`ip netns exec n1 iptables ${args}`), `ip netns exec n1 iptables ${args}`).toStrictEqual(viaWords(`ip netns exec n1 iptables ${args}`, 5, 'n1'));
    made = 'ok' in (expected as object);
  }
  return made;
}

describe('iptables -A lines read directly equal the full parser', () => {
  it('every -A line of the fixture dumps', () => {
    let made = 0;
    for (const f of ['fixtures/iptables/docker.save', 'fixtures/iptables/kube-proxy.save', 'fixtures/docker/usernet-portmap.save', 'fixtures/nft/docker-iptables-nft.save']) {
      let table = 'filter';
      for (const l of readFileSync(f, 'utf8').split('\n')) {
        if (l.startsWith('*')) table = l.slice(1);
        else if (l.startsWith('-A ') && check(table, l)) made++;
      }
    }
    expect(made).toBeGreaterThan(300);
  });

  for (const name of ['save-forms', 'k8s-forms']) {
    it(`test/netfilter/fixtures/${name}.txt: every command and saved form, in every table`, () => {
      let made = 0;
      let failed = 0;
      for (const l of readFileSync(`test/netfilter/fixtures/${name}.txt`, 'utf8').split('\n')) {
        if (l === '' || l.startsWith('#')) continue;
        const [args, result] = l.split('\t') as [string, string];
        const chain = /^-A (\S+)/.exec(args)?.[1];
        if (chain === undefined) continue;
        const rules = [args];
        if (result.startsWith('=> ')) for (const r of result.slice(3).split(' | ')) rules.push(`-A ${chain} ${r}`.trimEnd());
        for (const table of TABLES) for (const r of rules) if (check(table, r)) made++;
        else failed++;
      }
      expect(made).toBeGreaterThan(50);
      expect(failed).toBeGreaterThan(0);
    });
  }

  it('spellings iptables-save would not print still go to the full parser', () => {
    for (const r of ['-A INPUT  -j ACCEPT', '-A INPUT -p tcp --dport 22 -j ACCEPT', '-A INPUT -s 10.0.0.1 -j ACCEPT', '-A INPUT ! -s 10.0.0.0/8 -j DROP', '-A INPUT -m comment --comment "a b" -j ACCEPT', '-A INPUT -j'])
      check('filter', r);
  });
});
