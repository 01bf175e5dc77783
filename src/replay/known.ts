/**
 * Disagreements between the simulation and the kernel that are reported to the engine and not fixed
 * yet, each kept as a shrunk model in models/ (listed in models/DISAGREEMENTS.md) whose `expect:`
 * values are what the kernel did. The tests print this list on every run:
 *   - test/engine/models.test.ts and test/replay/kernel.test.ts check that exactly `probes` of
 *     `model` still disagree (so a fix makes them fail until its entry is removed);
 *   - conformance runs (runConformance) count a generated probe that `matches` an entry as known
 *     rather than failing the case, and print how many they met.
 * The engine's fix empties this list.
 */
export interface KnownDisagreement {
  /** the model file in models/ */
  readonly model: string;
  /** the probes of that model whose simulated result differs from the kernel's */
  readonly probes: readonly string[];
  /** one line: what the kernel does that the simulation does not */
  readonly summary: string;
  /** a generated probe's disagreement that is this one (destination, protocol, results, and the model text) */
  readonly matches: (d: { readonly to: string; readonly proto: string; readonly predicted: readonly string[]; readonly observed: string }, model: string) => boolean;
}

export const KNOWN_DISAGREEMENTS: readonly KnownDisagreement[] = [];

/** The list as printed by the tests. */
export function formatKnown(): string {
  if (KNOWN_DISAGREEMENTS.length === 0) return 'known disagreements (engine not fixed yet): none';
  return `known disagreements (engine not fixed yet; models/DISAGREEMENTS.md):\n${KNOWN_DISAGREEMENTS.map((k) => `  models/${k.model}: ${k.summary} (${k.probes.length} probes)`).join('\n')}`;
}
