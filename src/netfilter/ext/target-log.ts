/** `-j LOG [--log-prefix P] [--log-level L] [--log-tcp-sequence ...]` (libxt_LOG, xt_LOG): logs and goes on. */
import { LOG_LEVELS } from '../names.js';
import type { LogFlag } from '../types.js';
import { CONTINUE, flag, once, opt, fail, type TargetExt } from './api.js';
import { saveString, truncateBytes } from './util.js';

/** level 0..7 (4 = warning, the default) */
export type LogTarget = { readonly kind: 'LOG'; readonly prefix?: string; readonly level: number; readonly flags: readonly LogFlag[] };

export const LOG_FLAGS: readonly LogFlag[] = ['tcp-sequence', 'tcp-options', 'ip-options', 'uid', 'macdecode'];

export const LOG: TargetExt<LogTarget> = {
  name: 'LOG',
  opts: [opt('log-level', 'log-level', true, false), opt('log-prefix', 'log-prefix', true, false), ...LOG_FLAGS.map((f) => flag(`log-${f}`))],
  parser() {
    const seen = new Set<string>();
    let prefix: string | undefined;
    let level = 4;
    const flags: LogFlag[] = [];
    return {
      option(id, arg) {
        once('LOG', seen, id);
        if (id === 'log-level') {
          const n = /^[0-7]$/.test(arg) ? Number(arg) : LOG_LEVELS[arg.toLowerCase()];
          if (n === undefined) fail(`log level "${arg}" unknown`);
          level = n;
        } else if (id === 'log-prefix') {
          if (arg === '') fail('Argument must have a minimum length of 1 characters');
          prefix = truncateBytes(arg, 29); // iptables 1.8.9 (nf_tables) silently keeps 29 bytes
        } else flags.push(id.slice(4) as LogFlag);
      },
      finish: () => ({ kind: 'LOG', ...(prefix !== undefined && { prefix }), level, flags: LOG_FLAGS.filter((f) => flags.includes(f)) }),
    };
  },
  save(t) {
    let s = '-j LOG';
    if (t.prefix !== undefined) s += ` --log-prefix ${saveString(t.prefix)}`;
    if (t.level !== 4) s += ` --log-level ${t.level}`;
    for (const f of LOG_FLAGS) if (t.flags.includes(f)) s += ` --log-${f}`;
    return s;
  },
  run(t, w) {
    (w.logs ??= []).push(`LOG ${t.prefix ?? ''}`.trimEnd());
    return CONTINUE;
  },
};
