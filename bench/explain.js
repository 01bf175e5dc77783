// The time to explain a probe (the why, and the fix search: each candidate parsed as a runbook
// line, folded onto the world and the probe simulated again), next to one simulation of the same
// probe and to one candidate's cost. An explanation may run its probe at most 20 times
// (MAX_SIMULATIONS); most of its time goes to folding each candidate into a new world, whose
// derived tables (FIB views, LAN ports) are then built afresh by the first simulation.
import { loadModel } from '../dist/plan/model.js';
import { buildWorld } from '../dist/world/build.js';
import { simulate } from '../dist/engine/probe.js';
import { explainRun, MAX_SIMULATIONS, modelRuns, withLine } from '../dist/explain/search.js';

export function benchExplain(bench, figure, fmt) {
  console.log('\n=== explain: the seed without SNAT ===');
  const built = buildWorld(loadModel('models/seed-no-snat.yaml'));
  const runs = modelRuns(built);
  const flow = runs[0].flow;
  const one = bench('seed without SNAT: one simulation of the probe', () => simulate(built.world, flow, { fullTcp: false }), { warmup: 50, runs: 500 });
  const line = 'ip netns exec ngx1 ip route add 172.31.0.3 via 192.168.2.20';
  const cand = bench('one candidate: parse + fold the line, simulate', () => simulate(withLine(built, built.world, 'web2', line), flow, { fullTcp: false }), { warmup: 10, runs: 100 });
  const ex = explainRun(built, built.world, runs, 0);
  const st = bench(`explain: why + fix search (${ex.simulations} simulations, ${ex.fixes.length} fixes)`, () => explainRun(built, built.world, runs, 0), { warmup: 10, runs: 100 });
  figure('explain: seed without SNAT, simulations of the probe', ex.simulations, 'runs', MAX_SIMULATIONS, 'lower', `${ex.candidatesTried} candidates tried, ${ex.fixes.length} proven`);
  figure('explain: seed without SNAT, why + proven fixes', st.median / 1000, 'ms', 100, 'lower', `one simulation of the probe: ${fmt(one.median)} µs; one candidate (parse, fold, simulate): ${fmt(cand.median / 1000)} ms`);
}
