// npm run bench: every performance figure of the project, each printed with its measured value,
// its target, the ratio and the baseline it is compared with, all measured in this run (the
// summary table at the end; docs/performance.md has one full run). Details follow each section.
// Figures only; never asserts. Run after `npm run build` (the script does).
//
// Wall-clock times suffer on a busy machine; where a figure is a whole process, the CPU time of
// the child (user + system, from /proc/self/stat's cutime and cstime) is printed next to it.
import { spawnSync } from 'node:child_process';
import { accessSync, constants as fsConstants, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { loadModel } from '../dist/plan/model.js';
import { buildWorld } from '../dist/world/build.js';
import { simulate } from '../dist/engine/probe.js';
import { parseIpv4 } from '../dist/wire/ipv4.js';
import { checkModel } from '../dist/cli/check.js';
import { captureFrames, pcapngBytes, writeCaptures } from '../dist/pcap/captures.js';
import { frameBytes, linuxTcpExtras } from '../dist/pcap/encode.js';
import { encodePcap } from '../dist/pcap/pcap.js';
import { EthernetRepr, ETHERTYPE } from '../dist/wire/ethernet.js';
import { ArpRepr } from '../dist/wire/arp.js';
import { IP_PROTO, Ipv4Repr } from '../dist/wire/ipv4-packet.js';
import { TcpRepr } from '../dist/wire/tcp.js';
import { UdpRepr } from '../dist/wire/udp.js';
import { IcmpRepr } from '../dist/wire/icmp.js';
import { kubeProxyDump } from '../dist/netfilter/kubegen.js';
import { parseIptablesRestore } from '../dist/netfilter/restore.js';
import { applyRestore, emptyNfState } from '../dist/netfilter/tables.js';
import { KERNEL } from '../dist/model/origin.js';
import { writeStar } from './star.js';
import { bytesPerTrace, fixedWorkTail, recurringTail, servicePackets, timeDumpTraces } from './rules.js';
import { benchExplain } from './explain.js';
import { headerPlan, headersOnly } from './headers.js';

const tmp = mkdtempSync(join(tmpdir(), 'netpath-bench-'));
// Captures (and scapy's baseline) are written into memory (tmpfs) where there is one: what is
// measured is the writers, not the disk. On a VM disk (ext4 mounted with discard) creating a file
// took 241 µs on average one day (strace -c; docs/performance.md, Captures) and far less another.
function writableDir(d) {
  try {
    accessSync(d, fsConstants.W_OK);
    return statSync(d).isDirectory();
  } catch {
    return false;
  }
}
const shm = writableDir('/dev/shm') ? '/dev/shm' : undefined;
const memTmp = shm === undefined ? tmp : mkdtempSync(join(shm, 'netpath-bench-'));
process.on('exit', () => {
  rmSync(tmp, { recursive: true, force: true });
  rmSync(memTmp, { recursive: true, force: true });
});
const SEED = 'models/seed-lan-container.yaml';

function stats(samples) {
  const s = [...samples].sort((a, b) => a - b);
  const q = (p) => s[Math.min(s.length - 1, Math.floor(p * s.length))];
  return { median: q(0.5), p99: q(0.99), min: s[0], n: s.length };
}

function bench(name, fn, { warmup = 200, runs = 2000 } = {}) {
  for (let i = 0; i < warmup; i++) fn();
  const times = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    fn();
    times.push((performance.now() - t0) * 1000);
  }
  const st = stats(times);
  console.log(`${name.padEnd(52)} median ${st.median.toFixed(1).padStart(8)} µs   p99 ${st.p99.toFixed(1).padStart(8)} µs   (n=${st.n})`);
  return st;
}

/** ms of CPU used by waited-for children so far (Linux: cutime + cstime, in clock ticks of 10 ms) */
function childCpuMs() {
  const f = readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ');
  return (Number(f[13]) + Number(f[14])) * 10;
}

/** Runs each command `n` times, interleaved; wall median and mean CPU (ms) of each. */
function processes(cmds, n) {
  const wall = cmds.map(() => []);
  const cpu = cmds.map(() => 0);
  for (let i = 0; i < n; i++)
    cmds.forEach(([cmd, ...args], j) => {
      const c0 = childCpuMs();
      const t0 = performance.now();
      const r = spawnSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
      wall[j].push(performance.now() - t0);
      cpu[j] += childCpuMs() - c0;
      if (r.status !== 0 && r.status !== 1) throw new Error(`${cmd} ${args.join(' ')}: exit ${r.status}: ${r.stderr}`);
    });
  return cmds.map((_, j) => ({ wall: stats(wall[j]).median, cpu: cpu[j] / n }));
}

// ---------------------------------------------------------------------------------------------
// the summary: one row per target

const rows = [];
/**
 * `better`: 'lower' (a time: ratio = measured / target, ≤ 1 meets it) or 'higher' (a rate:
 * ratio = measured / target, ≥ 1 meets it).
 */
function figure(name, measured, unit, target, better, baseline) {
  const ratio = measured / target;
  const met = better === 'lower' ? ratio <= 1 : ratio >= 1;
  rows.push({ name, measured: `${fmt(measured)} ${unit}`, target: `${better === 'lower' ? '≤' : '≥'} ${fmt(target)} ${unit}`, ratio: `${ratio.toFixed(2)}`, met: met ? 'met' : 'NOT MET', baseline });
}
const fmt = (x) => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));

/**
 * Runs a bench file in a process of its own (a fresh heap: the sections before it leave theirs):
 * its printed lines are passed on, and its `FIGURE [...]` lines go into the summary.
 */
function ownProcess(file, ...args) {
  const r = spawnSync(process.execPath, [file, ...args], { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (r.status !== 0) throw new Error(`${file}: exit ${r.status}: ${r.stderr}`);
  for (const line of r.stdout.split('\n')) {
    if (line.startsWith('FIGURE ')) figure(...JSON.parse(line.slice(7)));
    else if (line !== '') console.log(line);
  }
}

function printSummary() {
  const head = { name: 'figure', measured: 'measured', target: 'target', ratio: 'measured/target', met: '', baseline: 'baseline (same run)' };
  const all = [head, ...rows];
  const keys = ['name', 'measured', 'target', 'ratio', 'met'];
  const w = keys.map((k) => Math.max(...all.map((r) => r[k].length)));
  console.log('\n=== summary (targets: docs/performance.md) ===');
  for (const r of all) console.log(`${keys.map((k, i) => r[k].padEnd(w[i])).join('  ')}  ${r.baseline}`);
}

// ---------------------------------------------------------------------------------------------
// 1. engine: the seed's whole exchange, next to building and parsing the same frames alone

console.log('=== engine: the seed model ===');
const seed = buildWorld(loadModel(SEED));
const to = parseIpv4('192.168.2.10');
const flow = { from: 'web1', to, port: 80, proto: 'tcp' };
const exchange = simulate(seed.world, flow)[0];
const frames = exchange.captures;
bench('seed probe: SYN until connect() returns', () => simulate(seed.world, flow, { fullTcp: false }));
const whole = bench(`seed probe: whole HTTP exchange (${frames.length} frame-hops)`, () => simulate(seed.world, flow));
const noSnat = buildWorld(loadModel('models/seed-no-snat.yaml'));
bench('seed without SNAT (timeout) probe', () => simulate(noSnat.world, flow, { fullTcp: false }));
bench('seed ping', () => simulate(seed.world, { from: 'web1', to, proto: 'icmp' }));
bench('load + build seed model', () => buildWorld(loadModel(SEED)), { warmup: 20, runs: 200 });

/**
 * two baselines: full frames (each frame's real bytes built from its fields through the pcap
 * encoder, payload, TCP options and checksums included, and parsed back with the wire parsers; the
 * TCP options of each segment are worked out once, before the loop), and the header-only ceiling
 * (bench/headers.js: headers written into one buffer and read back, nothing else)
 */
const tcpx = linuxTcpExtras(frames);
const extras = frames.map((c) => (c.frame.payload.kind === 'ip' && c.frame.payload.ip.l4.kind === 'tcp' ? tcpx(c.frame.payload.ip, c.frame.payload.ip.l4) : undefined));
let current;
const fixedExtras = () => current;
function buildAndParse() {
  let n = 0;
  for (let i = 0; i < frames.length; i++) {
    const c = frames[i];
    current = extras[i];
    const b = frameBytes(c.frame, fixedExtras);
    const eth = EthernetRepr.parse(b).value;
    if (eth.repr.ethertype === ETHERTYPE.arp) n += ArpRepr.parse(eth.payload).ok ? 1 : 0;
    else {
      const ip = Ipv4Repr.parse(eth.payload).value;
      const { src, dst, protocol } = ip.repr;
      const l4 = protocol === IP_PROTO.tcp ? TcpRepr.parse(ip.payload, src, dst) : protocol === IP_PROTO.udp ? UdpRepr.parse(ip.payload, src, dst) : IcmpRepr.parse(ip.payload);
      n += l4.ok ? 1 : 0;
    }
  }
  return n;
}
const full = bench(`full frames: encode + parse the same ${frames.length} frames`, buildAndParse, { warmup: 500, runs: 5000 });
const plan = headerPlan(frames);
const ceiling = bench(`header-only: write + read the same ${frames.length} frames' headers`, () => headersOnly(plan), { warmup: 2000, runs: 20000 });
const hopsPerS = (frames.length / whole.median) * 1e6;
const ceilingPerS = (frames.length / ceiling.median) * 1e6;
const fullPerS = (frames.length / full.median) * 1e6;
console.log(`frame-hops/s: engine ${fmt(hopsPerS / 1e6)} M, header-only ceiling ${fmt(ceilingPerS / 1e6)} M (engine at 1/${fmt(ceilingPerS / hopsPerS)} of the ceiling); full frames with payload and checksums ${fmt(fullPerS / 1e6)} M`);
figure('engine: seed whole exchange per probe', whole.median, 'µs', 50, 'lower', `header-only write+read of its ${frames.length} frames: ${fmt(ceiling.median)} µs (full frames: ${fmt(full.median)} µs)`);
figure('engine: frame-hops per second', hopsPerS / 1e6, 'M/s', 1, 'higher', `header-only ceiling: ${fmt(ceilingPerS / 1e6)} M frames/s (engine at 1/${fmt(ceilingPerS / hopsPerS)})`);

benchExplain(bench, figure, fmt);

// ---------------------------------------------------------------------------------------------
// 2. captures: per packet, pcap and pcapng, next to scapy's wrpcap on the same frames

console.log('\n=== captures: every bundled model\'s traces ===');
const models = readdirSync('models').filter((f) => f.endsWith('.yaml')).sort();
const modelTraces = models.flatMap((m) => checkModel(join('models', m)).traces.flat());
const perCopy = modelTraces.reduce((n, t) => n + t.captures.length, 0);
const copies = Math.max(1, Math.ceil(10000 / perCopy));
const traces = Array.from({ length: copies }, () => modelTraces).flat();
const packets = perCopy * copies;
console.log(`${models.length} models, ${modelTraces.length} traces, ${perCopy} packets; ×${copies} = ${packets} packets per file set`);
// each side is timed as scapy's script times itself: the best of its runs (here 5 after a warm-up,
// scapy's 3), wall clock and CPU time (user + system) of the writing process
const pcapRuns = [];
const pcapngRuns = [];
const pcapCpu = [];
const pcapngCpu = [];
/** ms of CPU this process used so far (user + system) */
const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
for (let r = 0; r < 6; r++) {
  const c0 = cpuMs();
  const t0 = performance.now();
  writeCaptures(traces, join(memTmp, 'pcap'));
  const t1 = performance.now();
  const c1 = cpuMs();
  writeFileSync(join(memTmp, 'all.pcapng'), pcapngBytes(traces));
  const t2 = performance.now();
  const c2 = cpuMs();
  if (r > 0) pcapRuns.push(t1 - t0), pcapngRuns.push(t2 - t1), pcapCpu.push(c1 - c0), pcapngCpu.push(c2 - c1); // the first run warms up
}
const perPacket = (runs) => (stats(runs).min * 1000) / packets;
const pcapUs = perPacket(pcapRuns);
const pcapngUs = perPacket(pcapngRuns);
const pcapCpuUs = perPacket(pcapCpu);
const pcapngCpuUs = perPacket(pcapngCpu);
console.log(`--pcap   (frames, one file per interface, written):          ${fmt(pcapUs)} µs/packet (CPU ${fmt(pcapCpuUs)}), ${fmt(1e6 / pcapUs / 1000)} k packets/s (best of ${pcapRuns.length}; median ${fmt((stats(pcapRuns).median * 1000) / packets)})`);
console.log(`--pcapng (frames, comments, one file, written):               ${fmt(pcapngUs)} µs/packet (CPU ${fmt(pcapngCpuUs)}), ${fmt(1e6 / pcapngUs / 1000)} k packets/s (best of ${pcapngRuns.length}; median ${fmt((stats(pcapngRuns).median * 1000) / packets)})`);
const written = shm === undefined ? 'the disk (no tmpfs at /dev/shm)' : `tmpfs (${shm})`;
// the same --pcap on the disk, as a detail: the files' creation is the file system's cost
const diskRuns = [];
for (let r = 0; r < 6; r++) {
  const t0 = performance.now();
  writeCaptures(traces, join(tmp, 'pcap'));
  if (r > 0) diskRuns.push(performance.now() - t0);
}
console.log(`written into ${written}; --pcap into ${tmpdir()} instead: ${fmt(perPacket(diskRuns))} µs/packet (best of ${diskRuns.length}; median ${fmt((stats(diskRuns).median * 1000) / packets)})`);

const scapyPy = ['python3', '/usr/bin/python3'].find((py) => spawnSync(py, ['-c', 'import scapy'], { stdio: 'ignore' }).status === 0);
if (scapyPy) {
  const one = join(memTmp, 'models.pcap');
  writeFileSync(one, encodePcap(captureFrames(modelTraces).map((f) => ({ tUs: f.tUs, data: f.data }))));
  const repeat = Math.max(1, Math.ceil(3000 / perCopy));
  const r = spawnSync(scapyPy, ['bench/scapy_wrpcap.py', one, join(memTmp, 'scapy.pcap'), String(repeat)], { encoding: 'utf8' });
  const [n, s, cs] = r.stdout.trim().split(' ').map(Number);
  if (r.status !== 0 || !(n > 0)) console.log(`scapy: failed: ${r.stderr}`);
  else {
    const scapyUs = (s * 1e6) / n;
    const scapyCpuUs = (cs * 1e6) / n;
    console.log(`scapy wrpcap (${scapyPy}), the same frames built from their fields: ${fmt(scapyUs)} µs/packet (CPU ${fmt(scapyCpuUs)}), ${fmt(1e6 / scapyUs / 1000)} k packets/s (n=${n}, best of 3)`);
    console.log(`CPU time ratios: --pcap ×${fmt(scapyCpuUs / pcapCpuUs)}, --pcapng ×${fmt(scapyCpuUs / pcapngCpuUs)} (steadier than wall clock on a busy machine)`);
    figure('captures: --pcap vs scapy wrpcap, per packet', scapyUs / pcapUs, '×', 100, 'higher', `scapy wrpcap ${fmt(scapyUs)} µs/packet, netpath --pcap ${fmt(pcapUs)} µs/packet (CPU: ×${fmt(scapyCpuUs / pcapCpuUs)})`);
    figure('captures: --pcapng vs scapy wrpcap, per packet', scapyUs / pcapngUs, '×', 100, 'higher', `scapy wrpcap ${fmt(scapyUs)} µs/packet, netpath --pcapng ${fmt(pcapngUs)} µs/packet (CPU: ×${fmt(scapyCpuUs / pcapngCpuUs)})`);
  }
} else {
  console.log('scapy: not installed (python3 -c "import scapy" fails): no baseline for captures; apt-get install python3-scapy');
  rows.push({ name: 'captures: vs scapy wrpcap', measured: '-', target: '≥ 100 ×', ratio: '-', met: 'no baseline', baseline: 'scapy not installed (apt-get install python3-scapy)' });
}
figure('captures: --pcapng cost over --pcap', pcapngUs / pcapUs, '×', 1.5, 'lower', `--pcap ${fmt(pcapUs)} µs/packet`);

// ---------------------------------------------------------------------------------------------
// 3. start-up: a whole `netpath check` of the seed, next to node -e 0

console.log('\n=== start-up: whole processes, interleaved ===');
const [bare, check] = processes([[process.execPath, '-e', '0'], [process.execPath, 'bin/netpath.js', 'check', SEED]], 15);
console.log(`node -e 0:                 wall median ${fmt(bare.wall)} ms, CPU ${fmt(bare.cpu)} ms`);
console.log(`netpath check (the seed):  wall median ${fmt(check.wall)} ms, CPU ${fmt(check.cpu)} ms  (×${(check.wall / bare.wall).toFixed(2)} wall, ×${(check.cpu / bare.cpu).toFixed(2)} CPU)`);
figure('start-up: netpath check seed, whole process', check.wall / bare.wall, '× node -e 0', 1.6, 'lower', `node -e 0: ${fmt(bare.wall)} ms wall (CPU: ×${(check.cpu / bare.cpu).toFixed(2)}, ${fmt(check.cpu)} vs ${fmt(bare.cpu)} ms)`);

// ---------------------------------------------------------------------------------------------
// 4. scaling: a star of N containers on one bridge (bench/star.js)

console.log('\n=== scaling: a star of N containers behind one bridge, one probe per container ===');
// in a process of its own, as the nftables section (bench/star.js)
ownProcess('bench/star.js', '--figures');
const f1000 = writeStar(tmp, 1000);
const [star1000] = processes([[process.execPath, 'bin/netpath.js', 'check', f1000]], 3);
console.log(` 1000 containers, netpath check whole process: wall ${fmt(star1000.wall)} ms, CPU ${fmt(star1000.cpu)} ms`);
figure('scaling: netpath check star of 1,000, whole process', star1000.wall, 'ms', 2000, 'lower', `node -e 0: ${fmt(bare.wall)} ms; CPU ${fmt(star1000.cpu)} ms`);

// ---------------------------------------------------------------------------------------------
// 5. dumps: generated kube-proxy dumps

console.log('\n=== dumps: generated kube-proxy dumps (iptables mode) ===');
function loadDumpMs(dump, runs) {
  const t = [];
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    applyRestore(emptyNfState(), parseIptablesRestore(dump.text, 'kube.rules'), false, KERNEL);
    t.push(performance.now() - t0);
  }
  // the best of the runs, as a timer of deterministic work reads it (a busy machine only adds)
  const st = stats(t);
  return { best: st.min, median: st.median, first: t[0], runs };
}
/** how a load was taken, for the printed line */
const loadRuns = (l) => `best of ${l.runs}; median ${fmt(l.median)}, first ${fmt(l.first)} ms`;
const d10 = kubeProxyDump({ services: 10000 });
const l10 = loadDumpMs(d10, 3);
const load10 = l10.best;
console.log(`10k services (${d10.rules} rules): load in process ${fmt(load10)} ms (${loadRuns(l10)})`);
figure('dumps: load 10k services, in process', load10, 'ms', 500, 'lower', `${d10.rules} rules; ${loadRuns(l10)}`);
const dumpFile = join(tmp, 'kube-10k.rules');
writeFileSync(dumpFile, d10.text);
const svc = d10.services.find((s) => s.endpoints.length > 0 && s.proto === 'tcp');
const [rulesProc] = processes([[process.execPath, 'bin/netpath.js', 'rules', 'trace', dumpFile, '--src', '10.0.0.2', '--dst', `${(svc.clusterIp >>> 24) & 255}.${(svc.clusterIp >>> 16) & 255}.${(svc.clusterIp >>> 8) & 255}.${svc.clusterIp & 255}:${svc.port}`, '--local', '10.0.0.1']], 3);
console.log(`10k services: netpath rules trace whole process ${fmt(rulesProc.wall)} ms wall, CPU ${fmt(rulesProc.cpu)} ms`);
figure('dumps: netpath rules trace 10k services, whole process', rulesProc.wall, 'ms', 800, 'lower', `node -e 0: ${fmt(bare.wall)} ms; CPU ${fmt(rulesProc.cpu)} ms`);
const nf10 = applyRestore(emptyNfState(), parseIptablesRestore(d10.text, 'kube.rules'), false, KERNEL);
// packets to the first 500 services, three passes, every trace counted (the first pass walks their
// chains for the first time); before them the tracer is warmed up on the next 500 services (six
// passes), so that the figure is the compiled tracer's and not V8's compiling it (bench/rules.js)
const tr10 = timeDumpTraces(d10, nf10);
const bytes10 = bytesPerTrace(nf10, servicePackets(d10, 0, 500));
// the machine's tail at the same timer: a fixed loop of the traces' median, as many times
const noise = fixedWorkTail(tr10.median, tr10.n);
console.log(`10k services, in this process (after the sections above): rules trace median ${fmt(tr10.median)} µs, p99 ${fmt(tr10.p99)} µs (n=${tr10.n}; CPU mean ${fmt(tr10.cpu)} µs; ${fmt(bytes10 / 1024)} kB allocated per trace); a fixed loop of ${fmt(noise.median)} µs, timed ${noise.n} times: p99 ${fmt(noise.p99)} µs`);
// The figure: the same measurement in five processes of their own, as `netpath rules trace` runs
// (the dump loaded, nothing before it), and the median of their p99: one process's p99 is a
// single draw of a machine whose load comes in bursts (docs/performance.md).
const tailRuns = [];
for (let r = 0; r < 5; r++) {
  const run = spawnSync(process.execPath, ['bench/tail.js'], { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (run.status !== 0) throw new Error(`bench/tail.js: exit ${run.status}: ${run.stderr}`);
  tailRuns.push(JSON.parse(run.stdout));
}
const own = tailRuns.map((t) => stats(t.samples));
const ownP99s = own.map((o) => o.p99);
const ownP99 = stats(ownP99s).median;
const ownMedian = stats(own.map((o) => o.median)).median;
const fixedP99s = tailRuns.map((t) => t.fixed.p99);
const listed = (xs) => xs.map((x) => fmt(x)).join(', ');
console.log(`10k services, each in a process of its own (5): rules trace p99 ${listed(ownP99s)} µs (median ${fmt(ownP99)}); trace median ${fmt(ownMedian)} µs; a fixed loop of the traces' median, as often: p99 ${listed(fixedP99s)} µs`);
figure('dumps: rules trace p99 at 10k services', ownP99, 'µs', 50, 'lower', `own process, median of 5 runs' p99 (${listed(ownP99s)}); trace median ${fmt(ownMedian)} µs; ${fmt(bytes10 / 1024)} kB allocated per trace; a fixed loop's p99: ${listed(fixedP99s)} µs; after the other sections, in their process: ${fmt(tr10.p99)} µs`);
// the same five runs: the median of each trace over them, and its p99
const tail = recurringTail(tailRuns.map((t) => t.samples));
console.log(`10k services: rules trace, each trace's median over the 5 processes: median ${fmt(tail.median)} µs, p99 ${fmt(tail.p99)} µs (n=${tail.n})`);
figure('dumps: rules trace p99 at 10k services, what recurs (per-trace median of 5 processes)', tail.p99, 'µs', 50, 'lower', `each process's own p99: ${listed(ownP99s)} µs`);
const d40 = kubeProxyDump({ services: 40000 });
const l40 = loadDumpMs(d40, 2);
const load40 = l40.best;
console.log(`40k services (${d40.rules} rules): load in process ${fmt(load40)} ms (${loadRuns(l40)})`);
figure('dumps: load 40k services, in process', load40, 'ms', 2000, 'lower', `${loadRuns(l40)}; 10k: ${fmt(load10)} ms`);

// ---------------------------------------------------------------------------------------------
// 6. verify: every flow of the invariants, service matrix and dump diff at 10k services (bench/verify.js)

const { benchVerify } = await import('./verify.js');
benchVerify(figure, tmp);

// ---------------------------------------------------------------------------------------------
// 7. runbooks: big runbooks folded, next to as many rules through iptables-restore (bench/runbook.js)

const { benchRunbooks } = await import('./runbook.js');
benchRunbooks(figure);

// ---------------------------------------------------------------------------------------------
// 8. nftables: kube-proxy nftables mode at 10k services, next to iptables mode (bench/nft.js), in
// a process of its own (the heap the sections above leave behind is not a user's)

const { benchNft } = await import('./nft.js');
ownProcess('bench/nft.js', '10000', '--figures');

printSummary();

// ---------------------------------------------------------------------------------------------
// before/after: `--before DIR` names another built checkout (npm ci there, or dist/ and bin/ of an
// older commit); its engine and CLI are measured interleaved with this one's, in this run

const beforeAt = process.argv.indexOf('--before');
if (beforeAt > 0 && process.argv[beforeAt + 1]) {
  const dir = process.argv[beforeAt + 1];
  const old = {
    simulate: (await import(join(dir, 'dist/engine/probe.js'))).simulate,
    buildWorld: (await import(join(dir, 'dist/world/build.js'))).buildWorld,
    loadModel: (await import(join(dir, 'dist/plan/model.js'))).loadModel,
  };
  console.log(`\n=== before (${dir}) and after (this checkout), interleaved in this run ===`);
  const oldSeed = old.buildWorld(old.loadModel(SEED)).world;
  /** medians of both, measured in alternating batches of 100 */
  const pair = (name, a, b, batches = 20) => {
    const ta = [];
    const tb = [];
    for (let i = 0; i < 200; i++) a(), b();
    for (let k = 0; k < batches; k++)
      for (const [fn, out] of [[a, ta], [b, tb]])
        for (let i = 0; i < 100; i++) {
          const t0 = performance.now();
          fn();
          out.push((performance.now() - t0) * 1000);
        }
    const ma = stats(ta).median;
    const mb = stats(tb).median;
    console.log(`${name.padEnd(44)} before ${fmt(ma).padStart(7)} µs   after ${fmt(mb).padStart(7)} µs   (×${(ma / mb).toFixed(2)} faster)`);
  };
  pair('seed probe: whole HTTP exchange', () => old.simulate(oldSeed, flow), () => simulate(seed.world, flow));
  pair('seed probe: SYN until connect() returns', () => old.simulate(oldSeed, flow, { fullTcp: false }), () => simulate(seed.world, flow, { fullTcp: false }));
  pair('seed ping', () => old.simulate(oldSeed, { from: 'web1', to, proto: 'icmp' }), () => simulate(seed.world, { from: 'web1', to, proto: 'icmp' }));
  for (const n of [256, 512]) {
    const f = writeStar(tmp, n);
    const [b, a] = processes([[process.execPath, join(dir, 'bin/netpath.js'), 'check', f], [process.execPath, 'bin/netpath.js', 'check', f]], 1);
    console.log(`netpath check star of ${String(n).padEnd(4)} (whole process)    before ${fmt(b.wall)} ms wall, ${fmt(b.cpu)} ms CPU   after ${fmt(a.wall)} ms wall, ${fmt(a.cpu)} ms CPU   (CPU ×${(b.cpu / a.cpu).toFixed(2)})`);
  }
  // the scaling section of both builds, before then after, each in a process of its own
  for (const [label, args] of [['before', ['--dist', join(dir, 'dist')]], ['after', []]]) {
    const r = spawnSync(process.execPath, ['bench/star.js', ...args], { encoding: 'utf8', maxBuffer: 1 << 24 });
    if (r.status !== 0) throw new Error(`bench/star.js ${args.join(' ')}: exit ${r.status}: ${r.stderr}`);
    console.log(`scaling, ${label}:`);
    for (const line of r.stdout.split('\n')) if (line !== '') console.log(`  ${line}`);
  }
}

// ---------------------------------------------------------------------------------------------
// details of other areas

if (!process.argv.includes('--summary')) {
  // rules trace on generated kube-proxy dumps (bench/rules.js)
  const { benchRules } = await import('./rules.js');
  benchRules();

  // kube-proxy nftables mode next to iptables mode (bench/nft.js)
  benchNft([1000]);

  // the 10k-service load split into parse and apply, CPU and wall (bench/load.js)
  const { benchLoad } = await import('./load.js');
  console.log('\nload of a generated 10k-service dump, parse and apply separately (wall, and CPU time of this process):');
  benchLoad(10000, 3);
  const { benchLoadTargets } = await import('./load.js');
  await benchLoadTargets();
}
