// npm run bench, nftables section: kube-proxy nftables mode for 1k and 10k services (its verdict
// maps) — load (parse + apply as one transaction) and per-packet rules trace, next to the same
// services in iptables mode. Figures only; never asserts. Targets: 10k load < 1 s, trace < 20 µs.
//
// bench/run.js runs this file in a process of its own (`--figures`): the sections before it leave
// a heap of a gigabyte and more behind (the 10k-service matrix), which a user loading one ruleset
// never has. The load is the median of three, each mode measured the same way; the first (cold)
// load is printed beside it. Traces are timed after every packet has been traced ten times (the
// walk compiled, as in a process that traces more than a handful of packets), in both modes.
import { performance } from 'node:perf_hooks';
import { kubeProxyNftDump } from '../dist/nft/kubegen.js';
import { parseNftFile } from '../dist/nft/parse.js';
import { applyNft } from '../dist/nft/ruleset.js';
import { EMPTY_NFT } from '../dist/nft/types.js';
import { traceHost } from '../dist/nft/trace.js';
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

function packets(services, n) {
  const out = [];
  const step = Math.max(1, Math.floor(services.length / n));
  for (let k = 0; k < services.length && out.length < n; k += step) {
    const s = services[k];
    out.push({ src: 0x0a000002, sport: 40000 + (k % 20000), dst: s.clusterIp, dport: s.port, proto: s.proto, iif: 'eth0', oif: 'cni0', local: [0x0a000001, 0x0af40001] });
  }
  return out;
}

function time(fn, pkts, reps) {
  for (let r = 0; r < 10; r++) for (const p of pkts) fn(p);
  const t = [];
  for (let r = 0; r < reps; r++) {
    for (const p of pkts) {
      const t0 = performance.now();
      fn(p);
      t.push((performance.now() - t0) * 1000);
    }
  }
  return stats(t);
}

/**
 * `figure` (bench/run.js): when given, the 10k figures go into the summary, each with its
 * target and the iptables-mode figure of the same services measured in this run as baseline.
 */
export function benchNft(sizes = [1000, 10000], figure = undefined) {
  console.log('\nnftables: kube-proxy nftables mode (verdict maps) vs iptables mode, same services (targets at 10k: load < 1 s, trace < 20 µs):');
  const cpu = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
  };
  for (const n of sizes) {
    const d = kubeProxyNftDump({ services: n });
    const ipt = kubeProxyDump({ services: n });
    // three loads of each mode, interleaved; medians (the first of each is its cold load)
    const loads = { parse: [], apply: [], cpu: [], ipt: [] };
    let nft;
    let nf;
    for (let r = 0; r < 3; r++) {
      nft = nf = undefined; // the last load is garbage before the next
      const c0 = cpu();
      const t0 = performance.now();
      const cmds = parseNftFile(d.text, 'kube-proxy.nft');
      const t1 = performance.now();
      nft = applyNft(EMPTY_NFT, cmds);
      const t2 = performance.now();
      loads.cpu.push(cpu() - c0);
      loads.parse.push(t1 - t0);
      loads.apply.push(t2 - t1);
      const i0 = performance.now();
      nf = applyRestore(emptyNfState(), parseIptablesRestore(ipt.text, 'kube.save'), false, KERNEL);
      loads.ipt.push(performance.now() - i0);
    }
    const total = loads.parse.map((x, k) => x + loads.apply[k]);
    const med = (xs) => stats(xs).median;
    const load = med(total);
    const pk = packets(d.services, 200);
    const tn = time((p) => traceHost({ nft }, p), pk, 5);
    const ti = time((p) => traceRules(nf, p), pk, 5);
    console.log(
      `  ${String(n).padStart(6)} services  nft: load ${load.toFixed(0).padStart(5)} ms (parse ${med(loads.parse).toFixed(0)}, apply ${med(loads.apply).toFixed(0)}; cpu ${med(loads.cpu).toFixed(0)} ms; cold ${total[0].toFixed(0)} ms), ` +
        `trace median ${tn.median.toFixed(1)} µs p99 ${tn.p99.toFixed(1)} µs   |   iptables: load ${med(loads.ipt).toFixed(0).padStart(5)} ms (cold ${loads.ipt[0].toFixed(0)}), trace median ${ti.median.toFixed(1)} µs p99 ${ti.p99.toFixed(1)} µs`,
    );
    if (figure && n === 10000) {
      figure('nftables: load 10k services (kube-proxy nft mode), in process', load, 'ms', 1000, 'lower', `parse ${med(loads.parse).toFixed(0)} + apply ${med(loads.apply).toFixed(0)} ms, CPU ${med(loads.cpu).toFixed(0)} ms, cold ${total[0].toFixed(0)} ms; iptables mode: ${med(loads.ipt).toFixed(0)} ms`);
      figure('nftables: rules trace median at 10k services', tn.median, 'µs', 20, 'lower', `p99 ${tn.p99.toFixed(1)} µs; iptables mode: median ${ti.median.toFixed(1)} µs, p99 ${ti.p99.toFixed(1)} µs`);
    }
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const sizes = process.argv.slice(2).map(Number).filter((x) => x > 0);
  // --figures: the summary's figures as JSON lines after the printed details (read by bench/run.js)
  const figures = [];
  benchNft(sizes.length > 0 ? sizes : undefined, process.argv.includes('--figures') ? (...f) => figures.push(f) : undefined);
  for (const f of figures) console.log(`FIGURE ${JSON.stringify(f)}`);
}
