/** `netpath trace MODEL --from NS --to IP[:PORT]`: one probe hop by hop, and why. */
import { KERNEL } from '../model/origin.js';
import { checkPcapOutputs, writePcapOutputs, type PcapCliOptions } from '../pcap/cli.js';
import { loadModel } from '../plan/model.js';
import { traceFlow } from '../trace/run.js';
import { renderTrace, traceJson } from '../trace/render.js';
import { buildWorld, resolveNsRef } from '../world/build.js';
import { explainRun, fixJson, fixText, modelRuns, noFixText, runProbe, whyJson } from '../explain/search.js';
import { whyOf } from '../explain/why.js';
import type { ProbeTrace } from '../trace/types.js';
import type { Io } from './main.js';
import { checkProtoPorts, optEndpoint, optPort, optProto } from './options.js';
import { printWarnings, worldWarnings } from './warnings.js';

export interface TraceOptions extends PcapCliOptions {
  readonly from: string;
  readonly to: string;
  readonly proto: string;
  readonly sport?: string;
  readonly json?: boolean;
  readonly verbose?: boolean;
}

export function cmdTrace(path: string, opts: TraceOptions, io: Io): number {
  const { ip: to, port } = optEndpoint(opts.to, '--to');
  const proto = optProto(opts.proto, ['tcp', 'udp', 'icmp'] as const);
  const sport = opts.sport !== undefined ? optPort(opts.sport, '--sport') : undefined;
  checkProtoPorts(proto, port, sport, '--to', '--sport');
  checkPcapOutputs(opts);
  const built = buildWorld(loadModel(path));
  const { world } = built;
  const from = resolveNsRef(world, opts.from, { ...KERNEL, file: '--from' });
  const warnings = worldWarnings(world);
  printWarnings(warnings, io);
  const captures = opts.pcap !== undefined || opts.pcapng !== undefined;
  const flow = { from, to, proto, ...(port !== undefined ? { port } : {}), ...(sport !== undefined ? { sport } : {}) };
  const traces = traceFlow(world, flow, { captures });
  writePcapOutputs([{ traces }], opts, io);
  // the fixes: proven against the model's own probes, which they must not break; a probe of the
  // model with the same flow lends its expect
  const runs = modelRuns(built);
  const si = built.model.probes.findIndex((p, i) => runs[i]!.flow.from === from && p.to === to && p.proto === proto && p.port === port && p.src === undefined && sport === undefined);
  const same = si >= 0 ? built.model.probes[si] : undefined;
  const run = runProbe(world, { name: same?.name ?? '(trace)', flow, ...(same?.expect !== undefined ? { expect: same.expect } : {}) }, traces);
  const all = si >= 0 ? runs.map((r, i) => (i === si ? run : r)) : [...runs, run];
  const ex = explainRun(built, world, all, si >= 0 ? si : all.length - 1);
  const texts = ex ? (ex.fixes.length ? ex.fixes.map(fixText) : [noFixText(ex)]) : [];
  const withFixes = (t: ProbeTrace): ProbeTrace => (t.why ? { ...t, why: { ...t.why, fixes: texts } } : t);
  if (opts.json) {
    const outcomes = traces.map((t) => {
      const j = traceJson(world, withFixes(t)) as Record<string, unknown>;
      if (!t.why) return j;
      return { ...j, why: { ...(j['why'] as Record<string, unknown>), ...whyJson(world, whyOf(world, t)) }, fixes: ex ? ex.fixes.map(fixJson) : [] };
    });
    io.out(JSON.stringify({ outcomes, warnings }, null, 2) + '\n');
  } else io.out(traces.map((t) => renderTrace(world, withFixes(t), opts.verbose ? { verbose: true } : {})).join('\n'));
  return 0;
}

