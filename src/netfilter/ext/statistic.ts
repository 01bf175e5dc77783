/**
 * `-m statistic --mode random [!] --probability P` / `--mode nth [!] --every N --packet P`
 * (libxt_statistic, xt_statistic). Whether a branch matches is asked of the environment: the
 * engine and the rules tracer follow both answers.
 */
import { fail, once, opt, type MatchExt } from './api.js';
import * as r from './reader.js';
import { not, parseU32 } from './util.js';

/** random: probability as the kernel keeps it, a u32 with p = probability / 2^31 */
export type StatisticMatch =
  | { readonly kind: 'statistic'; readonly mode: 'random'; readonly invert: boolean; readonly probability: number }
  | { readonly kind: 'statistic'; readonly mode: 'nth'; readonly invert: boolean; readonly every: number; readonly packet: number };

/** printf("%.11f", u32 / 2^31) with glibc's exact round-half-even. */
const probabilityText = new Map<number, string>();
export function formatProbability(u32: number): string {
  let t = probabilityText.get(u32);
  if (t === undefined) {
    t = probabilityExact(u32);
    if (probabilityText.size < 4096) probabilityText.set(u32, t);
  }
  return t;
}
function probabilityExact(u32: number): string {
  const den = 1n << 31n;
  const n = BigInt(u32) * 10n ** 11n;
  let q = n / den;
  const rem = n % den;
  if (2n * rem > den || (2n * rem === den && q % 2n === 1n)) q += 1n;
  const whole = q / 10n ** 11n;
  const frac = (q % 10n ** 11n).toString().padStart(11, '0');
  return `${whole}.${frac}`;
}

/** the probability word as formatProbability prints it, as the u32 the kernel keeps; -1 if not */
function readProbability(): number {
  const text = r.token();
  if (text.length !== 13 || text.charCodeAt(1) !== 46) return -1;
  const p = Number(text);
  if (!(p >= 0 && p <= 1)) return -1;
  const u32 = Math.round(0x80000000 * p);
  return formatProbability(u32) === text && r.sep() ? u32 : -1;
}

/** what a random coin is called (RulesChoice.what), made once per probability (a few in a dump) */
const coinTexts = new Map<number, string>();
function coinText(m: StatisticMatch, prob: number): string {
  if (m.mode !== 'random') return `statistic nth every ${m.every} packet ${m.packet}`;
  let t = coinTexts.get(m.probability);
  if (t === undefined) {
    t = `statistic random ${prob.toFixed(5)}`;
    if (coinTexts.size < 4096) coinTexts.set(m.probability, t);
  }
  return t;
}

export const statistic: MatchExt<StatisticMatch> = {
  name: 'statistic',
  opts: [opt('mode', 'mode', true, false), opt('probability'), opt('every'), opt('packet', 'packet', true, false)],
  sideEffects: true,
  parser() {
    const seen = new Set<string>();
    let mode: 'random' | 'nth' | undefined;
    let invert = false;
    let probability: number | undefined;
    let every: number | undefined;
    let packet: number | undefined;
    return {
      option(id, arg, inv) {
        once('statistic', seen, id);
        switch (id) {
          case 'mode':
            if (arg !== 'random' && arg !== 'nth') fail(`Bad mode "${arg}"`);
            mode = arg;
            return;
          case 'probability': {
            if (seen.has('every')) fail('statistic: option "--probability" cannot be used together with "--every".');
            const p = Number(arg);
            if (arg.trim() === '' || !Number.isFinite(p) || p < 0 || p > 1) {
              fail('statistic: bad value for option "--probability", or out of range (0-1).');
            }
            probability = Math.round(0x80000000 * p); // lround(); p >= 0 so ties round up like C
            invert = inv;
            return;
          }
          case 'every':
            if (seen.has('probability')) fail('statistic: option "--probability" cannot be used together with "--every".');
            every = parseU32(arg, () => 'statistic: bad value for option "--every", or out of range.');
            invert = inv;
            return;
          default:
            packet = parseU32(arg, () => 'statistic: bad value for option "--packet", or out of range.');
        }
      },
      finish() {
        if (mode === undefined) fail('statistic: option "--mode" must be specified');
        if (every !== undefined && packet === undefined) fail('statistic: option "--every" also requires "--packet".');
        if (mode === 'random') {
          if (probability === undefined) fail('--probability must be specified when using random mode');
          return { kind: 'statistic', mode, invert, probability };
        }
        if (every === undefined || packet === undefined) fail('--every must be specified when using nth mode');
        if (every === 0) fail('--every cannot be 0');
        if (packet > every - 1) fail('the --packet p must be 0 <= p <= n-1');
        return { kind: 'statistic', mode, invert, every, packet };
      },
    };
  },
  save(m) {
    if (m.mode === 'random') return `-m statistic --mode random ${not(m.invert)}--probability ${formatProbability(m.probability)}`;
    return `-m statistic --mode nth ${not(m.invert)}--every ${m.every} --packet ${m.packet}`;
  },
  fast() {
    if (r.word('--mode random')) {
      const invert = r.bang();
      if (!r.word('--probability')) return undefined;
      const probability = readProbability();
      return probability < 0 ? undefined : { kind: 'statistic', mode: 'random', invert, probability };
    }
    if (!r.word('--mode nth')) return undefined;
    const invert = r.bang();
    if (!r.word('--every')) return undefined;
    const every = r.decimal(0xffffffff);
    if (every < 1 || !r.sep() || !r.word('--packet')) return undefined;
    const packet = r.decimal(0xffffffff);
    if (packet < 0 || packet > every - 1 || !r.sep()) return undefined;
    return { kind: 'statistic', mode: 'nth', invert, every, packet };
  },
  match(m, p, env) {
    const prob = m.mode === 'random' ? m.probability / 0x80000000 : 1 / m.every;
    return env.choose(prob, coinText(m, prob)) !== m.invert;
  },
};
