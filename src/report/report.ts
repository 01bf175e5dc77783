/**
 * What `netpath report` and `netpath diagram` draw: the model's probes run as `netpath check`
 * runs them, each probe's drawn trace turned into a path, the invariants checked as `netpath
 * prop` checks them (with a fixed seed, so the same model gives the same page), and the
 * topology laid out once.
 */
import { ConfigError } from '../model/errors.js';
import { formatOrigin } from '../model/origin.js';
import { loadModel, nodeIo } from '../plan/model.js';
import { buildWorld } from '../world/build.js';
import type { World } from '../world/types.js';
import type { ProbeTrace } from '../trace/types.js';
import { checkInvariant, describeFlow } from '../prop/check.js';
import { parseInvariants, resolveInvariants } from '../prop/invariants.js';
import { checkModel } from '../cli/check.js';
import { probePath } from './path.js';
import { layoutTopology } from './topology.js';
import { topologySvg } from './svg.js';
import { reportHtml, type ReportInvariant, type ReportProbe } from './html.js';

/** The branch a picture shows: the first that has a why (a failure), else the likeliest. */
export function drawnTrace(traces: readonly ProbeTrace[]): ProbeTrace | undefined {
  return traces.find((t) => t.why) ?? [...traces].sort((a, b) => b.probability - a.probability)[0];
}

export function reportProbes(path: string): { world: World; probes: ReportProbe[] } {
  const { world, reports, traces } = checkModel(path);
  const probes = reports.map((r, i): ReportProbe => {
    const t = drawnTrace(traces[i] ?? []);
    return {
      key: `p${i}`,
      name: r.name,
      from: r.from,
      to: r.to,
      proto: r.proto,
      ...(r.expect !== undefined ? { expect: r.expect } : {}),
      result: r.result,
      ok: r.ok,
      ...(r.why !== undefined ? { why: r.why } : {}),
      ...(r.fixes !== undefined ? { fixes: r.fixes } : {}),
      ...(r.outcomes !== undefined ? { outcomes: r.outcomes } : {}),
      path: t ? probePath(world, t) : { from: '', hops: [], nats: [], drops: [], steps: [] },
    };
  });
  return { world, probes };
}

export interface InvariantOptions {
  readonly runs?: number;
  readonly seed: number;
  readonly onRun?: (name: string, done: number, total: number) => void;
}

export function reportInvariants(path: string, opts: InvariantOptions): ReportInvariant[] {
  const built = buildWorld(loadModel(path));
  const invariants = resolveInvariants(built, parseInvariants(nodeIo.readFile(path), path));
  return invariants.map((inv) => {
    const onRun = opts.onRun;
    const r = checkInvariant(built.world, inv, {
      seed: opts.seed,
      ...(opts.runs !== undefined ? { runs: opts.runs } : {}),
      ...(onRun ? { onRun: (d: number, t: number) => onRun(inv.name, d, t) } : {}),
    });
    const c = r.counterexample;
    return {
      name: inv.name,
      form: inv.form.kind,
      runs: r.runs,
      holds: r.holds,
      origin: formatOrigin(inv.origin),
      ...(c ? { counterexample: describeFlow(built.world, c.flow), violation: c.violation.violation } : {}),
    };
  });
}

export async function buildReport(path: string, opts: InvariantOptions & { title?: string }): Promise<string> {
  const { world, probes } = reportProbes(path);
  const invariants = reportInvariants(path, opts);
  const topo = await layoutTopology(world);
  const model = loadModel(path);
  const title = opts.title ?? model.name ?? path;
  const svg = topologySvg(world, topo, { paths: probes.map((p) => ({ key: p.key, path: p.path })), interactive: true, title: `${title}: topology` });
  return reportHtml(world, { title, file: path, probes, invariants, ...(invariants.length ? { seed: opts.seed } : {}), svg });
}

/** The standalone SVG: the topology, and one probe's path when `probe` names one. */
export async function buildDiagram(path: string, probe?: string): Promise<string> {
  const { world, probes } = reportProbes(path);
  const topo = await layoutTopology(world);
  const title = loadModel(path).name ?? path;
  if (probe === undefined) return topologySvg(world, topo, { standalone: true, title: `${title}: topology` });
  const p = probes.find((x) => x.name === probe);
  if (!p) throw new ConfigError('model', '--probe', 0, `${path} has no probe "${probe}" (probes: ${probes.map((x) => JSON.stringify(x.name)).join(', ') || 'none'})`);
  return topologySvg(world, topo, { standalone: true, title: `${title}: ${p.name} (${p.result})`, paths: [{ key: p.key, path: p.path }] });
}
