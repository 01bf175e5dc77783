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

/**
 * The dump-load targets, each printed with its measured value, the ratio to the target, and the
 * baseline it competes with: the real iptables-restore of the same dump into a scratch network
 * namespace (only when root with ip and iptables-restore; said so otherwise).
 */
export async function benchLoadTargets() {
  const { spawnSync } = await import('node:child_process');
  const { writeFileSync, mkdtempSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { traceRules } = await import('../dist/netfilter/trace.js');
  const line = (what, ms, target, base) =>
    console.log(`${what.padEnd(46)} ${ms.toFixed(ms < 10 ? 1 : 0).padStart(7)} ms   target <= ${String(target).padStart(5)}   ratio ${(ms / target).toFixed(2)}   ${base}`);
  const loadMs = (dump, runs) => {
    let best = Infinity;
    let cpuBest = Infinity;
    let nf;
    for (let r = 0; r < runs; r++) {
      const w0 = performance.now();
      const c0 = cpuMs();
      nf = applyRestore(emptyNfState(), parseIptablesRestore(dump.text, 'kube.rules'), false, KERNEL);
      best = Math.min(best, performance.now() - w0);
      cpuBest = Math.min(cpuBest, cpuMs() - c0);
    }
    return { ms: best, cpu: cpuBest, nf };
  };
  const dir = mkdtempSync(join(tmpdir(), 'netpath-bench-'));
  const root = process.getuid?.() === 0 && spawnSync('sh', ['-c', 'command -v ip && command -v iptables-restore']).status === 0;
  const kernelRestore = (file) => {
    if (!root) return 'baseline: real iptables-restore not run (needs root, ip and iptables-restore)';
    const ns = `npb-${process.pid.toString(36)}`;
    spawnSync('ip', ['netns', 'add', ns]);
    try {
      const t0 = performance.now();
      const r = spawnSync('ip', ['netns', 'exec', ns, 'iptables-restore', file]);
      const ms = performance.now() - t0;
      return r.status === 0 ? `baseline: real iptables-restore ${ms.toFixed(0)} ms (kernel ${spawnSync('uname', ['-r'], { encoding: 'utf8' }).stdout.trim()})` : `baseline: iptables-restore failed: ${r.stderr}`;
    } finally {
      spawnSync('ip', ['netns', 'del', ns]);
    }
  };
  try {
    console.log('\ndump load and trace targets (wall clock, best of runs; CPU time in brackets; this machine may be shared):');
    const d10 = kubeProxyDump({ services: 10000 });
    const f10 = join(dir, 'kube-10k.rules');
    writeFileSync(f10, d10.text);
    const base10 = kernelRestore(f10);
    const l10 = loadMs(d10, 3);
    line(`10k services in process (cpu ${l10.cpu.toFixed(0)} ms)`, l10.ms, 500, base10);
    // whole process: the CLI loading the dump and tracing one packet
    const s = d10.services[0];
    const ip = (n) => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
    let whole = Infinity;
    for (let r = 0; r < 3; r++) {
      const t0 = performance.now();
      const res = spawnSync(process.execPath, ['bin/netpath.js', 'rules', 'trace', f10, '--src', '10.0.0.2:40000', '--dst', `${ip(s.clusterIp)}:${s.port}`, '--proto', s.proto, '--iif', 'eth0'], { encoding: 'utf8' });
      if (res.status !== 0) throw new Error(`netpath rules trace failed: ${res.stderr}`);
      whole = Math.min(whole, performance.now() - t0);
    }
    const nodeStart = (() => {
      const t0 = performance.now();
      spawnSync(process.execPath, ['-e', '0']);
      return performance.now() - t0;
    })();
    line('10k services, whole `netpath rules trace`', whole, 800, `${base10}; node -e 0 ${nodeStart.toFixed(0)} ms`);
    const d40 = kubeProxyDump({ services: 40000 });
    const l40 = loadMs(d40, 2);
    line(`40k services in process (cpu ${l40.cpu.toFixed(0)} ms)`, l40.ms, 2000, 'baseline: iptables-restore of the 10k dump above (the 40k one takes minutes)');
    // trace p99 on the 10k dump: packets to services spread over it
    const times = [];
    const pk = [];
    for (let k = 0; k < d10.services.length; k += 20) {
      const v = d10.services[k];
      pk.push({ src: 0x0a000002, sport: 40000 + (k % 20000), dst: v.clusterIp, dport: v.port, proto: v.proto, iif: 'eth0', oif: 'cni0', local: [0x0a000001, 0x0af40001] });
    }
    for (const p of pk) traceRules(l10.nf, p);
    for (let r = 0; r < 3; r++) {
      for (const p of pk) {
        const t0 = performance.now();
        traceRules(l10.nf, p);
        times.push((performance.now() - t0) * 1000);
      }
    }
    times.sort((a, b) => a - b);
    const p99 = times[Math.floor(0.99 * times.length)];
    const med = times[Math.floor(0.5 * times.length)];
    console.log(`${'rules trace p99 on the 10k dump'.padEnd(46)} ${p99.toFixed(1).padStart(7)} µs   target <= ${'50'.padStart(5)}   ratio ${(p99 / 50).toFixed(2)}   median ${med.toFixed(1)} µs; baseline: the linear walk (bench/rules.js above)`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
