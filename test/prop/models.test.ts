/**
 * The prop-* models: each hides a mistake that its probes miss and one invariant finds. For each,
 * the probes pass, `prop` finds the counterexample (the exact flow, with a fixed seed), and the
 * fixed runbook makes the invariant hold, so the property is neither vacuous nor always false.
 */
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkModel } from '../../src/cli/check.js';
import { parseModel } from '../../src/plan/model.js';
import { buildWorld, displayNs } from '../../src/world/build.js';
import { parseInvariants, resolveInvariants } from '../../src/prop/invariants.js';
import { checkInvariant, type InvariantResult } from '../../src/prop/check.js';
import { formatIpv4 } from '../../src/wire/ipv4.js';
import { ROOT } from '../helpers.js';

const SEED = 1;

/** Checks every invariant of a model given as text (file: where relative paths resolve). */
function prop(text: string, file: string): InvariantResult[] {
  const built = buildWorld(parseModel(text, file));
  return resolveInvariants(built, parseInvariants(text, file)).map((inv) => checkInvariant(built.world, inv, { seed: SEED }));
}

function model(name: string): { text: string; file: string } {
  const file = join(ROOT, 'models', name);
  return { text: readFileSync(file, 'utf8'), file };
}

/** Replaces text that must be there (so a changed model fails loudly instead of testing nothing). */
function edit(text: string, from: string, to: string): string {
  expect(text).toContain(from);
  return text.split(from).join(to);
}

/** The counterexample as `proto from -> to[:port]`, and what the client saw. */
function found(r: InvariantResult | undefined): string {
  expect(r?.holds).toBe(false);
  const c = r!.counterexample!;
  const w = r!.invariant.form.kind === 'equivalent' ? r!.invariant.form.a : undefined;
  const from = w ? displayNs(w, c.flow.from) : c.flow.from;
  return `${c.flow.proto} ${from} -> ${formatIpv4(c.flow.to)}${c.flow.port !== undefined ? `:${c.flow.port}` : ''} ${c.violation.trace.result}`;
}

function probesPass(name: string): void {
  const { reports } = checkModel(join(ROOT, 'models', name));
  expect(reports.length).toBeGreaterThan(0);
  expect(reports.filter((r) => !r.ok).map((r) => r.name)).toEqual([]);
}

describe('prop-seed: the seed with a false isolate', () => {
  const m = model('prop-seed.yaml');
  it('finds web1 -> ngx1:80 and nothing else fails', () => {
    const rs = prop(m.text, m.file);
    expect(found(rs[0])).toBe('tcp web1 -> 192.168.2.10:80 reachable');
    expect(rs.slice(1).map((r) => [r.invariant.name, r.holds])).toEqual(rs.slice(1).map((r) => [r.invariant.name, true]));
  });
  it('below port 80 nothing connects; strict, the RSTs show the packets get through', () => {
    const below = edit(m.text, 'ports: 1-1024 }', 'ports: 1-79 }');
    expect(prop(below, m.file)[0]!.holds).toBe(true);
    const strict = edit(m.text, 'ports: 1-1024 }', 'ports: 1-79, strict: true }');
    expect(found(prop(strict, m.file)[0])).toMatch(/^tcp web1 -> 192\.168\.2\.\d+:\d+ (refused|no-route)$/);
  });
});

describe('prop-reject-shadowed: a REJECT after the ACCEPT that catches its packets', () => {
  const m = model('prop-reject-shadowed.yaml');
  it('the probes pass', () => probesPass('prop-reject-shadowed.yaml'));
  it('isolate finds web1 -> app1:5432', () => {
    expect(found(prop(m.text, m.file)[0])).toBe('tcp web1 -> 192.168.2.10:5432 reachable');
  });
  it('with the REJECT first it holds, and web3 still reaches the database', () => {
    const reject = '      $ iptables -A FORWARD -s 172.31.0.3 -d 192.168.2.10 -p tcp --dport 5432 -j REJECT --reject-with tcp-reset\n';
    const fixed = edit(edit(m.text, reject, ''), '      $ iptables -A FORWARD -d 192.168.2.10 -p tcp -m multiport', reject + '      $ iptables -A FORWARD -d 192.168.2.10 -p tcp -m multiport');
    expect(prop(fixed, m.file).map((r) => r.holds)).toEqual([true, true]);
  });
});

describe('prop-masquerade-wrong-iface: MASQUERADE limited to the first container', () => {
  const m = model('prop-masquerade-wrong-iface.yaml');
  it('the probe passes', () => probesPass('prop-masquerade-wrong-iface.yaml'));
  it('return finds a request that reaches db1 and is never answered', () => {
    const r = prop(m.text, m.file)[0]!;
    expect(found(r)).toMatch(/^(tcp|udp|icmp) web1 -> 192\.168\.3\.10(:\d+)? timeout$/);
    expect(displayNs(buildWorld(parseModel(m.text, m.file)).world, r.counterexample!.violation.trace.delivered!.ns)).toBe('db1');
  });
  it('with -o veth+ it holds', () => {
    expect(prop(edit(m.text, '-o veth1-p -j MASQUERADE', '-o veth+ -j MASQUERADE'), m.file)[0]!.holds).toBe(true);
  });
});

describe('prop-dnat-asymmetric: DNAT replies that bypass the NAT box', () => {
  const m = model('prop-dnat-asymmetric.yaml');
  it('the probe passes', () => probesPass('prop-dnat-asymmetric.yaml'));
  it('nat-reversible finds web1 -> gw:8080, answered from 10.0.1.10:80', () => {
    const r = prop(m.text, m.file)[0];
    // either of gw's addresses: both are DNAT'd (--dst-type LOCAL)
    expect(found(r)).toMatch(/^tcp web1 -> (172\.31\.0\.2|10\.0\.2\.1):8080 timeout$/);
    expect(r!.counterexample!.violation.violation).toContain('arrived as tcp 10.0.1.10:80 > 172.31.0.3');
  });
  it('masquerading the forwarded connections brings the replies back through gw', () => {
    const fixed = edit(m.text, '--to-destination 10.0.1.10:80\n', '--to-destination 10.0.1.10:80\n      $ iptables -t nat -A POSTROUTING -o eth1 -d 10.0.1.10 -p tcp --dport 80 -j MASQUERADE\n');
    expect(prop(fixed, m.file)[0]!.holds).toBe(true);
  });
});

describe('prop-refactor-one-port: a refactored chain that lets tcp/444 through', () => {
  const m = model('prop-refactor-one-port.yaml');
  it('the probes pass before and after the refactor', () => {
    probesPass('prop-refactor-one-port.yaml');
    probesPass('prop-refactor-one-port-after.yaml');
  });
  it('equivalent finds tcp/444; the strict isolate holds on the old rules', () => {
    const rs = prop(m.text, m.file);
    expect(found(rs[0])).toBe('tcp web1 -> 192.168.2.10:444 refused');
    expect(rs[0]!.counterexample!.violation.other?.result).toBe('timeout');
    expect(rs[1]!.holds).toBe(true);
  });
  it('the strict isolate finds tcp/444 after the refactor', () => {
    const after = model('prop-refactor-one-port-after.yaml');
    expect(found(prop(after.text, after.file)[0])).toBe('tcp web1 -> 192.168.2.10:444 refused');
  });
  it('with the range fixed the two rule sets are equivalent', () => {
    const dir = mkdtempSync(join(tmpdir(), 'netpath-prop-'));
    const rules = readFileSync(join(ROOT, 'models/prop-refactor-web2.rules'), 'utf8');
    writeFileSync(join(dir, 'prop-refactor-web2.rules'), edit(rules, '--dport 445:65535', '--dport 444:65535'));
    const file = join(dir, basename(m.file));
    copyFileSync(m.file, file);
    expect(prop(m.text, file)[0]!.holds).toBe(true);
  });
});
