/**
 * The nft fixtures from real producers (fixtures/nft/README.md) through `netpath rules trace`.
 * The outcomes pinned here are the ones the kernel gave when kernel.test.ts replayed the same
 * packets (conntrack entry, DNAT target, source NAT); that test re-checks them on every run.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { loadDump } from '../../src/cli/rules.js';
import { traceHost } from '../../src/nft/trace.js';
import { parseNftFile } from '../../src/nft/parse.js';
import { applyNft } from '../../src/nft/ruleset.js';
import { listRuleset } from '../../src/nft/print.js';
import { EMPTY_NFT } from '../../src/nft/types.js';
import { parseIpv4 } from '../../src/wire/ipv4.js';
import { SCENARIOS, type FixtureCase, type FixtureScenario } from './fixture-scenarios.js';

const dir = fileURLToPath(new URL('../../fixtures/nft/', import.meta.url));
const ip = (t: string): number => parseIpv4(t)!;

async function trace(sc: FixtureScenario, c: FixtureCase, file: string, flag?: '--iptables'): Promise<unknown[]> {
  let out = '';
  let err = '';
  const args = ['rules', 'trace', ...(flag ? [flag] : []), `${dir}${file}`, '--src', `${c.src}:40000`, '--dst', `${c.dst}:${c.dport}`, '--proto', c.proto, '--iif', c.iif, ...(c.oif ? ['--oif', c.oif] : []), '--local', sc.local.join(','), '--json'];
  const code = await main(args, { out: (s) => (out += s), err: (s) => (err += s) });
  expect(err).toBe('');
  expect(code).toBe(0);
  const j = JSON.parse(out) as { outcomes: { verdict: string; delivery: string; dnat?: string; masquerade: boolean; rejectWith?: string }[] };
  return j.outcomes.map((o) => [o.verdict, o.delivery, o.dnat ?? null, o.masquerade, o.rejectWith ?? null]);
}

const EXPECTED: Readonly<Record<string, readonly unknown[][]>> = {
  netavark: [
    ['ACCEPT', 'forward', '10.88.0.14:8080', false, null],
    ['ACCEPT', 'forward', '10.88.0.14:8080', false, null],
    ['ACCEPT', 'local', null, false, null],
    ['ACCEPT', 'forward', null, false, null],
    ['ACCEPT', 'forward', null, true, null],
  ],
  libvirt: [
    ['ACCEPT', 'forward', null, true, null],
    ['ACCEPT', 'forward', null, true, null],
    ['REJECT', 'dropped', null, false, 'icmp-port-unreachable'],
  ],
  firewalld: [
    ['ACCEPT', 'local', null, false, null],
    ['REJECT', 'dropped', null, false, 'icmp-admin-prohibited'],
    ['REJECT', 'dropped', null, false, 'icmp-admin-prohibited'],
    ['REJECT', 'dropped', null, false, 'icmp-admin-prohibited'],
  ],
  'docker (iptables-nft, nft view)': [
    ['ACCEPT', 'forward', '192.168.0.2:80', false, null],
    ['DROP', 'dropped', null, false, null],
    ['ACCEPT', 'forward', null, true, null],
    ['ACCEPT', 'local', null, false, null],
  ],
};

describe('rules trace over the producers\' nft rulesets', () => {
  for (const [name, sc] of Object.entries(SCENARIOS)) {
    sc.cases.forEach((c, k) => {
      it(`${name}: ${c.name}`, async () => {
        expect(await trace(sc, c, sc.nft!)).toEqual([EXPECTED[name]![k]]);
      });
    });
  }
});

describe('Docker on iptables-nft: the iptables-save view and the nft view are one ruleset', () => {
  const sc = SCENARIOS['docker (iptables-nft, nft view)']!;
  for (const c of sc.cases) {
    it(c.name, async () => {
      expect(await trace(sc, c, 'docker-iptables-nft.save', '--iptables')).toEqual(await trace(sc, c, sc.nft!));
    });
  }
  it('the same rules through both evaluators, packet by packet, with rule paths naming the same chains', () => {
    const nf = loadDump(`${dir}docker-iptables-nft.save`);
    const nft = applyNft(EMPTY_NFT, parseNftFile(readFileSync(`${dir}docker-iptables-nft.nft`, 'utf8'), 'docker-iptables-nft.nft'));
    for (const c of sc.cases) {
      const input = { src: ip(c.src), sport: 40000, dst: ip(c.dst), dport: c.dport, proto: c.proto, iif: c.iif, ...(c.oif ? { oif: c.oif } : {}), local: sc.local.map(ip) };
      const a = traceHost({ nf }, input).map((o) => o.path.map((s) => s.chain));
      const b = traceHost({ nft }, input).map((o) => o.path.map((s) => s.chain));
      expect(b).toEqual(a);
    }
  });
});

describe('fixtures print back as nft lists them', () => {
  it('firewalld: IPv6 interval elements in address order (::/96 first), priorities as `filter + 10`', () => {
    const text = readFileSync(`${dir}firewalld-public.nft`, 'utf8');
    const out = listRuleset(applyNft(EMPTY_NFT, parseNftFile(text, 'firewalld-public.nft')));
    expect(out).toBe(text);
  });
});
