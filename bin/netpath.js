#!/usr/bin/env node
import { main } from '../dist/cli-bundle/main.js';
// `netpath check ... | head`: a closed pipe ends the output quietly, like other Unix tools
process.stdout.on('error', (e) => {
  if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw e;
});
process.exitCode = await main(process.argv.slice(2));
