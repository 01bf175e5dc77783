/** `netpath check MODEL [--json] [--pcap DIR] [--pcapng FILE]`: every probe of the model against its expect. */
import { captureOutputs, checkPcapOutputs, type PcapCliOptions } from '../pcap/cli.js';
import { loadModel, type ProbeResult } from '../plan/model.js';
import { traceFlow } from '../trace/run.js';
import { probeFlow } from '../trace/probe.js';
import type { ProbeTrace } from '../trace/types.js';
import { formatIpv4 } from '../wire/ipv4.js';
import { buildWorld, type Built } from '../world/build.js';
import { explainRun, fixJson, fixText, noFixText, runProbe, whyJson, type Explanation, type ProbeRun } from '../explain/search.js';
import type { World } from '../world/types.js';
import type { Io } from './main.js';
import { printWarnings, worldWarnings } from './warnings.js';
import { escapeLine } from '../model/text.js';

export interface CheckOptions extends PcapCliOptions {
  readonly json?: boolean;
}

interface ProbeReport {
  name: string;
  from: string;
  to: string;
  proto: string;
  expect?: ProbeResult;
  result: ProbeResult;
  ok: boolean;
  /** the why's text and the proven fixes as lines (the HTML report shows these) */
  why?: string;
  fixes?: readonly string[];
  outcomes?: { probability: number; result: ProbeResult }[];
  /** the typed why and the proven fixes */
  explanation?: Explanation;
}

/**
 * Every probe of a built model simulated (with the trace's why), and each one that missed
 * explained with proven fixes. `onCaptures`, when given, gets each probe's name and traces with their
 * frames as soon as the probe has run; the runs then keep the traces without frames.
 */
export function explainModel(
  built: Built,
  opts: { readonly captures?: boolean; readonly steps?: 'all' | 'why'; readonly onCaptures?: (probe: string, traces: readonly ProbeTrace[]) => void } = {},
): { runs: ProbeRun[]; explanations: (Explanation | undefined)[] } {
  const { model, world } = built;
  const onCaptures = opts.onCaptures;
  const runs = model.probes.map((p) => {
    const flow = probeFlow(world, p);
    let traces = traceFlow(world, flow, { captures: onCaptures !== undefined || (opts.captures ?? true), steps: onCaptures !== undefined ? 'all' : (opts.steps ?? 'all') });
    if (onCaptures !== undefined) {
      onCaptures(p.name, traces);
      traces = traces.map((t) => ({ ...t, captures: [] }));
    }
    return runProbe(world, { name: p.name, flow, ...(p.expect !== undefined ? { expect: p.expect } : {}) }, traces);
  });
  return { runs, explanations: runs.map((_, i) => explainRun(built, world, runs, i)) };
}

/**
 * Runs every probe of the model. `keep` says what the caller needs besides the reports: the
 * traces (each probe's, with its statistic branches) and the frames in them; without, a trace
 * lives only until its report is made and no frame is kept (both default to true).
 * `onCaptures` streams each probe's traces, frames included, as the probe runs (`explainModel`).
 */
export function checkModel(
  path: string,
  keep: { readonly traces?: boolean; readonly captures?: boolean; readonly onCaptures?: (probe: string, traces: readonly ProbeTrace[]) => void } = {},
): { world: World; reports: ProbeReport[]; traces: ProbeTrace[][]; warnings: string[] } {
  const keepTraces = keep.traces ?? true;
  const captures = keepTraces && (keep.captures ?? true);
  const built = buildWorld(loadModel(path));
  const { model, world } = built;
  const reports: ProbeReport[] = [];
  const all: ProbeTrace[][] = [];
  // only results, whys and fixes are read when no trace is kept or streamed: 'why' steps
  const steps = keepTraces || keep.onCaptures ? 'all' : 'why';
  const { runs, explanations } = explainModel(built, { captures, steps, ...(keep.onCaptures ? { onCaptures: keep.onCaptures } : {}) });
  for (const [i, p] of model.probes.entries()) {
    const run = runs[i]!;
    const traces = [...run.traces];
    if (keepTraces) all.push(traces);
    const { result, ok } = run;
    const ex = explanations[i];
    reports.push({
      name: p.name,
      from: p.from,
      to: p.port !== undefined ? `${formatIpv4(p.to)}:${p.port}` : formatIpv4(p.to),
      proto: p.proto,
      ...(p.expect !== undefined ? { expect: p.expect } : {}),
      result,
      ok,
      ...(ex ? { why: ex.why.text, fixes: ex.fixes.map(fixText), explanation: ex } : {}),
      ...(traces.length > 1 ? { outcomes: traces.map((t) => ({ probability: t.probability, result: t.result })) } : {}),
    });
  }
  return { world, reports, traces: all, warnings: worldWarnings(world) };
}

export function cmdCheck(path: string, opts: CheckOptions, io: Io): number {
  checkPcapOutputs(opts);
  // captures go to the writers probe by probe; no trace is kept for them
  const out = captureOutputs(opts);
  const { world, reports, warnings } = checkModel(path, { traces: false, ...(out ? { onCaptures: (name: string, ts: readonly ProbeTrace[]) => out.add(name, ts) } : {}) });
  printWarnings(warnings, io);
  out?.write(io);
  const failed = reports.some((r) => !r.ok);
  if (opts.json) {
    const probes = reports.map(({ explanation, ...r }) => ({
      ...r,
      ...(explanation ? { why: whyJson(world, explanation.why), fixes: explanation.fixes.map(fixJson) } : {}),
    }));
    io.out(JSON.stringify({ probes, warnings }, null, 2) + '\n');
    return failed ? 1 : 0;
  }
  const branches = (r: ProbeReport): string =>
    r.outcomes ? ` (${r.outcomes.map((o) => `${o.result} ${Number(o.probability.toFixed(4))}`).join(', ')})` : '';
  const rows = [['probe', 'expected', 'result', 'ok'], ...reports.map((r) => [escapeLine(r.name), r.expect ?? '-', r.result + branches(r), r.ok ? 'ok' : 'FAIL'])];
  const w = [0, 1, 2, 3].map((i) => Math.max(...rows.map((r) => r[i]!.length)));
  io.out(rows.map((r) => r.map((c, i) => c.padEnd(w[i]!)).join('  ').trimEnd()).join('\n') + '\n');
  for (const r of reports) {
    if (!r.why) continue;
    io.out(`\n${escapeLine(r.name)}: ${r.result}\n  why: ${r.why}\n`);
    for (const f of r.fixes ?? []) io.out(`  fix: ${f}\n`);
    if (r.fixes?.length === 0) io.out(`  fix: ${noFixText(r.explanation)}\n`);
  }
  if (failed) io.out(`\n${reports.filter((r) => !r.ok).length} of ${reports.length} probes differ from their expect\n`);
  return failed ? 1 : 0;
}
