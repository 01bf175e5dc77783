// Writes test/pcap/digests.json: sha256 of every file `netpath check MODEL --pcap DIR --pcapng FILE`
// writes for every bundled model, with the plain writer (test/pcap/reference/ in place of
// src/pcap's captures, comments, encode, pcap and pcapng) and the engine of the working tree. Run when the engine's
// traces change: node test/pcap/digests-gen.mjs [--check]  (--check: compare, with today's writer)
import { build } from 'esbuild';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execSync } from 'node:child_process';

const ROOT = resolve(import.meta.dirname, '../..');
const check = process.argv.includes('--check');
const tmp = mkdtempSync(join(tmpdir(), 'netpath-digests-'));
const plain = {
  name: 'plain-writer',
  setup(b) {
    b.onResolve({ filter: /^\.\/(encode|pcapng|pcap|captures|comments)\.js$/ }, (a) =>
      a.importer.startsWith(join(ROOT, 'src/pcap/')) ? { path: join(ROOT, 'test/pcap/reference', a.path.replace(/\.js$/, '.ts')) } : undefined,
    );
  },
};
await build({ entryPoints: [join(ROOT, 'src/cli/main.ts')], bundle: true, format: 'esm', platform: 'node', outfile: join(ROOT, 'dist', 'digests-gen', 'main.mjs'), plugins: check ? [] : [plain], logLevel: 'warning', banner: { js: "import { createRequire as __r } from 'node:module'; const require = __r(import.meta.url);" } });
// bundled under dist/ so that ../../package.json (the version) resolves as in the real CLI
const { main } = await import(join(ROOT, 'dist', 'digests-gen', 'main.mjs'));
const sha = (b) => createHash('sha256').update(b).digest('hex');
const models = {};
for (const m of readdirSync(join(ROOT, 'models')).filter((f) => f.endsWith('.yaml')).sort()) {
  const dir = join(tmp, m);
  mkdirSync(dir);
  await main(['check', join(ROOT, 'models', m), '--pcap', join(dir, 'pcap'), '--pcapng', join(dir, 'all.pcapng')], { out() {}, err() {} });
  models[m] = { pcapng: sha(readFileSync(join(dir, 'all.pcapng'))), pcap: Object.fromEntries(readdirSync(join(dir, 'pcap')).sort().map((f) => [f, sha(readFileSync(join(dir, 'pcap', f)))])) };
}
rmSync(tmp, { recursive: true, force: true });
const file = join(ROOT, 'test/pcap/digests.json');
if (check) {
  const want = JSON.parse(readFileSync(file, 'utf8')).models;
  const bad = Object.keys({ ...want, ...models }).filter((m) => JSON.stringify(want[m]) !== JSON.stringify(models[m]));
  console.log(`${Object.keys(models).length} models, ${bad.length} differ${bad.length ? `: ${bad.join(' ')}` : ''}`);
  process.exitCode = bad.length ? 1 : 0;
} else {
  const commit = execSync('git rev-parse --short HEAD', { cwd: ROOT, encoding: 'utf8' }).trim();
  writeFileSync(file, JSON.stringify({ generatedBy: 'node test/pcap/digests-gen.mjs (the plain writer, test/pcap/reference/)', commit, models }, null, 2) + '\n');
  console.log(`wrote ${file}`);
}
