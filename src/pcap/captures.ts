/**
 * A probe's captures as files: one classic pcap per (namespace, interface) that saw a frame, and
 * one pcapng holding every interface with a comment on each packet.
 *
 * Time: trace k starts at `epochUs` plus the whole seconds the traces before it took (each
 * rounded up, at least one second), so several probes (or `-m statistic` branches) follow each
 * other in one file; a frame's time is that start plus its simulated microseconds. The default
 * epoch is 2022-06-15 05:39:40 UTC, when the seed article took its captures. Nothing else
 * depends on the clock or the machine: the same model gives byte-identical files.
 *
 * File names: `NETNS_IFACE.pcap`, where NETNS is the namespace as netpath prints it (`web2`,
 * `web2/ngx1`, or `ngx1` when that is unambiguous) with `/` written as `_`, and any character
 * other than letters, digits, `.`, `-` and `_` also written as `_`: `web2_eth0.pcap`,
 * `web2_ngx1_eth0.pcap`, `web2_veth1-p.pcap`. Should two interfaces still get the same name, the
 * later one (in order of first capture) gets `.2`, `.3` ... before `.pcap`.
 *
 * A capture folder holds a manifest, `.netpath-captures`: the names of the files netpath wrote
 * there, one a line. The next run into the same folder removes those files before it writes its
 * own, so no capture of an earlier run is left beside the new ones; any other file is left
 * alone, and a file the new run would replace that netpath did not write stops it (exit 2)
 * before anything is written. Files are written through a temporary name and a rename, never
 * through a symbolic link (src/cli/outpath.ts).
 *
 * Writing: a `CaptureWriter` takes one trace at a time (`add`), so a caller can drop each trace
 * once it is added. Each frame is sized, then written once, in place, into the growing buffer of
 * its interface's pcap file and into the pcapng's packet blocks; comments are made only for the
 * pcapng (classic pcap has none). The files come out byte for byte as from `captureFrames` and
 * the plain encoders (test/pcap/identical.test.ts).
 */
import { readFileSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../model/errors.js';
import { checkOutputDir, makeOutputDir, tryLstat, writeFileSafely } from '../cli/outpath.js';
import type { NsId } from '../model/link.js';
import type { ProbeTrace } from '../trace/types.js';
import { captureComments } from './comments.js';
import { frameBytes, frameLayout, linuxTcpExtras, writeFrame } from './encode.js';
import { LINKTYPE_ETHERNET, SNAPLEN } from './pcap.js';

export type NameOf = (ns: NsId) => string;

export interface CaptureOptions {
  /** when the simulated clock starts, µs since the Unix epoch */
  readonly epochUs?: number;
  /** one label per trace (e.g. the probe name), put in front of its first packet's comment */
  readonly labels?: readonly (string | undefined)[];
}

/** 2022-06-15T05:39:40Z, the article's `curl` */
export const DEFAULT_EPOCH_US = 1_655_271_580_000_000;

interface Frame {
  readonly ns: NsId;
  readonly dev: string;
  readonly dir: 'in' | 'out';
  readonly tUs: number;
  readonly data: Uint8Array;
  readonly comment: string;
}

/** Every captured frame of every trace, in time order, with bytes and comment. */
export function captureFrames(traces: readonly ProbeTrace[], opts: CaptureOptions = {}): Frame[] {
  const out: Frame[] = [];
  let base = opts.epochUs ?? DEFAULT_EPOCH_US;
  traces.forEach((tr, k) => {
    const tcp = linuxTcpExtras(tr.captures);
    const comments = captureComments(tr);
    const label = opts.labels?.[k];
    let last = 0;
    tr.captures.forEach((c, i) => {
      last = Math.max(last, c.t);
      const comment = comments[i] ?? '';
      out.push({
        ns: c.ns,
        dev: c.dev,
        dir: c.dir,
        tUs: base + c.t,
        data: frameBytes(c.frame, tcp),
        comment: i === 0 && label ? `[${label}] ${comment}` : comment,
      });
    });
    base += (Math.floor(last / 1e6) + 1) * 1e6;
  });
  return out;
}

export function captureFileName(nsName: string, dev: string): string {
  return `${`${nsName}/${dev}`.replace(/[^A-Za-z0-9._-]/g, '_')}.pcap`;
}

export interface PcapFile {
  readonly name: string;
  readonly ns: NsId;
  readonly dev: string;
  readonly packets: number;
  readonly bytes: Uint8Array;
}

/** One classic pcap per interface that saw traffic, in order of first capture. */
export function pcapFiles(traces: readonly ProbeTrace[], nameOf: NameOf = (ns) => ns, opts: CaptureOptions = {}): PcapFile[] {
  return new CaptureWriter({ pcap: true, ...(opts.epochUs !== undefined ? { epochUs: opts.epochUs } : {}) }).addAll(traces, opts.labels).pcapFiles(nameOf);
}

/** A growing byte buffer; new bytes are zero. */
class Bytes {
  b: Uint8Array;
  v: DataView;
  /** the same bytes as a Buffer, for its UTF-8 writer (`text`) */
  s: Buffer;
  at = 0;
  constructor(size: number) {
    this.b = new Uint8Array(size);
    this.v = new DataView(this.b.buffer);
    this.s = Buffer.from(this.b.buffer, 0, size);
  }
  /** makes room for `n` more bytes after `at` */
  room(n: number): void {
    if (this.at + n <= this.b.length) return;
    const b = new Uint8Array(Math.max(this.b.length * 2, this.at + n));
    b.set(this.b.subarray(0, this.at));
    this.b = b;
    this.v = new DataView(b.buffer);
    this.s = Buffer.from(b.buffer, 0, b.length);
  }
  /**
   * Writes `s` in UTF-8 at `at` (room made for 3 bytes per UTF-16 unit); returns the bytes
   * written. Buffer's writer: a lone surrogate becomes U+FFFD, as with TextEncoder.
   */
  text(at: number, s: string): number {
    return this.s.write(s, at);
  }
  /** the bytes so far: a view, which later writes (only ever past `at`) leave as it is */
  bytes(): Uint8Array {
    return this.b.subarray(0, this.at);
  }
}

interface Iface {
  /** its interface number in the pcapng */
  readonly index: number;
  readonly ns: NsId;
  readonly dev: string;
  packets: number;
  /** its pcap file so far (when writing pcap) */
  readonly pcap: Bytes | undefined;
}

const PCAP_RECORD = 16;
/**
 * Bytes left free in front of the pcapng's packets for the Section Header Block and the Interface
 * Description Blocks, written last (about 150 bytes an interface): the file is not copied when
 * they fit.
 */
const HEAD_ROOM = 32 * 1024;
/** Enhanced Packet Block: type, length, interface, time (2), captured and original length */
const EPB_HEAD = 28;
/** epb_flags option, end of options, trailing length */
const EPB_FLAGS = 8;
const EPB_TAIL = 8;

/**
 * Captures as files, one trace at a time: `add` each trace (or `addAll`), then take `pcapFiles`
 * and/or `pcapngBytes`. Only the formats asked for are made.
 */
export class CaptureWriter {
  private readonly wantPcap: boolean;
  private readonly ng: Bytes | undefined;
  private readonly ifaces: Iface[] = [];
  private readonly index = new Map<NsId, Map<string, number>>();
  private base: number;
  private packets = 0;
  /** the comments of the trace being added in UTF-8, comment i at [ends[i], ends[i + 1]) (pcapng) */
  private readonly notes: Bytes | undefined;
  private ends = new Int32Array(64);
  /** whether `pcapngBytes` wrote its blocks into the room in front of the packets */
  private headPlaced = false;

  constructor(opts: { readonly pcap?: boolean; readonly pcapng?: boolean; readonly epochUs?: number }) {
    this.wantPcap = opts.pcap ?? false;
    this.ng = opts.pcapng ? new Bytes(1 << 16) : undefined;
    if (this.ng !== undefined) this.ng.at = HEAD_ROOM;
    this.notes = opts.pcapng ? new Bytes(1 << 12) : undefined;
    this.base = opts.epochUs ?? DEFAULT_EPOCH_US;
  }

  /**
   * Encodes `comments` (`label` heads the first) into `notes` and their bounds into `ends`: all
   * of them in one UTF-8 write when they are ASCII (as nearly always: a write per comment costs
   * more than the copy of its bytes), one write each otherwise.
   */
  private encodeComments(notes: Bytes, comments: readonly string[], label: string | undefined): Int32Array {
    const n = comments.length;
    if (this.ends.length <= n) this.ends = new Int32Array(2 * n + 2);
    const ends = this.ends;
    const head = label && n > 0 ? `[${label}] ` : '';
    const all = head + comments.join('');
    notes.at = 0;
    notes.room(3 * all.length);
    ends[0] = 0;
    if (notes.text(0, all) === all.length) {
      // ASCII: a byte per UTF-16 unit
      let at = head.length;
      for (let i = 0; i < n; i++) ends[i + 1] = at += comments[i]!.length;
      return ends;
    }
    let at = 0;
    for (let i = 0; i < n; i++) ends[i + 1] = at += notes.text(at, i === 0 ? head + comments[0]! : comments[i]!);
    return ends;
  }

  /** frames written so far */
  get count(): number {
    return this.packets;
  }

  addAll(traces: readonly ProbeTrace[], labels?: readonly (string | undefined)[]): this {
    // the pcapng sized for frames and comments of about 200 bytes, grown when that is short
    if (this.ng !== undefined) this.ng.room(200 * traces.reduce((n, t) => n + t.captures.length, 0));
    traces.forEach((t, k) => this.add(t, labels?.[k]));
    return this;
  }

  /** Every frame of `trace`, after those of the traces added before; `label` heads its first comment. */
  add(trace: ProbeTrace, label?: string): void {
    const caps = trace.captures;
    const tcp = linuxTcpExtras(caps);
    const ng = this.ng;
    const notes = this.notes;
    const ends = ng !== undefined && notes !== undefined ? this.encodeComments(notes, captureComments(trace), label) : undefined;
    const base = this.base;
    let last = 0;
    let f: Iface | undefined;
    for (let i = 0; i < caps.length; i++) {
      const c = caps[i]!;
      if (c.t > last) last = c.t;
      const tUs = base + c.t;
      if (f === undefined || f.ns !== c.ns || f.dev !== c.dev) f = this.iface(c.ns, c.dev);
      f.packets++;
      const l = frameLayout(c.frame, tcp);
      const len = l.len;
      let data = -1;
      let db: Uint8Array | undefined;
      const pc = f.pcap;
      if (pc !== undefined) {
        pc.room(PCAP_RECORD + len);
        const v = pc.v;
        const at = pc.at;
        const sec = Math.floor(tUs / 1e6);
        v.setUint32(at, sec, true);
        v.setUint32(at + 4, tUs - sec * 1e6, true);
        v.setUint32(at + 8, len, true);
        v.setUint32(at + 12, len, true);
        data = at + PCAP_RECORD;
        writeFrame(pc.b, data, c.frame, l);
        db = pc.b;
        pc.at = data + len;
      }
      if (ng !== undefined) {
        const from = ends![i]!;
        const note = ends![i + 1]! - from;
        const padded = (len + 3) & ~3;
        ng.room(EPB_HEAD + padded + (note > 0 ? 4 + note + 3 : 0) + EPB_FLAGS + EPB_TAIL);
        const v = ng.v;
        const start = ng.at;
        v.setUint32(start, 0x00000006, true);
        v.setUint32(start + 8, f.index, true);
        const hi = Math.floor(tUs / 2 ** 32);
        v.setUint32(start + 12, hi, true);
        v.setUint32(start + 16, tUs - hi * 2 ** 32, true); // not %: a floating-point remainder is a call
        v.setUint32(start + 20, len, true);
        v.setUint32(start + 24, len, true);
        const at = start + EPB_HEAD;
        if (db !== undefined) ng.b.set(db.subarray(data, data + len), at);
        else writeFrame(ng.b, at, c.frame, l);
        let o = at + padded;
        if (note > 0) {
          // the comment's bytes, four at a time
          const t = notes!.v;
          const to = o + 4;
          let k = 0;
          for (; k + 4 <= note; k += 4) v.setUint32(to + k, t.getUint32(from + k));
          for (; k < note; k++) ng.b[to + k] = notes!.b[from + k]!;
          v.setUint16(o, 1, true); // opt_comment
          v.setUint16(o + 2, note, true);
          o += 4 + ((note + 3) & ~3);
        }
        v.setUint16(o, 2, true); // epb_flags: inbound 1, outbound 2
        v.setUint16(o + 2, 4, true);
        v.setUint32(o + 4, c.dir === 'in' ? 1 : 2, true);
        // opt_endofopt is 4 zero bytes
        const total = o + EPB_FLAGS + 4 + 4 - start;
        v.setUint32(start + 4, total, true);
        v.setUint32(start + total - 4, total, true);
        ng.at = start + total;
      }
      this.packets++;
    }
    this.base = base + (Math.floor(last / 1e6) + 1) * 1e6;
  }

  private iface(ns: NsId, dev: string): Iface {
    let m = this.index.get(ns);
    if (m === undefined) this.index.set(ns, (m = new Map()));
    let k = m.get(dev);
    if (k === undefined) {
      k = this.ifaces.length;
      m.set(dev, k);
      let pcap: Bytes | undefined;
      if (this.wantPcap) {
        pcap = new Bytes(4096);
        const v = pcap.v;
        v.setUint32(0, 0xa1b2c3d4, true);
        v.setUint16(4, 2, true);
        v.setUint16(6, 4, true);
        v.setUint32(16, SNAPLEN, true);
        v.setUint32(20, LINKTYPE_ETHERNET, true);
        pcap.at = 24;
      }
      this.ifaces.push({ index: k, ns, dev, packets: 0, pcap });
    }
    return this.ifaces[k]!;
  }

  /** One classic pcap per interface, in order of first capture (the writer must have been made with `pcap`). */
  pcapFiles(nameOf: NameOf = (ns) => ns): PcapFile[] {
    if (!this.wantPcap) throw new Error('netpath bug: CaptureWriter made without pcap');
    const used = new Set<string>();
    return this.ifaces.map((g) => {
      const plain = captureFileName(nameOf(g.ns), g.dev);
      let name = plain;
      for (let n = 2; used.has(name); n++) name = plain.replace(/\.pcap$/, `.${n}.pcap`);
      used.add(name);
      return { name, ns: g.ns, dev: g.dev, packets: g.packets, bytes: g.pcap!.bytes() };
    });
  }

  /** The pcapng (the writer must have been made with `pcapng`): an interface `NETNS/IFACE` per interface, a comment on every packet. */
  pcapngBytes(nameOf: NameOf = (ns) => ns, userappl = 'netpath'): Uint8Array {
    const ng = this.ng;
    if (ng === undefined) throw new Error('netpath bug: CaptureWriter made without pcapng');
    const head = new Bytes(256);
    const textOpt = (code: number, s: string): void => {
      head.room(4 + 3 * s.length + 3);
      const n = head.text(head.at + 4, s);
      head.v.setUint16(head.at, code, true);
      head.v.setUint16(head.at + 2, n, true);
      head.at += 4 + ((n + 3) & ~3);
    };
    const close = (start: number): void => {
      head.room(8);
      head.at += 4; // opt_endofopt
      const total = head.at + 4 - start;
      head.v.setUint32(start + 4, total, true);
      head.v.setUint32(head.at, total, true);
      head.at += 4;
    };
    // Section Header Block
    head.v.setUint32(0, 0x0a0d0d0a, true);
    head.v.setUint32(8, 0x1a2b3c4d, true);
    head.v.setUint16(12, 1, true);
    head.v.setUint16(14, 0, true);
    head.v.setUint32(16, 0xffffffff, true); // section length: not given (-1)
    head.v.setUint32(20, 0xffffffff, true);
    head.at = 24;
    textOpt(4, userappl); // shb_userappl
    close(0);
    // one Interface Description Block per interface
    for (const f of this.ifaces) {
      const start = head.at;
      head.room(16);
      head.v.setUint32(start, 0x00000001, true);
      head.v.setUint16(start + 8, LINKTYPE_ETHERNET, true);
      head.v.setUint32(start + 12, SNAPLEN, true);
      head.at += 16;
      textOpt(2, `${nameOf(f.ns)}/${f.dev}`); // if_name
      textOpt(3, `interface ${f.dev} in network namespace ${f.ns} (netpath simulation)`); // if_description
      head.room(8);
      head.v.setUint16(head.at, 9, true); // if_tsresol: microseconds
      head.v.setUint16(head.at + 2, 1, true);
      head.b[head.at + 4] = 6;
      head.at += 8;
      close(start);
    }
    // the blocks go in front of the packets, into the room left for them (once: a view of the
    // file is returned, which a later call must not change)
    if (!this.headPlaced && head.at <= HEAD_ROOM) {
      this.headPlaced = true;
      ng.b.set(head.b.subarray(0, head.at), HEAD_ROOM - head.at);
      return ng.b.subarray(HEAD_ROOM - head.at, ng.at);
    }
    const out = new Uint8Array(head.at + ng.at - HEAD_ROOM);
    out.set(head.b.subarray(0, head.at));
    out.set(ng.b.subarray(HEAD_ROOM, ng.at), head.at);
    return out;
  }
}

/** The manifest of a capture folder: the files netpath wrote there. */
export const MANIFEST = '.netpath-captures';

const CAPTURE_NAME = /^[A-Za-z0-9_-][A-Za-z0-9._-]*\.pcap$/;

/** The names a folder's manifest lists (only plain capture names: a line naming another path is ignored). */
export function readManifest(dir: string): string[] {
  const st = tryLstat(join(dir, MANIFEST));
  if (st === undefined || !st.isFile()) return [];
  return readFileSync(join(dir, MANIFEST), 'utf8')
    .split('\n')
    .filter((l) => CAPTURE_NAME.test(l));
}

/**
 * Writes `pcapFiles` into `dir` (created when its parent exists); returns what it wrote. `opt`
 * names the option in errors.
 */
export function writeCaptures(traces: readonly ProbeTrace[], dir: string, nameOf: NameOf = (ns) => ns, opts: CaptureOptions = {}, opt = '--pcap'): PcapFile[] {
  return writePcapFiles(pcapFiles(traces, nameOf, opts), dir, opt);
}

/** Writes pcap files made before (`pcapFiles`, `CaptureWriter`) into `dir`, as `writeCaptures`. */
export function writePcapFiles(files: readonly PcapFile[], dir: string, opt = '--pcap'): PcapFile[] {
  const { create } = checkOutputDir(dir, opt);
  if (create) makeOutputDir(dir, opt);
  const ours = new Set(readManifest(dir));
  const foreign = files.filter((f) => !ours.has(f.name) && tryLstat(join(dir, f.name)) !== undefined).map((f) => f.name);
  if (foreign.length > 0)
    throw new ConfigError('option', opt, 0, `${dir} already holds ${foreign.join(', ')}, not written by netpath (not in ${MANIFEST}); move ${foreign.length === 1 ? 'it' : 'them'} away or choose another folder`);
  // the manifest first lists old and new names, so an interrupted run leaves nothing unlisted
  writeFileSafely(join(dir, MANIFEST), [...new Set([...ours, ...files.map((f) => f.name)])].map((n) => `${n}\n`).join(''), opt);
  // every earlier capture goes first, those about to be written again too: renaming a new file
  // over an old one costs more than writing it (ext4 writes the new file's data out at once)
  for (const old of ours) {
    try {
      unlinkSync(join(dir, old)); // removes a link itself, never its target
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new ConfigError('option', opt, 0, `cannot remove the earlier capture ${join(dir, old)}: ${(e as Error).message}`);
    }
  }
  for (const f of files) writeFileSafely(join(dir, f.name), f.bytes, opt);
  writeFileSafely(join(dir, MANIFEST), files.map((f) => `${f.name}\n`).join(''), opt);
  return [...files];
}

/** One pcapng: an interface `NETNS/IFACE` per (namespace, interface), a comment on every packet. */
export function pcapngBytes(traces: readonly ProbeTrace[], nameOf: NameOf = (ns) => ns, opts: CaptureOptions = {}): Uint8Array {
  return new CaptureWriter({ pcapng: true, ...(opts.epochUs !== undefined ? { epochUs: opts.epochUs } : {}) }).addAll(traces, opts.labels).pcapngBytes(nameOf);
}
