// The command line as one CommonJS bundle (dist/cli-bundle/main.cjs) and V8's code cache of it:
// run after tsc (`npm run build` does both). Loading an ES module graph file by file, then
// compiling it, took longer than the check itself; bin/netpath.js instead compiles one script
// with the cache made here, so a command starts with its code already compiled
// (docs/performance.md, Start-up). The code is tsc's output, unchanged in meaning:
// - dependencies are bundled, but for elkjs and fast-check (large, used by few commands), which
//   are required from node_modules when a command uses them;
// - node:child_process and node:crypto are loaded when first used, not when the bundle starts
//   (commander requires child_process for subcommands netpath does not have);
// - import.meta.url is the bundle's own URL (dist/cli-bundle/ lies as deep as dist/cli/).
// The cache is made by running `netpath check` on the seed once, silently, in a fresh node, so
// the functions a check runs are in it compiled; it is named after a build id written on the
// bundle's first line, so a rebuilt bundle never meets an older cache.
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';

const outdir = 'dist/cli-bundle';
rmSync(outdir, { recursive: true, force: true });
mkdirSync(outdir, { recursive: true });
const id = randomBytes(8).toString('hex');

/** `node:child_process` and `node:crypto` as objects that require the module on first use */
const lazyBuiltins = {
  name: 'lazy-builtins',
  setup(b) {
    b.onResolve({ filter: /^(node:)?(child_process|crypto)$/ }, (a) => ({ path: a.path.replace(/^node:/, ''), namespace: 'lazy-builtin' }));
    b.onLoad({ filter: /.*/, namespace: 'lazy-builtin' }, (a) => ({
      contents: `const id = ${JSON.stringify(`node:${a.path}`)}; let m; const real = () => (m ??= require(id));
module.exports = new Proxy({}, { get: (_, k) => real()[k], has: (_, k) => k in real(), ownKeys: () => Reflect.ownKeys(real()), getOwnPropertyDescriptor: (_, k) => { const d = Reflect.getOwnPropertyDescriptor(real(), k); return d && { ...d, configurable: true }; } });`,
      loader: 'js',
    }));
  },
};

await build({
  entryPoints: ['dist/cli/main.js'],
  outfile: `${outdir}/main.cjs`,
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  charset: 'ascii',
  external: ['elkjs', 'fast-check'],
  define: { 'import.meta.url': '__netpathUrl' },
  banner: { js: `// netpath-build ${id}\n"use strict";\nconst __netpathUrl = require('node:url').pathToFileURL(__filename).href;` },
  plugins: [lazyBuiltins],
  logLevel: 'warning',
});

const warm = `
const { writeFileSync } = require('node:fs');
const { loadBundle } = require('./bin/bundle-loader.cjs');
const b = loadBundle(false);
b.exports.main(['check', 'models/seed-lan-container.yaml'], { out() {}, err() {} }).then((code) => {
  if (code !== 0) throw new Error('netpath check of the seed: exit ' + code);
  writeFileSync(b.cacheFile, b.script.createCachedData());
});`;
const r = spawnSync(process.execPath, ['-e', warm], { stdio: 'inherit' });
if (r.status !== 0) process.exit(r.status ?? 1);
