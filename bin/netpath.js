#!/usr/bin/env node
// CommonJS (bin/package.json): the bundled CLI with its code cache (bin/bundle-loader.cjs,
// scripts/bundle.js); loading no ES module keeps node's module loader out of start-up
'use strict';
const { main } = require('./bundle-loader.cjs').loadBundle().exports;
// `netpath check ... | head`: a closed pipe ends the output quietly, like other Unix tools
process.stdout.on('error', (e) => {
  if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw e;
});
main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
