/**
 * What a parser returns: the value, or an error value with a code (after zod's safeParse). Bytes off
 * the wire are input, not invariants, so a bad header is never an exception.
 */
export type WireErrorCode = 'truncated' | 'malformed' | 'checksum' | 'unsupported';

export interface WireError {
  readonly code: WireErrorCode;
  /** which header, e.g. 'ipv4', 'tcp' */
  readonly layer: string;
  readonly detail: string;
}

export type Parsed<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: WireError };

export function ok<T>(value: T): Parsed<T> {
  return { ok: true, value };
}

export function fail<T>(layer: string, code: WireErrorCode, detail: string): Parsed<T> {
  return { ok: false, error: { layer, code, detail } };
}

/** For tests and callers that hold bytes they made themselves: a parse error is a bug there. */
export function unwrap<T>(p: Parsed<T>): T {
  if (p.ok) return p.value;
  throw new Error(`${p.error.layer}: ${p.error.code}: ${p.error.detail}`);
}

export function u16(b: Uint8Array, at: number): number {
  return (b[at]! << 8) | b[at + 1]!;
}

export function u32(b: Uint8Array, at: number): number {
  return ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;
}

export function put16(b: Uint8Array, at: number, v: number): void {
  b[at] = (v >>> 8) & 0xff;
  b[at + 1] = v & 0xff;
}

export function put32(b: Uint8Array, at: number, v: number): void {
  b[at] = (v >>> 24) & 0xff;
  b[at + 1] = (v >>> 16) & 0xff;
  b[at + 2] = (v >>> 8) & 0xff;
  b[at + 3] = v & 0xff;
}
