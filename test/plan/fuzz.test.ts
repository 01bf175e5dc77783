/** Fuzz: whatever the text, parseRunbook returns Ops or throws a ConfigError inside the runbook's lines. */
import { describe, it, expect, vi } from 'vitest';
import fc from 'fast-check';
vi.mock('../../src/netfilter/restore.js', () => ({ parseIptablesRestore: () => [] }));
import { parseRunbook } from '../../src/plan/runbook.js';
import { ConfigError } from '../../src/model/errors.js';

const WORDS = [
  'ip', 'link', 'li', 'l', 'add', 'a', 'set', 'del', 'delete', 'addr', 'address', 'route', 'r', 'ro', 'rule', 'neigh', 'n', 'netns',
  'exec', 'ns1', '-n', '-netns', 'type', 'veth', 'bridge', 'dummy', 'peer', 'name', 'dev', 'up', 'down', 'master', 'nomaster', 'mtu',
  'address', 'via', 'src', 'metric', 'table', 'main', 'local', 'scope', 'link', 'host', 'onlink', 'proto', 'default', 'blackhole',
  'unreachable', 'from', 'to', 'all', 'fwmark', '0x1', '1/0xff', 'lookup', 'pref', 'prio', 'not', 'iif', 'oif', 'lladdr', 'nud',
  'permanent', '02:00:00:00:00:01', 'zz', '10.0.0.0/8', '10.0.0.1/24', '192.168.2.300', '10.1', '0', '1', '65536', 'eth0', 'veth1',
  'route', '-net', '-host', 'gw', 'netmask', '255.0.0.0', 'reject', 'sysctl', '-w', 'net.ipv4.ip_forward=1', 'echo', '>', '>>', '<',
  '/proc/sys/net/ipv4/ip_forward', '|', 'tee', ';', '&&', '||', '&', 'sudo', 'docker', 'run', '--network', 'none', '--name', 'c1',
  'nginx', 'exec', 'inspect', 'ln', '-s', '/proc/1/ns/net', '/var/run/netns/c1', 'iptables-restore', 'r.v4', 'iptables-save',
  'mkdir', 'curl', 'tcpdump', 'ifconfig', '"', "'", '\\', '#', '$', '$(x)', '`', '(', ')', '{', '}', '2>&1', '/dev/null', '-p',
];

const io = { readFile: (p: string): string => (p.includes('missing') ? (() => { throw new Error('ENOENT'); })() : '*filter\nCOMMIT\n') };

function check(text: string, firstLine: number): void {
  const nLines = text.split(/\r?\n/).length;
  try {
    const ops = parseRunbook({ host: 'h', file: 'f', text, firstLine, baseDir: 'b' }, io);
    for (const o of ops) {
      expect(o.origin.line).toBeGreaterThanOrEqual(firstLine);
      expect(o.origin.line).toBeLessThan(firstLine + nLines);
    }
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    expect(e.file).toBe('f');
    expect(e.line).toBeGreaterThanOrEqual(firstLine);
    expect(e.line).toBeLessThan(firstLine + nLines);
    expect(e.detail.length).toBeGreaterThan(0);
  }
}

describe('fuzz', () => {
  it('arbitrary strings', () => {
    fc.assert(fc.property(fc.string({ maxLength: 200 }), fc.integer({ min: 1, max: 1000 }), (s, first) => check(s, first)), {
      numRuns: 2000,
      seed: 42,
    });
  });

  it('token soups of real keywords and junk', () => {
    const word = fc.oneof({ weight: 5, arbitrary: fc.constantFrom(...WORDS) }, { weight: 1, arbitrary: fc.string({ maxLength: 6 }) });
    const line = fc.tuple(fc.constantFrom('', '$ ', '# ', 'root@h:~# '), fc.array(word, { maxLength: 14 }), fc.constantFrom('', ' \\'));
    const text = fc.array(line, { maxLength: 8 }).map((ls) => ls.map(([p, ws, c]) => p + ws.join(' ') + c).join('\n'));
    fc.assert(fc.property(text, fc.integer({ min: 1, max: 50 }), (t, first) => check(t, first)), { numRuns: 5000, seed: 7 });
  });

  it('ip lines built from ip keywords', () => {
    const ipLine = fc
      .array(fc.constantFrom(...WORDS.slice(0, 80)), { minLength: 1, maxLength: 12 })
      .map((ws) => `ip ${ws.join(' ')}`);
    fc.assert(fc.property(ipLine, (t) => check(t, 1)), { numRuns: 5000, seed: 3 });
  });
});
