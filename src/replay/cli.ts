/** `netpath replay`: the command behind the block in src/cli/main.ts, and its text output. */
import { formatOrigin } from '../model/origin.js';
import { loadModel } from '../plan/model.js';
import { buildWorld } from '../world/build.js';
import { which } from './exec.js';
import { cleanupLeftovers, replayNetns, ReplayRefused, type ReplayReport } from './netns.js';
import { dryRunJson, formatDryRun, parseTargets, planSsh, replaySsh, splitSshOpts, type SshReplayReport } from './ssh.js';
import { createInterface } from 'node:readline/promises';
import { progressLine } from '../cli/progress.js';

export interface ReplayCliOptions {
  readonly netns?: boolean;
  readonly json?: boolean;
  readonly keep?: boolean;
  readonly cleanup?: boolean;
  readonly force?: boolean;
  readonly pcap?: string;
  readonly ssh?: readonly string[];
  readonly sshOpt?: readonly string[];
  readonly apply?: boolean;
  readonly yes?: boolean;
}

/** Asks on a terminal; undefined when there is none to ask on. */
export type Confirm = (question: string) => Promise<boolean | undefined>;

export const ttyConfirm: Confirm = async (question) => {
  if (!process.stdin.isTTY || !process.stderr.isTTY) return undefined;
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return (await rl.question(question)).trim().toLowerCase() === 'yes';
  } finally {
    rl.close();
  }
};

interface Out {
  out(s: string): void;
  err(s: string): void;
}

/** Exit codes: 0 all probes agree, 1 a disagreement or a failed setup, 2 usage / refused. */
/** `tty`: stderr is a terminal, so --netns may draw a progress line there. */
export async function cmdReplay(model: string | undefined, opts: ReplayCliOptions, io: Out, confirm: Confirm = ttyConfirm, tty = false): Promise<number> {
  if (opts.ssh !== undefined && opts.ssh.length > 0) return cmdReplaySsh(model, opts, io, confirm);
  if (opts.apply || opts.yes || (opts.sshOpt ?? []).length > 0) return usage(io, '--apply, --yes and --ssh-opt go with --ssh');
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
    if (!opts.netns) return usage(io, 'choose a backend: --netns (network namespaces on this machine) or --ssh HOST=[user@]ADDR for every host (real machines)');
    const built = buildWorld(loadModel(model));
    if (opts.pcap !== undefined && !which('tcpdump')) return usage(io, '--pcap needs tcpdump in PATH');
    const progress = tty ? progressLine(io, 'probes') : undefined;
    const report = await replayNetns(built, {
      ...(opts.keep ? { keep: true } : {}),
      ...(opts.pcap !== undefined ? { pcapDir: opts.pcap } : {}),
      ...(progress ? { onProbe: (d: number, t: number) => progress.update('replay', d, t) } : {}),
    });
    progress?.clear();
    io.out(opts.json ? JSON.stringify(report, null, 2) + '\n' : formatReport(report));
    return report.ok ? 0 : 1;
  } catch (e) {
    return refused(e, io);
  }
}

/** `--ssh`: the dry run, or with --apply (confirmed) the replay on the real hosts. */
async function cmdReplaySsh(model: string | undefined, opts: ReplayCliOptions, io: Out, confirm: Confirm): Promise<number> {
  if (opts.netns) return usage(io, '--ssh and --netns are exclusive: choose one backend');
  const netnsOnly = [opts.keep && '--keep', opts.pcap !== undefined && '--pcap', opts.cleanup && '--cleanup', opts.force && '--force'].filter(Boolean);
  if (netnsOnly.length > 0) return usage(io, `${netnsOnly.join(', ')} go with --netns, not --ssh`);
  if (model === undefined) return usage(io, 'give a model file');
  const { targets, errors } = parseTargets(opts.ssh ?? []);
  if (errors.length > 0) return usage(io, errors.join('; '));
  const built = buildWorld(loadModel(model));
  const sshArgs = splitSshOpts(opts.sshOpt ?? []);
  try {
    const plan = planSsh(built, targets);
    if (!opts.apply) {
      io.out(opts.json ? `${JSON.stringify(dryRunJson(built, plan), null, 2)}\n` : formatDryRun(built, plan, { sshArgs }));
      return 0;
    }
    if (!opts.yes) {
      const ok = await confirm(`netpath replay --apply changes ${plan.hosts.map((h) => `${h.host} (${h.dest})`).join(', ')}: it runs their runbooks, probes, then undoes what it can. Type yes to go on: `);
      if (ok === undefined) return usage(io, '--apply changes real hosts: confirm on a terminal, or add --yes');
      if (!ok) return usage(io, 'not applied');
    }
    for (const h of plan.hosts) for (const w of h.warnings) io.err(`netpath replay: warning: ${h.host}: ${w}\n`);
    const report = await replaySsh(built, { targets, sshArgs });
    io.out(opts.json ? JSON.stringify(report, null, 2) + '\n' : formatReport(report));
    return report.ok ? 0 : 1;
  } catch (e) {
    return refused(e, io);
  }
}

/** A ReplayRefused (either backend) is exit 2 with its reasons; anything else is a bug. */
function refused(e: unknown, io: Out): number {
  if (!(e instanceof ReplayRefused)) throw e;
  io.err(`netpath: ${e.message}\n`);
  return 2;
}

function usage(io: Out, msg: string): number {
  io.err(`netpath replay: ${msg}\n`);
  return 2;
}

/** Predicted vs observed per probe; on failure the failing command; how to look further. */
export function formatReport(r: ReplayReport | SshReplayReport): string {
  const ssh = 'backend' in r ? r : undefined;
  const rows = [
    ['probe', 'predicted', 'observed', 'errno', 'agree'],
    ...r.probes.map((p) => [p.name, p.predictedAll.length > 1 ? p.predictedAll.join('|') : p.predicted, p.observed, p.errno, p.agree ? 'yes' : 'NO']),
  ];
  const w = rows[0]!.map((_, i) => Math.max(...rows.map((x) => x[i]!.length)));
  const lines = rows.map((x) => x.map((c, i) => c.padEnd(w[i]!)).join('  ').trimEnd());
  const head = ssh ? `replay ${r.model} over ssh on ${ssh.hosts.map((h) => `${h.host}=${h.dest}`).join(', ')}` : `replay ${r.model} in network namespaces ${r.prefix}-*`;
  const out = [head, '', ...lines, ''];
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
  if (ssh) out.push(...formatUndo(ssh));
  else for (const e of r.cleanupErrors) out.push(`cleanup problem: ${e}`);
  return `${out.join('\n')}\n`;
}

/** Per host: how much of the runbook ran, and what the undo left different from before. */
function formatUndo(r: SshReplayReport): string[] {
  const out: string[] = [];
  for (const h of r.hosts) {
    const state = h.undo === undefined ? 'nothing to undo' : h.notRestored.length === 0 && h.errors.length === 0 ? 'undone: addresses, routes, rules, devices, namespaces, iptables and sysctls as before' : 'undone in part';
    out.push(`${h.host} (${h.dest}): ran ${h.ran} of ${h.of} runbook commands; ${state}`);
    for (const w of h.warnings) out.push(`  warning: ${w}`);
    for (const c of h.cannotUndo) out.push(`  cannot be undone automatically: ${c}`);
    for (const d of h.notRestored) out.push(`  differs from before after the undo: ${d}`);
    for (const e of h.errors) out.push(`  problem: ${e}`);
  }
  return out;
}
