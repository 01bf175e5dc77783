/**
 * nft lines as admins type them in a runbook: bash passes `{ 22, 80 }` (spaces around the braces)
 * to nft as the separate words `{`, `22,`, `80`, `}`, which nft joins and reads as a set; `{` and
 * `}` are shell words there, not a brace group. `{22,80}` is bash brace expansion (nft would get
 * `22` and `80`), and an unquoted `;` inside `{ ...; }` ends the command, leaving a lone `}`
 * (bash: syntax error). Observed with bash 5 (`printf "[%s]"` of the same words).
 */
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/model/errors.js';
import { parseModel } from '../../src/plan/model.js';
import { buildWorld } from '../../src/world/build.js';
import { parseShell } from '../../src/plan/shell.js';

const model = (lines: string[]): string =>
  `name: braces\nhosts:\n  h:\n    run: |\n${lines.map((l) => `      $ ${l}`).join('\n')}\nlans:\n  l:\n    h/eth0: 10.9.0.1/24\n`;
const world = (lines: string[]) => buildWorld(parseModel(model(lines), 'braces.yaml')).world;
const argv = (line: string): string[] => [...parseShell(line, 'r', 1, line)[0]!.commands[0]!.argv];

describe('runbook nft lines with braces', () => {
  it('the shell gives `{ 22, 80 }` as four words, as bash does', () => {
    expect(argv('nft add rule ip filter input tcp dport { 22, 80 } accept')).toEqual(['nft', 'add', 'rule', 'ip', 'filter', 'input', 'tcp', 'dport', '{', '22,', '80', '}', 'accept']);
    expect(argv("nft 'add chain ip t c { type filter hook input priority 0; }'")).toEqual(['nft', 'add chain ip t c { type filter hook input priority 0; }']);
    expect(argv('echo {} {22} "{2,3}" \\{2,3}')).toEqual(['echo', '{}', '{22}', '{2,3}', '{2,3}']);
  });
  it('an unquoted set in an nft rule line becomes the rule nft lists', () => {
    const w = world([
      'nft add table ip filter',
      "nft 'add chain ip filter input { type filter hook input priority 0; policy drop; }'",
      'nft add rule ip filter input tcp dport { 22, 80 } accept',
      'nft add rule ip filter input ip saddr { 10.9.0.0/24, 192.168.1.1 } counter accept',
    ]);
    const rules = w.netns['h']!.nft!.tables[0]!.chains[0]!.rules.map((r) => r.text);
    expect(rules).toEqual(['tcp dport { 22, 80 } accept', 'ip saddr { 10.9.0.0/24, 192.168.1.1 } counter packets 0 bytes 0 accept']);
  });
  const refused = (line: string): ConfigError => {
    try {
      world(['nft add table ip filter', line]);
    } catch (e) {
      if (e instanceof ConfigError) return e;
      throw e;
    }
    throw new Error('accepted');
  };
  it('brace expansion `{22,80}` is refused (bash would give nft two words, dash one)', () => {
    const e = refused('nft add rule ip filter input tcp dport {22,80} accept');
    expect(e.code).toBe('unsupported');
    expect(e.detail).toContain('brace expansion');
    expect(e.line).toBe(6);
  });
  it('an unquoted `;` inside `{ ...; }` leaves a lone `}`: a syntax error, as in bash', () => {
    const e = refused('nft add chain ip filter input { type filter hook input priority 0; }');
    expect(e.code).toBe('syntax');
    expect(e.detail).toContain("unexpected token `}'");
  });
});
