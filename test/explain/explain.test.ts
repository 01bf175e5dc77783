/**
 * The why read from the typed trace, and fixes proven by simulation. The six case models
 * (models/explain-*.yaml) were replayed on Linux 6.18 as written and as fixed (their headers);
 * test/explain/kernel-fixes.test.ts replays every first fix on the kernel.
 */
import { readdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { appendRunbookLine, appendService, fixModel } from '../../src/explain/apply.js';
import { explainRun, MAX_SIMULATIONS, modelRuns, resultOf, runbookLineFor, wantedOf, withLine, type Explanation } from '../../src/explain/search.js';
import { ConfigError } from '../../src/model/errors.js';
import { nodeIo, parseModel } from '../../src/plan/model.js';
import { simulate } from '../../src/engine/probe.js';
import { buildWorld } from '../../src/world/build.js';
import { model } from '../helpers.js';

function explained(path: string, probe: string): Explanation {
  const built = model(path);
  const runs = modelRuns(built);
  const i = runs.findIndex((r) => r.name === probe);
  expect(i, `no probe "${probe}"`).toBeGreaterThanOrEqual(0);
  const ex = explainRun(built, built.world, runs, i);
  expect(ex).toBeDefined();
  return ex!;
}

const tmp = mkdtempSync(join(tmpdir(), 'netpath-explain-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, { out: (s) => out.push(s), err: (s) => err.push(s) });
  return { code, out: out.join(''), err: err.join('') };
}

describe('the six cases', () => {
  it('forwarding router without a route for the request: InNoRoutes in r1, the route goes via r2, never back to the client', () => {
    const ex = explained('models/explain-forward-no-route.yaml', 'c1 curl s1 (r1 has no route to 10.3.0.0/24)');
    expect(ex.why).toMatchObject({ packet: 'request', ns: 'r1', dev: 'eth0', stage: 'routing', counter: 'InNoRoutes', code: 'no-route' });
    expect(ex.why.origin).toBeUndefined();
    expect(ex.why.text).toContain('ICMP net unreachable');
    expect(ex.why.text).toContain('ENETUNREACH');
    expect(ex.fixes[0]).toMatchObject({ host: 'r1', command: 'ip route add 10.3.0.10 via 10.2.0.2' });
    // never via the client (a loop) nor via r1's own addresses (a martian)
    for (const f of ex.fixes) expect(f.command).not.toMatch(/via 10\.1\.0\.2|via 10\.1\.0\.1|via 10\.2\.0\.1/);
  });

  it('reply dropped by a forwarding router: InNoRoutes in r2, not OutNoRoutes in the server', () => {
    const ex = explained('models/explain-reply-forward-no-route.yaml', 'c1 curl s1 (reply dies in r2)');
    expect(ex.why).toMatchObject({ packet: 'reply', ns: 'r2', stage: 'routing', counter: 'InNoRoutes', dir: 'reply' });
    expect(ex.why.text).toContain('The request reached s1');
    expect(ex.why.text).toContain('r2 sends ICMP net unreachable to 10.2.0.10');
    expect(ex.why.text).not.toContain('OutNoRoutes');
    // first the router, then the server's own route back the way the request came, then NAT on the entry hop
    expect(ex.fixes.map((f) => `${f.host}: ${f.command}`)).toEqual([
      'r2: ip route add 10.1.0.2 via 10.2.0.1',
      's1: ip route add 10.1.0.2 via 10.2.0.1',
      'r1: iptables -t nat -A POSTROUTING -s 10.1.0.2 -o eth1 -j MASQUERADE',
    ]);
  });

  it('asymmetric DNAT: the untranslated reply is the cause, the client RST is not blamed and no service is proposed', () => {
    const ex = explained('models/explain-dnat-asymmetric.yaml', 'web1 curl gw:8080 (reply not NATed back)');
    expect(ex.why).toMatchObject({ packet: 'reply', ns: 'web1', dev: 'eth0', stage: 'socket' });
    expect(ex.why.text).toContain('gw rewrote the request (dst 172.31.0.2:8080 -> 10.0.1.10:80)');
    expect(ex.why.text).toContain('it left srv on eth1');
    expect(ex.why.text).not.toMatch(/start a service|nothing listens/);
    expect(ex.fixes.map((f) => f.host)).toEqual(['srv', 'gw']);
    expect(ex.fixes[0]!.command).toBe('ip route add 172.31.0.3 via 10.0.1.1');
    expect(ex.fixes.some((f) => f.section === 'services')).toBe(false);
  });

  it('REJECT in OUTPUT: the why says EPERM where the client gets it', () => {
    const udp = explained('models/explain-output-reject.yaml', 'h1 udp h2 (EPERM)');
    expect(udp.why).toMatchObject({ packet: 'request', ns: 'h1', stage: 'output', code: 'nf-reject' });
    expect(udp.why.text).toContain('EPERM');
    expect(udp.why.origin?.line).toBe(11);
    expect(udp.fixes[0]!.command).toBe('iptables -t filter -I OUTPUT 1 -p udp -s 10.0.0.1 -d 10.0.0.2 --dport 53 -j ACCEPT');
    expect(explained('models/explain-output-reject.yaml', 'h1 ping h2 (EPERM)').why.text).toContain('The client gets EPERM');
    expect(explained('models/explain-output-reject.yaml', 'h1 curl h2 (refused by its own REJECT)').why.text).toContain('The client gets ECONNREFUSED');
  });

  it('nested chains: the rule that decided and its own line, the calls that led there, the fix in that chain', () => {
    const ex = explained('models/explain-nested-chain.yaml', 'c1 curl s1:8080 (dropped in PORTS)');
    expect(ex.why.origin).toMatchObject({ line: 18, text: 'iptables -A PORTS -p tcp --dport 8080 -j DROP' });
    expect(ex.why.text).toContain('dropped by filter PORTS rule 2');
    expect(ex.why.text).toContain('reached from FORWARD rule 1 (-j CHECK), then CHECK rule 2 (-j PORTS)');
    expect(ex.fixes[0]!.command).toBe('iptables -t filter -I PORTS 2 -p tcp -s 10.1.0.2 -d 10.2.0.10 --dport 8080 -j ACCEPT');
    expect(ex.fixes[0]!.verified.otherProbesChanged).toEqual([]);
  });

  it('the table of the rule (-t mangle) and the port after DNAT', () => {
    const dnat = explained('models/explain-mangle-dnat.yaml', 'web1 curl web2:8080 (DNAT to ngx1:80, FORWARD policy)');
    expect(dnat.fixes[0]!.command).toBe('iptables -t filter -A FORWARD -p tcp -s 172.31.0.3 -d 192.168.2.10 --dport 80 -j ACCEPT');
    expect(dnat.why.text).toContain('dst 172.31.0.2:8080 -> 192.168.2.10:80');
    const mangle = explained('models/explain-mangle-dnat.yaml', 'web1 curl web2:8081 (mangle PREROUTING drop)');
    expect(mangle.fixes[0]!.command).toBe('iptables -t mangle -I PREROUTING 1 -p tcp -s 172.31.0.3 -d 172.31.0.2 --dport 8081 -j ACCEPT');
    expect(mangle.why).toMatchObject({ stage: 'prerouting', ns: 'web2' });
  });
});

describe('proven fixes', () => {
  it('seed without SNAT: the route in ngx1 back via web2 first, then MASQUERADE, then a default route', () => {
    const ex = explained('models/seed-no-snat.yaml', 'web1 curl ngx1');
    expect(ex.why).toMatchObject({ packet: 'reply', ns: 'web2/ngx1', stage: 'output', counter: 'OutNoRoutes' });
    expect(ex.fixes.map((f) => f.command)).toEqual([
      'ip netns exec ngx1 ip route add 172.31.0.3 via 192.168.2.20',
      'iptables -t nat -A POSTROUTING -s 172.31.0.3 -o veth1-p -j MASQUERADE',
      'ip netns exec ngx1 ip route add default via 192.168.2.20',
    ]);
  });

  it('says "no single change found" when nothing is proven', async () => {
    // an ACCEPT before the rule lets the SYN through, but nothing listens on 22: refused, not reachable
    const ex = explained('models/prop-reject-shadowed.yaml', 'web1 ssh app1 (filtered)');
    expect(ex.fixes).toEqual([]);
    expect(ex.candidatesTried).toBeGreaterThan(0);
    expect((await cli(['check', 'models/prop-reject-shadowed.yaml'])).out).toMatch(/fix: no single change found \(\d+ candidates? simulated: none gives reachable/);
    // a next hop nobody owns: nothing to try
    expect(explained('models/gateway-missing.yaml', 'web1 tcp 10.9.0.1 (web2 gw missing)').candidatesTried).toBe(0);
    expect((await cli(['check', 'models/gateway-missing.yaml'])).out).toContain('fix: no single change found (no candidate change');
  });

  it('a candidate the runbook parser refuses is never printed', () => {
    const built = model('models/seed-no-snat.yaml');
    expect(() => withLine(built, built.world, 'web2', 'ip route add 172.31.0.3 via 2887712770')).toThrow(ConfigError);
  });

  // every bundled model, every probe that misses: each printed fix, written into the model file and
  // built again from the text, gives the result it promised; and no explanation spends more than
  // MAX_SIMULATIONS runs of its probe
  const MODELS = readdirSync('models').filter((f) => f.endsWith('.yaml')).sort();
  it.each(MODELS)('%s: every fix holds when the model file is rebuilt with it', (f) => {
    const path = join('models', f);
    const built = model(path);
    const runs = modelRuns(built);
    const text = nodeIo.readFile(path);
    for (const [i, run] of runs.entries()) {
      if (wantedOf(run) === undefined) continue;
      const ex = explainRun(built, built.world, runs, i)!;
      expect(ex.simulations).toBeLessThanOrEqual(MAX_SIMULATIONS);
      expect(ex.fixes.length).toBeLessThanOrEqual(3);
      for (const fix of ex.fixes) {
        const edited = fix.section === 'services' ? appendService(text, fix.service!.at, `${fix.service!.proto}/${fix.service!.port}`) : appendRunbookLine(text, path, fix.host, runbookLineFor(built, fix.host, fix.command));
        const again = buildWorld(parseModel(edited, path));
        const after = simulate(again.world, run.flow);
        expect(after.every((t) => t.result === fix.verified.result), `${run.name}: ${fix.command}`).toBe(true);
        for (const c of fix.verified.otherProbesChanged) {
          const o = runs.find((r) => r.name === c.probe)!;
          expect(resultOf(simulate(again.world, o.flow))).toBe(c.after);
        }
      }
    }
  });
});

describe('JSON and the fix command', () => {
  it('check --json: why {text, packet, ns, dev?, stage, counter?, origin?}, fixes [{host, command, note?, verified}]', async () => {
    const r = await cli(['check', 'models/explain-nested-chain.yaml', '--json']);
    expect(r.code).toBe(0);
    const p = (JSON.parse(r.out) as { probes: Record<string, unknown>[] }).probes[1]!;
    expect(Object.keys(p)).toEqual(expect.arrayContaining(['name', 'from', 'to', 'proto', 'expect', 'result', 'ok', 'why', 'fixes']));
    expect(p['why']).toMatchObject({ packet: 'request', ns: 'r1', dev: 'eth0', stage: 'forward', origin: { line: 18 } });
    expect((p['fixes'] as unknown[])[0]).toMatchObject({ host: 'r1', verified: { result: 'reachable', otherProbesChanged: [] } });
  });

  it('trace --json: the why keeps summary, code, dir and gains text, packet, counter; the outcome gains fixes', async () => {
    const r = await cli(['trace', 'models/seed-no-snat.yaml', '--from', 'web1', '--to', '192.168.2.10:80', '--json']);
    const o = (JSON.parse(r.out) as { outcomes: Record<string, unknown>[] }).outcomes[0]!;
    expect(o['why']).toMatchObject({ code: 'no-route', dir: 'reply', packet: 'reply', stage: 'output', counter: 'OutNoRoutes', ns: 'ngx1' });
    expect((o['why'] as { summary: string; text: string }).summary).toBe((o['why'] as { text: string }).text);
    expect((o['fixes'] as { command: string }[])[0]!.command).toBe('ip netns exec ngx1 ip route add 172.31.0.3 via 192.168.2.20');
  });

  it('netpath fix -o FILE: the model with each first fix appended, the rest of the YAML as written', async () => {
    const out = join(tmp, 'fixed.yaml');
    const r = await cli(['fix', 'models/user-chain-return.yaml', '-o', out]);
    expect(r.code).toBe(0);
    const before = readFileSync('models/user-chain-return.yaml', 'utf8').split('\n');
    const after = readFileSync(out, 'utf8').split('\n');
    expect(after.filter((l) => !before.includes(l))).toEqual([
      '      $ iptables -t filter -I INPUT 2 -p tcp -s 172.31.0.3 -d 172.31.0.2 --dport 80 -j ACCEPT',
      '      $ iptables -t filter -I CHECK 2 -p tcp -s 172.31.0.3 -d 172.31.0.2 --dport 81 -j ACCEPT',
      '  - {at: web2, listen: tcp/82}',
    ]);
    expect(before.filter((l) => !after.includes(l))).toEqual([]);
    const check = await cli(['check', out, '--json']);
    expect((JSON.parse(check.out) as { probes: { result: string }[] }).probes.map((p) => p.result)).toEqual(['reachable', 'reachable', 'reachable', 'reachable']);
  });

  it('netpath fix --probe NAME fixes that probe only; an unknown name is an option error', async () => {
    const built = model('models/explain-mangle-dnat.yaml');
    const one = fixModel(built, nodeIo.readFile('models/explain-mangle-dnat.yaml'), { probe: 'web1 curl web2:8081 (mangle PREROUTING drop)' });
    expect(one.probes.map((p) => p.fix?.command)).toEqual(['iptables -t filter -I PREROUTING 1'.replace('filter', 'mangle') + ' -p tcp -s 172.31.0.3 -d 172.31.0.2 --dport 8081 -j ACCEPT']);
    const r = await cli(['fix', 'models/explain-mangle-dnat.yaml', '--probe', 'nope']);
    expect(r.code).toBe(2);
  });
});
