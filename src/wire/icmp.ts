/**
 * ICMPv4 (RFC 792): echo request/reply, and the errors (destination unreachable, time exceeded)
 * that quote the offending datagram's IPv4 header and the first bytes of its payload. RFC 792
 * asks for 8 bytes; Linux quotes up to 576 bytes in all (icmp_send). The quoted header keeps its
 * own total length, so it says more than is quoted.
 */
import { checksum } from './checksum.js';
import { IPV4_HEADER_LEN, Ipv4Repr } from './ipv4-packet.js';
import { fail, ok, put16, put32, u16, u32, type Parsed } from './result.js';

export const ICMP_TYPE = { echoReply: 0, dstUnreachable: 3, echoRequest: 8, timeExceeded: 11 } as const;

const field = { type: 0, code: 1, checksum: 2, ident: 4, seq: 6, rest: 4 } as const;
export const ICMP_HEADER_LEN = 8;

export type IcmpRepr =
  | {
      readonly kind: 'echo';
      /** 8 request, 0 reply */
      readonly type: 0 | 8;
      readonly code: number;
      readonly ident: number;
      readonly seqNo: number;
      readonly data: Uint8Array;
    }
  | {
      readonly kind: 'error';
      /** 3 destination unreachable, 11 time exceeded */
      readonly type: 3 | 11;
      readonly code: number;
      /** the second word: unused (0), or next-hop MTU for fragmentation needed */
      readonly rest: number;
      /** the quoted datagram's header, as it was */
      readonly header: Ipv4Repr;
      /** the quoted bytes after that header */
      readonly data: Uint8Array;
    }
  | {
      readonly kind: 'other';
      readonly type: number;
      readonly code: number;
      readonly rest: number;
      readonly data: Uint8Array;
    };

function body(r: IcmpRepr): Uint8Array {
  return r.kind === 'error' ? concat(Ipv4Repr.emitHeader(r.header), r.data) : r.data;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const o = new Uint8Array(a.length + b.length);
  o.set(a, 0);
  o.set(b, a.length);
  return o;
}

export const IcmpRepr = {
  bufferLen(r: IcmpRepr): number {
    return ICMP_HEADER_LEN + (r.kind === 'error' ? IPV4_HEADER_LEN : 0) + r.data.length;
  },

  emit(r: IcmpRepr): Uint8Array {
    const rest = body(r);
    const b = new Uint8Array(ICMP_HEADER_LEN + rest.length);
    b[field.type] = r.type;
    b[field.code] = r.code;
    if (r.kind === 'echo') {
      put16(b, field.ident, r.ident);
      put16(b, field.seq, r.seqNo);
    } else put32(b, field.rest, r.rest);
    b.set(rest, ICMP_HEADER_LEN);
    put16(b, field.checksum, checksum(b));
    return b;
  },

  parse(b: Uint8Array): Parsed<IcmpRepr> {
    if (b.length < ICMP_HEADER_LEN) return fail('icmp', 'truncated', `${b.length} bytes, header needs ${ICMP_HEADER_LEN}`);
    if (checksum(b) !== 0) return fail('icmp', 'checksum', `bad checksum 0x${u16(b, field.checksum).toString(16)}`);
    const type = b[field.type]!;
    const code = b[field.code]!;
    const data = b.subarray(ICMP_HEADER_LEN);
    if (type === ICMP_TYPE.echoReply || type === ICMP_TYPE.echoRequest)
      return ok({ kind: 'echo', type, code, ident: u16(b, field.ident), seqNo: u16(b, field.seq), data });
    if (type === ICMP_TYPE.dstUnreachable || type === ICMP_TYPE.timeExceeded) {
      const q = Ipv4Repr.parse(data, { truncated: true });
      if (!q.ok) return fail('icmp', 'malformed', `quoted header: ${q.error.code}: ${q.error.detail}`);
      return ok({ kind: 'error', type, code, rest: u32(b, field.rest), header: q.value.repr, data: data.subarray(IPV4_HEADER_LEN) });
    }
    return ok({ kind: 'other', type, code, rest: u32(b, field.rest), data });
  },
};
