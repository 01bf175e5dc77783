/** netpath export: a host's runbook as the script that runs on the real machine (pure, no kernel). */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { loadModel } from '../../src/plan/model.js';
import { parseRunbook } from '../../src/plan/runbook.js';
import { exportScript, hostCommands, parseBefore, undoScript } from '../../src/replay/export.js';
import { buildWorld } from '../../src/world/build.js';
import { IDENTITY_NAMES } from '../../src/replay/names.js';
import { renderOps } from '../../src/replay/render.js';

function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  return main(argv, { out: (s) => void (out += s), err: (s) => void (err += s) }).then((code) => ({ code, out, err }));
}

describe('netpath export MODEL --host NAME', () => {
  it('prints the seed web2 runbook as it will run: normalised, in order, with a header', async () => {
    const r = await run(['export', 'models/seed-lan-container.yaml', '--host', 'web2']);
    expect(r.code).toBe(0);
    const body = r.out.split('\n').filter((l) => l !== '' && !l.startsWith('#'));
    expect(r.out.startsWith('#!/bin/sh\n# netpath export models/seed-lan-container.yaml --host web2\n')).toBe(true);
    expect(body).toEqual([
      'set -e',
      'ip route add 0.0.0.0/0 via 172.31.0.1 dev eth0 metric 100 table 254 scope global proto boot',
      'ip netns add ngx1',
      'ip -n ngx1 link set dev lo up',
      'ip link add veth1 type veth peer name veth1-p',
      'ip link set dev veth1 netns ngx1',
      'ip -n ngx1 link set dev veth1 name eth0',
      'ip -n ngx1 addr add 192.168.2.10/24 dev eth0',
      'ip -n ngx1 link set dev eth0 up',
      'ip addr add 192.168.2.20/24 dev veth1-p',
      'ip link set dev veth1-p up',
      'iptables -t nat -A POSTROUTING -s 172.31.0.3/32 -j MASQUERADE',
      'sysctl -w net.ipv4.ip_forward=1',
      'iptables -t filter -P FORWARD ACCEPT',
    ]);
  });

  it('an unknown host is a usage error (exit 2)', async () => {
    const r = await run(['export', 'models/seed-lan-container.yaml', '--host', 'nope']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/no host "nope".*hosts: web1, web2/);
  });

  it('every model: the exported script, read back as a runbook, gives the same operations', () => {
    for (const f of readdirSync('models').filter((x) => x.endsWith('.yaml'))) {
      let built;
      try {
        built = buildWorld(loadModel(join('models', f)));
      } catch {
        continue; // models that crash the simulation are listed in kernel.test.ts
      }
      for (const h of built.model.hosts) {
        const text = exportScript(built, h.name);
        if (text.includes('<<')) continue; // iptables-restore here-documents are not runbook syntax
        const lines = text.split('\n').filter((l) => l !== 'set -e').join('\n');
        const back = parseRunbook({ host: h.name, file: 'x', text: lines, firstLine: 1, baseDir: 'models' }, { readFile: () => '' });
        const noLo = (xs: readonly (readonly string[])[]): string[] => xs.map((a) => a.join(' ')).filter((l) => !/^ip -n \S+ link set dev lo up$/.test(l))
            // a net-tools route renders without the defaults `ip route` then adds
            .map((l) => l.replace(/ (table 254|scope (global|link)|proto boot)\b/g, ''));
        expect(noLo(renderOps(back, IDENTITY_NAMES)), `${f} ${h.name}`).toEqual(noLo(hostCommands(built, h.name).map((c) => c.argv)));
      }
    }
  });
});

describe('undo script for a real host', () => {
  it('removes what the seed web2 runbook added and restores iptables and sysctls', () => {
    const built = buildWorld(loadModel('models/seed-lan-container.yaml'));
    const before = parseBefore('@@iptables-save\n*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n@@sysctl\nnet.ipv4.ip_forward=0\n@@end\n');
    const { script, cannot } = undoScript(built, 'web2', before);
    const lines = script.split('\n');
    // veth1-p was created with veth1: deleting veth1 removes it and its address
    expect(script).not.toContain('veth1-p');
    expect(lines).toContain('ip link del dev veth1 2>/dev/null || true');
    expect(lines).toContain('ip route del 0.0.0.0/0 via 172.31.0.1 dev eth0 metric 100 table 254 scope global proto boot 2>/dev/null || true');
    expect(lines).toContain('ip netns del ngx1 2>/dev/null || true');
    expect(lines).toContain('sysctl -q -w net.ipv4.ip_forward=0 || true');
    expect(script).toContain('iptables -t nat -F && iptables -t nat -X || true');
    expect(script).toContain("iptables-restore <<'NETPATH_EOF'\n*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]");
    expect(cannot).toEqual([]);
  });
});
