/**
 * The IPv4 header (RFC 791) without options, as Linux sends it: version 4, IHL 5, the DF bit,
 * no fragments. Addresses are the numbers of ./ipv4.ts.
 */
import type { Ipv4 } from './ipv4.js';
import { checksum } from './checksum.js';
import { fail, ok, put16, put32, u16, u32, type Parsed } from './result.js';

export const IP_PROTO = { icmp: 1, tcp: 6, udp: 17 } as const;

const field = { verIhl: 0, tos: 1, totalLen: 2, ident: 4, flagsFrag: 6, ttl: 8, protocol: 9, checksum: 10, src: 12, dst: 16 } as const;
export const IPV4_HEADER_LEN = 20;
const DF = 0x4000;
const MF = 0x2000;

export interface Ipv4Repr {
  readonly src: Ipv4;
  readonly dst: Ipv4;
  readonly protocol: number;
  readonly ttl: number;
  readonly ident: number;
  readonly dontFrag: boolean;
  /** the whole TOS byte (DSCP and ECN) */
  readonly tos: number;
  /** bytes after the header, as the total-length field says */
  readonly payloadLen: number;
}

export interface ParseOptions {
  /**
   * The header quoted inside an ICMP error: the datagram it describes is cut after 8 bytes (or
   * more), so the payload may be shorter than the total length says.
   */
  readonly truncated?: boolean;
}

export const Ipv4Repr = {
  parse(b: Uint8Array, opts: ParseOptions = {}): Parsed<{ repr: Ipv4Repr; payload: Uint8Array }> {
    if (b.length < IPV4_HEADER_LEN) return fail('ipv4', 'truncated', `${b.length} bytes, header needs ${IPV4_HEADER_LEN}`);
    const verIhl = b[field.verIhl]!;
    if (verIhl >> 4 !== 4) return fail('ipv4', 'malformed', `version ${verIhl >> 4}`);
    const ihl = (verIhl & 0xf) * 4;
    if (ihl < IPV4_HEADER_LEN) return fail('ipv4', 'malformed', `header length ${ihl}`);
    if (ihl !== IPV4_HEADER_LEN) return fail('ipv4', 'unsupported', 'IP options');
    const total = u16(b, field.totalLen);
    if (total < ihl) return fail('ipv4', 'malformed', `total length ${total} < header length ${ihl}`);
    if (!opts.truncated && total > b.length) return fail('ipv4', 'truncated', `total length ${total}, ${b.length} bytes`);
    if (checksum(b.subarray(0, ihl)) !== 0) return fail('ipv4', 'checksum', `bad header checksum 0x${u16(b, field.checksum).toString(16)}`);
    const ff = u16(b, field.flagsFrag);
    if (ff & MF || ff & 0x1fff) return fail('ipv4', 'unsupported', 'fragment');
    if (ff & 0x8000) return fail('ipv4', 'malformed', 'reserved flag set');
    const repr: Ipv4Repr = {
      src: u32(b, field.src),
      dst: u32(b, field.dst),
      protocol: b[field.protocol]!,
      ttl: b[field.ttl]!,
      ident: u16(b, field.ident),
      dontFrag: (ff & DF) !== 0,
      tos: b[field.tos]!,
      payloadLen: total - ihl,
    };
    // bytes past the total length are Ethernet padding
    return ok({ repr, payload: b.subarray(ihl, Math.min(total, b.length)) });
  },

  bufferLen(r: Ipv4Repr): number {
    return IPV4_HEADER_LEN + r.payloadLen;
  },

  /** The 20-byte header alone, checksum filled in. */
  emitHeader(r: Ipv4Repr): Uint8Array {
    const b = new Uint8Array(IPV4_HEADER_LEN);
    b[field.verIhl] = 0x45;
    b[field.tos] = r.tos;
    put16(b, field.totalLen, IPV4_HEADER_LEN + r.payloadLen);
    put16(b, field.ident, r.ident);
    put16(b, field.flagsFrag, r.dontFrag ? DF : 0);
    b[field.ttl] = r.ttl;
    b[field.protocol] = r.protocol;
    put32(b, field.src, r.src);
    put32(b, field.dst, r.dst);
    put16(b, field.checksum, checksum(b));
    return b;
  },

  /** Header and payload; the payload must be `payloadLen` bytes. */
  emit(r: Ipv4Repr, payload: Uint8Array): Uint8Array {
    if (payload.length !== r.payloadLen) throw new Error(`ipv4 emit: payload ${payload.length} bytes, repr says ${r.payloadLen}`);
    const b = new Uint8Array(Ipv4Repr.bufferLen(r));
    b.set(Ipv4Repr.emitHeader(r), 0);
    b.set(payload, IPV4_HEADER_LEN);
    return b;
  },
};
