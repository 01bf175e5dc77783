/**
 * The shell layer of a runbook: physical lines -> logical lines -> commands with argv.
 *
 * A runbook is what an admin is about to paste into a root shell, so this module implements the
 * small, well-defined part of POSIX sh that such text uses, and refuses the rest with a
 * ConfigError instead of guessing:
 *
 *  - Prompts. A line may start with a prompt copied from a terminal: `$ `, `user@host:~$ `,
 *    `root@host:~# `, `[root@host ~]# `. The prompt is removed. A bare `# ` at the start of a line
 *    is ALWAYS a comment (that is what the shell makes of it), never a root prompt.
 *    When at least one line of a runbook carries a prompt, the runbook is "prompted": a line
 *    without a prompt that is not blank, not a comment and not a continuation is command output
 *    pasted by mistake, and is an error (never silently skipped).
 *  - Backslash-newline joins physical lines; the logical line keeps the first line's number.
 *  - Words: 'single quotes', "double quotes" (with \\ \" \$ \` escapes), backslash escapes.
 *    An unterminated quote is a 'syntax' error.
 *  - `#` at the start of a word starts a comment.
 *  - Operators: `|` (pipeline), `;`, `&&`, `||`, `&` (command lists). Redirections `>`, `>>`, `<`,
 *    optionally with a file-descriptor number (`2>`), and `>&N` duplications.
 *  - Refused ('unsupported'): `$` expansions and command substitution, backquotes, here-documents,
 *    subshells, brace groups (`{` or `}` where a command starts) and brace expansion (`{a,b}`,
 *    `{1..3}`). `{` and `}` elsewhere are ordinary words. Glob characters are kept literally
 *    (nothing is expanded).
 */
import { ConfigError } from '../model/errors.js';

/** One redirection of a simple command. `fd` is the file descriptor it applies to. */
export interface Redirect {
  readonly op: '>' | '>>' | '<' | '>&';
  readonly fd: number;
  /** file name, or the fd number for `>&` */
  readonly target: string;
}

/** A simple command: words and redirections. */
export interface SimpleCommand {
  readonly argv: readonly string[];
  readonly redirects: readonly Redirect[];
}

/** Commands joined by `|`. */
export interface Pipeline {
  readonly commands: readonly SimpleCommand[];
  /** the list operator that FOLLOWS this pipeline (';' for the last one) */
  readonly next: ';' | '&&' | '||' | '&';
}

/** One logical line of a runbook (continuations joined). */
export interface LogicalLine {
  readonly file: string;
  /** file line number of the first physical line */
  readonly line: number;
  /** the line as written, without the prompt; continuation lines joined with a space */
  readonly text: string;
  readonly pipelines: readonly Pipeline[];
  /**
   * The line's code when it is one command of plain words (letters, digits, `-./:_=,+%@^~[]`)
   * and blanks, nothing to unquote or expand: its words are the code split at the blanks.
   */
  readonly plain?: string;
}

/** Prompts copied from a terminal. `# ` alone is deliberately absent: it is a comment. */
const PROMPTS: readonly RegExp[] = [
  /^\$ /, // $ cmd
  /^\$$/, // a bare "$" line (empty prompt)
  /^[A-Za-z_][\w.-]*@[\w.-]+:[^\s#$]*[#$] /, // root@web2:~# cmd, user@host:/tmp$ cmd
  /^\[[A-Za-z_][\w.-]*@[\w.-]+(?: [^\]]*)?\][#$] /, // [root@web2 ~]# cmd
];

function stripPrompt(line: string): string | undefined {
  // every prompt starts with "$" or holds a "@": most lines are ruled out without a regex
  if (line.charCodeAt(0) !== 0x24 && line.indexOf('@') < 0) return undefined;
  for (const re of PROMPTS) {
    const m = re.exec(line);
    if (m) return line.slice(m[0].length);
  }
  return undefined;
}

/** Whether a physical line ends in an unescaped backslash outside single quotes (a continuation). */
function continues(line: string): boolean {
  let n = 0;
  for (let i = line.length - 1; i >= 0 && line[i] === '\\'; i--) n++;
  if (n % 2 === 0) return false;
  // a backslash inside single quotes does not continue; count quote state up to the end
  let inSingle = false;
  let inDouble = false;
  for (let i = 0; i < line.length - 1; i++) {
    const c = line[i];
    if (inSingle) {
      if (c === "'") inSingle = false;
    } else if (c === '\\') {
      i++;
    } else if (c === "'" && !inDouble) {
      inSingle = true;
    } else if (c === '"') {
      inDouble = !inDouble;
    } else if (c === '#' && !inDouble && (i === 0 || /\s/.test(line[i - 1]!))) {
      return false; // the backslash is inside a comment
    }
  }
  return !inSingle;
}

/**
 * Splits runbook text into logical lines and parses each into pipelines.
 * `firstLine` is the file line number of the text's first line; `lines`, when given, the file line
 * of each text line (a YAML scalar whose lines are not the file's lines, src/plan/yamllines.ts).
 */
export function splitRunbook(text: string, file: string, firstLine: number, lines?: readonly number[]): LogicalLine[] {
  // split at "\n", dropping the "\r" of a CRLF line (as /\r?\n/ would, without the regex)
  const physical = text.split('\n');
  for (let i = 0; i < physical.length - 1; i++) {
    const l = physical[i]!;
    if (l.charCodeAt(l.length - 1) === 0x0d) physical[i] = l.slice(0, -1);
  }
  const prompted = physical.some((l) => stripPrompt(l) !== undefined);
  const out: LogicalLine[] = [];
  for (let i = 0; i < physical.length; i++) {
    const lineNo = lines?.[i] ?? firstLine + i;
    const raw = physical[i]!;
    let body: string;
    const afterPrompt = stripPrompt(raw);
    if (afterPrompt !== undefined) body = afterPrompt;
    else {
      const t = raw.trim();
      if (t === '' || t.startsWith('#')) continue;
      if (prompted) {
        throw new ConfigError(
          'syntax',
          file,
          lineNo,
          'line has no "$ " prompt in a runbook whose commands carry one; command output pasted by mistake? ' +
            'Remove it, or comment it out with "#"',
          raw.trim(),
        );
      }
      body = raw;
    }
    let code: string;
    let shown: string;
    if (!continues(body)) {
      // one physical line (most lines): no parts to join
      code = body;
      shown = body.trim();
    } else {
      // join continuations
      const parts: string[] = [];
      let cur = body;
      while (continues(cur) && i + 1 < physical.length) {
        parts.push(cur.slice(0, -1));
        i++;
        cur = physical[i]!;
        // a continuation line may repeat the prompt's secondary form "> "
        if (cur.startsWith('> ')) cur = cur.slice(2);
      }
      if (continues(cur)) cur = cur.slice(0, -1); // backslash at end of text: nothing follows
      parts.push(cur);
      code = parts.join('\n');
      shown = parts.map((p, k) => (k === 0 ? p.trimEnd() : p.trim())).join(' ').trim();
    }
    if (shown === '' || shown.startsWith('#')) continue;
    // a plain line cannot fail to parse: it is split into words only when it is run, so the
    // words of a long runbook are not all kept at once
    if (isPlainCode(code)) {
      out.push(new PlainLine(file, lineNo, shown, code));
      continue;
    }
    const pipelines = parseShell(code, file, lineNo, shown);
    if (pipelines.length === 0) continue;
    out.push({ file, line: lineNo, text: shown, pipelines });
  }
  return out;
}

/**
 * A logical line of plain words (isPlainCode, at least one word): its one command is made each
 * time it is read (once, by the runbook parser), and not kept.
 */
class PlainLine implements LogicalLine {
  constructor(
    readonly file: string,
    readonly line: number,
    readonly text: string,
    readonly plain: string,
  ) {}
  get pipelines(): readonly Pipeline[] {
    return plainPipelines(plainWords(this.plain)!);
  }
}

type Token =
  | { readonly kind: 'word'; readonly value: string }
  | { readonly kind: 'op'; readonly value: '|' | ';' | '&&' | '||' | '&' }
  | { readonly kind: 'redir'; readonly op: Redirect['op']; readonly fd: number };

/** `2>`, `1<`: a file descriptor number before a redirection (sticky: matched at lastIndex). */
const FD_REDIR = /(\d+)([<>])/y;

/** Classes of ASCII characters for the word loop (one table look-up per character). */
const PLAIN = 1;
const BREAK = 2;
const CHAR_CLASS = new Uint8Array(128);
// ASCII letters, digits and `-./:_=,+%@^~[]{}`: nothing the word loop must look at more closely
for (let c = 0; c < 128; c++)
  if ((c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) || '-./:_=,+%@^~[]{}'.includes(String.fromCharCode(c))) CHAR_CLASS[c] = PLAIN;
// the characters that end a word outside quotes: bash's blanks and metacharacters (space, tab,
// newline, `|&;<>()`) and the carriage return of a CRLF line. Other white space (vertical tab,
// form feed, no-break space) is part of a word, as in bash (the control characters among them
// are then refused by the runbook parser)
for (const ch of ' \t\n\r|&;<>()') CHAR_CLASS[ch.charCodeAt(0)] = BREAK;

function isWordBreak(c: number): boolean {
  return c < 128 && CHAR_CLASS[c] === BREAK;
}

function isPlain(c: number): boolean {
  return c < 128 && CHAR_CLASS[c] === PLAIN;
}

/**
 * bash's brace expansion in a word's unquoted text: `{a,b}` (an unquoted comma between unquoted
 * braces) or a sequence `{1..3}`, `{a..e}`, `{1..9..2}`. `{`, `{}`, `{22}` and `{ 22, 80 }`
 * (separate words) stay as written.
 */
const BRACE_EXPANSION = /\{[^{}]*,[^{}]*\}|\{(?:-?\d+\.\.-?\d+|[A-Za-z]\.\.[A-Za-z])(?:\.\.-?\d+)?\}/;

/** Tokenises one logical line (which may contain "\n" from continuations: they are word breaks). */
export function tokenize(code: string, file: string, line: number, text: string): Token[] {
  const err = (code_: 'syntax' | 'unsupported', msg: string): ConfigError =>
    new ConfigError(code_, file, line, msg, text);
  const toks: Token[] = [];
  let i = 0;
  const n = code.length;
  while (i < n) {
    const c = code[i]!;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      i++;
      continue;
    }
    if (c === '#') break; // comment to end of line
    // operators
    if (c === '|') {
      if (code[i + 1] === '|') {
        toks.push({ kind: 'op', value: '||' });
        i += 2;
      } else {
        if (code[i + 1] === '&') throw err('unsupported', 'the "|&" operator is not supported');
        toks.push({ kind: 'op', value: '|' });
        i++;
      }
      continue;
    }
    if (c === '&') {
      if (code[i + 1] === '&') {
        toks.push({ kind: 'op', value: '&&' });
        i += 2;
      } else if (code[i + 1] === '>') {
        throw err('unsupported', 'the "&>" redirection is not supported; write "> FILE 2>&1"');
      } else {
        toks.push({ kind: 'op', value: '&' });
        i++;
      }
      continue;
    }
    if (c === ';') {
      if (code[i + 1] === ';') throw err('syntax', 'syntax error near unexpected token `;;\'');
      toks.push({ kind: 'op', value: ';' });
      i++;
      continue;
    }
    if (c === '(' || c === ')') throw err('unsupported', `subshells ("${c}") are not supported`);
    if (c === '<' || c === '>') {
      toks.push(readRedir(code, i, 1, err, (len, t) => {
        i += len;
        return t;
      }));
      continue;
    }
    // a word (may start with digits followed by a redirection: 2>/dev/null)
    FD_REDIR.lastIndex = i;
    const fdm = c >= '0' && c <= '9' ? FD_REDIR.exec(code) : null;
    if (fdm) {
      const fd = Number(fdm[1]);
      i += fdm[1]!.length;
      toks.push(readRedir(code, i, fd, err, (len, t) => {
        i += len;
        return t;
      }));
      continue;
    }
    let w = '';
    // the word's unquoted characters (quoted ones as NUL): where bash looks for `{a,b}`
    let bare = '';
    while (i < n) {
      if (isWordBreak(code.charCodeAt(i))) break;
      const ch = code[i]!;
      // a run of plain characters is taken in one slice
      let j = i;
      while (j < n && isPlain(code.charCodeAt(j))) j++;
      if (j > i) {
        w += code.slice(i, j);
        bare += code.slice(i, j);
        i = j;
        continue;
      }
      bare += '\0';
      if (ch === "'") {
        const end = code.indexOf("'", i + 1);
        if (end < 0) throw err('syntax', "unexpected EOF while looking for matching `''");
        w += code.slice(i + 1, end);
        i = end + 1;
        continue;
      }
      if (ch === '"') {
        i++;
        let closed = false;
        while (i < n) {
          const d = code[i]!;
          if (d === '"') {
            closed = true;
            i++;
            break;
          }
          if (d === '\\') {
            const e = code[i + 1];
            if (e === '"' || e === '\\' || e === '$' || e === '`') {
              w += e;
              i += 2;
              continue;
            }
            if (e === '\n') {
              i += 2;
              continue;
            }
            w += d;
            i++;
            continue;
          }
          if (d === '$' || d === '`') {
            throw err('unsupported', `shell expansion "${expansionAt(code, i)}" is not supported; write the literal value`);
          }
          w += d;
          i++;
        }
        if (!closed) throw err('syntax', 'unexpected EOF while looking for matching `"\'');
        continue;
      }
      if (ch === '\\') {
        const e = code[i + 1];
        if (e === undefined) {
          i++;
          continue;
        }
        if (e !== '\n') w += e;
        i += 2;
        continue;
      }
      if (ch === '`' || (ch === '$' && i + 1 < n && /[\w{(?#@*!$-]/.test(code[i + 1]!))) {
        throw err('unsupported', `shell expansion "${expansionAt(code, i)}" is not supported; write the literal value`);
      }
      w += ch;
      i++;
    }
    // `{` and `}` are reserved words only where a command starts (bash: a brace group, or a
    // syntax error for a lone `}`); elsewhere they are ordinary words: `nft add rule ip t c tcp
    // dport { 22, 80 } accept` gives nft the words `{`, `22,`, `80` and `}`
    const commandStart = toks.length === 0 || toks[toks.length - 1]!.kind === 'op';
    if (bare === '}' && commandStart) {
      throw err('syntax', "syntax error near unexpected token `}' (an unquoted `;` ended the command before it: quote the words, e.g. nft 'add chain ip t c { type filter hook input priority 0; }')");
    }
    if (bare === '{' && commandStart) throw err('unsupported', `brace groups ("${w}") are not supported`);
    if (BRACE_EXPANSION.test(bare)) {
      throw err('unsupported', `brace expansion "${w}" is not supported: bash makes several words of it (dash does not); write the words out, or quote it`);
    }
    toks.push({ kind: 'word', value: w });
  }
  return toks;
}

function expansionAt(code: string, i: number): string {
  const m = /^(\$\([^)]*\)?|\$\{[^}]*\}?|\$\w+|\$.|`[^`]*`?)/.exec(code.slice(i));
  return m ? m[0] : code.slice(i, i + 10);
}

function readRedir(
  code: string,
  i: number,
  fd: number,
  err: (c: 'syntax' | 'unsupported', m: string) => ConfigError,
  advance: (len: number, t: Token) => Token,
): Token {
  const rest = code.slice(i);
  if (rest.startsWith('<<')) throw err('unsupported', 'here-documents ("<<") are not supported; put the text in a file');
  if (rest.startsWith('<>')) throw err('unsupported', 'the "<>" redirection is not supported');
  if (rest.startsWith('>>')) return advance(2, { kind: 'redir', op: '>>', fd });
  if (rest.startsWith('>&')) return advance(2, { kind: 'redir', op: '>&', fd });
  if (rest.startsWith('>|')) return advance(2, { kind: 'redir', op: '>', fd });
  if (rest.startsWith('<(') || rest.startsWith('>(')) throw err('unsupported', 'process substitution is not supported');
  if (rest.startsWith('>')) return advance(1, { kind: 'redir', op: '>', fd });
  return advance(1, { kind: 'redir', op: '<', fd: fd === 1 ? 0 : fd });
}

function isBlank(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
}

/**
 * Whether a line is made only of plain characters (braces aside) and blanks, which is what most
 * runbook lines are: its words are then its runs of plain characters, with no quote, operator,
 * redirection, comment or expansion to look at (tokenize reads every other line).
 */
function isPlainCode(code: string): boolean {
  for (let i = 0; i < code.length; i++) {
    const c = code.charCodeAt(i);
    if (!isBlank(c) && !(isPlain(c) && c !== 0x7b && c !== 0x7d)) return false;
  }
  return true;
}

/** The words of a line, when isPlainCode; undefined for any other line. */
function plainWords(code: string): string[] | undefined {
  const words: string[] = [];
  let start = -1;
  for (let i = 0; i < code.length; i++) {
    const c = code.charCodeAt(i);
    if (isBlank(c)) {
      if (start >= 0) words.push(code.slice(start, i));
      start = -1;
    } else if (isPlain(c) && c !== 0x7b && c !== 0x7d) {
      if (start < 0) start = i;
    } else return undefined;
  }
  if (start >= 0) words.push(code.slice(start));
  return words;
}

const NO_REDIRECTS: readonly Redirect[] = Object.freeze([]);

function plainPipelines(words: string[]): Pipeline[] {
  return words.length === 0 ? [] : [{ commands: [{ argv: words, redirects: NO_REDIRECTS }], next: ';' }];
}

/** Parses one logical line into pipelines. */
export function parseShell(code: string, file: string, line: number, text: string): Pipeline[] {
  const words = plainWords(code);
  if (words !== undefined) return plainPipelines(words);
  const toks = tokenize(code, file, line, text);
  const err = (m: string): ConfigError => new ConfigError('syntax', file, line, m, text);
  const pipelines: Pipeline[] = [];
  let commands: SimpleCommand[] = [];
  let argv: string[] = [];
  let redirects: Redirect[] = [];
  const endCommand = (tokText: string): void => {
    if (argv.length === 0) {
      if (redirects.length > 0) throw err('a redirection without a command is not supported');
      throw err(`syntax error near unexpected token \`${tokText}'`);
    }
    commands.push({ argv, redirects });
    argv = [];
    redirects = [];
  };
  for (let k = 0; k < toks.length; k++) {
    const t = toks[k]!;
    if (t.kind === 'word') {
      argv.push(t.value);
    } else if (t.kind === 'redir') {
      const target = toks[k + 1];
      if (target === undefined || target.kind !== 'word') throw err("syntax error near unexpected token `newline'");
      k++;
      redirects.push({ op: t.op, fd: t.fd, target: target.value });
    } else if (t.value === '|') {
      endCommand('|');
    } else {
      endCommand(t.value);
      pipelines.push({ commands, next: t.value });
      commands = [];
    }
  }
  if (argv.length > 0 || redirects.length > 0) {
    endCommand('newline');
    pipelines.push({ commands, next: ';' });
  } else if (commands.length > 0) {
    throw err("syntax error: a pipeline ends with `|'");
  }
  return pipelines;
}
