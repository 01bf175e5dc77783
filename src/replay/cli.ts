/** `netpath replay`: the command behind the block in src/cli/main.ts, and its text output. */
import { formatOrigin } from '../model/origin.js';
import { loadModel } from '../plan/model.js';
import { buildWorld } from '../world/build.js';
import { which } from './exec.js';
import { cleanupLeftovers, replayNetns, ReplayRefused, type ReplayReport } from './netns.js';

export interface ReplayCliOptions {
  readonly netns?: boolean;
  readonly json?: boolean;
  readonly keep?: boolean;
  readonly cleanup?: boolean;
  readonly force?: boolean;
  readonly pcap?: string;
  readonly ssh?: readonly string[];
  readonly apply?: boolean;
}

interface Out {
  out(s: string): void;
  err(s: string): void;
}

/** Exit codes: 0 all probes agree, 1 a disagreement or a failed setup, 2 usage / refused. */
export async function cmdReplay(model: string | undefined, opts: ReplayCliOptions, io: Out): Promise<number> {
  if (opts.ssh !== undefined && opts.ssh.length > 0) return usage(io, '--ssh is not yet implemented (later work: dry run and --apply over ssh)');
  try {
    if (opts.cleanup) {
      if (model !== undefined) return usage(io, '--cleanup takes no model');
      const r = cleanupLeftovers(opts.force ? { force: true } : {});
      if (opts.json) io.out(JSON.stringify(r, null, 2) + '\n');
      else {
        io.out(r.removed.length === 0 ? 'no leftover replay namespaces\n' : `removed ${r.removed.length}: ${r.removed.join(' ')}\n`);
        if (r.skipped.length > 0) io.out(`left alone (their replay is still running; --force removes them): ${r.skipped.join(' ')}\n`);
        for (const e of r.errors) io.err(`netpath replay --cleanup: ${e}\n`);
      }
      return r.errors.length > 0 ? 1 : 0;
    }
    if (model === undefined) return usage(io, 'give a model file, or --cleanup');
    if (!opts.netns) return usage(io, 'choose a backend: --netns (network namespaces on this machine); --ssh is not yet implemented');
    const built = buildWorld(loadModel(model));
    if (opts.pcap !== undefined && !which('tcpdump')) return usage(io, '--pcap needs tcpdump in PATH');
    const report = await replayNetns(built, { ...(opts.keep ? { keep: true } : {}), ...(opts.pcap !== undefined ? { pcapDir: opts.pcap } : {}) });
    io.out(opts.json ? JSON.stringify(report, null, 2) + '\n' : formatReport(report));
    return report.ok ? 0 : 1;
  } catch (e) {
    if (e instanceof ReplayRefused) {
      io.err(`netpath: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
}

function usage(io: Out, msg: string): number {
  io.err(`netpath replay: ${msg}\n`);
  return 2;
}

/** Predicted vs observed per probe; on failure the failing command; how to look further. */
export function formatReport(r: ReplayReport): string {
  const rows = [
    ['probe', 'predicted', 'observed', 'errno', 'agree'],
    ...r.probes.map((p) => [p.name, p.predictedAll.length > 1 ? p.predictedAll.join('|') : p.predicted, p.observed, p.errno, p.agree ? 'yes' : 'NO']),
  ];
  const w = rows[0]!.map((_, i) => Math.max(...rows.map((x) => x[i]!.length)));
  const lines = rows.map((x) => x.map((c, i) => c.padEnd(w[i]!)).join('  ').trimEnd());
  const out = [`replay ${r.model} in network namespaces ${r.prefix}-*`, '', ...lines, ''];
  if (r.failure) {
    const c = r.failure.command;
    out.push(`setup failed at ${formatOrigin(c.origin)}${c.origin.text ? `: ${c.origin.text}` : ''}`, `  ran: ${c.argv.join(' ')}`, `  exit ${c.rc ?? 'killed'}: ${c.stderr || '(no message)'}`, '');
  }
  for (const p of r.probes.filter((x) => !x.agree && x.observed !== 'error'))
    out.push(`${p.name}: the simulation says ${p.predicted} (${p.predictedErrno}), the kernel gave ${p.observed} (${p.errno}: ${p.detail})`);
  const bad = r.probes.filter((x) => !x.agree).length;
  out.push(
    `${r.probes.length - bad} of ${r.probes.length} probes agree; setup ${r.timings.setupMs} ms, probes ${r.timings.probesMs} ms, cleanup ${r.timings.cleanupMs} ms`,
  );
  if (r.kept.length > 0)
    out.push(`kept: ${r.kept.join(' ')}`, `  look with: ip netns exec ${r.kept[0]} sh -c 'ip addr; ip route; iptables-save'`, '  remove with: netpath replay --cleanup');
  if (r.captures)
    out.push(
      `captures (tcpdump): ${r.captures.map((c) => `${c.file.split('/').pop()!}${c.packets !== undefined ? ` (${c.packets})` : ''}${c.error ? ` FAILED: ${c.error}` : ''}`).join(', ')}`,
    );
  for (const e of r.cleanupErrors) out.push(`cleanup problem: ${e}`);
  return `${out.join('\n')}\n`;
}
