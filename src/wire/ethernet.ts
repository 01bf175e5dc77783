/** Ethernet II (IEEE 802.3 with an EtherType), no FCS: what tcpdump sees on a Linux interface. */
import { fail, ok, put16, u16, type Parsed } from './result.js';

/** A MAC address as `ip link` prints it: six lowercase hex pairs joined by colons. */
export type Mac = string;

export const ETHERTYPE = { ipv4: 0x0800, arp: 0x0806 } as const;

const field = { dst: 0, src: 6, ethertype: 12 } as const;
export const ETHERNET_HEADER_LEN = 14;

const MAC_TEXT = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;

export function parseMac(text: string): Uint8Array | undefined {
  const t = text.toLowerCase();
  if (!MAC_TEXT.test(t)) return undefined;
  return Uint8Array.from(t.split(':').map((h) => parseInt(h, 16)));
}

export function formatMac(b: Uint8Array, at = 0): Mac {
  const parts: string[] = [];
  for (let i = 0; i < 6; i++) parts.push(b[at + i]!.toString(16).padStart(2, '0'));
  return parts.join(':');
}

/** Writes a MAC given as text; a malformed one is a bug of the caller (engine MACs are generated). */
export function putMac(b: Uint8Array, at: number, mac: Mac): void {
  const m = parseMac(mac);
  if (!m) throw new Error(`not a MAC address: ${mac}`);
  b.set(m, at);
}

export interface EthernetRepr {
  readonly dst: Mac;
  readonly src: Mac;
  readonly ethertype: number;
}

export const EthernetRepr = {
  parse(b: Uint8Array): Parsed<{ repr: EthernetRepr; payload: Uint8Array }> {
    if (b.length < ETHERNET_HEADER_LEN) return fail('ethernet', 'truncated', `${b.length} bytes, header needs ${ETHERNET_HEADER_LEN}`);
    const ethertype = u16(b, field.ethertype);
    if (ethertype < 0x0600) return fail('ethernet', 'unsupported', `802.3 length field ${ethertype}, not an EtherType`);
    return ok({ repr: { dst: formatMac(b, field.dst), src: formatMac(b, field.src), ethertype }, payload: b.subarray(ETHERNET_HEADER_LEN) });
  },

  bufferLen(payloadLen: number): number {
    return ETHERNET_HEADER_LEN + payloadLen;
  },

  emit(r: EthernetRepr, payload: Uint8Array): Uint8Array {
    const b = new Uint8Array(EthernetRepr.bufferLen(payload.length));
    putMac(b, field.dst, r.dst);
    putMac(b, field.src, r.src);
    put16(b, field.ethertype, r.ethertype);
    b.set(payload, ETHERNET_HEADER_LEN);
    return b;
  },
};
