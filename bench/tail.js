// One run of the dump trace figure's measurement (bench/rules.js timeDumpTraces on 10k services),
// in a process of its own, as `netpath rules trace` runs: the dump loaded, nothing else run
// before. Prints JSON: each trace's time in µs (`samples`) and the machine's own tail measured
// right after in the same process (`fixed`: a fixed loop of the traces' median, as many times).
// bench/run.js runs it five times: the figure is the median of their p99, and the per-trace
// medians give the tail that recurs (recurringTail).
import { kubeProxyDump } from '../dist/netfilter/kubegen.js';
import { parseIptablesRestore } from '../dist/netfilter/restore.js';
import { applyRestore, emptyNfState } from '../dist/netfilter/tables.js';
import { KERNEL } from '../dist/model/origin.js';
import { fixedWorkTail, timeDumpTraces } from './rules.js';

const d = kubeProxyDump({ services: 10000 });
const nf = applyRestore(emptyNfState(), parseIptablesRestore(d.text, 'kube.rules'), false, KERNEL);
const tr = timeDumpTraces(d, nf);
const noise = fixedWorkTail(tr.median, tr.n);
const r2 = (x) => Math.round(x * 100) / 100;
console.log(JSON.stringify({ samples: tr.samples.map(r2), fixed: { median: r2(noise.median), p99: r2(noise.p99) } }));
