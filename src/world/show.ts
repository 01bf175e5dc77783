/**
 * A namespace's state in the shapes users know: `ip -4 -br addr`, `ip -4 route show table all`,
 * `ip rule` and `iptables-save`. Compared line for line with real kernel output in
 * test/world/show.test.ts (fixtures/kernel).
 */
import type { Netns, World } from './types.js';
import { dumpOrder, formatRoute, formatRule } from '../route/show.js';
import { formatIpv4 } from '../wire/ipv4.js';
import { hasCarrier, linkByIndex, operState } from './links.js';
import { iptablesSave } from '../netfilter/save.js';
import { listRuleset } from '../nft/print.js';

/** `ip -4 -br addr`: links with IPv4 addresses, name@peer padded to 16, state to 14. */
export function showBriefAddr(world: World, ns: Netns): string {
  const out: string[] = [];
  const links = [...ns.links].sort((a, b) => a.ifindex - b.ifindex);
  for (const l of links) {
    const addrs = ns.addrs.filter((a) => a.ifindex === l.ifindex);
    if (addrs.length === 0) continue;
    let name = l.name;
    if (l.peer) name += l.peer.ns === ns.id ? `@${linkByIndex(ns, l.peer.ifindex)?.name ?? `if${l.peer.ifindex}`}` : `@if${l.peer.ifindex}`;
    const line = `${name.padEnd(16)} ${operState(world, ns, l).padEnd(14)} ${addrs.map((a) => `${formatIpv4(a.local)}/${a.prefixLen} `).join('')}`;
    out.push(line);
  }
  return out.join('\n') + (out.length ? '\n' : '');
}

/** `ip -4 route show table all`. */
export function showRoutes(world: World, ns: Netns): string {
  const name = (i: number): string | undefined => linkByIndex(ns, i)?.name;
  return dumpOrder(ns.routes)
    .map((r) => {
      const l = r.oif !== undefined ? linkByIndex(ns, r.oif) : undefined;
      const linkdown = l !== undefined && l.up && !hasCarrier(world, ns, l) && r.type !== 'local';
      return formatRoute(r, name, linkdown) + '\n';
    })
    .join('');
}

/** `ip rule` (the kernel keeps rules sorted by priority; ties in insertion order). */
export function showRules(ns: Netns): string {
  return ns.rules.map((r) => formatRule(r) + '\n').join('');
}

export function showNetns(world: World, ns: Netns): string {
  return [
    `$ ip -4 -br addr`,
    showBriefAddr(world, ns).replace(/\n$/, ''),
    `$ ip -4 route show table all`,
    showRoutes(world, ns).replace(/\n$/, ''),
    `$ ip rule`,
    showRules(ns).replace(/\n$/, ''),
    `$ iptables-save`,
    iptablesSave(ns.nf).replace(/\n$/, ''),
    // only for namespaces with nft state (nft list ruleset prints nothing for an empty one)
    ...(ns.nft && ns.nft.tables.length > 0 ? ['$ nft list ruleset', listRuleset(ns.nft).replace(/\n$/, '')] : []),
  ].join('\n');
}
