/**
 * A runbook's `nft ...` line as typed commands: `nft -f FILE` (the file next to the model, read
 * once, applied atomically), `nft [-c] ARGS...` (one command, or several separated by `;`),
 * and the look-only forms (`nft list ...`, `nft -c -f FILE`, `nft monitor`), which change nothing.
 */
import path from 'node:path';
import { ConfigError } from '../model/errors.js';
import type { Origin } from '../model/origin.js';
import { parseNftArgs, parseNftFile, type NftCommand } from './parse.js';

export type NftLine =
  | { readonly kind: 'look'; readonly why: string }
  /** `text`: what `nft -f -` must read to do the same (the file, or the command line's words) */
  | { readonly kind: 'apply'; readonly cmds: readonly NftCommand[]; readonly text: string; readonly file?: string };

/** Options of nft(8) that only change how it prints. */
const PRINT_OPTS = new Set(['-a', '--handle', '-n', '--numeric', '-s', '--stateless', '-j', '--json', '-e', '--echo', '-y', '--numeric-priority', '-N', '-S', '--service', '-T', '--numeric-time', '-u', '--guid', '-p', '--numeric-protocol', '-t', '--terse', '-d', '--debug']);

export function parseNftLine(argv: readonly string[], origin: Origin, baseDir: string, readFile: (p: string) => string): NftLine {
  let check = false;
  let file: string | undefined;
  let k = 1;
  for (; k < argv.length; k++) {
    const a = argv[k]!;
    if (!a.startsWith('-') || /^-\d/.test(a)) break;
    if (a === '-c' || a === '--check') check = true;
    else if (a === '-f' || a === '--file') {
      file = argv[++k];
      if (file === undefined) throw ConfigError.at(origin, 'syntax', 'nft: option -f needs a file');
    } else if (a === '-i' || a === '--interactive') throw ConfigError.at(origin, 'unsupported', 'nft -i reads commands interactively: write them as nft lines or a file');
    else if (a === '-I' || a === '--includepath') k++;
    else if (PRINT_OPTS.has(a) || /^-[anjesyNSTupt]+$/.test(a)) continue;
    else throw ConfigError.at(origin, 'syntax', `nft: unrecognized option '${a}'`);
  }
  if (file !== undefined) {
    if (k < argv.length) throw ConfigError.at(origin, 'syntax', `nft: -f FILE takes no further arguments ("${argv[k]}")`);
    if (file === '-' || path.isAbsolute(file)) {
      throw ConfigError.at(origin, 'unsupported', `nft -f ${file} would read this machine's file, not the host's; put the file next to the model and use a relative path`);
    }
    const full = path.join(baseDir, file);
    let text: string;
    try {
      text = readFile(full);
    } catch (e) {
      throw ConfigError.at(origin, 'file', `nft -f: cannot read ${full}: ${e instanceof Error ? e.message : String(e)}`);
    }
    const cmds = parseNftFile(text, full);
    if (check) return { kind: 'look', why: 'nft -c only checks the file' };
    return { kind: 'apply', cmds, text, file: full };
  }
  const args = argv.slice(k);
  if (args.length === 0) return { kind: 'look', why: 'nft without a command prints its usage' };
  const cmds = parseNftArgs(args, origin);
  if (check || cmds.length === 0) return { kind: 'look', why: check ? 'nft -c only checks the command' : 'look-only command' };
  return { kind: 'apply', cmds, text: args.join(' ') };
}
