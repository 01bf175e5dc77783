/**
 * The ssh backend (`netpath replay MODEL --ssh HOST=DEST [--apply]`).
 *
 * Pure part: the dry run and the CLI's refusals. Kernel part (gated like kernel.test.ts: root,
 * Linux, ip/iptables/python3, sshd/ssh/ssh-keygen/unshare; NETPATH_REQUIRE_KERNEL=1 makes a skip a
 * failure): one network namespace per model host plus the LAN (the netns backend's pieces, prefix
 * `nps<pid36>_<rand4>`), a controller namespace on the LAN where the ssh client runs, and in each
 * host namespace a throwaway sshd (its own host key, config and authorized_keys in a temp dir),
 * run in its own mount namespace with a private tmpfs on /run: the runbook's `ip netns add` there
 * lands in that tmpfs, never in the machine's /var/run/netns. Then `--apply` over ssh for real.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, lstatSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { loadModel } from '../../src/plan/model.js';
import type { Op } from '../../src/plan/ops.js';
import { cmdReplay, formatReport } from '../../src/replay/cli.js';
import { preflight, REPLAY_ENV, removeNetnsSync, runSync, which } from '../../src/replay/exec.js';
import { replayNames } from '../../src/replay/names.js';
import { listNetns, renderLans, setupNetns } from '../../src/replay/netns.js';
import { normaliseSave, replaySsh, SshRefused, type SshReplayReport } from '../../src/replay/ssh.js';
import { formatIpv4 } from '../../src/wire/ipv4.js';
import { buildWorld, type Built } from '../../src/world/build.js';

const SEED = 'models/seed-lan-container.yaml';
const NO_SNAT = 'models/seed-no-snat.yaml';

async function cli(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(argv, { out: (s) => void (out += s), err: (s) => void (err += s) });
  return { code, out, err };
}

describe('replay --ssh: dry run and refusals (no ssh, no kernel)', () => {
  it('without --apply prints per host the state read, the export script, services, probes and the undo', async () => {
    const r = await cli(['replay', SEED, '--ssh', 'web1=root@10.0.0.1', '--ssh', 'web2=root@10.0.0.2', '--ssh-opt', '-p 2222', '--ssh-opt', '-i', '--ssh-opt', '/k/id']);
    expect(r.code).toBe(0);
    const web2 = r.out.slice(r.out.indexOf('## host web2 = root@10.0.0.2'));
    expect(r.out).toContain('## host web1 = root@10.0.0.1');
    expect(r.out).toMatch(/ssh -T -o BatchMode=yes -o ControlMaster=yes -o ControlPath=DIR\/hN -o ControlPersist=no -p 2222 -i \/k\/id .* root@10\.0\.0\.1/);
    // the runbook exactly as `netpath export` prints it
    const exported = (await cli(['export', SEED, '--host', 'web2'])).out.split('\n').filter((l) => l && !l.startsWith('#') && l !== 'set -e');
    const step2 = web2.slice(web2.indexOf('# 2.'), web2.indexOf('# 3.')).split('\n').slice(1).filter(Boolean);
    expect(step2).toEqual(exported);
    expect(web2).toMatch(/warning: .*seed-web2\.sh:\d+: `docker run` runs as `ip netns add ngx1`/);
    expect(web2).toContain('ip netns exec ngx1 python3 -c "$AGENT" serve tcp:80 & p=$!');
    expect(r.out).toContain('python3 -c "$AGENT" probe tcp 192.168.2.10 80 5 ID    # web1 curl ngx1: predicted reachable');
    expect(web2).toContain('ip netns del ngx1 2>/dev/null || true');
    expect(web2).toContain('sysctl -q -w net.ipv4.ip_forward=VALUE_READ_IN_STEP_1 || true');
    const j = await cli(['replay', SEED, '--ssh', 'web1=a', '--ssh', 'web2=b', '--json']);
    expect((JSON.parse(j.out) as { hosts: { host: string; runbook: string[] }[] }).hosts.map((h) => [h.host, h.runbook.length])).toEqual([['web1', 2], ['web2', 13]]);
  });

  it('refuses: a host without --ssh, an unknown host, --netns with --ssh, --apply without confirmation', async () => {
    let r = await cli(['replay', SEED, '--ssh', 'web1=root@10.0.0.1']);
    expect([r.code, r.err]).toEqual([2, expect.stringMatching(/every host of the model needs --ssh HOST=DEST; missing: --ssh web2=\.\.\./)]);
    r = await cli(['replay', SEED, '--ssh', 'web1=a', '--ssh', 'web2=b', '--ssh', 'web3=c']);
    expect([r.code, r.err]).toEqual([2, expect.stringMatching(/no host "web3"/)]);
    r = await cli(['replay', SEED, '--ssh', 'web1=a', '--ssh', 'web2=a']);
    expect([r.code, r.err]).toEqual([2, expect.stringMatching(/hosts web1 and web2 are both a/)]);
    r = await cli(['replay', SEED, '--ssh', 'web1=-oProxyCommand=x', '--ssh', 'web2=b']);
    expect([r.code, r.err]).toEqual([2, expect.stringMatching(/cannot start with "-"/)]);
    r = await cli(['replay', SEED, '--netns', '--ssh', 'web1=a', '--ssh', 'web2=b']);
    expect([r.code, r.err]).toEqual([2, expect.stringMatching(/--ssh and --netns are exclusive/)]);
    r = await cli(['replay', SEED, '--apply']);
    expect([r.code, r.err]).toEqual([2, expect.stringMatching(/--apply, --yes and --ssh-opt go with --ssh/)]);
    // no terminal to ask on (vitest's stdin is not a TTY) and no --yes: nothing is run
    r = await cli(['replay', SEED, '--ssh', 'web1=a', '--ssh', 'web2=b', '--apply']);
    expect([r.code, r.err]).toEqual([2, expect.stringMatching(/--apply changes real hosts: confirm on a terminal, or add --yes/)]);
    // a terminal where the answer is not "yes"
    let err = '';
    let asked = '';
    const code = await cmdReplay(SEED, { ssh: ['web1=a', 'web2=b'], apply: true }, { out: () => undefined, err: (s) => void (err += s) }, async (q) => {
      asked = q;
      return false;
    });
    expect([code, err, asked]).toEqual([2, 'netpath replay: not applied\n', expect.stringMatching(/changes web1 \(a\), web2 \(b\).*Type yes/)]);
  });
});

// ---------------------------------------------------------------------------------------------
// for real: sshd in namespaces

const pf = preflight();
const SSH_TOOLS = ['/usr/sbin/sshd', 'ssh', 'ssh-keygen', 'unshare', 'mount'];
const sshMissing = SSH_TOOLS.filter((t) => (t.startsWith('/') ? !existsSync(t) : !which(t)));
const reasons = [...pf.reasons, ...sshMissing.map((t) => `${t} not found (apt-get install openssh-server openssh-client)`)];
const ok = reasons.length === 0;
const required = process.env['NETPATH_REQUIRE_KERNEL'] === '1';
if (!ok && !required)
  console.warn(
    `\n${'!'.repeat(78)}\n!! SKIPPED: replay --ssh against sshd in namespaces (test/replay/ssh.test.ts)\n!! ${reasons.join('\n!! ')}\n!! run as root on Linux with iproute2, iptables, python3, openssh-server/client; CI sets NETPATH_REQUIRE_KERNEL=1\n${'!'.repeat(78)}\n`,
  );

const PORT = 2222;

/** The test's own namespaces: hosts, LAN, controller; sshd per host; keys in a temp dir. */
class Lab {
  readonly prefix = `nps${process.pid.toString(36)}_${Math.random().toString(36).slice(2, 6).padEnd(4, '0')}`;
  readonly names = replayNames(this.prefix);
  readonly ctl = `${this.prefix}-ctl`;
  readonly dir = mkdtempSync(join(tmpdir(), 'netpath-sshd-'));
  readonly created: string[] = [];
  readonly sshds: ChildProcess[] = [];
  /** model host -> its LAN address */
  readonly addr = new Map<string, string>();
  sshLog = '';

  constructor(readonly built: Built) {}

  run(argv: string[], stdin?: string): string {
    const own = (n: string | undefined): boolean => n !== undefined && n.startsWith(`${this.prefix}-`);
    if (!(argv[0] === 'ip' && ((argv[1] === '-n' && own(argv[2])) || (argv[1] === 'netns' && own(argv[3])))) && argv[0] !== 'ssh-keygen')
      throw new Error(`test bug: not confined to ${this.prefix}-*: ${argv.join(' ')}`);
    if (argv[1] === 'netns' && argv[2] === 'add') this.created.push(argv[3]!);
    const r = spawnSync(argv[0]!, argv.slice(1), { env: REPLAY_ENV, encoding: 'utf8', timeout: 20_000, ...(stdin !== undefined ? { input: stdin } : {}) });
    if (r.status !== 0) throw new Error(`${argv.join(' ')}: exit ${r.status}: ${r.stderr}`);
    return r.stdout;
  }

  async up(): Promise<void> {
    const { model } = this.built;
    for (const h of model.hosts) {
      const real = this.names.host(h.name);
      this.run(['ip', 'netns', 'add', real]);
      for (const c of setupNetns(real)) this.run([...c.argv]);
    }
    for (const c of renderLans(this.built, this.names)) this.run([...c.argv], c.stdin);
    // the controller: one more port on every LAN's bridge
    this.run(['ip', 'netns', 'add', this.ctl]);
    for (const c of setupNetns(this.ctl)) this.run([...c.argv]);
    model.lans.forEach((lan, i) => {
      const members = lan.members.filter((m) => m.addr);
      const first = members[0]!.addr!;
      const used = new Set(members.map((m) => m.addr!.local));
      let a = ((first.local & ~((1 << (32 - first.prefixLen)) - 1)) | ((1 << (32 - first.prefixLen)) - 6)) >>> 0;
      while (used.has(a)) a--;
      const l = this.names.lan(lan.name);
      this.run(['ip', '-n', l, 'link', 'add', 'pc', 'type', 'veth', 'peer', 'name', `c${i}`, 'netns', this.ctl]);
      this.run(['ip', '-n', l, 'link', 'set', 'dev', 'pc', 'master', 'br0', 'up']);
      this.run(['ip', '-n', this.ctl, 'addr', 'add', `${formatIpv4(a)}/${first.prefixLen}`, 'dev', `c${i}`]);
      this.run(['ip', '-n', this.ctl, 'link', 'set', 'dev', `c${i}`, 'up']);
      for (const m of members) this.addr.set(m.host, formatIpv4(m.addr!.local));
    });
    // keys: one throwaway host key for every sshd, one client key
    this.run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', 'netpath-test-host', '-f', join(this.dir, 'host_key')]);
    this.run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', 'netpath-test-client', '-f', join(this.dir, 'id')]);
    writeFileSync(join(this.dir, 'authorized_keys'), readFileSync(join(this.dir, 'id.pub')));
    const hostKey = readFileSync(join(this.dir, 'host_key.pub'), 'utf8').split(' ').slice(0, 2).join(' ');
    writeFileSync(join(this.dir, 'known_hosts'), [...this.addr.values()].map((a) => `[${a}]:${PORT} ${hostKey}\n`).join(''));
    // the client runs in the controller namespace
    writeFileSync(join(this.dir, 'ssh'), `#!/bin/sh\nexec ${which('ip')!} netns exec ${this.ctl} ssh "$@"\n`);
    chmodSync(join(this.dir, 'ssh'), 0o755);
    // /var/run/netns is under /run on most systems; if not, it gets its own tmpfs too
    const varRunSeparate = !lstatSync('/var/run').isSymbolicLink();
    await Promise.all(
      [...this.addr].map(([host, addr]) => {
        const conf = join(this.dir, `sshd_config.${host}`);
        writeFileSync(
          conf,
          [
            `Port ${PORT}`,
            `ListenAddress ${addr}`,
            `HostKey ${join(this.dir, 'host_key')}`,
            'PermitRootLogin yes',
            'StrictModes no',
            'UsePAM no',
            'PasswordAuthentication no',
            'KbdInteractiveAuthentication no',
            `AuthorizedKeysFile ${join(this.dir, 'authorized_keys')}`,
            `PidFile ${join(this.dir, `sshd.${host}.pid`)}`,
            'PrintMotd no',
            '',
          ].join('\n'),
        );
        const script = `mount -t tmpfs -o mode=755 tmpfs /run && mkdir -p /run/sshd /run/netns${varRunSeparate ? ' && mount -t tmpfs tmpfs /var/run/netns' : ''} && exec /usr/sbin/sshd -D -e -f ${conf}`;
        const argv = ['ip', 'netns', 'exec', this.names.host(host), 'unshare', '--mount', '--propagation', 'private', 'sh', '-c', script];
        const child = spawn(argv[0]!, argv.slice(1), { env: REPLAY_ENV, stdio: ['ignore', 'ignore', 'pipe'] });
        this.sshds.push(child);
        return new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`sshd on ${host} not listening after 10 s: ${this.sshLog}`)), 10_000);
          child.stderr!.setEncoding('utf8').on('data', (d: string) => {
            this.sshLog += `[${host}] ${d}`;
            if (d.includes('Server listening')) {
              clearTimeout(timer);
              resolve();
            }
          });
          child.on('exit', (code) => {
            clearTimeout(timer);
            reject(new Error(`sshd on ${host} exited (${code}): ${this.sshLog}`));
          });
        });
      }),
    );
  }

  get sshArgs(): string[] {
    return ['-F', '/dev/null', '-p', String(PORT), '-i', join(this.dir, 'id'), '-o', 'IdentitiesOnly=yes', '-o', `UserKnownHostsFile=${join(this.dir, 'known_hosts')}`, '-o', 'GlobalKnownHostsFile=/dev/null'];
  }

  targets(swap = false): Record<string, string> {
    const hosts = [...this.addr.keys()];
    return Object.fromEntries(hosts.map((h, i) => [h, `root@${this.addr.get(swap ? hosts[(i + 1) % hosts.length]! : h)!}`]));
  }

  /** What the undo must give back, read directly (not over ssh): per host namespace. */
  state(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const h of this.addr.keys()) {
      const n = this.names.host(h);
      out[h] = [
        this.run(['ip', '-n', n, '-4', '-o', 'addr', 'show']).replace(/\\\s*valid_lft.*$/gm, ''),
        this.run(['ip', '-n', n, '-4', 'route', 'show', 'table', 'all']),
        this.run(['ip', '-n', n, '-4', 'rule', 'show']),
        this.run(['ip', '-n', n, '-o', 'link', 'show']).replace(/^(\d+: \S+) .*$/gm, '$1'),
        this.run(['ip', 'netns', 'exec', n, 'sysctl', 'net.ipv4.ip_forward']),
        // an empty table the runbook brought into being stays, empty: the same as none
        normaliseSave(this.run(['ip', 'netns', 'exec', n, 'iptables-save'])).join('\n'),
      ].join('\n');
    }
    return out;
  }

  down(): string[] {
    const errors: string[] = [];
    for (const c of this.sshds) if (c.exitCode === null) c.kill('SIGKILL');
    for (const n of [...this.created].reverse()) {
      const e = removeNetnsSync(n);
      if (e) errors.push(`${n}: ${e}`);
    }
    for (const n of listNetns()) if (n.startsWith(`${this.prefix}-`)) errors.push(`left: ${n}`);
    rmSync(this.dir, { recursive: true, force: true });
    return errors;
  }
}

describe.runIf(ok || required)('replay --ssh --apply against sshd in network namespaces', () => {
  let lab: Lab;
  let before: string[] = [];
  let hostState: Record<string, string> = {};
  const saved = process.env['NETPATH_SSH'];

  beforeAll(async () => {
    expect(reasons, 'NETPATH_REQUIRE_KERNEL=1 but the ssh replay tests cannot run here').toEqual([]);
    before = listNetns();
    lab = new Lab(buildWorld(loadModel(SEED)));
    try {
      await lab.up();
    } catch (e) {
      lab.down();
      throw e;
    }
    process.env['NETPATH_SSH'] = join(lab.dir, 'ssh');
    hostState = lab.state();
  }, 60_000);

  afterAll(() => {
    if (saved === undefined) delete process.env['NETPATH_SSH'];
    else process.env['NETPATH_SSH'] = saved;
    if (!ok) return;
    const errors = lab?.down() ?? [];
    expect(errors).toEqual([]);
    const after = listNetns();
    // nothing of ours, and none of the runbooks' namespaces (ngx1) reached the machine's list
    expect(after.filter((n) => n.startsWith('nps') && n.includes(process.pid.toString(36)))).toEqual([]);
    expect(after.filter((n) => n === 'ngx1' && !before.includes(n))).toEqual([]);
    const changed = [...before.filter((n) => !after.includes(n)).map((n) => `-${n}`), ...after.filter((n) => !before.includes(n)).map((n) => `+${n}`)];
    if (required || process.env['CI'] === 'true') expect(changed, 'ip netns list changed during the ssh replay tests').toEqual([]);
    else if (changed.length > 0) console.warn(`note: ip netns list changed by other programs during the ssh replay tests: ${changed.join(' ')}`);
  });

  const undoneCleanly = (r: SshReplayReport): void => {
    for (const h of r.hosts) expect({ host: h.host, notRestored: h.notRestored, errors: h.errors, cannot: h.cannotUndo }).toEqual({ host: h.host, notRestored: [], errors: [], cannot: [] });
    expect(lab.state(), 'the hosts are as before the replay').toEqual(hostState);
    expect(listNetns()).not.toContain('ngx1');
  };

  it('the seed works for real over ssh (CLI, --apply --yes --json), and is undone', async () => {
    const t0 = performance.now();
    const targets = lab.targets();
    const r = await cli(['replay', SEED, ...Object.entries(targets).flatMap(([h, d]) => ['--ssh', `${h}=${d}`]), ...lab.sshArgs.flatMap((a) => ['--ssh-opt', a]), '--apply', '--yes', '--json']);
    const report = JSON.parse(r.out || '{}') as SshReplayReport;
    expect(r.code, `${r.err}\n${r.out.slice(0, 3000)}\n${lab.sshLog}`).toBe(0);
    expect(report.probes.map((p) => [p.name, p.observed, p.agree])).toEqual([['web1 curl ngx1', 'reachable', true]]);
    expect(report.probes[0]!.detail).toMatch(/answer: HTTP\/1\.0 200 OK/);
    expect(report.hosts.map((h) => [h.host, h.ran, h.of])).toEqual([['web1', 2, 2], ['web2', 13, 13]]);
    expect(r.err).toMatch(/warning: web2: .*`docker run` runs as `ip netns add ngx1`/);
    undoneCleanly(report);
    console.info(`replay --ssh seed: ${Math.round(performance.now() - t0)} ms (setup ${report.timings.setupMs}, probes ${report.timings.probesMs}, undo ${report.timings.cleanupMs})`);
  });

  it('the no-SNAT variant fails for real (timeout, as predicted), and is undone', async () => {
    const report = await replaySsh(buildWorld(loadModel(NO_SNAT)), { targets: lab.targets(), sshArgs: lab.sshArgs, probeTimeoutMs: 2000 });
    expect(report.failure).toBeUndefined();
    expect(report.probes.map((p) => [p.observed, p.errno, p.agree])).toEqual([['timeout', 'timeout', true]]);
    console.info(`replay --ssh no-SNAT: setup ${report.timings.setupMs} ms, probes ${report.timings.probesMs} ms, undo ${report.timings.cleanupMs} ms`);
    const text = formatReport(report);
    expect(text).toMatch(/^replay models\/seed-no-snat\.yaml over ssh on web1=root@\S+, web2=root@\S+/);
    expect(text).toMatch(/web1 curl ngx1\s+timeout\s+timeout\s+timeout\s+yes/);
    expect(text).toMatch(/web2 \(root@\S+\): ran 12 of 12 runbook commands; undone/);
    undoneCleanly(report);
  });

  it('a runbook line that fails on the host stops it; what ran is undone', async () => {
    const built = buildWorld(loadModel(SEED));
    const web2 = built.ops['web2']!;
    const bogus: Op = { op: 'link-set', host: 'web2', ns: null, dev: 'no-such-dev', up: true, origin: { file: 'test', line: 1, text: 'ip link set no-such-dev up' } };
    const report = await replaySsh({ ...built, ops: { ...built.ops, web2: [...web2.slice(0, 3), bogus, ...web2.slice(3)] } }, { targets: lab.targets(), sshArgs: lab.sshArgs });
    expect(report.ok).toBe(false);
    expect(report.failure?.command.argv.slice(2)).toEqual(['ip', 'link', 'set', 'dev', 'no-such-dev', 'up']);
    expect(report.failure?.command.stderr).toMatch(/Cannot find device/);
    expect(report.probes.map((p) => p.observed)).toEqual(['error']);
    expect(report.hosts.find((h) => h.host === 'web2')?.undo).toContain('ip netns del ngx1');
    undoneCleanly(report);
  });

  it("a runbook's `ip netns add` over ssh stays in that sshd's mount namespace", () => {
    const name = `${lab.prefix}-isolated`;
    const ssh = (cmd: string): string => {
      const r = spawnSync(join(lab.dir, 'ssh'), [...lab.sshArgs, '-o', 'BatchMode=yes', lab.targets()['web1']!, cmd], { env: REPLAY_ENV, encoding: 'utf8', timeout: 20_000 });
      expect(r.status, r.stderr).toBe(0);
      return r.stdout;
    };
    expect(ssh(`ip netns add ${name} && ip netns list`)).toContain(name);
    try {
      expect(listNetns()).not.toContain(name);
    } finally {
      ssh(`ip netns del ${name}`);
    }
  });

  it('refuses before changing anything when a host is not what the model says', async () => {
    const err = await replaySsh(buildWorld(loadModel(SEED)), { targets: lab.targets(true), sshArgs: lab.sshArgs }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SshRefused);
    expect((err as Error).message).toMatch(/the model says eth0 has 172\.31\.0\.3\/24; here it has 172\.31\.0\.2\/24/);
    expect(lab.state()).toEqual(hostState);
    const bad = await replaySsh(buildWorld(loadModel(SEED)), { targets: lab.targets(), sshArgs: ['-F', '/dev/null', '-p', String(PORT), '-o', 'IdentitiesOnly=yes', '-o', `UserKnownHostsFile=${join(lab.dir, 'known_hosts')}`] }).catch((e: unknown) => e);
    expect((bad as Error).message).toMatch(/ssh failed \(exit 255\): .*Permission denied/);
  });
});
