/**
 * The direct parser of canonical `-A` lines (src/netfilter/fastparse.ts) against the full parser
 * (parse.ts): for every `-A` line of the fixture dumps, the save-forms/k8s-forms fixtures, the
 * models' rule files, generated kube-proxy dumps, and generated lines (a grammar of the shapes it
 * reads, canonical or slightly not, plus random mutations), the fast path either declines or
 * builds exactly the NfRule the full parser builds (matches, target, text, origin); and a whole
 * parse with the fast path gives exactly what it gives without (the same tables, or the same
 * error with its file:line).
 */
import { readFileSync, readdirSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/model/errors.js';
import type { Origin } from '../../src/model/origin.js';
import { Interner, parseCanonicalRule } from '../../src/netfilter/fastparse.js';
import { ADDR_TYPES, CT_STATES, CT_STATUSES, formatProbability, saveString } from '../../src/netfilter/format.js';
import { kubeProxyDump } from '../../src/netfilter/kubegen.js';
import { parseIptablesRestore } from '../../src/netfilter/restore.js';
import type { NfTableName } from '../../src/netfilter/types.js';
import { formatIpv4 } from '../../src/wire/ipv4.js';

type Outcome = { ok: unknown } | { err: { code: string; message: string } };

function restore(text: string, fast: boolean): Outcome {
  try {
    return { ok: parseIptablesRestore(text, 'dump.rules', { fast }) };
  } catch (e) {
    if (e instanceof ConfigError) return { err: { code: e.code, message: e.message } };
    throw e;
  }
}

/** a whole dump parsed with and without the fast path: the same tables or the same error */
function sameParse(text: string): Outcome {
  const full = restore(text, false);
  expect(restore(text, true)).toStrictEqual(full);
  return full;
}

const TABLES: readonly NfTableName[] = ['filter', 'nat', 'mangle', 'raw'];

/**
 * One `-A` line in `table`: the fast path on it directly either declines or equals the full
 * parser's rule (and the full parser then succeeds); whole-parse results equal. true: accepted.
 */
function checkLine(table: NfTableName, line: string): boolean {
  const text = `*${table}\n${line}\nCOMMIT\n`;
  const full = sameParse(text);
  const origin: Origin = { file: 'dump.rules', line: 2, text: line };
  const fast = parseCanonicalRule(table, line.trim(), origin, new Interner());
  if (fast === undefined) return false;
  expect('ok' in full, `fast path accepted a line the full parser refuses: ${line}`).toBe(true);
  const blocks = (full as { ok: { rules: unknown[] }[] }).ok;
  expect(blocks[0]!.rules).toStrictEqual([fast]);
  return true;
}

function dumpLines(text: string): { table: NfTableName; line: string }[] {
  const out: { table: NfTableName; line: string }[] = [];
  let table: NfTableName = 'filter';
  for (const l of text.split('\n')) {
    if (l.startsWith('*')) table = l.slice(1) as NfTableName;
    else if (l.trim().startsWith('-A') || l.trim().startsWith('[')) out.push({ table, line: l });
  }
  return out;
}

function acceptedShare(text: string): { accepted: number; lines: number } {
  let accepted = 0;
  const lines = dumpLines(text);
  for (const { table, line } of lines) if (checkLine(table, line)) accepted++;
  return { accepted, lines: lines.length };
}

describe('fast path: fixture and model dumps', () => {
  const files = [
    ...readdirSync('fixtures/iptables').filter((f) => f.endsWith('.save') || f.endsWith('.rules')).map((f) => `fixtures/iptables/${f}`),
    ...readdirSync('models').filter((f) => f.endsWith('.rules')).map((f) => `models/${f}`),
  ];
  for (const f of files) {
    it(`${f}: the same tables with and without the fast path; each accepted line equals the full parser's`, () => {
      const text = readFileSync(f, 'utf8');
      expect('ok' in sameParse(text)).toBe(true);
      const { accepted, lines } = acceptedShare(text);
      expect(lines).toBeGreaterThan(0);
      // iptables-save's own output is read by the fast path except for shapes it leaves out (-m recent)
      if (f.endsWith('.save')) expect(accepted).toBeGreaterThanOrEqual(lines - 2);
    });
  }

  for (const name of ['save-forms', 'k8s-forms']) {
    it(`test/netfilter/fixtures/${name}.txt: every command line and every saved form, in every table`, () => {
      const cases = readFileSync(`test/netfilter/fixtures/${name}.txt`, 'utf8')
        .split('\n')
        .filter((l) => l !== '' && !l.startsWith('#'))
        .map((l) => l.split('\t') as [string, string]);
      let accepted = 0;
      for (const [args, result] of cases) {
        const chain = /^-A (\S+)/.exec(args)?.[1];
        const lines = [args];
        if (result.startsWith('=> ') && chain !== undefined) for (const r of result.slice(3).split(' | ')) lines.push(`-A ${chain} ${r}`.trimEnd());
        for (const table of TABLES) for (const line of lines) if (checkLine(table, line)) accepted++;
      }
      expect(accepted).toBeGreaterThan(50);
    });
  }
});

describe('fast path: generated kube-proxy dumps', () => {
  const configs = [
    { services: 1 },
    { services: 37, maxEndpoints: 1 },
    { services: 250, maxEndpoints: 5, clusterCidr: '10.200.0.0/14' },
    { services: 1200 },
    { services: 3000, maxEndpoints: 2, clusterCidr: '172.16.0.0/12' },
  ];
  for (const cfg of configs) {
    it(`${JSON.stringify(cfg)}: every -A line read by the fast path, equal to the full parser's`, () => {
      const dump = kubeProxyDump(cfg);
      expect('ok' in sameParse(dump.text)).toBe(true);
      if (cfg.services <= 250) {
        const { accepted, lines } = acceptedShare(dump.text);
        expect(accepted).toBe(lines);
        expect(lines).toBe(dump.rules);
      } else {
        // the whole dump in one go: every line through the fast path (the interner's chain reuse included)
        const intern = new Interner();
        let n = 0;
        for (const { table, line } of dumpLines(dump.text)) {
          expect(parseCanonicalRule(table, line, { file: 'x', line: 0, text: line }, intern), line).toBeDefined();
          n++;
        }
        expect(n).toBe(dump.rules);
      }
    });
  }
});

// ---------------------------------------------------------------------------------------------
// Generated lines: a grammar of the shapes the fast path reads, with values that are canonical
// most of the time and slightly off some of the time (host bits, leading zeros, defaults spelled
// out, upper case, order), so both accepting and declining are exercised.

const bang = fc.boolean().map((b) => (b ? '! ' : ''));
const rare = (p: number): fc.Arbitrary<boolean> => fc.integer({ min: 0, max: 99 }).map((k) => k < p);

const prefixArb = fc.tuple(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 32 }), rare(10), rare(5)).map(([a, len, hostBits, noLen]) => {
  const mask = len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
  const addr = hostBits ? a : (a & mask) >>> 0;
  return noLen ? formatIpv4(addr) : `${formatIpv4(addr)}/${len}`;
});
const ifArb = fc.oneof(
  { arbitrary: fc.constantFrom('eth0', 'docker0', 'br-5f2a9c1e7d3b', 'veth+', 'cni0', 'lo', 'wg.0', 'eth0:1'), weight: 9 },
  { arbitrary: fc.constantFrom('+', 'a-very-long-interface-name', 'a"b'), weight: 1 },
);
const chainArb = fc.constantFrom('INPUT', 'FORWARD', 'OUTPUT', 'PREROUTING', 'POSTROUTING', 'KUBE-SVC-66R2HK5YGIKLEUGV', 'DOCKER', 'to-ngx1', 'x.y+z', 'KUBE-MARK-MASQ');
const protoArb = fc.oneof(
  { arbitrary: fc.constantFrom('tcp', 'udp', 'sctp'), weight: 8 },
  { arbitrary: fc.constantFrom('icmp', 'gre', 'all', '47', 'TCP', 'udplite', '6', 'esp'), weight: 2 },
);
const portArb = fc.oneof(
  { arbitrary: fc.integer({ min: 0, max: 65535 }).map(String), weight: 6 },
  { arbitrary: fc.tuple(fc.integer({ min: 0, max: 65535 }), fc.integer({ min: 0, max: 65535 })).map(([a, b]) => `${Math.min(a, b)}:${Math.max(a, b)}`), weight: 3 },
  { arbitrary: fc.constantFrom('0:65535', '080', '65536', '5:5', '9:3', 'http', ':80', '1:'), weight: 1 },
);
const hexArb = fc.oneof(
  { arbitrary: fc.integer({ min: 0, max: 0xffffffff }).map((n) => `0x${n.toString(16)}`), weight: 8 },
  { arbitrary: fc.constantFrom('0x4000', '0x0', '0xffffffff'), weight: 3 },
  { arbitrary: fc.constantFrom('0x4000', '0x0', '0xffffffff', '0x04000', '0X10', '16', '0xABC', '0x100000000'), weight: 1 },
);
function listArb<T extends string>(all: readonly T[]): fc.Arbitrary<string> {
  return fc.tuple(fc.subarray([...all], { minLength: 1 }), rare(10), rare(5)).map(([xs, shuffle, lower]) => {
    const l = shuffle ? [...xs].reverse().concat(xs.slice(0, 1)) : xs;
    const s = l.join(',');
    return lower ? s.toLowerCase() : s;
  });
}
const commentArb = fc.oneof(
  { arbitrary: fc.string({ maxLength: 40 }).map(saveString), weight: 5 },
  { arbitrary: fc.constantFrom('"ns0/svc1:p1 cluster IP"', 'ns0/svc1', '"ns0/svc1:p1 -> 10.244.0.3:8001"'), weight: 3 },
  { arbitrary: fc.string({ unit: fc.constantFrom('a', 'B', '0', '-', '_', ' ', '"', '\\', "'", '/', ':', '>', 'é', '\t'), maxLength: 30 }).map(saveString), weight: 2 },
  { arbitrary: fc.constantFrom('"ns0/svc1:p1 cluster IP"', 'plain', '"plain"', '""', '"a\\b"', '"--table x"', '-t', '"-t"', '"!"', `"${'x'.repeat(300)}"`, "\"it\\'s\""), weight: 1 },
);
const probArb = fc.oneof(
  { arbitrary: fc.integer({ min: 0, max: 0x80000000 }).map(formatProbability), weight: 4 },
  { arbitrary: fc.constantFrom('0.5', '0.50000000000', '1.00000000000', '0.33333333349', '1.5', '-0.10000000000', '0.3333333334'), weight: 1 },
);

const matchArb = fc.oneof(
  { arbitrary: fc.tuple(fc.constantFrom('tcp', 'udp', 'sctp'), fc.option(fc.tuple(bang, portArb)), fc.option(fc.tuple(bang, portArb)), rare(5)).map(([m, sp, dp, swap]) => {
    const parts = [`-m ${m}`];
    const s = sp ? `${sp[0]}--sport ${sp[1]}` : undefined;
    const d = dp ? `${dp[0]}--dport ${dp[1]}` : undefined;
    if (swap) parts.push(...[d, s].filter((x): x is string => x !== undefined));
    else parts.push(...[s, d].filter((x): x is string => x !== undefined));
    return parts.join(' ');
  }), weight: 4 },
  { arbitrary: commentArb.map((c) => `-m comment --comment ${c}`), weight: 4 },
  { arbitrary: fc.tuple(fc.option(fc.tuple(bang, listArb(CT_STATES))), fc.option(fc.tuple(bang, fc.oneof(listArb(CT_STATUSES), fc.constant('NONE'))))).map(
    ([st, ss]) => ['-m conntrack', st ? `${st[0]}--ctstate ${st[1]}` : '', ss ? `${ss[0]}--ctstatus ${ss[1]}` : ''].filter((x) => x !== '').join(' '),
  ), weight: 2 },
  { arbitrary: fc.tuple(bang, listArb(CT_STATES)).map(([b, l]) => `-m state ${b}--state ${l}`), weight: 1 },
  { arbitrary: fc.tuple(bang, probArb).map(([b, p]) => `-m statistic --mode random ${b}--probability ${p}`), weight: 1 },
  { arbitrary: fc.tuple(bang, fc.integer({ min: 0, max: 5 }), fc.integer({ min: 0, max: 5 })).map(([b, e, p]) => `-m statistic --mode nth ${b}--every ${e} --packet ${p}`), weight: 1 },
  { arbitrary: fc.tuple(fc.constantFrom('mark', 'connmark'), bang, hexArb, fc.option(hexArb)).map(([m, b, v, k]) => `-m ${m} ${b}--mark ${v}${k === null ? '' : `/${k}`}`), weight: 1 },
  { arbitrary: fc.tuple(fc.option(fc.tuple(bang, listArb(ADDR_TYPES))), fc.option(fc.tuple(bang, listArb(ADDR_TYPES))), fc.constantFrom('', '--limit-iface-in', '--limit-iface-out')).map(
    ([s, d, l]) => ['-m addrtype', s ? `${s[0]}--src-type ${s[1]}` : '', d ? `${d[0]}--dst-type ${d[1]}` : '', l].filter((x) => x !== '').join(' '),
  ), weight: 1 },
  { arbitrary: fc.tuple(bang, fc.constantFrom('--dports', '--sports', '--ports', '--destination-ports'), fc.array(portArb, { minLength: 1, maxLength: 9 })).map(
    ([b, o, ps]) => `-m multiport ${b}--${o.slice(2)} ${ps.join(',')}`,
  ), weight: 1 },
  { arbitrary: fc.tuple(bang, fc.constantFrom('any', '8', '0', '3/3', '3/0', '255', 'echo-request', '11/1', '08', '256')).map(([b, t]) => `-m icmp ${b}--icmp-type ${t}`), weight: 1 },
  { arbitrary: fc.constantFrom('-m limit --limit 3/hour', '-m recent --set --name a --mask 255.255.255.255 --rsource', '-m owner --uid-owner 0', '-m tcp --syn', '-m comment'), weight: 1 },
);
/** the -m tcp/udp/sctp of a line follow its -p most of the time (else the kernel refuses the rule) */
function followProto(m: string, proto: string | undefined, keep: boolean): string {
  if (keep || proto === undefined || !/^(tcp|udp|sctp)$/.test(proto)) return m;
  return m.replace(/^-m (tcp|udp|sctp)\b/, `-m ${proto}`);
}

const natArb = fc.tuple(fc.option(fc.tuple(fc.integer({ min: 0, max: 0xffffffff }), fc.option(fc.integer({ min: 0, max: 0xffffffff })))), fc.option(portArb)).map(([a, p]) => {
  let s = '';
  if (a) s += formatIpv4(a[0]) + (a[1] === null ? '' : `-${formatIpv4(a[1])}`);
  if (p !== null) s += `:${p.replace(':', '-')}`;
  return s;
});
const flags = (...fs: string[]): fc.Arbitrary<string> => fc.subarray(fs).map((xs) => xs.join(' '));
const targetArb = fc.oneof(
  fc.constantFrom('-j ACCEPT', '-j DROP', '-j RETURN', '-j NOTRACK', '-j CT', '-j CT --notrack', '-j LOG', '-j LOG --log-prefix x', '-j QUEUE', '-g ACCEPT', '-j accept', ''),
  fc.constantFrom('icmp-port-unreachable', 'icmp-net-unreachable', 'tcp-reset', 'icmp-admin-prohibited', 'port-unreach', 'icmp-port').map((w) => `-j REJECT --reject-with ${w}`),
  fc.tuple(fc.constantFrom('DNAT --to-destination', 'SNAT --to-source'), natArb, flags('--random', '--random-fully', '--persistent')).map(([t, r, f]) => `-j ${t} ${r} ${f}`.trimEnd()),
  fc.tuple(fc.constantFrom('MASQUERADE', 'REDIRECT'), fc.option(portArb), flags('--random', '--random-fully')).map(
    ([t, p, f]) => `-j ${t}${p === null ? '' : ` --to-ports ${p.replace(':', '-')}`} ${f}`.trimEnd(),
  ),
  fc.tuple(fc.constantFrom('MARK', 'CONNMARK'), hexArb, hexArb).map(([t, v, m]) => `-j ${t} --set-xmark ${v}/${m}`),
  fc.tuple(fc.constantFrom('--save-mark', '--restore-mark'), hexArb, hexArb).map(([o, n, c]) => `-j CONNMARK ${o} --nfmask ${n} --ctmask ${c}`),
  fc.tuple(fc.constantFrom('-j', '-g'), chainArb).map(([j, c]) => `${j} ${c}`),
);

const lineArb = fc
  .record({
    chain: chainArb,
    s: fc.option(fc.tuple(bang, prefixArb)),
    d: fc.option(fc.tuple(bang, prefixArb)),
    i: fc.option(fc.tuple(bang, ifArb)),
    o: fc.option(fc.tuple(bang, ifArb)),
    p: fc.option(fc.tuple(rare(10).map((b) => (b ? '! ' : '')), protoArb), { freq: 6 }),
    m: fc.array(matchArb, { maxLength: 4 }),
    keep: rare(10),
    j: targetArb,
  })
  .map((r) => {
    const parts = [`-A ${r.chain}`];
    if (r.s) parts.push(`${r.s[0]}-s ${r.s[1]}`);
    if (r.d) parts.push(`${r.d[0]}-d ${r.d[1]}`);
    if (r.i) parts.push(`${r.i[0]}-i ${r.i[1]}`);
    if (r.o) parts.push(`${r.o[0]}-o ${r.o[1]}`);
    if (r.p) parts.push(`${r.p[0]}-p ${r.p[1]}`);
    parts.push(...r.m.map((m) => followProto(m, r.p?.[1], r.keep)));
    if (r.j !== '') parts.push(r.j);
    return parts.join(' ');
  });

/** small edits that usually make a canonical line non-canonical (or invalid) */
const mutated = fc.tuple(lineArb, fc.nat(), fc.constantFrom('dup-space', 'tab', 'drop-word', 'swap-words', 'bang', 'upper', 'zero', 'quote', 'counters', 'trailing', 'leading')).map(([line, k, how]) => {
  const words = line.split(' ');
  const at = k % words.length;
  switch (how) {
    case 'dup-space':
      return words.slice(0, at).concat([''], words.slice(at)).join(' ');
    case 'tab':
      return words.slice(0, at).join(' ') + '\t' + words.slice(at).join(' ');
    case 'drop-word':
      return words.filter((_, j) => j !== at || j < 2).join(' ');
    case 'swap-words': {
      const w = [...words];
      const b = Math.min(w.length - 1, Math.max(2, at));
      const a = Math.max(2, b - 1);
      [w[a], w[b]] = [w[b]!, w[a]!];
      return w.join(' ');
    }
    case 'bang':
      return words.slice(0, Math.max(2, at)).concat(['!'], words.slice(Math.max(2, at))).join(' ');
    case 'upper':
      return words.map((w, j) => (j === at && j >= 2 ? w.toUpperCase() : w)).join(' ');
    case 'zero':
      return line.replace(/(^|[^0-9a-fx])([1-9])/g, (m0, a: string, d: string) => (k % 3 === 0 ? `${a}0${d}` : m0));
    case 'quote':
      return words.map((w, j) => (j === at && j >= 2 ? `"${w}"` : w)).join(' ');
    case 'counters':
      return `[0:0] ${line}`;
    case 'trailing':
      return `${line} `;
    default:
      return ` ${line}`;
  }
});

describe('fast path: generated lines', () => {
  it('grammar lines: declined, or equal to the full parser (matches, target, text, origin)', () => {
    let accepted = 0;
    let total = 0;
    fc.assert(
      fc.property(fc.constantFrom(...TABLES), lineArb, (table, line) => {
        total++;
        if (checkLine(table, line)) accepted++;
      }),
      { numRuns: 3000, seed: 61 },
    );
    // the grammar must exercise the fast path, not only its declining
    expect(accepted / total).toBeGreaterThan(0.05);
  });

  it('canonical lines the full parser reads back as their own text are all read by the fast path', () => {
    let canonical = 0;
    fc.assert(
      fc.property(fc.constantFrom(...TABLES), lineArb, (table, line) => {
        const out = restore(`*${table}\n${line}\nCOMMIT\n`, false);
        if (!('ok' in out)) return;
        const { chain, rule } = (out.ok as { rules: { chain: string; rule: { text: string } }[] }[])[0]!.rules[0]!;
        const rest = line.slice(3 + chain.length + 1);
        // shapes it leaves to the full parser, and strings the full parser would read unlike their spelling
        if (rule.text !== rest || /-m (limit|recent|owner)|-j LOG|--syn|--comment "?-|--comment ""|--comment "!"|[^ -~]/.test(line)) return;
        canonical++;
        expect(checkLine(table, line), line).toBe(true);
      }),
      { numRuns: 3000, seed: 62 },
    );
    expect(canonical).toBeGreaterThan(150);
  });

  it('mutated lines: declined, or equal to the full parser; never an error of its own', () => {
    fc.assert(
      fc.property(fc.constantFrom(...TABLES), mutated, (table, line) => {
        checkLine(table, line);
      }),
      { numRuns: 3000, seed: 63 },
    );
  });

  it('a dump mixing accepted and declined lines, with an error: the same error (file:line) either way', () => {
    const dump = kubeProxyDump({ services: 20 }).text.replace('-A KUBE-SERVICES -d 10.96.0.12/32', '-A KUBE-SERVICES -d 10.96.0.12/33');
    const out = sameParse(dump);
    expect('err' in out && out.err.message).toMatch(/dump\.rules:\d+/);
  });
});
