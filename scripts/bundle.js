// The command line as one bundle (dist/cli-bundle/): run after tsc (`npm run build` does both).
// Node 20 loads an ES module graph file by file; the CLI's graph (yaml alone is 72 files) took
// longer to load than the check itself. esbuild joins the compiled dist/ files, dependencies
// included, into one entry module plus one chunk per lazily imported command, so `netpath check`
// reads a handful of files (docs/performance.md). The code is tsc's output, unchanged in meaning.
import { build } from 'esbuild';
import { rmSync } from 'node:fs';

const outdir = 'dist/cli-bundle';
rmSync(outdir, { recursive: true, force: true });
await build({
  entryPoints: { main: 'dist/cli/main.js' },
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  chunkNames: 'chunk-[hash]',
  // commander is CommonJS: its require() of node: modules needs a real require in an ES module
  banner: { js: "import { createRequire as __netpathRequire } from 'node:module'; const require = __netpathRequire(import.meta.url);" },
  logLevel: 'warning',
});
