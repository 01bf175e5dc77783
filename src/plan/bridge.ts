/**
 * Bridge port options: `ip link set DEV type bridge_slave OPTS` (iproute2 ip/iplink_bridge_slave.c)
 * and the `bridge` tool (bridge/bridge.c, bridge/link.c: `bridge link set dev DEV OPTS`).
 *
 * The flags that decide where a frame may go (hairpin, learning, flood, mcast_flood, bcast_flood,
 * proxy_arp, isolated) become a LinkSetOp's `brport`; the spanning-tree and multicast knobs are
 * refused as not modelled. Values are iproute2's `on`/`off` only (parse_on_off), as the real tools
 * insist: `hairpin 1` answers `Error: argument of "hairpin" must be one of "off", "on", not "1"`.
 */
import type { BrportFlags } from '../model/link.js';
import type { LinkSetOp, Op } from './ops.js';
import { fail, matches, validIfname, type Ctx } from './args.js';

type Flags = { -readonly [K in keyof BrportFlags]?: BrportFlags[K] };

/** Options both tools spell the same way, and the flag each sets. */
const FLAG_OPTS: Readonly<Record<string, keyof BrportFlags>> = {
  hairpin: 'hairpin',
  learning: 'learning',
  flood: 'flood',
  mcast_flood: 'mcast_flood',
  bcast_flood: 'bcast_flood',
  isolated: 'isolated',
};

/** Valid options that take one value and are not modelled (spanning tree, multicast, fdb). */
const NOT_MODELLED_VALUE = new Set([
  'state', 'priority', 'cost', 'guard', 'fastleave', 'root_block', 'proxy_arp_wifi', 'mcast_router', 'mcast_fast_leave',
  'mcast_to_unicast', 'group_fwd_mask', 'neigh_suppress', 'vlan_tunnel', 'locked', 'backup_port', 'mab', 'backup_nhid',
  'learning_sync', 'hwmode', 'mcast_max_groups', 'mcast_n_groups', 'neigh_vlan_suppress',
]);
const NOT_MODELLED_WORD = new Set(['nobackup_port', 'fdb_flush']);

function onOff(ctx: Ctx, key: string, v: string | undefined): boolean {
  if (v === 'on') return true;
  if (v === 'off') return false;
  if (v === undefined) return fail(ctx, 'syntax', 'Command line is not complete. Try option "help"');
  return fail(ctx, 'syntax', `Error: argument of "${key}" must be one of "off", "on", not "${v}"`);
}

function notModelled(ctx: Ctx, tool: string, key: string): never {
  return fail(
    ctx,
    'unsupported',
    `${tool} "${key}" is not modelled by netpath (modelled port options: hairpin, learning, flood, mcast_flood, bcast_flood, proxy_arp, isolated)`,
  );
}

/** The words after `type bridge_slave` (bridge_slave_parse_opt). */
export function parseBridgeSlaveOpts(words: readonly string[], ctx: Ctx): Partial<BrportFlags> {
  const out: Flags = {};
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    const flag = FLAG_OPTS[w] ?? (w === 'proxy_arp' ? 'proxyarp' : undefined);
    if (flag !== undefined) out[flag] = onOff(ctx, w, words[++i]);
    else if (NOT_MODELLED_VALUE.has(w) || NOT_MODELLED_WORD.has(w)) notModelled(ctx, 'bridge_slave option', w);
    else if (matches(w, 'help')) fail(ctx, 'syntax', '"ip link ... type bridge_slave help" prints the usage and fails');
    else fail(ctx, 'syntax', `bridge_slave: unknown option "${w}"?`);
  }
  return out;
}

/** `bridge` global options (bridge/bridge.c main), in its order; display options change nothing. */
const BRIDGE_OPTS: readonly { name: string; arg?: boolean }[] = [
  { name: '-help' },
  { name: '-Version' },
  { name: '-stats' },
  { name: '-statistics' },
  { name: '-details' },
  { name: '-oneline' },
  { name: '-timestamp' },
  { name: '-family', arg: true },
  { name: '-4' },
  { name: '-6' },
  { name: '-netns', arg: true },
  { name: '-compressvlans' },
  { name: '-force' },
  { name: '-json' },
  { name: '-pretty' },
  { name: '-batch', arg: true },
  { name: '-color' },
];

const LOOK = 'look-only command';
function noop(ctx: Ctx, why: string): Op[] {
  return [{ op: 'noop', host: ctx.host, ns: ctx.ns, origin: ctx.origin, why }];
}

/** `bridge [OPTIONS] OBJECT COMMAND ...` (argv[0] is `bridge`). */
export function parseBridge(argv: readonly string[], ctx0: Ctx): Op[] {
  let ctx = ctx0;
  let i = 1;
  while (i < argv.length && argv[i]!.startsWith('-')) {
    const raw = argv[i]!;
    const opt = raw.startsWith('--') ? raw.slice(1) : raw;
    if (opt === '-') {
      i++;
      break;
    }
    const hit = BRIDGE_OPTS.find((o) => (o.name.length === 2 ? opt === o.name : matches(opt.split('=')[0]!, o.name)));
    if (!hit) return fail(ctx, 'syntax', `Option "${raw}" is unknown, try "bridge help".`);
    const val = hit.arg ? argv[++i] : undefined;
    if (hit.arg && val === undefined) return fail(ctx, 'syntax', 'Command line is not complete. Try option "help"');
    if (hit.name === '-netns') ctx = { ...ctx, ns: val! };
    else if (hit.name === '-batch') return fail(ctx, 'unsupported', '"bridge -batch" is not supported; put the commands in the runbook');
    else if (hit.name === '-help') return fail(ctx, 'syntax', '"bridge -help" prints the usage and fails');
    else if (hit.name === '-Version') return noop(ctx, 'prints the version');
    else if (hit.name === '-6' || (hit.name === '-family' && val === 'inet6')) return fail(ctx, 'unsupported', 'IPv6 is not modelled by netpath ("bridge -6")');
    i++;
  }
  const obj = argv[i];
  if (obj === undefined) return fail(ctx, 'syntax', '"bridge" without an object prints the usage and fails');
  const rest = argv.slice(i + 1);
  const sub = rest[0];
  const looks = sub === undefined || ['show', 'list', 'lst'].some((k) => matches(sub, k));
  if (matches(obj, 'link')) {
    // bridge/link.c do_link tests set and change before show: `bridge link s` is set
    if (sub !== undefined && (matches(sub, 'set') || matches(sub, 'change'))) return [bridgeLinkSet(rest.slice(1), ctx)];
    if (looks) return noop(ctx, LOOK);
    if (matches(sub!, 'help')) return fail(ctx, 'syntax', '"bridge link help" prints the usage and fails');
    return fail(ctx, 'syntax', `Command "${sub}" is unknown, try "bridge link help".`);
  }
  if (['fdb', 'mdb', 'vlan', 'vni'].some((o) => matches(obj, o))) {
    if (looks) return noop(ctx, LOOK);
    return fail(ctx, 'unsupported', `"bridge ${obj} ${sub}" is not modelled by netpath (bridge ports learn and flood as the kernel's defaults do)`);
  }
  if (matches(obj, 'monitor')) return fail(ctx, 'unsupported', '"bridge monitor" waits forever; remove it from the runbook');
  if (matches(obj, 'help')) return fail(ctx, 'syntax', '"bridge help" prints the usage and fails');
  return fail(ctx, 'syntax', `Object "${obj}" is unknown, try "bridge help".`);
}

/** bridge/link.c brlink_modify. */
function bridgeLinkSet(words: readonly string[], ctx: Ctx): LinkSetOp {
  let dev: string | undefined;
  const flags: Flags = {};
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    const flag = FLAG_OPTS[w];
    if (w === 'dev') {
      dev = words[++i];
      if (dev === undefined) fail(ctx, 'syntax', 'Command line is not complete. Try option "help"');
      if (!validIfname(dev)) fail(ctx, 'syntax', `Error: argument "${dev}" is wrong: "dev" not a valid ifname`);
    } else if (flag !== undefined) flags[flag] = onOff(ctx, w, words[++i]);
    else if (w === 'self')
      fail(ctx, 'unsupported', '"bridge link set ... self" programs the device driver itself (hardware offload), which netpath does not model');
    else if (w === 'master') continue; // the default: the flags go to the bridge port
    else if (NOT_MODELLED_VALUE.has(w) || NOT_MODELLED_WORD.has(w)) notModelled(ctx, 'bridge link set option', w);
    else fail(ctx, 'syntax', `bridge link set: unknown option "${w}" (iproute2 prints its usage and fails)`);
  }
  if (dev === undefined) return fail(ctx, 'syntax', 'Device is a required argument.');
  return { op: 'link-set', host: ctx.host, ns: ctx.ns, origin: ctx.origin, dev, brport: flags, brportSyntax: 'bridge' };
}

/** The `type bridge_slave` words that set `flags` (for export and replay). */
export function brportArgs(flags: Partial<BrportFlags>): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(flags)) if (v !== undefined) out.push(k === 'proxyarp' ? 'proxy_arp' : k, v ? 'on' : 'off');
  return out;
}
