/**
 * The nft tokenizer (the part of nftables' scanner.l that rulesets use): words, "strings",
 * punctuation and newlines. A word is a run of letters, digits and `_ . / - : *`, so addresses
 * (`10.0.0.1/8`, `fe80::/64`), `addr:port`, ranges (`1000-2000`) and chain names with slashes
 * (kube-proxy's `service-X-ns/svc/tcp/p80`) are single words, interpreted by the parser in
 * context. `#` starts a comment up to the end of the line (outside strings).
 */
import { ConfigError } from '../model/errors.js';

/**
 * A token: a word (`w`), a "string" (`s`, without its quotes), punctuation (`p`) or a newline
 * (`nl`). `pos`: where in the lexed text it starts (what a later re-read of a `{ ... }` block
 * cuts out). Every token has the one shape (the parser's reads of it stay monomorphic).
 */
export interface Tok {
  readonly k: 'w' | 's' | 'p' | 'nl';
  readonly v: string;
  readonly line: number;
  readonly pos: number;
}
type MutTok = { -readonly [K in keyof Tok]: Tok[K] };

/**
 * Tokens of one piece at a time, in token objects and an array that are used again for the next
 * piece: a 100k-line ruleset makes a few hundred token objects, not a million. `n` tokens of
 * `toks` are this piece's; what lies beyond is left from an earlier piece.
 */
export class TokBuf {
  n = 0;
  constructor(readonly toks: MutTok[] = []) {}
  /** a buffer holding `toks` (kept, never written) */
  static of(toks: readonly Tok[]): TokBuf {
    const b = new TokBuf(toks as MutTok[]);
    b.n = toks.length;
    return b;
  }
  push(k: Tok['k'], v: string, line: number, pos: number): void {
    const t = this.toks[this.n];
    if (t === undefined) this.toks.push({ k, v, line, pos });
    else {
      t.k = k;
      t.v = v;
      t.line = line;
      t.pos = pos;
    }
    this.n++;
  }
}

/** word characters by char code (a table: the tokenizer runs over 100k-line rulesets) */
const WORD = new Uint8Array(128);
for (const c of 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./:*-') WORD[c.charCodeAt(0)] = 1;
const isWord = (code: number): boolean => code < 128 && WORD[code] === 1;
/** one- and two-character punctuation, by the first character's code (constants: no string made per token) */
const ONE: (string | undefined)[] = [];
for (const c of '+{}(),;@$=<>&|^!') ONE[c.charCodeAt(0)] = c;
const TWO: Readonly<Record<string, string>> = { '==': '==', '!=': '!=', '<=': '<=', '>=': '>=', '<<': '<<', '>>': '>>' };

const NL = 10;
const SPACE = 32;
const TAB = 9;
const CR = 13;
const HASH = 35;
const QUOTE = 34;
const BACKSLASH = 92;
const LBRACE = 123;
const RBRACE = 125;

/**
 * Words seen before, by a hash of their characters: a ruleset repeats its words (`add`, `rule`,
 * table, chain and set names) thousands of times; each is made once and shared, so names
 * compare by identity later and a 100k-line file makes few strings.
 */
class Words {
  readonly slots: (string | undefined)[];
  readonly mask: number;
  constructor(readonly bits: number) {
    this.slots = new Array<string | undefined>(1 << bits);
    this.mask = (1 << bits) - 1;
  }
  word(text: string, i: number, j: number, h: number): string {
    const slot = (h ^ (h >>> this.bits) ^ (j - i)) & this.mask;
    const had = this.slots[slot];
    if (had !== undefined && had.length === j - i && text.startsWith(had, i)) return had;
    const w = text.slice(i, j);
    this.slots[slot] = w;
    return w;
  }
}

/** Where a Lexer stands in its text. */
interface Cursor {
  i: number;
  line: number;
  bol: number;
}

/**
 * Tokens of `text` from `c`, up to the end of the text or (when `piece`) up to and with the
 * first newline outside braces: one top-level piece (a table block is one piece).
 */
function lexFrom(text: string, file: string, c: Cursor, piece: boolean, words: Words, out: TokBuf): void {
  out.n = 0;
  let line = c.line;
  let bol = c.bol;
  let i = c.i;
  let depth = 0;
  const n = text.length;
  while (i < n) {
    const code = text.charCodeAt(i);
    if (code === NL) {
      out.push('nl', '\n', line, i);
      line++;
      i++;
      bol = i;
      if (piece && depth <= 0) break;
      continue;
    }
    if (code === SPACE || code === TAB || code === CR) {
      i++;
      continue;
    }
    if (code === BACKSLASH && text.charCodeAt(i + 1) === NL) {
      i += 2;
      line++;
      bol = i;
      continue;
    }
    if (code === HASH) {
      while (i < n && text.charCodeAt(i) !== NL) i++;
      continue;
    }
    if (code === QUOTE) {
      let j = i + 1;
      while (j < n && text.charCodeAt(j) !== QUOTE && text.charCodeAt(j) !== NL) j++;
      if (text.charCodeAt(j) !== QUOTE) {
        const eol = text.indexOf('\n', bol);
        throw new ConfigError('syntax', file, line, `nft: unterminated string`, text.slice(bol, eol < 0 ? n : eol));
      }
      out.push('s', text.slice(i + 1, j), line, i);
      i = j + 1;
      continue;
    }
    if (isWord(code)) {
      let h = code;
      let j = i + 1;
      for (; j < n; j++) {
        const cj = text.charCodeAt(j);
        if (!isWord(cj)) break;
        h = (Math.imul(h, 31) + cj) | 0;
      }
      out.push('w', words.word(text, i, j, h), line, i);
      i = j;
      continue;
    }
    const one = code < 128 ? ONE[code] : undefined;
    if (one !== undefined) {
      const next = text.charCodeAt(i + 1);
      const two = next === 61 || next === 60 || next === 62 ? TWO[one + text[i + 1]!] : undefined;
      if (two !== undefined) {
        out.push('p', two, line, i);
        i += 2;
        continue;
      }
      if (code === LBRACE) depth++;
      else if (code === RBRACE) depth--;
      out.push('p', one, line, i);
      i++;
      continue;
    }
    throw new ConfigError('syntax', file, line, `nft: syntax error, unexpected character "${text[i]}"`);
  }
  c.i = i;
  c.line = line;
  c.bol = bol;
}

/** Tokens of `text` into `out` (by default a buffer of their own); line numbers start at `line0`. */
export function lex(text: string, file: string, line0 = 1, out: TokBuf = new TokBuf()): TokBuf {
  lexFrom(text, file, { i: 0, line: line0, bol: 0 }, false, new Words(6), out);
  return out;
}

/**
 * The tokens of `text`, one top-level piece at a time (each a run of whole lines ending at a
 * newline outside braces, strings and comments; a table block is one piece): the parser takes
 * one piece at a time, so a 100k-line ruleset never holds all its tokens at once. Every piece
 * comes in the same buffer: its tokens are good until the next piece is asked for.
 */
export function* lexPieces(text: string, file: string): Generator<TokBuf> {
  const c: Cursor = { i: 0, line: 1, bol: 0 };
  const words = new Words(14);
  const out = new TokBuf();
  while (c.i < text.length) {
    lexFrom(text, file, c, true, words, out);
    yield out;
  }
}
