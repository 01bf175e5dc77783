/** A probe's traces with their explanations: the engine's walk plus the "why". */
import type { World } from '../world/types.js';
import { simulate, type Flow } from '../engine/probe.js';
import type { SimOptions } from '../engine/sim.js';
import { explain } from './explain.js';
import type { ProbeTrace } from './types.js';

export function traceFlow(world: World, flow: Flow, opts: Partial<SimOptions> = {}): ProbeTrace[] {
  return simulate(world, flow, opts).map((t) => {
    const why = explain(world, t);
    return why ? { ...t, why } : t;
  });
}
