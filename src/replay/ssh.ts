/**
 * The ssh backend of the replay: each model host is a real machine reached with ssh(1); its
 * runbook runs there exactly as `netpath export` prints it, the replay agent (src/replay/agent.ts)
 * serves and probes from the hosts with real sockets, the results are compared with the
 * simulation as the netns backend compares them, and the undo script (src/replay/export.ts) takes
 * back what the runbook added.
 *
 * Steps, per host (hosts in parallel):
 *   0. connect: one ssh master per host (ControlMaster, ControlPath in a fresh directory); every
 *      later command is a session over it (`ssh -o ControlMaster=no -o ControlPath=...`).
 *   1. check and capture, read only (STATE_SCRIPT): root, tools, the NICs the model assumes, no
 *      namespace or device the runbook creates exists yet; the before-state (BEFORE_SCRIPT plus
 *      addresses, routes, rules, devices, namespaces) for the undo and for checking it.
 *   2. the runbook: each line of the export script is one ssh command, in order; the first that
 *      fails stops that host (and the others at their next line), as `set -e` would.
 *   3. services: one agent per namespace with services, supervised by a shell that kills it when
 *      our ssh session closes; probes start once each printed `ready`.
 *   4. probes: `python3 -c AGENT probe ...` on the client's host (in its namespace).
 *   5. stop the agents, run the undo for the lines that ran, then read the state again and list
 *      what differs from before.
 *
 * Planning and the dry run are pure; `replaySsh` does the I/O. Cleanup is synchronous so that it
 * also runs from SIGINT/SIGTERM/SIGHUP handlers and at exit.
 */
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatOrigin, KERNEL, type Origin } from '../model/origin.js';
import type { Op } from '../plan/ops.js';
import { formatIpv4 } from '../wire/ipv4.js';
import type { Built } from '../world/build.js';
import { AGENT_PY, serviceSpec } from './agent.js';
import { onAbort, REPLAY_ENV, runArgv, waitExitSync } from './exec.js';
import { BEFORE_SCRIPT, hostCommands, parseBefore, shellLine, sysctlKeys, undoScript, type HostBefore } from './export.js';
import { compareProbe, NOT_RUN, newIdent, predictProbes, runPaced, ReplayRefused, setupFailure, StepFailed, type CommandLog, type Obs, type PlannedProbe, type ProbeComparison, type ReplayReport } from './netns.js';
import { execIn, shellQuote, type RenderedCommand } from './render.js';

/** Real machines are slower and untuned: a failed ARP takes ~3 s (3 solicitations, 1 s apart). */
export const SSH_PROBE_TIMEOUT_MS = 5000;

export interface SshReplayOptions {
  /** model host -> ssh destination (`[user@]addr`, or `ssh://user@addr:port`) */
  readonly targets: Readonly<Record<string, string>>;
  /** the user's ssh(1) arguments (`-p PORT`, `-i KEY`, `-o UserKnownHostsFile=...`, `-F FILE`) */
  readonly sshArgs?: readonly string[];
  /** the ssh program; default $NETPATH_SSH, else `ssh` */
  readonly ssh?: string;
  readonly probeTimeoutMs?: number;
}

/** Bad `--ssh` use, or a host that must not be touched: nothing was changed (exit 2). */
export class SshRefused extends ReplayRefused {
  override readonly name = 'SshRefused';
  constructor(reasons: readonly string[]) {
    super(reasons, '--ssh');
  }
}

// ---------------------------------------------------------------------------------------------
// the plan (pure)

export interface ServicePlan {
  /** the runbook namespace it listens in; null = the host's own */
  readonly netns: string | null;
  readonly specs: readonly string[];
  readonly origin: Origin;
}

export interface ProbePlan {
  readonly planned: PlannedProbe;
  /** the runbook namespace the client runs in; null = the host's own */
  readonly netns: string | null;
}

export interface HostPlan {
  readonly host: string;
  readonly dest: string;
  /** the export script's commands, in order */
  readonly commands: readonly RenderedCommand[];
  /** lines that run differently from what the runbook says (docker run) */
  readonly warnings: readonly string[];
  readonly services: readonly ServicePlan[];
  readonly probes: readonly ProbePlan[];
  /** host-level sysctl keys the runbook writes (read before, written back after) */
  readonly sysctlKeys: readonly string[];
  /** NICs the model assumes, with their address */
  readonly nics: readonly { readonly ifname: string; readonly addr?: string }[];
  /** namespaces and host devices the runbook creates: they must not exist before */
  readonly createsNetns: readonly string[];
  readonly createsLinks: readonly string[];
}

export interface SshPlan {
  readonly model: string;
  readonly hosts: readonly HostPlan[];
}

/** `--ssh NAME=DEST` strings into a map; every mistake is collected. */
export function parseTargets(specs: readonly string[]): { targets: Record<string, string>; errors: string[] } {
  const targets: Record<string, string> = {};
  const errors: string[] = [];
  for (const s of specs) {
    const m = /^([^=\s]+)=(\S+)$/.exec(s);
    if (!m) errors.push(`--ssh ${s}: write HOST=DEST (a model host, then [user@]address)`);
    else if (m[2]!.startsWith('-')) errors.push(`--ssh ${s}: a destination cannot start with "-"`);
    else if (targets[m[1]!] !== undefined) errors.push(`--ssh ${m[1]!} is given twice`);
    else targets[m[1]!] = m[2]!;
  }
  return { targets, errors };
}

/** `--ssh-opt` values, each split at blanks: `--ssh-opt '-p 2222'` is `-p`, `2222`. */
export function splitSshOpts(values: readonly string[]): string[] {
  return values.flatMap((v) => v.split(/\s+/).filter(Boolean));
}

/** Which host runs what. Throws SshRefused when a host has no destination (or one has no host). */
export function planSsh(built: Built, targets: Readonly<Record<string, string>>): SshPlan {
  const { model, world } = built;
  const hostNames = model.hosts.map((h) => h.name);
  const reasons: string[] = [];
  const missing = hostNames.filter((h) => targets[h] === undefined);
  if (missing.length > 0) reasons.push(`every host of the model needs --ssh HOST=DEST; missing: ${missing.map((h) => `--ssh ${h}=...`).join(' ')}`);
  for (const t of Object.keys(targets)) if (!hostNames.includes(t)) reasons.push(`--ssh ${t}=...: no host "${t}" in ${model.file} (hosts: ${hostNames.join(', ')})`);
  const byDest = new Map<string, string>();
  for (const [h, d] of Object.entries(targets)) {
    const other = byDest.get(d);
    if (other !== undefined) reasons.push(`hosts ${other} and ${h} are both ${d}: their runbooks would meet on one machine`);
    byDest.set(d, h);
  }
  if (reasons.length > 0) throw new SshRefused(reasons);

  const split = (id: string): { host: string; netns: string | null } => {
    const k = id.indexOf('/');
    return k < 0 ? { host: id, netns: null } : { host: id.slice(0, k), netns: id.slice(k + 1) };
  };
  const planned = predictProbes(built);
  return {
    model: model.file,
    hosts: model.hosts.map((h): HostPlan => {
      const ops = built.ops[h.name] ?? [];
      const services = new Map<string, ServicePlan>();
      for (const s of world.services) {
        const at = split(s.ns);
        if (at.host !== h.name) continue;
        const key = at.netns ?? '';
        const prev = services.get(key);
        services.set(key, { netns: at.netns, specs: [...(prev?.specs ?? []), serviceSpec(s)], origin: prev?.origin ?? s.origin });
      }
      return {
        host: h.name,
        dest: targets[h.name]!,
        commands: hostCommands(built, h.name),
        warnings: ops.flatMap((o) =>
          o.op === 'docker-run'
            ? [`${formatOrigin(o.origin)}: \`docker run\` runs as \`ip netns add ${o.name}\`: the model means a bare network namespace (lo up); no container or image is started, and its services are the replay agent`]
            : [],
        ),
        services: [...services.values()],
        probes: planned.filter((p) => split(p.from).host === h.name).map((p) => ({ planned: p, netns: split(p.from).netns })),
        sysctlKeys: sysctlKeys(ops),
        nics: model.lans.flatMap((l) => l.members.filter((m) => m.host === h.name).map((m) => ({ ifname: m.ifname, ...(m.addr ? { addr: `${formatIpv4(m.addr.local)}/${m.addr.prefixLen}` } : {}) }))),
        createsNetns: ops.flatMap((o) => (o.op === 'netns-add' || o.op === 'docker-run' ? [o.name] : [])),
        createsLinks: ops.flatMap((o) => (o.op === 'link-add' && o.ns === null ? [o.name, ...(o.kind === 'veth' && o.peer && o.peer.netns === undefined ? [o.peer.name] : [])] : [])),
      };
    }),
  };
}

/** The agent's argv on a host, in a namespace of it. */
export function agentCommand(netns: string | null, args: readonly string[], agent: string = AGENT_PY): string[] {
  return execIn(netns, ['python3', '-c', agent, ...args]);
}

/**
 * The remote line that starts a listener: the agent in the background, its pid printed, and a
 * reader on our session's stdin that kills it when the session ends (also when netpath dies).
 */
export function serviceLine(s: ServicePlan, agent: string = AGENT_PY): string {
  return `exec 3<&0; ${shellQuote(agentCommand(s.netns, ['serve', ...s.specs], agent))} & p=$!; echo "@@pid $p"; { read _ <&3; kill $p 2>/dev/null; } & wait $p; echo "@@exited $?"`;
}

export function probeArgs(p: ProbePlan, timeoutMs: number, ident: number | string): string[] {
  const pr = p.planned.p;
  return ['probe', pr.proto, formatIpv4(pr.to), String(pr.port ?? 0), String(timeoutMs / 1000), String(ident), ...(pr.src !== undefined ? [formatIpv4(pr.src)] : [])];
}

/** What `--apply` reads on each host, before and after (read only). */
export function stateScript(plan: HostPlan): string {
  const tools = [...new Set(['ip', 'python3', 'iptables-save', ...plan.commands.map((c) => toolOf(c.argv))])];
  return [
    'echo @@uid; id -u',
    `echo @@missing; for t in ${tools.map((t) => shellQuote([t])).join(' ')}; do command -v "$t" >/dev/null 2>&1 || echo "$t"; done`,
    'echo @@addr; ip -4 -o addr show',
    'echo @@route; ip -4 route show table all',
    'echo @@rule; ip -4 rule show',
    'echo @@link; ip -o link show',
    'echo @@netns; ip netns list 2>/dev/null',
    BEFORE_SCRIPT(plan.sysctlKeys).trimEnd(),
  ].join('\n') + '\n';
}

function toolOf(argv: readonly string[]): string {
  return argv[0] === 'ip' && argv[1] === 'netns' && argv[2] === 'exec' ? (argv[4] ?? 'ip') : argv[0]!;
}

export interface HostState {
  readonly uid: string;
  readonly missing: readonly string[];
  /** section -> normalised lines (addr, route, rule, link, netns, iptables, sysctl) */
  readonly sections: Readonly<Record<string, readonly string[]>>;
  readonly before: HostBefore;
  readonly raw: Readonly<Record<string, string>>;
}

export function parseState(out: string): HostState {
  const sec = (name: string): string => new RegExp(`@@${name}\\n([\\s\\S]*?)(?=@@[a-z-]+\\n|@@end|$)`).exec(out)?.[1] ?? '';
  const lines = (s: string): string[] => s.split('\n').map((l) => l.trimEnd()).filter(Boolean);
  const before = parseBefore(out);
  return {
    uid: sec('uid').trim(),
    missing: lines(sec('missing')),
    raw: { addr: sec('addr'), link: sec('link'), netns: sec('netns') },
    before,
    sections: {
      addr: lines(sec('addr')).map((l) => l.replace(/\\\s*valid_lft.*$/, '').replace(/\s+/g, ' ')),
      route: lines(sec('route')),
      rule: lines(sec('rule')),
      link: lines(sec('link')).map((l) => {
        const m = /^\d+:\s+([^:@]+)(?:@[^:]*)?:\s+<([^>]*)>/.exec(l);
        return m ? `${m[1]!}${m[2]!.split(',').includes('UP') ? ' UP' : ''}` : l;
      }),
      netns: lines(sec('netns')).map((l) => l.split(/\s+/)[0]!),
      iptables: normaliseSave(before.iptablesSave),
      sysctl: Object.entries(before.sysctls).map(([k, v]) => `${k}=${v}`),
    },
  };
}

/** iptables-save without comments and counters; a table with nothing in it counts as absent. */
export function normaliseSave(save: string): string[] {
  const out: string[] = [];
  let table: string[] = [];
  let empty = true;
  for (const raw of save.split('\n')) {
    const l = raw.trim().replace(/\[\d+:\d+\]$/, '').trimEnd();
    if (l === '' || l.startsWith('#')) continue;
    if (l.startsWith('*')) {
      table = [l];
      empty = true;
      continue;
    }
    table.push(l);
    if (l.startsWith('-') || (l.startsWith(':') && !/^:\S+ (ACCEPT|-)$/.test(l))) empty = false;
    if (l === 'COMMIT') {
      if (!empty) out.push(...table);
      table = [];
    }
  }
  return out;
}

/** Why `--apply` must not run on this host (empty: fine). */
export function checkHost(plan: HostPlan, st: HostState): string[] {
  const who = `${plan.host} (${plan.dest})`;
  const out: string[] = [];
  if (st.uid !== '0') out.push(`${who}: not root (uid ${st.uid || '?'}); the runbook needs root`);
  if (st.missing.length > 0) out.push(`${who}: not found in PATH: ${st.missing.join(', ')}`);
  const links = new Set(st.sections['link']!.map((l) => l.split(' ')[0]!));
  const addrs = st.raw['addr']!.split('\n');
  for (const n of plan.nics) {
    if (!links.has(n.ifname)) out.push(`${who}: the model's NIC ${n.ifname} does not exist here (devices: ${[...links].join(', ')}); wrong host, or adapt the model`);
    else if (n.addr !== undefined && !addrs.some((l) => new RegExp(`^\\d+:\\s+${escapeRe(n.ifname)}\\s+inet ${escapeRe(n.addr!)}\\s`).test(l)))
      out.push(`${who}: the model says ${n.ifname} has ${n.addr}; here it has ${addrs.filter((l) => new RegExp(`^\\d+:\\s+${escapeRe(n.ifname)}\\s`).test(l)).map((l) => /inet (\S+)/.exec(l)?.[1]).join(', ') || 'no IPv4 address'}`);
  }
  for (const n of plan.createsNetns)
    if (st.sections['netns']!.includes(n)) out.push(`${who}: namespace ${n} exists already; the runbook creates it (and the undo would delete it)`);
  for (const d of plan.createsLinks) if (links.has(d)) out.push(`${who}: device ${d} exists already; the runbook creates it (and the undo would delete it)`);
  return out;
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Lines of `before` missing `after`, and new ones, per section: what the undo did not restore. */
export function diffState(before: HostState, after: HostState): string[] {
  const out: string[] = [];
  for (const k of Object.keys(before.sections)) {
    const b = before.sections[k]!;
    const a = after.sections[k] ?? [];
    for (const l of a) if (!b.includes(l)) out.push(`${k}: + ${l}`);
    for (const l of b) if (!a.includes(l)) out.push(`${k}: - ${l}`);
  }
  return out;
}

/** The ops that ran: up to the op of the last command that succeeded. */
export function appliedOps(ops: readonly Op[], lastOk: RenderedCommand | undefined): Op[] {
  if (lastOk === undefined) return [];
  let last = -1;
  ops.forEach((o, i) => {
    if (o.origin === lastOk.origin) last = i;
  });
  return ops.slice(0, last + 1);
}

// ---------------------------------------------------------------------------------------------
// ssh invocations

interface Conn {
  readonly plan: HostPlan;
  readonly socket: string;
  master?: ChildProcessWithoutNullStreams;
  masterErr: string;
}

class Ssh {
  constructor(
    readonly program: string,
    readonly userArgs: readonly string[],
  ) {}

  /** Options netpath always sets (first: ssh takes the first value given for each option). */
  fixed(socket: string, master: boolean): string[] {
    return ['-T', '-o', 'BatchMode=yes', '-o', `ControlMaster=${master ? 'yes' : 'no'}`, '-o', `ControlPath=${socket}`, '-o', 'ControlPersist=no'];
  }

  /** After the user's: defaults the user may override. */
  readonly defaults = ['-o', 'ConnectTimeout=10', '-o', 'ServerAliveInterval=10', '-o', 'ServerAliveCountMax=3'];

  argv(c: Conn, remote: string, master = false): string[] {
    return [this.program, ...this.fixed(c.socket, master), ...this.userArgs, ...this.defaults, c.plan.dest, remote];
  }

  /** How every command is sent, for the dry run (ControlPath shown as a placeholder). */
  display(dest: string, master: boolean): string {
    return shellQuote([this.program, ...this.fixed('DIR/hN', master), ...this.userArgs, ...this.defaults, dest]);
  }
}

// ---------------------------------------------------------------------------------------------
// dry run

const AGENT_SHOWN = '"$AGENT"';

export function formatDryRun(built: Built, plan: SshPlan, opts: { sshArgs?: readonly string[]; ssh?: string; probeTimeoutMs?: number } = {}): string {
  const ssh = new Ssh(opts.ssh ?? defaultProgram(), opts.sshArgs ?? []);
  const timeout = opts.probeTimeoutMs ?? SSH_PROBE_TIMEOUT_MS;
  const out: string[] = [
    `# netpath replay ${plan.model} --ssh: dry run. Nothing was run; add --apply to run it.`,
    '# AGENT is the replay agent (src/replay/agent.ts), sent as `python3 -c` with each command.',
    '',
  ];
  for (const h of plan.hosts) {
    const undo = undoScript(built, h.host, placeholderBefore(h));
    out.push(
      `## host ${h.host} = ${h.dest}`,
      `# 0. one connection, shared by every command below:`,
      `#    ${ssh.display(h.dest, true)} 'echo @@ready; exec cat >/dev/null'`,
      `#    then each command as: ${ssh.display(h.dest, false)} COMMAND`,
      ...h.warnings.map((w) => `# warning: ${w}`),
      `# 1. read only: root? tools? NICs ${h.nics.map((n) => `${n.ifname}${n.addr ? ` ${n.addr}` : ''}`).join(', ') || '(none)'} as the model says? the before-state:`,
      ...stateScript(h).trimEnd().split('\n').map((l) => `#    ${l}`),
      '# 2. the runbook (`netpath export`), one ssh command per line, stopping at the first that fails:',
      ...h.commands.map(shellLine),
      '# 3. services (each waits for the agent to print ready; killed when its session ends):',
      ...(h.services.length === 0 ? ['#    (none)'] : h.services.map((s) => serviceLine(s, AGENT_SHOWN).replace(`'${AGENT_SHOWN}'`, AGENT_SHOWN))),
      '# 4. probes from this host (all hosts at once):',
      ...(h.probes.length === 0
        ? ['#    (none)']
        : h.probes.map((p) => `${shellQuote(agentCommand(p.netns, probeArgs(p, timeout, 'ID'), AGENT_SHOWN)).replace(`'${AGENT_SHOWN}'`, AGENT_SHOWN)}    # ${p.planned.p.name}: predicted ${p.planned.all.join('|')}`)),
      '# 5. stop the agents, then this undo (for the lines that ran; iptables and sysctls as read in step 1):',
      ...undo.script.trimEnd().split('\n').filter((l) => !l.startsWith('#!')),
      '',
    );
  }
  return `${out.join('\n')}\n`;
}

/** The before-state as the dry run shows it: what step 1 will read, as placeholders. */
function placeholderBefore(h: HostPlan): HostBefore {
  return {
    iptablesSave: '*filter\n# ... the `iptables-save` read in step 1 ...\nCOMMIT\n',
    sysctls: Object.fromEntries(h.sysctlKeys.map((k) => [k, 'VALUE_READ_IN_STEP_1'])),
  };
}

function defaultProgram(): string {
  return process.env['NETPATH_SSH'] || 'ssh';
}

// ---------------------------------------------------------------------------------------------
// --apply

export interface SshHostReport {
  readonly host: string;
  readonly dest: string;
  readonly warnings: readonly string[];
  /** commands of the runbook that ran (all, or up to the one that failed) */
  readonly ran: number;
  readonly of: number;
  /** the undo that ran */
  readonly undo?: string;
  /** what the undo cannot take back (listed before it runs) */
  readonly cannotUndo: readonly string[];
  /** the state after the undo that differs from before (`route: + ...`, `iptables: - ...`) */
  readonly notRestored: readonly string[];
  readonly errors: readonly string[];
}

export interface SshReplayReport extends ReplayReport {
  readonly backend: 'ssh';
  readonly hosts: readonly SshHostReport[];
}

interface Progress {
  lastOk?: RenderedCommand;
  ran: number;
  /** the command being sent (its ssh client's pid): interrupted here, it may or may not have run */
  inflight?: { readonly command: RenderedCommand; pid?: number };
}

class SshRun {
  readonly commands: CommandLog[] = [];
  readonly conns = new Map<string, Conn>();
  readonly states = new Map<string, HostState>();
  /** per host: the last runbook command that succeeded, how many ran, the one running now */
  readonly progress = new Map<string, Progress>();
  readonly agents = new Map<string, { child: ChildProcessWithoutNullStreams; pid?: string }[]>();
  readonly dir = mkdtempSync(join(tmpdir(), 'netpath-ssh-'));
  stop = false;
  cleaned = false;
  reports: SshHostReport[] = [];

  constructor(
    readonly plan: SshPlan,
    readonly built: Built,
    readonly ssh: Ssh,
  ) {
    plan.hosts.forEach((h, i) => this.conns.set(h.host, { plan: h, socket: join(this.dir, `h${i}`), masterErr: '' }));
  }

  conn(host: string): Conn {
    return this.conns.get(host)!;
  }

  /** The master connection; resolves once its session runs (mux socket listening). */
  connect(c: Conn): Promise<void> {
    return new Promise((resolve, reject) => {
      const child = spawn(this.ssh.program, this.ssh.argv(c, 'echo @@ready; exec cat >/dev/null', true).slice(1), { env: REPLAY_ENV, stdio: ['pipe', 'pipe', 'pipe'] });
      c.master = child;
      let out = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => {
        out += d;
        if (out.includes('@@ready')) resolve();
      });
      child.stderr.setEncoding('utf8').on('data', (d: string) => (c.masterErr += d));
      child.stdin.on('error', () => undefined);
      child.on('error', (e) => reject(new Error(`${c.plan.host} (${c.plan.dest}): cannot run ${this.ssh.program}: ${e.message}`)));
      child.on('exit', (code) => reject(new Error(`${c.plan.host} (${c.plan.dest}): ssh failed (exit ${code ?? 'killed'}): ${c.masterErr.trim() || 'no message'}`)));
    });
  }

  async remote(host: string, line: string, opts: { stdin?: string; timeoutMs?: number; onSpawn?: (pid: number | undefined) => void } = {}): Promise<{ rc: number | null; stdout: string; stderr: string; ms: number; timedOut: boolean }> {
    return runArgv(this.ssh.argv(this.conn(host), line), { ...opts, timeoutMs: opts.timeoutMs ?? 60_000 });
  }

  remoteSync(host: string, line: string, stdin?: string): { rc: number | null; stdout: string; stderr: string } {
    const r = spawnSync(this.ssh.program, this.ssh.argv(this.conn(host), line).slice(1), { env: REPLAY_ENV, encoding: 'utf8', timeout: 60_000, ...(stdin !== undefined ? { input: stdin } : {}) });
    return { rc: r.status, stdout: r.stdout ?? '', stderr: r.stderr || String(r.error ?? '') };
  }

  /** The runbook of one host, line by line; throws StepFailed at the first failure. */
  async apply(h: HostPlan): Promise<void> {
    const prog: Progress = { ran: 0 };
    this.progress.set(h.host, prog);
    for (const c of h.commands) {
      if (this.stop || this.cleaned) return;
      const line = shellQuote(c.argv);
      const inflight: NonNullable<Progress['inflight']> = { command: c };
      prog.inflight = inflight;
      const r = await this.remote(h.host, line, { ...(c.stdin !== undefined ? { stdin: c.stdin } : {}), timeoutMs: 30_000, onSpawn: (pid) => pid !== undefined && (inflight.pid = pid) });
      delete prog.inflight;
      prog.ran++;
      const log: CommandLog = {
        argv: ['ssh', h.dest, ...c.argv],
        origin: c.origin,
        rc: r.rc,
        stderr: (r.stderr + (r.timedOut ? '\n(killed after 30 s)' : '')).trim(),
        ms: r.ms,
        ...(c.stdin !== undefined ? { stdin: c.stdin } : {}),
      };
      this.commands.push(log);
      if (r.rc !== 0) {
        this.stop = true;
        throw new StepFailed(log);
      }
      prog.lastOk = c;
    }
  }

  startService(h: HostPlan, s: ServicePlan): Promise<void> {
    const c = this.conn(h.host);
    const t0 = performance.now();
    const child = spawn(this.ssh.program, this.ssh.argv(c, serviceLine(s)).slice(1), { env: REPLAY_ENV, stdio: ['pipe', 'pipe', 'pipe'] });
    const entry: { child: ChildProcessWithoutNullStreams; pid?: string } = { child };
    this.agents.set(h.host, [...(this.agents.get(h.host) ?? []), entry]);
    const argv = ['ssh', h.dest, ...agentCommand(s.netns, ['serve', ...s.specs], 'AGENT')];
    let out = '';
    let err = '';
    const log = (rc: number | null, extra: string): CommandLog => ({ argv, origin: s.origin, rc, stderr: (err + extra).trim(), ms: Math.round(performance.now() - t0) });
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new StepFailed(log(null, 'listener not ready after 15 s'))), 15_000);
      child.stdout.setEncoding('utf8').on('data', (d: string) => {
        out += d;
        const pid = /@@pid (\d+)/.exec(out)?.[1];
        if (pid !== undefined) entry.pid = pid;
        const exited = /@@exited (\d+)/.exec(out);
        if (exited) {
          clearTimeout(timer);
          reject(new StepFailed(log(Number(exited[1]), 'listener exited')));
        } else if (/^ready$/m.test(out) && entry.pid !== undefined) {
          clearTimeout(timer);
          this.commands.push(log(0, ''));
          resolve();
        }
      });
      child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
      child.stdin.on('error', () => undefined);
      child.on('exit', (code) => {
        clearTimeout(timer);
        reject(new StepFailed(log(code, 'ssh session ended')));
      });
    });
  }

  async probe(h: HostPlan, p: ProbePlan, timeoutMs: number, ident: number): Promise<Obs> {
    const line = shellQuote(agentCommand(p.netns, probeArgs(p, timeoutMs, ident)));
    const r = await this.remote(h.host, line, { timeoutMs: timeoutMs + 30_000 });
    try {
      return JSON.parse(r.stdout.trim().split('\n').pop() ?? '') as Obs;
    } catch {
      this.commands.push({ argv: ['ssh', h.dest, ...agentCommand(p.netns, probeArgs(p, timeoutMs, ident), 'AGENT')], origin: KERNEL, rc: r.rc, stderr: r.stderr.trim(), ms: r.ms });
      return { result: 'error', errno: '-', detail: r.timedOut ? 'probe agent hung (killed)' : `probe agent failed: ${r.stderr.trim().split('\n').pop() ?? ''}`, ms: r.ms };
    }
  }

  /**
   * Synchronous, idempotent: agents stopped, the undo of what ran, the state compared with before,
   * the connections closed, the control directory removed.
   */
  cleanup(): void {
    if (this.cleaned) return;
    this.cleaned = true;
    const reports: SshHostReport[] = [];
    for (const h of this.plan.hosts) {
      const errors: string[] = [];
      const conn = this.conn(h.host);
      const connected = conn.master !== undefined && conn.master.exitCode === null && conn.master.signalCode === null;
      const agents = this.agents.get(h.host) ?? [];
      const pids = agents.flatMap((a) => (a.pid !== undefined ? [a.pid] : []));
      if (connected && pids.length > 0) this.remoteSync(h.host, `kill ${pids.join(' ')} 2>/dev/null; true`);
      for (const a of agents) if (a.child.exitCode === null) a.child.kill('SIGTERM');
      const prog = this.progress.get(h.host);
      const before = this.states.get(h.host);
      let undo: string | undefined;
      let cannot: string[] = [];
      let notRestored: string[] = [];
      // interrupted while a line was being sent: wait for it, and undo it as if it ran
      if (prog?.inflight?.pid !== undefined && !waitExitSync(prog.inflight.pid, 30_000)) errors.push(`${shellQuote(prog.inflight.command.argv)} was still running at the undo`);
      if (before !== undefined && prog !== undefined && (prog.ran > 0 || prog.inflight !== undefined)) {
        const ops = appliedOps(this.built.ops[h.host] ?? [], prog.inflight?.command ?? prog.lastOk);
        const u = undoScript({ ...this.built, ops: { ...this.built.ops, [h.host]: ops } }, h.host, before.before);
        undo = u.script;
        cannot = u.cannot;
        if (!connected) errors.push(`the connection is gone; run this undo by hand:\n${u.script}`);
        else {
          const r = this.remoteSync(h.host, 'sh -s', u.script);
          if (r.rc !== 0) errors.push(`the undo failed (exit ${r.rc ?? 'killed'}): ${r.stderr.trim()}`);
          // a deleted namespace goes away asynchronously (with its veth peers and routes)
          const deadline = Date.now() + 3000;
          for (;;) {
            const a = this.remoteSync(h.host, 'sh -s', stateScript(h));
            notRestored = a.rc === 0 ? diffState(before, parseState(a.stdout)) : [`(could not read the state after the undo: ${a.stderr.trim()})`];
            if (notRestored.length === 0 || Date.now() > deadline) break;
            spawnSync('sleep', ['0.3']);
          }
        }
      }
      if (conn.master !== undefined && conn.master.exitCode === null) {
        conn.master.stdin.end();
        spawnSync(this.ssh.program, [...this.ssh.fixed(conn.socket, false), '-O', 'exit', ...this.ssh.userArgs, h.dest], { env: REPLAY_ENV, timeout: 10_000, stdio: 'ignore' });
        conn.master.kill('SIGTERM');
      }
      reports.push({ host: h.host, dest: h.dest, warnings: h.warnings, ran: prog?.ran ?? 0, of: h.commands.length, ...(undo !== undefined ? { undo } : {}), cannotUndo: cannot, notRestored, errors });
    }
    rmSync(this.dir, { recursive: true, force: true });
    this.reports = reports;
  }
}

function abortSummary(h: SshHostReport): string {
  const left = [...h.cannotUndo.map((c) => `cannot be undone: ${c}`), ...h.notRestored.map((d) => `differs from before: ${d}`), ...h.errors];
  return `  ${h.host} (${h.dest}): ran ${h.ran} of ${h.of}; ${left.length === 0 ? 'as before' : left.join('; ')}\n`;
}

/**
 * `--apply`: the replay on the real hosts. Throws SshRefused (nothing changed) when a host cannot
 * be reached or must not be touched; otherwise the report, undo results included.
 */
export async function replaySsh(built: Built, opts: SshReplayOptions): Promise<SshReplayReport> {
  const plan = planSsh(built, opts.targets);
  const ssh = new Ssh(opts.ssh ?? defaultProgram(), opts.sshArgs ?? []);
  const timeout = opts.probeTimeoutMs ?? SSH_PROBE_TIMEOUT_MS;
  const run = new SshRun(plan, built, ssh);
  const release = onAbort(() => {
    run.cleanup();
    process.stderr.write(`netpath replay --ssh: interrupted; agents stopped, then undone:\n${run.reports.map(abortSummary).join('')}`);
  });
  const t0 = performance.now();
  let setupMs = 0;
  let probesMs = 0;
  let cleanupMs = 0;
  let failure: ReplayReport['failure'];
  let probes: ProbeComparison[] = [];
  try {
    // 0-1: connect, check, read the before-state; any problem and nothing has changed
    const refused: string[] = [];
    await Promise.all(
      plan.hosts.map(async (h) => {
        try {
          await run.connect(run.conn(h.host));
          const r = await run.remote(h.host, 'sh -s', { stdin: stateScript(h) });
          if (r.rc !== 0) throw new Error(`${h.host} (${h.dest}): reading the state failed (exit ${r.rc ?? 'killed'}): ${r.stderr.trim()}`);
          const st = parseState(r.stdout);
          const why = checkHost(h, st);
          if (why.length > 0) refused.push(...why);
          else run.states.set(h.host, st);
        } catch (e) {
          refused.push((e as Error).message);
        }
      }),
    );
    if (refused.length > 0) throw new SshRefused(refused);
    // 2-3: the runbooks, then the services
    failure = await setupFailure(async () => {
      const results = await Promise.allSettled(plan.hosts.map((h) => run.apply(h)));
      const bad = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (bad) throw bad.reason;
      await Promise.all(plan.hosts.flatMap((h) => h.services.map((s) => run.startService(h, s))));
    });
    setupMs = Math.round(performance.now() - t0);
    // 4: probes, one at a time, paced within the kernel's ICMP error budget (runPaced)
    const t1 = performance.now();
    const idents = new Set<number>();
    const inOrder = plan.hosts.flatMap((h) => h.probes.map((p) => ({ h, p }))).sort((a, b) => built.model.probes.indexOf(a.p.planned.p) - built.model.probes.indexOf(b.p.planned.p));
    probes = await runPaced(inOrder, async ({ h, p }) => {
      const obs = failure ? NOT_RUN : await run.probe(h, p, timeout, newIdent(idents));
      return compareProbe(p.planned, p.netns === null ? h.dest : `${h.dest} netns ${p.netns}`, obs);
    });
    probesMs = Math.round(performance.now() - t1);
  } finally {
    const t2 = performance.now();
    run.cleanup();
    release();
    cleanupMs = Math.round(performance.now() - t2);
  }
  return {
    backend: 'ssh',
    model: built.model.file,
    prefix: 'ssh',
    ok: failure === undefined && probes.every((p) => p.agree),
    probes,
    ...(failure ? { failure } : {}),
    commands: run.commands,
    kept: [],
    timings: { setupMs, probesMs, cleanupMs },
    cleanupErrors: run.reports.flatMap((r) => [...r.errors, ...r.notRestored].map((e) => `${r.host}: ${e}`)),
    hosts: run.reports,
  };
}

/** The dry run as data (`--json`): per host what runs, in order. */
export function dryRunJson(built: Built, plan: SshPlan, opts: { probeTimeoutMs?: number } = {}): unknown {
  const timeout = opts.probeTimeoutMs ?? SSH_PROBE_TIMEOUT_MS;
  return {
    dryRun: true,
    model: plan.model,
    hosts: plan.hosts.map((h) => ({
      host: h.host,
      dest: h.dest,
      warnings: h.warnings,
      state: stateScript(h),
      runbook: h.commands.map(shellLine),
      services: h.services.map((s) => ({ netns: s.netns, listen: s.specs, argv: agentCommand(s.netns, ['serve', ...s.specs], 'AGENT') })),
      probes: h.probes.map((p) => ({ name: p.planned.p.name, netns: p.netns, predicted: p.planned.all, argv: agentCommand(p.netns, probeArgs(p, timeout, 'ID'), 'AGENT') })),
      undo: undoScript(built, h.host, placeholderBefore(h)),
    })),
  };
}
