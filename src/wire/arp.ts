/** ARP for IPv4 over Ethernet (RFC 826): hardware type 1, protocol 0x0800, lengths 6 and 4. */
import type { Ipv4 } from './ipv4.js';
import { formatMac, putMac, type Mac } from './ethernet.js';
import { fail, ok, put16, put32, u16, u32, type Parsed } from './result.js';

export const ARP_OP = { request: 1, reply: 2 } as const;

const field = { htype: 0, ptype: 2, hlen: 4, plen: 5, oper: 6, sha: 8, spa: 14, tha: 18, tpa: 24 } as const;
export const ARP_LEN = 28;

export interface ArpRepr {
  /** 1 request, 2 reply */
  readonly op: number;
  readonly sha: Mac;
  readonly spa: Ipv4;
  readonly tha: Mac;
  readonly tpa: Ipv4;
}

export const ArpRepr = {
  /** Trailing bytes (Ethernet padding to 60) are ignored, as the kernel does. */
  parse(b: Uint8Array): Parsed<ArpRepr> {
    if (b.length < ARP_LEN) return fail('arp', 'truncated', `${b.length} bytes, ARP needs ${ARP_LEN}`);
    if (u16(b, field.htype) !== 1 || u16(b, field.ptype) !== 0x0800 || b[field.hlen] !== 6 || b[field.plen] !== 4)
      return fail('arp', 'unsupported', 'not Ethernet/IPv4 ARP');
    return ok({ op: u16(b, field.oper), sha: formatMac(b, field.sha), spa: u32(b, field.spa), tha: formatMac(b, field.tha), tpa: u32(b, field.tpa) });
  },

  bufferLen(): number {
    return ARP_LEN;
  },

  emit(r: ArpRepr): Uint8Array {
    const b = new Uint8Array(ARP_LEN);
    put16(b, field.htype, 1);
    put16(b, field.ptype, 0x0800);
    b[field.hlen] = 6;
    b[field.plen] = 4;
    put16(b, field.oper, r.op);
    putMac(b, field.sha, r.sha);
    put32(b, field.spa, r.spa);
    putMac(b, field.tha, r.tha);
    put32(b, field.tpa, r.tpa);
    return b;
  },
};
