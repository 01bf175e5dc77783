/**
 * A host's runbook -> Ops.
 *
 * src/plan/shell.ts splits the text into logical lines and commands; this module decides what
 * each command means: it strips `sudo`, follows `ip netns exec NS` / `ip -n NS` into namespaces,
 * and hands each command to its parser (ip.ts, nettools.ts, netfilter's iptables parsers, or the
 * small ones below: sysctl, echo/tee into /proc/sys, docker, ln). Every command yields at least
 * one Op (a NoopOp for look-only commands) or a ConfigError at its line: nothing is skipped.
 */
import { parseNftLine } from '../nft/plan.js';
import { posix as path } from 'node:path';
import { ConfigError } from '../model/errors.js';
import { controlCharIn } from '../model/text.js';
import type { Origin } from '../model/origin.js';
import type { Op, SysctlOp } from './ops.js';
import { parseIptablesArgs } from '../netfilter/parse.js';
import { Interner, parseCanonicalRule } from '../netfilter/fastparse.js';
import type { IptablesCommand, NfTableName } from '../netfilter/types.js';
import { parseIptablesRestore } from '../netfilter/restore.js';
import { fail, type Ctx } from './args.js';
import { parseIp } from './ip.js';
import { parseBridge } from './bridge.js';
import { newDockerState, parseDocker, parseDockerd, type DockerDeps, type DockerState } from './docker.js';
import { parseIfconfig, parseRoute } from './nettools.js';
import { parseShell, splitRunbook, type Pipeline, type SimpleCommand } from './shell.js';

export interface RunbookSource {
  /** host whose runbook this is */
  readonly host: string;
  /** file name used in origins and errors */
  readonly file: string;
  readonly text: string;
  /** file line number of the text's first line (the runbook may sit inside a YAML block) */
  readonly firstLine: number;
  /** file line number of each text line, when they are not consecutive (a folded or quoted YAML scalar) */
  readonly lines?: readonly number[];
  /** directory that relative paths in the runbook (iptables-restore < FILE) are resolved against */
  readonly baseDir: string;
  /** the host's own files (absolute path -> content), from the model's `files:` */
  readonly files?: Readonly<Record<string, string>>;
}

export interface RunbookIo {
  readFile(path: string): string;
}

/** Parses a whole runbook. Throws ConfigError (with file and line) on the first bad command. */
export function parseRunbook(src: RunbookSource, io: RunbookIo): Op[] {
  const ops: Op[] = [];
  const env: Env = { src, io, files: new Map(Object.entries(src.files ?? {})), docker: newDockerState(), ops, intern: new Interner() };
  const rtTable = (name: string): number | undefined => rtTableId(env, name);
  // a line's text is made of the runbook's characters (and blanks): when the whole text has no
  // control character, no line has one
  const controls = controlCharIn(src.text, true) !== undefined;
  for (const line of splitRunbook(src.text, src.file, src.firstLine, src.lines)) {
    const origin: Origin = { file: line.file, line: line.line, text: line.text };
    const ctx: Ctx = { host: src.host, ns: null, origin, rtTable };
    // names made here (namespaces, interfaces, containers) reach terminals, file names and scripts
    const cc = controls ? controlCharIn(line.text, true) : undefined;
    if (cc !== undefined) return fail(ctx, 'unsupported', `the line contains the control character ${cc}; netpath refuses control characters in runbook lines`);
    // `iptables -A ...` as iptables-save spells it, the bulk of a long runbook: read straight
    // from the line (the same op the words give, see canonicalAppend)
    const cmd = line.plain?.startsWith('iptables -') ? canonicalAppend(line.plain.slice(9), origin, env.intern) : undefined;
    if (cmd !== undefined) ops.push({ op: 'iptables', host: ctx.host, ns: ctx.ns, origin, ...cmd });
    else ops.push(...runPipelines(line.pipelines, ctx, env));
  }
  return ops;
}

/** A list of pipelines joined by `;`, `&&`, `||` (a runbook line, or the script of `sh -c`). */
function runPipelines(pipelines: readonly Pipeline[], ctx: Ctx, env: Env): Op[] {
  const ops: Op[] = [];
  let skipNext = false;
  for (const p of pipelines) {
    if (skipNext) {
      // `a || b`: netpath assumes every command succeeds, so b never runs; it must be harmless
      const inner = runPipeline(p, ctx, env);
      if (inner.some((o) => o.op !== 'noop')) {
        return fail(ctx, 'unsupported', `"${p.commands[0]?.argv.join(' ')}" after "||" runs only if the command before it fails; netpath assumes commands succeed: remove it`);
      }
      ops.push(noopOp(ctx, 'runs only if the previous command fails'));
    } else {
      ops.push(...runPipeline(p, ctx, env));
    }
    skipNext = p.next === '||';
  }
  return ops;
}

interface Env {
  readonly src: RunbookSource;
  readonly io: RunbookIo;
  /** the host's files as the runbook has written them so far (from the model's `files:` first):
   *  /etc/iproute2/rt_tables, /etc/sysctl.conf, /etc/sysctl.d/*.conf, ip -batch files */
  readonly files: Map<string, string>;
  /** the Docker daemon of the host, as the runbook's docker lines have set it up */
  readonly docker: DockerState;
  /** the ops of the lines before the current one */
  readonly ops: readonly Op[];
  /** what consecutive iptables lines share (chain and target names), as iptables-restore keeps it */
  readonly intern: Interner;
}

/** Files that `sysctl --system` reads, in procps-ng's order of directories. */
const SYSCTL_DIRS = ['/etc/sysctl.d/', '/run/sysctl.d/', '/usr/local/lib/sysctl.d/', '/usr/lib/sysctl.d/', '/lib/sysctl.d/'];

/** iproute2's rt_tables (lib/rt_names.c): the stock names, then /etc/iproute2/rt_tables and rt_tables.d/*.conf. */
function rtTableId(env: Env, name: string): number | undefined {
  const stock: Record<string, number> = { unspec: 0, default: 253, main: 254, local: 255 };
  const texts = [env.files.get('/etc/iproute2/rt_tables') ?? ''];
  for (const [p, t] of [...env.files].sort(([a], [b]) => (a < b ? -1 : 1)))
    if (p.startsWith('/etc/iproute2/rt_tables.d/') && p.endsWith('.conf')) texts.push(t);
  for (const t of texts)
    for (const raw of t.split('\n')) {
      const l = raw.replace(/#.*/, '').trim();
      const m = /^(0x[0-9a-fA-F]+|\d+)\s+(\S+)/.exec(l);
      if (m && m[2] === name) return Number(m[1]);
    }
  return stock[name];
}

/** A file the runbook reads: relative to the model's folder, or an absolute path given in the model or written earlier. */
function readHostFile(ctx: Ctx, env: Env, what: string, file: string): string {
  if (path.isAbsolute(file)) {
    const t = env.files.get(path.normalize(file));
    if (t !== undefined) return t;
    return fail(
      ctx,
      'file',
      `${what}: ${file} is a file of the host, not of this machine: give its content in the model (hosts.${ctx.host}.files) or write it earlier in the runbook`,
    );
  }
  const full = path.join(env.src.baseDir, file);
  try {
    return env.io.readFile(full);
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    throw ConfigError.at(ctx.origin, 'file', `${what}: cannot read ${full}: ${why}`);
  }
}

const LOOK = 'look-only command';

function noopOp(ctx: Ctx, why: string): Op {
  return { op: 'noop', host: ctx.host, ns: ctx.ns, origin: ctx.origin, why };
}

/** Commands that only read and print; a runbook may contain them anywhere. */
const LOOK_ONLY = new Set([
  'tcpdump', 'curl', 'ping', 'wget', 'nc', 'ncat', 'netcat', 'telnet', 'cat', 'ls', 'ss', 'netstat', 'traceroute',
  'tracepath', 'mtr', 'dig', 'nslookup', 'host', 'grep', 'egrep', 'fgrep', 'head', 'tail', 'wc', 'sort', 'uniq',
  'less', 'more', 'cut', 'awk', 'jq', 'column', 'true', ':', 'sleep', 'date', 'hostname', 'whoami', 'id', 'uname',
  'pwd', 'ps', 'arping', 'ethtool', 'lsmod', 'which', 'clear', 'history',
]);

/** Filters a pipeline may send look-only output through. */
function isLookOnly(ops: readonly Op[]): boolean {
  return ops.every((o) => o.op === 'noop');
}

function runPipeline(p: Pipeline, ctx: Ctx, env: Env): Op[] {
  const cmds = p.commands;
  if (cmds.length === 1) return runCommand(cmds[0]!, ctx, env, undefined);
  // `echo V | tee /proc/sys/...`: the only pipeline that changes state
  const out: Op[] = [];
  let stdin: string | undefined; // what the previous command prints, when netpath knows it
  for (let k = 0; k < cmds.length; k++) {
    const c = cmds[k]!;
    const ops = runCommand(c, ctx, env, k === 0 ? undefined : stdin === undefined ? { unknown: true } : { text: stdin });
    if (k < cmds.length - 1 && !isLookOnly(ops)) {
      return fail(ctx, 'unsupported', `"${c.argv.join(' ')}" changes state and sends its output into a pipe; netpath models only look-only pipelines and "echo V | tee /proc/sys/..."`);
    }
    stdin = echoOutput(stripSudo(c.argv, ctx));
    out.push(...ops);
  }
  return out;
}

/** What `echo`/`printf` prints (without the trailing newline), or undefined for other commands. */
function echoOutput(argv: readonly string[]): string | undefined {
  const name = argv[0];
  if (name === 'echo') {
    let k = 1;
    while (k < argv.length && /^-[neE]+$/.test(argv[k]!)) k++;
    return argv.slice(k).join(' ');
  }
  if (name === 'printf' && argv.length === 2 && !argv[1]!.includes('%')) return argv[1]!.replace(/\\n$/, '');
  return undefined;
}

/** `sudo [-E] [-H] [-n] [-u root] CMD` -> CMD. */
function stripSudo(argv: readonly string[], ctx: Ctx): readonly string[] {
  let a = argv;
  while (a[0] === 'sudo') {
    let k = 1;
    for (;;) {
      const o = a[k];
      if (o === undefined) return fail(ctx, 'syntax', 'usage: sudo COMMAND');
      if (o === '-E' || o === '-H' || o === '-n' || o === '--preserve-env' || o === '--non-interactive') k++;
      else if (o === '-u' || o === '--user') {
        const u = a[k + 1];
        if (u !== 'root' && u !== '#0' && u !== '0') return fail(ctx, 'unsupported', `"sudo -u ${u ?? ''}": netpath runs every command as root`);
        k += 2;
      } else if (o === '--') {
        k++;
        break;
      } else if (o.startsWith('-')) return fail(ctx, 'unsupported', `"sudo ${o}" is not supported; write "sudo COMMAND"`);
      else break;
    }
    a = a.slice(k);
  }
  return a;
}

interface Stdin {
  readonly text?: string;
  readonly unknown?: true;
}

const PROC_SYS = '/proc/sys/';

/** `/proc/sys/net/ipv4/conf/eth0.100/rp_filter` -> `net.ipv4.conf.eth0/100.rp_filter` (sysctl's spelling). */
export function procPathToKey(p: string): string {
  return p
    .slice(PROC_SYS.length)
    .split('/')
    .filter((c) => c !== '')
    .map((c) => c.replace(/\./g, '/'))
    .join('.');
}

/** Runs one simple command; `stdin` is set when the command reads a pipe. */
function runCommand(cmd: SimpleCommand, ctx: Ctx, env: Env, stdin: Stdin | undefined): Op[] {
  // Redirections are opened by the shell, in the shell's namespace (the host's root), before the
  // command runs: `ip netns exec ns1 echo 1 > /proc/sys/...` writes the ROOT namespace's sysctl.
  let procWrite: { key: string; ns: string | null } | undefined;
  let input: string | undefined;
  let fileOut: string | undefined;
  let append = false;
  for (const r of cmd.redirects) {
    if (r.op === '>&') {
      if (!/^\d+$/.test(r.target) && r.target !== '-') return fail(ctx, 'unsupported', `redirection ">&${r.target}" is not supported`);
      continue;
    }
    if (r.target === '/dev/null') continue;
    if (r.op === '<') {
      if (r.fd !== 0) return fail(ctx, 'unsupported', `redirection "${r.fd}<" is not supported`);
      input = r.target;
      continue;
    }
    if (r.target.startsWith(PROC_SYS) && r.fd === 1) {
      if (procWrite !== undefined) return fail(ctx, 'unsupported', 'two redirections into /proc/sys on one command');
      procWrite = { key: procPathToKey(r.target), ns: ctx.ns };
      continue;
    }
    if (r.target.startsWith('/proc/')) return fail(ctx, 'unsupported', `writing ${r.target} is not modelled by netpath`);
    fileOut = r.target;
    append = r.op === '>>';
  }
  return dispatch(stripSudo(cmd.argv, ctx), ctx, env, { procWrite, input, fileOut, append, stdin });
}

function writeHostFile(env: Env, file: string, text: string, append: boolean): void {
  const p = path.normalize(file);
  env.files.set(p, append ? (env.files.get(p) ?? '') + text : text);
}

interface Io {
  readonly procWrite: { key: string; ns: string | null } | undefined;
  readonly input: string | undefined;
  readonly fileOut: string | undefined;
  /** `>>` rather than `>` */
  readonly append: boolean;
  readonly stdin: Stdin | undefined;
}

function dispatch(argv: readonly string[], ctx: Ctx, env: Env, io: Io): Op[] {
  const ops = dispatchInner(argv, ctx, env, io);
  if (io.fileOut !== undefined && isLookOnly(ops)) {
    // `echo "100 isp2" >> /etc/iproute2/rt_tables`: later commands of the runbook read it
    const name = argv[0] === undefined ? '' : path.basename(argv[0]);
    const text = name === 'echo' || name === 'printf' ? echoOutput([name, ...argv.slice(1)]) : undefined;
    if (text !== undefined && path.isAbsolute(io.fileOut)) writeHostFile(env, io.fileOut, text + '\n', io.append);
  }
  if (io.fileOut !== undefined && !isLookOnly(ops)) {
    return fail(ctx, 'unsupported', `redirecting the output of a state-changing command into a file ("${io.fileOut}") is not supported`);
  }
  return ops;
}

function dispatchInner(argv: readonly string[], ctx: Ctx, env: Env, io: Io): Op[] {
  const name0 = argv[0];
  if (name0 === undefined) return fail(ctx, 'syntax', 'empty command');
  const name = name0.includes('/') ? path.basename(name0) : name0;
  const nested = (inner: readonly string[], c: Ctx): Op[] => dispatch(stripSudo(inner, c), c, env, io);

  if (io.procWrite !== undefined && name !== 'echo' && name !== 'printf' && !(name === 'ip' && argv.includes('exec'))) {
    return fail(ctx, 'unsupported', `only "echo VALUE > /proc/sys/..." is modelled, not "${name} ... > /proc/sys/..."`);
  }
  if (io.input !== undefined && !name.startsWith('iptables') && !(name === 'ip' && argv.includes('exec'))) {
    if (LOOK_ONLY.has(name)) return [noopOp(ctx, LOOK)];
    return fail(ctx, 'unsupported', `input redirection ("< ${io.input}") is only modelled for iptables-restore`);
  }

  switch (name) {
    case 'ip':
      return parseIp(argv, ctx, nested, (file, globals, c) => ipBatch(file, globals, c, env));
    case 'sh':
    case 'bash':
    case 'dash':
      return shellC(argv, ctx, env);
    case 'route':
      return parseRoute(argv, ctx);
    case 'ifconfig':
      return parseIfconfig(argv, ctx);
    case 'sysctl':
      return parseSysctl(argv, ctx, env);
    case 'echo':
    case 'printf': {
      if (io.procWrite === undefined) return [noopOp(ctx, LOOK)];
      const v = echoOutput([name, ...argv.slice(1)]);
      if (v === undefined) return fail(ctx, 'unsupported', `"printf" with a format is not supported; write "echo VALUE > ..."`);
      return [sysctlOp(ctx, io.procWrite.ns, io.procWrite.key, v)];
    }
    case 'tee':
      return parseTee(argv, ctx, env, io);
    case 'iptables':
    case 'iptables-legacy':
    case 'iptables-nft': {
      const args = argv.slice(1);
      const cmd = (args.every((a) => SAVE_WORD.test(a)) ? canonicalAppend(args.join(' '), ctx.origin, env.intern) : undefined) ?? parseIptablesArgs(args, ctx.origin);
      if (cmd.cmd === 'show') return [noopOp(ctx, LOOK)];
      return [{ op: 'iptables', host: ctx.host, ns: ctx.ns, origin: ctx.origin, ...cmd }];
    }
    case 'iptables-restore':
    case 'iptables-legacy-restore':
    case 'iptables-nft-restore':
      return parseRestore(argv, ctx, env, io);
    case 'iptables-save':
    case 'iptables-legacy-save':
    case 'iptables-nft-save':
      return [noopOp(ctx, io.fileOut !== undefined ? `look-only command (writes ${io.fileOut}, not kernel state)` : LOOK)];
    case 'ip6tables':
    case 'ip6tables-restore':
    case 'ip6tables-save':
    case 'ip6tables-legacy':
    case 'ip6tables-nft':
      return fail(ctx, 'unsupported', `IPv6 is not modelled by netpath ("${name}")`);
    case 'nft': {
      const r = parseNftLine(argv, ctx.origin, env.src.baseDir, (f) => env.io.readFile(f));
      if (r.kind === 'look') return [noopOp(ctx, r.why)];
      return [{ op: 'nft', host: ctx.host, ns: ctx.ns, origin: ctx.origin, cmds: r.cmds, text: r.text, ...(r.file !== undefined ? { file: r.file } : {}) }];
    }
    case 'docker':
      return parseDocker(argv, ctx, dockerDeps(env, nested));
    case 'dockerd':
      return parseDockerd(argv, ctx, dockerDeps(env, nested));
    case 'ln':
      return parseLn(argv, ctx);
    case 'mkdir':
      return [noopOp(ctx, 'creates a directory; no effect on network state')];
    case 'set':
      if (argv.slice(1).every((a) => /^[-+][euxvo]+$/.test(a) || a === 'pipefail')) return [noopOp(ctx, 'shell option')];
      return fail(ctx, 'unsupported', `"set ${argv.slice(1).join(' ')}" is not supported`);
    case 'arp':
      if (argv.slice(1).every((a) => /^-[anve]+$/.test(a))) return [noopOp(ctx, LOOK)];
      return fail(ctx, 'unsupported', '"arp" changes are not modelled; use "ip neigh add|replace|del"');
    case 'conntrack':
      if (argv[1] === '-L' || argv[1] === '--dump') return [noopOp(ctx, LOOK)];
      return fail(ctx, 'unsupported', '"conntrack" changes are not modelled by netpath');
    case 'bridge':
      return parseBridge(argv, ctx);
    case 'brctl':
      if (argv[1] === 'show' || argv[1] === 'showmacs') return [noopOp(ctx, LOOK)];
      return fail(ctx, 'unsupported', '"brctl" is not modelled; use "ip link add BR type bridge" and "ip link set DEV master BR"');
    case 'modprobe':
      return fail(ctx, 'unsupported', `loading kernel modules ("modprobe ${argv.slice(1).join(' ')}") is not modelled; describe the host's modules in the model file`);
    default:
      if (LOOK_ONLY.has(name)) return [noopOp(ctx, LOOK)];
      return fail(ctx, 'unsupported', `command "${name}" is not modelled by netpath`);
  }
}

/** A word iptables-save could have printed unquoted: letters, digits and `-./:_=,+%@`. */
const SAVE_WORD = /^[\w.:=,+%@/-]+$/;

/**
 * `[-t TABLE] -A CHAIN RULE`, iptables' words joined by single spaces, with RULE in
 * iptables-save's own spelling: read the way iptables-restore reads such a line
 * (src/netfilter/fastparse.ts, which gives the same command as the full parser); undefined for
 * anything else, which the full parser then reads from the words. The text must be words that
 * need no quoting (a word with a blank or a quote would read differently).
 */
function canonicalAppend(args: string, origin: Origin, intern: Interner): IptablesCommand | undefined {
  let at = 0;
  let table: NfTableName = 'filter';
  if (args.startsWith('-t ')) {
    const end = args.indexOf(' ', 3);
    const t = end < 0 ? '' : args.slice(3, end);
    if (t !== 'filter' && t !== 'nat' && t !== 'mangle' && t !== 'raw') return undefined;
    table = t;
    at = end + 1;
  }
  if (!args.startsWith('-A ', at)) return undefined;
  try {
    const hit = parseCanonicalRule(table, at === 0 ? args : args.slice(at), origin, intern);
    return hit && { table, cmd: 'A', chain: hit.chain, rule: hit.rule };
  } catch {
    return undefined; // the reader should not throw; the full parser reports any error
  }
}

/** `sh -c 'CMDS'` (also bash, dash; `sudo sh -c`): the script's commands, in the shell's namespace. */
function shellC(argv: readonly string[], ctx: Ctx, env: Env): Op[] {
  let k = 1;
  while (k < argv.length && /^-[eux]+$/.test(argv[k]!) && argv[k] !== '-c') k++;
  if (argv[k] !== '-c') return fail(ctx, 'unsupported', `"${argv[0]}" without -c runs a script or an interactive shell; put its commands in the runbook`);
  const script = argv[k + 1];
  if (script === undefined) return fail(ctx, 'syntax', `${argv[0]}: -c: option requires an argument`);
  if (argv.length > k + 2) return fail(ctx, 'unsupported', `"${argv[0]} -c SCRIPT ARGS": positional parameters ($0, $1...) are not supported`);
  return runPipelines(parseShell(script, ctx.origin.file, ctx.origin.line, ctx.origin.text), ctx, env);
}

/** `ip [OPTIONS] -batch FILE`: each line of FILE is an `ip` command with OPTIONS (ip/ip.c batch()). */
function ipBatch(file: string, globals: readonly string[], ctx: Ctx, env: Env): Op[] {
  const text = file === '-' ? fail(ctx, 'unsupported', '"ip -batch -" reads the commands from standard input; give a file') : readHostFile(ctx, env, 'ip -batch', file);
  const ops: Op[] = [];
  for (const raw of text.split('\n')) {
    const l = raw.replace(/#.*/, '').trim();
    if (l === '') continue;
    const words = parseShell(l, ctx.origin.file, ctx.origin.line, ctx.origin.text).flatMap((p) => p.commands.flatMap((c) => c.argv));
    ops.push(...parseIp(['ip', ...globals, ...words], ctx, (a, c) => dispatch(stripSudo(a, c), c, env, NO_IO), (f, g, c) => ipBatch(f, g, c, env)));
  }
  return ops.length > 0 ? ops : [noopOp(ctx, 'an empty ip -batch file')];
}

const NO_IO: Io = { procWrite: undefined, input: undefined, fileOut: undefined, append: false, stdin: undefined };

/** `sysctl -p [FILE]` / `--load[=FILE]` / `--system`: KEY = VALUE lines of files (procps-ng). */
function sysctlFiles(files: readonly string[], ctx: Ctx, env: Env): Op[] {
  const ops: Op[] = [];
  for (const f of files) {
    const text = readHostFile(ctx, env, 'sysctl -p', f);
    for (const raw of text.split('\n')) {
      let l = raw.trim();
      if (l === '' || l.startsWith('#') || l.startsWith(';')) continue;
      const ignoreErr = l.startsWith('-'); // "-key = value": errors ignored by sysctl; netpath still checks the key
      if (ignoreErr) l = l.slice(1);
      const eq = l.indexOf('=');
      if (eq < 0) return fail(ctx, 'syntax', `sysctl: ${f}: "${l}" is not KEY = VALUE (procps-ng: line ${raw} invalid)`);
      const rawKey = l.slice(0, eq).trim();
      const key = rawKey.includes('/') ? procPathToKey(PROC_SYS + rawKey.replace(/^\/?(proc\/sys\/)?/, '')) : rawKey;
      ops.push(sysctlOp(ctx, ctx.ns, key, l.slice(eq + 1).trim()));
    }
  }
  return ops.length > 0 ? ops : [noopOp(ctx, 'sysctl files without settings')];
}

/** The files `sysctl --system` reads, by file name across its directories (first directory wins), then /etc/sysctl.conf. */
function systemFiles(env: Env): string[] {
  const byName = new Map<string, string>();
  for (const dir of SYSCTL_DIRS)
    for (const p of env.files.keys())
      if (p.startsWith(dir) && p.endsWith('.conf') && !p.slice(dir.length).includes('/') && !byName.has(path.basename(p))) byName.set(path.basename(p), p);
  const out = [...byName].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, p]) => p);
  if (env.files.has('/etc/sysctl.conf')) out.push('/etc/sysctl.conf');
  return out;
}

function sysctlOp(ctx: Ctx, ns: string | null, key: string, value: string): SysctlOp {
  return { op: 'sysctl', host: ctx.host, ns, origin: ctx.origin, key, value: value.trim() };
}

/** procps-ng sysctl: `sysctl [-w] [-q] [-e] KEY=VALUE...`, `sysctl KEY` (read). */
function parseSysctl(argv: readonly string[], ctx: Ctx, env: Env): Op[] {
  let write = false;
  const ops: Op[] = [];
  let reads = 0;
  const args = argv.slice(1);
  const load = args.findIndex((a) => a.startsWith('-p') || a === '--load' || a.startsWith('--load=') || a === '--system');
  if (load >= 0) {
    const a = args[load]!;
    if (a === '--system') return sysctlFiles(systemFiles(env), ctx, env);
    // -p FILE..., -pFILE, --load=FILE; no file: /etc/sysctl.conf
    const files = a.startsWith('-p') && a.length > 2 ? [a.slice(2)] : a.startsWith('--load=') ? [a.slice(7)] : [];
    for (const x of args.slice(load + 1)) if (!x.startsWith('-')) files.push(x);
    return sysctlFiles(files.length > 0 ? files : ['/etc/sysctl.conf'], ctx, env);
  }
  for (const a of args) {
    if (a.startsWith('-') && !a.includes('=')) {
      if (a === '-w' || a === '--write') write = true;
      else if (['-q', '--quiet', '-e', '--ignore', '-n', '--values', '-N', '--names', '-b', '--binary'].includes(a)) continue;
      else if (['-a', '-A', '-X', '--all'].includes(a)) reads++;
      else if (/^-[wqenNb]+$/.test(a)) {
        if (a.includes('w')) write = true;
      } else return fail(ctx, 'syntax', `sysctl: invalid option -- '${a.replace(/^-+/, '')}'`);
      continue;
    }
    const eq = a.indexOf('=');
    if (eq < 0) {
      if (write) return fail(ctx, 'syntax', `sysctl: "${a}" must be of the form name=value (procps-ng answers: command line(0): invalid syntax)`);
      reads++;
      continue;
    }
    const rawKey = a.slice(0, eq).trim();
    const value = a.slice(eq + 1).trim();
    if (rawKey === '') return fail(ctx, 'syntax', `sysctl: malformed setting "${a}"`);
    const key = rawKey.includes('/') ? procPathToKey(PROC_SYS + rawKey.replace(/^\/?(proc\/sys\/)?/, '')) : rawKey;
    ops.push(sysctlOp(ctx, ctx.ns, key, value));
  }
  if (ops.length === 0) return [noopOp(ctx, reads > 0 ? LOOK : 'sysctl without arguments prints its usage')];
  return ops;
}

/** `echo V | tee [-a] /proc/sys/...`: the value comes from the pipe; tee runs in its own namespace. */
function parseTee(argv: readonly string[], ctx: Ctx, env: Env, io: Io): Op[] {
  const files = argv.slice(1).filter((a) => !/^-[aip]+$/.test(a) && a !== '--append');
  const proc = files.filter((f) => f.startsWith(PROC_SYS));
  if (proc.length === 0) {
    const append = argv.slice(1).some((a) => /^-[aip]*a[aip]*$/.test(a) || a === '--append');
    if (io.stdin?.text !== undefined) for (const f of files) if (path.isAbsolute(f)) writeHostFile(env, f, io.stdin.text + '\n', append);
    return [noopOp(ctx, 'writes a file; no effect on network state')];
  }
  if (io.stdin?.text === undefined) {
    return fail(ctx, 'unsupported', `"tee ${proc[0]}" needs its value from "echo VALUE |" on the same line`);
  }
  const v = io.stdin.text;
  return proc.map((f) => sysctlOp(ctx, ctx.ns, procPathToKey(f), v));
}

function parseRestore(argv: readonly string[], ctx: Ctx, env: Env, io: Io): Op[] {
  let noflush = false;
  let fileArg: string | undefined;
  for (let k = 1; k < argv.length; k++) {
    const a = argv[k]!;
    if (a === '-n' || a === '--noflush') noflush = true;
    else if (a === '-v' || a === '--verbose' || a === '-w' || a === '--wait' || a === '-c' || a === '--counters') continue;
    else if (a === '-t' || a === '--test') return [noopOp(ctx, 'iptables-restore --test only checks the file')];
    else if (a.startsWith('-')) return fail(ctx, 'unsupported', `iptables-restore option "${a}" is not modelled`);
    else if (fileArg !== undefined) return fail(ctx, 'syntax', `iptables-restore: unexpected argument "${a}"`);
    else fileArg = a;
  }
  const file = fileArg ?? io.input;
  if (file === undefined) {
    return fail(ctx, 'unsupported', 'iptables-restore reads the rules from its input; write "iptables-restore < FILE" with FILE next to the model');
  }
  if (fileArg !== undefined && io.input !== undefined) return fail(ctx, 'syntax', 'iptables-restore: both a file argument and "<" input');
  if (path.isAbsolute(file)) {
    return fail(
      ctx,
      'unsupported',
      `iptables-restore from the absolute path ${file} would read this machine's file, not the host's; put the file next to the model and use a relative path`,
    );
  }
  const full = path.join(env.src.baseDir, file);
  let text: string;
  try {
    text = env.io.readFile(full);
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    throw ConfigError.at(ctx.origin, 'file', `iptables-restore: cannot read ${full}: ${why}`);
  }
  const tables = parseIptablesRestore(text, full);
  return [{ op: 'iptables-restore', host: ctx.host, ns: ctx.ns, origin: ctx.origin, file: full, noflush, tables }];
}

// ---------------------------------------------------------------------------------------------
// docker (src/plan/docker.ts)

function dockerDeps(env: Env, nested: (a: readonly string[], c: Ctx) => Op[]): DockerDeps {
  return {
    state: env.docker,
    run: nested,
    sysctlBefore: (key) => {
      const keys = key === 'net.ipv4.ip_forward' ? [key, 'net.ipv4.conf.all.forwarding'] : [key];
      let v: string | undefined;
      for (const o of env.ops) if (o.op === 'sysctl' && o.ns === null && keys.includes(o.key)) v = o.value;
      return v;
    },
    noop: noopOp,
    exec: (args, c) => dockerExec(args, c, nested),
  };
}

/** `docker exec [-it] NAME CMD`: look-only commands are fine; changes lack CAP_NET_ADMIN in a default container. */
function dockerExec(args: readonly string[], ctx: Ctx, nested: (a: readonly string[], c: Ctx) => Op[]): Op[] {
  let k = 0;
  while (k < args.length && args[k]!.startsWith('-')) {
    const o = args[k]!;
    k++;
    if (['-e', '--env', '-u', '--user', '-w', '--workdir', '--env-file'].includes(o)) k++;
    else if (!/^-[dit]+$/.test(o) && !['--interactive', '--tty', '--detach', '--privileged'].includes(o) && !o.includes('=')) {
      return fail(ctx, 'unsupported', `docker exec option "${o}" is not supported`);
    }
  }
  const container = args[k];
  const cmd = args.slice(k + 1);
  if (container === undefined || cmd.length === 0) return fail(ctx, 'syntax', '"docker exec" requires at least 2 arguments');
  const inner = nested(cmd, { ...ctx, ns: container });
  if (!isLookOnly(inner)) {
    return fail(
      ctx,
      'unsupported',
      `"docker exec ${container} ${cmd.join(' ')}" changes the container's network; a default container lacks CAP_NET_ADMIN: configure it from the host with "ip netns exec ${container} ..."`,
    );
  }
  return inner.map((o) => ({ ...o, ns: ctx.ns }));
}

/** `ln -s /proc/PID/ns/net /var/run/netns/NAME` (also /run/netns, -sf). */
function parseLn(argv: readonly string[], ctx: Ctx): Op[] {
  let symbolic = false;
  let force = false;
  const pos: string[] = [];
  for (const a of argv.slice(1)) {
    if (/^-[sfnvT]+$/.test(a)) {
      if (a.includes('s')) symbolic = true;
      if (a.includes('f')) force = true;
    } else if (a === '--symbolic') symbolic = true;
    else if (a === '--force') force = true;
    else if (a === '--no-dereference') continue;
    else if (a.startsWith('-')) return fail(ctx, 'unsupported', `ln option "${a}" is not supported`);
    else pos.push(a);
  }
  const [target, link] = pos;
  const m = target === undefined ? null : /^\/proc\/(\d+)\/ns\/net$/.exec(target);
  const l = link === undefined ? null : /^(?:\/var)?\/run\/netns\/([^/]+)$/.exec(link);
  if (pos.length !== 2 || !m || !l) {
    return fail(ctx, 'unsupported', '"ln" is only modelled as "ln -s /proc/PID/ns/net /var/run/netns/NAME"');
  }
  if (!symbolic) return fail(ctx, 'kernel', `ln: failed to create hard link '${link}' => '${target}': Invalid cross-device link`);
  return [{ op: 'netns-bind', host: ctx.host, ns: ctx.ns, origin: ctx.origin, name: l[1]!, pid: m[1]!, link: link!, ...(force ? { force: true as const } : {}) }];
}

