/**
 * Real captures for `netpath replay --netns --pcap DIR`: one tcpdump per up interface of every
 * namespace of the run (hosts, runbook namespaces, LAN bridges), started after the runbooks and
 * before the services and probes, stopped with SIGTERM after the probes (tcpdump then flushes and
 * closes its file). `--immediate-mode -U`: every packet is written as it arrives.
 *
 * File names are those of the synthetic captures (src/pcap/captures.ts): `NETNS_IFACE.pcap`, with
 * NETNS the model's name (`web2`, `web2/ngx1`; a LAN is `lan/NAME`) and `/` and anything but
 * letters, digits, `.`, `-`, `_` written as `_`; so `web2_ngx1_eth0.pcap` from the replay sits
 * beside the simulation's file of the same name for side-by-side viewing.
 */
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { REPLAY_ENV, runArgv } from './exec.js';

export function realCaptureName(nsName: string, dev: string): string {
  return `${`${nsName}/${dev}`.replace(/[^A-Za-z0-9._-]/g, '_')}.pcap`;
}

export interface Capture {
  readonly ns: string;
  readonly dev: string;
  readonly file: string;
  readonly child: ChildProcessWithoutNullStreams;
  stderr: string;
}

/** Interfaces that are up in a namespace (`ip -o link show up`), without the `@peer` suffix. */
export async function upInterfaces(real: string): Promise<string[]> {
  const r = await runArgv(['ip', '-n', real, '-o', 'link', 'show', 'up']);
  return r.stdout
    .split('\n')
    .map((l) => /^\d+:\s+([^:@\s]+)/.exec(l)?.[1])
    .filter((x): x is string => x !== undefined);
}

/**
 * Starts one tcpdump per (namespace, interface); resolves when each says it is listening (or has
 * failed: its stderr is kept). `track` receives each child so the caller's cleanup can kill it.
 */
export async function startCaptures(
  targets: readonly { real: string; name: string }[],
  dir: string,
  track: (c: ChildProcessWithoutNullStreams) => void,
  check: (argv: readonly string[]) => void,
): Promise<Capture[]> {
  const caps: Capture[] = [];
  for (const t of targets)
    for (const dev of await upInterfaces(t.real)) {
      const file = join(dir, realCaptureName(t.name, dev));
      const argv = ['ip', 'netns', 'exec', t.real, 'tcpdump', '-i', dev, '-U', '--immediate-mode', '-n', '-s', '0', '-w', file];
      check(argv);
      const child = spawn(argv[0]!, argv.slice(1), { env: REPLAY_ENV, stdio: ['pipe', 'pipe', 'pipe'] });
      track(child);
      caps.push({ ns: t.name, dev, file, child, stderr: '' });
    }
  await Promise.all(
    caps.map(
      (c) =>
        new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, 5000);
          c.child.stderr.setEncoding('utf8').on('data', (d: string) => {
            c.stderr += d;
            if (c.stderr.includes('listening on')) {
              clearTimeout(timer);
              resolve();
            }
          });
          c.child.on('exit', () => {
            clearTimeout(timer);
            resolve();
          });
        }),
    ),
  );
  return caps;
}

/** SIGTERM to each tcpdump, then waits (at most 5 s) for it to write its file and exit. */
export async function stopCaptures(caps: readonly Capture[]): Promise<{ file: string; packets: number | undefined; error?: string }[]> {
  return Promise.all(
    caps.map(
      (c) =>
        new Promise<{ file: string; packets: number | undefined; error?: string }>((resolve) => {
          const finish = (): void => {
            const m = /(\d+) packets? captured/.exec(c.stderr);
            const failed = c.child.exitCode !== 0 && c.child.exitCode !== null && m === null;
            resolve({ file: c.file, packets: m ? Number(m[1]) : undefined, ...(failed ? { error: c.stderr.trim().split('\n').pop() ?? 'tcpdump failed' } : {}) });
          };
          if (c.child.exitCode !== null || c.child.signalCode !== null) return finish();
          const timer = setTimeout(() => {
            c.child.kill('SIGKILL');
          }, 5000);
          c.child.on('close', () => {
            clearTimeout(timer);
            finish();
          });
          c.child.kill('SIGTERM');
        }),
    ),
  );
}
