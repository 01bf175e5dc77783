/**
 * pcapng (https://www.ietf.org/archive/id/draft-ietf-opsawg-pcapng-02.html): one Section Header
 * Block, one Interface Description Block per interface (`if_name`, `if_description`,
 * `if_tsresol` = microseconds), then one Enhanced Packet Block per frame with `opt_comment` and
 * `epb_flags` (direction: inbound or outbound). Little-endian.
 *
 * The file is sized first (text lengths in UTF-8 without encoding), then every block is written
 * in place into that one buffer: no per-field arrays, no copies.
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
/** block type, block total length before the body; total length again after it */
const BLOCK_FRAME = 12;
/** option code and option length */
const OPT_HEAD = 4;
const EPB_FIXED = 20;

const utf8 = new TextEncoder();
const pad4 = (n: number): number => (n + 3) & ~3;

/** Bytes of `s` in UTF-8 (what TextEncoder writes: a lone surrogate becomes U+FFFD, 3 bytes). */
export function utf8Length(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) n += 1;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 2; // a surrogate pair: 2 UTF-16 units, 4 bytes
      i++;
    } else n += 2;
  }
  return n;
}

/** A text option's size: head, the text padded to 4. */
const textOption = (bytes: number): number => OPT_HEAD + pad4(bytes);

class Out {
  readonly b: Uint8Array;
  readonly v: DataView;
  at = 0;
  constructor(size: number) {
    this.b = new Uint8Array(size);
    this.v = new DataView(this.b.buffer);
  }
  u16(x: number): void {
    this.v.setUint16(this.at, x, true);
    this.at += 2;
  }
  u32(x: number): void {
    this.v.setUint32(this.at, x >>> 0, true);
    this.at += 4;
  }
  /** bytes, then zeros up to a multiple of 4 (the buffer is zeroed: skipping is writing them) */
  bytes(x: Uint8Array): void {
    this.b.set(x, this.at);
    this.at += pad4(x.length);
  }
  /** a text option of `len` UTF-8 bytes */
  text(code: number, s: string, len: number): void {
    this.u16(code);
    this.u16(len);
    utf8.encodeInto(s, this.b.subarray(this.at, this.at + len));
    this.at += pad4(len);
  }
  /** a block's type and total length, and the end of options and the trailing length */
  open(type: number, total: number): void {
    this.u32(type);
    this.u32(total);
  }
  close(total: number): void {
    this.u16(OPT.end);
    this.u16(0);
    this.u32(total);
  }
}

export function encodePcapng(interfaces: readonly PcapngInterface[], packets: readonly PcapngPacket[], userappl = 'netpath'): Uint8Array {
  const applLen = utf8Length(userappl);
  const shbLen = BLOCK_FRAME + 16 + textOption(applLen) + OPT_HEAD;
  const names = interfaces.map((i) => utf8Length(i.name));
  const descs = interfaces.map((i) => (i.description !== undefined ? utf8Length(i.description) : -1));
  const idbLens = interfaces.map((_, k) => BLOCK_FRAME + 8 + textOption(names[k]!) + (descs[k]! >= 0 ? textOption(descs[k]!) : 0) + OPT_HEAD + 4 + OPT_HEAD);
  const comments = new Int32Array(packets.length);
  let size = shbLen;
  for (const n of idbLens) size += n;
  for (let k = 0; k < packets.length; k++) {
    const p = packets[k]!;
    if (p.iface < 0 || p.iface >= interfaces.length) throw new Error(`pcapng: packet for interface ${p.iface} of ${interfaces.length}`);
    const c = p.comment ? utf8Length(p.comment) : -1;
    comments[k] = c;
    size += BLOCK_FRAME + EPB_FIXED + pad4(p.data.length) + (c >= 0 ? textOption(c) : 0) + (p.dir ? OPT_HEAD + 4 : 0) + OPT_HEAD;
  }

  const o = new Out(size);
  o.open(BLOCK.shb, shbLen);
  o.u32(0x1a2b3c4d);
  o.u16(1);
  o.u16(0);
  o.u32(0xffffffff); // section length: not given (-1)
  o.u32(0xffffffff);
  o.text(OPT.shbUserappl, userappl, applLen);
  o.close(shbLen);
  interfaces.forEach((i, k) => {
    o.open(BLOCK.idb, idbLens[k]!);
    o.u16(LINKTYPE_ETHERNET);
    o.u16(0);
    o.u32(SNAPLEN);
    o.text(OPT.ifName, i.name, names[k]!);
    if (i.description !== undefined) o.text(OPT.ifDescription, i.description, descs[k]!);
    o.u16(OPT.ifTsresol);
    o.u16(1);
    o.b[o.at] = 6;
    o.at += 4;
    o.close(idbLens[k]!);
  });
  for (let k = 0; k < packets.length; k++) {
    const p = packets[k]!;
    const c = comments[k]!;
    const total = BLOCK_FRAME + EPB_FIXED + pad4(p.data.length) + (c >= 0 ? textOption(c) : 0) + (p.dir ? OPT_HEAD + 4 : 0) + OPT_HEAD;
    o.open(BLOCK.epb, total);
    o.u32(p.iface);
    o.u32(Math.floor(p.tUs / 2 ** 32));
    o.u32(p.tUs % 2 ** 32);
    o.u32(p.data.length);
    o.u32(p.data.length);
    o.bytes(p.data);
    if (c >= 0) o.text(OPT.comment, p.comment!, c);
    if (p.dir) {
      o.u16(OPT.epbFlags);
      o.u16(4);
      o.u32(p.dir === 'in' ? 1 : 2);
    }
    o.close(total);
  }
  if (o.at !== size) throw new Error(`netpath bug: pcapng sized ${size} bytes, wrote ${o.at}`);
  return o.b;
}
