/**
 * The fold: applies one Op to the world, as the kernel would, or fails as the real command would.
 *
 * Kernel behaviour reproduced here (observed in network namespaces, see docs/kernel-notes.md and
 * test/world/*.test.ts; code in net/ipv4/fib_frontend.c fib_add_ifaddr / fib_netdev_event):
 * - `ip addr add A/L dev D` always adds `local A` to table local; when D is up it also adds the
 *   prefix route `N/L dev D proto kernel scope link src A` to main (not for /32, not for secondary
 *   addresses) and `broadcast BRD` to table local (for L < 31).
 * - `ip link set D down` removes every route through D except its `local` routes; `up` re-adds the
 *   kernel's routes for D's addresses but never the static routes that the down removed.
 * - moving a device to another namespace brings it down, drops its addresses and routes, and gives
 *   it the new namespace's conf.default settings; it keeps its ifindex when that is free there.
 * - `ip link set name` works on an up device too (observed on Linux 6.18; older kernels said EBUSY).
 */
import { applyNft } from '../nft/ruleset.js';
import { EMPTY_NFT, type NftState } from '../nft/types.js';
import { type Draft, produce } from 'immer';
import { BRPORT_DEFAULTS, type IfAddr, type Link, type NsId } from '../model/link.js';
import type { Origin } from '../model/origin.js';
import { KERNEL } from '../model/origin.js';
import { ConfigError, assertNever, bug } from '../model/errors.js';
import type { Op, LinkAddOp, LinkSetOp, AddrOp, AddrFlushOp, RouteOp, RouteFlushOp, RuleOp, NeighOp, SysctlOp } from '../plan/ops.js';
import type { FibRule, Route, RouteScope, RouteType } from '../route/types.js';
import { RT_TABLE } from '../route/types.js';
import { broadcastOf, formatIpv4, inPrefix, networkOf } from '../wire/ipv4.js';
import { applyIptables, applyRestore, emptyNfState } from '../netfilter/tables.js';
import type { NfRule, NfTableName } from '../netfilter/types.js';
import { DEFAULT_DEVCONF, NO_EFFECT_SYSCTLS, NS_SYSCTL_DEFAULTS, classifySysctl, devconfValue, nsSysctlValue } from './sysctl.js';
import type { Netns, World } from './types.js';

type DWorld = Draft<World>;
type DNetns = Draft<Netns>;
type DLink = Draft<Link>;

const LOOPBACK: number = 0x7f000001;

export function emptyWorld(): World {
  return { hosts: [], netns: {}, lans: {}, services: [], bindings: {} };
}

/** A deterministic, locally administered MAC for a new device. */
export function macFor(seed: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < seed.length; i++) {
    h ^= seed.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  let h2 = h ^ 0x5bd1e995;
  h2 = Math.imul(h2 ^ (h2 >>> 15), 0x2c1b3c6d) >>> 0;
  const bytes = [0x02, (h >>> 24) & 255, (h >>> 16) & 255, (h >>> 8) & 255, h & 255, h2 & 255];
  return bytes.map((b) => b.toString(16).padStart(2, '0')).join(':');
}

export function nsIdOf(host: string, name: string | null): NsId {
  return name === null ? host : `${host}/${name}`;
}

// ---------------------------------------------------------------------------------------------
// namespaces

/**
 * A new namespace as a fresh mutable object for the fold to write into: every object in it is
 * its own, but for the frozen KERNEL origin (origins are never written).
 */
function newNetns(id: NsId, host: string, name: string | null, container: boolean, origin: Origin): DNetns {
  const lo: DLink = {
    ifindex: 1,
    name: 'lo',
    kind: 'loopback',
    mac: '00:00:00:00:00:00',
    mtu: 65536,
    up: true,
    // lo, all and default are separate sysctl directories in the kernel: three objects
    conf: { ...DEFAULT_DEVCONF },
    confSet: [],
    origin: KERNEL,
  };
  const ns: DNetns = {
    id,
    host,
    name,
    container,
    links: [lo],
    addrs: [],
    routes: [],
    rules: [
      { priority: 0, not: false, action: 'lookup', table: RT_TABLE.local, origin: KERNEL },
      { priority: 32766, not: false, action: 'lookup', table: RT_TABLE.main, origin: KERNEL },
      { priority: 32767, not: false, action: 'lookup', table: RT_TABLE.default, origin: KERNEL },
    ],
    neighs: [],
    confAll: { ...DEFAULT_DEVCONF },
    confDefault: { ...DEFAULT_DEVCONF },
    sysctl: { ...NS_SYSCTL_DEFAULTS },
    noEffect: {},
    nf: emptyNfState() as Draft<Netns['nf']>,
    nextIfindex: 2,
    origin,
  };
  // lo up with 127.0.0.1/8, as the model promises for every namespace (see docs/model-format.md)
  addAddress(ns, { ifindex: 1, local: LOOPBACK, prefixLen: 8, scope: 'host', secondary: false, label: 'lo', origin: KERNEL });
  // and lo's routes: local 127.0.0.0/8, local 127.0.0.1, broadcast 127.255.255.255 (observed:
  // fixtures/kernel/facts/lo-routes.sh, a namespace with nothing but lo up)
  refreshKernelRoutes(undefined, ns);
  return ns;
}

export function addHost(world: World, host: string, origin: Origin): World {
  return produce(world, (w) => {
    w.hosts.push(host);
    w.netns[host] = newNetns(host, host, null, false, origin);
  });
}

/** Adds a host NIC joined to a LAN, up, with an optional address (model `lans:` key). */
export function addLanNic(
  world: World,
  lan: string,
  host: string,
  ifname: string,
  addr: { local: number; prefixLen: number } | null,
  origin: Origin,
): World {
  return produce(world, (w) => {
    const ns = w.netns[host];
    if (!ns) throw ConfigError.at(origin, 'model', `LAN ${lan}: unknown host "${host}" (hosts: ${w.hosts.join(', ')})`);
    if (linkNamed(ns, ifname))
      throw ConfigError.at(origin, 'model', `LAN ${lan}: ${host}/${ifname} is already on a LAN`);
    const ifindex = allocIfindex(ns);
    pushLink(ns, {
      ifindex,
      name: ifname,
      kind: 'nic',
      mac: macFor(`${host}|${ifname}|nic`),
      mtu: 1500,
      up: true,
      lan,
      conf: { ...ns.confDefault },
      confSet: [],
      origin,
    } as DLink);
    const l = (w.lans[lan] ??= { name: lan, ports: [], origin });
    l.ports.push({ ns: host, ifindex });
    if (addr) {
      addAddress(ns, {
        ifindex,
        local: addr.local,
        prefixLen: addr.prefixLen,
        broadcast: addr.prefixLen < 31 ? broadcastOf(addr.local, addr.prefixLen) : undefined,
        scope: 'global',
        secondary: false,
        label: ifname,
        origin,
      } as IfAddr);
      refreshKernelRoutes(w, ns);
    }
  });
}

// ---------------------------------------------------------------------------------------------
// the fold

export function applyOp(world: World, op: Op): World {
  return applyOps(world, [op]);
}

/**
 * Folds a runbook's ops into the world in O(ops + state): the namespaces of the ops' hosts are
 * copied once into plain mutable objects, every op edits them in place, and the result is frozen
 * once at the end (the input world is never touched; on an error it is simply dropped).
 *
 * `iptables -A` lines are collected per namespace and added together (applyRestore with
 * --noflush semantics, one table validation per batch) when the namespace's rules are next
 * needed: another iptables command or iptables-restore there, the namespace's deletion, an error,
 * or the end. This equals adding them one by one: the kernel's checks only get stricter as rules
 * are added (more hooks reach a chain, more jumps can loop) and chains cannot appear or vanish
 * inside a batch, so if the whole batch is valid every prefix was; if it is not, the batch is
 * replayed line by line to raise the first line's own error, before any later line's error.
 */
export function applyOps(world: World, ops: readonly Op[]): World {
  if (ops.length === 0) return world;
  const hosts = new Set(ops.map((o) => o.host));
  const w = thaw(world, hosts);
  const fold = new Fold(w);
  try {
    for (const op of ops) fold.apply(op);
    fold.flushAll();
    for (const ns of pendingRules.keys()) mergeRules(ns);
  } finally {
    pendingRules.clear(); // after an error, with the world it belonged to
  }
  return deepFreeze(w) as World;
}

/** A mutable copy of the world: namespaces of `hosts` deep-copied, the others shared (frozen). */
function thaw(world: World, hosts: ReadonlySet<string>): DWorld {
  const netns: Record<NsId, Netns> = {};
  for (const [id, ns] of Object.entries(world.netns)) netns[id] = hosts.has(ns.host) ? structuredClone(ns) : ns;
  return {
    hosts: [...world.hosts],
    netns,
    lans: structuredClone(world.lans),
    services: [...world.services],
    bindings: structuredClone(world.bindings),
    ...(world.attached !== undefined ? { attached: structuredClone(world.attached) } : {}),
  } as DWorld;
}

/** Freezes `o` and every object it reaches (an object already frozen is taken as frozen throughout). */
function deepFreeze(o: object): object {
  if (Object.isFrozen(o)) return o;
  Object.freeze(o);
  if (Array.isArray(o)) {
    for (let i = 0; i < o.length; i++) {
      const v: unknown = o[i];
      if (v !== null && typeof v === 'object') deepFreeze(v);
    }
  } else {
    for (const k in o) {
      const v = (o as Record<string, unknown>)[k];
      if (v !== null && typeof v === 'object') deepFreeze(v);
    }
  }
  return o;
}

type AppendOp = Extract<Op, { op: 'iptables' }> & { readonly cmd: 'A' };

class Fold {
  /** `iptables -A` ops not applied yet, per namespace id, in runbook order */
  private readonly pending = new Map<NsId, AppendOp[]>();
  /**
   * Per host, the containers no `ip netns` name is bound to yet (what `ln -s /proc/PID/ns/net`
   * can name), made on the host's first bind and kept up to date by docker run, the binds and
   * `ip netns del` of a bound name: a bind costs the same with a thousand containers as with one.
   */
  private readonly unbound = new Map<string, Set<NsId>>();
  constructor(private readonly w: DWorld) {}

  apply(op: Op): void {
    try {
      if (op.op === 'netns-bind') {
        this.bind(op);
        return;
      }
      if (op.op === 'iptables' && op.cmd === 'A') {
        const id = resolveNs(this.w, op.host, op.ns, op.origin, op.byDocker);
        const list = this.pending.get(id);
        if (list) list.push(op);
        else this.pending.set(id, [op]);
        return;
      }
      if (op.op === 'netns-del') {
        this.unname(op);
        return;
      }
      if (op.op === 'iptables' || op.op === 'iptables-restore') this.flush(resolveNs(this.w, op.host, op.ns, op.origin, op.byDocker));
      applyDraft(this.w, op);
      if (op.op === 'docker-run') this.unbound.get(op.host)?.add(nsIdOf(op.host, op.name));
    } catch (e) {
      // an earlier line's error comes first: settle every pending line before reporting this one
      this.flushAll();
      throw e;
    }
  }

  /** the containers of `host` without a bound name */
  private unboundOf(host: string): Set<NsId> {
    let set = this.unbound.get(host);
    if (set === undefined) {
      const bound = new Set(Object.values(this.w.bindings[host] ?? {}));
      set = new Set();
      for (const id in this.w.netns) {
        const n = this.w.netns[id]!;
        if (n.host === host && n.container && !bound.has(id)) set.add(id);
      }
      this.unbound.set(host, set);
    }
    return set;
  }

  /**
   * `ln -s[f] /proc/PID/ns/net /var/run/netns/NAME` or `ip netns attach NAME PID`. A name already
   * there is refused as ln and ip refuse it (observed: Linux 6.18, coreutils ln, iproute2 6.1):
   * `ln -s` and `ip netns attach` over any name: File exists; `ln -sf` replaces a symlink but not
   * a namespace file (`ip netns add`, `ip netns attach`): Device or resource busy.
   */
  private bind(op: Extract<Op, { op: 'netns-bind' }>): void {
    const w = this.w;
    const host = op.host;
    const name = op.name;
    const linked = w.bindings[host]?.[name];
    const own = w.netns[nsIdOf(host, name)];
    const file = w.attached?.[host]?.[name] === true || (own !== undefined && !own.container && linked === undefined);
    if (linked !== undefined || file) {
      if (op.attach === true) throw ConfigError.at(op.origin, 'kernel', `Cannot create namespace file "/run/netns/${name}": File exists`);
      const path = op.link ?? `/var/run/netns/${name}`;
      if (op.force !== true) throw ConfigError.at(op.origin, 'kernel', `ln: failed to create symbolic link '${path}': File exists`);
      if (file) throw ConfigError.at(op.origin, 'kernel', `ln: failed to create symbolic link '${path}': Device or resource busy`);
    }
    const set = this.unboundOf(host);
    // the container of that name (one lookup), else the only container not named yet
    const named = nsIdOf(host, name);
    const target = set.has(named) ? named : set.size === 1 ? set.values().next().value! : undefined;
    if (target === undefined) {
      const containers = Object.values(w.netns).filter((n) => set.has(n.id));
      throw ConfigError.at(
        op.origin,
        'unsupported',
        containers.length === 0
          ? `no container on ${host} for /proc/${op.pid}/ns/net: start one with docker run --network none first`
          : `cannot tell which container has PID ${op.pid} (${containers.map((c) => c.name).join(', ')}): name the link after the container`,
      );
    }
    const b = (w.bindings[host] ??= {});
    b[name] = target;
    set.delete(target);
    if (op.attach === true) ((w.attached ??= {})[host] ??= {})[name] = true;
    // `ln -sf` over a symlink: the container it named is free again unless another name holds it
    if (linked !== undefined && linked !== target) this.release(host, linked);
  }

  /** a container that lost a name goes back among the host's unnamed ones, unless another name holds it */
  private release(host: string, id: NsId): void {
    if (this.w.netns[id]?.container === true && !Object.values(this.w.bindings[host] ?? {}).includes(id)) this.unboundOf(host).add(id);
  }

  /**
   * `ip netns del NAME` removes the name (iproute2 netns_delete: umount2, then unlink). The
   * namespace goes with it only when nothing else holds it: an `ip netns add` namespace dies, a
   * container's lives on with its process, unnamed again (observed: Linux 6.18, iproute2 6.1,
   * `unshare -n sleep` named by `ln -s` or `ip netns attach`; docs/kernel-notes.md af).
   */
  private unname(op: Extract<Op, { op: 'netns-del' }>): void {
    const w = this.w;
    const host = op.host;
    const name = op.name;
    const b = w.bindings[host];
    const bound = b?.[name];
    if (bound !== undefined && w.netns[bound]?.container === true) {
      delete b![name];
      const att = w.attached?.[host];
      if (att !== undefined) delete att[name];
      this.release(host, bound);
      return;
    }
    const id = nsIdOf(host, name);
    const ns = w.netns[id];
    if (ns === undefined || ns.container) throw ConfigError.at(op.origin, 'kernel', `Cannot remove namespace file "/run/netns/${name}": No such file or directory`);
    this.flush(id);
    applyDraft(w, op);
  }

  flushAll(): void {
    // the earliest failing line wins across namespaces too
    let first: { line: number; error: unknown } | undefined;
    for (const id of [...this.pending.keys()]) {
      try {
        this.flush(id);
      } catch (e) {
        const line = e instanceof ConfigError ? e.line : 0;
        if (!first || line < first.line) first = { line, error: e };
      }
    }
    if (first) throw first.error;
  }

  private flush(id: NsId): void {
    const batch = this.pending.get(id);
    if (!batch) return;
    this.pending.delete(id);
    const ns = this.w.netns[id] ?? bug(`namespace ${id} vanished with iptables lines pending`);
    const before = ns.nf as Netns['nf'];
    const byTable = new Map<NfTableName, { chain: string; rule: NfRule }[]>();
    for (const op of batch) {
      const list = byTable.get(op.table);
      if (list) list.push({ chain: op.chain, rule: op.rule });
      else byTable.set(op.table, [{ chain: op.chain, rule: op.rule }]);
    }
    const blocks = [...byTable].map(([table, rules]) => ({ table, chains: [], rules }));
    try {
      ns.nf = applyRestore(before, blocks, true, batch[0]!.origin) as Draft<Netns['nf']>;
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      // one by one, as the runbook runs them: the first failing line throws its own error
      let nf = before;
      for (const op of batch) nf = applyIptables(nf, op, op.origin);
      bug(`iptables lines ${batch[0]!.origin.line}..${batch[batch.length - 1]!.origin.line} fail together but not one by one: ${e.message}`);
    }
  }
}

function applyDraft(w: DWorld, op: Op): void {
  switch (op.op) {
    case 'noop':
      return;
    case 'netns-add': {
      const id = nsIdOf(op.host, op.name);
      if (w.netns[id] || w.bindings[op.host]?.[op.name])
        throw ConfigError.at(op.origin, 'kernel', `Cannot create namespace file "/run/netns/${op.name}": File exists`);
      // a fresh, unfrozen object: later ops of the same fold write into it directly
      w.netns[id] = newNetns(id, op.host, op.name, false, op.origin);
      return;
    }
    case 'netns-del': {
      // an `ip netns add` namespace (Fold.unname): its devices die with it, and veth peers
      // elsewhere with them
      const id = nsIdOf(op.host, op.name);
      const ns = w.netns[id]!;
      for (const l of [...ns.links]) if (l.kind === 'veth') deleteLink(w, ns, l);
      delete w.netns[id];
      return;
    }
    case 'docker-run': {
      const id = nsIdOf(op.host, op.name);
      if (w.netns[id])
        throw ConfigError.at(op.origin, 'kernel', `docker: Error response from daemon: Conflict. The container name "/${op.name}" is already in use`);
      w.netns[id] = newNetns(id, op.host, op.name, true, op.origin);
      // docker-proxy: a listener in the host's root namespace for each published port (UDP: a relay)
      for (const p of op.proxies ?? []) {
        const root = resolveNs(w, op.host, null, op.origin);
        w.services.push({ ns: root, proto: p.proto, port: p.port, ...(p.addr !== undefined ? { addr: p.addr } : {}), ...(p.backend !== undefined ? { relay: p.backend } : {}), origin: op.origin });
      }
      return;
    }
    case 'netns-bind':
      return bug('netns-bind is folded by Fold.bind');
    case 'link-add':
      return linkAdd(w, op);
    case 'link-set':
      return linkSet(w, op);
    case 'link-del': {
      const ns = nsOf(w, op);
      const l = findLink(ns, op.dev, op.origin);
      if (l.kind === 'loopback' || l.kind === 'nic')
        throw ConfigError.at(op.origin, 'kernel', `RTNETLINK answers: Operation not supported (cannot delete ${l.name})`);
      deleteLink(w, ns, l);
      return;
    }
    case 'addr-add':
    case 'addr-del':
      return addrOp(w, op);
    case 'addr-flush':
      return addrFlush(w, op);
    case 'route-flush':
      return routeFlush(w, op);
    case 'route-add':
    case 'route-del':
    case 'route-replace':
    case 'route-append':
    case 'route-change':
      return routeOp(w, op);
    case 'rule-add':
    case 'rule-del':
      return ruleOp(w, op);
    case 'neigh-add':
    case 'neigh-replace':
    case 'neigh-del':
      return neighOp(w, op);
    case 'sysctl':
      return sysctlOp(w, op);
    case 'iptables': {
      const ns = nsOf(w, op);
      if (op.cmd === 'show') return;
      ns.nf = applyIptables(ns.nf as Netns['nf'], op, op.origin) as Draft<Netns['nf']>;
      return;
    }
    case 'iptables-restore': {
      const ns = nsOf(w, op);
      ns.nf = applyRestore(ns.nf as Netns['nf'], op.tables, op.noflush, op.origin) as Draft<Netns['nf']>;
      return;
    }
    case 'nft': {
      const ns = nsOf(w, op);
      const present = (Object.keys(ns.nf) as (keyof Netns['nf'])[]).filter((t) => ns.nf[t].present);
      ns.nft = applyNft((ns.nft ?? EMPTY_NFT) as NftState, op.cmds, { iptablesPresent: present }) as Draft<NftState>;
      return;
    }
    default:
      return assertNever(op, 'op');
  }
}

// ---------------------------------------------------------------------------------------------
// lookups

/** Resolves a namespace name as the host's `ip netns` sees it (runbook netns or bound container). */
function resolveNs(w: DWorld | World, host: string, name: string | null, origin: Origin, byDocker?: boolean): NsId {
  if (name === null) return host;
  const bound = w.bindings[host]?.[name];
  if (bound !== undefined && w.netns[bound]) return bound;
  const id = nsIdOf(host, name);
  const ns = w.netns[id];
  // the daemon holds its containers' namespaces by handle; `ip netns` only sees them once bound
  if (ns && (!ns.container || byDocker === true)) return id;
  const hint = ns?.container
    ? ` (a docker container's namespace is only known to ip netns after ln -s /proc/PID/ns/net /var/run/netns/${name})`
    : '';
  throw ConfigError.at(origin, 'kernel', `Cannot open network namespace "${name}": No such file or directory${hint}`);
}

function nsOf(w: DWorld, op: Op): DNetns {
  const id = resolveNs(w, op.host, op.ns, op.origin, op.byDocker);
  return w.netns[id] ?? bug(`namespace ${id} vanished`);
}

function findLink(ns: DNetns, name: string, origin: Origin): DLink {
  const l = linkNamed(ns, name);
  if (!l) throw ConfigError.at(origin, 'kernel', `Cannot find device "${name}"`);
  return l;
}

/** The next ifindex as dev_index_reserve hands it out: from the namespace's counter, skipping those in use. */
function allocIfindex(ns: DNetns): number {
  const byIndex = linkIndex(ns).byIndex;
  let i = ns.nextIfindex;
  while (byIndex.has(i)) i++;
  ns.nextIfindex = i + 1;
  return i;
}

/**
 * A namespace's links by name and by ifindex (both unique in a namespace), made once per links
 * array and kept up to date by the three ways the fold changes the array: pushLink, dropLink and
 * renameLink. Looking a device up is O(1) per runbook line instead of a scan of every link.
 */
interface FoldLinkIndex {
  readonly byName: Map<string, DLink>;
  readonly byIndex: Map<number, DLink>;
}
const foldLinkIndexes = new WeakMap<readonly Link[], FoldLinkIndex>();

function linkIndex(ns: DNetns): FoldLinkIndex {
  let x = foldLinkIndexes.get(ns.links);
  if (x) return x;
  x = { byName: new Map(), byIndex: new Map() };
  for (const l of ns.links) {
    if (!x.byName.has(l.name)) x.byName.set(l.name, l);
    if (!x.byIndex.has(l.ifindex)) x.byIndex.set(l.ifindex, l);
  }
  foldLinkIndexes.set(ns.links, x);
  return x;
}

function linkNamed(ns: DNetns, name: string): DLink | undefined {
  return linkIndex(ns).byName.get(name);
}

function linkAt(ns: DNetns, ifindex: number | undefined): DLink | undefined {
  return ifindex === undefined ? undefined : linkIndex(ns).byIndex.get(ifindex);
}

/** Appends a device to the namespace's links (the order `ip link` lists them in). */
function pushLink(ns: DNetns, l: DLink): void {
  const x = linkIndex(ns);
  ns.links.push(l);
  x.byName.set(l.name, l);
  x.byIndex.set(l.ifindex, l);
}

/** Removes the device with this ifindex from the namespace's links, keeping the others' order. */
function dropLink(ns: DNetns, ifindex: number): void {
  const x = linkIndex(ns);
  const l = x.byIndex.get(ifindex);
  if (l === undefined) return;
  ns.links.splice(ns.links.indexOf(l), 1);
  x.byIndex.delete(ifindex);
  x.byName.delete(l.name);
}

function renameLink(ns: DNetns, l: DLink, name: string): void {
  const x = linkIndex(ns);
  x.byName.delete(l.name);
  l.name = name;
  x.byName.set(name, l);
}

// ---------------------------------------------------------------------------------------------
// links

function linkAdd(w: DWorld, op: LinkAddOp): void {
  const here = nsOf(w, op);
  const ns = op.netns !== undefined ? w.netns[resolveNs(w, op.host, op.netns, op.origin, op.byDocker)]! : here;
  if (linkNamed(ns, op.name)) throw ConfigError.at(op.origin, 'kernel', 'RTNETLINK answers: File exists');
  const base = (ifindex: number, name: string, nsd: DNetns, kind: Link['kind']): Link => ({
    ifindex,
    name,
    kind,
    mac: op.address ?? macFor(`${nsd.id}|${name}|${ifindex}|${op.origin.line}`),
    mtu: op.mtu ?? 1500,
    up: false,
    conf: { ...nsd.confDefault },
    confSet: [],
    origin: op.origin,
  });
  if (op.kind === 'veth') {
    const peerName = op.peer?.name ?? bug('veth without peer name (parser must name it)');
    const peerNs = op.peer?.netns !== undefined ? w.netns[resolveNs(w, op.host, op.peer.netns, op.origin, op.byDocker)]! : ns;
    if (linkNamed(peerNs, peerName) || (peerNs === ns && peerName === op.name))
      throw ConfigError.at(op.origin, 'kernel', 'RTNETLINK answers: File exists');
    // veth_newlink registers the peer first, so the peer gets the lower ifindex
    const pIdx = allocIfindex(peerNs);
    const dIdx = allocIfindex(ns);
    const peer = { ...base(pIdx, peerName, peerNs, 'veth'), mac: macFor(`${peerNs.id}|${peerName}|${pIdx}|${op.origin.line}`), peer: { ns: ns.id, ifindex: dIdx } };
    const dev = { ...base(dIdx, op.name, ns, 'veth'), peer: { ns: peerNs.id, ifindex: pIdx } };
    pushLink(peerNs, peer as DLink);
    pushLink(ns, dev as DLink);
    return;
  }
  pushLink(ns, base(allocIfindex(ns), op.name, ns, op.kind) as DLink);
}

/** The device stops being a bridge port: its port options go with the port (br_del_if). */
function unbridge(l: DLink): void {
  delete l.master;
  delete l.brport;
}

/** A bridge leaving its namespace releases its ports; only a bridge is ever a master. */
function unbridgePorts(ns: DNetns, l: DLink): void {
  if (l.kind !== 'bridge') return;
  for (const x of ns.links) if (x.master === l.ifindex) unbridge(x);
}

function linkSet(w: DWorld, op: LinkSetOp): void {
  let ns = nsOf(w, op);
  let l = findLink(ns, op.dev, op.origin);
  // rtnl_newlink applies IFLA_INFO_SLAVE_DATA through the device's current master before
  // do_setlink (netns, master, ...): a device that is not a port yet answers EOPNOTSUPP, also
  // when the same request names the master (observed: `ip link set w0 master br0 type
  // bridge_slave hairpin on` fails, Linux 6.18)
  if (op.brport !== undefined) {
    const br = linkAt(ns, l.master);
    if (br?.kind !== 'bridge' || !l.brport)
      throw ConfigError.at(op.origin, 'kernel', `RTNETLINK answers: Operation not supported (${l.name} is not a bridge port)`);
    Object.assign(l.brport, op.brport);
    l.brport.origin = op.origin;
  }
  // iproute2 sends one RTM_NEWLINK; the kernel's do_setlink applies netns first, then the rest
  if (op.netns !== undefined) {
    const target = w.netns[resolveNs(w, op.host, op.netns, op.origin, op.byDocker)]!;
    if (target !== ns) {
      if (l.kind === 'loopback') throw ConfigError.at(op.origin, 'kernel', 'RTNETLINK answers: Invalid argument');
      if (linkNamed(target, l.name))
        throw ConfigError.at(op.origin, 'kernel', `RTNETLINK answers: File exists (${l.name} exists in ${op.netns})`);
      l = moveLink(w, ns, l, target);
      ns = target;
    }
  }
  if (op.name !== undefined && op.name !== l.name) {
    if (linkNamed(ns, op.name)) throw ConfigError.at(op.origin, 'kernel', 'RTNETLINK answers: File exists');
    renameLink(ns, l, op.name);
    for (const a of ns.addrs) if (a.ifindex === l.ifindex && a.label === op.dev) a.label = op.name;
  }
  if (op.mtu !== undefined) l.mtu = op.mtu;
  if (op.address !== undefined) l.mac = op.address.toLowerCase();
  if (op.master !== undefined) {
    if (op.master === null) unbridge(l);
    else {
      const br = findLink(ns, op.master, op.origin);
      if (br.kind !== 'bridge') throw ConfigError.at(op.origin, 'kernel', 'RTNETLINK answers: Operation not supported');
      if (br.ifindex === l.ifindex) throw ConfigError.at(op.origin, 'kernel', 'RTNETLINK answers: Invalid argument');
      // a new port starts from the kernel's defaults (new_nbp); the same master again changes nothing
      if (l.master !== br.ifindex) l.brport = { ...BRPORT_DEFAULTS, origin: op.origin };
      l.master = br.ifindex;
    }
  }
  if (op.up !== undefined && op.up !== l.up) {
    l.up = op.up;
    if (!op.up) removeRoutesVia(ns, l.ifindex, false);
    refreshKernelRoutes(w, ns);
    // a veth's carrier follows its peer: routes over the peer change their linkdown state only
  }
  if (op.up === undefined && op.master !== undefined) refreshKernelRoutes(w, ns);
}

function moveLink(w: DWorld, from: DNetns, l: DLink, to: DNetns): DLink {
  removeRoutesVia(from, l.ifindex, true);
  from.addrs = from.addrs.filter((a) => a.ifindex !== l.ifindex);
  from.neighs = from.neighs.filter((n) => n.ifindex !== l.ifindex);
  unbridgePorts(from, l);
  dropLink(from, l.ifindex);
  const ifindex = linkAt(to, l.ifindex) ? allocIfindex(to) : l.ifindex;
  const moved: Link = {
    ifindex,
    name: l.name,
    kind: l.kind,
    mac: l.mac,
    mtu: l.mtu,
    up: false,
    ...(l.peer ? { peer: { ns: l.peer.ns, ifindex: l.peer.ifindex } } : {}),
    ...(l.lan !== undefined ? { lan: l.lan } : {}),
    conf: { ...to.confDefault },
    confSet: [],
    origin: l.origin,
  };
  pushLink(to, moved as DLink);
  if (moved.peer) {
    const peerNs = w.netns[moved.peer.ns];
    const peer = peerNs ? linkAt(peerNs, moved.peer.ifindex) : undefined;
    if (!peer) bug(`veth ${l.name} has no peer`);
    peer.peer = { ns: to.id, ifindex };
  }
  refreshKernelRoutes(w, from);
  return to.links[to.links.length - 1]!;
}

function deleteLink(w: DWorld, ns: DNetns, l: DLink): void {
  removeRoutesVia(ns, l.ifindex, true);
  ns.addrs = ns.addrs.filter((a) => a.ifindex !== l.ifindex);
  ns.neighs = ns.neighs.filter((n) => n.ifindex !== l.ifindex);
  unbridgePorts(ns, l);
  dropLink(ns, l.ifindex);
  if (l.peer) {
    const peerNs = w.netns[l.peer.ns];
    const p = peerNs ? linkAt(peerNs, l.peer.ifindex) : undefined;
    if (peerNs && p) {
      const { peer: _drop, ...rest } = p;
      void _drop;
      deleteLink(w, peerNs, rest as DLink);
    }
  }
  refreshKernelRoutes(w, ns);
}

// ---------------------------------------------------------------------------------------------
// addresses and the kernel's own routes

function addAddress(ns: DNetns, a: IfAddr): void {
  const primary = ns.addrs.find(
    (x) => x.ifindex === a.ifindex && !x.secondary && x.prefixLen === a.prefixLen && inPrefix(a.local, { addr: networkOf(x.local, x.prefixLen), len: x.prefixLen }),
  );
  ns.addrs.push({ ...a, secondary: primary !== undefined } as Draft<IfAddr>);
}

/**
 * Recomputes the kernel-owned routes (proto kernel) of a namespace from its addresses and link
 * states, keeping user routes. The kernel adds and removes these incrementally; deriving them
 * gives the same table and cannot drift.
 */
function refreshKernelRoutes(w: DWorld | undefined, ns: DNetns): void {
  const user = ns.routes.filter((r) => !isKernelOwned(r));
  const kernel: Route[] = [];
  for (const a of ns.addrs) {
    const l = linkAt(ns, a.ifindex);
    if (!l) continue;
    // fib_add_ifaddr: the local route exists even while the device is down (observed)
    // a secondary address's routes name its primary as source (fib_add_ifaddr uses `prim`)
    const prim = a.secondary ? primaryOf(ns, a) : a;
    kernel.push(kroute(RT_TABLE.local, 'local', a.local, 32, l.ifindex, 'host', prim.local, a.origin));
    if (!l.up) continue;
    const prefix = networkOf(a.local, a.prefixLen);
    if (a.broadcast !== undefined && a.broadcast !== 0xffffffff)
      kernel.push(kroute(RT_TABLE.local, 'broadcast', a.broadcast, 32, l.ifindex, 'link', prim.local, a.origin));
    if (!a.secondary && prefix !== 0 && (prefix !== a.local || a.prefixLen < 32)) {
      if (l.kind === 'loopback') kernel.push(kroute(RT_TABLE.local, 'local', prefix, a.prefixLen, l.ifindex, 'host', a.local, a.origin));
      else kernel.push(kroute(RT_TABLE.main, 'unicast', prefix, a.prefixLen, l.ifindex, 'link', a.local, a.origin));
      if (a.prefixLen < 31)
        kernel.push(kroute(RT_TABLE.local, 'broadcast', broadcastOf(a.local, a.prefixLen), 32, l.ifindex, 'link', a.local, a.origin));
    }
  }
  // one route per (table, type, dst, len, oif): the kernel's fib_magic refuses duplicates silently
  const seen = new Set<string>();
  const dedup = kernel.filter((r) => {
    const k = `${r.table}|${r.type}|${r.dst.addr}|${r.dst.len}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
  ns.routes = [...dedup, ...user] as Draft<Route>[];
  void w;
}

function primaryOf(ns: DNetns, a: IfAddr): IfAddr {
  const net = networkOf(a.local, a.prefixLen);
  return ns.addrs.find((x) => x.ifindex === a.ifindex && !x.secondary && x.prefixLen === a.prefixLen && networkOf(x.local, x.prefixLen) === net) ?? a;
}

function kroute(table: number, type: Route['type'], addr: number, len: number, oif: number, scope: RouteScope, src: number, origin: Origin): Route {
  return { table, type, dst: { addr: networkOf(addr, len), len }, oif, prefsrc: src, metric: 0, scope, proto: 'kernel', onlink: false, origin };
}

function isKernelOwned(r: Route): boolean {
  return r.proto === 'kernel';
}

/** Removes routes through a device (all but its local routes unless `all`), as NETDEV_DOWN does. */
function removeRoutesVia(ns: DNetns, ifindex: number, all: boolean): void {
  ns.routes = ns.routes.filter((r) => r.oif !== ifindex || (!all && r.type === 'local' && r.proto === 'kernel'));
}

/**
 * A device that loses its last IPv4 address loses every route through it, static ones too
 * (fib_inetaddr_event -> fib_disable_ip when ifa_list is empty; observed: after `ip addr flush dev
 * v0`, `10.9.0.0/16 via 10.1.0.2 dev v0` and `10.8.0.0/16 dev v0` are gone, Linux 6.18).
 */
function lastAddressGone(ns: DNetns, ifindex: number): void {
  if (!ns.addrs.some((a) => a.ifindex === ifindex)) removeRoutesVia(ns, ifindex, true);
}

function addrFlush(w: DWorld, op: AddrFlushOp): void {
  const ns = nsOf(w, op);
  const l = findLink(ns, op.dev, op.origin);
  const had = ns.addrs.some((a) => a.ifindex === l.ifindex);
  ns.addrs = ns.addrs.filter((a) => a.ifindex !== l.ifindex);
  if (had) lastAddressGone(ns, l.ifindex);
  refreshKernelRoutes(w, ns);
}

function routeFlush(w: DWorld, op: RouteFlushOp): void {
  const ns = nsOf(w, op);
  const oif = op.dev !== undefined ? findLink(ns, op.dev, op.origin).ifindex : undefined;
  const hit = (r: Route): boolean =>
    (op.table === 'all' || r.table === op.table) &&
    (oif === undefined || r.oif === oif) &&
    (op.proto === undefined || r.proto === op.proto) &&
    (op.type === undefined || r.type === op.type);
  const kernel = ns.routes.find((r) => hit(r) && isKernelOwned(r));
  if (kernel)
    throw ConfigError.at(
      op.origin,
      'unsupported',
      `this flush also removes the kernel's own routes (e.g. table ${kernel.table} ${kernel.type} ${formatIpv4(kernel.dst.addr)}/${kernel.dst.len} proto kernel), which netpath derives from the addresses; ` +
        'narrow it (proto boot/static, a user table) or delete the addresses instead',
    );
  ns.routes = ns.routes.filter((r) => !hit(r));
}

function addrOp(w: DWorld, op: AddrOp): void {
  const ns = nsOf(w, op);
  const l = findLink(ns, op.dev, op.origin);
  const existing = ns.addrs.findIndex((a) => a.ifindex === l.ifindex && a.local === op.local && a.prefixLen === op.prefixLen);
  if (op.op === 'addr-del') {
    const idx = existing >= 0 ? existing : ns.addrs.findIndex((a) => a.ifindex === l.ifindex && a.local === op.local);
    if (idx < 0) throw ConfigError.at(op.origin, 'kernel', 'RTNETLINK answers: Cannot assign requested address');
    const removed = ns.addrs[idx]!;
    ns.addrs.splice(idx, 1);
    // deleting a primary deletes its secondaries too (promote_secondaries is off by default)
    if (!removed.secondary)
      ns.addrs = ns.addrs.filter(
        (a) => !(a.ifindex === l.ifindex && a.secondary && a.prefixLen === removed.prefixLen && networkOf(a.local, a.prefixLen) === networkOf(removed.local, removed.prefixLen)),
      );
    lastAddressGone(ns, l.ifindex);
    refreshKernelRoutes(w, ns);
    return;
  }
  if (ns.addrs.some((a) => a.ifindex === l.ifindex && a.local === op.local))
    throw ConfigError.at(op.origin, 'kernel', 'RTNETLINK answers: File exists');
  const brd = op.broadcast === '+' ? broadcastOf(op.local, op.prefixLen) : op.broadcast;
  addAddress(ns, {
    ifindex: l.ifindex,
    local: op.local,
    prefixLen: op.prefixLen,
    ...(brd !== undefined ? { broadcast: brd } : {}),
    scope: op.scope ?? (op.local >>> 24 === 127 ? 'host' : 'global'),
    secondary: false,
    label: op.label ?? l.name,
    origin: op.origin,
  });
  refreshKernelRoutes(w, ns);
}

// ---------------------------------------------------------------------------------------------
// routes

function routeOp(w: DWorld, op: RouteOp): void {
  const ns = nsOf(w, op);
  const table = op.table ?? (op.type === 'local' || op.type === 'broadcast' ? RT_TABLE.local : RT_TABLE.main);
  let oif: number | undefined;
  if (op.dev !== undefined) oif = findLink(ns, op.dev, op.origin).ifindex;

  if (op.op === 'route-del') {
    // fib_table_delete: the first route matching every attribute that was given
    const idx = ns.routes.findIndex(
      (r) =>
        r.table === table &&
        r.dst.addr === op.dst.addr &&
        r.dst.len === op.dst.len &&
        (op.type === 'unicast' || r.type === op.type) &&
        (oif === undefined || r.oif === oif) &&
        (op.via === undefined || r.via === op.via) &&
        (op.metric === undefined || r.metric === op.metric),
    );
    if (idx < 0)
      throw ConfigError.at(op.origin, 'kernel', op.syntax === 'net-tools' ? 'SIOCDELRT: No such process' : 'RTNETLINK answers: No such process');
    ns.routes.splice(idx, 1);
    routeIndexes.delete(ns.routes);
    return;
  }

  const typeHasNexthop = op.type === 'unicast' || op.type === 'local' || op.type === 'broadcast';
  let scope: RouteScope = op.scope ?? (op.type === 'local' ? 'host' : op.via !== undefined ? 'global' : typeHasNexthop ? 'link' : 'global');
  if (op.syntax === 'net-tools' && op.via === undefined) scope = 'link';

  if (typeHasNexthop) {
    if (oif === undefined && op.via === undefined)
      throw ConfigError.at(op.origin, 'kernel', op.syntax === 'net-tools' ? 'SIOCADDRT: No such device' : 'Error: Device for nexthop is not up.');
    if (op.via !== undefined && op.onlink && localTableType(ns, op.via) !== 'unicast')
      throw ConfigError.at(op.origin, 'kernel', 'Error: Nexthop has invalid gateway.');
    if (op.via !== undefined && !op.onlink) {
      // fib_check_nh_v4_gw: the gateway must be covered by a link- or host-scope route, unicast or local
      const gw = gatewayRoute(ns, op.via, oif, table);
      if (!gw || (gw.type !== 'unicast' && gw.type !== 'local'))
        throw ConfigError.at(op.origin, 'kernel', op.syntax === 'net-tools' ? 'SIOCADDRT: Network is unreachable' : 'Error: Nexthop has invalid gateway.');
      oif ??= gw.oif;
    }
    const dev = linkAt(ns, oif);
    if (dev && !dev.up && !(op.type === 'local'))
      throw ConfigError.at(op.origin, 'kernel', op.syntax === 'net-tools' ? 'SIOCADDRT: Network is down' : op.via !== undefined ? 'Error: Nexthop device is not up.' : 'Error: Device for nexthop is not up.');
    if (op.onlink && dev && !dev.up) throw ConfigError.at(op.origin, 'kernel', 'Error: Nexthop device is not up.');
  }
  const route: Route = {
    table,
    type: op.type,
    dst: op.dst,
    ...(op.via !== undefined ? { via: op.via } : {}),
    ...(oif !== undefined && typeHasNexthop ? { oif } : {}),
    ...(op.src !== undefined ? { prefsrc: op.src } : {}),
    metric: op.metric ?? 0,
    scope,
    proto: op.proto ?? (op.syntax === 'net-tools' ? 'boot' : 'boot'),
    onlink: op.onlink ?? false,
    origin: op.origin,
  };
  if (op.src !== undefined && !ns.addrs.some((a) => a.local === op.src))
    throw ConfigError.at(op.origin, 'kernel', 'Error: Invalid prefsrc address.');

  // same key = same table, dst, tos and priority (fib_table_insert)
  const ix = routeIndex(ns);
  // inet_rtm_newroute: a local route a command added makes fib_validate_source check every source
  // from then on (net.ipv4.fib_has_custom_local_routes, never cleared; SIOCADDRT does not set it)
  const markLocal = (): void => {
    if (op.type === 'local' && op.syntax !== 'net-tools') ns.customLocalRoutes = true;
  };
  if (op.op === 'route-add' || op.op === 'route-append') {
    if (op.op === 'route-add' && ix.has(route))
      throw ConfigError.at(op.origin, 'kernel', op.syntax === 'net-tools' ? 'SIOCADDRT: File exists' : 'RTNETLINK answers: File exists');
    ns.routes.push(route as Draft<Route>);
    ix.add(route);
    markLocal();
    return;
  }
  const sameKey = (r: Route): boolean => r.table === table && r.dst.addr === op.dst.addr && r.dst.len === op.dst.len && r.metric === route.metric;
  const idx = ns.routes.findIndex(sameKey);
  routeIndexes.delete(ns.routes); // replaced in place below: rebuilt when next needed
  switch (op.op) {
    case 'route-replace':
      if (idx >= 0) ns.routes[idx] = route as Draft<Route>;
      else ns.routes.push(route as Draft<Route>);
      markLocal();
      return;
    case 'route-change':
      if (idx < 0) throw ConfigError.at(op.origin, 'kernel', 'RTNETLINK answers: No such file or directory');
      ns.routes[idx] = route as Draft<Route>;
      markLocal();
      return;
  }
}

/**
 * What route-add needs to stay O(1) per line: the keys (table, dst, metric) present, and the
 * routes that can put a gateway on link. Kept per routes array: any code that builds a new array
 * (kernel route refresh, device down) gets a fresh index when one is next needed.
 */
class RouteIndex {
  /** the keys (table, dst, metric) present: table -> metric -> dst address * 64 + length */
  private readonly keys = new Map<number, Map<number, Set<number>>>();
  /** routes of scope link or host without a gateway (what a gateway lookup can find) */
  readonly onLink: Route[] = [];
  /** table local by prefix length, then network: the first route of each (localTableType) */
  private readonly local = new Map<number, Map<number, Route>>();
  constructor(routes: readonly Route[]) {
    for (const r of routes) this.add(r);
  }
  hasTable(table: number): boolean {
    return this.keys.has(table);
  }
  has(r: Route): boolean {
    return this.keys.get(r.table)?.get(r.metric)?.has(r.dst.addr * 64 + r.dst.len) ?? false;
  }
  add(r: Route): void {
    let byMetric = this.keys.get(r.table);
    if (!byMetric) this.keys.set(r.table, (byMetric = new Map()));
    let dsts = byMetric.get(r.metric);
    if (!dsts) byMetric.set(r.metric, (dsts = new Set()));
    dsts.add(r.dst.addr * 64 + r.dst.len);
    if ((r.scope === 'link' || r.scope === 'host') && r.via === undefined) this.onLink.push(r);
    if (r.table === RT_TABLE.local) {
      let nets = this.local.get(r.dst.len);
      if (!nets) this.local.set(r.dst.len, (nets = new Map()));
      if (!nets.has(r.dst.addr)) nets.set(r.dst.addr, r);
    }
  }
  /** The longest route of table local covering `addr` (the first of its length), as inPrefix compares. */
  localCovering(addr: number): Route | undefined {
    for (let len = 32; len >= 0; len--) {
      const r = this.local.get(len)?.get(networkOf(addr, len));
      if (r) return r;
    }
    return undefined;
  }
}
const routeIndexes = new WeakMap<readonly Route[], RouteIndex>();

function routeIndex(ns: DNetns): RouteIndex {
  let ix = routeIndexes.get(ns.routes);
  if (!ix) routeIndexes.set(ns.routes, (ix = new RouteIndex(ns.routes as readonly Route[])));
  return ix;
}

/**
 * fib_check_nh_v4_gw: the route a gateway is found by, looked up among routes of scope link or host
 * (flowi4_scope RT_SCOPE_LINK; link state ignored), through `oif` if given: in `table` when it is
 * another table that exists, else (or when that finds nothing) as a full lookup would, local, main
 * and default in turn. Undefined when none covers it; the caller refuses a route that is neither
 * unicast nor local (a `broadcast` route on the gateway: "Nexthop has invalid gateway", observed:
 * test/world/gateway.test.ts).
 */
function gatewayRoute(ns: DNetns, gw: number, oif: number | undefined, table: number): Route | undefined {
  const ix = routeIndex(ns);
  const inTable = (t: number): Route | undefined => {
    let best: Route | undefined;
    for (const r of ix.onLink) {
      if (r.table !== t || (oif !== undefined && r.oif !== oif) || !inPrefix(gw, r.dst)) continue;
      if (!best || r.dst.len > best.dst.len || (r.dst.len === best.dst.len && r.metric < best.metric)) best = r;
    }
    return best;
  };
  const own = table !== RT_TABLE.main && ix.hasTable(table) ? inTable(table) : undefined;
  return own ?? inTable(RT_TABLE.local) ?? inTable(RT_TABLE.main) ?? inTable(RT_TABLE.default);
}

/**
 * inet_addr_type_dev_table(net, dev, gw) for an onlink gateway: the type the local table gives the
 * address (any device), unicast when no route of it covers the address.
 */
function localTableType(ns: DNetns, gw: number): RouteType | 'multicast' {
  if (gw === 0 || gw === 0xffffffff) return 'broadcast';
  if (gw >>> 28 === 0xe) return 'multicast';
  return routeIndex(ns).localCovering(gw)?.type ?? 'unicast';
}

// ---------------------------------------------------------------------------------------------
// policy rules

function ruleOp(w: DWorld, op: RuleOp): void {
  const ns = nsOf(w, op);
  const table = op.action === 'lookup' ? (op.table ?? RT_TABLE.main) : 0;
  if (op.op === 'rule-del') {
    mergeRules(ns);
    const idx = ns.rules.findIndex(
      (r) =>
        (op.priority === undefined || r.priority === op.priority) &&
        r.not === op.not &&
        sameOpt(r.from, op.from) &&
        sameOpt(r.to, op.to) &&
        (op.fwmark === undefined || (r.fwmark?.value === op.fwmark.value && r.fwmark?.mask === op.fwmark.mask)) &&
        r.iif === op.iif &&
        r.oif === op.oif &&
        (op.table === undefined || r.table === table),
    );
    if (idx < 0) throw ConfigError.at(op.origin, 'kernel', 'RTNETLINK answers: No such file or directory');
    const [gone] = ns.rules.splice(idx, 1);
    const same = ruleKeys.get(ns)?.get(ruleKey(gone!));
    if (same?.includes(gone!)) same.splice(same.indexOf(gone!), 1);
    return;
  }
  // fib_default_rule_pref: without a priority, one below the first rule after priority 0
  // (the rules are kept in order: sorted by priority, and in order of insertion within one)
  const pending = pendingRules.get(ns) ?? [];
  let priority = op.priority;
  if (priority === undefined) {
    const [first, next] = firstRules(ns.rules, pending);
    const second = first === undefined || first.priority !== 0 ? first : next;
    priority = second && second.priority > 0 ? second.priority - 1 : 0;
  }
  const rule: FibRule = {
    priority,
    not: op.not,
    ...(op.from ? { from: op.from } : {}),
    ...(op.to ? { to: op.to } : {}),
    ...(op.fwmark ? { fwmark: op.fwmark } : {}),
    ...(op.iif !== undefined ? { iif: op.iif } : {}),
    ...(op.oif !== undefined ? { oif: op.oif } : {}),
    action: op.action,
    table,
    origin: op.origin,
  };
  // `ip rule add` asks with NLM_F_EXCL: fib_newrule refuses a rule rule_exists() finds. It compares
  // action, table, priority, iif, oif, fwmark and mask, and (fib4_rule_compare) from and to only
  // when the new rule has them; `not` is not compared; the protocol is: the kernel's own three rules
  // are `proto kernel`, a user's `proto boot`, so they never clash (observed on Linux 6.18: `ip rule
  // add table 100 prio 100` after `ip rule add from 10.0.0.0/8 table 100 prio 100` is refused, and
  // so is the same rule with `not`; `ip rule add lookup main prio 32766` is not;
  // test/world/rule-exists.test.ts)
  const sameNet = (mine: { addr: number; len: number } | undefined, theirs: { addr: number; len: number } | undefined): boolean =>
    mine === undefined || mine.len === 0 || (theirs !== undefined && theirs.len === mine.len && theirs.addr === mine.addr);
  // the user rules that agree on every field always compared (ruleKey), looked up, not scanned
  const index = ruleIndex(ns, pending);
  const key = ruleKey(rule);
  const same = index.get(key);
  if (same?.some((r) => sameNet(op.from, r.from) && sameNet(op.to, r.to))) throw ConfigError.at(op.origin, 'kernel', 'RTNETLINK answers: File exists');
  if (same) same.push(rule);
  else index.set(key, [rule]);
  // fib_nl_newrule inserts after the last rule with a priority <= the new one: the merge does
  if (pending.length === 0 && rulesAbove(ns.rules, priority) === ns.rules.length) ns.rules.push(rule as Draft<FibRule>);
  else {
    pending.push(rule);
    if (pending.length === 1) pendingRules.set(ns, pending);
    if (pending.length * pending.length > ns.rules.length + 64) mergeRules(ns);
  }
}

/**
 * What rule_exists compares in every rule: action, table, priority, iif, oif, fwmark and mask
 * (from and to only when the new rule has them). The kernel's own rules never clash.
 */
function ruleKey(r: FibRule): string {
  return `${r.priority}|${r.action}|${r.table}|${r.iif ?? ''}|${r.oif ?? ''}|${r.fwmark?.value ?? 0}|${r.fwmark?.mask ?? 0}`;
}

/** The user rules of a namespace by ruleKey, placed and pending: made once per fold, then kept up to date. */
const ruleKeys = new WeakMap<DNetns, Map<string, FibRule[]>>();

function ruleIndex(ns: DNetns, pending: readonly FibRule[]): Map<string, FibRule[]> {
  let index = ruleKeys.get(ns);
  if (index) return index;
  index = new Map();
  for (const r of [...(ns.rules as readonly FibRule[]), ...pending]) {
    if (r.origin.file === KERNEL.file) continue;
    const key = ruleKey(r);
    const same = index.get(key);
    if (same) same.push(r);
    else index.set(key, [r]);
  }
  ruleKeys.set(ns, index);
  return index;
}

/**
 * `ip rule add` rules of a fold not yet placed in their namespace's rules, in the order they were
 * added. Placing each at once would move every rule after it, O(rules) per line, and the default
 * priority puts each new rule near the front; they are merged in when they outnumber the square
 * root of the rules (O(rules^1.5) in all), before a rule is deleted, and at the end of the fold.
 */
const pendingRules = new Map<DNetns, FibRule[]>();

/** Places the pending rules: a stable merge by priority, each after the placed rules of its priority. */
function mergeRules(ns: DNetns): void {
  const pending = pendingRules.get(ns);
  if (pending === undefined) return;
  pendingRules.delete(ns);
  const add = pending.slice().sort((a, b) => a.priority - b.priority); // stable: insertion order within a priority
  const rules = ns.rules as readonly FibRule[];
  const out: FibRule[] = [];
  let i = 0;
  for (const r of add) {
    while (i < rules.length && rules[i]!.priority <= r.priority) out.push(rules[i++]!);
    out.push(r);
  }
  while (i < rules.length) out.push(rules[i++]!);
  ns.rules = out as Draft<FibRule>[];
}

/** The first two rules in order, of the placed rules and the pending ones. */
function firstRules(rules: readonly FibRule[], pending: readonly FibRule[]): [FibRule | undefined, FibRule | undefined] {
  let a = rules[0];
  let b = rules[1];
  // a pending rule goes after the placed rules and the earlier pending rules of its priority
  for (const r of pending) {
    if (a === undefined || r.priority < a.priority) [a, b] = [r, a];
    else if (b === undefined || r.priority < b.priority) b = r;
  }
  return [a, b];
}

/** The index of the first rule with a priority above `priority` (rules are sorted by priority). */
function rulesAbove(rules: readonly FibRule[], priority: number): number {
  let lo = 0;
  let hi = rules.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (rules[mid]!.priority > priority) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

function sameOpt(a: { addr: number; len: number } | undefined, b: { addr: number; len: number } | undefined): boolean {
  if (!a || !b) return a === b;
  return a.addr === b.addr && a.len === b.len;
}

// ---------------------------------------------------------------------------------------------
// neighbours

function neighOp(w: DWorld, op: NeighOp): void {
  const ns = nsOf(w, op);
  const l = findLink(ns, op.dev, op.origin);
  const idx = ns.neighs.findIndex((n) => n.ifindex === l.ifindex && n.dst === op.dst);
  if (op.op === 'neigh-del') {
    if (idx < 0) throw ConfigError.at(op.origin, 'kernel', 'RTNETLINK answers: No such file or directory');
    ns.neighs.splice(idx, 1);
    return;
  }
  if (op.op === 'neigh-add' && idx >= 0) throw ConfigError.at(op.origin, 'kernel', 'RTNETLINK answers: File exists');
  const n = { ifindex: l.ifindex, dst: op.dst, ...(op.lladdr !== undefined ? { lladdr: op.lladdr.toLowerCase() } : {}), state: op.state, origin: op.origin };
  if (idx >= 0) ns.neighs[idx] = n;
  else ns.neighs.push(n);
}

// ---------------------------------------------------------------------------------------------
// sysctls

function sysctlOp(w: DWorld, op: SysctlOp): void {
  const ns = nsOf(w, op);
  const k = classifySysctl(op.key);
  if (!k)
    throw ConfigError.at(
      op.origin,
      'unsupported',
      `netpath does not model sysctl ${op.key} (modelled: net.ipv4.ip_forward, net.ipv4.conf.{all,default,DEV}.{forwarding,rp_filter,accept_local,route_localnet,arp_ignore,arp_announce,arp_filter,proxy_arp,...}, ${Object.keys(NS_SYSCTL_DEFAULTS).join(', ')}; accepted without effect: ${Object.keys(NO_EFFECT_SYSCTLS).join(', ')})`,
    );
  switch (k.kind) {
    case 'ipv6':
      return; // IPv6 is not modelled at all; its settings cannot change an IPv4 packet's fate
    case 'no-effect':
      if (k.dev !== undefined && !linkNamed(ns, k.dev))
        throw ConfigError.at(op.origin, 'kernel', `sysctl: cannot stat /proc/sys/${op.key.replaceAll('.', '/')}: No such file or directory`);
      ns.noEffect[op.key] = { value: op.value.trim(), why: k.why, origin: op.origin };
      return;
    case 'ns': {
      if (k.key.startsWith('net.ipv4.neigh.default.') && ns.name !== null)
        // only init_net has neigh/default (docs/kernel-notes.md b)
        throw ConfigError.at(op.origin, 'kernel', `sysctl: cannot stat /proc/sys/${op.key.replaceAll('.', '/')}: No such file or directory`);
      const v = nsSysctlValue(k.key, op.value, ns.sysctl[k.key]);
      if (typeof v !== 'string') throw ConfigError.at(op.origin, 'kernel', v.einval);
      ns.sysctl[k.key] = v;
      return;
    }
    case 'forward-all': {
      const v = devconfValue('forwarding', op.value, op.key);
      if (typeof v === 'string') throw ConfigError.at(op.origin, 'kernel', v);
      ns.confAll.forwarding = v;
      ns.confAll.accept_redirects = v ? 0 : 1;
      ns.confDefault.forwarding = v;
      for (const l of ns.links) l.conf.forwarding = v;
      return;
    }
    case 'conf': {
      const v = devconfValue(k.key, op.value, op.key);
      if (typeof v === 'string') throw ConfigError.at(op.origin, v.startsWith('sysctl:') ? 'kernel' : 'unsupported', v);
      if (k.scope === 'all') ns.confAll[k.key] = v;
      else {
        ns.confDefault[k.key] = v;
        // devinet_conf_proc copies a default into the devices that never set it; forwarding has its
        // own handler (devinet_sysctl_forward) that does not: conf.default.forwarding only reaches
        // devices created later (models/conf-default-forwarding.yaml)
        if (k.key !== 'forwarding') for (const l of ns.links) if (!l.confSet.includes(k.key)) l.conf[k.key] = v;
      }
      return;
    }
    case 'devconf': {
      const l = linkNamed(ns, k.dev);
      if (!l) throw ConfigError.at(op.origin, 'kernel', `sysctl: cannot stat /proc/sys/${op.key.replaceAll('.', '/')}: No such file or directory`);
      const v = devconfValue(k.key, op.value, op.key);
      if (typeof v === 'string') throw ConfigError.at(op.origin, v.startsWith('sysctl:') ? 'kernel' : 'unsupported', v);
      l.conf[k.key] = v;
      if (!l.confSet.includes(k.key)) l.confSet.push(k.key);
      return;
    }
  }
}
