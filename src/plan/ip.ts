/**
 * `ip` (iproute2) command lines -> Ops.
 *
 * The grammar follows iproute2's own parsers keyword by keyword and in the same order, because
 * abbreviations are resolved by `matches()` prefix tests where the first hit wins:
 * ip/ip.c (objects, global options), ip/iplink.c + ip/link_veth.c, ip/ipaddress.c, ip/iproute.c,
 * ip/iprule.c, ip/ipneigh.c, ip/ipnetns.c. Error messages are iproute2's.
 *
 * Everything a line asks for is either turned into Ops, or refused with a ConfigError:
 * 'syntax' where iproute2 itself would refuse the line, 'unsupported' where the line is valid
 * but asks for something netpath does not model, 'kernel' where iproute2 sends the request and
 * the kernel refuses it whatever the state (e.g. a route prefix with host bits set).
 */
import type { Op, LinkAddOp, LinkSetOp, AddrOp, RouteOp, RouteFlushOp, RuleOp, NeighOp, LinkKind } from './ops.js';
import type { RouteScope, RouteType, RuleAction } from '../route/types.js';
import { networkOf, type Ipv4, type Prefix } from '../wire/ipv4.js';
import { parseBridgeSlaveOpts } from './bridge.js';
import {
  fail,
  formatMac,
  getU32,
  matches,
  parseIproute2Addr,
  parseIproute2Prefix,
  parseLladdrBytes,
  parseTableId,
  strtoulFull,
  validIfname,
  type Ctx,
  type InetPrefix,
} from './args.js';

/** Runs a nested command (`ip netns exec NS cmd ...`) in another namespace. */
export type ExecNested = (argv: readonly string[], ctx: Ctx) => Op[];

const LOOK = 'look-only command';

function noop(ctx: Ctx, why: string): Op[] {
  return [{ op: 'noop', host: ctx.host, ns: ctx.ns, origin: ctx.origin, why }];
}

/** A cursor over argv that raises iproute2's errors. */
class Args {
  i = 0;
  constructor(
    readonly argv: readonly string[],
    readonly ctx: Ctx,
  ) {}
  get done(): boolean {
    return this.i >= this.argv.length;
  }
  peek(): string | undefined {
    return this.argv[this.i];
  }
  take(): string {
    const w = this.argv[this.i];
    if (w === undefined) return fail(this.ctx, 'syntax', 'Command line is not complete. Try option "help"');
    this.i++;
    return w;
  }
  /** NEXT_ARG(): the value after a keyword. */
  next(): string {
    return this.take();
  }
  rest(): readonly string[] {
    return this.argv.slice(this.i);
  }
}

function invarg(ctx: Ctx, msg: string, arg: string): never {
  return fail(ctx, 'syntax', `Error: argument "${arg}" is wrong: ${msg}`);
}
function duparg(ctx: Ctx, key: string, arg: string): never {
  return fail(ctx, 'syntax', `Error: duplicate "${key}": "${arg}" is the second value.`);
}
function duparg2(ctx: Ctx, key: string, arg: string): never {
  return fail(ctx, 'syntax', `Error: either "${key}" is duplicate, or "${arg}" is a garbage.`);
}
function unsupported(ctx: Ctx, what: string): never {
  return fail(ctx, 'unsupported', what);
}
const V6 = 'IPv6 is not modelled by netpath';

function prefixOrFail(ctx: Ctx, word: string, familyKnown: boolean): InetPrefix {
  const p = parseIproute2Prefix(word);
  if (p === 'inet6') return unsupported(ctx, `${V6} ("${word}")`);
  if (p === undefined) return fail(ctx, 'syntax', `Error: ${familyKnown ? 'inet' : 'any valid'} prefix is expected rather than "${word}".`);
  return p;
}
function addrOrFail(ctx: Ctx, word: string, familyKnown: boolean): Ipv4 {
  const a = parseIproute2Addr(word);
  if (a === 'inet6') return unsupported(ctx, `${V6} ("${word}")`);
  if (a === undefined) return fail(ctx, 'syntax', `Error: ${familyKnown ? 'inet' : 'any valid'} address is expected rather than "${word}".`);
  return a;
}
function macOrFail(ctx: Ctx, word: string): string {
  const bytes = parseLladdrBytes(word);
  if (bytes === undefined) return fail(ctx, 'syntax', `"${word}" is invalid lladdr.`);
  if (bytes.length < 6) return fail(ctx, 'kernel', `"${word}" is not a 6-byte Ethernet address (the kernel answers: Invalid argument)`);
  return formatMac(bytes.slice(0, 6));
}
function ifnameOrFail(ctx: Ctx, key: string, word: string): string {
  if (!validIfname(word)) return invarg(ctx, `"${key}" not a valid ifname`, word);
  return word;
}

/** ip/ip.c's object table, in order: the first `matches` wins. */
const OBJECTS = [
  'address', 'addrlabel', 'maddress', 'route', 'rule', 'neighbor', 'neighbour', 'ntable', 'ntbl', 'link',
  'l2tp', 'fou', 'ila', 'macsec', 'tunnel', 'tunl', 'tuntap', 'tap', 'token', 'tcpmetrics', 'tcp_metrics',
  'monitor', 'xfrm', 'mroute', 'mrule', 'netns', 'netconf', 'vrf', 'sr', 'nexthop', 'mptcp', 'ioam', 'help', 'stats',
] as const;

/** Global options of ip/ip.c, in its order. `arg` options take a value. */
const GLOBAL_OPTS: readonly { name: string; exact?: boolean; arg?: boolean }[] = [
  { name: '-loops', arg: true },
  { name: '-family', arg: true },
  { name: '-4', exact: true },
  { name: '-6', exact: true },
  { name: '-0', exact: true },
  { name: '-M', exact: true },
  { name: '-B', exact: true },
  { name: '-human' },
  { name: '-human-readable' },
  { name: '-iec' },
  { name: '-stats' },
  { name: '-statistics' },
  { name: '-details' },
  { name: '-resolve' },
  { name: '-oneline' },
  { name: '-timestamp' },
  { name: '-tshort' },
  { name: '-Version' },
  { name: '-force' },
  { name: '-batch', arg: true },
  { name: '-brief' },
  { name: '-json' },
  { name: '-pretty' },
  { name: '-rcvbuf', arg: true },
  { name: '-color' },
  { name: '-help' },
  { name: '-netns', arg: true },
  { name: '-Numeric' },
  { name: '-all' },
  { name: '-echo', exact: true },
];

/** Runs `ip -batch FILE`: the file's lines as ip commands with the global options written before. */
export type ExecBatch = (file: string, globals: readonly string[], ctx: Ctx) => Op[];

/** Parses `ip [OPTIONS] OBJECT COMMAND ...` (argv[0] is `ip`). */
export function parseIp(argv: readonly string[], ctx0: Ctx, exec: ExecNested, batch?: ExecBatch): Op[] {
  let ctx = ctx0;
  let i = 1;
  let all = false;
  const globals: string[] = [];
  let batchFile: string | undefined;
  while (i < argv.length) {
    const raw = argv[i]!;
    if (raw === '--') {
      i++;
      break;
    }
    if (!raw.startsWith('-')) break;
    const opt = raw.startsWith('--') ? raw.slice(1) : raw;
    // matches_color: -c[olor][=WHEN]
    const colorWord = opt.split('=')[0]!;
    const hit = GLOBAL_OPTS.find((o) =>
      o.name === '-color' ? colorWord.length > 1 && matches(colorWord, '-color') : o.exact ? opt === o.name : matches(opt, o.name),
    );
    if (!hit) return fail(ctx, 'syntax', `Option "${raw}" is unknown, try "ip -help".`);
    let val: string | undefined;
    if (hit.arg) {
      val = argv[i + 1];
      if (val === undefined) return fail(ctx, 'syntax', `Command line is not complete. Try option "help"`);
      i++;
    }
    switch (hit.name) {
      case '-6':
        return unsupported(ctx, `${V6} ("ip -6")`);
      case '-family':
        if (val === 'inet6') return unsupported(ctx, `${V6} ("ip ${raw} inet6")`);
        if (!['inet', 'link', 'mpls', 'bridge'].includes(val!)) return invarg(ctx, 'invalid protocol family', val!);
        break;
      case '-netns':
        if (!validNetnsName(val!)) return fail(ctx, 'syntax', `Invalid netns name "${val}"`);
        ctx = { ...ctx, ns: val! };
        break;
      case '-batch':
        if (!batch) return unsupported(ctx, '"ip -batch" inside an ip -batch file is not supported');
        batchFile = val!;
        i++;
        continue;
      case '-force':
        // with -batch, go on after a failing line; netpath stops at the first error either way
        i++;
        continue;
      case '-Version':
        return noop(ctx, 'prints the version');
      case '-help':
        return fail(ctx, 'syntax', `"ip ${raw}" prints the usage and fails`);
      case '-all':
        all = true;
        break;
      default:
        break; // display options: irrelevant to state
    }
    globals.push(raw, ...(val !== undefined ? [val] : []));
    i++;
  }
  // ip.c: with -batch, the rest of the command line is not read
  if (batchFile !== undefined) return batch!(batchFile, globals, ctx);
  const obj = argv[i];
  if (obj === undefined) return fail(ctx, 'syntax', '"ip" without an object prints the usage and fails');
  const object = OBJECTS.find((o) => matches(obj, o));
  if (object === undefined) return fail(ctx, 'syntax', `Object "${obj}" is unknown, try "ip help".`);
  const a = new Args(argv.slice(i + 1), ctx);
  if (all && object !== 'netns') return unsupported(ctx, '"ip -all" is only modelled for nothing; name the namespace');
  switch (object) {
    case 'address':
      return ipAddress(a, ctx);
    case 'link':
      return ipLink(a, ctx);
    case 'route':
      return ipRoute(a, ctx);
    case 'rule':
      return ipRule(a, ctx);
    case 'neighbor':
    case 'neighbour':
      return ipNeigh(a, ctx);
    case 'netns':
      if (all) return unsupported(ctx, '"ip -all netns ..." is not supported; name the namespace');
      return ipNetns(a, ctx, exec);
    case 'help':
      return fail(ctx, 'syntax', '"ip help" prints the usage and fails');
    default: {
      const sub = a.peek();
      if (sub !== undefined && ['show', 'list', 'lst'].some((k) => matches(sub, k))) return noop(ctx, LOOK);
      if (sub === undefined && ['maddress', 'addrlabel', 'ntable', 'ntbl', 'tunnel', 'tunl', 'netconf', 'nexthop', 'stats', 'tcpmetrics', 'tcp_metrics', 'vrf', 'xfrm', 'mroute', 'mrule', 'token', 'tuntap', 'tap', 'fou', 'sr', 'mptcp', 'ioam', 'l2tp', 'macsec', 'ila'].includes(object)) {
        return noop(ctx, LOOK);
      }
      return unsupported(ctx, `"ip ${object}" is not modelled by netpath`);
    }
  }
}

function validNetnsName(name: string): boolean {
  return name !== '' && name.length <= 255 && !name.includes('/') && name !== '.' && name !== '..';
}

// ---------------------------------------------------------------------------------------------
// ip netns (ip/ipnetns.c do_netns)

function ipNetns(a: Args, ctx: Ctx, exec: ExecNested): Op[] {
  const sub = a.peek();
  if (sub === undefined) return noop(ctx, LOOK);
  const arg1 = a.argv[1];
  if (arg1 !== undefined && !validNetnsName(arg1)) return fail(ctx, 'syntax', `Invalid netns name "${arg1}"`);
  const base = { host: ctx.host, ns: ctx.ns, origin: ctx.origin };
  a.take();
  if (matches(sub, 'list') || matches(sub, 'show') || matches(sub, 'lst') || matches(sub, 'list-id')) return noop(ctx, LOOK);
  if (matches(sub, 'help')) return fail(ctx, 'syntax', '"ip netns help" prints the usage and fails');
  if (matches(sub, 'add')) {
    const name = a.peek();
    if (name === undefined) return fail(ctx, 'syntax', 'No netns name specified');
    if (a.argv.length > 2) return unsupported(ctx, `"ip netns add" ignores the extra words after the name ("${a.argv[2]}"); remove them`);
    return [{ op: 'netns-add', ...base, name }];
  }
  if (matches(sub, 'set')) return unsupported(ctx, '"ip netns set" (namespace ids) is not modelled');
  if (matches(sub, 'delete')) {
    const name = a.peek();
    if (name === undefined) return fail(ctx, 'syntax', 'No netns name specified');
    return [{ op: 'netns-del', ...base, name }];
  }
  if (matches(sub, 'identify') || matches(sub, 'pids')) return noop(ctx, LOOK);
  if (matches(sub, 'exec')) {
    const name = a.peek();
    if (name === undefined) return fail(ctx, 'syntax', 'No netns name specified');
    const cmd = a.argv.slice(2);
    if (cmd.length === 0) return fail(ctx, 'syntax', 'No command specified');
    return exec(cmd, { ...ctx, ns: name });
  }
  if (matches(sub, 'monitor')) return unsupported(ctx, '"ip netns monitor" waits forever; remove it from the runbook');
  if (matches(sub, 'attach')) {
    const name = a.argv[1];
    const pid = a.argv[2];
    if (name === undefined || pid === undefined) return fail(ctx, 'syntax', 'No netns name and PID specified');
    if (!/^\d+$/.test(pid)) return fail(ctx, 'syntax', `Invalid pid "${pid}"`);
    return [{ op: 'netns-bind', ...base, name, pid, attach: true }];
  }
  return fail(ctx, 'syntax', `Command "${sub}" is unknown, try "ip netns help".`);
}

// ---------------------------------------------------------------------------------------------
// ip link (ip/iplink.c)

interface LinkArgs {
  up?: boolean;
  name?: string;
  dev?: string;
  mtu?: number;
  address?: string;
  netns?: string;
  master?: string | null;
  type?: string;
  /** words after `type KIND` */
  typeArgs: readonly string[];
}

const LINK_UNSUPPORTED_EXACT = new Set([
  'index', 'inet', 'xdpgeneric', 'xdpdrv', 'xdpoffload', 'xdp', 'multicast', 'allmulticast', 'promisc', 'trailers',
  'arp', 'carrier', 'vf', 'vrf', 'group', 'mode', 'state', 'protodown', 'protodown_reason', 'gso_max_size',
  'gso_max_segs', 'gro_max_size', 'gso_ipv4_max_size', 'gro_ipv4_max_size', 'parentdev', 'qlen',
]);

/** iplink_parse: the generic link options, in iproute2's order. `create` = `ip link add` rules. */
function parseLinkArgs(a: Args, ctx: Ctx, create: boolean): LinkArgs {
  let name: string | undefined;
  let dev: string | undefined;
  const out: LinkArgs = { typeArgs: [] };
  while (!a.done) {
    const w = a.take();
    if (w === 'up') out.up = true;
    else if (w === 'down') out.up = false;
    else if (w === 'name') {
      const v = a.next();
      if (name !== undefined) duparg(ctx, 'name', v);
      name = ifnameOrFail(ctx, 'name', v);
      if (dev === undefined) dev = name;
    } else if (LINK_UNSUPPORTED_EXACT.has(w)) {
      unsupported(ctx, `"ip link ... ${w}" is not modelled by netpath`);
    } else if (matches(w, 'link')) {
      unsupported(ctx, `"ip link ... link DEV" (stacked devices) is not modelled by netpath`);
    } else if (matches(w, 'address')) {
      out.address = macOrFail(ctx, a.next());
    } else if (matches(w, 'broadcast') || w === 'brd') {
      unsupported(ctx, `"ip link ... ${w}" (link-layer broadcast address) is not modelled by netpath`);
    } else if (matches(w, 'txqueuelen') || matches(w, 'txqlen')) {
      unsupported(ctx, `"ip link ... ${w}" is not modelled by netpath`);
    } else if (w === 'mtu') {
      const v = a.next();
      if (out.mtu !== undefined) duparg(ctx, 'mtu', v);
      const n = strtoulFull(v, 0, 0x7fffffff);
      if (n === undefined) invarg(ctx, 'Invalid "mtu" value\n', v);
      out.mtu = n;
    } else if (w === 'netns') {
      const v = a.next();
      if (out.netns !== undefined) duparg(ctx, 'netns', v);
      if (/^\d+$/.test(v)) {
        unsupported(
          ctx,
          `"netns ${v}" names a process id; netpath knows namespaces by name: bind it first ("ln -s /proc/${v}/ns/net /var/run/netns/NAME") and use NAME`,
        );
      }
      out.netns = v;
    } else if (matches(w, 'master')) {
      out.master = ifnameOrFail(ctx, 'master', a.next());
    } else if (matches(w, 'nomaster')) {
      out.master = null;
    } else if (matches(w, 'dynamic')) {
      unsupported(ctx, `"ip link ... dynamic" is not modelled by netpath`);
    } else if (matches(w, 'type')) {
      out.type = a.next();
      out.typeArgs = a.rest();
      a.i = a.argv.length;
      break;
    } else if (
      matches(w, 'alias') ||
      matches(w, 'numtxqueues') ||
      matches(w, 'numrxqueues') ||
      matches(w, 'addrgenmode') ||
      matches(w, 'link-netns') ||
      matches(w, 'link-netnsid')
    ) {
      unsupported(ctx, `"ip link ... ${w}" is not modelled by netpath`);
    } else {
      if (matches(w, 'help')) fail(ctx, 'syntax', `"ip link ... ${w}" prints the usage and fails`);
      let d = w;
      if (w === 'dev') d = a.next();
      if (dev !== name) duparg2(ctx, 'dev', d);
      dev = ifnameOrFail(ctx, 'dev', d);
    }
  }
  // "Allow ip link add dev and ip link add name"
  if (name === undefined) name = dev;
  else if (dev === undefined) dev = name;
  if (create) {
    if (name !== dev) fail(ctx, 'syntax', 'both "name" and "dev" cannot be used when creating devices.');
    if (name !== undefined) out.name = name;
  } else {
    if (dev === undefined) fail(ctx, 'syntax', 'Not enough information: "dev" argument is required.');
    out.dev = dev;
    if (name !== undefined && name !== dev) out.name = name;
  }
  return out;
}

function ipLink(a: Args, ctx: Ctx): Op[] {
  const sub = a.peek();
  if (sub === undefined) return noop(ctx, LOOK);
  a.take();
  const base = { host: ctx.host, ns: ctx.ns, origin: ctx.origin };
  if (matches(sub, 'add')) return linkAdd(a, ctx);
  if (matches(sub, 'set') || matches(sub, 'change')) {
    const la = parseLinkArgs(a, ctx, false);
    if (la.type !== undefined && la.type !== 'bridge_slave')
      return unsupported(ctx, `"ip link set ... type ${la.type} ..." (driver options) is not modelled by netpath (bridge_slave is)`);
    const op: { -readonly [K in keyof LinkSetOp]: LinkSetOp[K] } = { op: 'link-set', ...base, dev: la.dev! };
    if (la.type === 'bridge_slave') {
      op.brport = parseBridgeSlaveOpts(la.typeArgs, ctx);
      op.brportSyntax = 'ip';
    }
    if (la.up !== undefined) op.up = la.up;
    if (la.name !== undefined) op.name = la.name;
    if (la.netns !== undefined) op.netns = la.netns;
    if (la.master !== undefined) op.master = la.master;
    if (la.mtu !== undefined) op.mtu = la.mtu;
    if (la.address !== undefined) op.address = la.address;
    return [op];
  }
  if (matches(sub, 'replace')) return unsupported(ctx, '"ip link replace" is not modelled; use "ip link add" or "ip link set"');
  if (matches(sub, 'delete')) {
    const la = parseLinkArgs(a, ctx, false);
    if (la.up !== undefined || la.name !== undefined || la.netns !== undefined || la.master !== undefined || la.mtu !== undefined || la.address !== undefined || la.typeArgs.length > 0) {
      return unsupported(ctx, '"ip link delete" takes only the device (and its type)');
    }
    return [{ op: 'link-del', ...base, dev: la.dev! }];
  }
  if (matches(sub, 'show') || matches(sub, 'lst') || matches(sub, 'list') || matches(sub, 'xstats') || matches(sub, 'afstats')) {
    return noop(ctx, LOOK);
  }
  if (matches(sub, 'property')) return unsupported(ctx, '"ip link property" (alternative names) is not modelled');
  if (matches(sub, 'help')) return fail(ctx, 'syntax', '"ip link help" prints the usage and fails');
  return fail(ctx, 'syntax', `Command "${sub}" is unknown, try "ip link help".`);
}

function linkAdd(a: Args, ctx: Ctx): Op[] {
  const la = parseLinkArgs(a, ctx, true);
  if (la.type === undefined) return fail(ctx, 'syntax', 'Not enough information: "type" argument is required');
  if (la.name === undefined) return unsupported(ctx, '"ip link add" without a name lets the kernel choose one; name the device');
  let kind: LinkKind;
  let peer: { name: string; netns?: string } | undefined;
  switch (la.type) {
    case 'veth': {
      const rest = la.typeArgs;
      if (rest.length === 0) return unsupported(ctx, 'a veth without "peer name P" gets a kernel-chosen peer name; name the peer');
      if (rest[0] !== 'peer') return fail(ctx, 'syntax', 'Usage: ip link <options> type veth [peer <options>]');
      const pa = new Args(rest.slice(1), ctx);
      const p = parseLinkArgs(pa, ctx, true);
      if (p.type !== undefined) return duparg(ctx, 'type', p.type);
      if (p.name === undefined) return unsupported(ctx, 'a veth peer without a name gets a kernel-chosen name; write "peer name P"');
      if (p.up !== undefined || p.mtu !== undefined || p.address !== undefined || p.master !== undefined) {
        return unsupported(ctx, 'options for the veth peer other than "name" and "netns" are not modelled; set them with "ip link set" afterwards');
      }
      peer = p.netns !== undefined ? { name: p.name, netns: p.netns } : { name: p.name };
      kind = 'veth';
      break;
    }
    case 'bridge':
    case 'dummy':
      if (la.typeArgs.length > 0) {
        if (la.type === 'dummy') {
          return fail(ctx, 'syntax', `Garbage instead of arguments "${la.typeArgs[0]} ...". Try "ip link help".`);
        }
        return unsupported(ctx, `bridge options ("${la.typeArgs[0]}") are not modelled by netpath`);
      }
      kind = la.type;
      break;
    case 'macvlan':
    case 'macvtap':
    case 'ipvlan':
    case 'ipvtap':
      return unsupported(
        ctx,
        `link type "${la.type}" is not modelled by netpath: it needs a parent device ("link DEV") whose frames it shares by ` +
          `${la.type.startsWith('mac') ? 'MAC address, with mode rules (bridge, private, vepa, passthru) and no traffic between the parent and its macvlans' : 'IP address in L2, L3 or L3S mode, with its own rules for traffic to the parent'}` +
          `, none of which the packet walk follows; use a veth pair and a bridge`,
      );
    default:
      return unsupported(ctx, `link type "${la.type}" is not modelled by netpath (veth, bridge, dummy are)`);
  }
  const base = { host: ctx.host, ns: ctx.ns, origin: ctx.origin };
  const add: { -readonly [K in keyof LinkAddOp]: LinkAddOp[K] } = { op: 'link-add', ...base, name: la.name, kind };
  if (peer !== undefined) add.peer = peer;
  if (la.mtu !== undefined) add.mtu = la.mtu;
  if (la.address !== undefined) add.address = la.address;
  if (la.netns !== undefined) add.netns = la.netns;
  const ops: Op[] = [add];
  // `ip link add ... up` / `master BR`: the same request sets them; modelled as a following link-set.
  if (la.up !== undefined || la.master !== undefined) {
    const set: { -readonly [K in keyof LinkSetOp]: LinkSetOp[K] } = {
      op: 'link-set',
      ...base,
      ns: la.netns ?? ctx.ns,
      dev: la.name,
    };
    if (la.up !== undefined) set.up = la.up;
    if (la.master !== undefined) set.master = la.master;
    ops.push(set);
  }
  return ops;
}

// ---------------------------------------------------------------------------------------------
// ip address (ip/ipaddress.c)

const ADDR_FLAGS = new Set([
  'secondary', 'temporary', 'nodad', 'optimistic', 'dadfailed', 'home', 'deprecated', 'tentative', 'permanent',
  'mngtmpaddr', 'noprefixroute', 'autojoin', 'stable-privacy',
]);

function scopeOf(ctx: Ctx, word: string, what: string): RouteScope {
  const named: Record<string, number> = { global: 0, nowhere: 255, host: 254, link: 253, site: 200 };
  const n = named[word] ?? strtoulFull(word, 0, 255);
  if (n === undefined) return invarg(ctx, what, word);
  if (n === 0) return 'global';
  if (n === 253) return 'link';
  if (n === 254) return 'host';
  return unsupported(ctx, `scope "${word}" is not modelled by netpath (global, link, host are)`);
}

function ipAddress(a: Args, ctx: Ctx): Op[] {
  const sub = a.peek();
  if (sub === undefined) return noop(ctx, LOOK);
  a.take();
  if (matches(sub, 'add')) return addrModify(a, ctx, 'addr-add');
  if (matches(sub, 'change') || sub === 'chg' || matches(sub, 'replace')) {
    return unsupported(ctx, `"ip address ${sub}" is not modelled; delete and add the address`);
  }
  if (matches(sub, 'delete')) return addrModify(a, ctx, 'addr-del');
  if (matches(sub, 'list') || matches(sub, 'show') || matches(sub, 'lst') || matches(sub, 'save') || matches(sub, 'showdump')) {
    return noop(ctx, LOOK);
  }
  if (matches(sub, 'flush')) return addrFlush(a, ctx);
  if (matches(sub, 'restore')) return unsupported(ctx, '"ip address restore" is not modelled');
  if (matches(sub, 'help')) return fail(ctx, 'syntax', '"ip address help" prints the usage and fails');
  return fail(ctx, 'syntax', `Command "${sub}" is unknown, try "ip address help".`);
}

function addrModify(a: Args, ctx: Ctx, op: 'addr-add' | 'addr-del'): Op[] {
  let dev: string | undefined;
  let label: string | undefined;
  let local: InetPrefix | undefined;
  let brd: Ipv4 | '+' | undefined;
  let scope: RouteScope | undefined;
  while (!a.done) {
    const w = a.take();
    if (w === 'peer' || w === 'remote') unsupported(ctx, `point-to-point addresses ("${w}") are not modelled by netpath`);
    else if (matches(w, 'broadcast') || w === 'brd') {
      const v = a.next();
      if (brd !== undefined) duparg(ctx, 'broadcast', v);
      if (v === '+') brd = '+';
      else if (v === '-') unsupported(ctx, '"broadcast -" is not modelled; write the broadcast address or "+"');
      else brd = addrOrFail(ctx, v, local !== undefined);
    } else if (w === 'anycast') unsupported(ctx, 'anycast addresses are not modelled by netpath');
    else if (w === 'scope') scope = scopeOf(ctx, a.next(), 'invalid scope value.');
    else if (w === 'dev') dev = a.next();
    else if (w === 'label') label = a.next();
    else if (matches(w, 'metric') || matches(w, 'priority') || matches(w, 'preference')) {
      const v = a.next();
      if (getU32(v) === undefined) invarg(ctx, '"metric" value is invalid\n', v);
      unsupported(ctx, `"${w}" for an address (the prefix route's metric) is not modelled by netpath`);
    } else if (matches(w, 'valid_lft') || matches(w, 'preferred_lft')) {
      const v = a.next();
      if (v !== 'forever') unsupported(ctx, `address lifetimes ("${w} ${v}") are not modelled; only "forever"`);
    } else if (ADDR_FLAGS.has(w)) unsupported(ctx, `address flag "${w}" is not modelled by netpath`);
    else if (w === 'proto') unsupported(ctx, 'address protocols ("proto") are not modelled by netpath');
    else {
      let v = w;
      if (w === 'local') v = a.next();
      if (matches(v, 'help')) fail(ctx, 'syntax', `"ip address ... ${v}" prints the usage and fails`);
      if (local !== undefined) duparg2(ctx, 'local', v);
      local = prefixOrFail(ctx, v, false);
      if (local.any) fail(ctx, 'syntax', `Error: inet prefix is expected rather than "${v}".`);
    }
  }
  if (dev === undefined) return fail(ctx, 'syntax', 'Not enough information: "dev" argument is required.');
  if (local === undefined) return fail(ctx, 'syntax', `"ip address ${op === 'addr-add' ? 'add' : 'delete'}" needs an address`);
  // ipaddr_modify: `brd +` is only computed for prefixes up to /30
  if (brd === '+' && local.len > 30) brd = undefined;
  const out: { -readonly [K in keyof AddrOp]: AddrOp[K] } = {
    op,
    host: ctx.host,
    ns: ctx.ns,
    origin: ctx.origin,
    dev,
    local: local.addr,
    prefixLen: local.len,
    hadLen: local.lenGiven,
  };
  if (brd !== undefined && op === 'addr-add') out.broadcast = brd;
  if (scope !== undefined) out.scope = scope;
  if (label !== undefined) out.label = label;
  return [out];
}

// ---------------------------------------------------------------------------------------------
// ip route (ip/iproute.c)

/** rtnl_rtntype_a2n (ip/rtm_map.c), in order. */
function routeTypeOf(word: string): RouteType | 'other' | undefined {
  if (word === 'local') return 'local';
  if (word === 'nat') return 'other';
  if (matches(word, 'broadcast') || word === 'brd') return 'broadcast';
  if (matches(word, 'anycast') || matches(word, 'multicast')) return 'other';
  if (matches(word, 'prohibit')) return 'prohibit';
  if (matches(word, 'unreachable')) return 'unreachable';
  if (matches(word, 'blackhole')) return 'blackhole';
  if (matches(word, 'xresolve')) return 'other';
  if (matches(word, 'unicast')) return 'unicast';
  if (word === 'throw') return 'throw';
  return undefined;
}

const RT_PROTOS: Record<number, string> = {
  0: 'unspec', 1: 'redirect', 2: 'kernel', 3: 'boot', 4: 'static', 8: 'gated', 9: 'ra', 10: 'mrt', 11: 'zebra',
  12: 'bird', 13: 'dnrouted', 14: 'xorp', 15: 'ntk', 16: 'dhcp', 18: 'keepalived', 42: 'babel', 84: 'ovn',
  99: 'openr', 186: 'bgp', 187: 'isis', 188: 'ospf', 189: 'rip', 192: 'eigrp',
};

function protoOf(ctx: Ctx, word: string): string {
  if (Object.values(RT_PROTOS).includes(word)) return word;
  const n = strtoulFull(word, 0, 255);
  if (n === undefined) return invarg(ctx, '"protocol" value is invalid\n', word);
  return RT_PROTOS[n] ?? String(n);
}

function tableOf(ctx: Ctx, word: string, msg: string): number {
  const t = parseTableId(word);
  if (t !== undefined) return t;
  if (/^[A-Za-z_]/.test(word)) {
    const named = ctx.rtTable?.(word);
    if (named !== undefined) return named;
    return fail(
      ctx,
      'syntax',
      `Error: argument "${word}" is wrong: table "${word}" is not in /etc/iproute2/rt_tables (local, main, default, and the names the runbook wrote there with echo "ID ${word}" >> /etc/iproute2/rt_tables or the model gave in hosts.${ctx.host}.files)`,
    );
  }
  return invarg(ctx, msg, word);
}

/** Whether a word starts with a letter (could abbreviate a keyword; a destination starts with a digit). */
function isLetter(w: string): boolean {
  const c = w.charCodeAt(0) | 0x20;
  return c >= 0x61 && c <= 0x7a;
}

const ROUTE_METRICS = ['reordering', 'window', 'cwnd', 'initcwnd', 'initrwnd', 'features', 'quickack', 'congctl', 'rttvar', 'ssthresh', 'realms'];

const ROUTE_VERBS: Record<string, RouteOp['op']> = {
  add: 'route-add',
  change: 'route-change',
  replace: 'route-replace',
  append: 'route-append',
  delete: 'route-del',
};

function ipRoute(a: Args, ctx: Ctx): Op[] {
  const sub = a.peek();
  if (sub === undefined) return noop(ctx, LOOK);
  a.take();
  let verb: RouteOp['op'] | undefined;
  if (matches(sub, 'add')) verb = ROUTE_VERBS.add;
  else if (matches(sub, 'change') || sub === 'chg') verb = ROUTE_VERBS.change;
  else if (matches(sub, 'replace')) verb = ROUTE_VERBS.replace;
  else if (matches(sub, 'prepend')) return unsupported(ctx, '"ip route prepend" is not modelled; use add, append or replace');
  else if (matches(sub, 'append')) verb = ROUTE_VERBS.append;
  else if (matches(sub, 'test')) return unsupported(ctx, '"ip route test" is not modelled');
  else if (matches(sub, 'delete')) verb = ROUTE_VERBS.delete;
  else if (matches(sub, 'list') || matches(sub, 'show') || matches(sub, 'lst') || matches(sub, 'get')) return noop(ctx, LOOK);
  else if (matches(sub, 'flush')) return routeFlush(a, ctx);
  else if (matches(sub, 'save') || matches(sub, 'showdump')) return noop(ctx, LOOK);
  else if (matches(sub, 'restore')) return unsupported(ctx, '"ip route restore" is not modelled');
  else if (matches(sub, 'help')) return fail(ctx, 'syntax', '"ip route help" prints the usage and fails');
  else return fail(ctx, 'syntax', `Command "${sub}" is unknown, try "ip route help".`);
  return [routeModify(a, ctx, verb!)];
}

/** `ip route flush [table T|all] [dev D] [proto P] [type T]`, `ip route flush cache` (iproute_list_flush). */
function routeFlush(a: Args, ctx: Ctx): Op[] {
  if (a.done) return fail(ctx, 'syntax', '"ip route flush" requires arguments.');
  if (a.peek() === 'cache') return noop(ctx, 'flushes the route cache (IPv4 has none since Linux 3.6)');
  const op: { -readonly [K in keyof RouteFlushOp]: RouteFlushOp[K] } = { op: 'route-flush', host: ctx.host, ns: ctx.ns, origin: ctx.origin, table: 254 };
  while (!a.done) {
    const w = a.take();
    if (matches(w, 'table')) {
      const v = a.next();
      op.table = v === 'all' ? 'all' : tableOf(ctx, v, 'table id value is invalid\n');
    } else if (w === 'dev' || w === 'oif') op.dev = a.next();
    else if (matches(w, 'protocol')) op.proto = protoOf(ctx, a.next());
    else if (w === 'type') {
      const v = a.next();
      const t = routeTypeOf(v);
      if (t === undefined || t === 'other') return invarg(ctx, 'invalid route type\n', v);
      op.type = t;
    } else return unsupported(ctx, `"ip route flush ... ${w}" (selectors other than table, dev, proto, type) is not modelled by netpath`);
  }
  return [op];
}

/** `ip address flush [dev] D` (ipaddr_list_flush_or_save): every IPv4 address of D. */
function addrFlush(a: Args, ctx: Ctx): Op[] {
  if (a.done) return fail(ctx, 'syntax', 'Flush requires arguments.');
  let dev: string | undefined;
  while (!a.done) {
    const w = a.take();
    if (w === 'dev') dev = a.next();
    else if (['scope', 'to', 'label', 'up', 'primary', 'secondary', 'permanent', 'dynamic'].includes(w) || matches(w, 'label'))
      return unsupported(ctx, `"ip address flush ... ${w}" (selectors other than the device) is not modelled by netpath`);
    else {
      if (dev !== undefined) return duparg2(ctx, 'dev', w);
      dev = w;
    }
  }
  if (dev === undefined) return fail(ctx, 'syntax', 'Flush requires arguments.');
  return [{ op: 'addr-flush', host: ctx.host, ns: ctx.ns, origin: ctx.origin, dev }];
}

function routeModify(a: Args, ctx: Ctx, verb: RouteOp['op']): RouteOp {
  const del = verb === 'route-del';
  let type: RouteType = 'unicast';
  let dst: InetPrefix | undefined;
  let dstWord = '';
  let via: Ipv4 | undefined;
  let dev: string | undefined;
  let src: Ipv4 | undefined;
  let metric: number | undefined;
  let table: number | undefined;
  let scope: RouteScope | undefined;
  let onlink = false;
  let proto: string | undefined;
  let family = false; // an IPv4 address has been read (for error wording)
  while (!a.done) {
    const w = a.take();
    if (w === 'src') {
      src = addrOrFail(ctx, a.next(), family);
      family = true;
    } else if (w === 'as') unsupported(ctx, 'route NAT ("as") is not modelled by netpath');
    else if (w === 'via') {
      if (via !== undefined) invarg(ctx, 'use nexthop syntax to specify multiple via\n', w);
      let v = a.next();
      if (v === 'inet6') unsupported(ctx, `${V6} ("via inet6")`);
      if (['inet', 'link', 'mpls', 'bridge'].includes(v)) {
        if (v !== 'inet') unsupported(ctx, `"via ${v}" gateways are not modelled by netpath`);
        v = a.next();
      }
      via = addrOrFail(ctx, v, family);
      family = true;
    } else if (w === 'from') unsupported(ctx, 'source-specific routes ("from") are not modelled by netpath');
    else if (w === 'tos' || matches(w, 'dsfield')) unsupported(ctx, `TOS routes ("${w}") are not modelled by netpath`);
    else if (w === 'expires') unsupported(ctx, 'route expiry ("expires") is not modelled by netpath');
    else if (matches(w, 'metric') || matches(w, 'priority') || w === 'preference') {
      const v = a.next();
      const n = getU32(v);
      if (n === undefined) invarg(ctx, '"metric" value is invalid\n', v);
      metric = n;
    } else if (w === 'scope') {
      scope = scopeOf(ctx, a.next(), 'invalid "scope" value\n');
    } else if (['mtu', 'hoplimit', 'advmss', 'rtt', 'rto_min'].includes(w) || (isLetter(w) && ROUTE_METRICS.some((m) => matches(w, m)))) {
      unsupported(ctx, `route metrics ("${w}") are not modelled by netpath`);
    } else if (w === 'onlink') onlink = true;
    else if (w === 'nexthop' || w === 'nhid') unsupported(ctx, `multipath and nexthop objects ("${w}") are not modelled by netpath`);
    else if (matches(w, 'protocol')) proto = protoOf(ctx, a.next());
    else if (matches(w, 'table')) {
      table = tableOf(ctx, a.next(), '"table" value is invalid\n');
      if (table === 0) table = 254; // fib_new_table()/fib_get_table(): id 0 means main
    } else if (matches(w, 'vrf')) unsupported(ctx, 'VRFs are not modelled by netpath');
    else if (w === 'dev' || w === 'oif') dev = a.next();
    else if (matches(w, 'pref')) unsupported(ctx, `IPv6 router preference ("${w}") is not modelled by netpath`);
    else if (w === 'encap' || w === 'ttl-propagate' || matches(w, 'fastopen_no_cookie')) {
      unsupported(ctx, `"${w}" routes are not modelled by netpath`);
    } else {
      let v = w;
      if (v === 'to') v = a.next();
      if ((v[0]! < '0' || v[0]! > '9') && routeTypeOf(v) !== undefined) {
        const t = routeTypeOf(v)!;
        if (t === 'other') unsupported(ctx, `route type "${v}" is not modelled by netpath`);
        type = t;
        v = a.next();
      }
      if (matches(v, 'help')) fail(ctx, 'syntax', `"ip route ... ${v}" prints the usage and fails`);
      if (dst !== undefined) duparg2(ctx, 'to', v);
      dst = prefixOrFail(ctx, v, family);
      dstWord = v;
      family = true;
    }
  }
  if (dst === undefined) return fail(ctx, 'syntax', `"ip route ${verb.slice(6)}" needs a destination prefix (or "default")`);
  // the kernel's fib_valid_key_len(): refuses host bits (verified: `ip route add 10.0.0.1/24 dev d0`
  // answers "Error: Invalid prefix for given prefix length.", iproute2-6.1.0, Linux 6.18)
  if (networkOf(dst.addr, dst.len) !== dst.addr) {
    return fail(ctx, 'kernel', `Error: Invalid prefix for given prefix length. ("${dstWord}" has host bits set)`);
  }
  const op: { -readonly [K in keyof RouteOp]: RouteOp[K] } = {
    op: verb,
    host: ctx.host,
    ns: ctx.ns,
    origin: ctx.origin,
    type,
    dst: { addr: dst.addr, len: dst.len },
    syntax: 'ip',
  };
  if (via !== undefined) op.via = via;
  if (dev !== undefined) op.dev = dev;
  if (src !== undefined) op.src = src;
  if (metric !== undefined) op.metric = metric;
  if (onlink) op.onlink = true;
  // What iproute2 itself fills in (iproute_modify): table main, or local for local/broadcast;
  // for changes proto boot and a scope derived from the type and the gateway. A delete leaves
  // scope and proto unset (wildcards).
  op.table = table ?? (type === 'local' || type === 'broadcast' ? 255 : 254);
  if (!del) {
    op.proto = proto ?? 'boot';
    op.scope = scope ?? (type === 'local' ? 'host' : type === 'broadcast' ? 'link' : type === 'unicast' && via === undefined ? 'link' : 'global');
  } else {
    if (proto !== undefined) op.proto = proto;
    if (scope !== undefined) op.scope = scope;
  }
  return op;
}

// ---------------------------------------------------------------------------------------------
// ip rule (ip/iprule.c)

function ipRule(a: Args, ctx: Ctx): Op[] {
  const sub = a.peek();
  if (sub === undefined) return noop(ctx, LOOK);
  a.take();
  if (matches(sub, 'list') || matches(sub, 'lst') || matches(sub, 'show') || matches(sub, 'save')) return noop(ctx, LOOK);
  if (matches(sub, 'restore')) return unsupported(ctx, '"ip rule restore" is not modelled');
  if (matches(sub, 'add')) return [ruleModify(a, ctx, 'rule-add')];
  if (matches(sub, 'delete')) return [ruleModify(a, ctx, 'rule-del')];
  if (matches(sub, 'flush')) return unsupported(ctx, '"ip rule flush" is not modelled; delete the rules one by one');
  if (matches(sub, 'help')) return fail(ctx, 'syntax', '"ip rule help" prints the usage and fails');
  return fail(ctx, 'syntax', `Command "${sub}" is unknown, try "ip rule help".`);
}

function rulePrefix(ctx: Ctx, word: string): Prefix | undefined {
  const p = prefixOrFail(ctx, word, false);
  // the kernel keeps host bits in a rule's selector but matches under the mask
  // (verified: `ip rule add from 10.0.0.1/8 table 5` is accepted, iproute2-6.1.0, Linux 6.18)
  return p.len === 0 ? undefined : { addr: networkOf(p.addr, p.len), len: p.len };
}

function ruleModify(a: Args, ctx: Ctx, op: 'rule-add' | 'rule-del'): RuleOp {
  if (a.done) return fail(ctx, 'syntax', `"ip rule ${op === 'rule-add' ? 'add' : 'del'}" requires arguments.`);
  let not = false;
  let from: Prefix | undefined;
  let to: Prefix | undefined;
  let priority: number | undefined;
  let fwmark: { value: number; mask: number } | undefined;
  let iif: string | undefined;
  let oif: string | undefined;
  let table: number | undefined;
  let action: RuleAction | undefined;
  while (!a.done) {
    const w = a.take();
    if (w === 'not') not = true;
    else if (w === 'from') from = rulePrefix(ctx, a.next());
    else if (w === 'to') to = rulePrefix(ctx, a.next());
    else if (matches(w, 'preference') || matches(w, 'order') || matches(w, 'priority')) {
      const v = a.next();
      const n = getU32(v);
      if (n === undefined) invarg(ctx, 'preference value is invalid\n', v);
      priority = n;
    } else if (w === 'tos' || matches(w, 'dsfield')) unsupported(ctx, `TOS rules ("${w}") are not modelled by netpath`);
    else if (w === 'fwmark') {
      const v = a.next();
      const slash = v.indexOf('/');
      const markText = slash < 0 ? v : v.slice(0, slash);
      const value = getU32(markText);
      if (value === undefined) invarg(ctx, 'fwmark value is invalid\n', markText);
      let mask = value === 0 ? 0 : 0xffffffff; // kernel: a mark without FRA_FWMASK gets mask ~0 (0 if the mark is 0)
      if (slash >= 0) {
        const m = getU32(v.slice(slash + 1));
        if (m === undefined) invarg(ctx, 'fwmask value is invalid\n', v.slice(slash + 1));
        mask = m;
      }
      fwmark = { value, mask };
    } else if (matches(w, 'realms') || matches(w, 'protocol') || matches(w, 'tun_id')) {
      unsupported(ctx, `rule selector "${w}" is not modelled by netpath`);
    } else if (matches(w, 'table') || w === 'lookup') {
      table = tableOf(ctx, a.next(), 'invalid table ID\n');
    } else if (matches(w, 'suppress_prefixlength') || w === 'sup_pl' || matches(w, 'suppress_ifgroup') || w === 'sup_group') {
      unsupported(ctx, `"${w}" rules are not modelled by netpath`);
    } else if (w === 'dev' || w === 'iif') iif = ifnameOrFail(ctx, 'iif"/"dev', a.next());
    else if (w === 'oif') oif = ifnameOrFail(ctx, 'oif', a.next());
    else if (['l3mdev', 'uidrange', 'nat', 'ipproto', 'sport', 'dport', 'dscp', 'flowlabel'].includes(w) || matches(w, 'map-to')) {
      unsupported(ctx, `rule selector "${w}" is not modelled by netpath`);
    } else {
      let v = w;
      if (v === 'type') v = a.next();
      if (matches(v, 'help')) fail(ctx, 'syntax', `"ip rule ... ${v}" prints the usage and fails`);
      if (matches(v, 'goto') || matches(v, 'nop')) unsupported(ctx, `rule action "${v}" is not modelled by netpath`);
      const t = routeTypeOf(v);
      if (t === undefined) invarg(ctx, 'Failed to parse rule type', v);
      // FR_ACT_* equals RTN_* for these; RTN_UNICAST (1) is FR_ACT_TO_TBL, i.e. lookup
      if (t === 'blackhole' || t === 'unreachable' || t === 'prohibit') action = t;
      else if (t === 'unicast') action = 'lookup';
      else unsupported(ctx, `rule action "${v}" is not modelled by netpath`);
    }
  }
  const out: { -readonly [K in keyof RuleOp]: RuleOp[K] } = {
    op,
    host: ctx.host,
    ns: ctx.ns,
    origin: ctx.origin,
    not,
    action: action ?? 'lookup',
  };
  if (op === 'rule-add') {
    if (action === undefined || action === 'lookup') out.table = table ?? 254; // iprule_modify: default main
  } else {
    if (table !== undefined && table !== 0) out.table = table;
    if (action === undefined && table === undefined) out.anyAction = true;
  }
  if (priority !== undefined) out.priority = priority;
  if (from !== undefined) out.from = from;
  if (to !== undefined) out.to = to;
  if (fwmark !== undefined) out.fwmark = fwmark;
  if (iif !== undefined) out.iif = iif;
  if (oif !== undefined) out.oif = oif;
  return out;
}

// ---------------------------------------------------------------------------------------------
// ip neigh (ip/ipneigh.c)

function ipNeigh(a: Args, ctx: Ctx): Op[] {
  const sub = a.peek();
  if (sub === undefined) return noop(ctx, LOOK);
  a.take();
  if (matches(sub, 'add')) return [neighModify(a, ctx, 'neigh-add')];
  if (matches(sub, 'change') || sub === 'chg') return unsupported(ctx, '"ip neigh change" is not modelled; use "ip neigh replace"');
  if (matches(sub, 'replace')) return [neighModify(a, ctx, 'neigh-replace')];
  if (matches(sub, 'delete')) return [neighModify(a, ctx, 'neigh-del')];
  if (matches(sub, 'get') || matches(sub, 'show') || matches(sub, 'lst') || matches(sub, 'list')) return noop(ctx, LOOK);
  if (matches(sub, 'flush')) return unsupported(ctx, '"ip neigh flush" is not modelled; delete the entries one by one');
  if (matches(sub, 'help')) return fail(ctx, 'syntax', '"ip neigh help" prints the usage and fails');
  return fail(ctx, 'syntax', `Command "${sub}" is unknown, try "ip neigh help".`);
}

function nudOf(ctx: Ctx, word: string): NeighOp['state'] {
  if (matches(word, 'permanent')) return 'permanent';
  if (matches(word, 'reachable')) return 'reachable';
  if (word === 'noarp') return 'noarp';
  if (word === 'stale') return 'stale';
  if (['none', 'incomplete', 'delay', 'probe'].includes(word) || matches(word, 'failed')) {
    return unsupported(ctx, `neighbour state "${word}" is not modelled (permanent, noarp, reachable, stale are)`);
  }
  const n = strtoulFull(word, 0, 0xffffffff);
  if (n === undefined || n >= 0x100 || (n & (n - 1)) !== 0) return invarg(ctx, 'nud state is bad', word);
  const byBit: Record<number, NeighOp['state']> = { 0x80: 'permanent', 0x40: 'noarp', 0x02: 'reachable', 0x04: 'stale' };
  return byBit[n] ?? unsupported(ctx, `neighbour state ${word} is not modelled (permanent, noarp, reachable, stale are)`);
}

function neighModify(a: Args, ctx: Ctx, op: NeighOp['op']): NeighOp {
  let lladdr: string | undefined;
  let lladdrSeen = false;
  let state: NeighOp['state'] = 'permanent';
  let dev: string | undefined;
  let dst: Ipv4 | undefined;
  while (!a.done) {
    const w = a.take();
    if (matches(w, 'lladdr')) {
      const v = a.next();
      if (lladdrSeen) duparg(ctx, 'lladdr', v);
      lladdrSeen = true;
      if (v !== 'null') lladdr = macOrFail(ctx, v);
    } else if (w === 'nud') state = nudOf(ctx, a.next());
    else if (matches(w, 'proxy')) unsupported(ctx, 'proxy ARP entries are not modelled by netpath');
    else if (['router', 'use', 'managed', 'extern_valid'].includes(w) || matches(w, 'extern_learn') || matches(w, 'protocol')) {
      unsupported(ctx, `neighbour flag "${w}" is not modelled by netpath`);
    } else if (w === 'dev') dev = a.next();
    else {
      let v = w;
      if (v === 'to') v = a.next();
      if (matches(v, 'help')) v = a.next();
      if (dst !== undefined) duparg2(ctx, 'to', v);
      dst = addrOrFail(ctx, v, false);
    }
  }
  if (dev === undefined || dst === undefined) return fail(ctx, 'syntax', 'Device and destination are required arguments.');
  const out: { -readonly [K in keyof NeighOp]: NeighOp[K] } = {
    op,
    host: ctx.host,
    ns: ctx.ns,
    origin: ctx.origin,
    dst,
    dev,
    state,
  };
  if (lladdr !== undefined) out.lladdr = lladdr;
  return out;
}
