/**
 * Where a piece of state came from: the runbook line (file and 1-based line) that created it,
 * or the model file key that pre-configured it. Every route, rule, address and link keeps one,
 * so a trace can show the user their own text.
 */
export interface Origin {
  readonly file: string;
  readonly line: number;
  /** The line as the user wrote it (without the `$ ` prompt). */
  readonly text: string;
}

/** State the kernel creates by itself (lo, local routes, default policy rules). */
export const KERNEL: Origin = Object.freeze({ file: '(kernel)', line: 0, text: '' });

export function formatOrigin(o: Origin): string {
  return o.line > 0 ? `${o.file}:${o.line}` : o.file;
}
