// Runs the bundled CLI (dist/cli-bundle/main.cjs, made by scripts/bundle.js) with V8's code cache
// of it when there is one that fits: the bundle's first line names its build, the cache made for
// that build is main.<build>.cache next to it. V8 itself refuses a cache made by another
// version of node or with other flags (then the bundle is compiled as without one); no cache at
// all works the same way, only slower to start (docs/performance.md, Start-up).
'use strict';
const { readFileSync } = require('node:fs');
const { createRequire } = require('node:module');
const { dirname, join } = require('node:path');
const { Script } = require('node:vm');

const BUNDLE = join(__dirname, '..', 'dist', 'cli-bundle', 'main.cjs');
const BUILD = /^\/\/ netpath-build ([0-9a-f]+)\n/;

/** The cache file for `code` (the bundle's text), or undefined when the bundle names no build. */
function cacheFile(code) {
  const m = BUILD.exec(code.slice(0, 64));
  return m ? join(dirname(BUNDLE), `main.${m[1]}.cache`) : undefined;
}

/**
 * Compiles and runs the bundle as CommonJS; returns its exports (`main`) and the compiled script
 * (scripts/bundle.js makes the cache from it). `useCache`: whether to read the cache.
 */
function loadBundle(useCache = true) {
  // esbuild writes ASCII only (non-ASCII characters as escapes): latin1 reads it as it is, fast
  let code;
  try {
    code = readFileSync(BUNDLE, 'latin1');
  } catch (e) {
    if (e && e.code === 'ENOENT') {
      process.stderr.write(`netpath: ${BUNDLE} is missing: build it with \`npm run build\` (npm install and npm ci run it)\n`);
      process.exit(2);
    }
    throw e;
  }
  const cache = useCache ? cacheFile(code) : undefined;
  let cachedData;
  if (cache !== undefined)
    try {
      cachedData = readFileSync(cache);
    } catch {
      cachedData = undefined; // not made (or removed): compile without
    }
  const script = new Script(`(function (exports, require, module, __filename, __dirname) {${code}\n})`, { filename: BUNDLE, ...(cachedData ? { cachedData } : {}) });
  const module = { exports: {} };
  script.runInThisContext()(module.exports, createRequire(BUNDLE), module, BUNDLE, dirname(BUNDLE));
  return { exports: module.exports, script, cacheFile: cacheFile(code) };
}

module.exports = { loadBundle, BUNDLE };
