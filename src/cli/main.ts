/**
 * The `netpath` command line. Every command returns its exit code; nothing here calls
 * process.exit, so tests can drive main() directly.
 */
import { Command } from 'commander';
import { loadModel } from '../plan/model.js';
import { buildWorld, displayNs, resolveNsRef } from '../world/build.js';
import { showNetns, showBriefAddr, showBridgeLinks, showRoutes, showRules } from '../world/show.js';
import { iptablesSave } from '../netfilter/save.js';
import { listRuleset } from '../nft/print.js';
import { KERNEL } from '../model/origin.js';
import type { World } from '../world/types.js';
import { formatIpv4 } from '../wire/ipv4.js';
import { traceFlow } from '../trace/run.js';
import { renderTrace, traceJson } from '../trace/render.js';
import type { ProbeTrace } from '../trace/types.js';
import type { ProbeResult } from '../plan/model.js';
import { checkPcapOutputs, writePcapOutputs, type PcapCliOptions } from '../pcap/cli.js';
import { cmdReplay, type ReplayCliOptions } from '../replay/cli.js';
import { cmdExport } from '../replay/export.js';
import { cmdProp, type PropCliOptions } from './prop.js';
import { registerRules } from './rules.js';
import { cmdImport, type ImportOptions } from './import.js';
import { registerReport } from './report.js';
import { netpathVersion } from './version.js';
import { reportFailure, wantsJson } from './errors.js';
import { checkProtoPorts, optEndpoint, optPort, optProto } from './options.js';
import { printWarnings, worldWarnings } from './warnings.js';
import { escapeControls, escapeLine } from '../model/text.js';

export interface Io {
  out(s: string): void;
  err(s: string): void;
}

const stdio: Io = {
  out: (s) => process.stdout.write(s),
  err: (s) => process.stderr.write(s),
};

/**
 * Runs one command; returns the exit code (src/cli/errors.ts: 0, 1, 2 or 70). Everything written
 * goes through one writer that escapes control characters (src/model/text.ts).
 */
export async function main(argv: readonly string[], raw: Io = stdio): Promise<number> {
  const io: Io = { out: (s) => raw.out(escapeControls(s)), err: (s) => raw.err(escapeControls(s)) };
  let code = 0;
  const program = new Command()
    .name('netpath')
    .description('Packet-path simulator and verifier for Linux host networking')
    .version(netpathVersion(), '-V, --version', 'print the version')
    .exitOverride()
    .configureOutput({ writeOut: io.out, writeErr: io.err })
    .showHelpAfterError();

  program
    .command('show')
    .description("print each namespace's addresses, routes, policy rules and iptables-save, as the kernel would after the runbooks")
    .argument('<model>', 'model file (YAML)')
    .option('--ns <name>', 'only this namespace (host, netns, or host/netns)')
    .option('--json', 'machine-readable output')
    .action((model: string, opts: { ns?: string; json?: boolean }) => {
      code = cmdShow(model, opts, io);
    });

  program
    .command('check')
    .description('run every probe of the model; exit 1 when a result differs from its expect')
    .argument('<model>', 'model file (YAML)')
    .option('--json', 'machine-readable output')
    .option('--pcap <dir>', 'write one pcap per interface that saw traffic into DIR (docs/pcap.md)')
    .option('--pcapng <file>', 'write every interface into one pcapng, each packet with its hop explanation')
    .action((model: string, opts: { json?: boolean } & PcapCliOptions) => {
      code = cmdCheck(model, opts, io);
    });

  program
    .command('trace')
    .description('walk one probe hop by hop and say what the client sees, and why')
    .argument('<model>', 'model file (YAML)')
    .requiredOption('--from <ns>', 'client namespace: host, netns, or host/netns')
    .requiredOption('--to <ip[:port]>', 'destination address, with a port for tcp and udp')
    .option('--proto <proto>', 'tcp | udp | icmp', 'tcp')
    .option('--sport <port>', 'client source port')
    .option('--json', 'machine-readable output')
    .option('-v, --verbose', 'also show conntrack and transmit steps')
    .option('--pcap <dir>', 'write one pcap per interface that saw traffic into DIR (docs/pcap.md)')
    .option('--pcapng <file>', 'write every interface into one pcapng, each packet with its hop explanation')
    .action((model: string, opts: { from: string; to: string; proto: string; sport?: string; json?: boolean; verbose?: boolean } & PcapCliOptions) => {
      code = cmdTrace(model, opts, io);
    });

  program
    .command('replay')
    .description('build the model for real (--netns: network namespaces here; --ssh: real hosts, a dry run unless --apply), run every probe with real sockets, compare with the simulation; exit 1 on any disagreement')
    .argument('[model]', 'model file (YAML)')
    .option('--netns', 'backend: network namespaces on this machine')
    .option('--json', 'machine-readable output')
    .option('--keep', 'leave the namespaces for inspection (remove later with --cleanup)')
    .option('--cleanup', 'remove namespaces left by replays that were killed (names npr<pid36>_<rand>-*)')
    .option('--force', 'with --cleanup: also remove namespaces of replays still running')
    .option('--pcap <dir>', 'with --netns: capture every interface with tcpdump into DIR (NETNS_IFACE.pcap)')
    .option('--ssh <host=user@addr>', 'backend: real hosts over ssh, one per model host (repeat); prints what it would run unless --apply', (v: string, prev: string[]) => [...prev, v], [] as string[])
    .option('--ssh-opt <args>', 'with --ssh: ssh(1) arguments, split at blanks (repeat): --ssh-opt "-p 2222" --ssh-opt "-i KEY"', (v: string, prev: string[]) => [...prev, v], [] as string[])
    .option('--apply', 'with --ssh: run it on the hosts (asks on the terminal unless --yes), probe, then undo')
    .option('--yes', 'with --apply: do not ask')
    .action(async (model: string | undefined, opts: ReplayCliOptions) => {
      code = await cmdReplay(model, opts, io, undefined, io === stdio && process.stderr.isTTY === true);
    });

  program
    .command('export')
    .description("print a host's runbook as the shell script that runs on the real machine (normalised commands, in order)")
    .argument('<model>', 'model file (YAML)')
    .requiredOption('--host <name>', 'the host whose runbook to print')
    .action((model: string, opts: { host: string }) => {
      code = cmdExport(model, opts, io);
    });

  program
    .command('prop')
    .description("check the model's invariants over many flows (fast-check); print each failure's shrunk counterexample with its trace; exit 1 when one fails")
    .argument('<model>', 'model file (YAML) with an invariants: list')
    .option('--runs <n>', 'flows per invariant (default: the invariant\'s runs:, else 100)')
    .option('--seed <s>', 'fast-check seed, to repeat a run (default: a fresh one, printed)')
    .option('--json', 'machine-readable output')
    .action((model: string, opts: PropCliOptions) => {
      code = cmdProp(model, opts, io, raw === stdio && process.stderr.isTTY === true);
    });

  // netpath rules trace FILE ... (src/cli/rules.ts)
  registerRules(program, io, (c) => {
    code = c;
  });

  // netpath import [--netns NAME] [-o FILE] (src/cli/import.ts)
  program
    .command('import')
    .description("write a one-host model from this Linux host (or a namespace): addresses, routes, rules, neighbours, sysctls and iptables-save")
    .option('--netns <name>', 'read this network namespace instead of the host')
    .option('-o, --output <file>', 'write the model here (the iptables-save dump goes next to it as NAME.rules)')
    .option('--name <host>', 'host name in the model (default: the namespace name, else hostname)')
    .action((opts: ImportOptions) => {
      code = cmdImport(opts, io);
    });

  // netpath report MODEL -o FILE.html, netpath diagram MODEL -o FILE.svg (src/cli/report.ts)
  registerReport(program, io, io === stdio && process.stderr.isTTY === true, (c) => {
    code = c;
  });

  try {
    await program.parseAsync(argv as string[], { from: 'user' });
  } catch (e) {
    return reportFailure(e, io, wantsJson(argv));
  }
  return code;
}

function namespacesToShow(world: World, ns: string | undefined): string[] {
  if (ns === undefined) return Object.keys(world.netns);
  return [resolveNsRef(world, ns, { ...KERNEL, file: '--ns' })];
}

function cmdShow(path: string, opts: { ns?: string; json?: boolean }, io: Io): number {
  const { world } = buildWorld(loadModel(path));
  const ids = namespacesToShow(world, opts.ns);
  const warnings = worldWarnings(world);
  printWarnings(warnings, io);
  if (opts.json) {
    const nss = ids.map((id) => {
      const ns = world.netns[id]!;
      return {
        id,
        name: displayNs(world, id),
        host: ns.host,
        addr: showBriefAddr(world, ns).split('\n').filter(Boolean),
        routes: showRoutes(world, ns).split('\n').filter(Boolean).map((l) => l.trimEnd()),
        rules: showRules(ns).split('\n').filter(Boolean),
        ...(ns.links.some((l) => l.brport) ? { bridge: showBridgeLinks(world, ns).split('\n').filter(Boolean).map((l) => l.trimEnd()) } : {}),
        iptables: iptablesSave(ns.nf).split('\n').filter(Boolean),
        ...(ns.nft && ns.nft.tables.length > 0 ? { nft: listRuleset(ns.nft).split('\n').filter(Boolean) } : {}),
      };
    });
    io.out(JSON.stringify({ namespaces: nss, warnings }, null, 2) + '\n');
    return 0;
  }
  const parts = ids.map((id) => `=== ${displayNs(world, id)}${displayNs(world, id) !== id ? ` (${id})` : ''} ===\n${showNetns(world, world.netns[id]!)}\n`);
  io.out(parts.join('\n'));
  return 0;
}

function cmdTrace(
  path: string,
  opts: { from: string; to: string; proto: string; sport?: string; json?: boolean; verbose?: boolean } & PcapCliOptions,
  io: Io,
): number {
  const { ip: to, port } = optEndpoint(opts.to, '--to');
  const proto = optProto(opts.proto, ['tcp', 'udp', 'icmp'] as const);
  const sport = opts.sport !== undefined ? optPort(opts.sport, '--sport') : undefined;
  checkProtoPorts(proto, port, sport, '--to', '--sport');
  checkPcapOutputs(opts);
  const { world } = buildWorld(loadModel(path));
  const from = resolveNsRef(world, opts.from, { ...KERNEL, file: '--from' });
  const warnings = worldWarnings(world);
  printWarnings(warnings, io);
  const traces = traceFlow(world, { from, to, proto, ...(port !== undefined ? { port } : {}), ...(sport !== undefined ? { sport } : {}) });
  writePcapOutputs([{ traces }], opts, io);
  if (opts.json) io.out(JSON.stringify({ outcomes: traces.map((t) => traceJson(world, t)), warnings }, null, 2) + '\n');
  else io.out(traces.map((t) => renderTrace(world, t, opts.verbose ? { verbose: true } : {})).join('\n'));
  return 0;
}

interface ProbeReport {
  name: string;
  from: string;
  to: string;
  proto: string;
  expect?: ProbeResult;
  result: ProbeResult;
  ok: boolean;
  why?: string;
  fixes?: readonly string[];
  outcomes?: { probability: number; result: ProbeResult }[];
}

export function checkModel(path: string): { world: World; reports: ProbeReport[]; traces: ProbeTrace[][]; warnings: string[] } {
  const { model, world } = buildWorld(loadModel(path));
  const reports: ProbeReport[] = [];
  const all: ProbeTrace[][] = [];
  for (const p of model.probes) {
    const from = resolveNsRef(world, p.from, p.origin);
    const traces = traceFlow(world, { from, to: p.to, proto: p.proto, ...(p.port !== undefined ? { port: p.port } : {}) });
    all.push(traces);
    const results = [...new Set(traces.map((t) => t.result))];
    const best = [...traces].sort((a, b) => b.probability - a.probability)[0]!;
    const result = results.length === 1 ? results[0]! : best.result;
    const ok = p.expect === undefined || traces.every((t) => t.result === p.expect);
    const failing = traces.find((t) => t.why);
    reports.push({
      name: p.name,
      from: p.from,
      to: p.port !== undefined ? `${formatIpv4(p.to)}:${p.port}` : formatIpv4(p.to),
      proto: p.proto,
      ...(p.expect !== undefined ? { expect: p.expect } : {}),
      result,
      ok,
      ...(failing?.why ? { why: failing.why.summary, fixes: failing.why.fixes } : {}),
      ...(traces.length > 1 ? { outcomes: traces.map((t) => ({ probability: t.probability, result: t.result })) } : {}),
    });
  }
  return { world, reports, traces: all, warnings: worldWarnings(world) };
}

function cmdCheck(path: string, opts: { json?: boolean } & PcapCliOptions, io: Io): number {
  checkPcapOutputs(opts);
  const { reports, traces, warnings } = checkModel(path);
  printWarnings(warnings, io);
  writePcapOutputs(reports.map((r, i) => ({ label: r.name, traces: traces[i] ?? [] })), opts, io);
  const failed = reports.some((r) => !r.ok);
  if (opts.json) {
    io.out(JSON.stringify({ probes: reports, warnings }, null, 2) + '\n');
    return failed ? 1 : 0;
  }
  const branches = (r: ProbeReport): string =>
    r.outcomes ? ` (${r.outcomes.map((o) => `${o.result} ${Number(o.probability.toFixed(4))}`).join(', ')})` : '';
  const rows = [['probe', 'expected', 'result', 'ok'], ...reports.map((r) => [escapeLine(r.name), r.expect ?? '-', r.result + branches(r), r.ok ? 'ok' : 'FAIL'])];
  const w = [0, 1, 2, 3].map((i) => Math.max(...rows.map((r) => r[i]!.length)));
  io.out(rows.map((r) => r.map((c, i) => c.padEnd(w[i]!)).join('  ').trimEnd()).join('\n') + '\n');
  for (const r of reports) {
    if (!r.why) continue;
    io.out(`\n${escapeLine(r.name)}: ${r.result}\n  why: ${r.why}\n`);
    for (const f of r.fixes ?? []) io.out(`  fix: ${f}\n`);
  }
  if (failed) io.out(`\n${reports.filter((r) => !r.ok).length} of ${reports.length} probes differ from their expect\n`);
  return failed ? 1 : 0;
}
