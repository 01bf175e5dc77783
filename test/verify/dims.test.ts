/**
 * Input interface and TCP flags as dimensions of `rules matrix` and `rules diff`: hand-written
 * dumps whose rows differ by interface and by flags, conntrack's first-packet classification
 * against the kernel's tables, and the CLI's rows, columns and witnesses.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { KERNEL } from '../../src/model/origin.js';
import { parseIptablesRestore } from '../../src/netfilter/restore.js';
import { applyRestore, emptyNfState } from '../../src/netfilter/tables.js';
import { tcpStartsConnection, traceRules } from '../../src/netfilter/trace.js';
import type { NfState } from '../../src/netfilter/types.js';
import { flagNames, flagsText, ifaceClasses, ifaceClassOf, ifaceText, parseFlagNames } from '../../src/verify/dims.js';
import { outcomeKey, serviceMatrix, type Matrix, type MatrixRow } from '../../src/verify/matrix.js';
import { rulesDiff } from '../../src/verify/rulesdiff.js';
import { inIntervals } from '../../src/verify/space.js';
import { parseIpv4 } from '../../src/wire/ipv4.js';

const HOST = parseIpv4('10.0.0.1')!;
const FAR = parseIpv4('198.51.100.7')!;

function dump(filter: string[], nat: string[] = []): string {
  return [
    '*nat',
    ':PREROUTING ACCEPT [0:0]',
    ':INPUT ACCEPT [0:0]',
    ':OUTPUT ACCEPT [0:0]',
    ':POSTROUTING ACCEPT [0:0]',
    ...nat,
    'COMMIT',
    '*filter',
    ':INPUT ACCEPT [0:0]',
    ':FORWARD ACCEPT [0:0]',
    ':OUTPUT ACCEPT [0:0]',
    ...filter,
    'COMMIT',
    '',
  ].join('\n');
}

function load(text: string): NfState {
  return applyRestore(emptyNfState(), parseIptablesRestore(text, 'test.save'), false, { ...KERNEL, file: 'test.save' });
}

/** the rows holding a local-destination packet from FAR to HOST:port */
function rowsTo(m: Matrix, proto: 'tcp' | 'udp', port: number): MatrixRow[] {
  return m.rows.filter((r) => r.proto === proto && r.dst.some((p) => p.addr === HOST && p.len === 32) && inIntervals(port, r.dport!));
}

const result = (r: MatrixRow): string => outcomeKey(r.outcomes);

describe('conntrack: which TCP flag combinations open a connection', () => {
  it('tcpStartsConnection follows tcp_valid_flags and tcp_conntracks[ORIGINAL][index][sNO]', () => {
    // nf_conntrack_proto_tcp.c: tcp_error refuses combinations not in tcp_valid_flags (PSH, ECE, CWR masked off);
    // tcp_new takes the ORIGINAL row's sNO column: syn -> sSS, ack -> sES (nf_conntrack_tcp_loose=1), the rest sIV
    const FIN = 1, SYN = 2, RST = 4, PSH = 8, ACK = 16, URG = 32;
    const valid = [SYN, SYN | URG, SYN | ACK, RST, RST | ACK, FIN | ACK, FIN | ACK | URG, ACK, ACK | URG];
    const index = (f: number): string => ((f & RST) !== 0 ? 'rst' : (f & SYN) !== 0 ? ((f & ACK) !== 0 ? 'synack' : 'syn') : (f & FIN) !== 0 ? 'fin' : (f & ACK) !== 0 ? 'ack' : 'none');
    const fromNone: Record<string, boolean> = { syn: true, synack: false, fin: false, ack: true, rst: false, none: false };
    for (let f = 0; f < 64; f++) {
      const kernel = valid.includes(f & ~PSH) && fromNone[index(f)]!;
      expect([flagNames(f), tcpStartsConnection(f)]).toEqual([flagNames(f), kernel]);
    }
  });

  it('an INVALID first packet is not NATed and matches --ctstate INVALID', () => {
    const nf = load(dump(['-A FORWARD -m conntrack --ctstate INVALID -j DROP'], ['-A PREROUTING -d 10.0.0.1/32 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 10.1.0.2:80']));
    const walk = (tcpFlags: number): string => outcomeKey(traceRules(nf, { src: FAR, sport: 40000, dst: HOST, dport: 8080, proto: 'tcp', tcpFlags, local: [HOST] }));
    expect(walk(parseFlagNames('SYN')!)).toBe('ACCEPT forward dnat 10.1.0.2:80');
    expect(walk(parseFlagNames('ACK,PSH')!)).toBe('ACCEPT forward dnat 10.1.0.2:80');
    expect(walk(parseFlagNames('FIN,ACK')!)).toBe('ACCEPT local');
    expect(walk(parseFlagNames('SYN,FIN')!)).toBe('ACCEPT local');
    expect(walk(parseFlagNames('NONE')!)).toBe('ACCEPT local');
  });
});

describe('input interface classes', () => {
  it('exact names, prefixes and every other name', () => {
    const c = ifaceClasses(['veth0', 'veth+', 'eth0', '+', 'veth', 'br-+']);
    expect(c.labels).toEqual(['br-+', 'eth0', 'veth', 'veth+', 'veth0', '*']);
    // a prefix that is also an exact name is represented by a longer name
    expect(c.reps).toEqual(['br-', 'eth0', 'veth', 'vetha', 'veth0', undefined]);
    const of = (n: string | undefined): string => c.labels[ifaceClassOf(c, n)]!;
    expect([of('veth0'), of('veth7'), of('veth'), of('eth0'), of('eth1'), of('br-abc'), of(undefined)]).toEqual(['veth0', 'veth+', 'veth', 'eth0', '*', 'br-+', '*']);
    // every representative is in its own class
    c.reps.forEach((r, i) => expect(ifaceClassOf(c, r)).toBe(i));
    expect(ifaceText(c, [{ lo: 0, hi: 5 }])).toBe('any');
    expect(ifaceText(c, [{ lo: 1, hi: 1 }])).toBe('eth0');
    expect(ifaceText(c, [{ lo: 0, hi: 0 }, { lo: 2, hi: 5 }])).toBe('! eth0');
  });

  it('-i eth0 -j DROP: eth0 and every other interface get different rows', () => {
    const nf = load(dump(['-A INPUT -i eth0 -p tcp -m tcp --dport 22 -j DROP']));
    const m = serviceMatrix({ nf, local: [HOST], protos: ['tcp'] });
    expect(m.interfaces.labels).toEqual(['eth0', '*']);
    const rows = rowsTo(m, 'tcp', 22);
    expect(rows.map((r) => [ifaceText(m.interfaces, r.iif), result(r)]).sort()).toEqual([
      ['! eth0', 'ACCEPT local'],
      ['eth0', 'DROP dropped'],
    ]);
    // a port no rule names: one row, valid for every interface
    expect(rowsTo(m, 'tcp', 80).map((r) => [ifaceText(m.interfaces, r.iif), result(r)])).toEqual([['any', 'ACCEPT local']]);
    // the witnesses walk on an interface of their row
    for (const r of m.rows) expect(inIntervals(ifaceClassOf(m.interfaces, r.witness.iif), r.iif)).toBe(true);
    // --iif keeps meaning "only this interface"
    const only = (iif: string): string[] => rowsTo(serviceMatrix({ nf, local: [HOST], protos: ['tcp'], iif }), 'tcp', 22).map(result);
    expect(only('eth0')).toEqual(['DROP dropped']);
    expect(only('eth1')).toEqual(['ACCEPT local']);
  });

  it('prefixes: -i veth0 ACCEPT before -i veth+ DROP', () => {
    const nf = load(dump(['-A INPUT -i veth0 -j ACCEPT', '-A INPUT -i veth+ -j DROP']));
    const m = serviceMatrix({ nf, local: [HOST], protos: ['udp'] });
    expect(m.interfaces.labels).toEqual(['veth+', 'veth0', '*']);
    expect(rowsTo(m, 'udp', 53).map((r) => [ifaceText(m.interfaces, r.iif), result(r)]).sort()).toEqual([
      ['! veth+', 'ACCEPT local'],
      ['veth+', 'DROP dropped'],
    ]);
  });
});

describe('TCP flags as a dimension (--flags all)', () => {
  const nf = load(
    dump(
      ['-A INPUT -p tcp -m conntrack --ctstate INVALID -j REJECT --reject-with tcp-reset', '-A INPUT -p tcp -m tcp ! --syn -j DROP', '-A INPUT -p tcp -m tcp --tcp-flags SYN,URG SYN,URG -j DROP'],
      ['-A PREROUTING -d 10.0.0.1/32 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 10.0.0.1:80'],
    ),
  );

  it('default: a SYN only, the rows of before', () => {
    const m = serviceMatrix({ nf, local: [HOST], protos: ['tcp'] });
    const rows = rowsTo(m, 'tcp', 22);
    expect(rows.map((r) => [flagsText(r.flags!), result(r)])).toEqual([['SYN', 'ACCEPT local']]);
  });

  it('all: INVALID, NEW without SYN, SYN with URG and a plain SYN are four rows', () => {
    const m = serviceMatrix({ nf, local: [HOST], protos: ['tcp'], flags: 'all' });
    const rows = rowsTo(m, 'tcp', 22);
    const byResult = new Map(rows.map((r) => [result(r), r]));
    expect([...byResult.keys()].sort()).toEqual(['ACCEPT local', 'DROP dropped', 'REJECT(tcp-reset) dropped']);
    const has = (res: string, f: string): boolean => inIntervals(parseFlagNames(f)!, byResult.get(res)!.flags!);
    expect(has('ACCEPT local', 'SYN')).toBe(true);
    expect(has('ACCEPT local', 'SYN,PSH')).toBe(true);
    expect(has('DROP dropped', 'SYN,URG')).toBe(true);
    expect(has('DROP dropped', 'ACK')).toBe(true);
    expect(has('DROP dropped', 'ACK,PSH,URG')).toBe(true);
    for (const f of ['NONE', 'FIN', 'SYN,FIN', 'SYN,ACK', 'RST', 'FIN,ACK', 'FIN,SYN,RST,PSH,ACK,URG']) expect([f, has('REJECT(tcp-reset) dropped', f)]).toEqual([f, true]);
    expect(flagsText(byResult.get('ACCEPT local')!.flags!)).toBe('FIN,SYN,RST,ACK,URG/SYN');
    // the DNAT port: NEW packets are translated, INVALID ones are not
    const nat = rowsTo(m, 'tcp', 8080);
    const invalid = nat.find((r) => inIntervals(parseFlagNames('FIN')!, r.flags!))!;
    expect(result(invalid)).toBe('REJECT(tcp-reset) dropped');
    const ack = nat.find((r) => inIntervals(parseFlagNames('ACK')!, r.flags!))!;
    expect(result(ack)).toBe('DROP dropped dnat 10.0.0.1:80');
    // every class was walked: the flags of the rows of one box cover the 64 combinations once
    const all = rows.flatMap((r) => r.flags!.flatMap((x) => Array.from({ length: x.hi - x.lo + 1 }, (_, k) => x.lo + k))).sort((a, b) => a - b);
    expect(all).toEqual(Array.from({ length: 64 }, (_, k) => k));
  });

  it('flag sets print as the fewest --tcp-flags tests', () => {
    const one = (f: string): { lo: number; hi: number }[] => [{ lo: parseFlagNames(f)!, hi: parseFlagNames(f)! }];
    expect(flagsText(one('SYN'))).toBe('SYN');
    expect(flagsText(one('NONE'))).toBe('NONE');
    expect(flagsText([{ lo: 0, hi: 63 }])).toBe('any');
    // every combination but SYN
    expect(flagsText([{ lo: 0, hi: 1 }, { lo: 3, hi: 63 }])).toBe('not SYN');
    expect(parseFlagNames('syn,bogus')).toBeUndefined();
  });
});

describe('rules diff over interfaces and flags', () => {
  it('a DROP on eth1 changes the eth1 rows only', () => {
    const before = load(dump([]));
    const after = load(dump(['-A INPUT -i eth1 -p tcp -m tcp --dport 22 -j DROP']));
    const d = rulesDiff({ before, after, local: [HOST], protos: ['tcp'] });
    expect(d.changes.length).toBeGreaterThan(0);
    for (const c of d.changes) {
      expect(ifaceText(d.interfaces, c.iif)).toBe('eth1');
      expect([outcomeKey(c.before), outcomeKey(c.after)]).toEqual(['ACCEPT local', 'DROP dropped']);
    }
  });

  it('! --syn DROP changes the non-SYN rows only (--flags all); with the default, nothing', () => {
    const before = load(dump([]));
    const after = load(dump(['-A INPUT -p tcp -m tcp ! --syn -j DROP']));
    expect(rulesDiff({ before, after, local: [HOST], protos: ['tcp'] }).changes).toEqual([]);
    const d = rulesDiff({ before, after, local: [HOST], protos: ['tcp'], flags: 'all' });
    expect(d.changes.length).toBeGreaterThan(0);
    for (const c of d.changes) {
      expect(inIntervals(parseFlagNames('SYN')!, c.flags!)).toBe(false);
      expect(outcomeKey(c.after)).toBe('DROP dropped');
    }
  });
});

describe('CLI', () => {
  const dir = mkdtempSync(join(tmpdir(), 'np-dims-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
    let out = '';
    let err = '';
    const code = await main(args, { out: (s) => void (out += s), err: (s) => void (err += s) });
    return { code, out, err };
  }

  it('rows carry iif and flags; each witness command gives its row', async () => {
    const f = join(dir, 'a.save');
    writeFileSync(f, dump(['-A INPUT -i eth0 -p tcp -m tcp --dport 22 -j DROP', '-A INPUT -p tcp -m tcp ! --syn -j DROP']));
    const r = await run(['rules', 'matrix', f, '--proto', 'tcp', '--dport', '22', '--local', '10.0.0.1', '--flags', 'all', '--json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out) as { interfaces: string[]; rows: { iif: string; flags: string; result: string; witness: { command: string } }[] };
    expect(j.interfaces).toEqual(['eth0', '*']);
    expect(j.rows.some((x) => x.iif === 'eth0' && x.result === 'DROP dropped')).toBe(true);
    expect(j.rows.some((x) => x.iif === '! eth0' && x.flags === 'FIN,SYN,RST,ACK/SYN' && x.result === 'ACCEPT local')).toBe(true);
    for (const row of j.rows) {
      const args = row.witness.command.split(' ').slice(1);
      const t = await run([...args, '--json']);
      expect(t.code).toBe(0);
      const os = (JSON.parse(t.out) as { outcomes: Parameters<typeof outcomeKey>[0] }).outcomes;
      expect(outcomeKey(os)).toBe(row.result);
    }
    const text = await run(['rules', 'matrix', f, '--proto', 'tcp', '--dport', '22', '--local', '10.0.0.1', '--flags', 'all']);
    expect(text.out.split('\n')[0]).toMatch(/^src +dst +proto +dport +sport +iif +flags +result$/);
  });

  it('bad --flags: exit 2', async () => {
    const f = join(dir, 'b.save');
    writeFileSync(f, dump([]));
    expect((await run(['rules', 'matrix', f, '--flags', 'some'])).code).toBe(2);
    expect((await run(['rules', 'trace', f, '--src', '1.2.3.4:5', '--dst', '10.0.0.1:22', '--flags', 'SYN,XMAS'])).code).toBe(2);
    expect((await run(['rules', 'trace', f, '--src', '1.2.3.4', '--dst', '10.0.0.1', '--proto', 'icmp', '--flags', 'SYN'])).code).toBe(2);
  });
});
