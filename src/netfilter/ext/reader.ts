/**
 * The fast path's cursor over one canonical iptables-save line (fastparse.ts and the extensions'
 * `fast` readers). Each reader accepts only what formatRule prints for the value it reads: no
 * leading zeros, no default value written out, single spaces. Module state, no per-line objects:
 * begin() sets the line, the readers move the position.
 */

let S = '';
let P = 0;
let N = 0;

export const SP = 32;

/**
 * What consecutive lines of one dump share: the chain of the previous line (dumps list a chain's
 * rules together), the last jump target (KUBE-MARK-MASQ), and the last comment as spelled with its
 * match (kube-proxy repeats a comment on consecutive rules). Reused values are the same string or
 * object, not new copies; matches are never mutated.
 */
export class Interner {
  /**
   * The chain names the table being read declares (`:NAME` lines), each the string its chains
   * record will be keyed by: a jump names its chain with that same string, so a walk's lookup of
   * the jump's chain finds an internalized key (no string table probe on a first walk).
   */
  names: Map<string, string> | undefined = undefined;
  lastChain = '';
  lastJump = '';
  lastJumpTarget: { readonly kind: 'jump'; readonly chain: string } | undefined = undefined;
  lastCommentText = '';
  lastComment: unknown = undefined;
}

export function begin(line: string, at: number): void {
  S = line;
  N = line.length;
  P = at;
}

export function pos(): number {
  return P;
}

export function setPos(k: number): void {
  P = k;
}

export function atEnd(): boolean {
  return P === N;
}

export function line(): string {
  return S;
}

export function lineLength(): number {
  return N;
}

/** the character code at position k, -1 past the end */
export function at(k: number): number {
  return k < N ? S.charCodeAt(k) : -1;
}

/** the character code at the position, -1 at the end */
export function peek(): number {
  return P < N ? S.charCodeAt(P) : -1;
}

export function skip(n: number): void {
  P += n;
}

/** `lit` at the position followed by a space or the end; consumes both */
export function word(lit: string): boolean {
  if (!S.startsWith(lit, P)) return false;
  const e = P + lit.length;
  if (e === N) {
    P = e;
    return true;
  }
  if (S.charCodeAt(e) !== SP) return false;
  P = e + 1;
  return true;
}

/** `lit` at the position followed by a space or the end, not consumed */
export function lookingAt(lit: string): boolean {
  return S.startsWith(lit, P) && (P + lit.length === N || S.charCodeAt(P + lit.length) === SP);
}

/** after a value: one space (more follows) or the end */
export function sep(): boolean {
  if (P === N) return true;
  if (S.charCodeAt(P) !== SP || P + 1 === N) return false;
  P++;
  return true;
}

/** `! ` at the position: consumed, true */
export function bang(): boolean {
  if (S.charCodeAt(P) === 33 && at(P + 1) === SP) {
    P += 2;
    return true;
  }
  return false;
}

/** `[! ]LIT` at the position: 0, or 1 when inverted, both consumed; -1 (nothing consumed) when not there */
export function opt(lit: string): number {
  const save = P;
  const inv = bang();
  if (word(lit)) return inv ? 1 : 0;
  P = save;
  return -1;
}

/** decimal without leading zeros, up to `max`; -1 if not exactly that */
export function decimal(max: number): number {
  const start = P;
  let v = 0;
  while (P < N) {
    const c = S.charCodeAt(P);
    if (c < 48 || c > 57) break;
    v = v * 10 + (c - 48);
    if (v > max) return -1;
    P++;
  }
  const len = P - start;
  if (len === 0 || (len > 1 && S.charCodeAt(start) === 48)) return -1;
  return v;
}

/** `0x` + lowercase hex without leading zeros, as hex() prints a u32; -1 if not */
export function hexU32(): number {
  if (S.charCodeAt(P) !== 48 || at(P + 1) !== 120) return -1;
  P += 2;
  const start = P;
  let v = 0;
  while (P < N) {
    const c = S.charCodeAt(P);
    let d: number;
    if (c >= 48 && c <= 57) d = c - 48;
    else if (c >= 97 && c <= 102) d = c - 87;
    else break;
    v = v * 16 + d;
    P++;
  }
  const len = P - start;
  if (len === 0 || len > 8 || (len > 1 && S.charCodeAt(start) === 48)) return -1;
  return v;
}

/** dotted quad as formatIpv4 prints it; -1 if not */
export function ipv4(): number {
  let v = 0;
  for (let k = 0; k < 4; k++) {
    if (k > 0) {
      if (at(P) !== 46) return -1;
      P++;
    }
    const o = decimal(255);
    if (o < 0) return -1;
    v = v * 256 + o;
  }
  return v;
}

function maskOf(len: number): number {
  return len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
}

/** `A.B.C.D/L` with host bits clear and L >= 1 (what -s/-d print) */
export function prefix(): { addr: number; len: number } | undefined {
  const addr = ipv4();
  if (addr < 0 || at(P) !== 47) return undefined;
  P++;
  const len = decimal(32);
  if (len < 1 || (addr & maskOf(len)) >>> 0 !== addr) return undefined;
  return { addr, len };
}

/** characters of names printed raw (interfaces, chains): letters, digits, `_ - . + @ :` */
function nameChar(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 95 || c === 45 || c === 46 || c === 43 || c === 64 || c === 58;
}

/** end of a raw name at the position (not starting with `-`), or -1 */
export function nameEnd(): number {
  let k = P;
  if (k >= N || S.charCodeAt(k) === 45) return -1;
  while (k < N && nameChar(S.charCodeAt(k))) k++;
  if (k === P || (k < N && S.charCodeAt(k) !== SP)) return -1;
  return k;
}

/** the raw name at the position (consumed, not the space after it), or undefined */
export function name(): string | undefined {
  const e = nameEnd();
  if (e < 0) return undefined;
  const s = S.slice(P, e);
  P = e;
  return s;
}

/** an interface name (at most 15 characters) */
export function ifName(): string | undefined {
  const e = nameEnd();
  if (e < 0 || e - P > 15) return undefined;
  const s = S.slice(P, e);
  P = e;
  return s;
}

/** the text up to the next space or the end (consumed) */
export function token(): string {
  const start = P;
  while (P < N && S.charCodeAt(P) !== SP) P++;
  return S.slice(start, P);
}

/** the line from `from` to the position */
export function sliceFrom(from: number): string {
  return S.slice(from, P);
}

/** a port or `a<sep>b` (a < b) as the extensions print ranges */
export function portRange(sepChar: number): { min: number; max: number } | undefined {
  const min = decimal(65535);
  if (min < 0) return undefined;
  if (at(P) !== sepChar) return { min, max: min };
  P++;
  const max = decimal(65535);
  if (max <= min) return undefined;
  return { min, max };
}

/** a comma list of `all`'s names, each once, in `all`'s order (as `ordered` prints it), then sep() */
export function nameList<T extends string>(all: readonly T[]): T[] | undefined {
  const out: T[] = [];
  let last = -1;
  for (;;) {
    let hit = -1;
    for (let k = last + 1; k < all.length; k++) {
      const n = all[k]!;
      if (S.startsWith(n, P)) {
        const c = at(P + n.length);
        if (c === 44 || c === SP || c === -1) {
          hit = k;
          break;
        }
      }
    }
    if (hit < 0) return undefined;
    out.push(all[hit]!);
    P += all[hit]!.length;
    last = hit;
    if (at(P) !== 44) break;
    P++;
  }
  return sep() ? out : undefined;
}
