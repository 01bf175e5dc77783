// npm run bench, scaling: a star of N containers behind one bridge (br0 on one host), each an
// `ip netns add` namespace on a veth whose host end is a br0 port, each listening on tcp/80;
// probe k: container k curls container k+1. Figures only; never asserts.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';

const addr = (k) => `10.1.${(k + 2) >> 8}.${(k + 2) & 255}`;

/** The model file text of a star of `n` containers (`probes`: how many, from container 0 on). */
/** the runbook of a star: br0, then per container the lines that make namespace k, and its veth into br0 */
function starRun(n, made) {
  const run = ['$ ip link add br0 type bridge', '$ ip addr add 10.1.0.1/16 dev br0', '$ ip link set br0 up'];
  for (let k = 0; k < n; k++) {
    run.push(
      ...made(k),
      `$ ip link add veth${k} type veth peer name vp${k}`,
      `$ ip link set veth${k} netns c${k}`,
      `$ ip link set vp${k} master br0`,
      `$ ip link set vp${k} up`,
      `$ ip netns exec c${k} ip addr add ${addr(k)}/16 dev veth${k}`,
      `$ ip netns exec c${k} ip link set veth${k} up`,
    );
  }
  return run;
}

export function starModel(n, probes = n) {
  const run = starRun(n, (k) => [`$ ip netns add c${k}`]);
  const lines = [`name: star of ${n} containers on br0`, 'hosts:', '  web2:', '    run: |', ...run.map((l) => `      ${l}`), 'services:'];
  for (let k = 0; k < n; k++) lines.push(`  - {at: c${k}, listen: tcp/80}`);
  lines.push('probes:');
  for (let k = 0; k < Math.min(n, probes); k++) lines.push(`  - {name: c${k} curl c${(k + 1) % n}, from: c${k}, to: "${addr((k + 1) % n)}:80", proto: tcp, expect: reachable}`);
  return lines.join('\n') + '\n';
}

/**
 * The same star made the Docker way (the seed article's): each container `docker run --network
 * none`, named for `ip netns` with `ln -s /proc/PID/ns/net /var/run/netns/NAME`, then wired with
 * a veth into br0. No probes: what it measures is the fold.
 */
export function dockerStarModel(n) {
  const run = starRun(n, (k) => [`$ docker run --name c${k} --rm --network none -d nginx:1.18-alpine`, `$ ln -s /proc/${1000 + k}/ns/net /var/run/netns/c${k}`]);
  return [`name: docker star of ${n} containers on br0`, 'hosts:', '  web2:', '    run: |', ...run.map((l) => `      ${l}`)].join('\n') + '\n';
}

/**
 * CPU ms (medians) of load + build of the Docker-way star at each size, `rounds` runs each,
 * sizes interleaved after a warm-up of each.
 */
export function measureDockerStar(api, dir, sizes, rounds) {
  const files = Object.fromEntries(sizes.map((n) => [n, join(dir, `docker-star-${n}.yaml`)]));
  for (const n of sizes) writeFileSync(files[n], dockerStarModel(n));
  for (const n of sizes) api.buildWorld(api.loadModel(files[n]));
  const cpu = Object.fromEntries(sizes.map((n) => [n, []]));
  for (let r = 0; r < rounds; r++) {
    for (const n of r % 2 === 0 ? sizes : [...sizes].reverse()) {
      const u0 = cpuMs();
      api.buildWorld(api.loadModel(files[n]));
      cpu[n].push(cpuMs() - u0);
    }
  }
  return Object.fromEntries(sizes.map((n) => [n, medianOf(cpu[n])]));
}

export function writeStar(dir, n, probes = n) {
  const f = join(dir, `star-${n}.yaml`);
  writeFileSync(f, starModel(n, probes));
  return f;
}

/** ms of CPU (user + system) this process used so far */
function cpuMs() {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/**
 * Wall and CPU times (ms) of a star of each size in `sizes`: load + build, and `check` (load +
 * build + one probe per container, reports only, as `netpath check` without --pcap), `rounds`
 * samples of each (more of the sizes below 1,024: as many as fit in the time of one 1,024, since a
 * small size's few milliseconds are the most disturbed by a pause). Every size is warmed up first
 * (the first checks compile the path, and a size's first check also grows the heap to it), then
 * the rounds interleave the sizes, each round in another order (it starts one size further and
 * alternates direction), so that a drift of the machine's load or of the heap touches every size
 * alike. `api`: loadModel, buildWorld and checkModel of the build to measure.
 */
export function measureStar(api, dir, sizes, rounds) {
  const files = Object.fromEntries(sizes.map((n) => [n, writeStar(dir, n)]));
  const runs = Object.fromEntries(sizes.map((n) => [n, { build: [], buildCpu: [], check: [], cpu: [] }]));
  api.checkModel(writeStar(dir, 64), { traces: false });
  for (const n of sizes) {
    api.buildWorld(api.loadModel(files[n]));
    api.checkModel(files[n], { traces: false });
  }
  for (let r = 0; r < rounds; r++) {
    const order = sizes.map((_, i) => sizes[(r + i) % sizes.length]);
    if (r % 2 === 1) order.reverse();
    for (const n of order)
      for (let k = Math.max(1, Math.round(1024 / n)); k > 0; k--) {
        const x = runs[n];
        const t0 = performance.now();
        const u0 = cpuMs();
        api.buildWorld(api.loadModel(files[n]));
        x.buildCpu.push(cpuMs() - u0);
        x.build.push(performance.now() - t0);
        const t1 = performance.now();
        const u1 = cpuMs();
        api.checkModel(files[n], { traces: false });
        x.cpu.push(cpuMs() - u1);
        x.check.push(performance.now() - t1);
      }
  }
  return runs;
}

const fmt = (x) => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));
const medianOf = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

/**
 * What measureStar's runs say, as lines to print, and the figure: the marginal cost per
 * container from 256 to 512 over that from 128 to 256, in CPU time (user + system of this
 * process, medians), the wall-clock ratio beside it. The marginals are differences of a few tens
 * of milliseconds: on a shared machine a check's wall time also counts the time other processes
 * held the core, which moves the wall ratio from run to run far more than the CPU ratio
 * (docs/performance.md). With sizes 1,024 and 2,048 measured, a line says whether the cost stays
 * linear beyond.
 */
export function reportStar(runs) {
  const sizes = Object.keys(runs).map(Number);
  const median = (k) => Object.fromEntries(sizes.map((n) => [n, medianOf(runs[n][k])]));
  const check = median('check');
  const cpu = median('cpu');
  const build = median('build');
  const buildCpu = median('buildCpu');
  const lines = sizes.map(
    (n) =>
      `${String(n).padStart(5)} containers: load + build ${fmt(build[n])} ms, check (load + build + ${n} probes) ${fmt(check[n])} ms, CPU ${fmt(cpu[n])} ms; per container ${fmt((check[n] / n) * 1000)} µs, CPU ${fmt((cpu[n] / n) * 1000)} µs (medians of ${runs[n].check.length}, sizes interleaved)`,
  );
  /** ms per container from size a to size 2a */
  const per = (x, a) => (x[2 * a] - x[a]) / a;
  const ratio = (x, a) => per(x, 2 * a) / per(x, a);
  const probes = Object.fromEntries(sizes.map((n) => [n, check[n] - build[n]]));
  const probesCpu = Object.fromEntries(sizes.map((n) => [n, cpu[n] - buildCpu[n]]));
  lines.push(
    `marginal cost per container: 128→256 ${fmt(per(check, 128))} ms, 256→512 ${fmt(per(check, 256))} ms, ×${ratio(check, 128).toFixed(2)} (CPU: ${fmt(per(cpu, 128))} and ${fmt(per(cpu, 256))} ms, ×${ratio(cpu, 128).toFixed(2)})`,
    `  of which load + build: ${fmt(per(build, 128))} and ${fmt(per(build, 256))} ms (×${ratio(build, 128).toFixed(2)}; CPU ×${ratio(buildCpu, 128).toFixed(2)}); the probes: ${fmt(per(probes, 128))} and ${fmt(per(probes, 256))} ms (×${ratio(probes, 128).toFixed(2)}; CPU ×${ratio(probesCpu, 128).toFixed(2)})`,
  );
  let beyond = '';
  if (check[1024] !== undefined && check[2048] !== undefined) {
    lines.push(
      `beyond: 2048 containers ×${(check[2048] / check[1024]).toFixed(2)} the check of 1024 (CPU ×${(cpu[2048] / cpu[1024]).toFixed(2)}; linear: ×2); marginal per container 512→1024 ${fmt(per(check, 512))} ms, 1024→2048 ${fmt(per(check, 1024))} ms, ×${ratio(check, 512).toFixed(2)} (CPU ×${ratio(cpu, 512).toFixed(2)})`,
    );
    beyond = `; 1024→2048 / 512→1024: ×${ratio(cpu, 512).toFixed(2)} (wall ×${ratio(check, 512).toFixed(2)})`;
  }
  return { lines, ratio: ratio(cpu, 128), baseline: `CPU; 128→256: ${fmt(per(cpu, 128))} ms CPU per container (wall: ×${ratio(check, 128).toFixed(2)})${beyond}` };
}

/** The sizes measured: the figure's 128, 256 and 512, and 1,024 and 2,048 beyond it. */
export const STAR_SIZES = [128, 256, 512, 1024, 2048];

/**
 * The scaling figures in a process of their own (bench/run.js runs it so; the heap the sections
 * before it leave behind is not a user's): `node bench/star.js [--figures] [--rounds N] [--dist DIR]`
 * prints the report, then with --figures the summary's figures as JSON lines (read by
 * bench/run.js). --dist measures another build's dist/ (an older checkout, for before/after).
 */
if (import.meta.url === `file://${process.argv[1]}`) {
  const arg = (name, dflt) => {
    const i = process.argv.indexOf(name);
    return i > 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1] : dflt;
  };
  const dist = resolve(arg('--dist', new URL('../dist', import.meta.url).pathname));
  const api = {
    loadModel: (await import(join(dist, 'plan/model.js'))).loadModel,
    buildWorld: (await import(join(dist, 'world/build.js'))).buildWorld,
    checkModel: (await import(join(dist, 'cli/check.js'))).checkModel,
  };
  const rounds = Number(arg('--rounds', '7'));
  const dir = mkdtempSync(join(tmpdir(), 'netpath-star-'));
  const figures = [];
  try {
    const report = reportStar(measureStar(api, dir, STAR_SIZES, rounds));
    for (const line of report.lines) console.log(line);
    figures.push(['scaling: marginal per container 256→512 / 128→256', report.ratio, '×', 1.3, 'lower', report.baseline]);
    const f1000 = writeStar(dir, 1000);
    const t0 = performance.now();
    api.buildWorld(api.loadModel(f1000));
    const build1000 = performance.now() - t0;
    console.log(` 1000 namespaces: build ${fmt(build1000)} ms`);
    figures.push(['scaling: build a model of 1,000 namespaces', build1000, 'ms', 1000, 'lower', 'seed model build: see the engine section']);
    const docker = measureDockerStar(api, dir, [1000, 2000], 5);
    const perK = (n) => (docker[n] / n) * 1000;
    console.log(` docker way (docker run, ln -s, veth into br0): 1000 containers ${fmt(docker[1000])} ms CPU, 2000 ${fmt(docker[2000])} ms CPU; per container ${fmt(perK(1000))} and ${fmt(perK(2000))} µs`);
    figures.push(['scaling: docker-way star, per container 2,000 / 1,000', perK(2000) / perK(1000), '×', 1.3, 'lower', `CPU of load + build; 1,000 containers: ${fmt(docker[1000])} ms`]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  if (process.argv.includes('--figures')) for (const f of figures) console.log(`FIGURE ${JSON.stringify(f)}`);
}
