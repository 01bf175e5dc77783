/**
 * Packets and frames as the engine moves them. Plain values, copied on every rewrite (NAT, TTL),
 * so each trace step can keep the packet it saw.
 */
import type { Ipv4 } from '../wire/ipv4.js';


export interface TcpFlags {
  readonly syn?: boolean;
  readonly ack?: boolean;
  readonly fin?: boolean;
  readonly rst?: boolean;
  readonly psh?: boolean;
}

export interface TcpHeader {
  readonly kind: 'tcp';
  readonly sport: number;
  readonly dport: number;
  readonly flags: TcpFlags;
  readonly seq: number;
  readonly ack: number;
  /** payload bytes */
  readonly len: number;
  /** application data, for the pcap writer (request/response text) */
  readonly data?: string;
}

export interface UdpHeader {
  readonly kind: 'udp';
  readonly sport: number;
  readonly dport: number;
  readonly len: number;
  readonly data?: string;
}

export interface IcmpHeader {
  readonly kind: 'icmp';
  readonly type: number;
  readonly code: number;
  /** echo: identifier and sequence */
  readonly id?: number;
  readonly seq?: number;
  /** errors: the offending packet as it left the reporting host (header + 8 bytes) */
  readonly quoted?: IpPacket;
}

export type L4 = TcpHeader | UdpHeader | IcmpHeader;

export interface IpPacket {
  readonly src: Ipv4;
  readonly dst: Ipv4;
  readonly ttl: number;
  readonly id: number;
  readonly l4: L4;
}

/** The same packet with another TTL (ip_decrease_ttl). */
export function withTtl(p: IpPacket, ttl: number): IpPacket {
  return { src: p.src, dst: p.dst, ttl, id: p.id, l4: p.l4 };
}

/** The same packet with other addresses and transport header (NAT). */
export function withAddrs(p: IpPacket, src: Ipv4, dst: Ipv4, l4: L4): IpPacket {
  return { src, dst, ttl: p.ttl, id: p.id, l4 };
}

export const ICMP = {
  ECHOREPLY: 0,
  DEST_UNREACH: 3,
  ECHO: 8,
  TIME_EXCEEDED: 11,
  // DEST_UNREACH codes
  NET_UNREACH: 0,
  HOST_UNREACH: 1,
  PROT_UNREACH: 2,
  PORT_UNREACH: 3,
  NET_ANO: 9,
  HOST_ANO: 10,
  PKT_FILTERED: 13,
} as const;

export interface ArpPacket {
  readonly op: 'request' | 'reply';
  readonly sha: string;
  readonly spa: Ipv4;
  readonly tha: string;
  readonly tpa: Ipv4;
}

export interface Frame {
  readonly src: string;
  readonly dst: string;
  readonly payload: { readonly kind: 'ip'; readonly ip: IpPacket } | { readonly kind: 'arp'; readonly arp: ArpPacket };
}

export const BROADCAST_MAC = 'ff:ff:ff:ff:ff:ff';

/** The group bit of the first octet (01:00:5e:... for IPv4 multicast). */
export function isMulticastMac(mac: string): boolean {
  // the second hex digit holds the group bit: odd digits are 1 3 5 7 9 b d f
  const c = mac.charCodeAt(1) | 0x20; // lower case
  return c >= 0x61 ? ((c - 0x57) & 1) === 1 : ((c - 0x30) & 1) === 1;
}

export function isIcmpError(p: IpPacket): boolean {
  return p.l4.kind === 'icmp' && (p.l4.type === ICMP.DEST_UNREACH || p.l4.type === ICMP.TIME_EXCEEDED);
}


