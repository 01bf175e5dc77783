/**
 * Chain priorities by name, as nft reads and prints them (nftables src/rule.c, std_prios and
 * bridge_std_prios; names are printed only where the family and hook allow them, and within
 * ±10 as `name + N` / `name - N`, observed with nft 1.0.6: prerouting -110 prints
 * `dstnat - 10`, output -110 prints `-110`).
 */
import type { NftFamily, NftHook } from './types.js';

const STD: readonly (readonly [string, number])[] = [
  ['raw', -300],
  ['mangle', -150],
  ['dstnat', -100],
  ['filter', 0],
  ['security', 50],
  ['srcnat', 100],
];
const BRIDGE: readonly (readonly [string, number])[] = [
  ['dstnat', -300],
  ['filter', -200],
  ['out', 100],
  ['srcnat', 300],
];

/** `filter`, `-110`, `dstnat - 10`, `mangle + 5` (names as in the inet families) */
export function parsePriority(text: string): number | undefined {
  const m = /^([a-z]+|-?\d+)(?: ([+-]) (\d+))?$/.exec(text);
  if (!m) return undefined;
  let base: number | undefined;
  if (/^-?\d+$/.test(m[1]!)) base = Number(m[1]);
  else base = STD.find(([n]) => n === m[1])?.[1];
  if (base === undefined) return undefined;
  if (m[2] !== undefined) base += m[2] === '+' ? Number(m[3]) : -Number(m[3]);
  return base;
}

function compat(name: string, family: NftFamily, hook: NftHook): boolean {
  const inet = family === 'ip' || family === 'ip6' || family === 'inet';
  switch (name) {
    case 'filter':
      return inet || family === 'arp' || family === 'netdev';
    case 'raw':
    case 'mangle':
    case 'security':
      return inet;
    case 'dstnat':
      return inet && hook === 'prerouting';
    case 'srcnat':
      return inet && hook === 'postrouting';
    default:
      return false;
  }
}

export function formatPriority(family: NftFamily, hook: NftHook, prio: number): string {
  const table = family === 'bridge' ? BRIDGE : STD;
  for (const [name, v] of table) {
    if (family !== 'bridge' && !compat(name, family, hook)) continue;
    if (prio === v) return name;
    if (prio >= v - 10 && prio <= v + 10) return prio > v ? `${name} + ${prio - v}` : `${name} - ${v - prio}`;
  }
  return String(prio);
}
