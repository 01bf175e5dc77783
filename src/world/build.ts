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
  // two listeners clash on the same port unless both are bound to different addresses
  const bound = new Map<string, (number | undefined)[]>();
  for (const s of services) {
    const key = `${s.ns} ${s.proto}/${s.port}`;
    const addrs = bound.get(key);
    if (addrs?.some((a) => a === undefined || s.addr === undefined || a === s.addr)) throw ConfigError.at(s.origin, 'model', `two services listen on ${s.proto}/${s.port} in ${s.ns}`);
    if (addrs) addrs.push(s.addr);
    else bound.set(key, [s.addr]);
  }
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
  const hits = new Set<NsId>(nsNames(world).get(ref));
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
  const clash = (nsNames(world).get(ns.name)?.length ?? 0) > 1;
  return clash || world.hosts.includes(ns.name) ? id : ns.name;
}

const namesCache = new WeakMap<World, ReadonlyMap<string, readonly NsId[]>>();

/** The namespaces of each netns name (a name may be used on several hosts), once per world. */
function nsNames(world: World): ReadonlyMap<string, readonly NsId[]> {
  let m = namesCache.get(world);
  if (m) return m;
  const names = new Map<string, NsId[]>();
  for (const ns of Object.values(world.netns)) {
    if (ns.name === null) continue;
    const list = names.get(ns.name);
    if (list) list.push(ns.id);
    else names.set(ns.name, [ns.id]);
  }
  namesCache.set(world, (m = names));
  return m;
}
