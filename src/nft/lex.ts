/**
 * The nft tokenizer (the part of nftables' scanner.l that rulesets use): words, "strings",
 * punctuation and newlines. A word is a run of letters, digits and `_ . / - : *`, so addresses
 * (`10.0.0.1/8`, `fe80::/64`), `addr:port`, ranges (`1000-2000`) and chain names with slashes
 * (kube-proxy's `service-X-ns/svc/tcp/p80`) are single words, interpreted by the parser in
 * context. `#` starts a comment up to the end of the line (outside strings).
 */
import { ConfigError } from '../model/errors.js';

export type Tok =
  | { readonly k: 'w'; readonly v: string; readonly line: number; readonly col: number }
  | { readonly k: 's'; readonly v: string; readonly line: number; readonly col: number }
  | { readonly k: 'p'; readonly v: string; readonly line: number; readonly col: number }
  | { readonly k: 'nl'; readonly v: '\n'; readonly line: number; readonly col: number };

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

/** Tokens of `text`; line numbers start at `line0`. */
export function lex(text: string, file: string, line0 = 1): Tok[] {
  const out: Tok[] = [];
  let line = line0;
  let bol = 0;
  const n = text.length;
  let i = 0;
  while (i < n) {
    const code = text.charCodeAt(i);
    if (code === NL) {
      out.push({ k: 'nl', v: '\n', line, col: i - bol + 1 });
      line++;
      i++;
      bol = i;
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
    const col = i - bol + 1;
    if (code === QUOTE) {
      let j = i + 1;
      while (j < n && text.charCodeAt(j) !== QUOTE && text.charCodeAt(j) !== NL) j++;
      if (text.charCodeAt(j) !== QUOTE) {
        const eol = text.indexOf('\n', bol);
        throw new ConfigError('syntax', file, line, `nft: unterminated string`, text.slice(bol, eol < 0 ? n : eol));
      }
      out.push({ k: 's', v: text.slice(i + 1, j), line, col });
      i = j + 1;
      continue;
    }
    if (isWord(code)) {
      let j = i + 1;
      while (j < n && isWord(text.charCodeAt(j))) j++;
      out.push({ k: 'w', v: text.slice(i, j), line, col });
      i = j;
      continue;
    }
    const one = code < 128 ? ONE[code] : undefined;
    if (one !== undefined) {
      const next = text.charCodeAt(i + 1);
      const two = next === 61 || next === 60 || next === 62 ? TWO[one + text[i + 1]!] : undefined;
      if (two !== undefined) {
        out.push({ k: 'p', v: two, line, col });
        i += 2;
        continue;
      }
      out.push({ k: 'p', v: one, line, col });
      i++;
      continue;
    }
    throw new ConfigError('syntax', file, line, `nft: syntax error, unexpected character "${text[i]}"`);
  }
  return out;
}

/**
 * `text` cut into top-level pieces, each a run of whole lines ending at a newline outside braces,
 * strings and comments (a table block is one piece): the parser takes one piece at a time, so a
 * 100k-line ruleset never holds all its tokens at once.
 */
export function topLevelPieces(text: string): { readonly text: string; readonly line: number }[] {
  const out: { text: string; line: number }[] = [];
  const n = text.length;
  let depth = 0;
  let start = 0;
  let startLine = 1;
  let line = 1;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      while (i + 1 < n && text.charCodeAt(i + 1) !== QUOTE && text.charCodeAt(i + 1) !== NL) i++;
      if (text.charCodeAt(i + 1) === QUOTE) i++;
    } else if (c === HASH) {
      while (i + 1 < n && text.charCodeAt(i + 1) !== NL) i++;
    } else if (c === BACKSLASH && text.charCodeAt(i + 1) === NL) {
      i++;
      line++;
    } else if (c === 123) depth++;
    else if (c === 125) depth--;
    else if (c === NL) {
      line++;
      if (depth <= 0) {
        out.push({ text: text.slice(start, i + 1), line: startLine });
        start = i + 1;
        startLine = line;
        depth = 0;
      }
    }
  }
  if (start < n) out.push({ text: text.slice(start), line: startLine });
  return out;
}
