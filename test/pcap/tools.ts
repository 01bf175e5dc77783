/**
 * tshark and tcpdump for the pcap tests. Missing tools skip those tests with a loud notice, unless
 * NETPATH_REQUIRE_TOOLS=1 (or NETPATH_REQUIRE_KERNEL=1, as in CI), where they fail.
 */
import { spawn, spawnSync } from 'node:child_process';

/** CI (.ci/run sets NETPATH_REQUIRE_KERNEL=1 and installs both tools) must not skip either. */
export const REQUIRE_TOOLS = process.env['NETPATH_REQUIRE_TOOLS'] === '1' || process.env['NETPATH_REQUIRE_KERNEL'] === '1';

function has(cmd: string): boolean {
  const r = spawnSync(cmd, ['--version'], { encoding: 'utf8' });
  return r.status === 0;
}

export const HAS_TSHARK = has('tshark');
export const HAS_TCPDUMP = has('tcpdump');

export function warnMissing(file: string): void {
  const missing = [HAS_TSHARK ? '' : 'tshark', HAS_TCPDUMP ? '' : 'tcpdump'].filter(Boolean);
  if (missing.length === 0 || REQUIRE_TOOLS) return;
  console.warn(
    `\n${'!'.repeat(78)}\n!! SKIPPED: reader checks in ${file}: ${missing.join(' and ')} not installed\n!! apt-get install -y tshark tcpdump; set NETPATH_REQUIRE_TOOLS=1 to make this a failure\n${'!'.repeat(78)}\n`,
  );
}

/** Checksum validation on for every protocol that has the switch (ICMP is always checked). */
export const CHECKSUMS = ['-o', 'ip.check_checksum:TRUE', '-o', 'tcp.check_checksum:TRUE', '-o', 'udp.check_checksum:TRUE'];

/**
 * tshark over a file; fields separated by `|`, one line per frame. DNS and mDNS are not dissected:
 * netpath's UDP probes carry a text payload, which those dissectors call malformed on ports 53
 * and 5353 (models/k-reject-related-dnat.yaml probes udp/5353).
 */
export function tshark(file: string, fields: readonly string[], filter?: string): string[][] {
  const args = ['-r', file, '-n', '--disable-protocol', 'dns', '--disable-protocol', 'mdns', ...CHECKSUMS, '-T', 'fields', '-E', 'separator=|', '-E', 'occurrence=a', '-E', 'aggregator=,'];
  for (const f of fields) args.push('-e', f);
  if (filter !== undefined) args.push('-Y', filter);
  const r = spawnSync('tshark', args, { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`tshark ${args.join(' ')}: exit ${r.status}: ${r.stderr}`);
  return r.stdout
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => l.split('|'));
}

function run(cmd: string, args: readonly string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((done, fail) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    p.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    p.on('error', fail);
    p.on('close', (status) => done({ status, stdout, stderr }));
  });
}

const STATUS = ['ip.checksum.status', 'tcp.checksum.status', 'udp.checksum.status', 'icmp.checksum.status'];

/**
 * What tshark says of a file, in one pass: its frame count, and one line per problem (a malformed
 * frame, an expert error, a bad checksum). Runs in the background, so files are checked side by side.
 */
export async function tsharkCheck(file: string): Promise<{ frames: number; problems: string[] }> {
  const fields = ['frame.number', '_ws.malformed', '_ws.expert.severity', ...STATUS, '_ws.col.Info'];
  const args = ['-r', file, '-n', '--disable-protocol', 'dns', '--disable-protocol', 'mdns', ...CHECKSUMS, '-T', 'fields', '-E', 'separator=|', '-E', 'occurrence=a', '-E', 'aggregator=,'];
  for (const f of fields) args.push('-e', f);
  const r = await run('tshark', args);
  if (r.status !== 0) throw new Error(`tshark ${args.join(' ')}: exit ${r.status}: ${r.stderr}`);
  const rows = r.stdout
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => l.split('|'));
  const problems = rows
    .filter((f) => {
      const [, malformed, severity, ...rest] = f;
      const statuses = rest.slice(0, STATUS.length).join(',').split(',');
      return malformed !== '' || (severity ?? '').split(',').some((v) => Number(v) >= 0x800000) || statuses.includes('0');
    })
    .map((f) => `${file} #${f[0]}: ${f[f.length - 1]} (malformed ${f[1]}, severity ${f[2]}, checksum status ${f.slice(3, 3 + STATUS.length).join('/')})`);
  return { frames: rows.length, problems };
}

/** `tcpdump -n -r`: the lines it prints (one per frame) and its exit status. */
export async function tcpdumpRead(file: string): Promise<{ status: number | null; lines: string[]; stderr: string }> {
  const r = await run('tcpdump', ['-n', '-r', file]);
  return { status: r.status, lines: r.stdout.split('\n').filter((l) => l.length > 0), stderr: r.stderr };
}
