/** UDP datagrams (RFC 768); the checksum covers the IPv4 pseudo-header, 0 is sent as 0xffff. */
import type { Ipv4 } from './ipv4.js';
import { checksum, pseudoHeaderSum } from './checksum.js';
import { IP_PROTO } from './ipv4-packet.js';
import { fail, ok, put16, u16, type Parsed } from './result.js';

const field = { sport: 0, dport: 2, length: 4, checksum: 6 } as const;
export const UDP_HEADER_LEN = 8;

export interface UdpRepr {
  readonly srcPort: number;
  readonly dstPort: number;
  readonly payload: Uint8Array;
}

export const UdpRepr = {
  bufferLen(r: UdpRepr): number {
    return UDP_HEADER_LEN + r.payload.length;
  },

  emit(r: UdpRepr, src: Ipv4, dst: Ipv4): Uint8Array {
    const b = new Uint8Array(UdpRepr.bufferLen(r));
    put16(b, field.sport, r.srcPort);
    put16(b, field.dport, r.dstPort);
    put16(b, field.length, b.length);
    b.set(r.payload, UDP_HEADER_LEN);
    const c = checksum(b, pseudoHeaderSum(src, dst, IP_PROTO.udp, b.length));
    put16(b, field.checksum, c === 0 ? 0xffff : c);
    return b;
  },

  /** A zero checksum means "not computed" and is accepted (RFC 768). */
  parse(b: Uint8Array, src: Ipv4, dst: Ipv4): Parsed<UdpRepr> {
    if (b.length < UDP_HEADER_LEN) return fail('udp', 'truncated', `${b.length} bytes, header needs ${UDP_HEADER_LEN}`);
    const len = u16(b, field.length);
    if (len < UDP_HEADER_LEN) return fail('udp', 'malformed', `length ${len}`);
    if (len > b.length) return fail('udp', 'truncated', `length ${len}, ${b.length} bytes`);
    const d = b.subarray(0, len);
    if (u16(d, field.checksum) !== 0 && checksum(d, pseudoHeaderSum(src, dst, IP_PROTO.udp, len)) !== 0)
      return fail('udp', 'checksum', `bad checksum 0x${u16(d, field.checksum).toString(16)}`);
    return ok({ srcPort: u16(d, field.sport), dstPort: u16(d, field.dport), payload: d.subarray(UDP_HEADER_LEN) });
  },
};
