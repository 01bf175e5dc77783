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
const TWO = new Set(['==', '!=', '<=', '>=', '<<', '>>']);
const ONE = new Set(['+', '{', '}', '(', ')', ',', ';', '@', '$', '=', '<', '>', '&', '|', '^', '!']);

/** Tokens of `text`; line numbers start at `line0`. */
export function lex(text: string, file: string, line0 = 1): Tok[] {
  const out: Tok[] = [];
  let line = line0;
  let bol = 0;
  const n = text.length;
  let i = 0;
  while (i < n) {
    const c = text[i]!;
    if (c === '\n') {
      out.push({ k: 'nl', v: '\n', line, col: i - bol + 1 });
      line++;
      i++;
      bol = i;
      continue;
    }
    if (c === ' ' || c === '\t' || c === '\r') {
      i++;
      continue;
    }
    if (c === '\\' && text[i + 1] === '\n') {
      i += 2;
      line++;
      bol = i;
      continue;
    }
    if (c === '#') {
      while (i < n && text[i] !== '\n') i++;
      continue;
    }
    const col = i - bol + 1;
    if (c === '"') {
      let j = i + 1;
      let s = '';
      while (j < n && text[j] !== '"') {
        if (text[j] === '\n') break;
        s += text[j];
        j++;
      }
      if (text[j] !== '"') throw new ConfigError('syntax', file, line, `nft: unterminated string`, text.slice(bol, text.indexOf('\n', bol) < 0 ? n : text.indexOf('\n', bol)));
      out.push({ k: 's', v: s, line, col });
      i = j + 1;
      continue;
    }
    const two = text.slice(i, i + 2);
    if (TWO.has(two)) {
      out.push({ k: 'p', v: two, line, col });
      i += 2;
      continue;
    }
    if (isWord(text.charCodeAt(i))) {
      let j = i + 1;
      while (j < n && isWord(text.charCodeAt(j))) j++;
      out.push({ k: 'w', v: text.slice(i, j), line, col });
      i = j;
      continue;
    }
    if (ONE.has(c)) {
      out.push({ k: 'p', v: c, line, col });
      i++;
      continue;
    }
    throw new ConfigError('syntax', file, line, `nft: syntax error, unexpected character "${c}"`);
  }
  return out;
}
