// node bench/runbook.js: folding big runbooks, next to loading iptables rules through
// iptables-restore in netpath. Each run is its own child process (cold, as a CLI run is), which
// reports wall time, CPU time (all threads: user + system) and peak RSS of: importing the modules,
// loading the model file, parsing the runbook and folding it (netpath check/show do exactly this
// before any probe); the restore side imports its modules, parses the file and applies it.
//   10k `ip route add`, 10k `iptables -A`, 100k mixed lines (40% routes, 40% filter rules, 10%
//   DNAT rules, 10% policy rules).
// The baseline restores as many rules as the runbook has command lines: the runbook's own
// iptables rules, and for each line that iptables-restore cannot express (a route, a policy
// rule) a filter rule of the same shape as the others in its place. So both sides parse and
// apply the same number of lines; the 4 lines that make the device (link, address, up) are not
// matched. The mixed case also shows the restore of its own 50k rules alone, for reference.
// Targets (docs/runbook-commands.md "Size"): within 3x of the restore baseline (CPU); 100k lines
// under 5 s and 1 GB. Each figure is the median of 3 runs, runbook and restore interleaved.
// Figures only; never asserts. Run after `npm run build`.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ip = (i) => `${11 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}.0`;
const filterRule = (i) => `-A FORWARD -s ${ip(i)}/24 -p tcp -m tcp --dport ${1 + (i % 60000)} -j ACCEPT`;
const natRule = (i) => `-A PREROUTING -d ${ip(i).replace(/0$/, '1')}/32 -p tcp -m tcp --dport 80 -j DNAT --to-destination 10.0.0.2:8080`;

const restoreFile = (filter, nat) =>
  `*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n${filter.map((r) => `${r}\n`).join('')}COMMIT\n*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n${nat.map((r) => `${r}\n`).join('')}COMMIT\n`;

/**
 * The runbook of one case; `rules`: the restore baseline, one rule per command line (the
 * runbook's own iptables rules, a stand-in filter rule for each route and policy rule line);
 * `ownRules`: the runbook's own iptables rules alone.
 */
export function makeCase(kind, n) {
  const lines = ['ip link add d0 type veth peer name d1', 'ip addr add 10.0.0.1/8 dev d0', 'ip link set d0 up', 'ip link set d1 up'];
  const filter = [];
  const ownFilter = [];
  const nat = [];
  for (let i = 0; i < n; i++) {
    const k = kind === 'route' ? 0 : kind === 'iptables' ? 5 : i % 10;
    if (k < 4 || k === 9) {
      lines.push(k < 4 ? `ip route add ${ip(i)}/24 via 10.0.0.2` : `ip rule add fwmark ${i} table ${100 + (i % 100)}`);
      filter.push(filterRule(i));
    } else if (k < 8) {
      lines.push(`iptables ${filterRule(i)}`);
      filter.push(filterRule(i));
      ownFilter.push(filterRule(i));
    } else {
      lines.push(`iptables -t nat ${natRule(i)}`);
      nat.push(natRule(i));
    }
  }
  const yaml = `hosts:\n  h:\n    run: |\n${lines.map((l) => `      ${l}`).join('\n')}\n`;
  return {
    yaml,
    rules: restoreFile(filter, nat),
    ruleCount: filter.length + nat.length,
    ownRules: restoreFile(ownFilter, nat),
    ownRuleCount: ownFilter.length + nat.length,
    lines: lines.length,
  };
}

const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

/** In the child: time one job and print {wall, cpu, rssMB} as JSON. */
async function child(job, file) {
  const w0 = performance.now();
  const c0 = cpuMs();
  if (job === 'runbook') {
    const { loadModel } = await import('../dist/plan/model.js');
    const { buildWorld } = await import('../dist/world/build.js');
    buildWorld(loadModel(file));
  } else {
    const { readFileSync } = await import('node:fs');
    const { parseIptablesRestore } = await import('../dist/netfilter/restore.js');
    const { applyRestore, emptyNfState } = await import('../dist/netfilter/tables.js');
    const { KERNEL } = await import('../dist/model/origin.js');
    applyRestore(emptyNfState(), parseIptablesRestore(readFileSync(file, 'utf8'), file), false, KERNEL);
  }
  const out = { wall: performance.now() - w0, cpu: cpuMs() - c0, rssMB: process.resourceUsage().maxRSS / 1024 };
  process.stdout.write(JSON.stringify(out));
}

function runOnce(job, file) {
  const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--child', job, file], { encoding: 'utf8', maxBuffer: 1 << 20 });
  if (r.status !== 0) throw new Error(`${job} ${file}: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

/** Each job `runs` times, interleaved; the median of each measure. */
function runJobs(jobs, runs) {
  const got = jobs.map(() => []);
  for (let r = 0; r < runs; r++) jobs.forEach(([job, file], j) => got[j].push(runOnce(job, file)));
  return got.map((xs) => ({ wall: median(xs.map((x) => x.wall)), cpu: median(xs.map((x) => x.cpu)), rssMB: median(xs.map((x) => x.rssMB)) }));
}

/**
 * Prints the cases; with `figure` (bench/run.js's summary), one row per target: each case's
 * runbook/restore CPU ratio, and the 100k case's wall time and peak RSS.
 */
export function benchRunbooks(figure, cases = [['route', 10000], ['iptables', 10000], ['mixed', 100000]], runs = 3) {
  const dir = mkdtempSync(join(tmpdir(), 'netpath-bench-'));
  const fmt = (x) => `${x.wall.toFixed(0).padStart(6)} ms (cpu ${x.cpu.toFixed(0).padStart(6)}) rss ${x.rssMB.toFixed(0).padStart(4)} MB`;
  try {
    console.log(`\nrunbook fold (import + load + parse + fold, cold process, median of ${runs}) vs as many rules through iptables-restore in netpath:`);
    for (const [kind, n] of cases) {
      const c = makeCase(kind, n);
      const yamlFile = join(dir, `${kind}-${n}.yaml`);
      const rulesFile = join(dir, `${kind}-${n}.rules`);
      const ownFile = join(dir, `${kind}-${n}-own.rules`);
      writeFileSync(yamlFile, c.yaml);
      writeFileSync(rulesFile, c.rules);
      const own = c.ownRuleCount !== c.ruleCount && c.ownRuleCount > 0;
      if (own) writeFileSync(ownFile, c.ownRules);
      const [a, b, o] = runJobs([['runbook', yamlFile], ['restore', rulesFile], ...(own ? [['restore', ownFile]] : [])], runs);
      const ratio = a.cpu / b.cpu;
      console.log(`${`${n} ${kind} lines (${c.lines} lines)`.padEnd(36)} runbook ${fmt(a)}`);
      console.log(`${`  restore of ${c.ruleCount} rules`.padEnd(36)} restore ${fmt(b)}   runbook/restore cpu ${ratio.toFixed(2)}x`);
      if (o) console.log(`${`  restore of its own ${c.ownRuleCount} rules`.padEnd(36)} restore ${fmt(o)}   runbook/restore cpu ${(a.cpu / o.cpu).toFixed(2)}x (not the target: half the lines)`);
      if (!figure) continue;
      const base = `restore of ${c.ruleCount} rules: ${b.cpu.toFixed(0)} ms CPU; runbook ${a.cpu.toFixed(0)} ms CPU`;
      figure(`runbooks: ${n / 1000}k ${kind} lines, fold / restore`, ratio, '×', 3, 'lower', base + (o ? `; own ${c.ownRuleCount} rules alone: ${o.cpu.toFixed(0)} ms` : ''));
      if (n >= 100000) {
        figure(`runbooks: ${n / 1000}k ${kind} lines, whole fold`, a.wall, 'ms', 5000, 'lower', `CPU ${a.cpu.toFixed(0)} ms; restore of ${c.ruleCount} rules: ${b.wall.toFixed(0)} ms`);
        figure(`runbooks: ${n / 1000}k ${kind} lines, peak RSS`, a.rssMB, 'MB', 1024, 'lower', `restore of ${c.ruleCount} rules: ${b.rssMB.toFixed(0)} MB`);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--child') await child(process.argv[3], process.argv[4]);
else if (import.meta.url === `file://${process.argv[1]}`) benchRunbooks();
