/**
 * Chain indexes: which rules of a long chain can possibly match a packet, so the walk does not
 * test every rule (kube-proxy's KUBE-SERVICES holds one rule per service port; KUBE-NODEPORTS
 * one per node port).
 *
 * Each rule gets at most one key, taken from what it matches on:
 *   - a non-inverted `-d A/len`            → bucket (len, A)
 *   - else `-p P` with a non-inverted single `--dport N` of the tcp/udp/sctp match → bucket (P, N)
 *   - else no key: the rule is a candidate for every packet.
 * The candidates for a packet are the key-less rules plus the rules of the buckets the packet
 * falls into, merged back into rule order, so the walk keeps first-match semantics and sees
 * exactly the rules the linear walk would find matching.
 *
 * A rule is only given a key when every match before the key match is free of side effects:
 * `-m statistic` asks the environment for a coin and `-m recent` changes a list, and the linear
 * walk would have done that before finding the key mismatch. Such rules stay key-less.
 *
 * Indexes are built on first use and cached per chain object (chains are immutable values), so
 * the engine's runTable calls get them without knowing.
 */
import { MATCH_EXTS } from './ext/index.js';
import type { NfChain, NfRule } from './types.js';

/** chains shorter than this are walked rule by rule */
export const INDEX_MIN_RULES = 12;

export interface ChainIndex {
  /** rule positions (0-based, ascending) that may match a packet with these fields */
  candidates(dst: number, proto: number, dport: number | undefined): readonly number[];
  /** rules that carry a key (for bench and tests) */
  readonly keyed: number;
}

/** matches whose extensions ask the environment or change state (ext/: `sideEffects`) */
const SIDE_EFFECTS: ReadonlySet<string> = new Set(Object.values(MATCH_EXTS).filter((e) => (e as { sideEffects?: boolean }).sideEffects === true).map((e) => e.name));

type Key = { readonly kind: 'dst'; readonly len: number; readonly addr: number } | { readonly kind: 'port'; readonly proto: number; readonly port: number };

function keyOf(rule: NfRule): Key | undefined {
  let proto: number | undefined;
  for (const m of rule.matches) {
    if (SIDE_EFFECTS.has(m.kind)) return undefined;
    if (m.kind === 'destination' && !m.invert) return { kind: 'dst', len: m.prefix.len, addr: m.prefix.addr };
    if (m.kind === 'protocol' && !m.invert) proto = m.proto;
    if ((m.kind === 'tcp' || m.kind === 'udp' || m.kind === 'sctp') && proto !== undefined && m.dport && !m.dport.invert && m.dport.min === m.dport.max) {
      return { kind: 'port', proto, port: m.dport.min };
    }
  }
  return undefined;
}

function mask(len: number): number {
  return len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
}

/** two ascending lists as one (one of them returned as it is when the other is empty) */
function merge2(a: readonly number[], b: readonly number[]): readonly number[] {
  if (b.length === 0) return a;
  if (a.length === 0) return b;
  // concat, not new Array(n): a builtin's array has no allocation site for V8 to switch to
  // old-space allocation, which would throw away the optimised walk (eval.ts, ChainPlanOf)
  const out = a.concat(b);
  let i = 0;
  let j = 0;
  let k = 0;
  while (i < a.length && j < b.length) out[k++] = a[i]! < b[j]! ? a[i++]! : b[j++]!;
  while (i < a.length) out[k++] = a[i++]!;
  while (j < b.length) out[k++] = b[j++]!;
  return out;
}

export function buildChainIndex(chain: NfChain): ChainIndex {
  const wild: number[] = [];
  const byLen = new Map<number, Map<number, number[]>>();
  const byPort = new Map<number, number[]>();
  let keyed = 0;
  chain.rules.forEach((rule, i) => {
    const key = keyOf(rule);
    if (!key) {
      wild.push(i);
      return;
    }
    keyed++;
    if (key.kind === 'dst') {
      let m = byLen.get(key.len);
      if (!m) byLen.set(key.len, (m = new Map()));
      const l = m.get(key.addr);
      if (l) l.push(i);
      else m.set(key.addr, [i]);
    } else {
      const k = key.proto * 65536 + key.port;
      const l = byPort.get(k);
      if (l) l.push(i);
      else byPort.set(k, [i]);
    }
  });
  const lens = [...byLen.entries()].map(([len, m]) => ({ mask: mask(len), m }));
  // the key-less rules merged with one bucket, per bucket, made on first use: most packets fall
  // into one bucket, so most lookups make no array
  const withWild = new Map<readonly number[], readonly number[]>();
  return {
    keyed,
    candidates(dst, proto, dport) {
      let one: readonly number[] | undefined; // the first bucket the packet falls into
      let more: readonly number[] | undefined; // all of them merged, once there are two
      for (let k = 0; k < lens.length; k++) {
        const l = lens[k]!;
        const b = l.m.get((dst & l.mask) >>> 0);
        if (b === undefined) continue;
        if (one === undefined) one = b;
        else more = merge2(more ?? one, b);
      }
      if (dport !== undefined && byPort.size > 0) {
        const b = byPort.get(proto * 65536 + dport);
        if (b !== undefined) {
          if (one === undefined) one = b;
          else more = merge2(more ?? one, b);
        }
      }
      if (more !== undefined) return merge2(wild, more);
      if (one === undefined) return wild;
      let out = withWild.get(one);
      if (out === undefined) withWild.set(one, (out = merge2(wild, one)));
      return out;
    },
  };
}

const cache = new WeakMap<NfChain, ChainIndex | null>();

/** The chain's index, built once per chain object; undefined for short chains. */
export function chainIndex(chain: NfChain): ChainIndex | undefined {
  let ix = cache.get(chain);
  if (ix === undefined) {
    ix = chain.rules.length >= INDEX_MIN_RULES ? buildChainIndex(chain) : null;
    cache.set(chain, ix);
  }
  return ix ?? undefined;
}
