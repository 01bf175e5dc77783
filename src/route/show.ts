/**
 * `ip -4 route show table all` and `ip rule` text, as iproute2 prints them (ip/iproute.c
 * print_route, ip/iprule.c): a trailing space after every route line, `proto boot` and scope
 * global hidden, tables dumped in the kernel's hash order (table id mod 256), and within a table
 * in trie order: by destination address, longer prefix first, then metric.
 */
import { formatIpv4, formatRouteDst } from '../wire/ipv4.js';
import type { FibRule, Route } from './types.js';
import { RT_TABLE } from './types.js';

export function tableName(id: number): string {
  if (id === RT_TABLE.main) return 'main';
  if (id === RT_TABLE.local) return 'local';
  if (id === RT_TABLE.default) return 'default';
  return String(id);
}

/** Sorts routes in the order a full dump lists them. Stable for equal keys (insertion order). */
export function dumpOrder(routes: readonly Route[]): Route[] {
  return routes
    .map((r, i) => ({ r, i }))
    .sort(
      (a, b) =>
        (a.r.table & 255) - (b.r.table & 255) ||
        a.r.table - b.r.table ||
        a.r.dst.addr - b.r.dst.addr ||
        b.r.dst.len - a.r.dst.len ||
        a.r.metric - b.r.metric ||
        a.i - b.i,
    )
    .map((x) => x.r);
}

export function formatRoute(r: Route, ifname: (ifindex: number) => string | undefined, linkdown: boolean): string {
  let s = '';
  if (r.type !== 'unicast') s += `${r.type} `;
  s += `${formatRouteDst(r.dst)} `;
  if (r.via !== undefined) s += `via ${formatIpv4(r.via)} `;
  if (r.oif !== undefined) s += `dev ${ifname(r.oif) ?? `if${r.oif}`} `;
  if (r.table !== RT_TABLE.main) s += `table ${tableName(r.table)} `;
  if (r.proto !== 'boot') s += `proto ${r.proto} `;
  if (r.scope !== 'global') s += `scope ${r.scope} `;
  if (r.prefsrc !== undefined) s += `src ${formatIpv4(r.prefsrc)} `;
  if (r.metric !== 0) s += `metric ${r.metric} `;
  if (r.onlink) s += 'onlink ';
  if (linkdown) s += 'linkdown ';
  return s;
}

export function formatRule(r: FibRule): string {
  let s = `${r.priority}:\t`;
  if (r.not) s += 'not ';
  s += r.from ? `from ${formatRouteDst(r.from) === 'default' ? 'all' : formatRouteDst(r.from)} ` : 'from all ';
  if (r.to) s += `to ${formatRouteDst(r.to)} `;
  if (r.fwmark) {
    s += `fwmark 0x${r.fwmark.value.toString(16)}`;
    if (r.fwmark.mask !== 0xffffffff) s += `/0x${r.fwmark.mask.toString(16)}`;
    s += ' ';
  }
  if (r.iif !== undefined) s += `iif ${r.iif} `;
  if (r.oif !== undefined) s += `oif ${r.oif} `;
  s += r.action === 'lookup' ? `lookup ${tableName(r.table)}` : r.action;
  return s.trimEnd();
}
