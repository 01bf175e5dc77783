/**
 * The seed article's runbooks, line for line: every `$ ` line and `#` comment of its shell blocks
 * (command output lines are not part of a runbook), exactly as the article prints them.
 */
import { readFileSync } from 'node:fs';
import { describe, it, expect, vi } from 'vitest';
vi.mock('../../src/netfilter/restore.js', () => ({ parseIptablesRestore: () => [] }));
import { parseRunbook } from '../../src/plan/runbook.js';
import type { Op } from '../../src/plan/ops.js';

const article = readFileSync('/work/shared/seed/lan-container-access.md', 'utf8');
const blocks = [...article.matchAll(/```shell\n([\s\S]*?)```/g)].map((m) =>
  m[1]!
    .split('\n')
    .filter((l) => l.startsWith('$ ') || l.startsWith('#') || l.trim() === '')
    .join('\n'),
);

const io = { readFile: () => '' };
const brief = (ops: Op[]): unknown[] =>
  ops.map((o) => {
    const { host, origin, ...rest } = o;
    expect(host).toBeDefined();
    const r: Record<string, unknown> = { line: origin.line, ...rest };
    if (o.op === 'iptables') {
      return { line: origin.line, op: o.op, ns: o.ns, table: o.table, cmd: o.cmd, chain: 'chain' in o ? o.chain : undefined };
    }
    return r;
  });

describe('seed article: web2', () => {
  const text = blocks.slice(0, 3).join('\n');
  const ops = parseRunbook({ host: 'web2', file: 'web2.sh', text, firstLine: 1, baseDir: '.' }, io);
  const lines = text.split('\n');
  const lineOf = (prefix: string): number => lines.findIndex((l) => l.startsWith(prefix)) + 1;

  it('yields one op per command, at the right lines', () => {
    expect(brief(ops)).toEqual([
      { line: 1, op: 'docker-run', ns: null, name: 'ngx1', image: 'nginx:1.18-alpine' },
      { line: 2, op: 'link-add', ns: null, name: 'veth1', kind: 'veth', peer: { name: 'veth1-p' } },
      { line: 3, op: 'noop', ns: null, why: 'creates a directory; no effect on network state' },
      { line: 4, op: 'noop', ns: null, why: 'look-only command' }, // docker inspect ngx1
      { line: 4, op: 'noop', ns: null, why: 'look-only command' }, // |grep Pid
      { line: 5, op: 'netns-bind', ns: null, name: 'ngx1', pid: '869389', link: '/var/run/netns/ngx1' },
      { line: 6, op: 'link-set', ns: null, dev: 'veth1', netns: 'ngx1' },
      { line: 7, op: 'link-set', ns: 'ngx1', dev: 'veth1', name: 'eth0' },
      { line: 8, op: 'addr-add', ns: 'ngx1', dev: 'eth0', local: 0xc0a8020a, prefixLen: 24, hadLen: true },
      { line: 9, op: 'link-set', ns: 'ngx1', dev: 'eth0', up: true },
      { line: 10, op: 'noop', ns: null, why: 'look-only command' }, // docker exec -it ngx1 ifconfig
      { line: 12, op: 'addr-add', ns: null, dev: 'veth1-p', local: 0xc0a80214, prefixLen: 24, hadLen: true },
      { line: 13, op: 'link-set', ns: null, dev: 'veth1-p', up: true },
      { line: lineOf('$ route -n'), op: 'noop', ns: null, why: 'look-only command' },
      { line: lineOf('$ iptables -t nat -A POSTROUTING -s 172.31.0.3 -j  SNAT'), op: 'iptables', ns: null, table: 'nat', cmd: 'A', chain: 'POSTROUTING' },
      { line: lineOf('$ iptables -t nat -A POSTROUTING -s 172.31.0.3 -j  MASQUERADE'), op: 'iptables', ns: null, table: 'nat', cmd: 'A', chain: 'POSTROUTING' },
      { line: lineOf('$ echo 1'), op: 'sysctl', ns: null, key: 'net.ipv4.ip_forward', value: '1' },
      { line: lineOf('$ iptables -t filter -P FORWARD'), op: 'iptables', ns: null, table: 'filter', cmd: 'P', chain: 'FORWARD' },
    ]);
  });

  it('keeps the text without the prompt as the origin', () => {
    expect(ops[0]!.origin).toEqual({ file: 'web2.sh', line: 1, text: 'docker run --name ngx1 --rm --network none -d nginx:1.18-alpine' });
    expect(ops[3]!.origin.text).toBe('docker inspect ngx1 |grep Pid # 查找出容器进程');
  });

  it('offsets line numbers by firstLine (runbook inside a YAML block)', () => {
    const shifted = parseRunbook({ host: 'web2', file: 'm.yaml', text, firstLine: 40, baseDir: '.' }, io);
    expect(shifted.map((o) => o.origin.line)).toEqual(ops.map((o) => o.origin.line + 39));
  });
});

describe('seed article: web1', () => {
  it('route add -host ... gw ... dev eth0, then route -n', () => {
    const text = blocks[3]!;
    const ops = parseRunbook({ host: 'web1', file: 'web1.sh', text, firstLine: 1, baseDir: '.' }, io);
    expect(brief(ops)).toEqual([
      { line: 2, op: 'route-add', ns: null, type: 'unicast', dst: { addr: 0xc0a8020a, len: 32 }, via: 0xac1f0002, dev: 'eth0', syntax: 'net-tools' },
      { line: 4, op: 'noop', ns: null, why: 'look-only command' },
    ]);
  });
});
