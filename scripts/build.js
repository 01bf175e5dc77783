#!/usr/bin/env node
// Compiles src/ to dist/ with tsc, then bundles the CLI (scripts/bundle.js), but only when dist/ is older than the sources:
//   node scripts/build.js           compile if any file under src/, tsconfig*.json or package.json
//                                   is newer than the last successful build (dist/.build-ok)
//   node scripts/build.js --always  compile anyway
// `npm start` and `npm run bench` use the first form, so a warm start does not wait for tsc.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const stamp = join(root, 'dist', '.build-ok');

function newest(path) {
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  let m = st.mtimeMs; // a deleted or renamed file changes its folder's mtime
  for (const e of readdirSync(path)) m = Math.max(m, newest(join(path, e)));
  return m;
}

const inputs = ['src', 'tsconfig.json', 'tsconfig.build.json', 'package.json'].map((p) => join(root, p)).filter((p) => existsSync(p));
const always = process.argv.includes('--always');
const stale = always || !existsSync(stamp) || Math.max(...inputs.map(newest)) > statSync(stamp).mtimeMs;
if (stale) {
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  const r = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
  // the CLI bundle bin/netpath.js runs (scripts/bundle.js, docs/performance.md)
  const b = spawnSync(process.execPath, [join(root, 'scripts', 'bundle.js')], { stdio: 'inherit', cwd: root });
  if (b.status !== 0) process.exit(b.status ?? 1);
  writeFileSync(stamp, `${new Date().toISOString()}\n`);
}
