/** `--pcap DIR` and `--pcapng FILE` for `netpath trace` and `netpath check`. */
import { checkOutputDir, checkOutputFile, writeFileSafely } from '../cli/outpath.js';
import { escapeLine } from '../model/text.js';
import type { ProbeTrace } from '../trace/types.js';
import { pcapngBytes, writeCaptures } from './captures.js';

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
 * Writes the captures of `groups` (one per probe, each with its statistic branches) as asked.
 * Namespaces are named by their canonical id (`web2`, `web2/ngx1`), so a file name always says
 * which host the interface is on. Reports on stderr, so stdout stays the command's own output
 * (`--json` included).
 */
export function writePcapOutputs(groups: readonly { readonly label?: string; readonly traces: readonly ProbeTrace[] }[], opts: PcapCliOptions, io: Io): void {
  if (opts.pcap === undefined && opts.pcapng === undefined) return;
  checkPcapOutputs(opts);
  const traces: ProbeTrace[] = [];
  const labels: (string | undefined)[] = [];
  for (const g of groups)
    g.traces.forEach((t, i) => {
      traces.push(t);
      const branch = g.traces.length > 1 ? `branch ${i + 1}/${g.traces.length}, p=${+t.probability.toFixed(6)}` : undefined;
      labels.push([g.label, branch].filter((x) => x !== undefined).join(', ') || undefined);
    });
  if (opts.pcap !== undefined) {
    const files = writeCaptures(traces, opts.pcap, (ns) => ns, { labels }, '--pcap');
    io.err(`netpath: wrote ${files.length} pcap file${files.length === 1 ? '' : 's'} to ${escapeLine(opts.pcap)}${files.length ? `: ${files.map((f) => f.name).join(' ')}` : ''}\n`);
  }
  if (opts.pcapng !== undefined) {
    checkOutputFile(opts.pcapng, '--pcapng');
    writeFileSafely(opts.pcapng, pcapngBytes(traces, (ns) => ns, { labels }), '--pcapng');
    const n = traces.reduce((k, t) => k + t.captures.length, 0);
    io.err(`netpath: wrote ${escapeLine(opts.pcapng)} (${n} packet${n === 1 ? '' : 's'}${n === 0 ? ': no frame reached a wire' : ''})\n`);
  }
}
