// npm run bench, rules section: generated kube-proxy dumps of 1k, 10k and 20k services —
// load time (parse + build tables), per-packet trace time (median, p99) and bytes allocated per
// trace with the chain index, the time with the plain linear walk, and the speed-up. Figures
// only; never asserts. bench/run.js takes its dump figures from timeTraces and bytesPerTrace.
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

/**
 * packets to `n` services spread over the dump, from outside the pod network; `offset` (less
 * than the spacing) picks other services at the same spacing: none of their chains is the
 * packets' of offset 0 but the ones every service passes
 */
export function packets(dump, n, offset = 0) {
  const out = [];
  const step = Math.max(1, Math.floor(dump.services.length / n));
  for (let k = offset; k < dump.services.length && out.length < n; k += step) out.push(servicePacket(dump.services[k], k));
  return out;
}

function servicePacket(s, k) {
  return { src: 0x0a000002, sport: 40000 + (k % 20000), dst: s.clusterIp, dport: s.port, proto: s.proto, iif: 'eth0', oif: 'cni0', local: [0x0a000001, 0x0af40001] };
}

/**
 * Packets to the services `from` .. `from + n - 1` of the dump: consecutive services share no
 * chain but the ones every service passes (KUBE-SERVICES, KUBE-MARK-MASQ, the built-in chains).
 */
export function servicePackets(dump, from, n) {
  return dump.services.slice(from, from + n).map((s, k) => servicePacket(s, from + k));
}

const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

/**
 * Wall-clock median and p99 per traced packet over `reps` passes of `pkts` (every trace counted,
 * the first pass walking the packets' own chains for the first time), and the mean CPU time (not
 * inflated by a busy machine). Before them, `warm` (packets to other services) are traced six
 * times, so that what is measured is the compiled tracer: with a few dozen traces of warm-up the
 * first pass still ran while V8 was compiling it, and the p99 was the compiler's; after three
 * passes of 500 V8 still (re)compiled the walk now and then while the figure was measured.
 */
export function timeTraces(nf, pkts, warm, reps, linear = false) {
  for (let r = 0; r < 6; r++) for (const p of warm) traceRules(nf, { ...p, linear });
  const ins = pkts.map((p) => ({ ...p, linear }));
  const t = [];
  const c0 = cpuMs();
  for (let r = 0; r < reps; r++) {
    for (const p of ins) {
      const t0 = performance.now();
      traceRules(nf, p);
      t.push((performance.now() - t0) * 1000);
    }
  }
  return { ...stats(t), n: t.length, cpu: ((cpuMs() - c0) * 1000) / t.length, samples: t };
}

/**
 * What recurs run after run: the median of each trace's time over several runs of the same
 * measurement (the same packets in the same order, each run in a fresh process), and the median
 * and p99 of those. A trace slow in one run only (the machine's: an interrupt, another process,
 * the hypervisor) drops out; one slow in most runs (a first walk, a table growing) stays.
 */
export function recurringTail(runs) {
  const n = Math.min(...runs.map((r) => r.length));
  const per = [];
  for (let i = 0; i < n; i++) per.push(stats(runs.map((r) => r[i])).median);
  return { ...stats(per), n };
}

/** a fixed amount of integer work (no allocation, nothing for V8 to recompile once warm) */
function spin(k) {
  let x = 0;
  for (let i = 0; i < k; i++) x = (x * 31 + i) | 0;
  return x;
}

/**
 * The machine's own tail, for reading a p99: the same timer around a fixed loop whose median is
 * `us` µs, `n` times. On a quiet machine its p99 is close to its median; whatever it adds is
 * interrupts, other processes and the hypervisor, which a trace's p99 suffers too.
 */
export function fixedWorkTail(us, n) {
  let k = 1000;
  for (let r = 0; r < 8; r++) k = Math.max(1, Math.round((k * us) / stats(timeSpin(k, 50).t).median));
  const { t, sink } = timeSpin(k, n);
  return { ...stats(t), n: t.length, sink };
}

/** `spin(k)` timed `n` times, µs each (and what it computed, so that it is not optimised away) */
function timeSpin(k, n) {
  const t = [];
  let sink = 0;
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    sink ^= spin(k);
    t.push((performance.now() - t0) * 1000);
  }
  return { t, sink };
}

/**
 * The dump trace figure's measurement (bench/run.js, bench/tail.js): packets to the dump's first
 * 500 services, three passes, after a warm-up on the next 500 (timeTraces).
 */
export function timeDumpTraces(dump, nf) {
  return timeTraces(nf, servicePackets(dump, 0, 500), servicePackets(dump, 500, 500), 3);
}

/**
 * Bytes allocated per traced packet: the heap's growth over a pass of `pkts` (already traced
 * once), the median of five passes (a pass during which a collection ran shrinks the heap, and
 * is left out).
 */
export function bytesPerTrace(nf, pkts) {
  const ins = pkts.map((p) => ({ ...p }));
  for (const p of ins) traceRules(nf, p);
  const per = [];
  for (let r = 0; r < 7 && per.length < 5; r++) {
    const h0 = process.memoryUsage().heapUsed;
    for (const p of ins) traceRules(nf, p);
    const d = process.memoryUsage().heapUsed - h0;
    if (d > 0) per.push(d / ins.length);
  }
  return per.length === 0 ? NaN : stats(per).median;
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
    const warm = packets(dump, 500, 1);
    const ix = timeTraces(nf, pkts, warm, 3);
    const lin = timeTraces(nf, pkts, warm.slice(0, 25), n >= 10000 ? 1 : 2, true);
    const bytes = bytesPerTrace(nf, pkts);
    console.log(
      `${String(n).padStart(6)} services ${String(dump.rules).padStart(7)} rules  load ${load.toFixed(0).padStart(5)} ms (cpu ${loadCpu.toFixed(0)} ms)   ` +
        `trace median ${ix.median.toFixed(1).padStart(6)} µs p99 ${ix.p99.toFixed(1).padStart(7)} µs (cpu mean ${ix.cpu.toFixed(1)} µs, ${(bytes / 1024).toFixed(1)} kB allocated)   ` +
        `linear median ${lin.median.toFixed(0).padStart(6)} µs p99 ${lin.p99.toFixed(0).padStart(6)} µs (cpu mean ${lin.cpu.toFixed(0)} µs)   speed-up ×${(lin.median / ix.median).toFixed(1)}`,
    );
  }
}

if (import.meta.url === `file://${process.argv[1]}`) benchRules(process.argv.slice(2).map(Number).filter((x) => x > 0).length > 0 ? process.argv.slice(2).map(Number) : undefined);
