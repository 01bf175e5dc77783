/**
 * A model's probe as the flow the engine runs: the one place that turns `probes:` entries
 * (from, to, port, proto, src) into an engine `Flow`, so check, replay and the report agree.
 */
import type { Flow } from '../engine/probe.js';
import type { ProbeSpec } from '../plan/model.js';
import { resolveNsRef } from '../world/build.js';
import type { World } from '../world/types.js';

export function probeFlow(world: World, p: ProbeSpec): Flow {
  return {
    from: resolveNsRef(world, p.from, p.origin),
    to: p.to,
    proto: p.proto,
    ...(p.port !== undefined ? { port: p.port } : {}),
    ...(p.src !== undefined ? { src: p.src } : {}),
  };
}
