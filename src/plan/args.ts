/**
 * Shared helpers for command parsers: the context every Op carries, error construction, and the
 * small value parsers of iproute2 (lib/utils.c) and net-tools, reproduced exactly because the
 * runbook's spelling is whatever those tools accept (`ip r`, `fwmark 0x1`, `10.1/16`, ...).
 */
import { ConfigError, type ConfigErrorCode } from '../model/errors.js';
import type { Origin } from '../model/origin.js';
import { lenOfMask, type Ipv4 } from '../wire/ipv4.js';

/** What every Op of one command shares. */
export interface Ctx {
  readonly host: string;
  readonly ns: string | null;
  readonly origin: Origin;
  /** a routing table name as /etc/iproute2/rt_tables names it on the host (stock and written ones) */
  readonly rtTable?: (name: string) => number | undefined;
}

export function fail(ctx: Ctx, code: ConfigErrorCode, detail: string): never {
  throw ConfigError.at(ctx.origin, code, detail);
}

/**
 * iproute2's `matches(prefix, string)` (lib/utils.c): true when `word` is a non-empty prefix of
 * `keyword`. `ip r` = `ip route`, `ip a a` = `ip address add`. Callers test keywords in the same
 * order iproute2 does, because the first match wins (`ip n` is `neighbor`, not `netns`).
 */
export function matches(word: string, keyword: string): boolean {
  return word.length > 0 && keyword.startsWith(word);
}

/**
 * C `strtoul(text, &end, base)` requiring the whole string to be consumed, as iproute2's get_u32 /
 * get_unsigned do: leading blanks and a sign are accepted, base 0 means 0x.. hex, 0.. octal,
 * otherwise decimal. Returns undefined on garbage or when the value exceeds `max`.
 * (A '-' sign negates modulo 2^64, so any non-zero negative value exceeds every max here.)
 */
export function strtoulFull(text: string, base: 0 | 10 | 16, max: number): number | undefined {
  // plain decimal digits (no blank, sign, base prefix or octal 0): most numbers of a runbook
  const n = text.length;
  if (n > 0 && n <= 15 && base !== 16 && (base === 10 || n === 1 || text.charCodeAt(0) !== 0x30)) {
    let v = 0;
    let k = 0;
    for (; k < n; k++) {
      const d = text.charCodeAt(k) - 0x30;
      if (d < 0 || d > 9) break;
      v = v * 10 + d;
    }
    if (k === n) return v > max ? undefined : v;
  }
  const m = /^[ \t\n\v\f\r]*([+-]?)(.*)$/s.exec(text);
  if (!m) return undefined;
  const neg = m[1] === '-';
  let body = m[2]!;
  let b: number = base;
  if ((b === 0 || b === 16) && /^0[xX][0-9a-fA-F]/.test(body)) {
    body = body.slice(2);
    b = 16;
  } else if (b === 0) b = body.startsWith('0') ? 8 : 10;
  const digits = b === 16 ? /^[0-9a-fA-F]+$/ : b === 8 ? /^[0-7]+$/ : /^[0-9]+$/;
  if (!digits.test(body)) return undefined;
  const v = parseInt(body, b);
  if (!Number.isSafeInteger(v)) return undefined;
  if (neg && v !== 0) return undefined;
  return v > max ? undefined : v;
}

export const U32_MAX = 0xffffffff;

export function getU32(text: string): number | undefined {
  return strtoulFull(text, 0, U32_MAX);
}

/**
 * iproute2's get_addr_ipv4 (lib/utils.c): up to four dot-separated numbers, each strtoul base 0
 * and <= 255, missing trailing bytes are zero. So `10.1` is 10.1.0.0 and `010.0.0.1` is 8.0.0.1
 * (verified: `ip route add 010.0.0.0/8 dev d0` installs 8.0.0.0/8, iproute2-6.1.0).
 */
export function parseIproute2Ipv4(text: string): Ipv4 | undefined {
  // 1 to 4 decimal bytes without leading zeros, what nearly every address is: read in one pass
  let fast = 0;
  let byte = 0;
  let digits = 0;
  let bytes = 0;
  for (let i = 0; i <= text.length; i++) {
    const c = i < text.length ? text.charCodeAt(i) : 0x2e;
    if (c === 0x2e) {
      if (digits === 0 || byte > 255 || bytes === 4) break;
      fast = fast * 256 + byte;
      bytes++;
      byte = 0;
      digits = 0;
      if (i === text.length) return fast * 256 ** (4 - bytes);
    } else if (c >= 0x30 && c <= 0x39 && !(digits === 1 && byte === 0) && digits < 3) {
      byte = byte * 10 + (c - 0x30);
      digits++;
    } else break;
  }
  const parts = text.split('.');
  if (parts.length > 4) return undefined;
  let v = 0;
  for (let i = 0; i < 4; i++) {
    const p = parts[i];
    let byte = 0;
    if (p !== undefined) {
      const n = strtoulFull(p, 0, 255);
      if (n === undefined) return undefined;
      byte = n;
    }
    v = v * 256 + byte;
  }
  return v;
}

/**
 * C `inet_aton`, which net-tools uses: 1 to 4 parts, the last part fills the remaining bytes
 * (`10.1` is 10.0.0.1), each part strtoul base 0.
 */
export function inetAton(text: string): Ipv4 | undefined {
  const parts = text.split('.');
  if (parts.length > 4 || parts.length === 0) return undefined;
  const nums: number[] = [];
  for (const p of parts) {
    const n = strtoulFull(p, 0, U32_MAX);
    if (n === undefined || /^\s|^[+-]/.test(p)) return undefined;
    nums.push(n);
  }
  const last = nums[nums.length - 1]!;
  const lastBytes = 5 - nums.length;
  if (last >= 2 ** (8 * lastBytes)) return undefined;
  let v = 0;
  for (let i = 0; i < nums.length - 1; i++) {
    if (nums[i]! > 255) return undefined;
    v = v * 256 + nums[i]!;
  }
  return v * 2 ** (8 * lastBytes) + last;
}

/** An address or prefix as iproute2's get_prefix_1 reads it. */
export interface InetPrefix {
  readonly addr: Ipv4; // as written (host bits kept)
  readonly len: number;
  /** a `/LEN` was written, or the word was `default` */
  readonly lenGiven: boolean;
  /** `default`, `all` or `any` */
  readonly any: boolean;
}

/**
 * get_prefix_1: `default` (len 0, length "given"), `all`/`any` (len 0), `A[/LEN]` where LEN is a
 * number or a dotted netmask. Returns 'inet6' for anything with a colon (IPv6 is not modelled).
 */
export function parseIproute2Prefix(text: string): InetPrefix | 'inet6' | undefined {
  if (text === 'default') return { addr: 0, len: 0, lenGiven: true, any: true };
  if (text === 'all' || text === 'any') return { addr: 0, len: 0, lenGiven: false, any: true };
  const slash = text.indexOf('/');
  const a = slash < 0 ? text : text.slice(0, slash);
  if (a === 'default' || a === 'all' || a === 'any') return undefined;
  if (a.includes(':')) return 'inet6';
  const addr = parseIproute2Ipv4(a);
  if (addr === undefined) return undefined;
  if (slash < 0) return { addr, len: 32, lenGiven: false, any: false };
  const lenText = text.slice(slash + 1);
  let len = strtoulFull(lenText, 0, U32_MAX);
  if (len === undefined) {
    // get_netmask: a dotted mask must be contiguous
    const mask = parseIproute2Ipv4(lenText);
    if (mask === undefined || !lenText.includes('.')) return undefined;
    len = lenOfMask(mask);
    if (len === undefined) return undefined;
  }
  if (len > 32) return undefined;
  return { addr, len, lenGiven: true, any: false };
}

/** A single address (get_addr): `default`/`all`/`any` are 0.0.0.0 there, which we refuse as meaningless. */
export function parseIproute2Addr(text: string): Ipv4 | 'inet6' | undefined {
  if (text.includes(':')) return 'inet6';
  return parseIproute2Ipv4(text);
}

/**
 * ll_addr_a2n (lib/ll_addr.c): colon-separated hex bytes, each `%x` (1-2 digits, 0x allowed,
 * trailing junk after the digits ignored by sscanf). Returns the bytes, or undefined.
 */
export function parseLladdrBytes(text: string): number[] | undefined {
  if (text.includes('.')) return undefined; // an IPv4-style lladdr (tunnels) never fits Ethernet
  const bytes: number[] = [];
  for (const part of text.split(':')) {
    const m = /^\s*([+-]?)(?:0[xX])?([0-9a-fA-F]+)/.exec(part);
    if (!m) return undefined;
    const v = parseInt(m[2]!, 16);
    if (m[1] === '-' && v !== 0) return undefined;
    if (v > 255) return undefined;
    bytes.push(v);
    if (bytes.length === 32) break;
  }
  return bytes;
}

export function formatMac(bytes: readonly number[]): string {
  return bytes.map((b) => b.toString(16).padStart(2, '0')).join(':');
}

/** Names of interfaces: check_ifname (lib/utils.c), shared with model files and CLI options. */
export { validIfname } from '../model/notation.js';

/** Table names of a stock /etc/iproute2/rt_tables, or a number (strtoul base 0). */
export function parseTableId(text: string): number | undefined {
  switch (text) {
    case 'local':
      return 255;
    case 'main':
      return 254;
    case 'default':
      return 253;
    case 'unspec':
      return 0;
  }
  return getU32(text);
}
