/** `-m limit --limit RATE [--limit-burst N]` (libxt_limit, xt_limit). */
import { once, opt, fail, type MatchExt } from './api.js';

/** avg: seconds per packet times XT_LIMIT_SCALE (10000), as xt_limit keeps it */
export interface LimitMatch {
  readonly kind: 'limit';
  readonly avg: number;
  readonly burst: number;
}

function parseRate(text: string): number {
  const m = /^(\d+)(?:\/(.*))?$/.exec(text);
  if (!m) fail(`bad rate "${text}"'`);
  const n = Number(m[1]);
  let mult = 1;
  if (m[2] !== undefined) {
    const unit = m[2].toLowerCase();
    const units: [string, number][] = [['second', 1], ['minute', 60], ['hour', 3600], ['day', 86400]];
    const hit = unit === '' ? undefined : units.find(([u]) => u.startsWith(unit));
    if (!hit) fail(`bad rate "${text}"'`);
    mult = hit[1];
  }
  if (n === 0) fail(`bad rate "${text}"'`);
  const avg = Math.floor((10000 * mult) / n);
  if (avg === 0) fail(`Rate too fast "${text}"`);
  return avg;
}

/** libxt_limit print_rate: the largest unit in which the rate is still a whole-ish number. */
const LIMIT_RATES: readonly { name: string; mult: number }[] = [
  { name: 'day', mult: 10000 * 24 * 60 * 60 },
  { name: 'hour', mult: 10000 * 60 * 60 },
  { name: 'min', mult: 10000 * 60 },
  { name: 'sec', mult: 10000 },
];
export function formatRate(avg: number): string {
  let i = 1;
  for (; i < LIMIT_RATES.length; i++) {
    const rate = LIMIT_RATES[i]!;
    if (avg > rate.mult || Math.floor(rate.mult / avg) < rate.mult % avg) break;
  }
  const rate = LIMIT_RATES[i - 1]!;
  return `${Math.floor(rate.mult / avg)}/${rate.name}`;
}

export const limit: MatchExt<LimitMatch> = {
  name: 'limit',
  opts: [opt('limit', 'limit', true, false), opt('limit-burst', 'limit-burst', true, false)],
  parser() {
    const seen = new Set<string>();
    let avg = (10000 * 3600) / 3; // 3/hour
    let burst = 5;
    return {
      option(id, arg) {
        once('limit', seen, id);
        if (id === 'limit') avg = parseRate(arg);
        else {
          if (!/^\d+$/.test(arg) || Number(arg) > 10000) fail('limit: bad value for option "--limit-burst", or out of range (0-10000).');
          burst = Number(arg) === 0 ? 5 : Number(arg); // iptables-save shows --limit-burst 0 as the default 5
        }
      },
      finish: () => ({ kind: 'limit', avg, burst }),
    };
  },
  save: (m) => `-m limit --limit ${formatRate(m.avg)}${m.burst === 5 ? '' : ` --limit-burst ${m.burst}`}`,
  match: () => true, // a single probe never exceeds a rate limit (noted in the trace)
};
