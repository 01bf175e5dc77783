/**
 * The capture writer as it was before it was made fast (src/pcap/captures.ts, copied unchanged but
 * for import paths, and the `CaptureWriter` and `writePcapFiles` of today's interface at the end, made
 * of the plain functions): test/pcap/digests-gen.mjs writes the digests with it.
 *
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
 */
import { readFileSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../../../src/model/errors.js';
import { checkOutputDir, makeOutputDir, tryLstat, writeFileSafely } from '../../../src/cli/outpath.js';
import type { NsId } from '../../../src/model/link.js';
import type { ProbeTrace } from '../../../src/trace/types.js';
import { captureComments } from './comments.js';
import { frameBytes, linuxTcpExtras } from './encode.js';
import { encodePcap } from './pcap.js';
import { encodePcapng, type PcapngInterface, type PcapngPacket } from './pcapng.js';

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
  const groups = new Map<string, { ns: NsId; dev: string; frames: Frame[] }>();
  for (const f of captureFrames(traces, opts)) {
    const k = `${f.ns}\u0000${f.dev}`;
    let g = groups.get(k);
    if (!g) groups.set(k, (g = { ns: f.ns, dev: f.dev, frames: [] }));
    g.frames.push(f);
  }
  const used = new Set<string>();
  return [...groups.values()].map((g) => {
    const plain = captureFileName(nameOf(g.ns), g.dev);
    let name = plain;
    for (let n = 2; used.has(name); n++) name = plain.replace(/\.pcap$/, `.${n}.pcap`);
    used.add(name);
    return { name, ns: g.ns, dev: g.dev, packets: g.frames.length, bytes: encodePcap(g.frames.map((f) => ({ tUs: f.tUs, data: f.data }))) };
  });
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

export function writePcapFiles(files: readonly PcapFile[], dir: string, opt = '--pcap'): PcapFile[] {
  const { create } = checkOutputDir(dir, opt);
  if (create) makeOutputDir(dir, opt);
  const ours = new Set(readManifest(dir));
  const foreign = files.filter((f) => !ours.has(f.name) && tryLstat(join(dir, f.name)) !== undefined).map((f) => f.name);
  if (foreign.length > 0)
    throw new ConfigError('option', opt, 0, `${dir} already holds ${foreign.join(', ')}, not written by netpath (not in ${MANIFEST}); move ${foreign.length === 1 ? 'it' : 'them'} away or choose another folder`);
  // the manifest first lists old and new names, so an interrupted run leaves nothing unlisted
  writeFileSafely(join(dir, MANIFEST), [...new Set([...ours, ...files.map((f) => f.name)])].map((n) => `${n}\n`).join(''), opt);
  const keep = new Set(files.map((f) => f.name));
  for (const old of ours) {
    if (keep.has(old)) continue;
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
  const frames = captureFrames(traces, opts);
  const ifaces: PcapngInterface[] = [];
  const index = new Map<string, number>();
  const packets: PcapngPacket[] = frames.map((f) => {
    const k = `${f.ns}\u0000${f.dev}`;
    let i = index.get(k);
    if (i === undefined) {
      i = ifaces.length;
      index.set(k, i);
      ifaces.push({ name: `${nameOf(f.ns)}/${f.dev}`, description: `interface ${f.dev} in network namespace ${f.ns} (netpath simulation)` });
    }
    return { iface: i, tUs: f.tUs, data: f.data, dir: f.dir, ...(f.comment ? { comment: f.comment } : {}) };
  });
  return encodePcapng(ifaces, packets);
}

/** Today's interface (src/pcap/captures.ts) over the plain functions: traces are kept, files made at the end. */
export class CaptureWriter {
  private readonly traces: ProbeTrace[] = [];
  private readonly labels: (string | undefined)[] = [];
  constructor(private readonly opts: { readonly pcap?: boolean; readonly pcapng?: boolean; readonly epochUs?: number }) {}
  get count(): number {
    return this.traces.reduce((n, t) => n + t.captures.length, 0);
  }
  addAll(traces: readonly ProbeTrace[], labels?: readonly (string | undefined)[]): this {
    traces.forEach((t, k) => this.add(t, labels?.[k]));
    return this;
  }
  add(trace: ProbeTrace, label?: string): void {
    this.traces.push(trace);
    this.labels.push(label);
  }
  private options(): CaptureOptions {
    return { labels: this.labels, ...(this.opts.epochUs !== undefined ? { epochUs: this.opts.epochUs } : {}) };
  }
  pcapFiles(nameOf: NameOf = (ns) => ns): PcapFile[] {
    return pcapFiles(this.traces, nameOf, this.options());
  }
  pcapngBytes(nameOf: NameOf = (ns) => ns): Uint8Array {
    return pcapngBytes(this.traces, nameOf, this.options());
  }
}
