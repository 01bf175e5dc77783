/**
 * `netpath report MODEL -o FILE.html` and `netpath diagram MODEL [--probe NAME] -o FILE.svg`
 * (docs/report.md): the pictures. Without -o the page or the SVG goes to stdout.
 */
import { writeFileSync } from 'node:fs';
import { ConfigError } from '../model/errors.js';
import { buildDiagram, buildReport } from '../report/report.js';
import { progressLine } from './progress.js';
import { wholeNumber } from './prop.js';
import type { Io } from './main.js';

export interface ReportCliOptions {
  readonly output?: string;
  readonly runs?: string;
  readonly seed?: string;
  readonly title?: string;
}

export async function cmdReport(path: string, opts: ReportCliOptions, io: Io, tty = false): Promise<number> {
  const runs = opts.runs === undefined ? undefined : wholeNumber(opts.runs, '--runs', 1);
  const seed = wholeNumber(opts.seed ?? '1', '--seed', -(2 ** 31));
  const progress = tty ? progressLine(io, 'flows') : undefined;
  const html = await buildReport(path, {
    seed,
    ...(runs !== undefined ? { runs } : {}),
    ...(opts.title !== undefined ? { title: opts.title } : {}),
    ...(progress ? { onRun: (name: string, d: number, t: number) => progress.update(name, d, t) } : {}),
  });
  progress?.clear();
  emit(html, opts.output, io);
  return 0;
}

export async function cmdDiagram(path: string, opts: { probe?: string; output?: string }, io: Io): Promise<number> {
  emit(await buildDiagram(path, opts.probe), opts.output, io);
  return 0;
}

function emit(text: string, file: string | undefined, io: Io): void {
  if (file === undefined) {
    io.out(text);
    return;
  }
  try {
    writeFileSync(file, text);
  } catch (e) {
    throw new ConfigError('model', '-o', 0, `cannot write ${file}: ${(e as Error).message}`);
  }
}
