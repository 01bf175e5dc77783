/** `netpath show MODEL [--ns NAME] [--json]`: each namespace as the kernel would show it after the runbooks. */
import { KERNEL } from '../model/origin.js';
import { iptablesSave } from '../netfilter/save.js';
import { listRuleset } from '../nft/print.js';
import { loadModel } from '../plan/model.js';
import { buildWorld, displayNs, resolveNsRef } from '../world/build.js';
import { showNetns, showBriefAddr, showBridgeLinks, showRoutes, showRules } from '../world/show.js';
import type { World } from '../world/types.js';
import type { Io } from './main.js';
import { printWarnings, worldWarnings } from './warnings.js';

export interface ShowOptions {
  readonly ns?: string;
  readonly json?: boolean;
}

function namespacesToShow(world: World, ns: string | undefined): string[] {
  if (ns === undefined) return Object.keys(world.netns);
  return [resolveNsRef(world, ns, { ...KERNEL, file: '--ns' })];
}

export function cmdShow(path: string, opts: ShowOptions, io: Io): number {
  const { world } = buildWorld(loadModel(path));
  const ids = namespacesToShow(world, opts.ns);
  const warnings = worldWarnings(world);
  printWarnings(warnings, io);
  if (opts.json) {
    const nss = ids.map((id) => {
      const ns = world.netns[id]!;
      return {
        id,
        name: displayNs(world, id),
        host: ns.host,
        addr: showBriefAddr(world, ns).split('\n').filter(Boolean),
        routes: showRoutes(world, ns).split('\n').filter(Boolean).map((l) => l.trimEnd()),
        rules: showRules(ns).split('\n').filter(Boolean),
        ...(ns.links.some((l) => l.brport) ? { bridge: showBridgeLinks(world, ns).split('\n').filter(Boolean).map((l) => l.trimEnd()) } : {}),
        iptables: iptablesSave(ns.nf).split('\n').filter(Boolean),
        ...(ns.nft && ns.nft.tables.length > 0 ? { nft: listRuleset(ns.nft).split('\n').filter(Boolean) } : {}),
      };
    });
    io.out(JSON.stringify({ namespaces: nss, warnings }, null, 2) + '\n');
    return 0;
  }
  const parts = ids.map((id) => `=== ${displayNs(world, id)}${displayNs(world, id) !== id ? ` (${id})` : ''} ===\n${showNetns(world, world.netns[id]!)}\n`);
  io.out(parts.join('\n'));
  return 0;
}

