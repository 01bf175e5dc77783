/**
 * The conformance catalogue (src/replay/catalogue.ts) covers the world's whole vocabulary: every
 * runbook Op, route type, rule form, neighbour state, sysctl, iptables command, table, match,
 * target and REJECT type the world accepts is either drawn by the generator (seen in sampled plans,
 * read back from their Ops) or marked "not generated: reason"; docs/replay.md lists every entry.
 * Pure: no kernel.
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseRuleSpec } from '../../src/netfilter/parse.js';
import { ConfigError } from '../../src/model/errors.js';
import { parseModel } from '../../src/plan/model.js';
import { featuresOf, MUTATIONS, WORLD_FEATURES } from '../../src/replay/catalogue.js';
import { genPlan, resolvePlan } from '../../src/replay/gen.js';
import { buildWorld } from '../../src/world/build.js';

const SAMPLE = 1500;

describe('conformance catalogue', () => {
  const plans = fc.sample(genPlan(), { seed: 20261202, numRuns: SAMPLE });
  const counts = new Map<string, number>();
  const refused: string[] = [];
  for (const [i, p] of plans.entries()) {
    const r = resolvePlan(p);
    try {
      for (const f of featuresOf(buildWorld(parseModel(r.model, 'gen.yaml')), r.features)) counts.set(f, (counts.get(f) ?? 0) + 1);
    } catch (e) {
      refused.push(`case ${i}: ${e instanceof Error ? e.message : String(e)}\n${r.model}`);
    }
  }

  it('every generated plan is a model the world accepts', () => {
    expect(refused.slice(0, 3)).toEqual([]);
  });

  it(`every feature not marked "not generated" is drawn in ${SAMPLE} plans`, () => {
    const missing = Object.entries(WORLD_FEATURES)
      .filter(([k, c]) => !('notGenerated' in c) && !counts.has(k))
      .map(([k]) => k);
    expect(missing).toEqual([]);
    // and what plans hold is all in the catalogue
    expect([...counts.keys()].filter((k) => !(k in WORLD_FEATURES))).toEqual([]);
  });

  it('a "not generated" entry is never drawn (the reason would be wrong)', () => {
    const drawn = Object.entries(WORLD_FEATURES)
      .filter(([k, c]) => 'notGenerated' in c && counts.has(k))
      .map(([k]) => k);
    expect(drawn).toEqual([]);
  });

  it('every iptables match and target the parser accepts is in the catalogue', () => {
    // names iptables 1.8.9 offers (libxt_*/libipt_*), tried one by one: a name netpath's parser
    // does not refuse as unsupported is part of the world's vocabulary
    const matches = 'addrtype ah bpf cgroup cluster comment connbytes connlabel connlimit connmark conntrack cpu dccp devgroup dscp ecn esp hashlimit helper icmp iprange ipvs length limit mac mark multiport nfacct osf owner physdev pkttype policy quota rateest realm recent rpfilter sctp set socket state statistic string tcp tcpmss time tos ttl u32 udp udplite'.split(' ');
    const targets = 'ACCEPT DROP RETURN REJECT LOG SNAT DNAT MASQUERADE REDIRECT MARK CONNMARK NOTRACK CT AUDIT CHECKSUM CLASSIFY CONNSECMARK DSCP ECN HMARK IDLETIMER LED NETMAP NFLOG NFQUEUE RATEEST SECMARK SET SYNPROXY TCPMSS TCPOPTSTRIP TEE TOS TPROXY TRACE TTL ULOG'.split(' ');
    const accepted = (argv: string[]): boolean => {
      try {
        parseRuleSpec('filter', argv, { file: 't', line: 1, text: argv.join(' ') });
        return true;
      } catch (e) {
        if (e instanceof ConfigError) return e.code !== 'unsupported' && !/unknown|not found|Couldn't load/i.test(e.message);
        throw e;
      }
    };
    const m = matches.filter((x) => accepted(['-A', 'INPUT', '-m', x]));
    const t = targets.filter((x) => accepted(['-A', 'INPUT', '-j', x]));
    expect(m.filter((x) => !(`match:${x}` in WORLD_FEATURES))).toEqual([]);
    expect(t.filter((x) => !(`target:${x}` in WORLD_FEATURES))).toEqual([]);
    expect(m.length).toBeGreaterThan(10);
  });

  it('docs/replay.md lists every catalogue entry and every mutation with its weight', () => {
    const doc = readFileSync('docs/replay.md', 'utf8');
    const rows = new Map<string, string>();
    for (const line of doc.split('\n')) {
      const r = /^\| `([^`]+)` \| (.*) \|$/.exec(line);
      if (r) rows.set(r[1]!, r[2]!);
    }
    const wrong: string[] = [];
    for (const [k, c] of Object.entries(WORLD_FEATURES)) {
      const row = rows.get(k);
      if (row === undefined) wrong.push(`${k}: not listed`);
      else if ('notGenerated' in c && !row.includes(`not generated: ${c.notGenerated}`)) wrong.push(`${k}: should say "not generated: ${c.notGenerated}"`);
      else if ('by' in c && row.includes('not generated')) wrong.push(`${k}: is generated`);
    }
    for (const [k, m] of Object.entries(MUTATIONS)) if (rows.get(k) !== `${m.weight} | ${m.draws}`) wrong.push(`mutation ${k}: | \`${k}\` | ${m.weight} | ${m.draws} |`);
    expect(wrong).toEqual([]);
  });
});
