/**
 * The fold batches `iptables -A` lines (src/world/apply.ts Fold): it must give the state and the
 * first error that running the lines one by one gives.
 */
import { describe, expect, it } from 'vitest';
import { inline } from '../helpers.js';
import { ConfigError } from '../../src/model/errors.js';
import { parseRunbook } from '../../src/plan/runbook.js';
import { applyIptables, emptyNfState } from '../../src/netfilter/tables.js';
import { iptablesSave } from '../../src/netfilter/save.js';
import type { NfState } from '../../src/netfilter/types.js';

const model = (lines: readonly string[]): string => `hosts:\n  h:\n    run: |\n${lines.map((l) => `      ${l}`).join('\n')}\n`;
function error(lines: readonly string[]): ConfigError {
  try {
    inline(model(lines));
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error('expected an error');
}
/** What applying each iptables line on its own gives (the reference the batch must equal). */
function oneByOne(lines: readonly string[]): NfState {
  let nf = emptyNfState();
  for (const op of parseRunbook({ host: 'h', file: 'r', text: lines.join('\n'), firstLine: 1, baseDir: '/' }, { readFile: () => '' }))
    if (op.op === 'iptables') nf = applyIptables(nf, op, op.origin);
  return nf;
}

describe('batched iptables -A lines', () => {
  it('a later jump that makes an earlier rule invalid fails at the jump, with iptables words', () => {
    const e = error(['iptables -t nat -N X', 'iptables -t nat -A X -j MASQUERADE', 'ip netns add a', 'iptables -t nat -A PREROUTING -j X']);
    expect(e.line).toBe(7);
    expect(e.detail).toContain('RULE_APPEND failed (Invalid argument)');
    expect(e.detail).toContain('MASQUERADE target: used from hooks PREROUTING');
  });
  it('an iptables error comes before a later error of another command', () => {
    const e = error(['iptables -A FORWARD -j ACCEPT', 'iptables -A FORWARD -j NOPE', 'ip route add 10.0.0.0/8 via 1.2.3.4']);
    expect(e.line).toBe(5);
    expect(e.detail).toBe("iptables: Chain 'NOPE' does not exist");
  });
  it('the earliest failing line wins across namespaces', () => {
    const e = error(['ip netns add a', 'ip netns exec a iptables -A INPUT -j NOPE', 'iptables -A INPUT -j NOPE2', 'iptables -N Y']);
    expect(e.line).toBe(5);
  });
  it('interleaved with other commands and tables, the state equals one-by-one application', () => {
    const lines: string[] = [];
    for (let i = 0; i < 300; i++) {
      if (i % 7 === 0) lines.push(`iptables -N C${i}`, `iptables -A FORWARD -j C${i}`);
      if (i % 5 === 0) lines.push(`iptables -t nat -A POSTROUTING -s 10.${i & 255}.0.0/16 -j MASQUERADE`);
      if (i % 11 === 0) lines.push(`iptables -I FORWARD ${1 + (i % 3)} -s 10.9.${i & 255}.0/24 -j DROP`);
      if (i % 13 === 0) lines.push(`iptables -D FORWARD -j C${i - (i % 7)}`);
      lines.push(`iptables -A C${i - (i % 7)} -d 10.${i >> 8}.${i & 255}.0/24 -p tcp --dport ${i + 1} -j ACCEPT`);
      if (i % 3 === 0) lines.push(`ip rule add fwmark ${i} table ${100 + i}`);
    }
    const b = inline(model(lines));
    expect(iptablesSave(b.world.netns['h']!.nf)).toBe(iptablesSave(oneByOne(lines)));
  });
  it('the folded world is frozen', () => {
    const b = inline(model(['iptables -A INPUT -j ACCEPT', 'ip netns add a']));
    expect(Object.isFrozen(b.world.netns['h']!.nf.filter.chains['INPUT']!.rules)).toBe(true);
    expect(Object.isFrozen(b.world.netns['h/a']!.links)).toBe(true);
  });
});

describe('device lookups in one fold', () => {
  const links = (b: ReturnType<typeof inline>, ns: string): Record<string, number> => Object.fromEntries(b.world.netns[ns]!.links.map((l) => [l.name, l.ifindex]));
  const lines = [
    'ip link add a0 type dummy',
    'ip link add b0 type veth peer name b1',
    'ip link set a0 name a1',
    'ip link add a0 type dummy',
    'ip netns add n',
    'ip link set b1 netns n',
    'ip link add b1 type dummy',
    'ip link del a1',
    'ip link add c0 type dummy',
    'ip netns exec n ip link set b1 name e0',
    'ip netns exec n ip link add b1 type dummy',
    'ip netns exec n ip link add f0 type dummy',
    'ip netns add m',
    'ip netns exec m ip link add z0 type dummy',
    'ip netns exec m ip link del z0',
    'ip netns exec n ip link set b1 netns m',
  ];
  it('follow renames, moves and deletions: a freed name can be taken again, a new ifindex comes from the counter', () => {
    const b = inline(model(lines));
    // the peer registers first (3), a moved device keeps its free ifindex, a deleted one's (2) is
    // not handed out again, the counter skips an ifindex in use (3 in n), and a device moved where
    // its ifindex was freed keeps it (2 in m)
    expect(links(b, 'h')).toEqual({ lo: 1, b0: 4, a0: 5, b1: 6, c0: 7 });
    expect(links(b, 'h/n')).toEqual({ lo: 1, e0: 3, f0: 4 });
    expect(links(b, 'h/m')).toEqual({ lo: 1, b1: 2 });
    expect(b.world.netns['h']!.links.find((l) => l.name === 'b0')!.peer).toEqual({ ns: 'h/n', ifindex: 3 });
  });
  it('a renamed, moved or deleted device is no longer found by its old name, which is free again', () => {
    // a1: a0 renamed, then deleted; e0: b1 moved to n and renamed there; b1 in n: moved on to m
    for (const [gone, where] of [['a1', ''], ['e0', ''], ['b1', 'ip netns exec n '], ['z0', 'ip netns exec m ']] as const) {
      const e = error([...lines, `${where}ip link set ${gone} up`]);
      expect(e.detail).toBe(`Cannot find device "${gone}"`);
    }
    expect(() => inline(model([...lines, 'ip link add e0 type dummy', 'ip link add a1 type dummy']))).not.toThrow();
    expect(error([...lines, 'ip netns exec n ip link add e0 type dummy']).detail).toBe('RTNETLINK answers: File exists');
    expect(error([...lines, 'ip link add b1 type dummy']).detail).toBe('RTNETLINK answers: File exists');
  });
});
