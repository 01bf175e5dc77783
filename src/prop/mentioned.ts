/**
 * The values a model mentions: the ports and addresses its services, rules, routes and
 * interfaces name. Generators draw these (and their neighbours, ±1) more often than the rest, so
 * that a hundred runs find the one port in 65535 that a rule lets through: a bug in a rule set
 * almost always sits at a value the rule set itself names, or one past it.
 */
import type { NfMatch, NfRule, NfTarget } from '../netfilter/types.js';
import { broadcastOf, type Ipv4 } from '../wire/ipv4.js';
import type { World } from '../world/types.js';

/** A destination the model points at on purpose: a service, or a DNAT rule's match. */
export interface Endpoint {
  readonly addr: Ipv4;
  readonly port: number;
  readonly proto: 'tcp' | 'udp';
}

export interface Mentioned {
  /** sorted, each with its neighbours */
  readonly ports: readonly number[];
  /** sorted, each with its neighbours */
  readonly addrs: readonly Ipv4[];
  readonly endpoints: readonly Endpoint[];
}

const cache = new WeakMap<World, Mentioned>();

export function mentioned(world: World): Mentioned {
  const hit = cache.get(world);
  if (hit) return hit;
  const ports = new Set<number>();
  const addrs = new Set<number>();
  const endpoints: Endpoint[] = [];
  const port = (p: number): void => {
    for (const v of [p - 1, p, p + 1]) if (v >= 1 && v <= 65535) ports.add(v);
  };
  const addr = (a: number): void => {
    for (const v of [a - 1, a, a + 1]) if (v >= 0 && v <= 0xffffffff) addrs.add(v >>> 0);
  };
  const prefix = (p: { addr: number; len: number }): void => {
    if (p.len === 0) return;
    addr(p.addr);
    addr(broadcastOf(p.addr, p.len));
  };

  for (const s of world.services) port(s.port);
  for (const ns of Object.values(world.netns)) {
    for (const a of ns.addrs) {
      if (a.scope === 'host') continue;
      addr(a.local);
      if (a.prefixLen < 31) prefix({ addr: a.local, len: a.prefixLen });
      for (const s of world.services) if (s.ns === ns.id) endpoints.push({ addr: a.local, port: s.port, proto: s.proto });
    }
    for (const r of ns.routes) {
      if (r.table === 255) continue; // local table: the addresses above already
      prefix(r.dst);
      if (r.via !== undefined) addr(r.via);
    }
    for (const n of ns.neighs) addr(n.dst);
    for (const table of Object.values(ns.nf))
      for (const chain of Object.values(table.chains))
        for (const rule of chain.rules) {
          for (const m of rule.matches) matchValues(m, port, addr, prefix);
          if (rule.target) targetValues(rule.target, port, addr);
          const ep = dnatEndpoint(rule);
          if (ep) endpoints.push(ep);
        }
  }
  const out: Mentioned = {
    ports: [...ports].sort((a, b) => a - b),
    addrs: [...addrs].sort((a, b) => a - b),
    endpoints: dedupe(endpoints),
  };
  cache.set(world, out);
  return out;
}

function matchValues(m: NfMatch, port: (p: number) => void, addr: (a: number) => void, prefix: (p: { addr: number; len: number }) => void): void {
  switch (m.kind) {
    case 'source':
    case 'destination':
      return prefix(m.prefix);
    case 'tcp':
    case 'udp':
      for (const r of [m.sport, m.dport]) if (r) both(port, r.min, r.max);
      return;
    case 'multiport':
      for (const r of m.ports) both(port, r.min, r.max);
      return;
    case 'iprange':
      for (const r of [m.srcRange, m.dstRange]) if (r) both(addr, r.from, r.to);
      return;
    case 'conntrack':
      for (const a of [m.ctorigsrc, m.ctorigdst]) if (a) addr(a.addr);
      return;
    default:
      return;
  }
}

function targetValues(t: NfTarget, port: (p: number) => void, addr: (a: number) => void): void {
  switch (t.kind) {
    case 'DNAT':
    case 'SNAT':
      if (t.range.addr) both(addr, t.range.addr.min, t.range.addr.max);
      if (t.range.ports) both(port, t.range.ports.min, t.range.ports.max);
      return;
    case 'MASQUERADE':
    case 'REDIRECT':
      if (t.ports) both(port, t.ports.min, t.ports.max);
      return;
    default:
      return;
  }
}

/** `-d A -p tcp --dport P -j DNAT`: the address and port a client is meant to use. */
function dnatEndpoint(rule: NfRule): Endpoint | undefined {
  if (rule.target?.kind !== 'DNAT' && rule.target?.kind !== 'REDIRECT') return undefined;
  let dst: number | undefined;
  let ep: { port: number; proto: 'tcp' | 'udp' } | undefined;
  for (const m of rule.matches) {
    if (m.kind === 'destination' && !m.invert && m.prefix.len === 32) dst = m.prefix.addr;
    if ((m.kind === 'tcp' || m.kind === 'udp') && m.dport && !m.dport.invert) ep = { port: m.dport.min, proto: m.kind };
  }
  return dst !== undefined && ep ? { addr: dst, ...ep } : undefined;
}

function both(f: (v: number) => void, a: number, b: number): void {
  f(a);
  f(b);
}

function dedupe(eps: Endpoint[]): Endpoint[] {
  const seen = new Set<string>();
  return eps.filter((e) => {
    const k = `${e.proto}|${e.addr}|${e.port}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}
