// node bench/runbook.js: folding big runbooks, next to loading the same iptables rules through
// iptables-restore in netpath. Each case runs in its own child process (cold, as a CLI run is),
// which reports wall time, CPU time and peak RSS of: loading the model file, parsing the runbook
// and folding it (netpath check/show do exactly this before any probe).
//   10k `ip route add`, 10k `iptables -A`, 100k mixed lines (40% routes, 40% filter rules, 10%
//   DNAT rules, 10% policy rules); baseline: a restore file with the same iptables rules (for the
//   route case: as many rules as the runbook has lines).
// Targets (docs/runbook-commands.md "Size"): within 3x of the restore baseline; 100k lines under
// 5 s and 1 GB. Figures only; never asserts. Run after `npm run build`.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ip = (i) => `${11 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}.0`;
const filterRule = (i) => `-A FORWARD -s ${ip(i)}/24 -p tcp -m tcp --dport ${1 + (i % 60000)} -j ACCEPT`;
const natRule = (i) => `-A PREROUTING -d ${ip(i).replace(/0$/, '1')}/32 -p tcp -m tcp --dport 80 -j DNAT --to-destination 10.0.0.2:8080`;

/** The runbook lines and the equivalent restore file of one case. */
export function makeCase(kind, n) {
  const lines = ['ip link add d0 type veth peer name d1', 'ip addr add 10.0.0.1/8 dev d0', 'ip link set d0 up', 'ip link set d1 up'];
  const filter = [];
  const nat = [];
  for (let i = 0; i < n; i++) {
    const k = kind === 'route' ? 0 : kind === 'iptables' ? 5 : i % 10;
    if (k < 4) {
      lines.push(`ip route add ${ip(i)}/24 via 10.0.0.2`);
      if (kind === 'route') filter.push(filterRule(i));
    } else if (k < 8) {
      lines.push(`iptables ${filterRule(i)}`);
      filter.push(filterRule(i));
    } else if (k === 8) {
      lines.push(`iptables -t nat ${natRule(i)}`);
      nat.push(natRule(i));
    } else lines.push(`ip rule add fwmark ${i} table ${100 + (i % 100)}`);
  }
  const yaml = `hosts:\n  h:\n    run: |\n${lines.map((l) => `      ${l}`).join('\n')}\n`;
  const rules = `*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n${filter.join('\n')}\nCOMMIT\n*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n${nat.join('\n')}${nat.length ? '\n' : ''}COMMIT\n`;
  return { yaml, rules, lines: lines.length, ruleCount: filter.length + nat.length };
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

function run(job, file) {
  const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--child', job, file], { encoding: 'utf8', maxBuffer: 1 << 20 });
  if (r.status !== 0) throw new Error(`${job} ${file}: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

export function benchRunbooks(cases = [['route', 10000], ['iptables', 10000], ['mixed', 100000]]) {
  const dir = mkdtempSync(join(tmpdir(), 'netpath-bench-'));
  try {
    console.log('\nrunbook fold (load + parse + fold, cold process) vs the same rules through iptables-restore in netpath:');
    for (const [kind, n] of cases) {
      const c = makeCase(kind, n);
      const yamlFile = join(dir, `${kind}-${n}.yaml`);
      const rulesFile = join(dir, `${kind}-${n}.rules`);
      writeFileSync(yamlFile, c.yaml);
      writeFileSync(rulesFile, c.rules);
      const a = run('runbook', yamlFile);
      const b = run('restore', rulesFile);
      const fmt = (x) => `${x.wall.toFixed(0).padStart(6)} ms (cpu ${x.cpu.toFixed(0).padStart(6)}) rss ${x.rssMB.toFixed(0).padStart(4)} MB`;
      console.log(`${`${n} ${kind} lines (${c.lines} lines)`.padEnd(34)} runbook ${fmt(a)}`);
      console.log(`${`  restore of ${c.ruleCount} rules`.padEnd(34)} restore ${fmt(b)}   runbook/restore cpu ${(a.cpu / b.cpu).toFixed(1)}x`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--child') await child(process.argv[3], process.argv[4]);
else if (import.meta.url === `file://${process.argv[1]}`) benchRunbooks();
