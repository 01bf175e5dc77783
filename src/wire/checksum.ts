/**
 * The Internet checksum (RFC 1071) and the IPv4 pseudo-header (RFC 793, RFC 768).
 *
 * `sum` folds 16-bit big-endian words into a 32-bit accumulator; `finish` folds the carries and
 * complements. A header whose checksum field is right sums (with the field) to 0xffff, so
 * `finish(sum(header)) === 0` is the verification.
 */
import type { Ipv4 } from './ipv4.js';

export function sum(bytes: Uint8Array, acc = 0): number {
  let s = acc;
  const n = bytes.length;
  let i = 0;
  for (; i + 1 < n; i += 2) s += (bytes[i]! << 8) | bytes[i + 1]!;
  if (i < n) s += bytes[i]! << 8; // odd length: pad with a zero byte
  // fold early so the accumulator never leaves the safe-integer range
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 0x10000);
  return s;
}

export function finish(acc: number): number {
  let s = acc;
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 0x10000);
  return ~s & 0xffff;
}

/** Sum of the IPv4 pseudo-header: source, destination, zero, protocol, upper-layer length. */
export function pseudoHeaderSum(src: Ipv4, dst: Ipv4, protocol: number, length: number): number {
  return (src >>> 16) + (src & 0xffff) + (dst >>> 16) + (dst & 0xffff) + protocol + length;
}

export function checksum(bytes: Uint8Array, acc = 0): number {
  return finish(sum(bytes, acc));
}
