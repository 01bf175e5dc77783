// One run of the dump trace figure's measurement (bench/rules.js timeDumpTraces on 10k services),
// in a process of its own: prints each trace's time in µs as JSON.
// bench/run.js runs it several times for the tail that recurs (recurringTail).
import { kubeProxyDump } from '../dist/netfilter/kubegen.js';
import { parseIptablesRestore } from '../dist/netfilter/restore.js';
import { applyRestore, emptyNfState } from '../dist/netfilter/tables.js';
import { KERNEL } from '../dist/model/origin.js';
import { timeDumpTraces } from './rules.js';

const d = kubeProxyDump({ services: 10000 });
const nf = applyRestore(emptyNfState(), parseIptablesRestore(d.text, 'kube.rules'), false, KERNEL);
const tr = timeDumpTraces(d, nf);
console.log(JSON.stringify(tr.samples.map((x) => Math.round(x * 100) / 100)));
