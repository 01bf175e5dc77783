// npm run bench, rules section: generated kube-proxy dumps of 1k, 10k and 20k services —
// load time (parse + build tables), per-packet trace time (median, p99) with the chain index
// and with the plain linear walk, and the speed-up. Figures only; never asserts.
import { performance } from 'node:perf_hooks';
import { kubeProxyDump } from '../dist/netfilter/kubegen.js';
import { parseIptablesRestore } from '../dist/netfilter/restore.js';
import { applyRestore, emptyNfState } from '../dist/netfilter/tables.js';
import { traceRules } from '../dist/netfilter/trace.js';
import { KERNEL } from '../dist/model/origin.js';

function stats(samples) {
  const s = [...samples].sort((a, b) => a - b);
  const q = (p) => s[Math.min(s.length - 1, Math.floor(p * s.length))];
  return { median: q(0.5), p99: q(0.99) };
}

/** packets to the services spread over the dump, from outside the pod network */
function packets(dump, n) {
  const out = [];
  const step = Math.max(1, Math.floor(dump.services.length / n));
  for (let k = 0; k < dump.services.length && out.length < n; k += step) {
    const s = dump.services[k];
    out.push({ src: 0x0a000002, sport: 40000 + (k % 20000), dst: s.clusterIp, dport: s.port, proto: s.proto, iif: 'eth0', oif: 'cni0', local: [0x0a000001, 0x0af40001] });
  }
  return out;
}

const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

/** wall-clock median and p99 per trace, and the mean CPU time (not inflated by a busy machine) */
function time(fn, pkts, linear, reps) {
  for (const p of pkts.slice(0, 50)) fn({ ...p, linear }); // warm-up
  const t = [];
  const c0 = cpuMs();
  for (let r = 0; r < reps; r++) {
    for (const p of pkts) {
      const t0 = performance.now();
      fn({ ...p, linear });
      t.push((performance.now() - t0) * 1000);
    }
  }
  return { ...stats(t), cpu: ((cpuMs() - c0) * 1000) / t.length };
}

export function benchRules(sizes = [1000, 10000, 20000]) {
  console.log('\nrules trace on generated kube-proxy dumps (one packet = every endpoint branch; wall clock, and CPU time of this process):');
  for (const n of sizes) {
    const dump = kubeProxyDump({ services: n });
    const t0 = performance.now();
    const c0 = cpuMs();
    const nf = applyRestore(emptyNfState(), parseIptablesRestore(dump.text, `kube-${n}.rules`), false, KERNEL);
    const load = performance.now() - t0;
    const loadCpu = cpuMs() - c0;
    const pkts = packets(dump, 500);
    const trace = (input) => traceRules(nf, input);
    const ix = time(trace, pkts, false, 3);
    const lin = time(trace, pkts, true, n >= 10000 ? 1 : 2);
    console.log(
      `${String(n).padStart(6)} services ${String(dump.rules).padStart(7)} rules  load ${load.toFixed(0).padStart(5)} ms (cpu ${loadCpu.toFixed(0)} ms)   ` +
        `trace median ${ix.median.toFixed(1).padStart(6)} µs p99 ${ix.p99.toFixed(1).padStart(7)} µs (cpu mean ${ix.cpu.toFixed(1)} µs)   ` +
        `linear median ${lin.median.toFixed(0).padStart(6)} µs p99 ${lin.p99.toFixed(0).padStart(6)} µs (cpu mean ${lin.cpu.toFixed(0)} µs)   speed-up ×${(lin.median / ix.median).toFixed(1)}`,
    );
  }
}

if (import.meta.url === `file://${process.argv[1]}`) benchRules(process.argv.slice(2).map(Number).filter((x) => x > 0).length > 0 ? process.argv.slice(2).map(Number) : undefined);
