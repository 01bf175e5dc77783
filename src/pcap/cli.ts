/** `--pcap DIR` and `--pcapng FILE` for `netpath trace` and `netpath check`. */
import { checkOutputDir, checkOutputFile, writeFileSafely } from '../cli/outpath.js';
import { escapeLine } from '../model/text.js';
import type { ProbeTrace } from '../trace/types.js';
import { CaptureWriter, writePcapFiles } from './captures.js';

export interface PcapCliOptions {
  readonly pcap?: string;
  readonly pcapng?: string;
}

export interface Io {
  out(s: string): void;
  err(s: string): void;
}

/**
 * Checks the output paths before any simulation (src/cli/outpath.ts): `--pcap` an existing folder
 * or a new one under an existing parent, `--pcapng` a regular file or a new one, not a link.
 * Throws a ConfigError (exit 2) naming the option.
 */
export function checkPcapOutputs(opts: PcapCliOptions): void {
  if (opts.pcap !== undefined) checkOutputDir(opts.pcap, '--pcap');
  if (opts.pcapng !== undefined) checkOutputFile(opts.pcapng, '--pcapng');
}

/**
 * The captures asked for, made probe by probe: `add` each probe's traces as it is run (the
 * traces can go once added), then `write` the files. Namespaces are named by their canonical id
 * (`web2`, `web2/ngx1`), so a file name always says which host the interface is on. Reports on
 * stderr, so stdout stays the command's own output (`--json` included).
 */
export class CaptureOutputs {
  private readonly writer: CaptureWriter;
  constructor(private readonly opts: PcapCliOptions) {
    this.writer = new CaptureWriter({ pcap: opts.pcap !== undefined, pcapng: opts.pcapng !== undefined });
  }

  /** One probe's traces (its statistic branches), labelled in the pcapng by `label` and the branch. */
  add(label: string | undefined, traces: readonly ProbeTrace[]): void {
    traces.forEach((t, i) => {
      const branch = traces.length > 1 ? `branch ${i + 1}/${traces.length}, p=${+t.probability.toFixed(6)}` : undefined;
      this.writer.add(t, [label, branch].filter((x) => x !== undefined).join(', ') || undefined);
    });
  }

  write(io: Io): void {
    const opts = this.opts;
    checkPcapOutputs(opts);
    if (opts.pcap !== undefined) {
      const files = writePcapFiles(this.writer.pcapFiles((ns) => ns), opts.pcap, '--pcap');
      io.err(`netpath: wrote ${files.length} pcap file${files.length === 1 ? '' : 's'} to ${escapeLine(opts.pcap)}${files.length ? `: ${files.map((f) => f.name).join(' ')}` : ''}\n`);
    }
    if (opts.pcapng !== undefined) {
      checkOutputFile(opts.pcapng, '--pcapng');
      writeFileSafely(opts.pcapng, this.writer.pcapngBytes((ns) => ns), '--pcapng');
      const n = this.writer.count;
      io.err(`netpath: wrote ${escapeLine(opts.pcapng)} (${n} packet${n === 1 ? '' : 's'}${n === 0 ? ': no frame reached a wire' : ''})\n`);
    }
  }
}

/** `CaptureOutputs` when `--pcap` or `--pcapng` is given. */
export function captureOutputs(opts: PcapCliOptions): CaptureOutputs | undefined {
  return opts.pcap !== undefined || opts.pcapng !== undefined ? new CaptureOutputs(opts) : undefined;
}

/** Writes the captures of `groups` (one per probe, each with its statistic branches) as asked (`CaptureOutputs`). */
export function writePcapOutputs(groups: readonly { readonly label?: string; readonly traces: readonly ProbeTrace[] }[], opts: PcapCliOptions, io: Io): void {
  const out = captureOutputs(opts);
  if (out === undefined) return;
  for (const g of groups) out.add(g.label, g.traces);
  out.write(io);
}
