/**
 * Engine frames to bytes. The engine keeps what decides a packet's fate (addresses, ports, flags,
 * sequence numbers, TTL, IP ID); the rest of what Linux puts on the wire is derived here,
 * deterministically, so the same model gives the same bytes:
 *
 * - IPv4: DF set on TCP, UDP and echo requests (sockets with IP_PMTUDISC_WANT, the default), clear
 *   on echo replies and ICMP errors (the kernel's ICMP socket uses IP_PMTUDISC_DONT); ICMP errors
 *   carry TOS 0xc0 (IPTOS_PREC_INTERNETCONTROL, icmp_send).
 * - TCP: see `linuxTcpExtras`: window, MSS 1460, SACK-permitted, timestamps, window scale 7 on SYN
 *   and SYN-ACK, timestamps on every later segment, none on a RST.
 * - Payloads: the engine's `data` text, cut or zero-padded to `len`; ping's 56 data bytes.
 * - ICMP errors quote the offending packet's header and its first 8 payload bytes.
 *
 * A frame is sized first and written in place into one buffer, header by header, as the layouts
 * of src/wire (Ethernet, ARP, IPv4, TCP, UDP, ICMP) give them; test/pcap/pcap.test.ts parses every
 * frame of every model back with src/wire, and test/pcap/identical.test.ts holds the bytes
 * to those of the header-by-header emitters.
 */
import type { Capture } from '../trace/types.js';
import { ICMP, type Frame, type IpPacket, type TcpHeader } from '../engine/packet.js';
import { ETHERNET_HEADER_LEN, ETHERTYPE } from '../wire/ethernet.js';
import { ARP_OP } from '../wire/arp.js';
import { IP_PROTO, IPV4_HEADER_LEN } from '../wire/ipv4-packet.js';
import { TCP_HEADER_LEN, type TcpTimestamp } from '../wire/tcp.js';
import { put16 } from '../wire/result.js';

/** What the engine leaves out of a TCP segment and Linux sends anyway. */
export interface TcpExtras {
  readonly window: number;
  readonly mss?: number;
  readonly windowScale?: number;
  readonly sackPermitted: boolean;
  readonly timestamp?: TcpTimestamp;
}

export type TcpExtrasFor = (pkt: IpPacket, l4: TcpHeader) => TcpExtras;

/** Linux 6.x defaults on a 1500-byte MTU (tcpdump on a current kernel shows these). */
export const LINUX_TCP = {
  mss: 1460,
  windowScale: 7,
  /** tcp_select_initial_window: 10 * MSS rounded to the MSS, as a SYN advertises it */
  synWindow: 64240,
  synAckWindow: 65160,
  /** the same windows scaled down by 2^7 after the handshake */
  clientWindow: 502,
  serverWindow: 509,
} as const;

const ARP_LEN = 28;
const UDP_HEADER_LEN = 8;
const ICMP_HEADER_LEN = 8;
/** an ICMP error quotes the offending header and 8 bytes of what followed it (RFC 792) */
const ICMP_QUOTE_LEN = IPV4_HEADER_LEN + 8;
/** IP_DF in the flags and fragment offset field */
const DF = 0x4000;
const TCP_OPT = { nop: 1, mss: 2, wscale: 3, sackPerm: 4, timestamp: 8 } as const;

/** Bytes of an engine frame, for a pcap. */
export function frameBytes(frame: Frame, tcp: TcpExtrasFor = linuxTcpExtras([])): Uint8Array {
  const l = frameLayout(frame, tcp);
  const b = new Uint8Array(l.len);
  writeFrame(b, 0, frame, l);
  return b;
}

/** Bytes of an engine IP packet (header and payload). */
export function ipPacketBytes(p: IpPacket, tcp: TcpExtrasFor = linuxTcpExtras([])): Uint8Array {
  const l = ipLayout(p, tcp);
  const b = new Uint8Array(IPV4_HEADER_LEN + l.l4Len);
  writeIp(b, 0, p, l);
  return b;
}

/** A frame's size and what writing it needs (`frameLayout`, then `writeFrame`): one object a frame. */
export interface FrameLayout {
  /** bytes of the whole frame (Ethernet header included) */
  readonly len: number;
  /** bytes after the IPv4 header (0 for ARP) */
  readonly l4Len: number;
  /** TCP: the extras and the header length with options */
  readonly x?: TcpExtras;
  readonly tcpHeaderLen?: number;
  /** ICMP errors: the quoted packet's bytes (the first ICMP_QUOTE_LEN of them are quoted) */
  readonly quoted?: Uint8Array;
}

/** The length of a frame carrying `l4Len` bytes after its IPv4 header. */
const ipFrame = (l4Len: number): number => ETHERNET_HEADER_LEN + IPV4_HEADER_LEN + l4Len;

const ARP_LAYOUT: FrameLayout = { len: ETHERNET_HEADER_LEN + ARP_LEN, l4Len: 0 };

/** Sizes a frame: `writeFrame` then writes exactly `len` bytes. */
export function frameLayout(frame: Frame, tcp: TcpExtrasFor): FrameLayout {
  const p = frame.payload;
  return p.kind === 'arp' ? ARP_LAYOUT : ipLayout(p.ip, tcp);
}

/** Writes the frame sized by `l` into b[at, at + l.len), which must hold zeros. */
export function writeFrame(b: Uint8Array, at: number, frame: Frame, l: FrameLayout): void {
  const p = frame.payload;
  if (p.kind === 'arp') {
    putEthernet(b, at, frame.dst, frame.src, ETHERTYPE.arp);
    const a = p.arp;
    const o = at + ETHERNET_HEADER_LEN;
    put16(b, o, 1); // htype Ethernet
    put16(b, o + 2, ETHERTYPE.ipv4); // ptype
    b[o + 4] = 6;
    b[o + 5] = 4;
    put16(b, o + 6, a.op === 'request' ? ARP_OP.request : ARP_OP.reply);
    putMac(b, o + 8, a.sha, LAST_ARP);
    put16(b, o + 14, a.spa >>> 16);
    put16(b, o + 16, a.spa & 0xffff);
    putMac(b, o + 18, a.tha, LAST_ARP);
    put16(b, o + 24, a.tpa >>> 16);
    put16(b, o + 26, a.tpa & 0xffff);
    return;
  }
  putEthernet(b, at, frame.dst, frame.src, ETHERTYPE.ipv4);
  writeIp(b, at + ETHERNET_HEADER_LEN, p.ip, l);
}

function ipLayout(p: IpPacket, tcp: TcpExtrasFor): FrameLayout {
  const l4 = p.l4;
  switch (l4.kind) {
    case 'tcp': {
      const x = tcp(p, l4);
      const h = TCP_HEADER_LEN + tcpOptionsLen(x);
      return { len: ipFrame(h + l4.len), l4Len: h + l4.len, x, tcpHeaderLen: h };
    }
    case 'udp':
      return { len: ipFrame(UDP_HEADER_LEN + l4.len), l4Len: UDP_HEADER_LEN + l4.len };
    case 'icmp':
      if (l4.type === ICMP.ECHO || l4.type === ICMP.ECHOREPLY) return PING_LAYOUT;
      if ((l4.type === ICMP.DEST_UNREACH || l4.type === ICMP.TIME_EXCEEDED) && l4.quoted) {
        const quoted = ipPacketBytes(l4.quoted, tcp);
        const l4Len = ICMP_HEADER_LEN + Math.min(quoted.length, ICMP_QUOTE_LEN);
        return { len: ipFrame(l4Len), l4Len, quoted };
      }
      return ICMP_LAYOUT;
  }
}

/**
 * The IPv4 header at `at`, then the transport header and payload after it. The checksums are
 * summed from the fields as they are written (and the payload's sum kept with its bytes), not
 * read back from the buffer; ICMP errors sum their quote from the bytes. 32-bit fields are
 * written as 16-bit halves: a number past 2^30 handed to a call that is not inlined is boxed.
 */
function writeIp(b: Uint8Array, at: number, p: IpPacket, l: FrameLayout): void {
  const l4 = p.l4;
  const t = at + IPV4_HEADER_LEN;
  const src = p.src >>> 0;
  const dst = p.dst >>> 0;
  const addrs = (src >>> 16) + (src & 0xffff) + (dst >>> 16) + (dst & 0xffff);
  let protocol: number;
  let dontFrag = true;
  let tos = 0;
  switch (l4.kind) {
    case 'tcp': {
      protocol = IP_PROTO.tcp;
      const x = l.x!;
      const h = l.tcpHeaderLen!;
      const seq = l4.seq >>> 0;
      const ack = l4.ack >>> 0;
      put16(b, t, l4.sport);
      put16(b, t + 2, l4.dport);
      put16(b, t + 4, seq >>> 16);
      put16(b, t + 6, seq & 0xffff);
      put16(b, t + 8, ack >>> 16);
      put16(b, t + 10, ack & 0xffff);
      const f = l4.flags;
      const bits = (f.fin ? 1 : 0) | (f.syn ? 2 : 0) | (f.rst ? 4 : 0) | (f.psh ? 8 : 0) | (f.ack ? 16 : 0);
      const offFlags = ((h / 4) << 12) | bits;
      put16(b, t + 12, offFlags);
      put16(b, t + 14, x.window);
      // checksum at t + 16 and urgent pointer at t + 18: 0 in the sum
      let sum = (l4.sport & 0xffff) + (l4.dport & 0xffff) + (seq >>> 16) + (seq & 0xffff) + (ack >>> 16) + (ack & 0xffff) + (offFlags & 0xffff) + (x.window & 0xffff);
      sum += writeTcpOptions(b, t + TCP_HEADER_LEN, x);
      sum += writeData(b, t + h, l4.data, l4.len);
      put16(b, t + 16, fold(sum + addrs + IP_PROTO.tcp + l.l4Len));
      break;
    }
    case 'udp': {
      protocol = IP_PROTO.udp;
      put16(b, t, l4.sport);
      put16(b, t + 2, l4.dport);
      put16(b, t + 4, l.l4Len);
      const sum = (l4.sport & 0xffff) + (l4.dport & 0xffff) + (l.l4Len & 0xffff) + writeData(b, t + UDP_HEADER_LEN, l4.data, l4.len);
      const c = fold(sum + addrs + IP_PROTO.udp + l.l4Len);
      put16(b, t + 6, c === 0 ? 0xffff : c);
      break;
    }
    case 'icmp': {
      protocol = IP_PROTO.icmp;
      b[t] = l4.type;
      b[t + 1] = l4.code;
      if (l4.type === ICMP.ECHO || l4.type === ICMP.ECHOREPLY) {
        dontFrag = l4.type === ICMP.ECHO;
        const id = l4.id ?? 0;
        const seq = l4.seq ?? 0;
        put16(b, t + 4, id);
        put16(b, t + 6, seq);
        b.set(PING_DATA, t + ICMP_HEADER_LEN);
        put16(b, t + 2, fold((((l4.type & 0xff) << 8) | (l4.code & 0xff)) + (id & 0xffff) + (seq & 0xffff) + PING_SUM));
      } else {
        // errors and other types: the 4 "rest" bytes are 0, then the quote if any
        dontFrag = false;
        if (l.quoted) {
          tos = 0xc0;
          b.set(l.quoted.subarray(0, ICMP_QUOTE_LEN), t + ICMP_HEADER_LEN);
        }
        put16(b, t + 2, fold(wordSum(b, t, t + l.l4Len)));
      }
      break;
    }
  }
  const len = IPV4_HEADER_LEN + l.l4Len;
  const id = p.id & 0xffff;
  const frag = dontFrag ? DF : 0;
  b[at] = 0x45; // version 4, IHL 5
  b[at + 1] = tos;
  put16(b, at + 2, len);
  put16(b, at + 4, id);
  put16(b, at + 6, frag);
  b[at + 8] = p.ttl;
  b[at + 9] = protocol;
  put16(b, at + 12, src >>> 16);
  put16(b, at + 14, src & 0xffff);
  put16(b, at + 16, dst >>> 16);
  put16(b, at + 18, dst & 0xffff);
  put16(b, at + 10, fold(((0x45 << 8) | tos) + (len & 0xffff) + id + frag + (((p.ttl & 0xff) << 8) | protocol) + addrs));
}

/** Options as Linux orders them: MSS, SACK-permitted or NOPs, timestamps, NOP and window scale. */
function tcpOptionsLen(x: TcpExtras): number {
  return (x.mss !== undefined ? 4 : 0) + (x.timestamp ? 12 : x.sackPermitted ? 4 : 0) + (x.windowScale !== undefined ? 4 : 0);
}

/** Writes the options; returns the sum of their 16-bit words (they start at an even offset). */
function writeTcpOptions(b: Uint8Array, at: number, x: TcpExtras): number {
  let i = at;
  let sum = 0;
  if (x.mss !== undefined) {
    b[i] = TCP_OPT.mss;
    b[i + 1] = 4;
    put16(b, i + 2, x.mss);
    sum += ((TCP_OPT.mss << 8) | 4) + (x.mss & 0xffff);
    i += 4;
  }
  if (x.timestamp) {
    if (x.sackPermitted) {
      b[i] = TCP_OPT.sackPerm;
      b[i + 1] = 2;
      sum += (TCP_OPT.sackPerm << 8) | 2;
    } else {
      b[i] = b[i + 1] = TCP_OPT.nop;
      sum += (TCP_OPT.nop << 8) | TCP_OPT.nop;
    }
    b[i + 2] = TCP_OPT.timestamp;
    b[i + 3] = 10;
    const val = x.timestamp.val >>> 0;
    const ecr = x.timestamp.ecr >>> 0;
    put16(b, i + 4, val >>> 16);
    put16(b, i + 6, val & 0xffff);
    put16(b, i + 8, ecr >>> 16);
    put16(b, i + 10, ecr & 0xffff);
    sum += ((TCP_OPT.timestamp << 8) | 10) + (val >>> 16) + (val & 0xffff) + (ecr >>> 16) + (ecr & 0xffff);
    i += 12;
  } else if (x.sackPermitted) {
    b[i] = b[i + 1] = TCP_OPT.nop;
    b[i + 2] = TCP_OPT.sackPerm;
    b[i + 3] = 2;
    sum += ((TCP_OPT.nop << 8) | TCP_OPT.nop) + ((TCP_OPT.sackPerm << 8) | 2);
    i += 4;
  }
  if (x.windowScale !== undefined) {
    b[i] = TCP_OPT.nop;
    b[i + 1] = TCP_OPT.wscale;
    b[i + 2] = 3;
    b[i + 3] = x.windowScale;
    sum += ((TCP_OPT.nop << 8) | TCP_OPT.wscale) + ((3 << 8) | (x.windowScale & 0xff));
  }
  return sum;
}

/** The sum of b[from, to) as big-endian 16-bit words (an odd last byte is the high byte of one). */
function wordSum(b: Uint8Array, from: number, to: number): number {
  let s = 0;
  let i = from;
  for (; i + 1 < to; i += 2) s += (b[i]! << 8) | b[i + 1]!;
  if (i < to) s += b[i]! << 8;
  return s;
}

/** The Internet checksum (RFC 1071) of words summing to `s`: folded to 16 bits, complemented. */
function fold(s: number): number {
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 0x10000);
  return ~s & 0xffff;
}

function putEthernet(b: Uint8Array, at: number, dst: string, src: string, ethertype: number): void {
  putMac(b, at, dst, LAST_DST);
  putMac(b, at + 6, src, LAST_SRC);
  put16(b, at + 12, ethertype);
}

/** A MAC's first and last three bytes, each as a number. */
interface MacBytes {
  readonly hi: number;
  readonly lo: number;
}

/** Each MAC seen (a few per model), parsed once. */
const macs = new Map<string, MacBytes>();

/** A MAC and its bytes, the last written in one place of a frame (its next capture has it again). */
interface LastMac {
  mac: string;
  bytes: MacBytes;
}
const LAST_DST: LastMac = { mac: '', bytes: { hi: 0, lo: 0 } };
const LAST_SRC: LastMac = { mac: '', bytes: { hi: 0, lo: 0 } };
const LAST_ARP: LastMac = { mac: '', bytes: { hi: 0, lo: 0 } };

/** A MAC as `ip link` prints it (six lowercase or uppercase hex pairs and colons), into b[at, at+6). */
function putMac(b: Uint8Array, at: number, mac: string, last: LastMac): void {
  let m = last.bytes;
  if (mac !== last.mac) {
    const known = macs.get(mac);
    if (known !== undefined) m = known;
    else {
      if (macs.size > 4096) macs.clear();
      macs.set(mac, (m = parseMac(mac)));
    }
    last.mac = mac;
    last.bytes = m;
  }
  b[at] = m.hi >>> 16;
  b[at + 1] = (m.hi >>> 8) & 0xff;
  b[at + 2] = m.hi & 0xff;
  b[at + 3] = m.lo >>> 16;
  b[at + 4] = (m.lo >>> 8) & 0xff;
  b[at + 5] = m.lo & 0xff;
}

function parseMac(mac: string): MacBytes {
  if (mac.length !== 17) throw new Error(`not a MAC address: ${mac}`);
  let hi = 0;
  let lo = 0;
  for (let k = 0; k < 6; k++) {
    const h = hexDigit(mac.charCodeAt(3 * k));
    const l = hexDigit(mac.charCodeAt(3 * k + 1));
    if (h < 0 || l < 0 || (k < 5 && mac.charCodeAt(3 * k + 2) !== 0x3a)) throw new Error(`not a MAC address: ${mac}`);
    if (k < 3) hi = hi * 256 + ((h << 4) | l);
    else lo = lo * 256 + ((h << 4) | l);
  }
  return { hi, lo };
}

function hexDigit(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const l = c | 0x20;
  return l >= 0x61 && l <= 0x66 ? l - 0x61 + 10 : -1;
}

/** ping's default 56 data bytes (iputils fills them with 0, 1, 2, ...; netpath keeps the clock out). */
const PING_DATA = Uint8Array.from({ length: 56 }, (_, i) => i);
const PING_SUM = wordSum(PING_DATA, 0, PING_DATA.length);
const PING_LAYOUT: FrameLayout = { len: ipFrame(ICMP_HEADER_LEN + PING_DATA.length), l4Len: ICMP_HEADER_LEN + PING_DATA.length };
const ICMP_LAYOUT: FrameLayout = { len: ipFrame(ICMP_HEADER_LEN), l4Len: ICMP_HEADER_LEN };

const utf8 = new TextEncoder();

/** A payload text in UTF-8 and the sum of its bytes as 16-bit words. */
interface Payload {
  readonly bytes: Uint8Array;
  readonly sum: number;
}

/** Each payload text seen (a few per model: a segment's comes again at each capture point). */
const payloads = new Map<string, Payload>();

/**
 * The payload text in UTF-8, cut to `len` bytes (inside a character too) or zero-padded (the
 * buffer is zeroed), at an even offset of the transport header; returns the sum of the bytes
 * written as 16-bit words.
 */
function writeData(b: Uint8Array, at: number, data: string | undefined, len: number): number {
  if (data === undefined || len === 0) return 0;
  let d = payloads.get(data);
  if (d === undefined) {
    if (payloads.size > 256) payloads.clear();
    const bytes = utf8.encode(data);
    payloads.set(data, (d = { bytes, sum: wordSum(bytes, 0, bytes.length) }));
  }
  if (d.bytes.length <= len) {
    b.set(d.bytes, at);
    return d.sum;
  }
  b.set(d.bytes.subarray(0, len), at);
  return wordSum(d.bytes, 0, len);
}

// ---------------------------------------------------------------------------------------------
// TCP: window, options and timestamps, as Linux would send them

interface Half {
  readonly isn: number;
  readonly role: 'client' | 'server';
  /** the other direction's ISN (server halves know it from the SYN-ACK's ack) */
  peerIsn?: number;
  /** send times (µs) of this half's segments, ascending */
  readonly sends: number[];
  /** tsOffset(isn) */
  readonly off: number;
  /** the other direction's half, once looked up (null: none) */
  peer?: Half | null;
}

function flagBits(l4: TcpHeader): number {
  const f = l4.flags;
  return (f.fin ? 1 : 0) | (f.syn ? 2 : 0) | (f.rst ? 4 : 0) | (f.psh ? 8 : 0) | (f.ack ? 16 : 0);
}

/** A segment by what NAT and forwarding do not change, the time of its first capture, and its extras once worked out. */
interface Segment {
  readonly seq: number;
  readonly ack: number;
  readonly bits: number;
  readonly len: number;
  readonly id: number;
  readonly t: number;
  x: TcpExtras | undefined;
  /** the next segment of the same sequence number */
  next: Segment | undefined;
}

/**
 * Segments by what NAT and forwarding do not change (sequence and acknowledgement numbers, flags,
 * length, IP ID; addresses, ports and TTL may change), each with the time of its first capture.
 * Keyed by the sequence number, then a short scan: no string keys.
 */
class Segments {
  private readonly bySeq = new Map<number, Segment>();
  /** the segment, or undefined */
  find(p: IpPacket, l4: TcpHeader): Segment | undefined {
    const ack = l4.ack >>> 0;
    const bits = flagBits(l4);
    for (let g = this.bySeq.get(l4.seq >>> 0); g !== undefined; g = g.next) if (g.ack === ack && g.bits === bits && g.len === l4.len && g.id === p.id) return g;
    return undefined;
  }
  /** records the segment's first capture time (a later one is ignored) */
  add(p: IpPacket, l4: TcpHeader, t: number): void {
    const seq = l4.seq >>> 0;
    const first = this.bySeq.get(seq);
    if (first !== undefined && this.find(p, l4) !== undefined) return;
    const g: Segment = { seq, ack: l4.ack >>> 0, bits: flagBits(l4), len: l4.len, id: p.id, t, x: undefined, next: undefined };
    if (first === undefined) this.bySeq.set(seq, g);
    else {
      let last = first;
      while (last.next !== undefined) last = last.next;
      last.next = g;
    }
  }
  /** every segment: its sequence number and first capture time */
  forEach(f: (seq: number, t: number) => void): void {
    for (const first of this.bySeq.values()) for (let g: Segment | undefined = first; g !== undefined; g = g.next) f(g.seq, g.t);
  }
}

/** A fixed per-connection offset for TCP timestamps (Linux: secure_tcp_ts_off, a keyed hash). */
function tsOffset(isn: number): number {
  let x = (isn ^ 0x9e3779b9) >>> 0;
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b) >>> 0;
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35) >>> 0;
  return (x ^ (x >>> 16)) >>> 0;
}

/**
 * TCP extras for the segments of one trace. Segments are told apart by what NAT keeps (sequence
 * and acknowledgement numbers, flags, length, IP ID), so one segment gets the same options at
 * every capture point. Each direction of a connection is found from its SYN or SYN-ACK:
 * - window: 64240 in a SYN, 65160 in a SYN-ACK, then 502 (client) and 509 (server) with
 *   window scale 7; 0 in a RST (tcp_v4_send_reset);
 * - timestamps: TSval = a per-direction offset + the sender's clock in ms at the segment's first
 *   capture (Linux's TCP clock ticks in ms); TSecr = the TSval of the other direction's latest
 *   segment sent no later, 0 in a SYN;
 * - a segment of no known connection: window 502, no options.
 */
export function linuxTcpExtras(captures: readonly Capture[]): TcpExtrasFor {
  const sendT = new Segments();
  const halves: Half[] = [];
  for (const c of captures) {
    if (c.frame.payload.kind !== 'ip') continue;
    const p = c.frame.payload.ip;
    const l4 = p.l4;
    if (l4.kind !== 'tcp') continue;
    sendT.add(p, l4, c.t);
    const f = l4.flags;
    if (f.syn && !f.rst && !halves.some((h) => h.isn === l4.seq >>> 0)) {
      const h: Half = { isn: l4.seq >>> 0, role: f.ack ? 'server' : 'client', sends: [], off: tsOffset(l4.seq >>> 0) };
      if (f.ack) h.peerIsn = (l4.ack - 1) >>> 0;
      halves.push(h);
    }
  }
  for (const h of halves) {
    const server = h.role === 'client' ? halves.find((s) => s.role === 'server' && s.peerIsn === h.isn) : undefined;
    if (server) h.peerIsn = server.isn;
  }
  const halfOf = (seq: number): Half | undefined => {
    let best: Half | undefined;
    let dist = 2 ** 30;
    for (const h of halves) {
      const d = (seq - h.isn) >>> 0;
      if (d < dist) {
        dist = d;
        best = h;
      }
    }
    return best;
  };
  sendT.forEach((seq, t) => {
    const h = halfOf(seq);
    if (h) h.sends.push(t);
  });
  for (const h of halves) if (!ascending(h.sends)) h.sends.sort((a, b) => a - b);
  const tsval = (h: Half, t: number): number => (h.off + Math.floor(t / 1000)) >>> 0;

  const extrasOf = (h: Half, f: TcpHeader['flags'], t: number): TcpExtras => {
    if (h.peer === undefined) h.peer = h.peerIsn !== undefined ? (halves.find((x) => x.isn === h.peerIsn) ?? null) : null;
    const peer = h.peer;
    let ecr = 0;
    if (f.ack && peer) {
      const last = lastAtOrBefore(peer.sends, t);
      if (last !== undefined) ecr = tsval(peer, last);
    }
    const timestamp = { val: tsval(h, t), ecr };
    if (f.syn)
      return {
        window: f.ack ? LINUX_TCP.synAckWindow : LINUX_TCP.synWindow,
        mss: LINUX_TCP.mss,
        windowScale: LINUX_TCP.windowScale,
        sackPermitted: true,
        timestamp,
      };
    return { window: h.role === 'client' ? LINUX_TCP.clientWindow : LINUX_TCP.serverWindow, sackPermitted: false, timestamp };
  };

  // a segment has the same extras at every capture point: worked out at the first
  return (p, l4) => {
    const f = l4.flags;
    if (f.rst) return RST_EXTRAS;
    const seg = sendT.find(p, l4);
    if (seg !== undefined && seg.x !== undefined) return seg.x;
    const h = halfOf(l4.seq >>> 0);
    const x = h ? extrasOf(h, f, seg?.t ?? 0) : NO_CONNECTION_EXTRAS;
    if (seg !== undefined) seg.x = x;
    return x;
  };
}

/** tcp_v4_send_reset: window 0, no options */
const RST_EXTRAS: TcpExtras = { window: 0, sackPermitted: false };
/** a segment of no known connection */
const NO_CONNECTION_EXTRAS: TcpExtras = { window: LINUX_TCP.clientWindow, sackPermitted: false };

function ascending(times: readonly number[]): boolean {
  for (let i = 1; i < times.length; i++) if (times[i]! < times[i - 1]!) return false;
  return true;
}

/** The last of the ascending `times` that is ≤ t (binary search). */
function lastAtOrBefore(times: readonly number[], t: number): number | undefined {
  let lo = 0;
  let hi = times.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (times[mid]! <= t) lo = mid + 1;
    else hi = mid;
  }
  return lo > 0 ? times[lo - 1] : undefined;
}
