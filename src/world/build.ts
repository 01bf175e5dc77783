/**
 * From a model file to the world: hosts, LAN NICs, then each host's runbook folded in order.
 */
import { ConfigError } from '../model/errors.js';
import type { NsId } from '../model/link.js';
import type { Origin } from '../model/origin.js';
import type { ModelFile, ModelIo } from '../plan/model.js';
import { nodeIo } from '../plan/model.js';
import type { Op } from '../plan/ops.js';
import { parseRunbook } from '../plan/runbook.js';
import { addHost, addLanNic, applyOps, emptyWorld } from './apply.js';
import type { Service, World } from './types.js';

export interface Built {
  readonly model: ModelFile;
  readonly world: World;
  /** every host's parsed runbook, in order */
  readonly ops: Readonly<Record<string, readonly Op[]>>;
}

export function buildWorld(model: ModelFile, io: ModelIo = nodeIo): Built {
  let world = emptyWorld();
  for (const h of model.hosts) world = addHost(world, h.name, h.origin);
  for (const lan of model.lans)
    for (const m of lan.members) world = addLanNic(world, lan.name, m.host, m.ifname, m.addr, m.origin);
  const ops: Record<string, readonly Op[]> = {};
  for (const h of model.hosts) {
    if (!h.runbook) {
      ops[h.name] = [];
      continue;
    }
    const parsed = parseRunbook(
      { host: h.name, file: h.runbook.file, text: h.runbook.text, firstLine: h.runbook.firstLine, ...(h.runbook.lines ? { lines: h.runbook.lines } : {}), ...(h.files ? { files: h.files } : {}), baseDir: model.dir },
      io,
    );
    ops[h.name] = parsed;
    world = applyOps(world, parsed);
  }
  // the runbooks' own listeners (docker-proxy) first, then the model's
  const services: Service[] = [...world.services, ...model.services.map((s) => ({
    ns: resolveNsRef(world, s.at, s.origin),
    proto: s.proto,
    port: s.port,
    origin: s.origin,
  }))];
  for (const [i, s] of services.entries())
    if (services.findIndex((t) => t.ns === s.ns && t.proto === s.proto && t.port === s.port && (t.addr === undefined || s.addr === undefined || t.addr === s.addr)) !== i)
      throw ConfigError.at(s.origin, 'model', `two services listen on ${s.proto}/${s.port} in ${s.ns}`);
  world = { ...world, services };
  return { model, world, ops };
}

/**
 * Resolves a namespace reference from a model file: `host`, `host/netns`, or a netns name that
 * exactly one host's runbook created (a container name or an `ip netns` name).
 */
export function resolveNsRef(world: World, ref: string, origin: Origin): NsId {
  if (ref.includes('/')) {
    const [host, name] = ref.split('/', 2) as [string, string];
    if (!world.hosts.includes(host)) throw ConfigError.at(origin, 'model', `unknown host "${host}" in "${ref}"`);
    const id = world.bindings[host]?.[name] ?? `${host}/${name}`;
    if (!world.netns[id]) throw ConfigError.at(origin, 'model', `host ${host} has no namespace "${name}"`);
    return id;
  }
  if (world.hosts.includes(ref)) return ref;
  const hits = new Set<NsId>();
  for (const ns of Object.values(world.netns)) if (ns.name === ref) hits.add(ns.id);
  for (const [, b] of Object.entries(world.bindings)) {
    const id = b[ref];
    if (id !== undefined) hits.add(id);
  }
  if (hits.size === 1) return [...hits][0]!;
  if (hits.size > 1)
    throw ConfigError.at(origin, 'model', `"${ref}" names a namespace on several hosts (${[...hits].join(', ')}): write host/${ref}`);
  const known = Object.keys(world.netns).join(', ');
  throw ConfigError.at(origin, 'model', `no host or namespace called "${ref}" (known: ${known})`);
}

/** How users see a namespace id: the bare netns name when no other host uses it. */
export function displayNs(world: World, id: NsId): string {
  const ns = world.netns[id];
  if (!ns || ns.name === null) return id;
  const clash = Object.values(world.netns).some((o) => o.id !== id && o.name === ns.name);
  return clash || world.hosts.includes(ns.name) ? id : ns.name;
}
