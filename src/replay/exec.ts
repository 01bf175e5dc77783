/**
 * Running real commands for the replay: preflight checks, one command with a time limit, and the
 * synchronous variants that cleanup uses (they must work inside a signal or exit handler).
 */
import { spawn, spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { platform } from 'node:os';

/** PATH with the sbin directories that hold ip, iptables and sysctl (sudo may drop them). */
export const REPLAY_ENV: NodeJS.ProcessEnv = {
  ...process.env,
  PATH: [...(process.env['PATH'] ?? '').split(delimiter).filter(Boolean), '/usr/local/sbin', '/usr/sbin', '/sbin', '/usr/bin', '/bin'].join(delimiter),
  LC_ALL: 'C',
};

export function which(cmd: string): string | undefined {
  for (const d of (REPLAY_ENV['PATH'] ?? '').split(delimiter)) {
    const p = join(d, cmd);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // next
    }
  }
  return undefined;
}

export interface Preflight {
  readonly ok: boolean;
  /** why the replay cannot run here, one reason per entry */
  readonly reasons: readonly string[];
  /** the real python3 binary (pyenv and similar shims resolved) */
  readonly python?: string;
}

let cachedPreflight: Preflight | undefined;

/** Linux, root, iproute2 with netns support, iptables, sysctl and python3. */
export function preflight(): Preflight {
  if (cachedPreflight) return cachedPreflight;
  const reasons: string[] = [];
  if (platform() !== 'linux') reasons.push(`network namespaces need Linux (this is ${platform()})`);
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) reasons.push('the netns backend must run as root (try: sudo netpath replay ...)');
  for (const t of ['ip', 'iptables', 'iptables-restore', 'sysctl', 'python3']) if (!which(t)) reasons.push(`${t} not found in PATH`);
  let python: string | undefined;
  if (reasons.length === 0) {
    const r = spawnSync('python3', ['-c', 'import sys; print(sys.executable)'], { env: REPLAY_ENV, encoding: 'utf8', timeout: 60_000 });
    python = r.status === 0 ? r.stdout.trim() : undefined;
    if (!python) reasons.push(`python3 does not run: ${(r.stderr || String(r.error ?? '')).trim()}`);
    const n = spawnSync('ip', ['netns', 'list'], { env: REPLAY_ENV, encoding: 'utf8', timeout: 10_000 });
    if (n.status !== 0) reasons.push(`"ip netns list" fails: ${n.stderr.trim()}`);
  }
  cachedPreflight = { ok: reasons.length === 0, reasons, ...(python !== undefined ? { python } : {}) };
  return cachedPreflight;
}

export interface RunResult {
  /** exit code; null when killed (timeout) or not started */
  readonly rc: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
  readonly timedOut: boolean;
}

/** Runs argv (argv[0] looked up in REPLAY_ENV's PATH) with an optional stdin and a time limit. */
export function runArgv(argv: readonly string[], opts: { stdin?: string; timeoutMs?: number; onSpawn?: (pid: number | undefined) => void } = {}): Promise<RunResult> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    const child = spawn(argv[0]!, argv.slice(1), { env: REPLAY_ENV, stdio: ['pipe', 'pipe', 'pipe'] });
    opts.onSpawn?.(child.pid);
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, opts.timeoutMs ?? 10_000);
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.stdin.on('error', () => undefined);
    child.stdin.end(opts.stdin ?? '');
    const done = (rc: number | null, extra = ''): void => {
      clearTimeout(timer);
      resolve({ rc, stdout, stderr: stderr + extra, ms: Math.round(performance.now() - t0), timedOut });
    };
    child.on('error', (e) => done(null, String(e.message)));
    child.on('close', (code) => done(timedOut ? null : code));
  });
}

/** Synchronous run for cleanup paths; never throws. */
export function runSync(argv: readonly string[]): { rc: number | null; stdout: string; stderr: string } {
  const r = spawnSync(argv[0]!, argv.slice(1), { env: REPLAY_ENV, encoding: 'utf8', timeout: 10_000 });
  return { rc: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? String(r.error ?? '') };
}

/** `ip netns list` names (without the `(id: N)` suffix). */
export function listNetns(): string[] {
  const r = runSync(['ip', 'netns', 'list']);
  return r.stdout
    .split('\n')
    .map((l) => l.trim().split(/\s+/)[0] ?? '')
    .filter(Boolean);
}

/**
 * Removes one namespace of ours: kills the processes inside it (only ever processes this backend
 * started there), then deletes it. Returns an error text or undefined.
 */
export function removeNetnsSync(name: string): string | undefined {
  const pids = runSync(['ip', 'netns', 'pids', name]);
  for (const p of pids.stdout.split(/\s+/).filter((x) => /^\d+$/.test(x))) {
    try {
      process.kill(Number(p), 'SIGKILL');
    } catch {
      // already gone
    }
  }
  const r = runSync(['ip', 'netns', 'del', name]);
  if (r.rc === 0) return undefined;
  if (!listNetns().includes(name)) return undefined;
  return r.stderr.trim() || `ip netns del ${name} failed`;
}

const aborts = new Set<() => void>();
const SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

function onSignal(sig: NodeJS.Signals): void {
  onExit();
  for (const s of SIGNALS) process.off(s, onSignal);
  process.off('exit', onExit);
  process.kill(process.pid, sig);
}

function onExit(): void {
  const all = [...aborts];
  aborts.clear();
  for (const f of all) f();
}

/**
 * Runs `cleanup` (synchronous) on SIGINT/SIGTERM/SIGHUP, then re-raises the signal, or at process
 * exit, unless the returned release is called first (the run cleaned up itself).
 */
export function onAbort(cleanup: () => void): () => void {
  if (aborts.size === 0) {
    for (const s of SIGNALS) process.on(s, onSignal);
    process.on('exit', onExit);
  }
  aborts.add(cleanup);
  return () => {
    aborts.delete(cleanup);
    if (aborts.size === 0) {
      for (const s of SIGNALS) process.off(s, onSignal);
      process.off('exit', onExit);
    }
  };
}

/**
 * Waits (synchronously, for cleanup paths) until process `pid` has exited or is a zombie, at most
 * `ms`. Returns whether it ended.
 */
export function waitExitSync(pid: number, ms: number): boolean {
  const end = Date.now() + ms;
  for (;;) {
    const r = spawnSync('ps', ['-o', 'stat=', '-p', String(pid)], { encoding: 'utf8', timeout: 5000 });
    if (r.status !== 0 || r.stdout.trim() === '' || r.stdout.trim().startsWith('Z')) return true;
    if (Date.now() > end) return false;
    spawnSync('sleep', ['0.05']);
  }
}
