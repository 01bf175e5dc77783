/**
 * IPv4 addresses as unsigned 32-bit numbers, and prefixes.
 *
 * An address is always a non-negative integer in [0, 2^32). Every function here is pure and
 * knows nothing of the stack: it only turns text into values and back.
 */

export type Ipv4 = number;

export interface Prefix {
  readonly addr: Ipv4; // network address, host bits cleared
  readonly len: number; // 0..32
}

const DOTTED = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/** Parses dotted-quad text; returns undefined for anything that is not exactly four octets. */
export function parseIpv4(text: string): Ipv4 | undefined {
  const m = DOTTED.exec(text);
  if (!m) return undefined;
  let v = 0;
  for (let i = 1; i <= 4; i++) {
    const part = m[i]!;
    if (part.length > 1 && part.startsWith('0')) return undefined; // 010 is octal to inet_aton; refuse
    const o = Number(part);
    if (o > 255) return undefined;
    v = v * 256 + o;
  }
  return v;
}

export function formatIpv4(v: Ipv4): string {
  return `${(v >>> 24) & 255}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
}

/** Netmask of a prefix length as a number (0 for /0). */
export function maskOf(len: number): number {
  return len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
}

/** Prefix length of a dotted netmask, or undefined when the mask is not contiguous. */
export function lenOfMask(mask: Ipv4): number | undefined {
  for (let len = 0; len <= 32; len++) if (maskOf(len) === mask) return len;
  return undefined;
}

export function networkOf(addr: Ipv4, len: number): Ipv4 {
  return (addr & maskOf(len)) >>> 0;
}

export function broadcastOf(addr: Ipv4, len: number): Ipv4 {
  return (networkOf(addr, len) | (~maskOf(len) >>> 0)) >>> 0;
}

export function inPrefix(addr: Ipv4, p: Prefix): boolean {
  return ((addr & maskOf(p.len)) >>> 0) === p.addr;
}

/**
 * Parses `A.B.C.D[/LEN]`. Host bits are kept in `host` and cleared in `addr`; `exact` tells whether
 * they were already clear (iproute2 refuses `ip route add 10.0.0.1/24`, iptables silently masks).
 */
export function parseCidr(
  text: string,
  defaultLen = 32,
): { prefix: Prefix; host: Ipv4; exact: boolean; hadLen: boolean } | undefined {
  const slash = text.indexOf('/');
  const ipText = slash < 0 ? text : text.slice(0, slash);
  const ip = parseIpv4(ipText);
  if (ip === undefined) return undefined;
  let len = defaultLen;
  if (slash >= 0) {
    const lenText = text.slice(slash + 1);
    if (/^\d{1,2}$/.test(lenText)) {
      len = Number(lenText);
      if (len > 32) return undefined;
    } else {
      const mask = parseIpv4(lenText); // iptables accepts -s 10.0.0.0/255.0.0.0
      if (mask === undefined) return undefined;
      const l = lenOfMask(mask);
      if (l === undefined) return undefined;
      len = l;
    }
  }
  const addr = networkOf(ip, len);
  return { prefix: { addr, len }, host: ip, exact: addr === ip, hadLen: slash >= 0 };
}

export function formatPrefix(p: Prefix): string {
  return `${formatIpv4(p.addr)}/${p.len}`;
}

/** `ip route` style: a /32 prints as the bare address, `0/0` as `default`. */
export function formatRouteDst(p: Prefix): string {
  if (p.len === 0) return 'default';
  if (p.len === 32) return formatIpv4(p.addr);
  return formatPrefix(p);
}

export function isMulticast(a: Ipv4): boolean {
  return a >>> 28 === 0xe;
}

export function isLoopbackNet(a: Ipv4): boolean {
  return a >>> 24 === 127;
}

export const LIMITED_BROADCAST: Ipv4 = 0xffffffff;
