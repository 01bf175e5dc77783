import type { World } from '../../src/world/types.js';

/** What the topology must draw, counted straight from the world: namespaces, veth pairs, LAN NICs, bridge ports. */
export function expectedCounts(world: World): { ns: number; veth: number; lan: number; port: number } {
  let veth = 0;
  let lan = 0;
  let port = 0;
  for (const ns of Object.values(world.netns))
    for (const l of ns.links) {
      if (l.kind === 'veth' && l.peer && world.netns[l.peer.ns]) veth += 1; // each pair counted from both ends
      if (l.lan !== undefined) lan += 1;
      if (l.master !== undefined) port += 1;
    }
  return { ns: Object.keys(world.netns).length, veth: veth / 2, lan, port };
}
