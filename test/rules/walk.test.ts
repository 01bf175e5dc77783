/**
 * The one walk behind `rules trace` (src/netfilter/walk.ts), for iptables dumps and nft rulesets
 * alike: conntrack before and after its stage, NAT port ranges, TCP flags. Each expectation was
 * observed on Linux 6.18 in network namespaces (iptables 1.8.9 nf_tables, nftables 1.0.6):
 *
 * - raw: counting rules `-m conntrack --ctstate INVALID` and `--ctstate NEW` in raw PREROUTING,
 *   raw OUTPUT and raw PREROUTING `-i lo`, and the same with `ct state invalid|new` in an nft
 *   prerouting chain at priority -300. A SYN from another namespace counted INVALID in raw
 *   PREROUTING (and NEW in mangle PREROUTING); a SYN to 127.0.0.1 counted INVALID in raw OUTPUT
 *   and NEW in raw PREROUTING on lo (the entry made on the way out stays with the packet).
 *   test/verify/dims-kernel.test.ts repeats the first on the kernel for 256 segments.
 * - DNAT to a port range: `dnat to 10.9.0.2:8000-8100` (nft) for SYNs to ports 80, 8050 and 9000
 *   gave conntrack reply sources 8000, 8050 and 8000 (a port already in the range is kept).
 */
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { KERNEL } from '../../src/model/origin.js';
import { parseIptablesRestore } from '../../src/netfilter/restore.js';
import { applyRestore, emptyNfState } from '../../src/netfilter/tables.js';
import { traceRules, type RulesTraceInput } from '../../src/netfilter/trace.js';
import { parseNftFile } from '../../src/nft/parse.js';
import { applyNft } from '../../src/nft/ruleset.js';
import { traceHost } from '../../src/nft/trace.js';
import { EMPTY_NFT } from '../../src/nft/types.js';
import { parseIpv4 } from '../../src/wire/ipv4.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ip = (t: string): number => parseIpv4(t)!;
const LOCAL = [ip('10.9.0.2')];
const syn = (dst: string, dport: number, more: Partial<RulesTraceInput> = {}): RulesTraceInput => ({ src: ip('10.9.0.1'), sport: 40000, dst: ip(dst), dport, proto: 'tcp', iif: 'eth0', local: LOCAL, ...more });
const iptables = (text: string) => applyRestore(emptyNfState(), parseIptablesRestore(text, 'w.save'), false, { ...KERNEL, file: 'w.save' });
const nft = (text: string) => applyNft(EMPTY_NFT, parseNftFile(text, 'w.nft'));
const steps = (o: { path: readonly { table: string; chain: string; text: string }[] }): string[] => o.path.map((s) => `${s.table} ${s.chain}: ${s.text}`);

const RAW = `*raw
:PREROUTING ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A PREROUTING -p tcp -m conntrack --ctstate INVALID
-A PREROUTING -p tcp -m conntrack --ctstate NEW
-A OUTPUT -p tcp -m conntrack --ctstate INVALID
-A OUTPUT -p tcp -m conntrack --ctstate NEW
COMMIT
*mangle
:PREROUTING ACCEPT [0:0]
-A PREROUTING -p tcp -m conntrack --ctstate NEW
COMMIT
`;

const RAW_NFT = `table inet t {
  chain raw { type filter hook prerouting priority raw; ct state invalid counter; ct state new counter; }
  chain mangle { type filter hook prerouting priority mangle; ct state new counter; }
}
`;

describe('conntrack: no entry before its stage, the entry kept through lo', () => {
  it('iptables: raw PREROUTING sees INVALID, mangle NEW', () => {
    const [o] = traceRules(iptables(RAW), syn('10.9.0.2', 80));
    expect(steps(o!)).toEqual(['raw PREROUTING: -A PREROUTING -p tcp -m conntrack --ctstate INVALID', 'mangle PREROUTING: -A PREROUTING -p tcp -m conntrack --ctstate NEW']);
  });
  it('iptables: to 127.0.0.1, raw OUTPUT sees INVALID and raw PREROUTING on lo NEW', () => {
    const [o] = traceRules(iptables(RAW), syn('127.0.0.1', 81, { src: ip('127.0.0.1'), iif: undefined as never }));
    expect(o!.path.map((s) => `${s.hook} ${s.table} ${s.text}`)).toEqual([
      'OUTPUT raw -A OUTPUT -p tcp -m conntrack --ctstate INVALID',
      'PREROUTING raw -A PREROUTING -p tcp -m conntrack --ctstate NEW',
      'PREROUTING mangle -A PREROUTING -p tcp -m conntrack --ctstate NEW',
    ]);
  });
  it('nft: a chain at priority raw sees invalid, one at mangle new', () => {
    const [o] = traceHost({ nft: nft(RAW_NFT) }, syn('10.9.0.2', 80));
    expect(steps(o!)).toEqual(['inet t raw: ct state invalid counter packets 0 bytes 0', 'inet t mangle: ct state new counter packets 0 bytes 0']);
  });
  it('both at once: the iptables raw table and the nft chain at its priority both run before conntrack', () => {
    const [o] = traceHost({ nf: iptables(RAW), nft: nft(RAW_NFT) }, syn('10.9.0.2', 80));
    const seen = steps(o!).filter((s) => s.includes('raw'));
    expect(seen).toHaveLength(2);
    for (const s of seen) expect(s).toMatch(/INVALID|invalid/);
  });
});

describe('DNAT to a port range keeps a port already in it (nf_nat_l4proto_unique_tuple)', () => {
  const RANGE_NFT = 'table ip t {\n  chain pre { type nat hook prerouting priority dstnat; tcp dport { 80, 8050, 9000 } dnat to 10.9.0.2:8000-8100; }\n}\n';
  const RANGE_IPT = '*nat\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -p tcp -m multiport --dports 80,8050,9000 -j DNAT --to-destination 10.9.0.2:8000-8100\nCOMMIT\n';
  for (const [dport, to] of [
    [80, 8000],
    [8050, 8050],
    [9000, 8000],
  ] as const) {
    it(`:${dport} → :${to}, nft and iptables alike`, () => {
      const [a] = traceHost({ nft: nft(RANGE_NFT) }, syn('10.9.0.2', dport));
      const [b] = traceRules(iptables(RANGE_IPT), syn('10.9.0.2', dport));
      expect([a!.dnat, b!.dnat]).toEqual([`10.9.0.2:${to}`, `10.9.0.2:${to}`]);
    });
  }
});

describe('TCP flags through an nft ruleset', () => {
  const NAT_NFT = 'table ip t {\n  chain pre { type nat hook prerouting priority dstnat; tcp dport 8080 dnat to 10.9.0.3:80; }\n  chain fw { type filter hook forward priority filter; policy drop; ct state invalid counter drop; ct state new accept; }\n}\n';
  it('a SYN is DNATed and forwarded; a FIN gets no entry: INVALID, no NAT', () => {
    const s = nft(NAT_NFT);
    const [a] = traceHost({ nft: s }, syn('10.9.0.2', 8080, { oif: 'eth1' }));
    expect(a).toMatchObject({ verdict: 'ACCEPT', delivery: 'forward', dnat: '10.9.0.3:80' });
    const [b] = traceHost({ nft: s }, syn('10.9.0.3', 8080, { oif: 'eth1', tcpFlags: 1 }));
    expect(b).toMatchObject({ verdict: 'DROP', delivery: 'dropped' });
    expect(b!.dnat).toBeUndefined();
    expect(steps(b!)).toEqual(['ip t fw: ct state invalid counter packets 0 bytes 0 drop']);
  });
  it('`rules trace --flags` takes an nft ruleset', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'np-walk-'));
    try {
      const f = join(dir, 'r.nft');
      writeFileSync(f, NAT_NFT);
      let out = '';
      const code = await main(['rules', 'trace', f, '--src', '10.9.0.1:40000', '--dst', '10.9.0.3:8080', '--oif', 'eth1', '--flags', 'FIN', '--json'], { out: (t: string) => (out += t), err: () => {} });
      expect(code).toBe(0);
      expect(JSON.parse(out)).toMatchObject({ outcomes: [{ verdict: 'DROP' }] });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the stages a walk runs', () => {
  it('a built-in chain without rules still applies its DROP policy (only empty ACCEPT chains are left out)', () => {
    const nf = iptables('*mangle\n:FORWARD DROP [0:0]\nCOMMIT\n*filter\n:FORWARD ACCEPT [0:0]\nCOMMIT\n');
    const [o] = traceRules(nf, syn('10.9.0.3', 80, { oif: 'eth1' }));
    expect(o).toMatchObject({ verdict: 'DROP', delivery: 'dropped', policy: 'mangle FORWARD', path: [] });
    const [ok] = traceRules(iptables('*mangle\n:FORWARD ACCEPT [0:0]\nCOMMIT\n'), syn('10.9.0.3', 80, { oif: 'eth1' }));
    expect(ok).toMatchObject({ verdict: 'ACCEPT', delivery: 'forward', path: [] });
  });

  it('one rule of a user chain reached from two hooks is a step of each hook, trace after trace', () => {
    // OUTPUT and, back in through lo, INPUT both jump to C (the same rule position, two steps)
    const nf = iptables('*filter\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:C - [0:0]\n-A INPUT -j C\n-A OUTPUT -j C\n-A C -p tcp -m tcp --dport 81\nCOMMIT\n');
    const input = syn('127.0.0.1', 81, { src: ip('127.0.0.1'), iif: undefined as never });
    for (let k = 0; k < 2; k++) {
      const [o] = traceRules(nf, input);
      expect(o!.path.map((s) => `${s.hook} ${s.chain} ${s.rule} ${s.text}`)).toEqual([
        'OUTPUT OUTPUT 1 -A OUTPUT -j C',
        'OUTPUT C 1 -A C -p tcp -m tcp --dport 81',
        'INPUT INPUT 1 -A INPUT -j C',
        'INPUT C 1 -A C -p tcp -m tcp --dport 81',
      ]);
      // steps are plain values: five properties, as JSON prints them
      expect(Object.keys(o!.path[1]!)).toEqual(['hook', 'table', 'chain', 'rule', 'text']);
      expect({ ...o!.path[3]! }).toEqual({ hook: 'INPUT', table: 'filter', chain: 'C', rule: 1, text: '-A C -p tcp -m tcp --dport 81' });
    }
  });
});
