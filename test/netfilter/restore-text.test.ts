/**
 * iptables-restore keeps a line's own spelling as the rule's text when it is exactly what
 * formatRule prints (a slice of the dump instead of a second copy). The text must be the same
 * string either way: checked on every fixture dump and on generated kube-proxy dumps, and on
 * lines spelled differently from iptables-save (whose text must be the canonical one).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { formatRule } from '../../src/netfilter/format.js';
import { kubeProxyDump } from '../../src/netfilter/kubegen.js';
import { parseIptablesRestore } from '../../src/netfilter/restore.js';
import { applyRestore, emptyNfState } from '../../src/netfilter/tables.js';
import { iptablesSave } from '../../src/netfilter/save.js';
import { KERNEL } from '../../src/model/origin.js';

function texts(dump: string, file: string): void {
  for (const block of parseIptablesRestore(dump, file)) {
    for (const { rule } of block.rules) expect(rule.text).toBe(formatRule(rule.matches, rule.target));
  }
}

describe('restore: rule text from the line itself', () => {
  for (const f of ['docker.rules', 'docker.save', 'kube-proxy.rules', 'kube-proxy.save']) {
    it(`fixtures/iptables/${f}: every rule's text is formatRule's`, () => {
      texts(readFileSync(`fixtures/iptables/${f}`, 'utf8'), f);
    });
  }
  it('generated kube-proxy dumps: every rule text is formatRule\'s, and the dump saves back unchanged', () => {
    for (const services of [1, 50, 400]) {
      const dump = kubeProxyDump({ services });
      texts(dump.text, `kube-${services}`);
      const nf = applyRestore(emptyNfState(), parseIptablesRestore(dump.text, `kube-${services}`), false, KERNEL);
      expect(iptablesSave(nf).split('\n').filter((l) => l.startsWith('-A')).length).toBe(dump.rules);
    }
  });
  it('lines not in canonical spelling get the canonical text', () => {
    const dump = [
      '*nat',
      ':KUBE-X - [0:0]',
      '-A  KUBE-X -p tcp --dport 80 -d 10.0.0.1 -j DNAT --to 10.1.0.1:80',
      '-A KUBE-X  -j MARK --set-mark 0x4000',
      '[0:0] -A KUBE-X -m comment --comment "a b" -j RETURN',
      '-A KUBE-X -m comment --comment "x" -j RETURN',
      'COMMIT',
      '',
    ].join('\n');
    const [block] = parseIptablesRestore(dump, 't');
    expect(block!.rules.map((r) => r.rule.text)).toEqual([
      '-d 10.0.0.1/32 -p tcp -m tcp --dport 80 -j DNAT --to-destination 10.1.0.1:80',
      '-j MARK --set-xmark 0x4000/0xffffffff',
      '-m comment --comment "a b" -j RETURN',
      '-m comment --comment x -j RETURN',
    ]);
    texts(dump, 't');
  });
});
