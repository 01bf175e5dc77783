/** The invariants: section: shapes, defaults, and errors that name the file and the line. */
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/model/errors.js';
import { parseModel } from '../../src/plan/model.js';
import { buildWorld } from '../../src/world/build.js';
import { parseInvariants, resolveInvariants } from '../../src/prop/invariants.js';
import { resolve } from 'node:path';
import { ROOT } from '../helpers.js';

const HEAD = `hosts:
  a:
    run: |
      ip netns add c1
  b:
lans:
  l0:
    a/eth0: 10.0.0.1/24
    b/eth0: 10.0.0.2/24
invariants:
`;
const FILE = resolve(ROOT, 'models', 'inv-test.yaml');

function errorOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error('no error');
}

/** Parses and resolves HEAD + body: the body's first line is the file's line 11. */
function load(body: string) {
  const text = HEAD + body;
  const built = buildWorld(parseModel(text, FILE));
  return resolveInvariants(built, parseInvariants(text, FILE));
}

describe('parsing invariants', () => {
  it('reads every form with its defaults', () => {
    const invs = load(`  - name: n1
    isolate: { from: a, to: 10.0.0.0/24, proto: tcp, ports: 1-79 }
  - reach: { from: [a, c1], to: 10.0.0.2, ports: 80 }
  - return: { from: a, to: [10.0.0.2, 10.0.1.0/24], proto: [tcp, udp, icmp], ports: "22,80" }
  - nat-reversible: { from: a, to: 10.0.0.2, proto: icmp }
  - isolate: { from: b, to: 10.0.0.1, ports: [22, 1000:2000], strict: true }
    runs: 7
`);
    expect(invs.map((i) => i.form.kind)).toEqual(['isolate', 'reach', 'return', 'nat-reversible', 'isolate']);
    expect(invs[0]!.name).toBe('n1');
    expect(invs[1]!.name).toBe('reach a,c1 -> 10.0.0.2 tcp 80');
    expect(invs[1]!.form).toEqual({ kind: 'reach', expect: 'reachable' });
    expect(invs[1]!.flows.from).toEqual(['a', 'a/c1']);
    expect(invs[2]!.flows.proto).toEqual(['tcp', 'udp', 'icmp']);
    expect(invs[2]!.flows.ports).toEqual([{ min: 22, max: 22 }, { min: 80, max: 80 }]);
    expect(invs[2]!.flows.to).toEqual([{ addr: 0x0a000002, len: 32 }, { addr: 0x0a000100, len: 24 }]);
    expect(invs[4]!.form).toEqual({ kind: 'isolate', strict: true });
    expect(invs[4]!.flows.ports).toEqual([{ min: 22, max: 22 }, { min: 1000, max: 2000 }]);
    expect(invs[4]!.runs).toBe(7);
    expect(invs[4]!.origin.line).toBe(16);
  });

  it('builds both sides of equivalent: this model and one host replaced', () => {
    const [inv] = load(`  - equivalent:
      b:
        host: a
        run: |
          ip netns add c1
          iptables -P OUTPUT DROP
      from: a
      to: 10.0.0.2
      proto: icmp
`);
    const f = inv!.form;
    if (f.kind !== 'equivalent') throw new Error('not equivalent');
    expect(f.a.netns['a']!.nf.filter.chains['OUTPUT']!.policy).toBe('ACCEPT');
    expect(f.b.netns['a']!.nf.filter.chains['OUTPUT']!.policy).toBe('DROP');
    // the replacement runbook's lines are the model file's lines
    expect(f.b.netns['a']!.nf.filter.chains['OUTPUT']!.policyOrigin?.line).toBe(16);
    expect(f.aLabel).toBe('this model');
  });

  it('returns nothing without an invariants key', () => {
    expect(parseInvariants('hosts:\n  a:\n', FILE)).toEqual([]);
  });
});

describe('errors name the file and the line of the key', () => {
  const cases: [string, string, number, RegExp][] = [
    ['unknown form', '  - reachable: { from: a, to: 10.0.0.2 }\n', 11, /unknown key "reachable"/],
    ['two forms', '  - reach: { from: a, to: 10.0.0.2 }\n    isolate: { from: a, to: 10.0.0.2 }\n', 12, /one form per invariant/],
    ['no form', '  - name: x\n', 11, /give one of reach, isolate/],
    ['missing to', '  - reach: { from: a }\n', 11, /"to" is required/],
    ['unknown flow key', '  - reach:\n      from: a\n      to: 10.0.0.2\n      port: 80\n', 14, /unknown key "port"/],
    ['bad port', '  - reach:\n      from: a\n      to: 10.0.0.2\n      ports: 70000\n', 14, /ports: "70000"/],
    ['reversed range', '  - isolate:\n      from: a\n      to: 10.0.0.2\n      ports: 80-22\n', 14, /the lower first/],
    ['bad proto', '  - reach:\n      from: a\n      to: 10.0.0.2\n      proto: sctp\n', 14, /"sctp" must be tcp, udp or icmp/],
    ['icmp with ports', '  - reach:\n      from: a\n      to: 10.0.0.2\n      proto: icmp\n      ports: 80\n', 15, /icmp flows take no port/],
    ['bad address', '  - reach:\n      from: a\n      to: 10.0.0.300\n', 13, /"10.0.0.300" is not an IPv4 address/],
    ['unknown namespace', '  - reach:\n      from: [a, zz]\n      to: 10.0.0.2\n', 12, /no host or namespace called "zz"/],
    ['bad expect', '  - reach: { from: a, to: 10.0.0.2, expect: ok }\n', 11, /"ok" must be one of reachable/],
    ['strict not boolean', '  - isolate: { from: a, to: 10.0.0.2, strict: yes-please }\n', 11, /strict: true or false/],
    ['equivalent without b', '  - equivalent: { from: a, to: 10.0.0.2 }\n', 11, /"b" \(the other rule set\) is required/],
    ['unknown host in side', '  - equivalent:\n      b: { host: zz, script: x.sh }\n      from: a\n      to: 10.0.0.2\n', 12, /unknown host "zz"/],
    ['missing script', '  - equivalent:\n      b: { host: a, script: no-such.sh }\n      from: a\n      to: 10.0.0.2\n', 12, /cannot read/],
    ['not a list', '', 11, /expected a list/],
  ];
  for (const [what, body, line, msg] of cases)
    it(what, () => {
      const e = errorOf(() => load(body === '' ? '  reach: {}\n' : body));
      expect(e.file).toBe(FILE);
      expect(e.line).toBe(line);
      expect(e.detail).toMatch(msg);
    });
});
