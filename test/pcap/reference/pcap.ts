/**
 * The capture writer as it was before it was made fast (src/pcap/pcap.ts, copied unchanged but
 * for import paths): test/pcap/identical.test.ts holds today's writer to these bytes.
 *
 * Classic libpcap files (https://www.tcpdump.org/manpages/pcap-savefile.5.html): a 24-byte header,
 * then one 16-byte record header per frame. Little-endian, microsecond timestamps, link type 1
 * (Ethernet), snap length 262144 as tcpdump writes them.
 */
export const LINKTYPE_ETHERNET = 1;
export const SNAPLEN = 262144;

export interface PcapRecord {
  /** microseconds since the Unix epoch */
  readonly tUs: number;
  readonly data: Uint8Array;
}

export function encodePcap(records: readonly PcapRecord[]): Uint8Array {
  const total = 24 + records.reduce((n, r) => n + 16 + r.data.length, 0);
  const b = new Uint8Array(total);
  const v = new DataView(b.buffer);
  v.setUint32(0, 0xa1b2c3d4, true);
  v.setUint16(4, 2, true);
  v.setUint16(6, 4, true);
  v.setInt32(8, 0, true); // thiszone
  v.setUint32(12, 0, true); // sigfigs
  v.setUint32(16, SNAPLEN, true);
  v.setUint32(20, LINKTYPE_ETHERNET, true);
  let at = 24;
  for (const r of records) {
    const sec = Math.floor(r.tUs / 1e6);
    v.setUint32(at, sec, true);
    v.setUint32(at + 4, r.tUs - sec * 1e6, true);
    v.setUint32(at + 8, r.data.length, true);
    v.setUint32(at + 12, r.data.length, true);
    b.set(r.data, at + 16);
    at += 16 + r.data.length;
  }
  return b;
}
