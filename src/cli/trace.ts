/** `netpath trace MODEL --from NS --to IP[:PORT]`: one probe hop by hop, and why. */
import { KERNEL } from '../model/origin.js';
import { checkPcapOutputs, writePcapOutputs, type PcapCliOptions } from '../pcap/cli.js';
import { loadModel } from '../plan/model.js';
import { traceFlow } from '../trace/run.js';
import { renderTrace, traceJson } from '../trace/render.js';
import { buildWorld, resolveNsRef } from '../world/build.js';
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
  const { world } = buildWorld(loadModel(path));
  const from = resolveNsRef(world, opts.from, { ...KERNEL, file: '--from' });
  const warnings = worldWarnings(world);
  printWarnings(warnings, io);
  const captures = opts.pcap !== undefined || opts.pcapng !== undefined;
  const traces = traceFlow(world, { from, to, proto, ...(port !== undefined ? { port } : {}), ...(sport !== undefined ? { sport } : {}) }, { captures });
  writePcapOutputs([{ traces }], opts, io);
  if (opts.json) io.out(JSON.stringify({ outcomes: traces.map((t) => traceJson(world, t)), warnings }, null, 2) + '\n');
  else io.out(traces.map((t) => renderTrace(world, t, opts.verbose ? { verbose: true } : {})).join('\n'));
  return 0;
}

