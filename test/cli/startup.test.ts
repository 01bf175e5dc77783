/**
 * Start-up: main.ts loads only the command line parser; each command's code is imported when
 * that command runs, and bin/netpath.js runs the bundled CLI (dist/cli-bundle/main.cjs) with
 * V8's code cache of it (scripts/bundle.js, built by `npm run build` and `npm ci`;
 * bin/bundle-loader.cjs). The times themselves are in `npm run bench` (docs/performance.md).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { ROOT } from '../helpers.js';

async function inProcess(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(args, { out: (s) => (out += s), err: (s) => (err += s) });
  return { code, out, err };
}

function bin(args: string[]): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin/netpath.js'), ...args], { cwd: ROOT, encoding: 'utf8' });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

describe('main.ts imports only what every command needs', () => {
  it('its value imports are commander, the error reporter and the output escaper; command modules are imported in their actions', () => {
    const src = readFileSync(join(ROOT, 'src/cli/main.ts'), 'utf8');
    const values = [...src.matchAll(/^import (?!type )[^;]*? from '([^']+)';/gm)].map((m) => m[1]);
    expect(values).toEqual(['commander', '../model/text.js', './version.js', './errors.js']);
    expect(src).toMatch(/await import\('\.\/check\.js'\)/);
  });
});

describe('bin/netpath.js (the bundled CLI) answers as main() does', () => {
  const bundle = join(ROOT, 'dist/cli-bundle/main.cjs');
  it('the bundle exists (npm run build)', () => {
    expect(existsSync(bundle), `${bundle} is missing: run npm run build`).toBe(true);
  });
  /** loads the bundle in a fresh node as bin/netpath.js does (`useCache`), then runs `args` */
  const loaded = (useCache: boolean, args: string[]): { code: number; out: string; err: string } => {
    const js = `const b = require(${JSON.stringify(join(ROOT, 'bin/bundle-loader.cjs'))}).loadBundle(${useCache});
process.stderr.write(JSON.stringify({ cache: b.cacheFile, used: b.script.cachedDataRejected === false }) + '\\n');
b.exports.main(${JSON.stringify(args)}).then((c) => { process.exitCode = c; });`;
    const r = spawnSync(process.execPath, ['-e', js], { cwd: ROOT, encoding: 'utf8' });
    return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
  };
  it('the code cache made for this build is there and V8 takes it', () => {
    const r = loaded(true, ['--version']);
    const first = JSON.parse(r.err.split('\n')[0]!) as { cache: string; used: boolean };
    expect(existsSync(first.cache), `${first.cache} is missing: run npm run build`).toBe(true);
    expect(first.used).toBe(true);
  });
  it('without the code cache the bundle answers the same', async () => {
    const args = ['check', 'models/seed-no-snat.yaml'];
    const want = await inProcess(args);
    const r = loaded(false, args);
    const [first, ...rest] = r.err.split('\n');
    expect(JSON.parse(first!)).toMatchObject({ used: false });
    expect(r.out).toBe(want.out);
    expect(rest.join('\n')).toBe(want.err);
    expect(r.code).toBe(want.code);
  });
  const cases: [string, string[]][] = [
    ['check (table)', ['check', 'models/seed-lan-container.yaml']],
    ['check --json, a failing probe', ['check', 'models/seed-no-snat.yaml', '--json']],
    ['show --json', ['show', 'models/seed-lan-container.yaml', '--json']],
    ['trace', ['trace', 'models/seed-lan-container.yaml', '--from', 'web1', '--to', '192.168.2.10:80']],
    ['export', ['export', 'models/seed-lan-container.yaml', '--host', 'web2']],
    ['rules trace', ['rules', 'trace', 'fixtures/iptables/docker.save', '--src', '10.0.0.2', '--dst', '10.0.0.1']],
    ['a bad model (exit 2)', ['check', 'models/README.md']],
    ['--help', ['--help']],
    ['an unknown command', ['frobnicate']],
  ];
  for (const [name, args] of cases) {
    it(name, async () => {
      const want = await inProcess(args);
      const got = bin(args);
      expect(got.out).toBe(want.out);
      expect(got.err).toBe(want.err);
      expect(got.code).toBe(want.code);
    });
  }
});
