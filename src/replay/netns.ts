/**
 * The network-namespace backend of the replay: the model built for real on this machine's kernel,
 * every probe run with real sockets, and each result compared with the simulation's.
 *
 * Layout (names: src/replay/names.ts): one netns per host; one per runbook-created netns or
 * container; one per LAN holding a bridge with one veth per member, whose member end is moved into
 * the host and named as the model's NIC (address, MAC and up state as the model pre-configures).
 * Every namespace gets lo up and the fresh-kernel IPv4 defaults the model assumes, written
 * explicitly (a new netns copies conf.all/conf.default from the root netns when
 * net.core.devconf_inherit_init_net is 0, the default), plus the replay's timing tunings.
 *
 * Safety: every command runs inside a namespace of this run (checked before it runs; see
 * assertConfined); nothing touches the root namespace. Everything created is removed in a finally
 * block, on SIGINT/SIGTERM/SIGHUP and at process exit; `netpath replay --cleanup` removes what a
 * killed process left.
 */
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { spawn } from 'node:child_process';
import { ConfigError } from '../model/errors.js';
import type { NsId } from '../model/link.js';
import type { Origin } from '../model/origin.js';
import { KERNEL } from '../model/origin.js';
import type { ProbeResult } from '../plan/model.js';
import { traceFlow } from '../trace/run.js';
import { formatIpv4, type Ipv4 } from '../wire/ipv4.js';
import type { Built } from '../world/build.js';
import { probeFlow } from '../trace/probe.js';
import { DEFAULT_DEVCONF, DEVCONF_KEYS, NS_SYSCTL_DEFAULTS } from '../world/sysctl.js';
import { AGENT_PY, serviceSpec } from './agent.js';
import { REPLAY_ENV, listNetns, onAbort, preflight, removeNetnsSync, runArgv } from './exec.js';
import { newPrefix, ownerOf, replayNames, type ReplayNames } from './names.js';
import { execIn, ipIn, loUp, renderCommands, type RenderedCommand } from './render.js';
import { startCaptures, stopCaptures, type Capture } from './pcap.js';
import { mkdirSync } from 'node:fs';

/** Replay-only tunings; they shorten waits without changing any outcome class. */
export const TUNING = {
  /** per-device ARP retransmit interval: 3 solicitations fail after ~0.3 s instead of ~3 s */
  retransTimeMs: 100,
  /** client wait for tcp connect / udp answer / echo reply */
  probeTimeoutMs: 1500,
  /**
   * how long a listener may take to bind (a python start; on a busy 2-core machine this took more
   * than 5 s): a setup wait, not an outcome
   */
  readyTimeoutMs: 30_000,
} as const;

/**
 * The kernel's budget for the ICMP errors a router sends from ip_error() (a forwarded packet whose
 * route is unreachable, prohibit or missing): a token bucket per source address in each namespace
 * (net/ipv4/route.c, `net.ipv4.route.error_burst` 5 s, `error_cost` 1 s; the bucket is clamped to
 * the burst when the first error is sent). Those sysctls exist only in the root namespace, which a
 * replay never touches, so the replay paces its probes instead (runPaced): the first `burst` run at
 * once; each later one starts `gapMs` after every earlier one has finished, so that one probe's
 * error can never empty the bucket for the next. Checked on Linux 6.18 (docs/kernel-notes.md aa).
 */
export const ICMP_ERROR_BUDGET = { burst: 5, gapMs: 1050 } as const;

/**
 * Runs `items` one at a time within an ICMP error budget: the first `burst` back to back, each later
 * one started `gapMs` after the previous one finished; `between` (if given) runs before every item
 * but the first. Results in input order. A probe makes at most one router send one ICMP error to
 * one source (its packet is dropped where the error is made), and it is sent before the probe
 * finishes, so no source ever exceeds the kernel's bucket. One at a time, because probes run side
 * by side are not independent: one client's ARP request (a broadcast) updates the entry another
 * client's kernel is resolving (arp_process: a request from a known sender refreshes its entry),
 * so a probe the model sends into a failed resolution can reach its target (conformance seed 90210
 * case 48).
 */
export async function runPaced<T, R>(
  items: readonly T[],
  run: (item: T, index: number) => Promise<R>,
  budget: { readonly burst: number; readonly gapMs: number } = ICMP_ERROR_BUDGET,
  wait: (ms: number) => Promise<void> = sleep,
  between?: () => Promise<void>,
): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i++) {
    if (i >= budget.burst) await wait(budget.gapMs);
    if (i > 0 && between) await between();
    out.push(await run(items[i]!, i));
  }
  return out;
}

export type Observed = ProbeResult | 'error';

export interface ProbeComparison {
  readonly name: string;
  readonly from: string;
  /** real netns the client ran in */
  readonly netns: string;
  readonly to: string;
  readonly proto: 'tcp' | 'udp' | 'icmp';
  /** the simulation's result (the most probable one when -m statistic splits it) */
  readonly predicted: ProbeResult;
  /** every result the simulation allows (several only with -m statistic) */
  readonly predictedAll: readonly ProbeResult[];
  /** errno the simulation predicts for the client (e.g. ECONNREFUSED, ok, timeout) */
  readonly predictedErrno: string;
  readonly observed: Observed;
  /** what the real client got: ok, timeout, an errno name, or icmp-TYPE/CODE */
  readonly errno: string;
  readonly detail: string;
  readonly ms: number;
  readonly agree: boolean;
  readonly expect?: ProbeResult;
}

export interface CommandLog {
  readonly argv: readonly string[];
  readonly origin: Origin;
  readonly rc: number | null;
  readonly stderr: string;
  readonly ms: number;
  readonly stdin?: string;
  /** killed by the replay's own time limit (a starved machine), not refused by the kernel */
  readonly timedOut?: boolean;
}

export interface ReplayReport {
  readonly model: string;
  readonly prefix: string;
  /** no setup failure and every probe agrees */
  readonly ok: boolean;
  readonly probes: readonly ProbeComparison[];
  /** the command that failed while building the world for real, if one did */
  readonly failure?: { readonly command: CommandLog; readonly message: string };
  /** every command run, in order (per host in parallel, so interleaved across hosts) */
  readonly commands: readonly CommandLog[];
  /** namespaces left in place (--keep) */
  readonly kept: readonly string[];
  readonly timings: { readonly setupMs: number; readonly probesMs: number; readonly cleanupMs: number };
  /** problems met while removing namespaces (should be empty) */
  readonly cleanupErrors: readonly string[];
  /** with pcapDir: the capture files written, with tcpdump's packet count */
  readonly captures?: readonly { readonly file: string; readonly packets: number | undefined; readonly error?: string }[];
}

export interface ReplayOptions {
  /** leave the namespaces for inspection (remove them with `netpath replay --cleanup`) */
  readonly keep?: boolean;
  /** namespace prefix; default newPrefix() */
  readonly prefix?: string;
  readonly probeTimeoutMs?: number;
  /** capture every up interface with tcpdump into this directory (see src/replay/pcap.ts) */
  readonly pcapDir?: string;
  /**
   * keep the probes within the kernel's ICMP error budget (runPaced; default true). Only
   * the test that shows why it is needed turns it off.
   */
  readonly pace?: boolean;
  /** called as each probe finishes, for a progress line */
  readonly onProbe?: (done: number, total: number) => void;
}

/** The replay cannot run here (not root, not Linux, tools missing); nothing was changed. */
export class ReplayRefused extends Error {
  override readonly name: string = 'ReplayRefused';
  constructor(
    readonly reasons: readonly string[],
    backend = '--netns',
  ) {
    super(`netpath replay ${backend} refuses to run: ${reasons.join('; ')}`);
  }
}

// ---------------------------------------------------------------------------------------------
// per-namespace setup

/** `sysctl -w` settings that make a new namespace a fresh kernel's, as the model assumes. */
export function defaultSysctls(): string[] {
  const out = ['net.ipv4.ip_forward=0'];
  for (const scope of ['all', 'default'])
    for (const k of DEVCONF_KEYS) if (k !== 'forwarding') out.push(`net.ipv4.conf.${scope}.${k}=${DEFAULT_DEVCONF[k]}`);
  for (const [k, v] of Object.entries(NS_SYSCTL_DEFAULTS)) {
    if (k.startsWith('net.ipv4.neigh.default.')) continue; // exists only in the root netns
    out.push(`${k}=${v.replace(/\t/g, ' ')}`);
  }
  // not modelled: ICMP error rate limiting would make probes depend on each other. Both are per
  // namespace (checked on Linux 6.18); ratemask 0 also takes ICMP errors out of the namespace-wide
  // icmp_msgs_per_sec bucket. ip_error()'s own limiter cannot be set here: see ICMP_ERROR_BUDGET.
  out.push('net.ipv4.icmp_ratelimit=0', 'net.ipv4.icmp_ratemask=0');
  return out;
}

/** lo up and the default sysctls (`-e`: br_netfilter's keys exist only when it is loaded). */
export function setupNetns(real: string, origin: Origin = KERNEL): RenderedCommand[] {
  return [loUp(real, origin), { argv: execIn(real, ['sysctl', '-q', '-e', '-w', ...defaultSysctls()]), origin }];
}

/**
 * Every existing device's ARP retransmit time (net.ipv4.neigh.DEV.*; a child netns has no
 * `default`), and no proxy ARP delay: a proxied answer waits up to proxy_delay (0.8 s), longer
 * than the shortened resolution, while the model's clients wait the kernel's full 3 s for it.
 */
function tuneNeigh(real: string): RenderedCommand {
  const script = `for f in /proc/sys/net/ipv4/neigh/*/retrans_time_ms; do echo ${TUNING.retransTimeMs} > "$f"; done; for f in /proc/sys/net/ipv4/neigh/*/proxy_delay; do echo 0 > "$f"; done`;
  return { argv: execIn(real, ['sh', '-c', script]), origin: KERNEL };
}

/** The LANs: a bridge in its own namespace, one veth per member, the member end in the host. */
export function renderLans(built: Built, names: ReplayNames): RenderedCommand[] {
  const out: RenderedCommand[] = [];
  for (const lan of built.model.lans) {
    const l = names.lan(lan.name);
    out.push({ argv: ['ip', 'netns', 'add', l], origin: lan.origin, creates: l }, ...setupNetns(l, lan.origin));
    out.push({ argv: ipIn(l, ['link', 'add', 'br0', 'type', 'bridge']), origin: lan.origin });
    out.push({ argv: ipIn(l, ['link', 'set', 'dev', 'br0', 'up']), origin: lan.origin });
    lan.members.forEach((m, i) => {
      const h = names.host(m.host);
      const port = `p${i}`;
      const mac = built.world.netns[m.host]?.links.find((x) => x.name === m.ifname)?.mac;
      out.push({ argv: ipIn(l, ['link', 'add', port, 'type', 'veth', 'peer', 'name', m.ifname, 'netns', h]), origin: m.origin });
      out.push({ argv: ipIn(l, ['link', 'set', 'dev', port, 'master', 'br0', 'up']), origin: m.origin });
      if (mac !== undefined) out.push({ argv: ipIn(h, ['link', 'set', 'dev', m.ifname, 'address', mac]), origin: m.origin });
      if (m.addr)
        out.push({ argv: ipIn(h, ['addr', 'add', `${formatIpv4(m.addr.local)}/${m.addr.prefixLen}`, 'brd', '+', 'dev', m.ifname]), origin: m.origin });
      out.push({ argv: ipIn(h, ['link', 'set', 'dev', m.ifname, 'up']), origin: m.origin });
    });
  }
  return out;
}

/**
 * Safety: a command may only act inside this run's namespaces: `ip -n OURS ...`,
 * `ip netns exec OURS ...`, `ip netns add|del OURS`. Anything else is a netpath bug.
 */
export function assertConfined(argv: readonly string[], prefix: string): void {
  const ours = (n: string | undefined): boolean => n !== undefined && n.startsWith(`${prefix}-`) && !n.includes('/');
  const ok =
    argv[0] === 'ip' &&
    ((argv[1] === '-n' && ours(argv[2])) ||
      (argv[1] === 'netns' && (argv[2] === 'exec' || argv[2] === 'add' || argv[2] === 'del') && ours(argv[3])));
  if (!ok) throw new Error(`netpath bug: replay command not confined to namespaces ${prefix}-*: ${argv.join(' ')}`);
  // sysctls outside net.* are global even inside a namespace
  if (argv[1] === 'netns' && argv[2] === 'exec' && argv[4] === 'sysctl')
    for (const a of argv.slice(5)) if (!a.startsWith('-') && !a.startsWith('net.')) throw new Error(`netpath replay: refusing global sysctl ${a}`);
}

// ---------------------------------------------------------------------------------------------
// runs, and their cleanup on every path

class Run {
  /** real namespaces created, in order (deleted ones removed) */
  readonly created: string[] = [];
  readonly children = new Set<ChildProcessWithoutNullStreams>();
  readonly commands: CommandLog[] = [];
  cleaned = false;
  constructor(readonly names: ReplayNames) {}

  async exec(c: RenderedCommand): Promise<CommandLog> {
    assertConfined(c.argv, this.names.prefix);
    if (c.creates !== undefined && !this.created.includes(c.creates)) this.created.push(c.creates);
    const r = await runArgv(c.argv, { ...(c.stdin !== undefined ? { stdin: c.stdin } : {}), timeoutMs: 15_000 });
    const gone = c.deletes !== undefined && r.rc === 0 ? this.created.indexOf(c.deletes) : -1;
    if (gone >= 0) this.created.splice(gone, 1);
    const log: CommandLog = {
      argv: c.argv,
      origin: c.origin,
      rc: r.rc,
      stderr: (r.stderr + (r.timedOut ? '\n(killed after 15 s)' : '')).trim(),
      ms: r.ms,
      ...(c.stdin !== undefined ? { stdin: c.stdin } : {}),
      ...(r.timedOut ? { timedOut: true } : {}),
    };
    this.commands.push(log);
    if (r.rc !== 0) throw new StepFailed(log);
    return log;
  }

  /** Synchronous, idempotent: usable from signal and exit handlers. */
  cleanup(): string[] {
    if (this.cleaned) return [];
    this.cleaned = true;
    for (const c of this.children) if (c.pid !== undefined && c.exitCode === null) c.kill('SIGKILL');
    const errors: string[] = [];
    const present = new Set(listNetns());
    for (const n of [...this.created].reverse()) {
      if (!present.has(n)) continue;
      const e = removeNetnsSync(n);
      if (e) errors.push(`${n}: ${e}`);
    }
    // anything else carrying our prefix (e.g. created by a command that was interrupted)
    for (const n of listNetns()) if (n.startsWith(`${this.names.prefix}-`)) {
      const e = removeNetnsSync(n);
      if (e) errors.push(`${n}: ${e}`);
    }
    return errors;
  }
}

/** Runs the setup; a StepFailed becomes the report's `failure` (anything else is a bug: thrown). */
export async function setupFailure(setup: () => Promise<void>): Promise<ReplayReport['failure']> {
  try {
    await setup();
    return undefined;
  } catch (e) {
    if (!(e instanceof StepFailed)) throw e;
    return { command: e.log, message: e.message };
  }
}

/** A real command failed while building the world: the run stops there and reports it. */
export class StepFailed extends Error {
  constructor(readonly log: CommandLog) {
    super(`command failed (exit ${log.rc ?? 'killed'}): ${log.argv.join(' ')}${log.stderr ? `\n    ${log.stderr}` : ''}`);
  }
}

const active = new Set<Run>();

// ---------------------------------------------------------------------------------------------
// the replay

export async function replayNetns(built: Built, opts: ReplayOptions = {}): Promise<ReplayReport> {
  const pf = preflight();
  if (!pf.ok) throw new ReplayRefused(pf.reasons);
  const python = pf.python!;
  const names = replayNames(opts.prefix ?? newPrefix());
  const { world, model } = built;
  checkNames(built, names);
  const timeout = opts.probeTimeoutMs ?? TUNING.probeTimeoutMs;

  // the prediction first: a model that does not build never touches the kernel
  const planned = predictProbes(built);

  const run = new Run(names);
  active.add(run);
  const release = onAbort(() => run.cleanup());
  const t0 = performance.now();
  let setupMs = 0;
  let probesMs = 0;
  let failure: ReplayReport['failure'];
  let probes: ProbeComparison[] = [];
  let captures: Capture[] = [];
  let captured: ReplayReport['captures'];
  try {
    failure = await setupFailure(async () => {
      for (const h of model.hosts) {
        const real = names.host(h.name);
        await run.exec({ argv: ['ip', 'netns', 'add', real], origin: h.origin, creates: real });
        for (const c of setupNetns(real, h.origin)) await run.exec(c);
      }
      for (const c of renderLans(built, names)) await run.exec(c);
      await Promise.all(
        model.hosts.map(async (h) => {
          for (const c of renderCommands(built.ops[h.name] ?? [], names, { setupNetns: (r, o) => setupNetns(r, o) })) await run.exec(c);
        }),
      );
      await Promise.all(run.created.map((n) => run.exec(tuneNeigh(n))));
      if (opts.pcapDir !== undefined) {
        mkdirSync(opts.pcapDir, { recursive: true });
        const display = new Map<string, string>();
        for (const id of Object.keys(world.netns)) display.set(names.ns(id), id);
        for (const lan of model.lans) display.set(names.lan(lan.name), `lan/${lan.name}`);
        const targets = run.created.map((real) => ({ real, name: display.get(real) ?? real.slice(names.prefix.length + 1) }));
        captures = await startCaptures(targets, opts.pcapDir, (c) => run.children.add(c), (argv) => assertConfined(argv, names.prefix));
      }
      await startServices(run, built, python);
    });
    setupMs = Math.round(performance.now() - t0);
    const t1 = performance.now();
    const idents = new Set<number>();
    let probesDone = 0;
    const one = async (pp: PlannedProbe): Promise<ProbeComparison> => {
      const ident = newIdent(idents);
      const realFrom = names.ns(pp.from);
      const obs = failure ? NOT_RUN : await runProbe(run, python, realFrom, pp.p.proto, formatIpv4(pp.p.to), pp.p.port ?? 0, timeout, ident, pp.p.src);
      opts.onProbe?.(++probesDone, planned.length);
      return compareProbe(pp, realFrom, obs);
    };
    const keep = failure ? new Map<string, readonly NeighEntry[]>() : await neighSnapshot(run);
    probes = opts.pace === false || failure ? await Promise.all(planned.map(one)) : await runPaced(planned, one, ICMP_ERROR_BUDGET, sleep, () => resetTraffic(run, keep));
    probesMs = Math.round(performance.now() - t1);
  } finally {
    if (captures.length > 0) captured = await stopCaptures(captures);
    if (opts.keep) {
      for (const c of run.children) c.kill('SIGKILL');
      run.cleaned = true;
    }
  }
  const t2 = performance.now();
  const kept = opts.keep ? [...run.created] : [];
  const cleanupErrors = opts.keep ? [] : run.cleanup();
  active.delete(run);
  release();
  return {
    model: model.file,
    prefix: names.prefix,
    ok: failure === undefined && probes.every((p) => p.agree),
    probes,
    ...(failure ? { failure } : {}),
    commands: run.commands,
    kept,
    timings: { setupMs, probesMs, cleanupMs: Math.round(performance.now() - t2) },
    cleanupErrors,
    ...(captured ? { captures: captured } : {}),
  };
}

/** One neighbour entry as the runbooks left it (`ip -4 neigh show`). */
interface NeighEntry {
  readonly addr: string;
  readonly dev: string;
  readonly lladdr: string | undefined;
  /** PERMANENT, NOARP, REACHABLE, STALE, ... */
  readonly state: string | undefined;
}

/** The neighbour entries each namespace holds once the runbooks ran: resetTraffic puts them back. */
async function neighSnapshot(run: Run): Promise<Map<string, readonly NeighEntry[]>> {
  const keep = new Map<string, readonly NeighEntry[]>();
  for (const real of run.created) {
    const argv = ipIn(real, ['-4', 'neigh', 'show']);
    assertConfined(argv, run.names.prefix);
    const r = await runArgv(argv, { timeoutMs: 15_000 });
    keep.set(real, r.stdout.split('\n').flatMap((l) => parseNeighLine(l) ?? []));
  }
  return keep;
}

/** `10.0.0.1 dev eth0 lladdr 02:00:00:00:00:99 STALE` as an entry (undefined for other lines). */
export function parseNeighLine(line: string): NeighEntry | undefined {
  const f = line.trim().split(/\s+/);
  if (f.length < 3 || f[1] !== 'dev') return undefined;
  const at = f.indexOf('lladdr');
  const state = f.slice(3).find((w) => /^[A-Z]+$/.test(w));
  return { addr: f[0]!, dev: f[2]!, lladdr: at > 0 ? f[at + 1] : undefined, state };
}

/**
 * The shell that puts one namespace's neighbour table back as the runbooks left it: entries learned
 * since are deleted, and every entry the runbooks made is written again with its lladdr and state
 * (a later ARP request from that neighbour may have changed it: arp_process updates an entry it
 * holds for the sender), then every conntrack entry is dropped.
 */
export function resetScript(entries: readonly NeighEntry[]): string {
  const keep = entries.map((e) => `${e.addr}@${e.dev}`).join(' ');
  const put = entries
    .filter((e) => e.lladdr !== undefined && e.state !== undefined && ['PERMANENT', 'NOARP', 'REACHABLE', 'STALE', 'DELAY', 'PROBE'].includes(e.state))
    .map((e) => `ip neigh replace ${e.addr} dev ${e.dev} lladdr ${e.lladdr!} nud ${e.state!.toLowerCase()} 2>/dev/null; `)
    .join('');
  return (
    `keep=' ${keep} '; ip -4 neigh show | while read a d dev rest; do case "$keep" in *" $a@$dev "*) ;; *) ip neigh del "$a" dev "$dev" 2>/dev/null ;; esac; done; ` +
    put +
    'if command -v conntrack >/dev/null; then conntrack -F >/dev/null 2>&1; fi; true'
  );
}

/**
 * What a probe's traffic leaves behind, undone before the next probe (the model's contract: every
 * probe sees the state the runbooks left, docs/semantics.md "Probes"): neighbour tables as the
 * snapshot holds them and no conntrack entry, in each namespace of the run.
 */
async function resetTraffic(run: Run, keep: ReadonlyMap<string, readonly NeighEntry[]>): Promise<void> {
  await Promise.all(run.created.map((real) => run.exec({ argv: execIn(real, ['sh', '-c', resetScript(keep.get(real) ?? [])]), origin: KERNEL })));
}

/** A probe of the model with the simulation's answer. */
export interface PlannedProbe {
  readonly p: Built['model']['probes'][number];
  /** the client's namespace in the world */
  readonly from: NsId;
  /** every result the simulation allows */
  readonly all: readonly ProbeResult[];
  /** the most probable trace */
  readonly best: { readonly result: ProbeResult; readonly errno: string };
}

/** Every probe of the model, simulated (before anything touches a kernel). */
export function predictProbes(built: Built): PlannedProbe[] {
  return built.model.probes.map((p) => {
    const flow = probeFlow(built.world, p);
    const from = flow.from;
    const traces = traceFlow(built.world, flow);
    const best = [...traces].sort((a, b) => b.probability - a.probability)[0]!;
    return { p, from, all: [...new Set(traces.map((t) => t.result))], best };
  });
}

/** What a real client saw (the agent's JSON line, or an error of ours). */
export interface Obs {
  readonly result: Observed;
  readonly errno: string;
  readonly detail: string;
  readonly ms: number;
}

export const NOT_RUN: Obs = { result: 'error', errno: '-', detail: 'not run: the setup failed', ms: 0 };

/** A fresh ICMP echo id (probes run in parallel; each must recognise its own reply). */
export function newIdent(taken: Set<number>): number {
  let ident = 1 + Math.floor(Math.random() * 65534);
  while (taken.has(ident)) ident = 1 + ((ident + 1) % 65534);
  taken.add(ident);
  return ident;
}

/** The predicted and observed results side by side; `where` names the real client. */
export function compareProbe({ p, all, best }: PlannedProbe, where: string, obs: Obs): ProbeComparison {
  return {
    name: p.name,
    from: p.from,
    netns: where,
    to: p.port !== undefined ? `${formatIpv4(p.to)}:${p.port}` : formatIpv4(p.to),
    proto: p.proto,
    predicted: best.result,
    predictedAll: all,
    predictedErrno: best.errno,
    observed: obs.result,
    errno: obs.errno,
    detail: obs.detail,
    ms: obs.ms,
    agree: obs.result !== 'error' && all.includes(obs.result),
    ...(p.expect !== undefined ? { expect: p.expect } : {}),
  };
}

/** Real names must not collide (host `a-b` + netns `c` vs host `a` + netns `b-c`). */
function checkNames(built: Built, names: ReplayNames): void {
  const seen = new Map<string, string>();
  const add = (real: string, what: string): void => {
    const prev = seen.get(real);
    if (prev !== undefined) throw new ConfigError('model', built.model.file, 0, `replay: ${what} and ${prev} would both be namespace ${real}; rename one`);
    seen.set(real, what);
  };
  for (const id of Object.keys(built.world.netns)) add(names.ns(id), `namespace ${id}`);
  for (const lan of built.model.lans) add(names.lan(lan.name), `LAN ${lan.name}`);
  for (const [host, ops] of Object.entries(built.ops))
    for (const op of ops) if (op.op === 'netns-add' || op.op === 'docker-run') if (!seen.has(names.created(host, op.name))) add(names.created(host, op.name), `namespace ${host}/${op.name}`);
}

function sleep(ms: number): Promise<void> {
  return ms > 0 ? new Promise((resolve) => setTimeout(resolve, ms)) : Promise.resolve();
}

function agentArgv(python: string, real: string, args: readonly string[]): string[] {
  return ['ip', 'netns', 'exec', real, python, '-c', AGENT_PY, ...args];
}

/** One listener per namespace with services; resolves once every one prints "ready". */
async function startServices(run: Run, built: Built, python: string): Promise<void> {
  const byNs = new Map<NsId, string[]>();
  for (const s of built.world.services) byNs.set(s.ns, [...(byNs.get(s.ns) ?? []), serviceSpec(s)]);
  await Promise.all(
    [...byNs].map(([id, specs]) => {
      const real = run.names.ns(id);
      const argv = agentArgv(python, real, ['serve', ...specs]);
      assertConfined(argv, run.names.prefix);
      const origin = built.world.services.find((s) => s.ns === id)?.origin ?? KERNEL;
      const t0 = performance.now();
      return new Promise<void>((resolve, reject) => {
        const child = spawn(argv[0]!, argv.slice(1), { env: REPLAY_ENV, stdio: ['pipe', 'pipe', 'pipe'] });
        run.children.add(child);
        let out = '';
        let err = '';
        const log = (rc: number | null, extra: string): CommandLog => ({
          argv: ['ip', 'netns', 'exec', real, 'python3', 'agent', 'serve', ...specs],
          origin,
          rc,
          stderr: (err + extra).trim(),
          ms: Math.round(performance.now() - t0),
        });
        const timer = setTimeout(() => {
          child.kill('SIGKILL');
          reject(new StepFailed(log(null, `listener not ready after ${TUNING.readyTimeoutMs / 1000} s`)));
        }, TUNING.readyTimeoutMs);
        child.stdout.setEncoding('utf8').on('data', (d: string) => {
          out += d;
          if (out.includes('ready\n')) {
            clearTimeout(timer);
            run.commands.push(log(0, ''));
            resolve();
          }
        });
        child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
        child.on('exit', (code) => {
          clearTimeout(timer);
          reject(new StepFailed(log(code, 'listener exited')));
        });
      });
    }),
  );
}

async function runProbe(run: Run, python: string, real: string, proto: 'tcp' | 'udp' | 'icmp', dst: string, port: number, timeoutMs: number, ident: number, src: Ipv4 | undefined): Promise<Obs> {
  const argv = agentArgv(python, real, ['probe', proto, dst, String(port), String(timeoutMs / 1000), String(ident), ...(src !== undefined ? [formatIpv4(src)] : [])]);
  assertConfined(argv, run.names.prefix);
  const r = await runArgv(argv, { timeoutMs: timeoutMs + 20_000 });
  const line = r.stdout.trim().split('\n').pop() ?? '';
  try {
    const j = JSON.parse(line) as { result: ProbeResult; errno: string; detail: string; ms: number };
    return j;
  } catch {
    run.commands.push({ argv: agentArgv('python3', real, ['probe', proto, dst, String(port)]).filter((a) => a !== AGENT_PY), origin: KERNEL, rc: r.rc, stderr: r.stderr.trim(), ms: r.ms });
    return { result: 'error', errno: '-', detail: r.timedOut ? 'probe agent hung (killed)' : `probe agent failed: ${r.stderr.trim().split('\n').pop() ?? ''}`, ms: r.ms };
  }
}

// ---------------------------------------------------------------------------------------------
// leftovers

export interface CleanupResult {
  readonly removed: readonly string[];
  /** namespaces of runs whose process is still alive (left alone) */
  readonly skipped: readonly string[];
  readonly errors: readonly string[];
}

/**
 * Removes namespaces left by replays whose process is gone (names `npr<pid36>_<rand4>-...`,
 * see names.ts); a live run's namespaces are skipped unless `force`.
 */
export function cleanupLeftovers(opts: { force?: boolean } = {}): CleanupResult {
  const pf = preflight();
  if (!pf.ok) throw new ReplayRefused(pf.reasons);
  const removed: string[] = [];
  const skipped: string[] = [];
  const errors: string[] = [];
  for (const n of listNetns()) {
    const owner = ownerOf(n);
    if (!owner) continue;
    if (!opts.force && owner.pid !== process.pid && alive(owner.pid)) {
      skipped.push(n);
      continue;
    }
    if (owner.pid === process.pid && [...active].some((r) => n.startsWith(`${r.names.prefix}-`))) {
      skipped.push(n);
      continue;
    }
    const e = removeNetnsSync(n);
    if (e) errors.push(`${n}: ${e}`);
    else removed.push(n);
  }
  return { removed, skipped, errors };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** For tests and tools: the namespaces this machine has now. */
export { listNetns };
