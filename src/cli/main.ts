/**
 * The `netpath` command line. Every command returns its exit code; nothing here calls
 * process.exit, so tests can drive main() directly.
 *
 * This file only registers commands: each action loads its own module (`await import`) when it
 * runs, so a command pays start-up time only for the code it uses (docs/performance.md). A new
 * command is a file src/cli/<cmd>.ts (or in its own folder) exporting cmdX(..., io) and a few
 * lines here.
 */
import { Command } from 'commander';
import { escapeControls } from '../model/text.js';
import { netpathVersion } from './version.js';
import { reportFailure, wantsJson } from './errors.js';
import type { ReplayCliOptions } from '../replay/cli.js';
import type { CheckOptions } from './check.js';
import type { ImportOptions } from './import.js';
import type { PropCliOptions } from './prop.js';
import type { ReportCliOptions } from './report.js';
import type { RulesTraceOptions } from './rules.js';
import type { ShowOptions } from './show.js';
import type { TraceOptions } from './trace.js';
import type { DiffCliOptions, RulesMatrixOptions, VerifyCliOptions } from './verify.js';

export interface Io {
  out(s: string): void;
  err(s: string): void;
}

const stdio: Io = {
  out: (s) => process.stdout.write(s),
  err: (s) => process.stderr.write(s),
};

const PCAP_HELP = 'write one pcap per interface that saw traffic into DIR (docs/pcap.md)';
const PCAPNG_HELP = 'write every interface into one pcapng, each packet with its hop explanation';
const repeat = (v: string, prev: string[]): string[] => [...prev, v];

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
    .action(async (model: string, opts: ShowOptions) => {
      code = (await import('./show.js')).cmdShow(model, opts, io);
    });

  program
    .command('check')
    .description('run every probe of the model; exit 1 when a result differs from its expect')
    .argument('<model>', 'model file (YAML)')
    .option('--json', 'machine-readable output')
    .option('--pcap <dir>', PCAP_HELP)
    .option('--pcapng <file>', PCAPNG_HELP)
    .action(async (model: string, opts: CheckOptions) => {
      code = (await import('./check.js')).cmdCheck(model, opts, io);
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
    .option('--pcap <dir>', PCAP_HELP)
    .option('--pcapng <file>', PCAPNG_HELP)
    .action(async (model: string, opts: TraceOptions) => {
      code = (await import('./trace.js')).cmdTrace(model, opts, io);
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
    .option('--ssh <host=user@addr>', 'backend: real hosts over ssh, one per model host (repeat); prints what it would run unless --apply', repeat, [] as string[])
    .option('--ssh-opt <args>', 'with --ssh: ssh(1) arguments, split at blanks (repeat): --ssh-opt "-p 2222" --ssh-opt "-i KEY"', repeat, [] as string[])
    .option('--apply', 'with --ssh: run it on the hosts (asks on the terminal unless --yes), probe, then undo')
    .option('--yes', 'with --apply: do not ask')
    .action(async (model: string | undefined, opts: ReplayCliOptions) => {
      code = await (await import('../replay/cli.js')).cmdReplay(model, opts, io, undefined, raw === stdio && process.stderr.isTTY === true);
    });

  program
    .command('export')
    .description("print a host's runbook as the shell script that runs on the real machine (normalised commands, in order)")
    .argument('<model>', 'model file (YAML)')
    .requiredOption('--host <name>', 'the host whose runbook to print')
    .action(async (model: string, opts: { host: string }) => {
      code = (await import('../replay/export.js')).cmdExport(model, opts, io);
    });

  program
    .command('prop')
    .description("check the model's invariants over many flows (fast-check); print each failure's shrunk counterexample with its trace; exit 1 when one fails")
    .argument('<model>', 'model file (YAML) with an invariants: list')
    .option('--runs <n>', 'flows per invariant (default: the invariant\'s runs:, else 100)')
    .option('--seed <s>', 'fast-check seed, to repeat a run (default: a fresh one, printed)')
    .option('--json', 'machine-readable output')
    .action(async (model: string, opts: PropCliOptions) => {
      code = (await import('./prop.js')).cmdProp(model, opts, io, raw === stdio && process.stderr.isTTY === true);
    });

  program
    .command('verify')
    .description("decide the model's invariants for every flow of their sets (exact classes, not samples); list each failing class as CIDR/port-range rows with a witness; exit 1 when one fails")
    .argument('<model>', 'model file (YAML) with an invariants: list')
    .option('--json', 'machine-readable output')
    .action(async (model: string, opts: VerifyCliOptions) => {
      code = (await import('./verify.js')).cmdVerify(model, opts, io);
    });

  program
    .command('diff')
    .description('every class of flows whose result changes between two plans, as CIDR/port-range rows with a witness; exit 1 when something changes')
    .argument('<old>', 'model file (YAML): the plan as it is')
    .argument('<new>', 'model file (YAML): the plan after the change')
    .option('--from <ns,...>', 'start points (default: every namespace of both plans)')
    .option('--to <cidr,...>', 'destinations (default: 0.0.0.0/0)')
    .option('--proto <p,...>', 'tcp, udp, icmp (default: all three)')
    .option('--json', 'machine-readable output')
    .action(async (oldModel: string, newModel: string, opts: DiffCliOptions) => {
      code = (await import('./verify.js')).cmdDiff(oldModel, newModel, opts, io);
    });

  const rules = program.command('rules').description("one host's rules (iptables-save and/or nft list ruleset), without a model");
  rules
    .command('trace')
    .description('one packet through the dump: every outcome (one per -m statistic branch) with its probability, NAT, marks and the rules matched')
    .argument('[file]', 'iptables-save or nft list ruleset output, told apart by content (- for stdin)')
    .option('--iptables <file>', 'iptables-save output of the same host (with --nft: both kinds of rules)')
    .option('--nft <file>', 'nft list ruleset output (or an nft -f file) of the same host')
    .requiredOption('--src <ip[:port]>', 'source address (local when listed in --local: the walk starts at OUTPUT)')
    .requiredOption('--dst <ip[:port]>', 'destination, with a port for tcp, udp and sctp')
    .option('--proto <proto>', 'tcp | udp | sctp | icmp', 'tcp')
    .option('--iif <if>', 'incoming interface (packets from elsewhere)')
    .option('--oif <if>', 'outgoing interface (forwarded or locally sent packets)')
    .option('--flags <flags>', 'TCP flags of the packet, comma-separated (SYN, ACK,PSH, NONE; iptables dumps); default SYN')
    .option('--local <ips>', "the host's own addresses, comma-separated (127.0.0.0/8 always is)")
    .option('--ipset <file>', 'ipset save output for -m set (repeatable)', repeat, [] as string[])
    .option('--linear', 'use the plain rule-by-rule evaluator (same outcomes, slower)')
    .option('--json', 'machine-readable output')
    .action(async (file: string | undefined, opts: RulesTraceOptions) => {
      code = (await import('./rules.js')).cmdRulesTrace(file, opts, io);
    });

  rules
    .command('matrix')
    .description('the service matrix of an iptables-save dump: which sources reach which destinations and ports, after NAT, as CIDR/port-range rows (every packet, not samples)')
    .argument('<file>', 'iptables-save output (- for stdin)')
    .option('--iif <if>', 'only packets arriving on this interface (default: every interface, told apart by the names the dump matches)')
    .option('--oif <if>', 'outgoing interface of forwarded packets')
    .option('--flags <which>', 'TCP flags of the first packets: syn (a SYN, the default) or all (every combination, told apart as conntrack and the rules do)')
    .option('--proto <p,...>', 'tcp, udp, sctp, icmp (default: tcp, udp, icmp)')
    .option('--dport <ports>', 'only these destination ports: 80, 1-1024, 22,80')
    .option('--local <ips>', "the host's own addresses, comma-separated (127.0.0.0/8 always is)")
    .option('--ipset <file>', 'ipset save output for -m set (repeatable)', repeat, [] as string[])
    .option('--json', 'machine-readable output')
    .action(async (file: string, opts: RulesMatrixOptions) => {
      code = (await import('./verify.js')).cmdRulesMatrix(file, opts, io);
    });

  rules
    .command('diff')
    .description('every first packet whose fate changes between two iptables-save dumps of one host, as CIDR/port-range rows with a witness; exit 1 when one does')
    .argument('<old>', 'iptables-save output before the change')
    .argument('<new>', 'iptables-save output after the change')
    .option('--iif <if>', 'only packets arriving on this interface (default: every interface, told apart by the names the dump matches)')
    .option('--oif <if>', 'outgoing interface of forwarded packets')
    .option('--flags <which>', 'TCP flags of the first packets: syn (a SYN, the default) or all (every combination, told apart as conntrack and the rules do)')
    .option('--proto <p,...>', 'tcp, udp, sctp, icmp (default: tcp, udp, icmp)')
    .option('--dport <ports>', 'only these destination ports: 80, 1-1024, 22,80')
    .option('--local <ips>', "the host's own addresses, comma-separated (127.0.0.0/8 always is)")
    .option('--ipset <file>', 'ipset save output for -m set (repeatable)', repeat, [] as string[])
    .option('--json', 'machine-readable output')
    .action(async (oldFile: string, newFile: string, opts: RulesMatrixOptions) => {
      code = (await import('./verify.js')).cmdRulesDiff(oldFile, newFile, opts, io);
    });

  program
    .command('import')
    .description("write a one-host model from this Linux host (or a namespace): addresses, routes, rules, neighbours, sysctls and iptables-save")
    .option('--netns <name>', 'read this network namespace instead of the host')
    .option('-o, --output <file>', 'write the model here (the iptables-save dump goes next to it as NAME.rules)')
    .option('--name <host>', 'host name in the model (default: the namespace name, else hostname)')
    .action(async (opts: ImportOptions) => {
      code = (await import('./import.js')).cmdImport(opts, io);
    });

  program
    .command('report')
    .description('write one self-contained HTML page: the topology, every probe with its path drawn on it, why and fixes, trace steps, invariants')
    .argument('<model>', 'model file (YAML)')
    .option('-o, --output <file>', 'write the page here (default: stdout)')
    .option('--runs <n>', "flows per invariant (default: the invariant's runs:, else 100)")
    .option('--seed <s>', 'fast-check seed for the invariants', '1')
    .option('--title <text>', "page title (default: the model's name:)")
    .action(async (model: string, opts: ReportCliOptions) => {
      code = await (await import('./report.js')).cmdReport(model, opts, io, raw === stdio && process.stderr.isTTY === true);
    });

  program
    .command('fix')
    .description("write the model with each failing probe's first proven fix appended to its host's runbook (or services:)")
    .argument('<model>', 'model file (YAML)')
    .option('--probe <name>', 'fix only this probe')
    .option('-o, --output <file>', 'write the fixed model here (default: stdout)')
    .action(async (model: string, opts: { probe?: string; output?: string }) => {
      code = (await import('./fix.js')).cmdFix(model, opts, io);
    });

  program
    .command('diagram')
    .description("write the topology as a standalone SVG, with one probe's path when --probe names it")
    .argument('<model>', 'model file (YAML)')
    .option('--probe <name>', 'draw this probe\'s path (its name: in the model)')
    .option('-o, --output <file>', 'write the SVG here (default: stdout)')
    .action(async (model: string, opts: { probe?: string; output?: string }) => {
      code = await (await import('./report.js')).cmdDiagram(model, opts, io);
    });

  try {
    await program.parseAsync(argv as string[], { from: 'user' });
  } catch (e) {
    return reportFailure(e, io, wantsJson(argv));
  }
  return code;
}
