/**
 * Warnings: input the kernel accepts but that is almost certainly a mistake. They are printed on
 * stderr (`netpath: warning: ...`) and listed under `warnings` in JSON output; they never change
 * the exit code.
 */
import { formatOrigin } from '../model/origin.js';
import { formatIpv4 } from '../wire/ipv4.js';
import type { World } from '../world/types.js';

/**
 * The same address on two interfaces of one LAN: the kernel adds each without complaint (an
 * address is per interface), and both hosts then answer ARP for it.
 */
export function duplicateLanAddresses(world: World): string[] {
  const out: string[] = [];
  for (const lan of Object.values(world.lans)) {
    const holders = new Map<number, string[]>();
    for (const p of lan.ports) {
      const ns = world.netns[p.ns];
      const link = ns?.links.find((l) => l.ifindex === p.ifindex);
      if (!ns || !link) continue;
      for (const a of ns.addrs) {
        if (a.ifindex !== p.ifindex) continue;
        const list = holders.get(a.local) ?? [];
        list.push(`${p.ns}/${link.name} (${formatOrigin(a.origin)})`);
        holders.set(a.local, list);
      }
    }
    for (const [addr, who] of holders)
      if (who.length > 1) out.push(`LAN ${lan.name}: ${formatIpv4(addr)} is on ${who.length} interfaces: ${who.join(', ')}; each answers ARP for it`);
  }
  return out;
}

/** Every warning about a built world. */
export function worldWarnings(world: World): string[] {
  return duplicateLanAddresses(world);
}

export interface ErrIo {
  err(s: string): void;
}

export function printWarnings(warnings: readonly string[], io: ErrIo): void {
  for (const w of warnings) io.err(`netpath: warning: ${w}\n`);
}
