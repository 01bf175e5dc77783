// node bench/load.js [services] [runs]: CPU time (process.cpuUsage) and wall time of loading a
// generated kube-proxy dump, parse (parseIptablesRestore) and apply (applyRestore) separately.
// Run alone, the first run is the process's cold one (JIT warm-up included), as a CLI load is;
// from bench/run.js every run is warm.
// Figures only; never asserts. Run after `npm run build`.
import { performance } from 'node:perf_hooks';
import { kubeProxyDump } from '../dist/netfilter/kubegen.js';
import { parseIptablesRestore } from '../dist/netfilter/restore.js';
import { applyRestore, emptyNfState } from '../dist/netfilter/tables.js';
import { KERNEL } from '../dist/model/origin.js';

const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

export function benchLoad(services = 10000, runs = 3, alone = false) {
  const dump = kubeProxyDump({ services });
  for (let r = 0; r < runs; r++) {
    const w0 = performance.now();
    const c0 = cpuMs();
    const parsed = parseIptablesRestore(dump.text, `kube-${services}.rules`);
    const w1 = performance.now();
    const c1 = cpuMs();
    applyRestore(emptyNfState(), parsed, false, KERNEL);
    const w2 = performance.now();
    const c2 = cpuMs();
    console.log(
      `load ${services} services (${dump.rules} rules) run ${r + 1}${alone && r === 0 ? ' (cold)' : '       '}: ` +
        `parse ${(w1 - w0).toFixed(0).padStart(4)} ms (cpu ${(c1 - c0).toFixed(0).padStart(4)})   ` +
        `apply ${(w2 - w1).toFixed(0).padStart(4)} ms (cpu ${(c2 - c1).toFixed(0).padStart(4)})   ` +
        `total ${(w2 - w0).toFixed(0).padStart(4)} ms (cpu ${(c2 - c0).toFixed(0).padStart(4)})`,
    );
  }
}

if (import.meta.url === `file://${process.argv[1]}`) benchLoad(Number(process.argv[2] ?? 10000) || 10000, Number(process.argv[3] ?? 3) || 3, true);
