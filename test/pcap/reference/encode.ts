/**
 * The capture writer as it was before it was made fast (src/pcap/encode.ts, copied unchanged but
 * for import paths): test/pcap/identical.test.ts holds today's writer to these bytes.
 *
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
 */
import type { Capture } from '../../../src/trace/types.js';
import { ICMP, type Frame, type IpPacket, type TcpHeader } from '../../../src/engine/packet.js';
import { ETHERTYPE, EthernetRepr } from '../../../src/wire/ethernet.js';
import { ARP_OP, ArpRepr } from '../../../src/wire/arp.js';
import { IP_PROTO, IPV4_HEADER_LEN, Ipv4Repr } from '../../../src/wire/ipv4-packet.js';
import { NO_FLAGS, TcpRepr, type TcpTimestamp } from '../../../src/wire/tcp.js';
import { UdpRepr } from '../../../src/wire/udp.js';
import { IcmpRepr } from '../../../src/wire/icmp.js';

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

/** Bytes of an engine frame, for a pcap. */
export function frameBytes(frame: Frame, tcp: TcpExtrasFor = linuxTcpExtras([])): Uint8Array {
  const p = frame.payload;
  if (p.kind === 'arp') {
    const a = p.arp;
    const arp = ArpRepr.emit({ op: a.op === 'request' ? ARP_OP.request : ARP_OP.reply, sha: a.sha, spa: a.spa, tha: a.tha, tpa: a.tpa });
    return EthernetRepr.emit({ dst: frame.dst, src: frame.src, ethertype: ETHERTYPE.arp }, arp);
  }
  return EthernetRepr.emit({ dst: frame.dst, src: frame.src, ethertype: ETHERTYPE.ipv4 }, ipPacketBytes(p.ip, tcp));
}

/** Bytes of an engine IP packet (header and payload). */
export function ipPacketBytes(p: IpPacket, tcp: TcpExtrasFor = linuxTcpExtras([])): Uint8Array {
  const l4 = p.l4;
  let protocol: number;
  let payload: Uint8Array;
  let dontFrag = true;
  let tos = 0;
  switch (l4.kind) {
    case 'tcp': {
      protocol = IP_PROTO.tcp;
      const x = tcp(p, l4);
      payload = TcpRepr.emit(
        {
          srcPort: l4.sport,
          dstPort: l4.dport,
          seq: l4.seq >>> 0,
          ack: l4.ack >>> 0,
          flags: { ...NO_FLAGS, fin: !!l4.flags.fin, syn: !!l4.flags.syn, rst: !!l4.flags.rst, psh: !!l4.flags.psh, ack: !!l4.flags.ack },
          window: x.window,
          urgent: 0,
          ...(x.mss !== undefined ? { mss: x.mss } : {}),
          ...(x.windowScale !== undefined ? { windowScale: x.windowScale } : {}),
          sackPermitted: x.sackPermitted,
          ...(x.timestamp ? { timestamp: x.timestamp } : {}),
          payload: dataBytes(l4.data, l4.len),
        },
        p.src,
        p.dst,
      );
      break;
    }
    case 'udp':
      protocol = IP_PROTO.udp;
      payload = UdpRepr.emit({ srcPort: l4.sport, dstPort: l4.dport, payload: dataBytes(l4.data, l4.len) }, p.src, p.dst);
      break;
    case 'icmp': {
      protocol = IP_PROTO.icmp;
      if (l4.type === ICMP.ECHO || l4.type === ICMP.ECHOREPLY) {
        dontFrag = l4.type === ICMP.ECHO;
        payload = IcmpRepr.emit({ kind: 'echo', type: l4.type, code: l4.code, ident: l4.id ?? 0, seqNo: l4.seq ?? 0, data: PING_DATA });
      } else if ((l4.type === ICMP.DEST_UNREACH || l4.type === ICMP.TIME_EXCEEDED) && l4.quoted) {
        dontFrag = false;
        tos = 0xc0;
        const q = ipPacketBytes(l4.quoted, tcp);
        const header = Ipv4Repr.parse(q);
        if (!header.ok) throw new Error(`netpath bug: quoted packet does not parse: ${header.error.detail}`);
        payload = IcmpRepr.emit({ kind: 'error', type: l4.type, code: l4.code, rest: 0, header: header.value.repr, data: q.subarray(IPV4_HEADER_LEN, IPV4_HEADER_LEN + 8) });
      } else {
        dontFrag = false;
        payload = IcmpRepr.emit({ kind: 'other', type: l4.type, code: l4.code, rest: 0, data: new Uint8Array(0) });
      }
      break;
    }
  }
  return Ipv4Repr.emit({ src: p.src, dst: p.dst, protocol, ttl: p.ttl, ident: p.id & 0xffff, dontFrag, tos, payloadLen: payload.length }, payload);
}

/** ping's default 56 data bytes (iputils fills them with 0, 1, 2, ...; netpath keeps the clock out). */
const PING_DATA = Uint8Array.from({ length: 56 }, (_, i) => i);

function dataBytes(data: string | undefined, len: number): Uint8Array {
  const out = new Uint8Array(len);
  if (data !== undefined) out.set(new TextEncoder().encode(data).subarray(0, len));
  return out;
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
}

function flagBits(l4: TcpHeader): number {
  const f = l4.flags;
  return (f.fin ? 1 : 0) | (f.syn ? 2 : 0) | (f.rst ? 4 : 0) | (f.psh ? 8 : 0) | (f.ack ? 16 : 0);
}

/** A segment's identity that NAT and forwarding do not change (addresses, ports and TTL may). */
function segmentKey(p: IpPacket, l4: TcpHeader): string {
  return `${l4.seq >>> 0}|${l4.ack >>> 0}|${flagBits(l4)}|${l4.len}|${p.id}`;
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
  const sendT = new Map<string, number>();
  const halves: Half[] = [];
  for (const c of captures) {
    if (c.frame.payload.kind !== 'ip') continue;
    const p = c.frame.payload.ip;
    const l4 = p.l4;
    if (l4.kind !== 'tcp') continue;
    const key = segmentKey(p, l4);
    if (!sendT.has(key)) sendT.set(key, c.t);
    const f = l4.flags;
    if (f.syn && !f.rst && !halves.some((h) => h.isn === l4.seq >>> 0)) {
      const h: Half = { isn: l4.seq >>> 0, role: f.ack ? 'server' : 'client', sends: [] };
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
  for (const [key, t] of sendT) {
    const h = halfOf(Number(key.split('|')[0]));
    if (h) h.sends.push(t);
  }
  for (const h of halves) h.sends.sort((a, b) => a - b);
  const tsval = (h: Half, t: number): number => (tsOffset(h.isn) + Math.floor(t / 1000)) >>> 0;

  return (p, l4) => {
    const f = l4.flags;
    if (f.rst) return { window: 0, sackPermitted: false };
    const h = halfOf(l4.seq >>> 0);
    if (!h) return { window: LINUX_TCP.clientWindow, sackPermitted: false };
    const t = sendT.get(segmentKey(p, l4)) ?? 0;
    const peer = h.peerIsn !== undefined ? halves.find((x) => x.isn === h.peerIsn) : undefined;
    let ecr = 0;
    if (f.ack && peer) {
      const before = peer.sends.filter((s) => s <= t);
      if (before.length > 0) ecr = tsval(peer, before[before.length - 1]!);
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
}
