/**
 * The published package works on its own: `npm pack`, install the tarball into an empty folder
 * with `--omit=dev` (dependencies from the registry or npm's cache), then run `netpath check`,
 * `netpath prop`, `netpath --version` and `import('netpath')` from there. Every module imported at
 * run time must be a runtime dependency (fast-check is one: `prop` and the public API use it).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'netpath-pack-'));
const app = join(dir, 'app');
const pkgDir = join(app, 'node_modules', 'netpath');
const version = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

function sh(cmd: string, args: string[], cwd: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', timeout: 600_000, env: { ...process.env, npm_config_update_notifier: 'false' } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('npm pack, installed with --omit=dev into an empty folder', () => {
  beforeAll(() => {
    // dist/ current (npm ci built it); pack without running prepare again
    const b = sh(process.execPath, [join(ROOT, 'scripts', 'build.js')], ROOT);
    expect(b.status, b.stderr).toBe(0);
    const p = sh('npm', ['pack', '--ignore-scripts', '--pack-destination', dir, '--silent'], ROOT);
    expect(p.status, p.stderr).toBe(0);
    const tgz = readdirSync(dir).find((f) => f.endsWith('.tgz'));
    expect(tgz).toBeDefined();
    spawnSync('mkdir', ['-p', app]);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'netpath-pack-check', private: true, type: 'module' }));
    const i = sh('npm', ['install', '--omit=dev', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts', join(dir, tgz!)], app);
    expect(i.status, i.stderr).toBe(0);
  }, 900_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('no dev dependency was installed', () => {
    const installed = readdirSync(join(app, 'node_modules'));
    for (const dev of ['typescript', 'vitest', 'vite', '@types']) expect(installed).not.toContain(dev);
    expect(installed).toContain('fast-check');
  });
  it('netpath --version', () => {
    const r = sh(process.execPath, [join(pkgDir, 'bin', 'netpath.js'), '--version'], app);
    expect(r.stdout.trim()).toBe(version);
  });
  it('netpath check on the bundled seed', () => {
    const r = sh(process.execPath, [join(pkgDir, 'bin', 'netpath.js'), 'check', join(pkgDir, 'models', 'seed-lan-container.yaml')], app);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/web1 curl ngx1 +reachable +reachable +ok/);
  });
  it('netpath prop (fast-check at run time)', () => {
    // the same table as from the repository (prop-seed has a failing invariant on purpose: exit 1)
    const args = ['prop', '--runs', '20', '--seed', '1'];
    const r = sh(process.execPath, [join(pkgDir, 'bin', 'netpath.js'), ...args, join(pkgDir, 'models', 'prop-seed.yaml')], app);
    const here = sh(process.execPath, [join(ROOT, 'bin', 'netpath.js'), ...args, 'models/prop-seed.yaml'], ROOT);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(here.status);
    expect(r.stdout.split('\n').slice(0, 6)).toEqual(here.stdout.split('\n').slice(0, 6));
    expect(r.stdout).toMatch(/web1 reaches ngx1's web server +reach +20 +ok/);
  });
  it("import('netpath'): load and trace the seed", () => {
    const code = `const m = await import('netpath'); const w = m.load(${JSON.stringify(join(pkgDir, 'models', 'seed-lan-container.yaml'))}); console.log(typeof m.flows, typeof m.outcome, Object.keys(w.netns).length > 2);`;
    const r = sh(process.execPath, ['--input-type=module', '-e', code], app);
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('function function true');
  });
});
