/**
 * `netpath show` against the real kernel: each fixtures/kernel/seed/<variant>/runbook.txt was run
 * in network namespaces by fixtures/kernel/build-seed.sh (Linux 6.18, iproute2 6.1.0, iptables
 * 1.8.9 nf_tables) and the kernel's `ip -br addr`, `ip route show table all`, `ip rule` and
 * `iptables-save` were kept. netpath folds the same lines and must print the same text, ignoring
 * only IPv6 (not modelled) and ifindexes (`eth0@if3`: the harness's LAN NICs are veths, netpath's
 * are plain NICs, so the `@ifN` suffix is dropped on both sides, and with it the
 * column padding).
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, inline } from '../helpers.js';
import { showBriefAddr, showRoutes, showRules } from '../../src/world/show.js';
import { iptablesSave } from '../../src/netfilter/save.js';
import { resolveNsRef } from '../../src/world/build.js';
import { KERNEL } from '../../src/model/origin.js';

const DIR = join(ROOT, 'fixtures/kernel/seed');

/** The fixture's runbook as a model: hosts web1/web2 on lan0, other namespaces created on web2. */
function modelFor(variant: string): string {
  const lines = readFileSync(join(DIR, variant, 'runbook.txt'), 'utf8').trim().split('\n');
  const hosts: Record<string, string[]> = { web1: [], web2: [] };
  const netns = new Set<string>();
  for (const l of lines) {
    const [ns, cmd] = l.split('\t') as [string, string];
    if (ns === 'web1' || ns === 'web2') hosts[ns]!.push(cmd);
    else {
      if (!netns.has(ns)) {
        netns.add(ns);
        hosts.web2!.unshift(`ip netns add ${ns}`);
      }
      hosts.web2!.push(`ip netns exec ${ns} ${cmd}`);
    }
  }
  const block = (cmds: string[]): string => cmds.map((c) => `      ${c}`).join('\n');
  return `hosts:\n  web1:\n    run: |\n${block(hosts.web1!)}\n  web2:\n    run: |\n${block(hosts.web2!)}\nlans:\n  lan0:\n    web1/eth0: null\n    web2/eth0: null\n`;
}

const v4 = (text: string): string =>
  text
    .split('\n')
    .filter((l) => l !== '' && !/^(\S+ )?[0-9a-f]*::|fe80::|ff00::|::1/.test(l))
    .join('\n');

const brief = (text: string): string =>
  text
    .split('\n')
    .map((l) => l.replace(/ [0-9a-f:]*:[0-9a-f:]*\/\d+/g, '').replace(/@if\d+/, ''))
    .filter((l) => /\d+\.\d+\.\d+\.\d+\//.test(l))
    .map((l) => l.trimEnd().replace(/\s+/g, ' '))
    .join('\n');

for (const variant of readdirSync(DIR)) {
  describe(`show matches the kernel: ${variant}`, () => {
    const b = inline(modelFor(variant), `fixture-${variant}.yaml`);
    const nss = readdirSync(join(DIR, variant))
      .filter((f) => f.endsWith('.routes.txt'))
      .map((f) => f.replace('.routes.txt', ''));
    for (const name of nss) {
      const ns = b.world.netns[resolveNsRef(b.world, name, KERNEL)]!;
      const want = (kind: string): string => readFileSync(join(DIR, variant, `${name}.${kind}.txt`), 'utf8');
      it(`${name}: ip route show table all`, () => {
        expect(showRoutes(b.world, ns)).toBe(v4(want('routes')) + '\n');
      });
      it(`${name}: ip rule`, () => {
        expect(showRules(ns)).toBe(want('rules'));
      });
      it(`${name}: iptables-save`, () => {
        expect(iptablesSave(ns.nf)).toBe(want('iptables'));
      });
      it(`${name}: ip -br addr`, () => {
        const got = showBriefAddr(b.world, ns)
          .split('\n')
          .map((l) => l.replace(/@if\d+/, '').trimEnd().replace(/\s+/g, ' '))
          .filter(Boolean)
          .join('\n');
        expect(got).toBe(brief(want('addr')));
      });
    }
  });
}
