/**
 * A namespace's state in the shapes users know: `ip -4 -br addr`, `ip -4 route show table all`,
 * `ip rule` and `iptables-save`. Compared line for line with real kernel output in
 * test/world/show.test.ts (fixtures/kernel).
 */
import type { Link } from '../model/link.js';
import { formatOrigin } from '../model/origin.js';
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

/** A bridge port's STP state with STP off: forwarding while the port and its bridge are up with carrier. */
function portState(world: World, ns: Netns, port: Link, br: Link | undefined): string {
  return br !== undefined && br.up && hasCarrier(world, ns, port) ? 'forwarding' : 'disabled';
}

/**
 * `bridge -d link show` as iproute2 6.1 prints it (bridge/link.c): one line per bridge port with
 * its flags, then its port options. Two quirks of the tool are kept: a veth's `@peer` and its
 * M-DOWN are looked up by the peer's ifindex in this namespace even when the peer lives in
 * another one; the cost is br_port_cost() of the device's speed (veth: 10000 Mb/s, cost 2;
 * a device without a speed: 100). Compared with the kernel in test/world/brport.test.ts.
 */
export function showBridgeLinks(world: World, ns: Netns): string {
  const out: string[] = [];
  const onOff = (b: boolean): string => (b ? 'on' : 'off');
  for (const l of [...ns.links].sort((a, b) => a.ifindex - b.ifindex)) {
    if (l.master === undefined || !l.brport) continue;
    const br = linkByIndex(ns, l.master);
    const carrier = hasCarrier(world, ns, l);
    const flags: string[] = [];
    if (l.up && !carrier) flags.push('NO-CARRIER');
    flags.push('BROADCAST', 'MULTICAST');
    if (l.up) flags.push('UP');
    if (carrier) flags.push('LOWER_UP');
    let name = l.name;
    if (l.peer) {
      const local = linkByIndex(ns, l.peer.ifindex);
      name += `@${local?.name ?? `if${l.peer.ifindex}`}`;
      if (local && !local.up) flags.push('M-DOWN');
    }
    const cost = l.kind === 'veth' ? 2 : 100;
    out.push(`${l.ifindex}: ${name}: <${flags.join(',')}> mtu ${l.mtu} master ${br?.name ?? `if${l.master}`} state ${portState(world, ns, l, br)} priority 32 cost ${cost} `);
    const p = l.brport;
    out.push(
      `    hairpin ${onOff(p.hairpin)} guard off root_block off fastleave off learning ${onOff(p.learning)} flood ${onOff(p.flood)} ` +
        `mcast_flood ${onOff(p.mcast_flood)} bcast_flood ${onOff(p.bcast_flood)} mcast_router 1 mcast_to_unicast off neigh_suppress off ` +
        `vlan_tunnel off isolated ${onOff(p.isolated)} locked off `,
    );
  }
  return out.join('\n') + (out.length ? '\n' : '');
}

export function showNetns(world: World, ns: Netns): string {
  const ports = showBridgeLinks(world, ns);
  return [
    `$ ip -4 -br addr`,
    showBriefAddr(world, ns).replace(/\n$/, ''),
    ...(ports ? ['$ bridge -d link show', ports.replace(/\n$/, '')] : []),
    `$ ip -4 route show table all`,
    showRoutes(world, ns).replace(/\n$/, ''),
    `$ ip rule`,
    showRules(ns).replace(/\n$/, ''),
    `$ iptables-save`,
    iptablesSave(ns.nf).replace(/\n$/, ''),
    // only for namespaces with nft state (nft list ruleset prints nothing for an empty one)
    ...(ns.nft && ns.nft.tables.length > 0 ? ['$ nft list ruleset', listRuleset(ns.nft).replace(/\n$/, '')] : []),
    ...(Object.keys(ns.noEffect).length > 0 ? ['# sysctls with no effect on the simulation', showNoEffect(ns).replace(/\n$/, '')] : []),
  ].join('\n');
}

/** Sysctls written that cannot change a packet walk: `key = value   # why (file:line)`. */
export function showNoEffect(ns: Netns): string {
  return Object.entries(ns.noEffect)
    .map(([k, v]) => `${k} = ${v.value}   # ${v.why} (${formatOrigin(v.origin)})\n`)
    .join('');
}
