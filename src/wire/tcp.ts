/**
 * TCP segments (RFC 9293) with the options Linux sends (RFC 7323 timestamps and window scale,
 * RFC 2018 SACK-permitted, MSS). Emitting writes them in the kernel's order
 * (tcp_options_write, net/ipv4/tcp_output.c):
 *   MSS; SACK_PERM+TIMESTAMP (or NOP,NOP,TIMESTAMP without SACK); NOP,NOP,SACK_PERM (without
 *   timestamps); NOP,WSCALE
 * so a SYN is `mss 1460,sackOK,TS val V ecr 0,nop,wscale 7` and a later segment
 * `nop,nop,TS val V ecr E`, as tcpdump prints them. Parsing accepts options in any order, skips
 * unknown ones and SACK blocks, and checks the checksum over the pseudo-header.
 */
import type { Ipv4 } from './ipv4.js';
import { checksum, pseudoHeaderSum } from './checksum.js';
import { IP_PROTO } from './ipv4-packet.js';
import { fail, ok, put16, put32, u16, u32, type Parsed } from './result.js';

const field = { sport: 0, dport: 2, seq: 4, ack: 8, offFlags: 12, window: 14, checksum: 16, urgent: 18 } as const;
export const TCP_HEADER_LEN = 20;

const OPT = { end: 0, nop: 1, mss: 2, wscale: 3, sackPerm: 4, sack: 5, timestamp: 8 } as const;

export interface TcpFlagsRepr {
  readonly fin: boolean;
  readonly syn: boolean;
  readonly rst: boolean;
  readonly psh: boolean;
  readonly ack: boolean;
  readonly urg: boolean;
  readonly ece: boolean;
  readonly cwr: boolean;
}

export const NO_FLAGS: TcpFlagsRepr = { fin: false, syn: false, rst: false, psh: false, ack: false, urg: false, ece: false, cwr: false };

export interface TcpTimestamp {
  readonly val: number;
  readonly ecr: number;
}

export interface TcpRepr {
  readonly srcPort: number;
  readonly dstPort: number;
  readonly seq: number;
  /** the acknowledgement field as sent, meaningful when flags.ack */
  readonly ack: number;
  readonly flags: TcpFlagsRepr;
  /** the window field as sent (already shifted by the window scale after the handshake) */
  readonly window: number;
  readonly urgent: number;
  readonly mss?: number;
  readonly windowScale?: number;
  readonly sackPermitted: boolean;
  readonly timestamp?: TcpTimestamp;
  readonly payload: Uint8Array;
}

function flagBits(f: TcpFlagsRepr): number {
  return (f.fin ? 1 : 0) | (f.syn ? 2 : 0) | (f.rst ? 4 : 0) | (f.psh ? 8 : 0) | (f.ack ? 16 : 0) | (f.urg ? 32 : 0) | (f.ece ? 64 : 0) | (f.cwr ? 128 : 0);
}

function flagsOf(bits: number): TcpFlagsRepr {
  return { fin: !!(bits & 1), syn: !!(bits & 2), rst: !!(bits & 4), psh: !!(bits & 8), ack: !!(bits & 16), urg: !!(bits & 32), ece: !!(bits & 64), cwr: !!(bits & 128) };
}

/** The option bytes in Linux's order; always a multiple of 4. */
function optionBytes(r: TcpRepr): number[] {
  const o: number[] = [];
  if (r.mss !== undefined) o.push(OPT.mss, 4, (r.mss >>> 8) & 0xff, r.mss & 0xff);
  if (r.timestamp) {
    if (r.sackPermitted) o.push(OPT.sackPerm, 2);
    else o.push(OPT.nop, OPT.nop);
    o.push(OPT.timestamp, 10);
    for (const v of [r.timestamp.val, r.timestamp.ecr]) o.push((v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff);
  } else if (r.sackPermitted) o.push(OPT.nop, OPT.nop, OPT.sackPerm, 2);
  if (r.windowScale !== undefined) o.push(OPT.nop, OPT.wscale, 3, r.windowScale);
  return o;
}

export const TcpRepr = {
  headerLen(r: TcpRepr): number {
    return TCP_HEADER_LEN + optionBytes(r).length;
  },

  bufferLen(r: TcpRepr): number {
    return TcpRepr.headerLen(r) + r.payload.length;
  },

  /** The segment with its checksum over the IPv4 pseudo-header of `src` and `dst`. */
  emit(r: TcpRepr, src: Ipv4, dst: Ipv4): Uint8Array {
    const opts = optionBytes(r);
    const hlen = TCP_HEADER_LEN + opts.length;
    const b = new Uint8Array(hlen + r.payload.length);
    put16(b, field.sport, r.srcPort);
    put16(b, field.dport, r.dstPort);
    put32(b, field.seq, r.seq);
    put32(b, field.ack, r.ack);
    put16(b, field.offFlags, ((hlen / 4) << 12) | flagBits(r.flags));
    put16(b, field.window, r.window);
    put16(b, field.urgent, r.urgent);
    b.set(opts, TCP_HEADER_LEN);
    b.set(r.payload, hlen);
    put16(b, field.checksum, checksum(b, pseudoHeaderSum(src, dst, IP_PROTO.tcp, b.length)));
    return b;
  },

  /** `b` is the whole segment (the IPv4 payload); `src`/`dst` for the pseudo-header. */
  parse(b: Uint8Array, src: Ipv4, dst: Ipv4): Parsed<TcpRepr> {
    if (b.length < TCP_HEADER_LEN) return fail('tcp', 'truncated', `${b.length} bytes, header needs ${TCP_HEADER_LEN}`);
    const offFlags = u16(b, field.offFlags);
    const hlen = (offFlags >>> 12) * 4;
    if (hlen < TCP_HEADER_LEN) return fail('tcp', 'malformed', `data offset ${hlen}`);
    if (hlen > b.length) return fail('tcp', 'truncated', `header length ${hlen}, ${b.length} bytes`);
    if (checksum(b, pseudoHeaderSum(src, dst, IP_PROTO.tcp, b.length)) !== 0) return fail('tcp', 'checksum', `bad checksum 0x${u16(b, field.checksum).toString(16)}`);
    let mss: number | undefined;
    let windowScale: number | undefined;
    let sackPermitted = false;
    let timestamp: TcpTimestamp | undefined;
    for (let i = TCP_HEADER_LEN; i < hlen; ) {
      const kind = b[i]!;
      if (kind === OPT.end) break;
      if (kind === OPT.nop) {
        i++;
        continue;
      }
      if (i + 1 >= hlen) return fail('tcp', 'malformed', `option ${kind} without a length`);
      const len = b[i + 1]!;
      if (len < 2 || i + len > hlen) return fail('tcp', 'malformed', `option ${kind} length ${len}`);
      const bad = (want: number): boolean => len !== want;
      switch (kind) {
        case OPT.mss:
          if (bad(4)) return fail('tcp', 'malformed', `MSS option length ${len}`);
          mss = u16(b, i + 2);
          break;
        case OPT.wscale:
          if (bad(3)) return fail('tcp', 'malformed', `window scale option length ${len}`);
          windowScale = b[i + 2]!;
          break;
        case OPT.sackPerm:
          if (bad(2)) return fail('tcp', 'malformed', `SACK-permitted option length ${len}`);
          sackPermitted = true;
          break;
        case OPT.timestamp:
          if (bad(10)) return fail('tcp', 'malformed', `timestamp option length ${len}`);
          timestamp = { val: u32(b, i + 2), ecr: u32(b, i + 6) };
          break;
        default:
          break; // SACK blocks and anything else: not kept in the repr
      }
      i += len;
    }
    return ok({
      srcPort: u16(b, field.sport),
      dstPort: u16(b, field.dport),
      seq: u32(b, field.seq),
      ack: u32(b, field.ack),
      flags: flagsOf(offFlags & 0xff),
      window: u16(b, field.window),
      urgent: u16(b, field.urgent),
      ...(mss !== undefined ? { mss } : {}),
      ...(windowScale !== undefined ? { windowScale } : {}),
      sackPermitted,
      ...(timestamp ? { timestamp } : {}),
      payload: b.subarray(hlen),
    });
  },
};
