/**
 * Model files in any valid YAML: every scalar style for runbooks, anchors, aliases and `<<`
 * merges, with each runbook line's origin on the file line where that line starts.
 *
 * fixtures/yaml/seed-safe-dump*.yaml are fixtures/yaml/seed-literal.yaml written by PyYAML's
 * yaml.safe_dump (fixtures/yaml/gen.py; regenerated and compared here when python3 has PyYAML).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, one } from '../helpers.js';
import { loadModel, parseModel } from '../../src/plan/model.js';
import { buildWorld, type Built } from '../../src/world/build.js';
import type { Op } from '../../src/plan/ops.js';
import { ConfigError } from '../../src/model/errors.js';

const DIR = join(ROOT, 'fixtures/yaml');

/** Each op's line and command, for a model given as text. */
function linesOf(yaml: string): [number, string][] {
  const b = buildWorld(parseModel(yaml, join(ROOT, 'test/inline.yaml')));
  return Object.values(b.ops)
    .flat()
    .map((o) => [o.origin.line, o.origin.text]);
}

/** Ops without file names and line numbers (every origin, also those inside iptables rules). */
const strip = (ops: readonly Op[]): unknown =>
  JSON.parse(JSON.stringify(ops, (k, v: unknown) => (k === 'origin' ? { text: (v as { text: string }).text } : v)));

describe('runbook lines in every scalar style point at their file line', () => {
  const cmds = ['ip netns add a', 'ip netns add b', 'ip netns add c'];
  it('literal block', () => {
    expect(linesOf(`hosts:\n  h:\n    run: |\n      ${cmds.join('\n      ')}\n`)).toEqual([[4, cmds[0]], [5, cmds[1]], [6, cmds[2]]]);
  });
  it('literal block with keep/strip chomping and an indentation indicator', () => {
    expect(linesOf(`hosts:\n  h:\n    run: |2-\n\n        ${cmds[0]}\n      ${cmds[1]}\n`)).toEqual([[5, `  ${cmds[0]}`.trim()], [6, cmds[1]]]);
  });
  it('folded block: lines separated by blank lines, and a more-indented line', () => {
    const y = `hosts:\n  h:\n    run: >\n      ${cmds[0]}\n\n      ip netns\n      add b\n\n        ${cmds[2]}\n`;
    expect(linesOf(y)).toEqual([[4, cmds[0]], [6, cmds[1]], [9, cmds[2]]]);
  });
  it('single-quoted, as safe_dump writes it (blank line = newline, long lines folded)', () => {
    const y = `hosts:\n  h:\n    run: '${cmds[0]}\n\n      ip netns\n      add b\n\n      ''ip'' netns add c\n\n      '\n`;
    expect(linesOf(y)).toEqual([[3, cmds[0]], [5, cmds[1]], [8, `'ip' netns add c`]]);
  });
  it('double-quoted with \\n escapes and escaped line breaks in the middle of a command', () => {
    const y = `hosts:\n  h:\n    run: "${cmds[0]}\\n${cmds[1]}\\nip\\\n      \\ netns add c\\n"\n`;
    expect(linesOf(y)).toEqual([[3, cmds[0]], [3, cmds[1]], [3, cmds[2]]]);
    const y2 = `hosts:\n  h:\n    run: "${cmds[0]}\\n\\\n      ${cmds[1]}\\n\\\n      \\t${cmds[2]}"\n`;
    expect(linesOf(y2)).toEqual([[3, cmds[0]], [4, cmds[1]], [5, cmds[2]]]);
  });
  it('plain multi-line scalar (one command per blank-line-separated paragraph)', () => {
    const y = `hosts:\n  h:\n    run:\n      ${cmds[0]}\n\n      ${cmds[1]}\n\n\n      ${cmds[2]}\n`;
    expect(linesOf(y)).toEqual([[4, cmds[0]], [6, cmds[1]], [9, cmds[2]]]);
  });
  it('flow mapping with a quoted runbook', () => {
    const y = `hosts: {h: {run: "${cmds[0]}\n\n    ${cmds[1]}"}}\n`;
    expect(linesOf(y)).toEqual([[1, cmds[0]], [3, cmds[1]]]);
  });
  it('an error in a folded runbook names the file line of the command', () => {
    const y = `hosts:\n  h:\n    run: >\n      ${cmds[0]}\n\n      ip route add\n      10.0.0.0/8 bogus\n`;
    try {
      buildWorld(parseModel(y, join(ROOT, 'test/inline.yaml')));
      throw new Error('no error');
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      expect((e as ConfigError).line).toBe(6);
    }
  });
});

describe('anchors, aliases and merges', () => {
  const y = [
    'x-common: &common', //                     1
    '  run: |', //                              2
    '    ip netns add shared', //               3
    'x-lan: &lan0 {web1/eth0: 10.0.0.1/24, web2/eth0: 10.0.0.2/24}', // 4
    'hosts:', //                                5
    '  web1: *common', //                       6
    '  web2:', //                               7
    '    <<: *common', //                       8
    'lans:', //                                 9
    '  lan0: *lan0', //                         10
    'probes:', //                               11
    '  - &p {from: web1, to: "10.0.0.2:80", expect: refused}', // 12
    '  - <<: *p', //                            13
    '    to: 10.0.0.2:81', //                   14
  ].join('\n');
  it('loads: x- keys hold anchors; aliased runbooks keep the anchor line; merges fill probes', () => {
    const b = buildWorld(parseModel(y, join(ROOT, 'test/inline.yaml')));
    expect(b.ops['web1']!.map((o) => [o.op, o.origin.line])).toEqual([['netns-add', 3]]);
    expect(b.ops['web2']!.map((o) => [o.op, o.origin.line])).toEqual([['netns-add', 3]]);
    expect(Object.keys(b.world.netns)).toEqual(expect.arrayContaining(['web1/shared', 'web2/shared']));
    expect(b.model.lans[0]!.members.map((m) => m.host)).toEqual(['web1', 'web2']);
    expect(b.model.probes.map((p) => [p.port, p.expect])).toEqual([[80, 'refused'], [81, 'refused']]);
  });
  it('other unknown top-level keys are still refused', () => {
    expect(() => parseModel('hosts: {h: null}\ncommon: 1\n', join(ROOT, 'test/inline.yaml'))).toThrow(/unknown key "common"/);
  });
  it('a merged mapping with an unknown key is refused at the key\'s line', () => {
    const m = 'hosts:\n  web1: &h\n    run: "ip netns add a"\n    bogus: 1\n  web2:\n    <<: *h\n';
    try {
      parseModel(m, join(ROOT, 'test/inline.yaml'));
      throw new Error('no error');
    } catch (e) {
      expect((e as ConfigError).detail).toContain('unknown key "bogus"');
      expect((e as ConfigError).line).toBe(4);
    }
  });
  it('own keys win over merged ones', () => {
    const m = 'hosts:\n  web1: &h\n    run: "ip netns add a"\n  web2:\n    <<: *h\n    run: "ip netns add b"\n';
    const b = buildWorld(parseModel(m, join(ROOT, 'test/inline.yaml')));
    expect(b.ops['web2']!.map((o) => [o.origin.text, o.origin.line])).toEqual([['ip netns add b', 6]]);
  });
});

describe('yaml.safe_dump twins load and check the same as the literal-block model', () => {
  const literal = loadModel(join(DIR, 'seed-literal.yaml'));
  const lb = buildWorld(literal);
  const text = (f: string): string[] => readFileSync(join(DIR, f), 'utf8').split('\n');
  for (const twin of ['seed-safe-dump.yaml', 'seed-safe-dump-unicode.yaml']) {
    describe(twin, () => {
      const tb: Built = buildWorld(loadModel(join(DIR, twin)));
      it('same ops, same commands', () => {
        for (const h of ['web1', 'web2']) expect(strip(tb.ops[h]!)).toEqual(strip(lb.ops[h]!));
      });
      it('same probe result', () => {
        expect(one(tb, 'web1', '192.168.2.10:80').result).toBe(one(lb, 'web1', '192.168.2.10:80').result);
        expect(one(tb, 'web1', '192.168.2.10:80').result).toBe('reachable');
      });
      it('each op points at the file line where its command starts', () => {
        const lines = text(twin);
        const ops = [...tb.ops['web1']!, ...tb.ops['web2']!];
        for (const o of ops) {
          const raw = lines[o.origin.line - 1]!.replace(/''/g, "'");
          const first = o.origin.text.split(/\s+/)[0]!;
          expect(raw, `${o.origin.line}: ${o.origin.text}`).toContain(first);
        }
        // and not all on one line: the lines grow with the commands
        const seen = ops.map((o) => o.origin.line);
        expect([...seen].sort((a, b) => a - b)).toEqual(seen.slice(0, tb.ops['web1']!.length).concat(seen.slice(tb.ops['web1']!.length)));
        expect(new Set(seen).size).toBeGreaterThan(ops.length / 2);
      });
    });
  }
  // CI installs python3-yaml (.ci/run); elsewhere the committed fixtures still run above
  const py = spawnSync('python3', ['-c', 'import yaml'], { encoding: 'utf8' });
  it.runIf(py.status === 0 || process.env['NETPATH_REQUIRE_TOOLS'] === '1')('the fixtures are what yaml.safe_dump writes today', () => {
    const r = spawnSync('python3', [join(DIR, 'gen.py'), join(DIR, 'seed-literal.yaml')], { encoding: 'utf8', cwd: ROOT });
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(readFileSync(join(DIR, 'seed-safe-dump.yaml'), 'utf8'));
    const u = spawnSync('python3', [join(DIR, 'gen.py'), '--unicode', join(DIR, 'seed-literal.yaml')], { encoding: 'utf8', cwd: ROOT });
    expect(u.stdout).toBe(readFileSync(join(DIR, 'seed-safe-dump-unicode.yaml'), 'utf8'));
  });
});
