/**
 * The indexed chain walk (runTable) against the plain rule-by-rule walk (runTableLinear) on
 * random rule sets and random packets: the same verdict, the same matched rules in the same
 * order, the same marks, and the same sequence of statistic coins asked.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { KERNEL } from '../../src/model/origin.js';
import { runTable, runTableLinear, type NfEnv, type NfPacket } from '../../src/netfilter/eval.js';
import { buildChainIndex } from '../../src/netfilter/chainindex.js';
import { parseIptablesRestore } from '../../src/netfilter/restore.js';
import { applyRestore, emptyNfState } from '../../src/netfilter/tables.js';

const ADDRS = ['10.0.0.1', '10.0.0.2', '10.0.1.7', '192.168.1.1'];
const PORTS = [22, 53, 80, 443];
const ip = (t: string): number => t.split('.').reduce((a, o) => a * 256 + Number(o), 0);

const matchArb = fc.oneof(
  fc.record({ a: fc.constantFrom(...ADDRS), len: fc.constantFrom(32, 24, 16), inv: fc.boolean() }).map(({ a, len, inv }) => `${inv ? '! ' : ''}-d ${a}/${len}`),
  fc.record({ a: fc.constantFrom(...ADDRS), inv: fc.boolean() }).map(({ a, inv }) => `${inv ? '! ' : ''}-s ${a}/32`),
  fc.record({ p: fc.constantFrom('tcp', 'udp'), port: fc.constantFrom(...PORTS), range: fc.boolean(), inv: fc.boolean() }).map(
    ({ p, port, range, inv }) => `-p ${p} -m ${p} ${inv ? '! ' : ''}--dport ${range ? `${port}:${port + 400}` : port}`,
  ),
  fc.constantFrom('-p tcp', '-p udp', '! -p tcp'),
  fc.constantFrom('-m statistic --mode random --probability 0.5', '-m statistic --mode random ! --probability 0.25'),
  fc.constantFrom('-m mark --mark 0x1/0x1', '-m mark ! --mark 0x2/0x2'),
  fc.constantFrom('-m comment --comment "a comment"', '-m recent --rcheck --name x', '-m recent --set --name x'),
);

/** rules of chain k may jump only to chains with a larger number: no loops */
function ruleArb(k: number, chains: number): fc.Arbitrary<string> {
  const targets = ['-j ACCEPT', '-j DROP', '-j RETURN', '-j MARK --set-xmark 0x1/0x1', '-j MARK --set-xmark 0x2/0x3', ''];
  for (let j = Math.max(k + 1, 1); j <= chains; j++) targets.push(`-j U${j}`, `-g U${j}`);
  return fc.tuple(fc.array(matchArb, { maxLength: 3 }), fc.constantFrom(...targets)).map(([ms, tg]) => {
    // iptables refuses -s/-d/-p twice: keep the first match of each kind
    const out: string[] = [];
    const seen = new Set<string>();
    for (const m of ms) {
      const kinds = ['-d ', '-s ', '-p ', '-m statistic', '-m mark', '-m comment', '-m recent'].filter((k) => m.includes(k));
      if (kinds.some((k) => seen.has(k))) continue;
      kinds.forEach((k) => seen.add(k));
      out.push(m);
    }
    return [...out, tg].filter((x) => x !== '').join(' ');
  });
}

const CHAINS = 4;
const rulesetArb = fc.tuple(...Array.from({ length: CHAINS + 1 }, (_, k) => fc.array(ruleArb(k, CHAINS), { minLength: 0, maxLength: 40, size: 'max' })));

const packetArb = fc.record({
  src: fc.constantFrom(...ADDRS),
  dst: fc.constantFrom(...ADDRS, '10.0.0.200'),
  proto: fc.constantFrom(6, 17, 1),
  dport: fc.constantFrom(...PORTS, 500, 1000),
  mark: fc.constantFrom(0, 1, 2, 3),
  coins: fc.array(fc.boolean(), { minLength: 1, maxLength: 16 }),
});

function env(coins: readonly boolean[], log: string[]): NfEnv {
  return {
    addrType: () => 'UNICAST',
    choose: (p, what) => {
      log.push(`${what} ${p}`);
      return coins[log.length % coins.length]!;
    },
  };
}

describe('indexed walk = linear walk', () => {
  it('same verdict, hits, marks and coins on random rule sets and packets', () => {
    fc.assert(
      fc.property(rulesetArb, fc.array(packetArb, { minLength: 1, maxLength: 8 }), (chains, packets) => {
        const lines = ['*filter', ':INPUT ACCEPT [0:0]', ':FORWARD DROP [0:0]', ':OUTPUT ACCEPT [0:0]'];
        for (let k = 1; k <= CHAINS; k++) lines.push(`:U${k} - [0:0]`);
        chains.forEach((rules, k) => {
          for (const r of rules) lines.push(`-A ${k === 0 ? 'FORWARD' : `U${k}`}${r === '' ? '' : ` ${r}`}`);
        });
        lines.push('COMMIT', '');
        const nf = applyRestore(emptyNfState(), parseIptablesRestore(lines.join('\n'), 'p.rules'), false, KERNEL);
        for (const pk of packets) {
          const p: NfPacket = {
            src: ip(pk.src),
            dst: ip(pk.dst),
            proto: pk.proto,
            ...(pk.proto !== 1 ? { sport: 40000, dport: pk.dport } : {}),
            bridged: false,
            mark: pk.mark,
          };
          const la: string[] = [];
          const lb: string[] = [];
          const a = runTable(nf, 'filter', 'FORWARD', p, env(pk.coins, la));
          const b = runTableLinear(nf, 'filter', 'FORWARD', p, env(pk.coins, lb));
          expect(a.verdict).toEqual(b.verdict);
          expect(a.hits.map((h) => `${h.chain}#${h.index}`)).toEqual(b.hits.map((h) => `${h.chain}#${h.index}`));
          expect([a.mark, a.policyChain, a.notes]).toEqual([b.mark, b.policyChain, b.notes]);
          expect(la).toEqual(lb);
        }
      }),
      { numRuns: 300, seed: 20260406 },
    );
  });

  it('long chains really are indexed (keys on -d and on -p/--dport)', () => {
    const lines = ['*filter', ':INPUT ACCEPT [0:0]', ':FORWARD ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]'];
    for (let k = 0; k < 100; k++) lines.push(`-A FORWARD -d 10.0.${k >> 8}.${k & 255}/32 -p tcp -m tcp --dport 80 -j DROP`);
    for (let k = 0; k < 100; k++) lines.push(`-A FORWARD -p udp -m udp --dport ${1000 + k} -j DROP`);
    lines.push('-A FORWARD -m statistic --mode random --probability 0.5 -d 10.0.0.1/32 -j DROP', 'COMMIT', '');
    const nf = applyRestore(emptyNfState(), parseIptablesRestore(lines.join('\n'), 'x'), false, KERNEL);
    const ix = buildChainIndex(nf.filter.chains['FORWARD']!);
    expect(ix.keyed).toBe(201); // -d comes before -m statistic in the rule, so it is keyed too
    expect(ix.candidates(ip('10.0.0.5'), 17, 1003)).toEqual([5, 103]);
  });
});
