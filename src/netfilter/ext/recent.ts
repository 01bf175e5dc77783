/**
 * `-m recent` (libxt_recent, xt_recent): a per-name list of recently seen addresses kept in the
 * kernel. The list is runtime state no dump shows: a walk asks the environment, or starts from
 * empty lists and says so in its notes.
 */
import { formatIpv4, parseIpv4, type Ipv4 } from '../../wire/ipv4.js';
import type { RecentMode } from '../types.js';
import { fail, flag, once, opt, type MatchExt } from './api.js';
import { not } from './util.js';

export interface RecentMatch {
  readonly kind: 'recent';
  readonly invert: boolean;
  readonly mode: RecentMode;
  /** 0 = not given */
  readonly seconds: number;
  readonly reap: boolean;
  /** 0 = not given */
  readonly hitcount: number;
  readonly rttl: boolean;
  readonly name: string;
  /** the address mask applied before lookup (255.255.255.255 by default) */
  readonly mask: Ipv4;
  readonly side: 'source' | 'dest';
}

const MODES: readonly RecentMode[] = ['set', 'rcheck', 'update', 'remove'];

/** xt_recent on an empty list: --set adds and matches, --rcheck/--update/--remove find nothing. */
export function recentDefault(m: RecentMatch): boolean {
  return m.mode === 'set';
}

/**
 * libxt_recent: exactly one of --set/--rcheck/--update/--remove; --seconds and --hitcount only
 * with --rcheck/--update (the kernel refuses them otherwise); --reap needs --seconds. The last of
 * --rsource/--rdest wins (verified).
 */
export const recent: MatchExt<RecentMatch> = {
  name: 'recent',
  opts: [
    ...MODES.map((m) => flag(m, m, true)),
    opt('seconds', 'seconds', true, false),
    flag('reap'),
    opt('hitcount', 'hitcount', true, false),
    flag('rttl'),
    opt('name', 'name', true, false),
    opt('mask', 'mask', true, false),
    flag('rsource'),
    flag('rdest'),
  ],
  sideEffects: true,
  parser() {
    const seen = new Set<string>();
    let mode: RecentMode | undefined;
    let invert = false;
    let seconds = 0;
    let hitcount = 0;
    let name = 'DEFAULT';
    let mask: Ipv4 = 0xffffffff;
    let side: 'source' | 'dest' = 'source';
    return {
      option(id, arg, inv) {
        if ((MODES as readonly string[]).includes(id)) {
          if (mode !== undefined) fail(`recent: option "--${mode}" cannot be used together with "--${id}".`);
          mode = id as RecentMode;
          invert = inv;
          return;
        }
        if (id !== 'rsource' && id !== 'rdest') once('recent', seen, id);
        const num = (): number => {
          if (!/^\d+$/.test(arg) || Number(arg) > 0xffffffff) fail(`recent: bad value for option "--${id}", or out of range.`);
          return Number(arg);
        };
        switch (id) {
          case 'seconds':
            seconds = num();
            return;
          case 'hitcount':
            hitcount = num();
            if (hitcount > 255) fail(`RULE_APPEND failed (Invalid argument): recent: hitcount (${hitcount}) is larger than packets to be remembered (255)`, 'kernel');
            return;
          case 'name':
            if (arg === '' || arg.length > 200) fail(`recent: bad value for option "--name".`);
            name = arg;
            return;
          case 'mask': {
            const m = parseIpv4(arg);
            if (m === undefined) fail(`recent: bad value for option "--mask".`);
            mask = m;
            return;
          }
          case 'rsource':
          case 'rdest':
            side = id === 'rsource' ? 'source' : 'dest';
            return;
          default:
            return; // reap, rttl: flags read in finish()
        }
      },
      finish() {
        if (mode === undefined) fail("recent: you must specify one of `--set', `--rcheck' `--update' or `--remove'");
        if (seen.has('reap') && !seen.has('seconds')) fail('recent: option "--reap" also requires "--seconds".');
        if ((seconds > 0 || hitcount > 0 || seen.has('rttl') || seen.has('reap')) && (mode === 'set' || mode === 'remove')) {
          fail(`RULE_APPEND failed (Invalid argument): recent: --seconds/--hitcount/--rttl/--reap need --rcheck or --update`, 'kernel');
        }
        return { kind: 'recent', invert, mode, seconds, reap: seen.has('reap'), hitcount, rttl: seen.has('rttl'), name, mask, side };
      },
    };
  },
  // libxt_recent recent_save: mode, --seconds, --reap, --hitcount, --rttl, --name, --mask, side
  save(m) {
    let s = `-m recent ${not(m.invert)}--${m.mode}`;
    if (m.seconds > 0) s += ` --seconds ${m.seconds}`;
    if (m.reap) s += ' --reap';
    if (m.hitcount > 0) s += ` --hitcount ${m.hitcount}`;
    if (m.rttl) s += ' --rttl';
    return `${s} --name ${m.name} --mask ${formatIpv4(m.mask)} ${m.side === 'source' ? '--rsource' : '--rdest'}`;
  },
  match(m, p, env) {
    if (env.recent) return env.recent(m, p);
    env.note?.(`-m recent --name ${m.name}: the kernel's list is runtime state; assumed empty before this packet (${recent.save(m)})`);
    return recentDefault(m) !== m.invert;
  },
};
