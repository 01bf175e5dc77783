/**
 * A progress line on stderr for long runs: counts, rate and time left, redrawn in place at most
 * every 100 ms and first after 300 ms (short runs draw nothing). Callers create one only when
 * stderr is a terminal, so pipes, files and CI logs stay silent.
 */
import type { Io } from './main.js';

export interface Progress {
  /** `label`: what is being counted now (an invariant, a plan); the rate restarts when it changes */
  update(label: string, done: number, total: number): void;
  /** erase the line (call before printing results) */
  clear(): void;
}

export function progressLine(io: Io, unit: string, now: () => number = Date.now): Progress {
  const start = now();
  let last = 0;
  let drawn = false;
  let label: string | undefined;
  let since = start;
  /** when the previous update came: a new label's work started then */
  let prev = start;
  return {
    update(l, done, total) {
      const t = now();
      if (l !== label) {
        label = l;
        since = prev;
      }
      prev = t;
      if (t - start < 300 || t - last < 100) return;
      last = t;
      drawn = true;
      io.err(`\r\x1b[K${progressText(l, done, total, unit, done / Math.max(1e-3, (t - since) / 1000))}`);
    },
    clear() {
      if (drawn) io.err('\r\x1b[K');
    },
  };
}

/** `  NAME: 120/1000 flows, 85/s, ~11s left` */
export function progressText(label: string, done: number, total: number, unit: string, rate: number): string {
  const head = `  ${label ? `${label}: ` : ''}${done}/${total} ${unit}`;
  if (!(rate > 0) || !Number.isFinite(rate)) return head;
  const left = Math.max(0, total - done) / rate;
  const r = rate >= 10 ? Math.round(rate) : Math.round(rate * 10) / 10;
  return `${head}, ${r}/s, ~${left >= 90 ? `${Math.round(left / 60)}m` : `${Math.ceil(left)}s`} left`;
}
