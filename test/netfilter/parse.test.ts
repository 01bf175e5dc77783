/**
 * The command-line parser. Expected spellings and messages are those of iptables v1.8.9
 * (nf_tables) on kernel 6.18, recorded in fixtures/save-forms.txt or observed with the same
 * scratch-namespace procedure (docs/iptables.md).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/model/errors.js';
import { parseIptablesArgs } from '../../src/netfilter/parse.js';
import type { IptablesCommand } from '../../src/netfilter/types.js';
import { at, shellWords } from './helpers.js';

const parse = (line: string): IptablesCommand => parseIptablesArgs(shellWords(line), at(7, `iptables ${line}`));
const text = (line: string): string => {
  const c = parse(line);
  if (c.cmd !== 'A' && c.cmd !== 'I' && c.cmd !== 'R') throw new Error(`not a rule command: ${line}`);
  return c.rule.text;
};
function refused(line: string, code: ConfigError['code'], word: string): void {
  let err: unknown;
  try {
    parse(line);
  } catch (e) {
    err = e;
  }
  expect(err, line).toBeInstanceOf(ConfigError);
  const ce = err as ConfigError;
  expect(ce.code).toBe(code);
  expect(ce.file).toBe('runbook.sh');
  expect(ce.line).toBe(7);
  expect(ce.detail).toContain(word);
}

describe('commands', () => {
  it('parses every command form', () => {
    expect(parse('-A INPUT -j ACCEPT')).toMatchObject({ table: 'filter', cmd: 'A', chain: 'INPUT' });
    expect(parse('--append INPUT -j ACCEPT')).toMatchObject({ cmd: 'A', chain: 'INPUT' });
    expect(parse('-t nat -I PREROUTING -j ACCEPT')).toMatchObject({ table: 'nat', cmd: 'I', chain: 'PREROUTING', index: 1 });
    expect(parse('--insert INPUT 3 -j ACCEPT')).toMatchObject({ cmd: 'I', index: 3 });
    expect(parse('-R INPUT 2 -j DROP')).toMatchObject({ cmd: 'R', index: 2 });
    expect(parse('-D INPUT 4')).toEqual({ table: 'filter', cmd: 'D', chain: 'INPUT', index: 4 });
    expect(parse('-D INPUT -s 1.2.3.4 -j ACCEPT')).toMatchObject({ cmd: 'D', rule: { text: '-s 1.2.3.4/32 -j ACCEPT' } });
    expect(parse('-P FORWARD DROP')).toEqual({ table: 'filter', cmd: 'P', chain: 'FORWARD', policy: 'DROP' });
    expect(parse('--policy FORWARD ACCEPT')).toMatchObject({ cmd: 'P', policy: 'ACCEPT' });
    expect(parse('-N DOCKER')).toEqual({ table: 'filter', cmd: 'N', chain: 'DOCKER' });
    expect(parse('--new-chain X')).toEqual({ table: 'filter', cmd: 'N', chain: 'X' });
    expect(parse('-X')).toEqual({ table: 'filter', cmd: 'X' });
    expect(parse('-t nat -X DOCKER')).toEqual({ table: 'nat', cmd: 'X', chain: 'DOCKER' });
    expect(parse('-F')).toEqual({ table: 'filter', cmd: 'F' });
    expect(parse('--flush INPUT')).toEqual({ table: 'filter', cmd: 'F', chain: 'INPUT' });
    expect(parse('-Z')).toEqual({ table: 'filter', cmd: 'Z' });
    for (const look of ['-L', '-nvL', '-L -n -v --line-numbers -x', '-t nat -L POSTROUTING -n', '-S', '-S INPUT', '--list-rules', '-C INPUT -j ACCEPT']) {
      expect(parse(look), look).toMatchObject({ cmd: 'show' });
    }
  });
  it('accepts and ignores -w [SECS] and --wait anywhere (verified: -w 5 -A ..., -A INPUT -w -j ACCEPT)', () => {
    expect(text('-w 5 -A INPUT -j ACCEPT')).toBe('-j ACCEPT');
    expect(text('-A INPUT -w -j ACCEPT')).toBe('-j ACCEPT');
    expect(text('--wait -A INPUT -w3 -j ACCEPT')).toBe('-j ACCEPT');
    refused('-w', 'syntax', 'no command specified');
  });
  it('refuses what iptables refuses, naming the word', () => {
    refused('-A INPUT -s ! 10.0.0.1 -j ACCEPT', 'syntax', "Bad argument `10.0.0.1'");
    refused('-A INPUT extra -j ACCEPT', 'syntax', "Bad argument `extra'");
    refused('-A INPUT --bogus -j ACCEPT', 'syntax', 'unknown option "--bogus"');
    refused('-A INPUT -k', 'syntax', 'unknown option "-k"');
    refused('-A INPUT --s 1.2.3.4', 'syntax', 'unknown option "--s"'); // ambiguous prefix
    refused('-A INPUT -m bogus -j ACCEPT', 'syntax', "Couldn't load match `bogus'");
    refused('-A INPUT -m owner --uid-owner 0 -j ACCEPT', 'unsupported', 'owner');
    refused('-A INPUT -j TCPMSS --clamp-mss-to-pmtu', 'unsupported', 'TCPMSS');
    refused('-A INPUT -p bogus -j ACCEPT', 'syntax', 'unknown protocol "bogus"');
    refused('-A INPUT -p tcp --dport', 'syntax', 'option "--dport" requires an argument');
    refused('-A INPUT -p tcp --dport -j ACCEPT', 'syntax', "invalid port/service `-j'");
    refused('-A INPUT -s 10.0.0.256 -j ACCEPT', 'syntax', "host/network `10.0.0.256' not found");
    refused('-A INPUT -s 10.0.0.1/33 -j ACCEPT', 'syntax', "invalid mask `33'");
    refused('-A INPUT -s 10.0.0.1,10.0.0.2 -j ACCEPT', 'unsupported', '10.0.0.1,10.0.0.2');
    refused('-A INPUT -s localhost -j ACCEPT', 'unsupported', 'localhost');
    refused('-A INPUT -o eth0 -j ACCEPT', 'syntax', "Can't use -o with INPUT");
    refused('-A OUTPUT -i eth0 -j ACCEPT', 'syntax', "Can't use -i with OUTPUT");
    refused('-A INPUT -s 1.1.1.1 -s 2.2.2.2', 'syntax', 'multiple -s flags not allowed');
    refused('-A INPUT -j ACCEPT -j DROP', 'syntax', 'multiple -j flags not allowed');
    refused('-A INPUT ! -j ACCEPT', 'syntax', 'cannot have ! before -j');
    refused('-A INPUT ! ! -s 1.1.1.1', 'syntax', 'multiple consecutive ! not allowed');
    refused('-A INPUT -s 1.1.1.1 !', 'syntax', 'nothing appropriate following !');
    refused('-A INPUT -s 1.1.1.1 -D INPUT', 'syntax', 'Cannot use -D with -A');
    refused('-I INPUT 0 -j ACCEPT', 'syntax', "Invalid rule number `0'");
    refused('-R INPUT -j ACCEPT', 'syntax', '-R requires a rule number');
    refused('-P INPUT', 'syntax', '-P requires a chain and a policy');
    refused('-P INPUT drop', 'kernel', 'Bad policy name');
    refused('-N ACCEPT', 'syntax', 'chain name may not clash with target name');
    refused('-N a2345678901234567890123456789', 'syntax', 'too long (must be under 29 chars)');
    refused('-t bogus -A INPUT -j ACCEPT', 'syntax', "table 'bogus' does not exist");
    refused('-t nat -A PREROUTING -j DROP', 'syntax', 'The "nat" table is not intended for filtering');
    refused('-A INPUT ! -s 0.0.0.0/0 -j ACCEPT', 'kernel', 'RULE_APPEND failed (Invalid argument)');
    refused('-A INPUT -p tcp --dport 80 -p udp', 'syntax', 'multiple -p flags not allowed');
    refused('-A INPUT --dport 80 -p tcp', 'syntax', 'unknown option "--dport"');
    refused('-A INPUT -p udp --tcp-flags SYN SYN', 'syntax', 'unknown option "--tcp-flags"');
    refused('-E FOO BAR', 'unsupported', '-E');
  });
});

describe('options and extensions', () => {
  it('! before the option, long names, unique prefixes (getopt_long)', () => {
    expect(text('-A INPUT ! -s 10.0.0.1 -j ACCEPT')).toBe('! -s 10.0.0.1/32 -j ACCEPT');
    expect(text('-A INPUT --source 1.2.3.4 --destination 2.2.2.2 --in-interface lo --protocol udp --jump ACCEPT')).toBe(
      '-s 1.2.3.4/32 -d 2.2.2.2/32 -i lo -p udp -j ACCEPT',
    );
    expect(text('-A INPUT --dest 1.2.3.4 -j ACCEPT')).toBe('-d 1.2.3.4/32 -j ACCEPT');
    expect(text('-A INPUT -p tcp --dpo 80 -j ACCEPT')).toBe('-p tcp -m tcp --dport 80 -j ACCEPT');
    expect(text('-t nat -A PREROUTING -p tcp --dport 80 -j DNAT --to 10.0.0.2')).toBe('-p tcp -m tcp --dport 80 -j DNAT --to-destination 10.0.0.2');
    expect(text('-t nat -A OUTPUT -p tcp -j REDIRECT --to-port 3128')).toBe('-p tcp -j REDIRECT --to-ports 3128');
    expect(text('-A INPUT -ptcp --dport=22 -jACCEPT')).toBe('-p tcp -m tcp --dport 22 -j ACCEPT');
  });
  it('the implicit -m tcp sits where its first option appeared', () => {
    expect(text('-A INPUT -p tcp -m mark --mark 1 --dport 2 -j ACCEPT')).toBe('-p tcp -m mark --mark 0x1 -m tcp --dport 2 -j ACCEPT');
    expect(text('-A INPUT -s 10.0.0.1 -m comment --comment "x" -p tcp --dport 22 -j ACCEPT')).toBe(
      '-s 10.0.0.1/32 -p tcp -m comment --comment x -m tcp --dport 22 -j ACCEPT',
    );
    // after -m multiport, --dport is an abbreviation of multiport's --dports (verified error)
    refused('-A INPUT -p tcp -m multiport --dports 80,443 --dport 22 -j ACCEPT', 'syntax', 'multiport: option "--destination-ports" can only be used once.');
  });
  it('keeps the typed values', () => {
    const c = parse('-t nat -A PREROUTING -d 1.2.3.4 -p tcp -m tcp ! --dport 80:90 -j DNAT --to-destination 10.0.0.2-10.0.0.5:8080-8090 --random');
    expect(c.cmd === 'A' && c.rule.matches).toEqual([
      { kind: 'destination', invert: false, prefix: { addr: 0x01020304, len: 32 } },
      { kind: 'protocol', invert: false, proto: 6 },
      { kind: 'tcp', dport: { invert: true, min: 80, max: 90 } },
    ]);
    expect(c.cmd === 'A' && c.rule.target).toEqual({
      kind: 'DNAT',
      range: { addr: { min: 0x0a000002, max: 0x0a000005 }, ports: { min: 8080, max: 8090 } },
      random: true,
      persistent: false,
    });
    expect(c.cmd === 'A' && c.rule.origin).toEqual(at(7, 'iptables -t nat -A PREROUTING -d 1.2.3.4 -p tcp -m tcp ! --dport 80:90 -j DNAT --to-destination 10.0.0.2-10.0.0.5:8080-8090 --random'));
    const m = parse('-t mangle -A PREROUTING -j MARK --and-mark 0xff');
    expect(m.cmd === 'A' && m.rule.target).toEqual({ kind: 'MARK', value: 0, mask: 0xffffff00 });
    const st = parse('-A INPUT -m statistic --mode random --probability 0.1 -j ACCEPT');
    expect(st.cmd === 'A' && st.rule.matches[0]).toEqual({ kind: 'statistic', mode: 'random', invert: false, probability: 214748365 });
  });
  it('prints the statistic probability like printf %.11f, ties to even', async () => {
    const { formatProbability, formatRate } = await import('../../src/netfilter/format.js');
    expect(formatProbability(214748365)).toBe('0.10000000009'); // verified: --probability 0.1
    expect(formatProbability(2 ** 19)).toBe('0.00024414062'); // exactly ...625: glibc rounds to even
    expect(formatRate(10000)).toBe('1/sec'); // verified: --limit 60/min prints 1/sec
    expect(formatRate(Math.floor(36000000 / 7))).toBe('7/hour');
  });
});

describe('property: any argv either parses or is a ConfigError', () => {
  const real = [
    '-A', '-I', '-D', '-R', '-P', '-N', '-X', '-F', '-Z', '-L', '-S', '-t', 'nat', 'filter', 'raw', 'mangle', 'INPUT',
    'FORWARD', 'PREROUTING', 'POSTROUTING', 'OUTPUT', '1', '2', '0', '!', '-s', '-d', '-i', '-o', '-p', 'tcp', 'udp',
    'icmp', 'all', '--dport', '--sport', '80', '1:2', '-m', 'multiport', '--dports', '80,443', 'conntrack', '--ctstate',
    'NEW,ESTABLISHED', 'state', '--state', 'mark', '--mark', '0x1/0xff', 'comment', '--comment', 'a b', 'addrtype',
    '--dst-type', 'LOCAL', 'iprange', '--src-range', '1.1.1.1-2.2.2.2', 'statistic', '--mode', 'random', 'nth',
    '--probability', '0.5', '--every', '--packet', 'limit', '--limit', '5/min', 'physdev', '--physdev-in', 'eth0',
    '--icmp-type', 'echo-request', '--tcp-flags', 'SYN,ACK', 'SYN', '--syn', '-j', '-g', 'ACCEPT', 'DROP', 'REJECT',
    '--reject-with', 'tcp-reset', 'LOG', '--log-prefix', 'DNAT', '--to-destination', '10.0.0.1:80', 'SNAT',
    '--to-source', 'MASQUERADE', '--to-ports', '1000-2000', 'REDIRECT', 'MARK', '--set-mark', 'CONNMARK',
    '--save-mark', 'NOTRACK', 'CT', '--notrack', '10.0.0.0/8', '-w', '-n', '-v', '--to', '-f', '--random',
  ];
  const junk = fc.string({ maxLength: 6 });
  it('never throws anything else', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.constantFrom(...real), junk), { maxLength: 14 }), (argv) => {
        try {
          parseIptablesArgs(argv, at(1));
        } catch (e) {
          if (!(e instanceof ConfigError)) throw e;
        }
      }),
      { numRuns: 3000 },
    );
  });
});
