/**
 * Input interfaces and TCP flags of `rules matrix --flags all` against a real kernel: a dump whose
 * rules test `-i` names and prefixes, `--syn`, `! --syn`, `--tcp-flags` and `--ctstate INVALID`
 * around a DNAT (and, in the raw table, which runs before conntrack, `--ctstate INVALID` and NEW:
 * the kernel counts every packet there as INVALID) is loaded into a scratch host namespace with two client links (eth0, veth1); one
 * raw TCP segment of each of the 64 flag combinations is sent on each link to a local port and to
 * the DNATed one. The host's rule counters (iptables-save -c) say which rules the kernel matched
 * and whether the FORWARD policy decided: the rules tracer's walk of that packet (its interface,
 * its flags) matches exactly those, and the matrix row holding the packet (by interface class and
 * flag combination) has that walk's outcome.
 *
 * Needs root, Linux, iproute2, iptables and python3; skips loudly without them unless
 * NETPATH_REQUIRE_KERNEL=1. Namespaces are deleted afterwards; the root namespace is not touched.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KERNEL } from '../../src/model/origin.js';
import { parseIptablesRestore } from '../../src/netfilter/restore.js';
import { applyRestore, emptyNfState } from '../../src/netfilter/tables.js';
import { flagNames, ifaceClassOf } from '../../src/verify/dims.js';
import { outcomeKey, serviceMatrix } from '../../src/verify/matrix.js';
import { traceRules } from '../../src/netfilter/trace.js';
import { inIntervals, prefixInterval } from '../../src/verify/space.js';
import { parseIpv4 } from '../../src/wire/ipv4.js';
import { scratchNetns } from '../netns.js';

const have = (cmd: string): boolean => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const missing = [
  ...(process.platform !== 'linux' ? ['not Linux'] : []),
  ...(process.getuid?.() !== 0 ? ['not root'] : []),
  ...['ip', 'iptables-restore', 'iptables-save', 'python3'].filter((c) => !have(c)).map((c) => `no ${c}`),
];
const required = process.env['NETPATH_REQUIRE_KERNEL'] === '1';
if (missing.length > 0 && !required) {
  console.warn(`\n${'!'.repeat(78)}\n!! SKIPPED: rules matrix interfaces and flags vs real kernel (test/verify/dims-kernel.test.ts): ${missing.join(', ')}\n${'!'.repeat(78)}\n`);
}
const run = missing.length === 0 || required;

const { sh, inNs, netns, veth, cleanup } = scratchNetns(`np-dims-${process.pid.toString(36)}`);

const DUMP = `*raw
:PREROUTING ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A PREROUTING -p tcp -m conntrack --ctstate INVALID
-A PREROUTING -p tcp -m conntrack --ctstate NEW
COMMIT
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A PREROUTING -p tcp -m tcp --dport 8080 -j DNAT --to-destination 10.9.0.2:80
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -m conntrack --ctstate INVALID -j DROP
-A INPUT -i eth0 -p tcp -m tcp ! --syn -j DROP
-A INPUT -i veth+ -p tcp -m tcp --tcp-flags SYN,ACK,PSH ACK -j DROP
-A FORWARD -m conntrack --ctstate INVALID -j DROP
-A FORWARD -i eth0 -p tcp -m tcp --syn -j ACCEPT
-A FORWARD -i veth+ -p tcp -m tcp --tcp-flags FIN,URG NONE -j ACCEPT
COMMIT
`;

/** python: one raw TCP segment per line of stdin (`src dst sport dport flags`), checksummed, window 512 */
const SENDER = `
import socket, struct, sys
def csum(b):
    if len(b) % 2: b += b'\\0'
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    while s >> 16: s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP)
for line in sys.stdin:
    src, dst, sport, dport, flags = line.split()
    h = struct.pack('!HHIIBBHHH', int(sport), int(dport), 1000, 1 if int(flags) & 16 else 0, 5 << 4, int(flags), 512, 0, 0)
    ph = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack('!BBH', 0, 6, len(h))
    h = h[:16] + struct.pack('!H', csum(ph + h)) + h[18:]
    s.sendto(h, (dst, 0))
`;

/** `table chain rule-text` of every rule (and `table chain policy`) whose packet counter is not 0 */
function counted(save: string): string[] {
  const out: string[] = [];
  let table = '';
  for (const line of save.split('\n')) {
    if (line.startsWith('*')) table = line.slice(1);
    let m = /^:(\S+) (\S+) \[(\d+):\d+\]/.exec(line);
    if (m && m[2] !== '-' && m[3] !== '0') out.push(`${table} ${m[1]} policy`);
    m = /^\[(\d+):\d+\] -A (\S+) (.*)$/.exec(line);
    if (m && m[1] !== '0') out.push(`${table} ${m[2]} ${m[3]}`);
  }
  return out.sort();
}

describe.runIf(run)('rules matrix --flags all agrees with a real kernel, per interface and flag combination', () => {
  let h = '';
  let c0 = '';
  let c1 = '';
  beforeAll(() => {
    h = netns('h');
    c0 = netns('c0');
    c1 = netns('c1');
    veth(h, 'eth0', ['10.0.0.1/24'], c0, 'eth0', ['10.0.0.2/24']);
    veth(h, 'veth1', ['10.2.0.1/24'], c1, 'eth0', ['10.2.0.2/24']);
    // the DNAT target drops everything: nothing answers a forwarded segment
    const s = netns('s');
    veth(h, 'eth1', ['10.9.0.1/24'], s, 'eth0', ['10.9.0.2/24']);
    inNs(s, 'iptables -A INPUT -j DROP');
    inNs(h, 'ping -c1 -W1 10.9.0.2 || true');
    inNs(c0, 'ip route add default via 10.0.0.1');
    inNs(c1, 'ip route add default via 10.2.0.1');
    inNs(h, 'sysctl -qw net.ipv4.ip_forward=1');
    inNs(h, 'iptables-restore', DUMP);
    // neighbours resolved first: each segment then reaches the host's hooks before its counters are read
    inNs(c0, 'ping -c1 -W1 10.0.0.1');
    inNs(c1, 'ping -c1 -W1 10.2.0.1');
  });
  const dir = mkdtempSync(join(tmpdir(), 'np-dims-'));
  afterAll(() => {
    cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it('every flag combination on eth0 and veth1, to a local port and to the DNATed one', () => {
    const nf = applyRestore(emptyNfState(), parseIptablesRestore(DUMP, 'dims.save'), false, { ...KERNEL, file: 'dims.save' });
    const local = ['10.0.0.1', '10.2.0.1', '10.9.0.1'].map((a) => parseIpv4(a)!);
    const m = serviceMatrix({ nf, local, protos: ['tcp'], flags: 'all', oif: 'eth1' });
    const sender = join(dir, 'send.py');
    writeFileSync(sender, SENDER);
    let sport = 20000;
    let checked = 0;
    for (const [ns, iif, src, dst] of [
      [c0, 'eth0', '10.0.0.2', '10.0.0.1'],
      [c1, 'veth1', '10.2.0.2', '10.2.0.1'],
    ] as const)
      for (const dport of [22, 8080])
        for (let flags = 0; flags < 64; flags++) {
          sport++;
          // counters zeroed, the segment sent, the counters read: one shell
          const kernel = counted(sh(`ip netns exec ${h} sh -c 'iptables -Z && iptables -t nat -Z && iptables -t raw -Z' && echo '${src} ${dst} ${sport} ${dport} ${flags}' | ip netns exec ${ns} python3 ${sender} && ip netns exec ${h} iptables-save -c`));
          const row = m.rows.find(
            (r) =>
              r.src.some((p) => inIntervals(parseIpv4(src)!, [prefixInterval(p)])) &&
              r.dst.some((p) => inIntervals(parseIpv4(dst)!, [prefixInterval(p)])) &&
              inIntervals(dport, r.dport!) &&
              inIntervals(sport, r.sport!) &&
              inIntervals(ifaceClassOf(m.interfaces, iif), r.iif) &&
              inIntervals(flags, r.flags!),
          );
          expect(row, `${iif} ${flagNames(flags)} :${dport}`).toBeDefined();
          // the walk of this very packet matches the rules the kernel counted, and gets its row's outcome
          const walked = traceRules(nf, { src: parseIpv4(src)!, sport, dst: parseIpv4(dst)!, dport, proto: 'tcp', iif, oif: 'eth1', tcpFlags: flags, local });
          expect(outcomeKey(walked)).toBe(outcomeKey(row!.outcomes));
          const o = walked[0]!;
          const predicted = [...o.path.map((x) => `${x.table} ${x.text.replace(/^-A /, '')}`), ...(o.policy !== undefined ? [`${o.policy} policy`] : [])].sort();
          // the kernel also counts policies that let a packet through (ACCEPT): compare the rules, and the DROP policy
          expect([iif, flagNames(flags), dport, kernel.filter((k) => !k.endsWith(' policy') || k === 'filter FORWARD policy')]).toEqual([iif, flagNames(flags), dport, predicted]);
          checked++;
        }
    expect(checked).toBe(256);
  }, 300_000);
});
