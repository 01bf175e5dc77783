/**
 * ipsets as data: the `ipset save` text (`create NAME TYPE [options]`, `add NAME ELEMENT
 * [options]`) parsed into sets, and the membership test the `-m set --match-set` match asks
 * (net/netfilter/ipset/ip_set_core.c ip_set_test, one dimension per type part).
 *
 * Modelled types: hash:ip, hash:net, hash:ip,port, hash:net,port, hash:ip,port,ip,
 * hash:ip,port,net, bitmap:ip, bitmap:port, list:set. Elements may be ranges (`a-b`, CIDR);
 * port elements carry their protocol (`tcp:80`, bare `80` is tcp, as ipset reads it).
 * `nomatch` elements of the net types exclude (the most specific element decides).
 * Anything else is a ConfigError with the line.
 */
import { ConfigError } from '../model/errors.js';
import type { Origin } from '../model/origin.js';
import { parseIpv4, type Ipv4 } from '../wire/ipv4.js';

export type IpsetDimKind = 'ip' | 'net' | 'port' | 'set';

export type IpsetDim =
  | { readonly kind: 'ip'; readonly min: Ipv4; readonly max: Ipv4; readonly len: number }
  | { readonly kind: 'port'; readonly proto: number; readonly min: number; readonly max: number }
  | { readonly kind: 'set'; readonly name: string };

export interface IpsetEntry {
  readonly dims: readonly IpsetDim[];
  readonly nomatch: boolean;
  readonly origin: Origin;
}

export interface Ipset {
  readonly name: string;
  readonly type: string;
  /** the kind of each dimension, in the type's order */
  readonly dims: readonly IpsetDimKind[];
  readonly entries: readonly IpsetEntry[];
  readonly origin: Origin;
}

export type Ipsets = ReadonlyMap<string, Ipset>;

const TYPES: Readonly<Record<string, readonly IpsetDimKind[]>> = {
  'hash:ip': ['ip'],
  'hash:net': ['net'],
  'hash:ip,port': ['ip', 'port'],
  'hash:net,port': ['net', 'port'],
  'hash:ip,port,ip': ['ip', 'port', 'ip'],
  'hash:ip,port,net': ['ip', 'port', 'net'],
  'bitmap:ip': ['ip'],
  'bitmap:port': ['port'],
  'list:set': ['set'],
};

const PORT_PROTOS: Readonly<Record<string, number>> = { tcp: 6, udp: 17, sctp: 132, udplite: 136 };

function ipDim(text: string, fail: (d: string) => never): IpsetDim {
  const dash = text.indexOf('-');
  if (dash >= 0) {
    const a = parseIpv4(text.slice(0, dash));
    const b = parseIpv4(text.slice(dash + 1));
    if (a === undefined || b === undefined || a > b) fail(`bad IP range "${text}"`);
    return { kind: 'ip', min: a, max: b, len: 32 - Math.ceil(Math.log2(b - a + 1)) };
  }
  const slash = text.indexOf('/');
  const a = parseIpv4(slash < 0 ? text : text.slice(0, slash));
  const len = slash < 0 ? 32 : Number(text.slice(slash + 1));
  if (a === undefined || !Number.isInteger(len) || len < 0 || len > 32) fail(`bad IP address "${text}"`);
  const mask = len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
  const min = (a & mask) >>> 0;
  return { kind: 'ip', min, max: (min | ~mask) >>> 0, len };
}

function portDim(text: string, fail: (d: string) => never): IpsetDim {
  const colon = text.indexOf(':');
  const protoText = colon < 0 ? 'tcp' : text.slice(0, colon);
  const proto = PORT_PROTOS[protoText];
  if (proto === undefined) fail(`port element "${text}": protocol ${protoText} is not modelled by netpath`);
  const ports = colon < 0 ? text : text.slice(colon + 1);
  const m = /^(\d+)(?:-(\d+))?$/.exec(ports);
  if (!m) fail(`bad port "${text}"`);
  const min = Number(m[1]);
  const max = Number(m[2] ?? m[1]);
  if (max > 65535 || min > max) fail(`bad port "${text}"`);
  return { kind: 'port', proto, min, max };
}

/** `ipset save` / `ipset restore` text. `-exist`, `flush` and `destroy` lines are refused. */
export function parseIpsetSave(text: string, file: string): Map<string, Ipset> {
  const sets = new Map<string, { name: string; type: string; dims: readonly IpsetDimKind[]; entries: IpsetEntry[]; origin: Origin }>();
  text.split('\n').forEach((raw, k) => {
    const line = raw.replace(/\r$/, '').trim();
    const origin: Origin = { file, line: k + 1, text: raw };
    function fail(detail: string, code: 'syntax' | 'unsupported' = 'syntax'): never {
      throw ConfigError.at(origin, code, `ipset: ${detail}`);
    }
    if (line === '' || line.startsWith('#') || line === 'COMMIT') return;
    const words = line.split(/\s+/);
    const [verb, name, arg] = words;
    if (verb === 'create' || verb === 'n' || verb === '-N' || verb === '-exist') {
      if (verb === '-exist') fail('-exist is not modelled', 'unsupported');
      if (name === undefined || arg === undefined) fail('create needs a name and a type');
      if (sets.has(name)) fail(`Set cannot be created: set with the same name already exists`);
      const dims = TYPES[arg];
      if (!dims) fail(`set type ${arg} is not modelled by netpath`, 'unsupported');
      const opts = words.slice(3);
      const fam = opts.indexOf('family');
      if (fam >= 0 && opts[fam + 1] !== 'inet') fail(`family ${opts[fam + 1] ?? ''}: only IPv4 (inet) sets are modelled`, 'unsupported');
      sets.set(name, { name, type: arg, dims, entries: [], origin });
      return;
    }
    if (verb === 'add' || verb === 'a' || verb === '-A') {
      if (name === undefined || arg === undefined) fail('add needs a set name and an element');
      const set = sets.get(name);
      if (!set) fail(`The set with the given name does not exist`);
      const parts = arg.split(',');
      if (parts.length !== set.dims.length) fail(`element "${arg}" does not fit set type ${set.type}`);
      const dims = parts.map((p, i): IpsetDim => {
        const kind = set.dims[i]!;
        if (kind === 'port') return portDim(p, fail);
        if (kind === 'set') {
          if (!sets.has(p)) fail(`Set to be added/deleted/tested as element does not exist.`);
          return { kind: 'set', name: p };
        }
        const d = ipDim(p, fail);
        if (kind === 'ip' && p.includes('/') && d.kind === 'ip' && d.len !== 32 && set.type.startsWith('hash:ip')) {
          // hash:ip stores each address of a CIDR (ipset expands it); a range covers the same
          return { ...d, len: 32 };
        }
        return d;
      });
      const rest = words.slice(3);
      const nomatch = rest.includes('nomatch');
      for (const w of rest) if (w !== 'nomatch' && !/^\d+$/.test(w) && w !== 'timeout' && w !== 'packets' && w !== 'bytes') fail(`element option "${w}" is not modelled`, 'unsupported');
      set.entries.push({ dims, nomatch, origin });
      return;
    }
    fail(`"${verb ?? ''}" lines are not modelled (only create and add, as ipset save writes them)`, 'unsupported');
  });
  return new Map([...sets].map(([k, v]) => [k, v]));
}

/** What the set match reads from a packet. */
export interface IpsetPacket {
  readonly src: Ipv4;
  readonly dst: Ipv4;
  readonly proto: number;
  readonly sport?: number;
  readonly dport?: number;
}

/**
 * ip_set_test: true when the packet's tuple (one field per direction in `dirs`) is in the set.
 * A match with fewer directions than the set has dimensions never matches (the kernel checks
 * opt->dim against the type's dimension). `returnNomatch` makes a nomatch element match.
 */
export function ipsetTest(sets: Ipsets, name: string, p: IpsetPacket, dirs: readonly ('src' | 'dst')[], returnNomatch = false, depth = 0): boolean {
  const set = sets.get(name);
  if (!set) return false;
  if (set.dims[0] === 'set') {
    if (depth > 8) return false;
    return set.entries.some((e) => {
      const d = e.dims[0];
      return d?.kind === 'set' && ipsetTest(sets, d.name, p, dirs, returnNomatch, depth + 1);
    });
  }
  if (dirs.length < set.dims.length) return false;
  let best: IpsetEntry | undefined;
  let bestSpec = -1;
  for (const e of set.entries) {
    let ok = true;
    let spec = 0;
    for (let i = 0; i < e.dims.length && ok; i++) {
      const d = e.dims[i]!;
      const dir = dirs[i]!;
      if (d.kind === 'ip') {
        const a = dir === 'src' ? p.src : p.dst;
        ok = a >= d.min && a <= d.max;
        spec += d.len;
      } else if (d.kind === 'port') {
        const port = dir === 'src' ? p.sport : p.dport;
        ok = port !== undefined && p.proto === d.proto && port >= d.min && port <= d.max;
      } else ok = false;
    }
    if (ok && spec > bestSpec) {
      best = e;
      bestSpec = spec;
    }
  }
  if (!best) return false;
  return best.nomatch ? returnNomatch : true;
}
