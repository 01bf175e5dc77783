/**
 * The exit-code contract of `netpath`, and how a failure is shown. Nothing else escapes main():
 *
 *   0   fine
 *   1   a probe or an invariant differs from its expectation
 *   2   bad input: a model file, runbook line, dump or command-line option (ConfigError), or a
 *       usage error (unknown option, missing argument)
 *   70  an internal error (EX_SOFTWARE of sysexits.h): a bug in netpath, shown as one line with a
 *       hint to report it; NETPATH_DEBUG=1 adds the stack
 *
 * With `--json` a failure is also a JSON object on stdout:
 *   {"error": {"code", "file"?, "line"?, "message"}}
 * where `code` is a ConfigError code (`yaml`, `model`, `file`, `syntax`, `unsupported`, `kernel`),
 * `usage` for a command-line error, or `internal`.
 */
import { CommanderError } from 'commander';
import { ConfigError } from '../model/errors.js';
import { escapeLine } from '../model/text.js';

export const EXIT_OK = 0;
export const EXIT_DIFFERS = 1;
export const EXIT_BAD_INPUT = 2;
export const EXIT_INTERNAL = 70;

export interface ErrorJson {
  readonly code: string;
  readonly file?: string;
  readonly line?: number;
  readonly message: string;
}

export interface Io {
  out(s: string): void;
  err(s: string): void;
}

/** What a thrown value means for the user: exit code, JSON error, and the text for stderr. */
export function describeFailure(e: unknown, debug = false): { exit: number; json: ErrorJson; text: string } {
  if (e instanceof ConfigError) {
    const where = e.line > 0 ? `${e.file}:${e.line}` : e.file;
    const text = `netpath: ${escapeLine(where)}: ${escapeLine(e.detail)}${e.text !== undefined && e.text !== '' ? `\n    ${escapeLine(e.text)}` : ''}\n`;
    return {
      exit: EXIT_BAD_INPUT,
      json: { code: e.code, ...(e.file !== '' ? { file: e.file } : {}), ...(e.line > 0 ? { line: e.line } : {}), message: e.detail },
      text,
    };
  }
  if (e instanceof CommanderError) {
    // commander has already printed its message (and the help) on stderr
    const message = e.message.replace(/^error: /, '').split('\n')[0] ?? e.message;
    return { exit: e.exitCode === 0 ? EXIT_OK : EXIT_BAD_INPUT, json: { code: 'usage', message }, text: '' };
  }
  const err = e instanceof Error ? e : new Error(String(e));
  const first = (err.message.split('\n')[0] ?? '').replace(/^netpath bug: /, '');
  const message = `${err.name === 'Error' ? '' : `${err.name}: `}${first}`;
  const text =
    `netpath: internal error: ${escapeLine(message)}\n` +
    'netpath: this is a bug in netpath, not in your input; please report it with the command line and the files it read' +
    (debug ? `\n${err.stack ?? ''}` : ' (NETPATH_DEBUG=1 shows where it happened)') +
    '\n';
  return { exit: EXIT_INTERNAL, json: { code: 'internal', message }, text };
}

/** Prints a failure (stderr; with --json also the error object on stdout) and returns the exit code. */
export function reportFailure(e: unknown, io: Io, json: boolean): number {
  const d = describeFailure(e, process.env['NETPATH_DEBUG'] === '1');
  if (d.exit === EXIT_OK) return EXIT_OK;
  if (d.text !== '') io.err(d.text);
  if (json) io.out(JSON.stringify({ error: d.json }, null, 2) + '\n');
  return d.exit;
}

/** `--json` given before any `--`. */
export function wantsJson(argv: readonly string[]): boolean {
  const end = argv.indexOf('--');
  return (end < 0 ? argv : argv.slice(0, end)).includes('--json');
}
