/**
 * How a NAT target's range becomes the connection's new tuple, shared by every walker
 * (nf_nat_core.c get_unique_tuple): a port already inside the range is kept
 * (nf_nat_inet_in_range), otherwise the range's first is taken; SNAT keeps a source address
 * already inside its range (nf_in_range); otherwise a multi-address range gives the address
 * find_best_ips_proto hashes from the connection's addresses (natAddr).
 */
export interface NatRange {
  readonly min: number;
  readonly max: number;
}

/** The port a NAT range gives a connection whose port is `port`. */
export function natPort(port: number, r: NatRange): number {
  return port >= r.min && port <= r.max ? port : r.min;
}

const rol32 = (x: number, n: number): number => ((x << n) | (x >>> (32 - n))) >>> 0;

/** jhash2 (include/linux/jhash.h): Bob Jenkins' lookup3 over 32-bit words, JHASH_INITVAL 0xdeadbeef. */
export function jhash2(k: readonly number[], initval: number): number {
  let len = k.length;
  let i = 0;
  let a = (0xdeadbeef + (len << 2) + initval) >>> 0;
  let b = a;
  let c = a;
  while (len > 3) {
    a = (a + k[i]!) >>> 0;
    b = (b + k[i + 1]!) >>> 0;
    c = (c + k[i + 2]!) >>> 0;
    // __jhash_mix
    a = ((a - c) ^ rol32(c, 4)) >>> 0;
    c = (c + b) >>> 0;
    b = ((b - a) ^ rol32(a, 6)) >>> 0;
    a = (a + c) >>> 0;
    c = ((c - b) ^ rol32(b, 8)) >>> 0;
    b = (b + a) >>> 0;
    a = ((a - c) ^ rol32(c, 16)) >>> 0;
    c = (c + b) >>> 0;
    b = ((b - a) ^ rol32(a, 19)) >>> 0;
    a = (a + c) >>> 0;
    c = ((c - b) ^ rol32(b, 4)) >>> 0;
    b = (b + a) >>> 0;
    len -= 3;
    i += 3;
  }
  if (len === 0) return c;
  if (len >= 3) c = (c + k[i + 2]!) >>> 0;
  if (len >= 2) b = (b + k[i + 1]!) >>> 0;
  a = (a + k[i]!) >>> 0;
  // __jhash_final
  c = ((c ^ b) - rol32(b, 14)) >>> 0;
  a = ((a ^ c) - rol32(c, 11)) >>> 0;
  b = ((b ^ a) - rol32(a, 25)) >>> 0;
  c = ((c ^ b) - rol32(b, 16)) >>> 0;
  a = ((a ^ c) - rol32(c, 4)) >>> 0;
  b = ((b ^ a) - rol32(a, 14)) >>> 0;
  c = ((c ^ b) - rol32(b, 24)) >>> 0;
  return c;
}

/** An address's 4 bytes as a little-endian CPU loads them from a packet (the __be32 in memory). */
const asLoaded = (a: number): number => (((a & 0xff) << 24) | ((a & 0xff00) << 8) | ((a >>> 8) & 0xff00) | (a >>> 24)) >>> 0;

/**
 * find_best_ips_proto (nf_nat_core.c), IPv4 on a little-endian CPU: the address of `range` a
 * connection from `src` to `dst` gets. j = jhash2 of the source address as a 16-byte
 * nf_inet_addr (the address, then zeros), seeded with the destination address (0 with
 * --persistent) xor the conntrack zone (0); the address is min + (j * (max - min + 1)) >> 32
 * (reciprocal_scale). The same connection always gets the same address. Checked against Linux
 * 6.18's conntrack table (test/netfilter/nat-range.test.ts).
 */
export function natAddr(src: number, dst: number, range: NatRange, persistent: boolean): number {
  if (range.min === range.max) return range.min;
  const j = jhash2([asLoaded(src), 0, 0, 0], persistent ? 0 : asLoaded(dst));
  const dist = BigInt(range.max - range.min + 1);
  return (range.min + Number((BigInt(j) * dist) >> 32n)) >>> 0;
}
