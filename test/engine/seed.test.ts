/**
 * The seed scenario and its variants against what the kernel does.
 * Kernel facts: docs/kernel-notes.md (sections c-f), observed in network namespaces built by
 * fixtures/kernel/build-seed.sh (Linux 6.18, iproute2 6.1, iptables 1.8.9 nf_tables).
 */
import { describe, expect, it } from 'vitest';
import { formatIpv4 } from '../../src/wire/ipv4.js';
import { model, one } from '../helpers.js';
import { explainRun, modelRuns } from '../../src/explain/search.js';

function addrsOn(tr: ReturnType<typeof one>, ns: string, dev: string): string[] {
  const seen = new Set<string>();
  for (const c of tr.captures) {
    if (c.ns !== ns || c.dev !== dev || c.frame.payload.kind !== 'ip') continue;
    const p = c.frame.payload.ip;
    seen.add(`${formatIpv4(p.src)} > ${formatIpv4(p.dst)}`);
  }
  return [...seen].sort();
}

describe('seed: web1 curls ngx1 through web2', () => {
  it('with MASQUERADE the connection succeeds', () => {
    const tr = one(model('models/seed-lan-container.yaml'), 'web1', '192.168.2.10:80');
    expect(tr.result).toBe('reachable');
    expect(tr.errno).toBe('ok');
  });

  it('web2 eth0 shows web1 <-> ngx1, veth1-p shows web2 (192.168.2.20) <-> ngx1, as the article captured', () => {
    const tr = one(model('models/seed-lan-container.yaml'), 'web1', '192.168.2.10:80');
    expect(addrsOn(tr, 'web2', 'eth0')).toEqual(['172.31.0.3 > 192.168.2.10', '192.168.2.10 > 172.31.0.3']);
    expect(addrsOn(tr, 'web2', 'veth1-p')).toEqual(['192.168.2.10 > 192.168.2.20', '192.168.2.20 > 192.168.2.10']);
  });

  it('the MASQUERADE step points at the runbook line that added it', () => {
    const tr = one(model('models/seed-lan-container.yaml'), 'web1', '192.168.2.10:80');
    const nat = tr.steps.find((s) => s.kind === 'nf' && s.nf?.table === 'nat');
    expect(nat?.origin?.text).toBe('iptables -t nat -A POSTROUTING -s 172.31.0.3 -j  MASQUERADE');
    expect(nat?.origin?.file.endsWith('models/seed-web2.sh')).toBe(true);
  });

  it('with SNAT --to-source 192.168.2.20 the connection succeeds', () => {
    expect(one(model('models/seed-snat.yaml'), 'web1', '192.168.2.10:80').result).toBe('reachable');
  });

  it('without SNAT the SYN reaches ngx1 and ngx1 has no route back: the SYN-ACK is never sent', () => {
    const tr = one(model('models/seed-no-snat.yaml'), 'web1', '192.168.2.10:80');
    expect(tr.result).toBe('timeout');
    expect(tr.delivered?.ns).toBe('web2/ngx1');
    // the reply dies in ngx1, at route output -- not at web2's veth1-p as the article says
    expect(tr.why?.ns).toBe('web2/ngx1');
    expect(tr.why?.code).toBe('no-route');
    expect(tr.why?.dir).toBe('reply');
    expect(tr.why?.summary).toContain('no route in ngx1 matches 172.31.0.3');
    expect(tr.captures.some((c) => c.ns === 'web2' && c.dev === 'veth1-p' && c.dir === 'in' && c.frame.payload.kind === 'ip')).toBe(false);
    // fixes are proven against the whole model: test/explain/explain.test.ts
    const built = model('models/seed-no-snat.yaml');
    const fixes = explainRun(built, built.world, modelRuns(built), 0)!.fixes.map((f) => f.command);
    expect(fixes).toContain('ip netns exec ngx1 ip route add default via 192.168.2.20');
    expect(fixes).toContain('iptables -t nat -A POSTROUTING -s 172.31.0.3 -o veth1-p -j MASQUERADE');
  });

  it('without ip_forward web2 drops the SYN silently (no ICMP): timeout', () => {
    const tr = one(model('models/seed-no-forward.yaml'), 'web1', '192.168.2.10:80');
    expect(tr.result).toBe('timeout');
    expect(tr.why?.code).toBe('forwarding-disabled');
    expect(tr.why?.ns).toBe('web2');
    expect(tr.steps.some((s) => s.kind === 'icmp')).toBe(false);
  });

  it('FORWARD policy DROP: timeout, blamed on the -P line', () => {
    const tr = one(model('models/seed-forward-drop.yaml'), 'web1', '192.168.2.10:80');
    expect(tr.result).toBe('timeout');
    expect(tr.why?.code).toBe('nf-drop');
    expect(tr.why?.origin?.text).toBe('iptables -t filter -P FORWARD DROP');
  });
});
