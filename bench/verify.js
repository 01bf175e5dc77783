// npm run bench, verify section: invariants decided for every flow (netpath verify) on the seed
// and every bundled model, the service matrix of a generated 10k-service kube-proxy dump (SYNs on
// eth0, and every interface with every TCP flag combination), and the
// diff of two 10k-service dumps that differ in one service. Figures only; never asserts.
//
// A model without invariants is evaluated as `verify` does the work: every class of flows from
// each probe's start point, to every address, protocol and port (diffWorlds of the model against
// itself walks each class once).
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { loadModel } from '../dist/plan/model.js';
import { buildWorld, resolveNsRef } from '../dist/world/build.js';
import { parseInvariants, resolveInvariants } from '../dist/prop/invariants.js';
import { verifyInvariant } from '../dist/verify/verify.js';
import { diffWorlds } from '../dist/verify/diff.js';
import { serviceMatrix } from '../dist/verify/matrix.js';
import { rulesDiff } from '../dist/verify/rulesdiff.js';
import { kubeProxyDump } from '../dist/netfilter/kubegen.js';
import { parseIptablesRestore } from '../dist/netfilter/restore.js';
import { applyRestore, emptyNfState } from '../dist/netfilter/tables.js';
import { KERNEL } from '../dist/model/origin.js';

const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

/** wall and CPU ms of fn, the best of `n` runs */
function timed(fn, n = 3) {
  let best = { wall: Infinity, cpu: Infinity, out: undefined };
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const c0 = cpuMs();
    const out = fn();
    const r = { wall: performance.now() - t0, cpu: cpuMs() - c0, out };
    if (r.wall < best.wall) best = r;
  }
  return best;
}

/** one model verified: its invariants, or every class from its probes' start points */
function verifyModel(path) {
  const built = buildWorld(loadModel(path));
  const invs = resolveInvariants(built, parseInvariants(readFileSync(path, 'utf8'), path));
  if (invs.length > 0) return { what: `${invs.length} invariants`, classes: invs.reduce((s, inv) => s + verifyInvariant(built.world, inv).atoms, 0) };
  const from = [...new Set(built.model.probes.map((p) => resolveNsRef(built.world, p.from, p.origin)))];
  if (from.length === 0) return { what: 'no probes', classes: 0 };
  return { what: `every class from ${from.length} start point(s)`, classes: diffWorlds(built.world, built.world, { from }).atoms };
}

const fmt = (x) => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));

/** `figure(name, measured, unit, target, better, baseline)` is bench/run.js's summary row */
export function benchVerify(figure, tmp) {
  console.log('\n=== verify: every flow, not samples ===');
  const seed = timed(() => verifyModel('models/verify-seed-isolate.yaml'), 5);
  console.log(`seed isolate web1 -> 192.168.2.0/24, every TCP port: ${fmt(seed.wall)} ms wall, ${fmt(seed.cpu)} ms CPU, ${seed.out.classes} classes`);
  figure('verify: seed, isolate over every TCP port', seed.wall, 'ms', 1000, 'lower', `CPU ${fmt(seed.cpu)} ms; ${seed.out.classes} classes`);
  const models = readdirSync('models').filter((f) => f.endsWith('.yaml')).sort();
  let worst = { name: '', wall: 0, cpu: 0 };
  for (const m of models) {
    const r = timed(() => verifyModel(join('models', m)), 1);
    console.log(`  ${m.padEnd(40)} ${fmt(r.wall).padStart(7)} ms wall ${fmt(r.cpu).padStart(7)} ms CPU  ${r.out.classes} classes (${r.out.what})`);
    if (r.wall > worst.wall) worst = { name: m, wall: r.wall, cpu: r.cpu };
  }
  figure('verify: slowest bundled model', worst.wall, 'ms', 1000, 'lower', `${worst.name}, CPU ${fmt(worst.cpu)} ms; ${models.length} models`);

  console.log('\n=== rules matrix / rules diff: generated kube-proxy dumps, --proto tcp ===');
  const load = (text, name) => applyRestore(emptyNfState(), parseIptablesRestore(text, name), false, KERNEL);
  const d10 = kubeProxyDump({ services: 10000 });
  const d10b = kubeProxyDump({ services: 10001 });
  const l = timed(() => load(d10.text, 'kube-10k.rules'), 1);
  const nf10 = l.out;
  const nf10b = load(d10b.text, 'kube-10001.rules');
  console.log(`10k services (${d10.rules} rules): load ${fmt(l.wall)} ms wall, ${fmt(l.cpu)} ms CPU`);
  const input = { local: [0x0a000001], protos: ['tcp'], iif: 'eth0' };
  const m = timed(() => serviceMatrix({ ...input, nf: nf10 }), 1);
  const mem = process.memoryUsage().rss / 2 ** 20;
  console.log(`matrix, in process: ${fmt(m.wall / 1000)} s wall, ${fmt(m.cpu / 1000)} s CPU, ${m.out.classes} classes, ${m.out.rows.length} rows, RSS ${fmt(mem)} MiB`);
  figure('rules matrix: 10k services, in process (after load)', m.wall / 1000, 's', 30, 'lower', `CPU ${fmt(m.cpu / 1000)} s; load ${fmt(l.wall / 1000)} s more; RSS ${fmt(mem)} MiB (≤ 4096)`);
  // the same dump with the input interface and the TCP flags as dimensions (no --iif, --flags all), next to the line above
  const md = timed(() => serviceMatrix({ local: input.local, protos: input.protos, flags: 'all', nf: nf10 }), 1);
  console.log(`matrix, every interface and every TCP flag combination: ${fmt(md.wall / 1000)} s wall, ${fmt(md.cpu / 1000)} s CPU (${fmt(md.cpu / m.cpu)}x the SYN-on-eth0 matrix's CPU), ${md.out.classes} classes, ${md.out.rows.length} rows, ${md.out.interfaces.labels.length} interface classes`);
  figure('rules matrix: 10k services, interfaces and all TCP flags, in process', md.wall / 1000, 's', 30, 'lower', `CPU ${fmt(md.cpu / 1000)} s, ${fmt(md.cpu / m.cpu)}x the SYN-on-eth0 matrix's in the same run`);
  const d = timed(() => rulesDiff({ ...input, before: nf10, after: nf10b }), 1);
  console.log(`rules diff 10k vs 10k + 1 service, in process: ${fmt(d.wall)} ms wall, ${fmt(d.cpu)} ms CPU, ${d.out.changes.length} change rows, ${d.out.classes} classes`);
  figure('rules diff: two 10k dumps, one service apart, in process', d.wall / 1000, 's', 5, 'lower', `CPU ${fmt(d.cpu / 1000)} s; loading both dumps: ${fmt((2 * l.wall) / 1000)} s more`);
  // whole processes, load included
  const a = join(tmp, 'kube-10k.rules');
  const b = join(tmp, 'kube-10001.rules');
  writeFileSync(a, d10.text);
  writeFileSync(b, d10b.text);
  for (const [name, args, target] of [
    ['rules matrix: 10k services, whole process', ['rules', 'matrix', a, '--proto', 'tcp', '--local', '10.0.0.1', '--json'], 30],
    ['rules diff: two 10k dumps, whole process', ['rules', 'diff', a, b, '--proto', 'tcp', '--local', '10.0.0.1', '--json'], 5],
  ]) {
    const t0 = performance.now();
    const r = spawnSync(process.execPath, ['bin/netpath.js', ...args], { stdio: ['ignore', 'ignore', 'pipe'], maxBuffer: 1 << 30 });
    const wall = (performance.now() - t0) / 1000;
    if (r.status !== 0 && r.status !== 1) console.log(`${name}: exit ${r.status}: ${r.stderr}`);
    console.log(`${name}: ${fmt(wall)} s wall`);
    figure(name, wall, 's', target, 'lower', 'load of the dump(s) included');
  }
}
