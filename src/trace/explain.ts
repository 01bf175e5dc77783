/**
 * The "why" a trace carries: which packet died, where, and the runbook line behind it, read from
 * the typed steps by explain/why.ts. Fixes are not guessed here: a fix is printed only once it is
 * proven by simulation (explain/search.ts), which needs the whole model; `netpath check` and
 * `netpath trace` add them.
 */
import type { World } from '../world/types.js';
import type { ProbeTrace, Why } from './types.js';
import { whyOf } from '../explain/why.js';

export function explain(world: World, tr: ProbeTrace): Why | undefined {
  if (tr.result === 'reachable') return undefined;
  const w = whyOf(world, tr);
  return { summary: w.text, ns: w.ns, stage: w.stage, code: w.code, dir: w.dir, ...(w.origin ? { origin: w.origin } : {}), fixes: [] };
}
