/**
 * The extension registry (src/netfilter/ext/index.ts): every registered match and target is
 * exercised on the rule forms real iptables v1.8.9 (nf_tables) printed for it
 * (fixtures/save-forms.txt and fixtures/k8s-forms.txt, recorded in scratch namespaces):
 *   - the command line parses to a rule whose text is the recorded iptables-save form;
 *   - that saved form parses back (iptables-restore, full parser) to a rule printing the same
 *     text, a fixed point of parse and save, and the extension's own save() prints its part;
 *   - the fast path, where it reads the line, builds exactly the full parser's rule, and every
 *     extension with a fast reader reads at least one of its forms;
 *   - an option the extension does not have is refused with a ConfigError at the file and line.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/model/errors.js';
import { MATCH_EXTS, TARGET_EXTS, matchExt, targetExt } from '../../src/netfilter/ext/index.js';
import { Interner, parseCanonicalRule } from '../../src/netfilter/fastparse.js';
import { formatMatch, formatRule, formatTarget } from '../../src/netfilter/format.js';
import { parseIptablesArgs } from '../../src/netfilter/parse.js';
import { parseIptablesRestore } from '../../src/netfilter/restore.js';
import type { NfRule, NfTableName } from '../../src/netfilter/types.js';
import { at, shellWords } from './helpers.js';

interface Form {
  readonly args: string;
  readonly table: NfTableName;
  readonly chain: string;
  /** the rule as iptables-save printed it after `-A CHAIN ` */
  readonly saved: string;
}

/** accepted single-rule forms of both fixture files */
const FORMS: readonly Form[] = ['save-forms', 'k8s-forms'].flatMap((name) =>
  readFileSync(new URL(`./fixtures/${name}.txt`, import.meta.url), 'utf8')
    .split('\n')
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => l.split('\t') as [string, string])
    .filter(([, result]) => result.startsWith('=> ') && !result.includes(' | '))
    .map(([args, result]) => ({
      args,
      table: (/(?:^|\s)-t (\w+)/.exec(args)?.[1] ?? 'filter') as NfTableName,
      chain: /-A (\S+)/.exec(args)?.[1] ?? '',
      saved: result.slice(3),
    })),
);

/** the rule of an `iptables -A ...` line, or undefined when netpath refuses it as not modelled */
function parseArgs(args: string): NfRule | undefined {
  try {
    const cmd = parseIptablesArgs(shellWords(args), at(1, `iptables ${args}`));
    if (cmd.cmd !== 'A') throw new Error(`not -A: ${args}`);
    return cmd.rule;
  } catch (e) {
    if (e instanceof ConfigError && e.code === 'unsupported') return undefined;
    throw e;
  }
}

/** the saved form read back the way iptables-restore reads it, with or without the fast path */
function restore(form: Form, fast: boolean): NfRule {
  const text = `*${form.table}\n-A ${form.chain} ${form.saved}\nCOMMIT\n`;
  return parseIptablesRestore(text, 'saved.rules', { fast })[0]!.rules[0]!.rule;
}

const uses = (form: Form, word: string): boolean => ` ${form.saved} `.includes(` ${word} `);

describe('every registered extension on the forms real iptables printed for it', () => {
  const exts = [
    ...Object.values(MATCH_EXTS).map((e) => ({ name: e.name, word: `-m ${e.name}`, fast: e.fast !== undefined, target: false })),
    ...Object.values(TARGET_EXTS).map((e) => ({ name: e.name, word: `-j ${e.name}`, fast: e.fast !== undefined, target: true })),
  ];
  for (const ext of exts) {
    it(`${ext.word}: parse -> save -> parse gives the recorded text and the same rule`, () => {
      const forms = FORMS.filter((f) => uses(f, ext.word));
      expect(forms.length, `no recorded iptables-save form uses ${ext.word}`).toBeGreaterThan(0);
      let checked = 0;
      let fastRead = 0;
      for (const form of forms) {
        const rule = parseArgs(form.args);
        if (rule === undefined) continue;
        checked++;
        expect(rule.text, form.args).toBe(form.saved);
        // the saved form reads back to a rule that prints the same (values may be normalised:
        // `--dport 0:65535` prints nothing, so it reads back as no --dport), and is a fixed point
        const back = restore(form, false);
        expect(formatRule(back.matches, back.target), form.saved).toBe(form.saved);
        expect(restore({ ...form, saved: formatRule(back.matches, back.target) }, false)).toStrictEqual(back);
        // the extension's own save() prints its words of the recorded text
        if (ext.target) {
          expect(rule.target?.kind).toBe(ext.name);
          expect(form.saved.endsWith(formatTarget(rule.target!)), form.saved).toBe(true);
        } else {
          const mine = rule.matches.filter((m) => m.kind === ext.name);
          expect(mine.length, form.saved).toBeGreaterThan(0);
          for (const m of mine) expect(` ${form.saved} `.includes(` ${formatMatch(m)} `), form.saved).toBe(true);
        }
        const line = `-A ${form.chain} ${form.saved}`;
        const fast = parseCanonicalRule(form.table, line, { file: 'saved.rules', line: 2, text: line }, new Interner());
        if (fast !== undefined) {
          expect(fast.rule).toStrictEqual(restore(form, true));
          fastRead++;
        }
      }
      expect(checked, `every recorded form of ${ext.word} is refused as not modelled`).toBeGreaterThan(0);
      if (ext.fast) expect(fastRead, `${ext.word} has a fast reader, but it read none of its recorded forms`).toBeGreaterThan(0);
    });
  }
});

describe('an option the extension does not have', () => {
  /** a line that loads the extension, with the rest it needs (-p, required options) */
  const MATCH_LINES: Readonly<Record<string, string>> = {
    tcp: '-A INPUT -p tcp -m tcp',
    udp: '-A INPUT -p udp -m udp',
    sctp: '-A INPUT -p sctp -m sctp',
    icmp: '-A INPUT -p icmp -m icmp --icmp-type 8',
    multiport: '-A INPUT -p tcp -m multiport --dports 80',
    conntrack: '-A INPUT -m conntrack --ctstate NEW',
    state: '-A INPUT -m state --state NEW',
    mark: '-A INPUT -m mark --mark 1',
    connmark: '-A INPUT -m connmark --mark 1',
    addrtype: '-A INPUT -m addrtype --dst-type LOCAL',
    iprange: '-A INPUT -m iprange --src-range 10.0.0.1-10.0.0.9',
    comment: '-A INPUT -m comment --comment x',
    statistic: '-A INPUT -m statistic --mode random --probability 0.5',
    limit: '-A INPUT -m limit --limit 1/sec',
    physdev: '-A INPUT -m physdev --physdev-in eth0',
    recent: '-A INPUT -m recent --set',
    set: '-A INPUT -m set --match-set S src',
  };
  const TARGET_LINES: Readonly<Record<string, string>> = {
    ACCEPT: '-A INPUT -j ACCEPT',
    DROP: '-A INPUT -j DROP',
    RETURN: '-A INPUT -j RETURN',
    REJECT: '-A INPUT -j REJECT',
    LOG: '-A INPUT -j LOG',
    SNAT: '-t nat -A POSTROUTING -j SNAT --to-source 10.0.0.1',
    DNAT: '-t nat -A PREROUTING -j DNAT --to-destination 10.0.0.1',
    MASQUERADE: '-t nat -A POSTROUTING -j MASQUERADE',
    REDIRECT: '-t nat -A PREROUTING -j REDIRECT',
    MARK: '-t mangle -A PREROUTING -j MARK --set-mark 1',
    CONNMARK: '-t mangle -A PREROUTING -j CONNMARK --save-mark',
    NOTRACK: '-t raw -A PREROUTING -j NOTRACK',
    CT: '-t raw -A PREROUTING -j CT',
  };

  it('every registered extension has a line here, and that line parses', () => {
    expect(Object.keys(MATCH_LINES).sort()).toStrictEqual(Object.keys(MATCH_EXTS).sort());
    expect(Object.keys(TARGET_LINES).sort()).toStrictEqual(Object.keys(TARGET_EXTS).sort());
    for (const line of [...Object.values(MATCH_LINES), ...Object.values(TARGET_LINES)]) expect(parseArgs(line), line).toBeDefined();
  });

  for (const [name, line] of [...Object.entries(MATCH_LINES), ...Object.entries(TARGET_LINES)]) {
    it(`${name}: --no-such-option is refused at the file and line, as iptables refuses it`, () => {
      const text = `iptables ${line} --no-such-option 1`;
      let err: unknown;
      try {
        parseIptablesArgs(shellWords(`${line} --no-such-option 1`), { file: 'runbook.sh', line: 12, text });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ConfigError);
      const ce = err as ConfigError;
      expect(ce.code).toBe('syntax');
      expect(ce.file).toBe('runbook.sh');
      expect(ce.line).toBe(12);
      expect(ce.detail).toBe('iptables: unknown option "--no-such-option"');
      expect(ce.message).toContain(text);
    });
  }
});

describe('the registry', () => {
  it('looks extensions up by their own name only', () => {
    for (const [k, e] of Object.entries(MATCH_EXTS)) expect(matchExt(k)).toBe(e);
    for (const [k, e] of Object.entries(TARGET_EXTS)) expect(targetExt(k)).toBe(e);
    for (const name of ['toString', 'constructor', '__proto__', 'hasOwnProperty', 'TCP', 'accept']) {
      expect(matchExt(name)).toBeUndefined();
      expect(targetExt(name)).toBeUndefined();
    }
  });
  it('-m and -j of a name no extension has: iptables messages, never a crash', () => {
    const refuse = (args: string, detail: string): void => {
      expect(() => parseIptablesArgs(shellWords(args), at(3, args))).toThrow(expect.objectContaining({ code: 'syntax', line: 3, detail }));
    };
    refuse('-A INPUT -m toString', "iptables: Couldn't load match `toString':No such file or directory");
    refuse('-A INPUT -m constructor -j ACCEPT', "iptables: Couldn't load match `constructor':No such file or directory");
    refuse('-A INPUT --constructor', 'iptables: unknown option "--constructor"');
  });
});
