/**
 * Hostile input and output paths: nothing injected into scripts or terminals, nothing written
 * outside the output path, no crash, no hang; exit codes 0/1/2/70 and JSON errors.
 */
import { lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { describeFailure } from '../../src/cli/errors.js';
import { escapeControls, escapeLine } from '../../src/model/text.js';
import { ROOT } from '../helpers.js';

const tmp = mkdtempSync(join(tmpdir(), 'netpath-hostile-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const SEED = join(ROOT, 'models/seed-lan-container.yaml');

async function run(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(args, { out: (s) => (out += s), err: (s) => (err += s) });
  return { code, out, err };
}

let n = 0;
function modelFile(yaml: string, name = `m${++n}.yaml`): string {
  const p = join(tmp, name);
  writeFileSync(p, yaml);
  return p;
}

const TWO = (lan = 'l', probe = 'p'): string =>
  `hosts:\n  a:\n  b:\nlans:\n  ${JSON.stringify(lan)}:\n    a/eth0: 10.0.0.1/24\n    b/eth0: 10.0.0.2/24\nprobes:\n  - name: ${JSON.stringify(probe)}\n    from: a\n    to: 10.0.0.2:22\n    expect: refused\n`;

/** no stack trace, no raw control character in what a terminal would show */
function clean(r: { out: string; err: string }): void {
  expect(r.err).not.toMatch(/\n\s+at .*:\d+:\d+/);
  expect(r.out + r.err).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/);
}

describe('export: nothing reaches the script but its commands', () => {
  it('a line break in a LAN name is refused where the model is read', async () => {
    const r = await run('export', modelFile(TWO('lan\ntouch /tmp/pwned\n#')), '--host', 'a');
    expect(r.code).toBe(2);
    expect(r.err).toContain('LAN name');
    expect(r.err).toContain('\\u000a');
    expect(r.out).toBe('');
    clean(r);
  });
  it('a line break in the model file name stays inside the header comment', async () => {
    const dir = join(tmp, 'x\ntouch pwned\n#');
    mkdirSync(dir);
    const p = join(dir, 'm.yaml');
    writeFileSync(p, TWO());
    const r = await run('export', p, '--host', 'a');
    expect(r.code).toBe(0);
    const head = r.out.split('\n').slice(0, r.out.split('\n').indexOf('set -e'));
    expect(head.length).toBeGreaterThan(2);
    for (const l of head) expect(l.startsWith('#')).toBe(true);
    expect(r.out).toContain('x\\u000atouch pwned\\u000a#');
  });
});

describe('names are checked where they are read', () => {
  it.each([
    ['a line break in a probe name', TWO('l', 'ok\nfake  reachable  reachable  ok')],
    ['an ESC sequence in a probe name', TWO('l', 'p\u001b[2K\u001b[1A')],
    ['a bidi override in a LAN name', TWO('l\u202e')],
    ['a control character in a runbook line', 'hosts:\n  a:\n    run: "ip link add \\e[31m type dummy"\n'],
    ['a host name with a blank', 'hosts:\n  "a b":\n'],
    ['an interface name with a colon on a LAN', 'hosts:\n  a:\nlans:\n  l:\n    "a/eth:0": 10.0.0.1/24\n'],
  ])('%s: exit 2, one clean message', async (_what, yaml) => {
    const r = await run('check', modelFile(yaml));
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err).toMatch(/^netpath: /);
    clean(r);
  });
});

describe('terminal output escapes control characters', () => {
  it('escapeLine and escapeControls', () => {
    expect(escapeLine('a\nb\u001b[31mc\rd\te')).toBe('a\\u000ab\\u001b[31mc\\u000dd\\u0009e');
    expect(escapeControls('row\n\u001b[2Kx\u009b\u202e')).toBe('row\n\\u001b[2Kx\\u009b\\u202e');
  });
  it('an ESC in an iptables comment is printed escaped by rules trace', async () => {
    const dump = modelFile('*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A FORWARD -m comment --comment "\u001b[2K\u001b[1Aok" -j DROP\nCOMMIT\n', 'esc.rules');
    const r = await run('rules', 'trace', dump, '--src', '10.0.0.1', '--dst', '10.0.0.2:80');
    expect(r.code).toBe(0);
    expect(r.out).toContain('\\u001b[2K');
    clean(r);
  });
});

describe('command-line options use the model-file parsers', () => {
  it.each([
    [['trace', SEED, '--from', 'web1', '--to', '192.168.2.10:80', '--sport', 'abc'], '--sport'],
    [['trace', SEED, '--from', 'web1', '--to', '192.168.2.10:80', '--sport', '70000'], '--sport'],
    [['trace', SEED, '--from', 'web1', '--to', '192.168.2.10:80', '--sport', '0'], '--sport'],
    [['trace', SEED, '--from', 'web1', '--to', '192.168.2.10:65536'], '--to'],
    [['trace', SEED, '--from', 'web1', '--to', '192.168.2.10:0'], '--to'],
    [['trace', SEED, '--from', 'web1', '--to', '192.168.2.10:80', '--proto', 'icmp'], '--to'],
    [['trace', SEED, '--from', 'web1', '--to', '192.168.2.10', '--proto', 'icmp', '--sport', '5'], '--sport'],
    [['trace', SEED, '--from', 'web1', '--to', '192.168.2.256:80'], '--to'],
    [['rules', 'trace', '-', '--src', '10.0.0.1', '--dst', '10.0.0.2:80', '--iif', 'a b c d e f g h i j'], '--iif'],
    [['rules', 'trace', '-', '--src', '10.0.0.1', '--dst', '10.0.0.2:80', '--oif', 'sixteen-bytes-xx'], '--oif'],
    [['rules', 'trace', '-', '--src', '10.0.0.1:99999', '--dst', '10.0.0.2:80'], '--src'],
    [['rules', 'trace', '-', '--src', '10.0.0.1', '--dst', '10.0.0.2:80', '--local', '10.0.0.1,x'], '--local'],
  ])('%j is refused with exit 2 naming %s', async (argv, opt) => {
    const r = await run(...argv, '--json');
    expect(r.code).toBe(2);
    const j = JSON.parse(r.out) as { error: { code: string; file: string; message: string } };
    expect(j.error.code).toBe('option');
    expect(j.error.file).toBe(opt);
    expect(r.out).not.toContain('NaN');
    clean(r);
  });
  it('the same text is refused in a model file', async () => {
    const r = await run('check', modelFile('hosts:\n  a:\nprobes:\n  - from: a\n    to: 10.0.0.2:65536\n'), '--json');
    expect(r.code).toBe(2);
    expect((JSON.parse(r.out) as { error: { message: string } }).error.message).toContain('port 65536 is out of range (1-65535)');
  });
});

describe('output paths', () => {
  it('--pcap naming a file and --pcapng naming a folder: exit 2 before simulating, nothing written', async () => {
    const f = join(tmp, 'afile');
    writeFileSync(f, 'mine');
    const r1 = await run('check', SEED, '--pcap', f);
    expect(r1.code).toBe(2);
    expect(r1.err).toMatch(/^netpath: --pcap: ".*afile" is a file, not a folder\n$/);
    expect(r1.out).toBe('');
    expect(readFileSync(f, 'utf8')).toBe('mine');
    const r2 = await run('trace', SEED, '--from', 'web1', '--to', '192.168.2.10:80', '--pcapng', tmp);
    expect(r2.code).toBe(2);
    expect(r2.err).toContain('--pcapng');
    expect(r2.out).toBe('');
  });
  it('--pcap /proc/foo ends with exit 2 (Node\'s recursive mkdir spins there)', async () => {
    const r = await run('check', SEED, '--pcap', '/proc/netpath-no-such-folder');
    expect(r.code).toBe(2);
    expect(r.err).toContain('--pcap');
    clean(r);
  });
  it('a folder is created only under an existing parent', async () => {
    const r = await run('check', SEED, '--pcap', join(tmp, 'no', 'such', 'dir'));
    expect(r.code).toBe(2);
    expect(r.err).toContain('does not exist');
    expect(() => lstatSync(join(tmp, 'no'))).toThrow();
  });
  it('a symbolic link in the capture folder is not followed: the file elsewhere stays as it was', async () => {
    const dir = join(tmp, 'caps-link');
    mkdirSync(dir);
    const victim = join(tmp, 'victim');
    writeFileSync(victim, 'precious');
    symlinkSync(victim, join(dir, 'web1_eth0.pcap'));
    const r = await run('check', SEED, '--pcap', dir);
    expect(r.code).toBe(2);
    expect(r.err).toContain('not written by netpath');
    expect(readFileSync(victim, 'utf8')).toBe('precious');
  });
  it('--pcapng naming a symbolic link is refused; the link target stays as it was', async () => {
    const victim = join(tmp, 'victim2');
    writeFileSync(victim, 'precious');
    const link = join(tmp, 'link.pcapng');
    symlinkSync(victim, link);
    const r = await run('check', SEED, '--pcapng', link);
    expect(r.code).toBe(2);
    expect(readFileSync(victim, 'utf8')).toBe('precious');
  });
  it('a second run replaces the captures netpath wrote and leaves other files alone', async () => {
    const dir = join(tmp, 'caps-rerun');
    expect((await run('check', SEED, '--pcap', dir)).code).toBe(0);
    const first = readdirSync(dir).sort();
    expect(first).toContain('web2_ngx1_eth0.pcap');
    expect(first).toContain('.netpath-captures');
    writeFileSync(join(dir, 'notes.txt'), 'mine');
    writeFileSync(join(dir, 'mine.pcap'), 'mine');
    // a model whose only probe crosses one LAN: two interfaces see traffic
    const r = await run('check', modelFile(TWO()), '--pcap', dir);
    expect(r.code).toBe(0);
    expect(readdirSync(dir).sort()).toEqual(['.netpath-captures', 'a_eth0.pcap', 'b_eth0.pcap', 'mine.pcap', 'notes.txt']);
    expect(readFileSync(join(dir, 'notes.txt'), 'utf8')).toBe('mine');
    expect(readFileSync(join(dir, '.netpath-captures'), 'utf8')).toBe('a_eth0.pcap\nb_eth0.pcap\n');
  });
});

describe('exit codes and JSON errors', () => {
  it('bad input: exit 2, {"error": {code, file, line, message}} on stdout with --json', async () => {
    const p = modelFile('hosts:\n  a:\n    run: |\n      sysctl -w net.ipv4.ip_forward=99999999999999999999999\n');
    const r = await run('check', p, '--json');
    expect(r.code).toBe(2);
    expect(JSON.parse(r.out)).toEqual({ error: { code: 'kernel', file: p, line: 4, message: 'sysctl: setting key "net.ipv4.ip_forward": Invalid argument' } });
    expect(r.err).toContain('Invalid argument');
  });
  it('a usage error: exit 2, code usage', async () => {
    const r = await run('check', SEED, '--no-such-option', '--json');
    expect(r.code).toBe(2);
    expect((JSON.parse(r.out) as { error: { code: string } }).error.code).toBe('usage');
  });
  it('a bug: exit 70, one line and a hint to report it', () => {
    const d = describeFailure(new Error('netpath bug: chain walk exceeded\n  more'));
    expect(d.exit).toBe(70);
    expect(d.json).toEqual({ code: 'internal', message: 'chain walk exceeded' });
    expect(d.text).toMatch(/^netpath: internal error: chain walk exceeded\nnetpath: this is a bug in netpath.*report it/);
    expect(describeFailure(new RangeError('Maximum call stack size exceeded')).exit).toBe(70);
  });
  it('user chains nested deeper than the kernel allows: exit 2 with the kernel\'s refusal, no uncaught error', async () => {
    const chains = Array.from({ length: 70 }, (_, i) => `c${i}`);
    const dump = modelFile(
      ['*filter', ':INPUT ACCEPT [0:0]', ':FORWARD ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]', ...chains.map((c) => `:${c} - [0:0]`), '-A FORWARD -j c0', ...chains.slice(0, -1).map((c, i) => `-A ${c} -j c${i + 1}`), 'COMMIT', ''].join('\n'),
      'deep.rules',
    );
    const r = await run('rules', 'trace', dump, '--src', '10.0.0.1', '--dst', '10.0.0.2:80', '--json');
    expect(r.code).toBe(2);
    expect((JSON.parse(r.out) as { error: { code: string; line: number } }).error).toMatchObject({ code: 'kernel' });
    clean(r);
  });
});

describe('warnings', () => {
  it('rules trace on an empty dump (what iptables-save prints without root) warns, on stderr and in JSON', async () => {
    const r = await run('rules', 'trace', modelFile('', 'empty.rules'), '--src', '10.0.0.1', '--dst', '10.0.0.2:80', '--json');
    expect(r.code).toBe(0);
    expect(r.err).toContain('netpath: warning:');
    expect(r.err).toContain('you must be root');
    const j = JSON.parse(r.out) as { warnings: string[] };
    expect(j.warnings).toHaveLength(1);
  });
  it('two hosts with the same address on one LAN', async () => {
    const r = await run('check', modelFile('hosts:\n  a:\n  b:\n  c:\nlans:\n  l:\n    a/eth0: 10.0.0.1/24\n    b/eth0: 10.0.0.1/24\n    c/eth0: 10.0.0.3/24\n'), '--json');
    expect(r.code).toBe(0);
    expect(r.err).toContain('netpath: warning: LAN l: 10.0.0.1 is on 2 interfaces');
    expect((JSON.parse(r.out) as { warnings: string[] }).warnings).toHaveLength(1);
  });
  it('no warning, an empty list, for the seed', async () => {
    const r = await run('check', SEED, '--json');
    expect((JSON.parse(r.out) as { warnings: string[] }).warnings).toEqual([]);
    expect(r.err).toBe('');
  });
});
