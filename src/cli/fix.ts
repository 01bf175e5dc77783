/** `netpath fix MODEL [--probe NAME] [-o FILE]`: the model with each failing probe's first proven fix appended. */
import { fixModelFile } from '../explain/apply.js';
import { fixText, noFixText } from '../explain/search.js';
import { ConfigError } from '../model/errors.js';
import { escapeLine } from '../model/text.js';
import { checkOutputFile, writeFileSafely } from './outpath.js';
import type { Io } from './main.js';

export interface FixOptions {
  readonly probe?: string;
  readonly output?: string;
}

export function cmdFix(path: string, opts: FixOptions, io: Io): number {
  if (opts.output !== undefined) checkOutputFile(opts.output, '-o');
  const fixed = fixModelFile(path, opts.probe !== undefined ? { probe: opts.probe } : {});
  if (opts.probe !== undefined && fixed.probes.length === 0) throw new ConfigError('option', '--probe', 0, `no failing probe called "${opts.probe}" in ${path}`);
  const report = (line: string): void => (opts.output !== undefined ? io.out(line) : io.err(line));
  for (const p of fixed.probes) {
    const what = p.fix ? fixText(p.fix) : p.byEarlier ? `gives ${p.wanted} after the fixes above` : noFixText(p.explanation);
    report(`${escapeLine(p.probe)}: ${what}\n`);
  }
  if (opts.output !== undefined) writeFileSafely(opts.output, fixed.text, '-o');
  else io.out(fixed.text);
  return fixed.probes.some((p) => !p.fix && !p.byEarlier) ? 1 : 0;
}
