/**
 * net-tools commands: `route` (lib/inet_sr.c INET_setroute, route.c) and `ifconfig` (look only).
 *
 * `route add|del [-net|-host] TARGET[/LEN] [netmask M] [gw G] [metric N] [reject] [[dev] IF]`
 * becomes a RouteOp with syntax 'net-tools'. Table, scope and proto are left unset: the kernel's
 * ioctl path (fib_convert_rtentry) derives them, and the world applies that rule.
 * Addresses are read with inet_aton, as net-tools does; host names are not resolved.
 */
import type { Op, RouteOp } from './ops.js';
import { maskOf, lenOfMask, type Ipv4 } from '../wire/ipv4.js';
import { fail, inetAton, type Ctx } from './args.js';

const USAGE = 'Usage: route [-nNvee] [-FC] [<AF>]; route {add|del} {-host|-net} Target[/prefix] [gw Gw] [metric M] [netmask N] [[dev] If]';

function addrOrFail(ctx: Ctx, word: string): Ipv4 {
  const a = inetAton(word);
  if (a === undefined) {
    if (word.includes(':')) return fail(ctx, 'unsupported', `IPv6 is not modelled by netpath ("${word}")`);
    return fail(ctx, 'unsupported', `${word}: netpath does not resolve host or network names; write the address`);
  }
  return a;
}

export function parseRoute(argv: readonly string[], ctx: Ctx): Op[] {
  let i = 1;
  // options (getopt "A:eFhnNVv46C")
  while (i < argv.length && argv[i]!.startsWith('-') && argv[i] !== '-net' && argv[i] !== '-host') {
    const o = argv[i]!;
    if (o === '-A') {
      const af = argv[i + 1];
      if (af !== 'inet') return fail(ctx, 'unsupported', `route -A ${af ?? ''}: only the inet family is modelled`);
      i += 2;
      continue;
    }
    if (o === '-6' || o === '--inet6') return fail(ctx, 'unsupported', 'IPv6 is not modelled by netpath ("route -6")');
    if (o === '-C') return fail(ctx, 'unsupported', '"route -C" (the routing cache) is not modelled');
    if (!/^-[eFhnNVv4]+$/.test(o) && o !== '--numeric' && o !== '--extend' && o !== '--verbose' && o !== '--fib' && o !== '--inet') {
      return fail(ctx, 'syntax', `route: invalid option -- '${o.replace(/^-+/, '')}'\n${USAGE}`);
    }
    i++;
  }
  const verb = argv[i];
  if (verb === undefined) return [{ op: 'noop', host: ctx.host, ns: ctx.ns, origin: ctx.origin, why: 'look-only command' }];
  let op: RouteOp['op'];
  if (verb === 'add') op = 'route-add';
  else if (verb === 'del' || verb === 'delete') op = 'route-del';
  else if (verb === 'flush') return fail(ctx, 'syntax', "Flushing `inet' routing table not supported");
  else return fail(ctx, 'syntax', `route: unknown command "${verb}"\n${USAGE}`);
  let args = argv.slice(i + 1);
  let xflag: 'net' | 'host' | undefined;
  if (args[0] === '-net') xflag = 'net';
  else if (args[0] === '-host') xflag = 'host';
  if (xflag) args = args.slice(1);
  const target = args[0];
  if (target === undefined) return fail(ctx, 'syntax', USAGE);
  args = args.slice(1);

  let mask: number | undefined; // from /LEN or netmask
  let targetAddr: Ipv4;
  let isnet: boolean;
  const slash = target.indexOf('/');
  const targetText = slash < 0 ? target : target.slice(0, slash);
  if (slash >= 0) {
    const lenText = target.slice(slash + 1);
    if (!/^\d+$/.test(lenText) || Number(lenText) > 32) return fail(ctx, 'syntax', USAGE);
    mask = maskOf(Number(lenText));
  }
  if (targetText === 'default') {
    targetAddr = 0;
    isnet = true;
  } else {
    targetAddr = addrOrFail(ctx, targetText);
    isnet = false; // INET_resolve: a dotted quad is a host unless -net says otherwise
  }
  if (xflag === 'net') isnet = true;
  if (xflag === 'host') isnet = false;

  let via: Ipv4 | undefined;
  let metric: number | undefined;
  let dev: string | undefined;
  let reject = false;
  while (args.length > 0) {
    const w = args[0]!;
    args = args.slice(1);
    if (w === 'metric') {
      const v = args[0];
      if (v === undefined || !/^\d/.test(v)) return fail(ctx, 'syntax', USAGE);
      metric = parseInt(v, 10); // atoi
      args = args.slice(1);
    } else if (w === 'netmask') {
      const v = args[0];
      if (v === undefined || mask !== undefined) return fail(ctx, 'syntax', USAGE);
      mask = addrOrFail(ctx, v);
      args = args.slice(1);
    } else if (w === 'gw' || w === 'gateway') {
      const v = args[0];
      if (v === undefined || via !== undefined) return fail(ctx, 'syntax', USAGE);
      if (v === 'default') return fail(ctx, 'syntax', `route: ${v}: cannot use a NETWORK as gateway!`);
      via = addrOrFail(ctx, v);
      args = args.slice(1);
    } else if (['mss', 'mtu', 'window', 'irtt', 'mod', 'dyn', 'reinstate'].includes(w)) {
      return fail(ctx, 'unsupported', `route option "${w}" is not modelled by netpath`);
    } else if (w === 'reject') {
      reject = true;
    } else if (w === 'dev' || w === 'device') {
      const v = args[0];
      if (v === undefined || dev !== undefined) return fail(ctx, 'syntax', USAGE);
      dev = v;
      args = args.slice(1);
    } else if (dev === undefined) {
      dev = w;
      if (args.length > 0) return fail(ctx, 'syntax', `${USAGE}\n(the bare device name "${w}" must be the last word)`);
    } else return fail(ctx, 'syntax', `${USAGE}\n("${w}" is not understood)`);
  }
  if (reject && dev === undefined) dev = 'lo';
  let len = 32;
  if (mask !== undefined) {
    if (!isnet && mask !== 0xffffffff) {
      return fail(ctx, 'syntax', `route: netmask ${(~mask >>> 0).toString(16).padStart(8, '0')} doesn't make sense with host route`);
    }
    const l = lenOfMask(mask);
    if (l === undefined) return fail(ctx, 'syntax', `route: bogus netmask ${formatMaskWord(mask)}`);
    if ((targetAddr & ~mask) >>> 0 !== 0) return fail(ctx, 'syntax', "route: netmask doesn't match route address");
    len = l;
  } else if (isnet) {
    // no mask on a network route: the kernel takes the mask 0 only for 0.0.0.0 ("default");
    // otherwise fib_convert_rtentry derives a classful mask, which netpath refuses to guess
    if (targetAddr !== 0) {
      return fail(ctx, 'unsupported', `"-net ${target}" without a netmask or /prefix gets an old classful mask; write the prefix length`);
    }
    len = 0;
  }
  const out: { -readonly [K in keyof RouteOp]: RouteOp[K] } = {
    op,
    host: ctx.host,
    ns: ctx.ns,
    origin: ctx.origin,
    type: reject ? 'unreachable' : 'unicast',
    dst: { addr: targetAddr, len },
    syntax: 'net-tools',
  };
  if (via !== undefined) out.via = via;
  if (dev !== undefined) out.dev = dev;
  if (metric !== undefined) out.metric = metric;
  return [out];
}

function formatMaskWord(mask: number): string {
  return [(mask >>> 24) & 255, (mask >>> 16) & 255, (mask >>> 8) & 255, mask & 255].join('.');
}

/** `ifconfig`, `ifconfig -a`, `ifconfig IF`: look only. Anything that configures is refused. */
export function parseIfconfig(argv: readonly string[], ctx: Ctx): Op[] {
  const rest = argv.slice(1).filter((w) => w !== '-a' && w !== '-s' && w !== '-v');
  if (rest.length <= 1) return [{ op: 'noop', host: ctx.host, ns: ctx.ns, origin: ctx.origin, why: 'look-only command' }];
  return fail(ctx, 'unsupported', `"ifconfig ${rest.join(' ')}" changes state; netpath models this with ip: "ip addr add", "ip link set"`);
}
