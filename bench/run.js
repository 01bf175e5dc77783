// npm run bench: prints figures; never asserts. Run after `npm run build` (the script does).
import { performance } from 'node:perf_hooks';
import { loadModel } from '../dist/plan/model.js';
import { buildWorld } from '../dist/world/build.js';
import { simulate } from '../dist/engine/probe.js';
import { parseIpv4 } from '../dist/wire/ipv4.js';

function stats(samples) {
  const s = [...samples].sort((a, b) => a - b);
  const q = (p) => s[Math.min(s.length - 1, Math.floor(p * s.length))];
  return { median: q(0.5), p99: q(0.99), n: s.length };
}

function bench(name, fn, { warmup = 200, runs = 2000 } = {}) {
  for (let i = 0; i < warmup; i++) fn();
  const times = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    fn();
    times.push((performance.now() - t0) * 1000);
  }
  const { median, p99, n } = stats(times);
  console.log(`${name.padEnd(52)} median ${median.toFixed(1).padStart(8)} µs   p99 ${p99.toFixed(1).padStart(8)} µs   (n=${n})`);
}

const t0 = performance.now();
const built = buildWorld(loadModel('models/seed-lan-container.yaml'));
console.log(`load + build seed model: ${((performance.now() - t0) * 1000).toFixed(0)} µs (first run, includes JIT warm-up)`);
bench('load + build seed model', () => buildWorld(loadModel('models/seed-lan-container.yaml')), { warmup: 20, runs: 200 });

const to = parseIpv4('192.168.2.10');
bench('seed probe: SYN until connect() returns', () => simulate(built.world, { from: 'web1', to, port: 80, proto: 'tcp' }, { fullTcp: false }));
bench('seed probe: whole HTTP exchange (handshake..FIN)', () => simulate(built.world, { from: 'web1', to, port: 80, proto: 'tcp' }));
const noSnat = buildWorld(loadModel('models/seed-no-snat.yaml'));
bench('seed without SNAT (timeout) probe', () => simulate(noSnat.world, { from: 'web1', to, port: 80, proto: 'tcp' }, { fullTcp: false }));
bench('seed ping', () => simulate(built.world, { from: 'web1', to, proto: 'icmp' }));

// rules trace on generated kube-proxy dumps (bench/rules.js)
const { benchRules } = await import('./rules.js');
benchRules();

// the 10k-service load split into parse and apply, CPU and wall (bench/load.js)
const { benchLoad } = await import('./load.js');
console.log('\nload of a generated 10k-service dump, parse and apply separately (wall, and CPU time of this process):');
benchLoad(10000, 3);

// big runbooks folded, next to the same rules through iptables-restore (bench/runbook.js)
const { benchRunbooks } = await import('./runbook.js');
benchRunbooks();
