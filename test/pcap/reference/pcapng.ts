/**
 * The capture writer as it was before it was made fast (src/pcap/pcapng.ts, copied unchanged but
 * for import paths): test/pcap/identical.test.ts holds today's writer to these bytes.
 *
 * pcapng (https://www.ietf.org/archive/id/draft-ietf-opsawg-pcapng-02.html): one Section Header
 * Block, one Interface Description Block per interface (`if_name`, `if_description`,
 * `if_tsresol` = microseconds), then one Enhanced Packet Block per frame with `opt_comment` and
 * `epb_flags` (direction: inbound or outbound). Little-endian.
 */
import { LINKTYPE_ETHERNET, SNAPLEN } from './pcap.js';

export interface PcapngInterface {
  readonly name: string;
  readonly description?: string;
}

export interface PcapngPacket {
  /** index into the interfaces */
  readonly iface: number;
  /** microseconds since the Unix epoch */
  readonly tUs: number;
  readonly data: Uint8Array;
  readonly dir?: 'in' | 'out';
  readonly comment?: string;
}

const BLOCK = { shb: 0x0a0d0d0a, idb: 0x00000001, epb: 0x00000006 } as const;
const OPT = { end: 0, comment: 1, shbUserappl: 4, ifName: 2, ifDescription: 3, ifTsresol: 9, epbFlags: 2 } as const;

const utf8 = new TextEncoder();
const pad4 = (n: number): number => (n + 3) & ~3;

class Writer {
  private chunks: Uint8Array[] = [];
  private n = 0;
  u8(v: number): void {
    this.push(Uint8Array.of(v & 0xff));
  }
  u16(v: number): void {
    const b = new Uint8Array(2);
    new DataView(b.buffer).setUint16(0, v, true);
    this.push(b);
  }
  u32(v: number): void {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, v >>> 0, true);
    this.push(b);
  }
  bytes(b: Uint8Array): void {
    this.push(b);
    const p = pad4(b.length) - b.length;
    if (p) this.push(new Uint8Array(p));
  }
  option(code: number, value: Uint8Array): void {
    this.u16(code);
    this.u16(value.length);
    this.bytes(value);
  }
  end(): void {
    this.u16(OPT.end);
    this.u16(0);
  }
  get length(): number {
    return this.n;
  }
  done(): Uint8Array {
    const out = new Uint8Array(this.n);
    let at = 0;
    for (const c of this.chunks) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  }
  private push(b: Uint8Array): void {
    this.chunks.push(b);
    this.n += b.length;
  }
}

/** type, total length, body, total length again */
function block(type: number, body: Uint8Array): Uint8Array {
  const w = new Writer();
  w.u32(type);
  w.u32(body.length + 12);
  w.bytes(body);
  w.u32(body.length + 12);
  return w.done();
}

export function encodePcapng(interfaces: readonly PcapngInterface[], packets: readonly PcapngPacket[], userappl = 'netpath'): Uint8Array {
  const out = new Writer();
  const shb = new Writer();
  shb.u32(0x1a2b3c4d);
  shb.u16(1);
  shb.u16(0);
  shb.u32(0xffffffff); // section length: not given (-1)
  shb.u32(0xffffffff);
  shb.option(OPT.shbUserappl, utf8.encode(userappl));
  shb.end();
  out.bytes(block(BLOCK.shb, shb.done()));
  for (const i of interfaces) {
    const idb = new Writer();
    idb.u16(LINKTYPE_ETHERNET);
    idb.u16(0);
    idb.u32(SNAPLEN);
    idb.option(OPT.ifName, utf8.encode(i.name));
    if (i.description !== undefined) idb.option(OPT.ifDescription, utf8.encode(i.description));
    idb.option(OPT.ifTsresol, Uint8Array.of(6));
    idb.end();
    out.bytes(block(BLOCK.idb, idb.done()));
  }
  for (const p of packets) {
    if (p.iface < 0 || p.iface >= interfaces.length) throw new Error(`pcapng: packet for interface ${p.iface} of ${interfaces.length}`);
    const epb = new Writer();
    epb.u32(p.iface);
    epb.u32(Math.floor(p.tUs / 2 ** 32));
    epb.u32(p.tUs % 2 ** 32);
    epb.u32(p.data.length);
    epb.u32(p.data.length);
    epb.bytes(p.data);
    if (p.comment) epb.option(OPT.comment, utf8.encode(p.comment));
    if (p.dir) {
      const f = new Uint8Array(4);
      new DataView(f.buffer).setUint32(0, p.dir === 'in' ? 1 : 2, true);
      epb.option(OPT.epbFlags, f);
    }
    epb.end();
    out.bytes(block(BLOCK.epb, epb.done()));
  }
  return out.done();
}
