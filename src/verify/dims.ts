/**
 * The two dimensions of a first packet that are not numbers on a line: its input interface and
 * its TCP flags. Each is made a line of small integers (an interface class's index, a flag
 * combination's bits) so rows merge over them as over addresses and ports (atoms.ts mergeBoxes).
 *
 * Interfaces: iptables compares an input interface name with `-i NAME` (equal) and `-i NAME+`
 * (a prefix; xt ifname matching, netfilter/ext/util.ts ifMatch). The names a dump mentions cut
 * every interface name into classes: each exact name alone, for each prefix the names whose
 * longest mentioned prefix it is (and that are not an exact name mentioned), and every other name
 * (`*`). `-i +` matches every name and cuts nothing. Two names of one class match the same rules.
 *
 * Flags: six bits (FIN SYN RST PSH ACK URG, the ones `--tcp-flags` can name), 64 combinations.
 * Conntrack tells a first packet's combinations apart one way (netfilter/trace.ts
 * tcpStartsConnection: NEW or INVALID, which also decides whether the nat chains are consulted),
 * each `--tcp-flags MASK COMP` test (and `--syn`) another; values with the same answers to all of
 * them are one class.
 */
import { ifMatch } from '../netfilter/ext/util.js';
import { TCP_FLAGS } from '../netfilter/ext/tcp.js';
import { tcpStartsConnection } from '../netfilter/trace.js';
import type { FlagTest } from './cuts.js';
import { inIntervals, mergeIntervals, type Interval } from './space.js';

/** The label of the interfaces no name of the dump matches. */
export const OTHER_IFACE = '*';

export interface IfaceClasses {
  /** exact names and `NAME+` prefixes, sorted, then `*` (every other name); a class's index is its position */
  readonly labels: readonly string[];
  /** one interface name of each class; undefined for `*` (the walk's unnamed input interface, which matches only `-i +`) */
  readonly reps: readonly (string | undefined)[];
}

const FILL = 'abcdefghijklmnopqrstuvwxyz0123456789';

/** The classes of interface names that these `-i` names and prefixes cut. */
export function ifaceClasses(names: Iterable<string>): IfaceClasses {
  const pats = [...new Set(names)].filter((n) => n !== '+').sort();
  const exact = new Set(pats.filter((n) => !n.endsWith('+')));
  const prefixes = new Set(pats.filter((n) => n.endsWith('+')).map((n) => n.slice(0, -1)));
  const reps = pats.map((n): string => {
    if (!n.endsWith('+')) return n;
    const p = n.slice(0, -1);
    if (!exact.has(p)) return p;
    // p is an exact name of its own: one more character, neither an exact name nor a longer prefix
    for (const c of FILL) if (!exact.has(p + c) && !prefixes.has(p + c)) return p + c;
    return p + '_';
  });
  return { labels: [...pats, OTHER_IFACE], reps: [...reps, undefined] };
}

/** The class index of an interface name (its exact name, else its longest prefix, else `*`). */
export function ifaceClassOf(c: IfaceClasses, name: string | undefined): number {
  let best = c.labels.length - 1;
  let bestLen = -1;
  for (let i = 0; i < c.labels.length - 1; i++) {
    const l = c.labels[i]!;
    if (l === name) return i;
    if (l.endsWith('+') && name !== undefined && name.startsWith(l.slice(0, -1)) && l.length > bestLen) {
      best = i;
      bestLen = l.length;
    }
  }
  return best;
}

/** A group of class indices (or flag values) that nothing tested here tells apart, and its member walked. */
export interface DimGroup {
  readonly values: readonly Interval[];
  readonly rep: number;
}

/** Groups values by a signature: equal signatures, one group; each group's representative chosen by `pick`. */
function groupBy(n: number, sig: (v: number) => string, pick: (vs: readonly number[]) => number): DimGroup[] {
  const g = new Map<string, number[]>();
  for (let v = 0; v < n; v++) {
    const k = sig(v);
    const l = g.get(k);
    if (l) l.push(v);
    else g.set(k, [v]);
  }
  return [...g.values()].map((vs) => ({ values: mergeIntervals(vs.map((v) => ({ lo: v, hi: v }))), rep: pick(vs) }));
}

/** The interface classes these names (some of the dump's) tell apart, as groups of class indices. */
export function ifacePartition(c: IfaceClasses, names: readonly string[]): DimGroup[] {
  const pats = [...new Set(names)].filter((n) => n !== '+');
  return groupBy(c.labels.length, (i) => pats.map((p) => (ifMatch(p, c.reps[i]) ? '1' : '0')).join(''), (vs) => vs[0]!);
}

/** The rows' text of a set of interface classes: `any`, `a,b`, or `! a,b` (every class but those). */
export function ifaceText(c: IfaceClasses, set: readonly Interval[]): string {
  const inSet = (i: number): boolean => inIntervals(i, set);
  const all = c.labels.map((_, i) => i);
  if (all.every(inSet)) return 'any';
  if (inSet(c.labels.length - 1)) return `! ${all.filter((i) => !inSet(i)).map((i) => c.labels[i]!).join(',')}`;
  return all.filter(inSet).map((i) => c.labels[i]!).join(',');
}

export const FLAG_COMBINATIONS = 64;
export const SYN = 2;
const ACK = 16;

/** The flag combinations conntrack and these tests tell apart; a group's witness is SYN, else ACK, else its lowest. */
export function flagPartition(tests: readonly FlagTest[]): DimGroup[] {
  return groupBy(
    FLAG_COMBINATIONS,
    (v) => (tcpStartsConnection(v) ? '1' : '0') + tests.map((t) => ((v & t.mask) === t.comp ? '1' : '0')).join(''),
    (vs) => (vs.includes(SYN) ? SYN : vs.includes(ACK) ? ACK : vs[0]!),
  );
}

/** The witness of a set of flag combinations: SYN, else ACK, else the lowest. */
export function flagWitness(set: readonly Interval[]): number {
  return inIntervals(SYN, set) ? SYN : inIntervals(ACK, set) ? ACK : set[0]!.lo;
}

/** Flag bits as iptables spells a list of them (`SYN,ACK`, `NONE`). */
export function flagNames(bits: number): string {
  const names = TCP_FLAGS.filter((_, i) => (bits & (1 << i)) !== 0);
  return names.length === 0 ? 'NONE' : names.join(',');
}

/**
 * A set of flag combinations as the fewest `MASK/COMP` tests (as `--tcp-flags MASK COMP` reads;
 * a single combination as its flags, `SYN`; every combination `any`) joined by ` or `, or as
 * `not (...)` of its complement when that is shorter: a greedy cover by the largest tests wholly
 * inside the set.
 */
export function flagsText(set: readonly Interval[]): string {
  const key = set.map((r) => `${r.lo}-${r.hi}`).join(',');
  let t = flagsTextMemo.get(key);
  if (t === undefined) flagsTextMemo.set(key, (t = flagsTextOf(set)));
  return t;
}

/** a matrix has few distinct flag sets and many rows: each is covered once */
const flagsTextMemo = new Map<string, string>();

function flagsTextOf(set: readonly Interval[]): string {
  const inSet = new Set<number>();
  for (const r of set) for (let v = r.lo; v <= r.hi; v++) inSet.add(v);
  if (inSet.size === FLAG_COMBINATIONS) return 'any';
  const yes = flagCover(inSet);
  const out = new Set([...Array(FLAG_COMBINATIONS).keys()].filter((v) => !inSet.has(v)));
  const no = flagCover(out);
  if (no.length >= yes.length) return yes.join(' or ');
  return no.length === 1 ? `not ${no[0]!}` : `not (${no.join(' or ')})`;
}

function flagCover(inSet: ReadonlySet<number>): string[] {
  const cubes: FlagTest[] = [];
  for (let mask = 0; mask < FLAG_COMBINATIONS; mask++)
    for (let comp = 0; comp < FLAG_COMBINATIONS; comp++) {
      if ((comp & ~mask) !== 0) continue;
      let inside = true;
      for (let v = 0; v < FLAG_COMBINATIONS && inside; v++) if ((v & mask) === comp && !inSet.has(v)) inside = false;
      if (inside) cubes.push({ mask, comp });
    }
  const bitsOf = (m: number): number => [...Array(6).keys()].filter((i) => (m & (1 << i)) !== 0).length;
  cubes.sort((a, b) => bitsOf(a.mask) - bitsOf(b.mask) || a.mask - b.mask || a.comp - b.comp);
  const left = new Set(inSet);
  const out: string[] = [];
  while (left.size > 0) {
    let best: FlagTest | undefined;
    let bestN = 0;
    for (const c of cubes) {
      let n = 0;
      for (const v of left) if ((v & c.mask) === c.comp) n++;
      if (n > bestN) {
        best = c;
        bestN = n;
      }
    }
    const c = best!;
    for (const v of [...left]) if ((v & c.mask) === c.comp) left.delete(v);
    out.push(c.mask === FLAG_COMBINATIONS - 1 ? flagNames(c.comp) : `${flagNames(c.mask)}/${flagNames(c.comp)}`);
  }
  return out;
}

/** `SYN,ACK` / `NONE` (any case) as flag bits, as `--tcp-flags` reads a list; undefined when a name is not a flag. */
export function parseFlagNames(text: string): number | undefined {
  let bits = 0;
  for (const w of text.split(',')) {
    const u = w.trim().toUpperCase();
    if (u === 'NONE') continue;
    const i = (TCP_FLAGS as readonly string[]).indexOf(u);
    if (i < 0) return undefined;
    bits |= 1 << i;
  }
  return bits;
}
