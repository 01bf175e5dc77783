/**
 * `iptables ARGS` (argv after the word `iptables`) to an IptablesCommand, the way iptables
 * v1.8.9 parses it: getopt_long with the base options plus the options of every loaded
 * extension (newest first, unique prefixes accepted: `--to` is `--to-destination`), `!` before
 * an option inverts it, an unknown option with `-p tcp|udp|icmp` loads that match implicitly
 * (so `-p tcp --dport 80` becomes `-p tcp -m tcp --dport 80`).
 *
 * Only what iptables itself checks in userspace is checked here (option syntax, required
 * options, `-o` in INPUT, DROP in nat ...). What the kernel refuses when the rule is added
 * (DNAT outside nat PREROUTING/OUTPUT, a missing chain ...) is checked in tables.ts.
 * Every error is a ConfigError naming the offending word; nothing is silently ignored.
 */
import { ConfigError, type ConfigErrorCode } from '../model/errors.js';
import type { Origin } from '../model/origin.js';
import { lenOfMask, networkOf, parseIpv4, type Ipv4, type Prefix } from '../wire/ipv4.js';
import { ADDR_TYPES, CT_STATES, CT_STATUSES, TCP_FLAGS, formatRule } from './format.js';
import { ICMP_TYPES, LOG_LEVELS, TARGET_NAMES, parsePort, protoByName } from './names.js';
import type {
  AddrType,
  CtAddr,
  CtState,
  CtStatus,
  IptablesCommand,
  LogFlag,
  NatRange,
  NfMatch,
  NfRule,
  NfTableName,
  NfTarget,
  PortRange,
  PortSpec,
  RecentMode,
  RejectWith,
  TcpFlag,
} from './types.js';

class ParseFail {
  constructor(
    readonly code: ConfigErrorCode,
    readonly detail: string,
  ) {}
}
function fail(detail: string, code: ConfigErrorCode = 'syntax'): never {
  throw new ParseFail(code, detail);
}
function unsupported(detail: string): never {
  throw new ParseFail('unsupported', detail);
}

// ---------------------------------------------------------------------------------------------
// Extensions: each loaded match or target contributes long options and builds one value.

interface ExtOpt {
  readonly name: string;
  /** aliases share an id (`--dport` and `--destination-port`) */
  readonly id: string;
  readonly arg: boolean;
  readonly invert?: boolean;
}

interface Ctx {
  proto?: number;
  protoInvert: boolean;
  /** the -p text as given (lower-cased), for implicit loading */
  protoText?: string;
  readonly table: NfTableName;
  chain?: string;
}

interface Ext<T> {
  readonly name: string;
  readonly opts: readonly ExtOpt[];
  /** `next` takes the following argv word (for --tcp-flags' second argument) */
  option(id: string, arg: string, invert: boolean, ctx: Ctx, next: () => string | undefined): void;
  finish(ctx: Ctx): T;
}

const o = (name: string, id = name, arg = true, invert = true): ExtOpt => ({ name, id, arg, invert });

/** an extension's option table, built once per key (extensions are instantiated per rule) */
const OPT_TABLES = new Map<string, readonly ExtOpt[]>();
function optTable(key: string, make: () => ExtOpt[]): readonly ExtOpt[] {
  let t = OPT_TABLES.get(key);
  if (t === undefined) OPT_TABLES.set(key, (t = make()));
  return t;
}
const flag = (name: string, id = name, invert = false): ExtOpt => ({ name, id, arg: false, invert });

function once(ext: string, seen: Set<string>, id: string, msg?: string): void {
  if (seen.has(id)) fail(msg ?? `${ext}: option "--${id}" can only be used once.`);
  seen.add(id);
}

/** strtoul(…, 0): decimal, 0x hex or 0 octal, up to 2^32-1. */
function parseU32(text: string, what: () => string): number {
  let n: number;
  if (/^0[xX][0-9a-fA-F]+$/.test(text)) n = parseInt(text.slice(2), 16);
  else if (/^0[0-7]+$/.test(text)) n = parseInt(text, 8);
  else if (/^\d+$/.test(text)) n = Number(text);
  else fail(what());
  if (n > 0xffffffff) fail(what());
  return n;
}

function parseValueMask(ext: string, opt: string, text: string): { value: number; mask: number } {
  const bad = (): string => `${ext}: bad integer value for option "--${opt}", or out of range.`;
  const slash = text.indexOf('/');
  if (slash < 0) return { value: parseU32(text, bad), mask: 0xffffffff };
  return { value: parseU32(text.slice(0, slash), bad), mask: parseU32(text.slice(slash + 1), bad) };
}

function portOf(text: string): number {
  const p = parsePort(text);
  if (p === undefined) fail(`invalid port/service \`${text}' specified`);
  return p;
}

/** tcp/udp `--dport a`, `a:b`, `:b`, `a:` */
function parsePortSpec(text: string, invert: boolean): PortSpec {
  const colon = text.indexOf(':');
  if (colon < 0) {
    const p = portOf(text);
    return { invert, min: p, max: p };
  }
  const a = text.slice(0, colon);
  const b = text.slice(colon + 1);
  const min = a === '' ? 0 : portOf(a);
  const max = b === '' ? 65535 : portOf(b);
  if (min > max) fail('invalid portrange (min > max)');
  return { invert, min, max };
}

function tcpFlags(text: string): TcpFlag[] {
  const out = new Set<TcpFlag>();
  for (const f of text.split(',')) {
    const u = f.toUpperCase();
    if (u === 'ALL') TCP_FLAGS.forEach((x) => out.add(x));
    else if (u === 'NONE') continue;
    else if ((TCP_FLAGS as readonly string[]).includes(u)) out.add(u as TcpFlag);
    else fail(`Unknown TCP flag \`${f}'`);
  }
  return TCP_FLAGS.filter((x) => out.has(x));
}

const PORT_MATCH_PROTO = { tcp: 6, udp: 17, sctp: 132 } as const;

function portsExt(name: 'tcp' | 'udp' | 'sctp'): Ext<NfMatch> {
  const seen = new Set<string>();
  let sport: PortSpec | undefined;
  let dport: PortSpec | undefined;
  let flags: { invert: boolean; mask: TcpFlag[]; comp: TcpFlag[] } | undefined;
  const upper = name.toUpperCase();
  const opts = optTable(name, () => {
    const opts = [o('source-port', 'sport'), o('sport'), o('destination-port', 'dport'), o('dport')];
    if (name === 'tcp') opts.push(flag('syn', 'syn', true), o('tcp-flags'), o('tcp-option'));
    if (name === 'sctp') opts.push(o('chunk-types'));
    return opts;
  });
  const proto = PORT_MATCH_PROTO[name];
  let touched = false;
  return {
    name,
    opts,
    option(id, arg, invert, ctx, next) {
      touched = true;
      if (ctx.proto !== proto || ctx.protoInvert) {
        if (name === 'sctp') fail("RULE_APPEND failed (Invalid argument): -m sctp without -p sctp (the kernel refuses it)", 'kernel');
        fail(`${upper} match requires '-p ${name}'`);
      }
      switch (id) {
        case 'sport':
          once(name, seen, id, "Only one `--source-port' allowed");
          sport = parsePortSpec(arg, invert);
          return;
        case 'dport':
          once(name, seen, id, "Only one `--destination-port' allowed");
          dport = parsePortSpec(arg, invert);
          return;
        case 'syn':
        case 'tcp-flags': {
          once(name, seen, 'flags', "Only one of `--syn' or `--tcp-flags'  allowed");
          if (id === 'syn') {
            flags = { invert, mask: ['FIN', 'SYN', 'RST', 'ACK'], comp: ['SYN'] };
            return;
          }
          const comp = next();
          if (comp === undefined || comp.startsWith('-') || comp === '!') fail('--tcp-flags requires two args.');
          flags = { invert, mask: tcpFlags(arg), comp: tcpFlags(comp) };
          return;
        }
        default:
          unsupported(`${name} option "--${id}" is not modelled by netpath`);
      }
    },
    finish(ctx) {
      if (!touched && (ctx.proto !== proto || ctx.protoInvert)) {
        fail(`RULE_APPEND failed (Invalid argument): -m ${name} without -p ${name} (the kernel refuses it)`, 'kernel');
      }
      return name === 'tcp'
        ? { kind: 'tcp', ...(sport && { sport }), ...(dport && { dport }), ...(flags && { flags }) }
        : { kind: name, ...(sport && { sport }), ...(dport && { dport }) };
    },
  };
}

function icmpExt(): Ext<NfMatch> {
  let v: { invert: boolean; type: number; codeMin: number; codeMax: number } | undefined;
  return {
    name: 'icmp',
    opts: optTable('icmp', () => [o('icmp-type')]),
    option(_id, arg, invert) {
      if (v) fail('icmp: option "--icmp-type" can only be used once.');
      if (/^\d+\/\d+:\d+$/.test(arg)) unsupported(`ICMP code range \`${arg}' (iptables keeps only the first code)`);
      const numeric = /^(\d+)(?:\/(\d+))?$/.exec(arg);
      if (numeric) {
        const type = Number(numeric[1]);
        if (type > 255) fail(`Unknown ICMP type \`${arg}'`);
        if (numeric[2] === undefined) v = { invert, type, codeMin: 0, codeMax: 255 };
        else {
          const code = Number(numeric[2]);
          if (code > 255) fail(`Unknown ICMP code \`${arg}'`);
          v = { invert, type, codeMin: code, codeMax: code };
        }
        return;
      }
      const hits = ICMP_TYPES.filter(([n]) => n.toLowerCase().startsWith(arg.toLowerCase()));
      const exact = hits.find(([n]) => n.toLowerCase() === arg.toLowerCase());
      const hit = exact ?? (hits.length === 1 ? hits[0] : undefined);
      if (arg === '' || hit === undefined) {
        if (hits.length > 1) fail(`Ambiguous ICMP type \`${arg}': \`${hits[0]![0]}' or \`${hits[1]![0]}'?`);
        fail(`Unknown ICMP type \`${arg}'`);
      }
      v = { invert, type: hit[1], codeMin: hit[2], codeMax: hit[3] };
    },
    finish(ctx) {
      if (!v) fail('icmp: option "--icmp-type" must be specified');
      if (ctx.proto !== 1 || ctx.protoInvert) fail('RULE_APPEND failed (Invalid argument): -m icmp without -p icmp (the kernel refuses it)', 'kernel');
      return { kind: 'icmp', ...v };
    },
  };
}

const PORT_PROTOS = new Set([6, 17, 33, 132, 136]);

function multiportExt(): Ext<NfMatch> {
  let v: { invert: boolean; dir: 'source' | 'destination' | 'either'; ports: PortRange[] } | undefined;
  const canon = { source: 'source-ports', destination: 'destination-ports', either: 'ports' } as const;
  return {
    name: 'multiport',
    opts: optTable('multiport', () => [o('source-ports', 'source'), o('sports', 'source'), o('destination-ports', 'destination'), o('dports', 'destination'), o('ports', 'either')]),
    option(id, arg, invert) {
      const dir = id as 'source' | 'destination' | 'either';
      if (v) {
        if (v.dir === dir) fail(`multiport: option "--${canon[dir]}" can only be used once.`);
        fail(`multiport: option "--${canon[v.dir]}" cannot be used together with "--${canon[dir]}".`);
      }
      const ports: PortRange[] = [];
      let slots = 0;
      for (const part of arg.split(',')) {
        const colon = part.indexOf(':');
        if (colon < 0) {
          const p = portOf(part);
          ports.push({ min: p, max: p });
          slots += 1;
        } else {
          const min = portOf(part.slice(0, colon));
          const max = portOf(part.slice(colon + 1));
          if (min > max) fail('invalid portrange specified');
          ports.push({ min, max });
          slots += 2;
        }
      }
      if (slots > 15) fail('too many ports specified');
      v = { invert, dir, ports };
    },
    finish(ctx) {
      if (!v) fail('multiport: option "--ports" must be specified');
      if (ctx.proto === undefined || ctx.proto === 0 || ctx.protoInvert) {
        fail("multiport needs `-p tcp', `-p udp', `-p udplite', `-p sctp' or `-p dccp'");
      }
      if (!PORT_PROTOS.has(ctx.proto)) fail('multiport only works with TCP, UDP, UDPLITE, SCTP and DCCP');
      return { kind: 'multiport', ...v };
    },
  };
}

function nameList<T extends string>(all: readonly T[], text: string, bad: (w: string) => string): T[] {
  const out = new Set<T>();
  for (const w of text.split(',')) {
    const hit = all.find((x) => x.toLowerCase() === w.toLowerCase());
    if (hit === undefined) fail(bad(w));
    out.add(hit);
  }
  return all.filter((x) => out.has(x));
}

/** conntrack's --ctorigsrc: host bits are kept, as iptables-save shows them. */
function parseCtAddr(text: string, invert: boolean): CtAddr {
  const slash = text.indexOf('/');
  const addr = parseIpv4(slash < 0 ? text : text.slice(0, slash));
  if (addr === undefined) hostNotFound(slash < 0 ? text : text.slice(0, slash));
  if (slash < 0) return { invert, addr, len: 32 };
  const len = maskLen(text.slice(slash + 1));
  return { invert, addr, len };
}

function conntrackExt(): Ext<NfMatch> {
  const seen = new Set<string>();
  let ctstate: { invert: boolean; states: CtState[] } | undefined;
  let ctstatus: { invert: boolean; statuses: CtStatus[] } | undefined;
  let ctorigsrc: CtAddr | undefined;
  let ctorigdst: CtAddr | undefined;
  const other = ['ctproto', 'ctreplsrc', 'ctrepldst', 'ctorigsrcport', 'ctorigdstport', 'ctreplsrcport', 'ctrepldstport', 'ctexpire', 'ctdir'];
  return {
    name: 'conntrack',
    opts: optTable('conntrack', () => [o('ctstate'), o('ctorigsrc'), o('ctorigdst'), o('ctstatus'), ...other.map((n) => o(n))]),
    option(id, arg, invert) {
      once('conntrack', seen, id);
      switch (id) {
        case 'ctstate':
          ctstate = { invert, states: nameList(CT_STATES, arg, (w) => `Bad ctstate "${w}"`) };
          return;
        case 'ctstatus':
          ctstatus = {
            invert,
            statuses: arg.toUpperCase() === 'NONE' ? [] : nameList(CT_STATUSES, arg, (w) => `Bad ctstatus "${w}"`),
          };
          return;
        case 'ctorigsrc':
          ctorigsrc = parseCtAddr(arg, invert);
          return;
        case 'ctorigdst':
          ctorigdst = parseCtAddr(arg, invert);
          return;
        default:
          unsupported(`conntrack option "--${id}" is not modelled by netpath`);
      }
    },
    finish() {
      if (seen.size === 0) fail('conntrack: At least one option is required');
      return {
        kind: 'conntrack',
        ...(ctstate && { ctstate }),
        ...(ctorigsrc && { ctorigsrc }),
        ...(ctorigdst && { ctorigdst }),
        ...(ctstatus && { ctstatus }),
      };
    },
  };
}

function stateExt(): Ext<NfMatch> {
  let v: { invert: boolean; states: CtState[] } | undefined;
  return {
    name: 'state',
    opts: optTable('state', () => [o('state')]),
    option(_id, arg, invert) {
      if (v) fail('state: option "--state" can only be used once.');
      v = { invert, states: nameList(CT_STATES.slice(0, 5), arg, (w) => `Bad state "${w}"`) };
    },
    finish() {
      if (!v) fail('state: option "--state" must be specified');
      return { kind: 'state', ...v };
    },
  };
}

function markExt(name: 'mark' | 'connmark'): Ext<NfMatch> {
  let v: { invert: boolean; value: number; mask: number } | undefined;
  return {
    name,
    opts: optTable('mark/connmark', () => [o('mark')]),
    option(_id, arg, invert) {
      if (v) fail(`${name}: option "--mark" can only be used once.`);
      v = { invert, ...parseValueMask(name, 'mark', arg) };
    },
    finish() {
      if (!v) fail(`${name}: option "--mark" must be specified`);
      return { kind: name, ...v };
    },
  };
}

function addrtypeExt(): Ext<NfMatch> {
  const seen = new Set<string>();
  let srcType: { invert: boolean; types: AddrType[] } | undefined;
  let dstType: { invert: boolean; types: AddrType[] } | undefined;
  let limitIface: 'in' | 'out' | undefined;
  return {
    name: 'addrtype',
    opts: optTable('addrtype', () => [o('src-type'), o('dst-type'), flag('limit-iface-in'), flag('limit-iface-out')]),
    option(id, arg, invert) {
      once('addrtype', seen, id);
      const types = (): AddrType[] => nameList(ADDR_TYPES, arg, (w) => `addrtype: bad type "${w}"`);
      if (id === 'src-type') srcType = { invert, types: types() };
      else if (id === 'dst-type') dstType = { invert, types: types() };
      else {
        if (limitIface !== undefined) fail('addrtype: option "--limit-iface-in" cannot be used together with "--limit-iface-out".');
        limitIface = id === 'limit-iface-in' ? 'in' : 'out';
      }
    },
    finish() {
      if (!srcType && !dstType) fail('addrtype: you must specify --src-type or --dst-type');
      return { kind: 'addrtype', ...(srcType && { srcType }), ...(dstType && { dstType }), ...(limitIface && { limitIface }) };
    },
  };
}

function iprangeExt(): Ext<NfMatch> {
  const seen = new Set<string>();
  let srcRange: { invert: boolean; from: Ipv4; to: Ipv4 } | undefined;
  let dstRange: { invert: boolean; from: Ipv4; to: Ipv4 } | undefined;
  return {
    name: 'iprange',
    opts: optTable('iprange', () => [o('src-range'), o('dst-range')]),
    option(id, arg, invert) {
      once('iprange', seen, id);
      const dash = arg.indexOf('-');
      const a = dash < 0 ? arg : arg.slice(0, dash);
      const b = dash < 0 ? arg : arg.slice(dash + 1);
      const from = parseIpv4(a);
      const to = parseIpv4(b);
      if (from === undefined) fail(`iprange: Bad IP address "${a}"`);
      if (to === undefined) fail(`iprange: Bad IP address "${b}"`);
      if (id === 'src-range') srcRange = { invert, from, to };
      else dstRange = { invert, from, to };
    },
    finish() {
      if (!srcRange && !dstRange) fail("iprange match: You must specify `--src-range' or `--dst-range'");
      return { kind: 'iprange', ...(srcRange && { srcRange }), ...(dstRange && { dstRange }) };
    },
  };
}

/** Truncates to `max` bytes of UTF-8, as the kernel's fixed-size buffers do. */
function truncateBytes(s: string, max: number): string {
  if (s.length * 3 <= max) return s; // no UTF-8 text this short can exceed max bytes
  const b = Buffer.from(s, 'utf8');
  return b.length <= max ? s : b.subarray(0, max).toString('utf8');
}

function commentExt(): Ext<NfMatch> {
  let v: string | undefined;
  return {
    name: 'comment',
    opts: optTable('comment', () => [o('comment', 'comment', true, false)]),
    option(_id, arg) {
      if (v !== undefined) fail('comment: option "--comment" can only be used once.');
      v = truncateBytes(arg, 255); // iptables 1.8.9 (nf_tables) silently keeps the first 255 bytes
    },
    finish() {
      if (v === undefined) fail('comment: option "--comment" must be specified');
      return { kind: 'comment', comment: v };
    },
  };
}

function statisticExt(): Ext<NfMatch> {
  const seen = new Set<string>();
  let mode: 'random' | 'nth' | undefined;
  let invert = false;
  let probability: number | undefined;
  let every: number | undefined;
  let packet: number | undefined;
  return {
    name: 'statistic',
    opts: optTable('statistic', () => [o('mode', 'mode', true, false), o('probability'), o('every'), o('packet', 'packet', true, false)]),
    option(id, arg, inv) {
      once('statistic', seen, id);
      switch (id) {
        case 'mode':
          if (arg !== 'random' && arg !== 'nth') fail(`Bad mode "${arg}"`);
          mode = arg;
          return;
        case 'probability': {
          if (seen.has('every')) fail('statistic: option "--probability" cannot be used together with "--every".');
          const p = Number(arg);
          if (arg.trim() === '' || !Number.isFinite(p) || p < 0 || p > 1) {
            fail('statistic: bad value for option "--probability", or out of range (0-1).');
          }
          probability = Math.round(0x80000000 * p); // lround(); p >= 0 so ties round up like C
          invert = inv;
          return;
        }
        case 'every':
          if (seen.has('probability')) fail('statistic: option "--probability" cannot be used together with "--every".');
          every = parseU32(arg, () => 'statistic: bad value for option "--every", or out of range.');
          invert = inv;
          return;
        default:
          packet = parseU32(arg, () => 'statistic: bad value for option "--packet", or out of range.');
      }
    },
    finish() {
      if (mode === undefined) fail('statistic: option "--mode" must be specified');
      if (every !== undefined && packet === undefined) fail('statistic: option "--every" also requires "--packet".');
      if (mode === 'random') {
        if (probability === undefined) fail('--probability must be specified when using random mode');
        return { kind: 'statistic', mode, invert, probability };
      }
      if (every === undefined || packet === undefined) fail('--every must be specified when using nth mode');
      if (every === 0) fail('--every cannot be 0');
      if (packet > every - 1) fail('the --packet p must be 0 <= p <= n-1');
      return { kind: 'statistic', mode, invert, every, packet };
    },
  };
}

function parseRate(text: string): number {
  const m = /^(\d+)(?:\/(.*))?$/.exec(text);
  if (!m) fail(`bad rate "${text}"'`);
  const r = Number(m[1]);
  let mult = 1;
  if (m[2] !== undefined) {
    const unit = m[2].toLowerCase();
    const units: [string, number][] = [['second', 1], ['minute', 60], ['hour', 3600], ['day', 86400]];
    const hit = unit === '' ? undefined : units.find(([n]) => n.startsWith(unit));
    if (!hit) fail(`bad rate "${text}"'`);
    mult = hit[1];
  }
  if (r === 0) fail(`bad rate "${text}"'`);
  const avg = Math.floor((10000 * mult) / r);
  if (avg === 0) fail(`Rate too fast "${text}"`);
  return avg;
}

function limitExt(): Ext<NfMatch> {
  const seen = new Set<string>();
  let avg = 10000 * 3600 / 3; // 3/hour
  let burst = 5;
  return {
    name: 'limit',
    opts: optTable('limit', () => [o('limit', 'limit', true, false), o('limit-burst', 'limit-burst', true, false)]),
    option(id, arg) {
      once('limit', seen, id);
      if (id === 'limit') avg = parseRate(arg);
      else {
        if (!/^\d+$/.test(arg) || Number(arg) > 10000) fail('limit: bad value for option "--limit-burst", or out of range (0-10000).');
        burst = Number(arg) === 0 ? 5 : Number(arg); // iptables-save shows --limit-burst 0 as the default 5
      }
    },
    finish() {
      return { kind: 'limit', avg, burst };
    },
  };
}

function ifName(text: string): string {
  if (text.length > 15) fail(`interface name \`${text}' must be shorter than IFNAMSIZ (15)`);
  return text;
}

function physdevExt(): Ext<NfMatch> {
  const seen = new Set<string>();
  const v: {
    physdevIn?: { invert: boolean; name: string };
    physdevOut?: { invert: boolean; name: string };
    isIn?: { invert: boolean };
    isOut?: { invert: boolean };
    isBridged?: { invert: boolean };
  } = {};
  return {
    name: 'physdev',
    opts: optTable('physdev', () => [o('physdev-in'), o('physdev-out'), flag('physdev-is-in', 'physdev-is-in', true), flag('physdev-is-out', 'physdev-is-out', true), flag('physdev-is-bridged', 'physdev-is-bridged', true)]),
    option(id, arg, invert) {
      once('physdev', seen, id);
      if (id === 'physdev-in') v.physdevIn = { invert, name: ifName(arg) };
      else if (id === 'physdev-out') v.physdevOut = { invert, name: ifName(arg) };
      else if (id === 'physdev-is-in') v.isIn = { invert };
      else if (id === 'physdev-is-out') v.isOut = { invert };
      else v.isBridged = { invert };
    },
    finish() {
      if (seen.size === 0) fail('PHYSDEV: no physdev option specified');
      return { kind: 'physdev', ...v };
    },
  };
}


/**
 * libxt_recent: exactly one of --set/--rcheck/--update/--remove; --seconds and --hitcount only
 * with --rcheck/--update (the kernel refuses them otherwise); --reap needs --seconds. The last of
 * --rsource/--rdest wins (verified).
 */
function recentExt(): Ext<NfMatch> {
  const seen = new Set<string>();
  let mode: RecentMode | undefined;
  let invert = false;
  let seconds = 0;
  let hitcount = 0;
  let name = 'DEFAULT';
  let mask: Ipv4 = 0xffffffff;
  let side: 'source' | 'dest' = 'source';
  const modes: RecentMode[] = ['set', 'rcheck', 'update', 'remove'];
  return {
    name: 'recent',
    opts: [
      ...modes.map((m) => flag(m, m, true)),
      o('seconds', 'seconds', true, false),
      flag('reap'),
      o('hitcount', 'hitcount', true, false),
      flag('rttl'),
      o('name', 'name', true, false),
      o('mask', 'mask', true, false),
      flag('rsource'),
      flag('rdest'),
    ],
    option(id, arg, inv) {
      if ((modes as string[]).includes(id)) {
        if (mode !== undefined) fail(`recent: option "--${mode}" cannot be used together with "--${id}".`);
        mode = id as RecentMode;
        invert = inv;
        return;
      }
      if (id !== 'rsource' && id !== 'rdest') once('recent', seen, id);
      const num = (): number => {
        if (!/^\d+$/.test(arg) || Number(arg) > 0xffffffff) fail(`recent: bad value for option "--${id}", or out of range.`);
        return Number(arg);
      };
      switch (id) {
        case 'seconds':
          seconds = num();
          return;
        case 'hitcount':
          hitcount = num();
          if (hitcount > 255) fail(`RULE_APPEND failed (Invalid argument): recent: hitcount (${hitcount}) is larger than packets to be remembered (255)`, 'kernel');
          return;
        case 'name':
          if (arg === '' || arg.length > 200) fail(`recent: bad value for option "--name".`);
          name = arg;
          return;
        case 'mask': {
          const m = parseIpv4(arg);
          if (m === undefined) fail(`recent: bad value for option "--mask".`);
          mask = m;
          return;
        }
        case 'rsource':
        case 'rdest':
          side = id === 'rsource' ? 'source' : 'dest';
          return;
        default:
          return; // reap, rttl: flags read in finish()
      }
    },
    finish() {
      if (mode === undefined) fail("recent: you must specify one of `--set', `--rcheck' `--update' or `--remove'");
      if (seen.has('reap') && !seen.has('seconds')) fail('recent: option "--reap" also requires "--seconds".');
      if ((seconds > 0 || hitcount > 0 || seen.has('rttl') || seen.has('reap')) && (mode === 'set' || mode === 'remove')) {
        fail(`RULE_APPEND failed (Invalid argument): recent: --seconds/--hitcount/--rttl/--reap need --rcheck or --update`, 'kernel');
      }
      return { kind: 'recent', invert, mode, seconds, reap: seen.has('reap'), hitcount, rttl: seen.has('rttl'), name, mask, side };
    },
  };
}

/**
 * libxt_set (revision 4): `[!] --match-set NAME DIR[,DIR...]`, `--return-nomatch`. The counter
 * options (--packets-gt, ! --update-counters ...) are not modelled. Whether NAME exists is the
 * kernel's question: it is checked when a walk looks the set up (ipset.ts), not here.
 */
function setExt(): Ext<NfMatch> {
  let v: { invert: boolean; name: string; dirs: ('src' | 'dst')[] } | undefined;
  let returnNomatch = false;
  const other = ['update-counters', 'update-subcounters', 'packets-eq', 'packets-lt', 'packets-gt', 'bytes-eq', 'bytes-lt', 'bytes-gt', 'set'];
  return {
    name: 'set',
    opts: optTable('set', () => [o('match-set'), flag('return-nomatch'), ...other.map((n) => (n.startsWith('update') ? flag(n, n, true) : o(n)))]),
    option(id, arg, invert, _ctx, next) {
      if (id === 'return-nomatch') {
        returnNomatch = true;
        return;
      }
      if (id !== 'match-set') unsupported(`set option "--${id}" is not modelled by netpath`);
      if (v) fail('set: --match-set can be specified only once');
      const dirText = next();
      if (dirText === undefined || dirText.startsWith('-') || dirText === '!') fail('--match-set requires two args.');
      if (arg.length > 31) fail(`setname \`${arg}' too long, max 31 characters.`);
      const dirs = dirText.split(',').map((d) => {
        if (d !== 'src' && d !== 'dst') fail('You must specify (the comma separated list of) \'src\' or \'dst\'.');
        return d;
      });
      if (dirs.length > 6) fail("Can't be more src/dst options than 6.");
      v = { invert, name: arg, dirs };
    },
    finish() {
      if (!v) fail('You must specify `--match-set\' with proper arguments');
      return { kind: 'set', ...v, returnNomatch };
    },
  };
}

const MATCHES: Readonly<Record<string, () => Ext<NfMatch>>> = {
  tcp: () => portsExt('tcp'),
  udp: () => portsExt('udp'),
  icmp: icmpExt,
  multiport: multiportExt,
  conntrack: conntrackExt,
  state: stateExt,
  mark: () => markExt('mark'),
  connmark: () => markExt('connmark'),
  addrtype: addrtypeExt,
  iprange: iprangeExt,
  comment: commentExt,
  statistic: statisticExt,
  limit: limitExt,
  physdev: physdevExt,
  sctp: () => portsExt('sctp'),
  recent: recentExt,
  set: setExt,
};

/** Match extensions iptables has on this machine that netpath does not model. */
const UNMODELLED_MATCHES = new Set(
  'ah bpf cgroup cluster connbytes connlabel connlimit cpu dccp devgroup dscp ecn esp hashlimit helper ipcomp ipvs length mac nfacct osf owner pkttype policy quota rateest realm rpfilter socket string tcpmss time tos ttl u32 udplite'.split(' '),
);

// ---------------------------------------------------------------------------------------------
// Targets

const REJECT_TABLE: readonly [RejectWith, string][] = [
  ['icmp-net-unreachable', 'net-unreach'],
  ['icmp-host-unreachable', 'host-unreach'],
  ['icmp-proto-unreachable', 'proto-unreach'],
  ['icmp-port-unreachable', 'port-unreach'],
  ['icmp-net-prohibited', 'net-prohib'],
  ['icmp-host-prohibited', 'host-prohib'],
  ['tcp-reset', 'tcp-rst'],
  ['icmp-admin-prohibited', 'admin-prohib'],
];

function rejectExt(): Ext<NfTarget> {
  let w: RejectWith | undefined;
  return {
    name: 'REJECT',
    opts: optTable('REJECT', () => [o('reject-with', 'reject-with', true, false)]),
    option(_id, arg) {
      if (w) fail('REJECT: option "--reject-with" can only be used once.');
      const a = arg.toLowerCase();
      const hit = REJECT_TABLE.find(([n, alias]) => a !== '' && (n.startsWith(a) || alias.startsWith(a)));
      if (!hit) fail(`unknown reject type "${arg}"`);
      w = hit[0];
    },
    finish() {
      return { kind: 'REJECT', with: w ?? 'icmp-port-unreachable' };
    },
  };
}

function logExt(): Ext<NfTarget> {
  const seen = new Set<string>();
  let prefix: string | undefined;
  let level = 4;
  const flags: LogFlag[] = [];
  const flagNames: LogFlag[] = ['tcp-sequence', 'tcp-options', 'ip-options', 'uid', 'macdecode'];
  return {
    name: 'LOG',
    opts: optTable('LOG', () => [o('log-level', 'log-level', true, false), o('log-prefix', 'log-prefix', true, false), ...flagNames.map((f) => flag(`log-${f}`))]),
    option(id, arg) {
      once('LOG', seen, id);
      if (id === 'log-level') {
        const n = /^[0-7]$/.test(arg) ? Number(arg) : LOG_LEVELS[arg.toLowerCase()];
        if (n === undefined) fail(`log level "${arg}" unknown`);
        level = n;
      } else if (id === 'log-prefix') {
        if (arg === '') fail('Argument must have a minimum length of 1 characters');
        prefix = truncateBytes(arg, 29); // iptables 1.8.9 (nf_tables) silently keeps 29 bytes
      } else flags.push(id.slice(4) as LogFlag);
    },
    finish() {
      return { kind: 'LOG', ...(prefix !== undefined && { prefix }), level, flags: flagNames.filter((f) => flags.includes(f)) };
    },
  };
}

function natPorts(text: string, sep: '-'): PortRange {
  const parts = text.split(sep);
  if (parts.length > 2 || parts.some((p) => !/^\d+$/.test(p) || Number(p) > 65535)) fail(`Port \`${text}' not valid`);
  const min = Number(parts[0]);
  const max = Number(parts[1] ?? parts[0]);
  if (min > max) fail(`Port range \`${text}' is invalid`);
  return { min, max };
}

function needPortProto(ctx: Ctx): void {
  if (ctx.proto === undefined || !PORT_PROTOS.has(ctx.proto) || ctx.proto === 136 || ctx.protoInvert) {
    fail('Need TCP, UDP, SCTP or DCCP with port specification');
  }
}

/** `A[-B][:p[-q]]` */
function parseNatRange(text: string, ctx: Ctx): NatRange {
  const colon = text.indexOf(':');
  const ipPart = colon < 0 ? text : text.slice(0, colon);
  let addr: NatRange['addr'];
  if (ipPart !== '') {
    const dash = ipPart.indexOf('-');
    const min = parseIpv4(dash < 0 ? ipPart : ipPart.slice(0, dash));
    const max = dash < 0 ? min : parseIpv4(ipPart.slice(dash + 1));
    if (min === undefined || max === undefined) fail(`Bad IP address "${text}"`);
    addr = { min, max };
  }
  let ports: PortRange | undefined;
  if (colon >= 0) {
    const p = text.slice(colon + 1);
    if (p.includes(':')) fail(`Bad IP address "${text}"`);
    needPortProto(ctx);
    ports = natPorts(p, '-');
  }
  if (!addr && !ports) fail(`Bad IP address "${text}"`);
  return { ...(addr && { addr }), ...(ports && { ports }) };
}

function natExt(kind: 'SNAT' | 'DNAT'): Ext<NfTarget> {
  const seen = new Set<string>();
  const to = kind === 'SNAT' ? 'to-source' : 'to-destination';
  let range: NatRange | undefined;
  const opts = optTable(kind, () => {
    const opts = [o(to, to, true, false), flag('random'), flag('persistent')];
    if (kind === 'SNAT') opts.push(flag('random-fully'));
    return opts;
  });
  return {
    name: kind,
    opts,
    option(id, arg, _inv, ctx) {
      once(kind, seen, id);
      if (id === to) range = parseNatRange(arg, ctx);
    },
    finish() {
      if (!range) fail(`${kind}: option "--${to}" must be specified`);
      const random = seen.has('random');
      const persistent = seen.has('persistent');
      return kind === 'SNAT'
        ? { kind, range, random, randomFully: seen.has('random-fully'), persistent }
        : { kind, range, random, persistent };
    },
  };
}

function portsTargetExt(kind: 'MASQUERADE' | 'REDIRECT'): Ext<NfTarget> {
  const seen = new Set<string>();
  let ports: PortRange | undefined;
  const opts = optTable(kind, () => {
    const opts = [o('to-ports', 'to-ports', true, false), flag('random')];
    if (kind === 'MASQUERADE') opts.push(flag('random-fully'));
    return opts;
  });
  return {
    name: kind,
    opts,
    option(id, arg, _inv, ctx) {
      once(kind, seen, id);
      if (id === 'to-ports') {
        if (arg.includes(':')) fail('Invalid port:port syntax - use dash');
        needPortProto(ctx);
        ports = natPorts(arg, '-');
      }
    },
    finish() {
      const random = seen.has('random');
      return kind === 'MASQUERADE'
        ? { kind, ...(ports && { ports }), random, randomFully: seen.has('random-fully') }
        : { kind, ...(ports && { ports }), random };
    },
  };
}

/** MARK and CONNMARK --set-xmark/--set-mark/--and-mark/--or-mark/--xor-mark, as xmark value/mask. */
function xmark(ext: string, id: string, arg: string): { value: number; mask: number } {
  const bad = (): string => `${ext}: bad integer value for option "--${id}", or out of range.`;
  switch (id) {
    case 'set-xmark':
      return parseValueMask(ext, id, arg);
    case 'set-mark': {
      const vm = parseValueMask(ext, id, arg);
      return { value: vm.value, mask: (vm.value | vm.mask) >>> 0 };
    }
    case 'and-mark':
      return { value: 0, mask: ~parseU32(arg, bad) >>> 0 };
    case 'or-mark': {
      const v = parseU32(arg, bad);
      return { value: v, mask: v };
    }
    default:
      return { value: parseU32(arg, bad), mask: 0 };
  }
}

const XMARK_OPTS = ['set-xmark', 'set-mark', 'and-mark', 'or-mark', 'xor-mark'];

function markTargetExt(): Ext<NfTarget> {
  let v: { value: number; mask: number } | undefined;
  return {
    name: 'MARK',
    opts: optTable('MARK', () => XMARK_OPTS.map((n) => o(n, n, true, false))),
    option(id, arg) {
      if (v) fail('MARK: --set-xmark/--{and,or,xor,set}-mark options can only be used once');
      v = xmark('MARK', id, arg);
    },
    finish() {
      if (!v) fail('MARK: One of the --set-xmark, --{and,or,xor,set}-mark options is required');
      return { kind: 'MARK', ...v };
    },
  };
}

function connmarkTargetExt(): Ext<NfTarget> {
  let set: { value: number; mask: number } | undefined;
  let mode: 'save' | 'restore' | undefined;
  let nfmask = 0xffffffff;
  let ctmask = 0xffffffff;
  const seen = new Set<string>();
  return {
    name: 'CONNMARK',
    opts: optTable('CONNMARK', () => [...XMARK_OPTS.map((n) => o(n, n, true, false)), flag('save-mark'), flag('restore-mark'), o('mask', 'mask', true, false), o('nfmask', 'nfmask', true, false), o('ctmask', 'ctmask', true, false)]),
    option(id, arg) {
      const bad = (): string => `CONNMARK: bad integer value for option "--${id}", or out of range.`;
      if (id === 'mask' || id === 'nfmask' || id === 'ctmask') {
        once('CONNMARK', seen, id);
        const m = parseU32(arg, bad);
        if (id !== 'ctmask') nfmask = m;
        if (id !== 'nfmask') ctmask = m;
        return;
      }
      if (set || mode) fail('CONNMARK target: Can only specify one action');
      if (id === 'save-mark') mode = 'save';
      else if (id === 'restore-mark') mode = 'restore';
      else set = xmark('CONNMARK', id, arg);
    },
    finish() {
      if (set) {
        if (seen.size > 0) fail('CONNMARK target: --mask/--nfmask/--ctmask only go with --save-mark or --restore-mark');
        return { kind: 'CONNMARK', mode: 'set', ...set };
      }
      if (!mode) fail('CONNMARK target: No operation specified');
      return { kind: 'CONNMARK', mode, nfmask, ctmask };
    },
  };
}

function simpleTarget(t: NfTarget): () => Ext<NfTarget> {
  return () => ({ name: t.kind, opts: [], option: () => undefined, finish: () => t });
}

function ctTargetExt(): Ext<NfTarget> {
  let notrack = false;
  const other = ['helper', 'ctevents', 'expevents', 'zone', 'zone-orig', 'zone-reply', 'timeout'];
  return {
    name: 'CT',
    opts: optTable('CT', () => [flag('notrack'), ...other.map((n) => o(n, n, true, false))]),
    option(id) {
      if (id !== 'notrack') unsupported(`CT option "--${id}" is not modelled by netpath`);
      notrack = true;
    },
    finish: () => ({ kind: 'CT', notrack }),
  };
}

const TARGETS: Readonly<Record<string, () => Ext<NfTarget>>> = {
  ACCEPT: simpleTarget({ kind: 'ACCEPT' }),
  DROP: simpleTarget({ kind: 'DROP' }),
  RETURN: simpleTarget({ kind: 'RETURN' }),
  REJECT: rejectExt,
  LOG: logExt,
  SNAT: () => natExt('SNAT'),
  DNAT: () => natExt('DNAT'),
  MASQUERADE: () => portsTargetExt('MASQUERADE'),
  REDIRECT: () => portsTargetExt('REDIRECT'),
  MARK: markTargetExt,
  CONNMARK: connmarkTargetExt,
  NOTRACK: simpleTarget({ kind: 'NOTRACK' }),
  CT: ctTargetExt,
};

// ---------------------------------------------------------------------------------------------
// Addresses

function hostNotFound(text: string): never {
  if (/^[0-9.]+$/.test(text) && (text.split('.').length !== 4 || /(^|\.)0\d/.test(text))) {
    unsupported(`address \`${text}' is an abbreviated inet_aton form; write all four octets`);
  }
  if (/[a-zA-Z]/.test(text)) unsupported(`host name \`${text}' would be resolved through DNS; netpath needs an address`);
  fail(`host/network \`${text}' not found`);
}

function maskLen(text: string): number {
  if (/^\d+$/.test(text)) {
    const n = Number(text);
    if (n > 32) fail(`invalid mask \`${text}' specified`);
    return n;
  }
  const m = parseIpv4(text);
  if (m === undefined) fail(`invalid mask \`${text}' specified`);
  const len = lenOfMask(m);
  if (len === undefined) unsupported(`non-contiguous netmask \`${text}' is not modelled by netpath`);
  return len;
}

/** `-s`/`-d`: A.B.C.D[/len|/mask]; host bits are cleared as iptables does. */
function parseAddr(text: string): Prefix {
  if (text.includes(',')) {
    unsupported(`address list \`${text}': iptables would add one rule per address; write one rule per address`);
  }
  const slash = text.indexOf('/');
  const ipText = slash < 0 ? text : text.slice(0, slash);
  const ip = parseIpv4(ipText);
  if (ip === undefined) hostNotFound(ipText);
  const len = slash < 0 ? 32 : maskLen(text.slice(slash + 1));
  return { addr: networkOf(ip, len), len };
}

// ---------------------------------------------------------------------------------------------
// The command line

type Cmd = 'A' | 'I' | 'R' | 'D' | 'P' | 'N' | 'X' | 'F' | 'Z' | 'L' | 'S' | 'C' | 'E' | 'h' | 'V';
const COMMAND_LONG: Readonly<Record<string, Cmd>> = {
  append: 'A', insert: 'I', replace: 'R', delete: 'D', policy: 'P', 'new-chain': 'N', 'delete-chain': 'X',
  flush: 'F', zero: 'Z', list: 'L', 'list-rules': 'S', check: 'C', 'rename-chain': 'E', help: 'h', version: 'V',
};
/** base long options: name -> short id; arg: 0 none, 1 required, 2 optional */
const BASE_LONG: Readonly<Record<string, readonly [string, 0 | 1 | 2]>> = {
  append: ['A', 1], insert: ['I', 1], replace: ['R', 1], delete: ['D', 1], policy: ['P', 1], 'new-chain': ['N', 1],
  'delete-chain': ['X', 2], flush: ['F', 2], zero: ['Z', 2], list: ['L', 2], 'list-rules': ['S', 2], check: ['C', 1],
  'rename-chain': ['E', 1], help: ['h', 0], version: ['V', 0],
  source: ['s', 1], src: ['s', 1], destination: ['d', 1], dst: ['d', 1], protocol: ['p', 1],
  'in-interface': ['i', 1], 'out-interface': ['o', 1], jump: ['j', 1], goto: ['g', 1], match: ['m', 1],
  table: ['t', 1], numeric: ['n', 0], verbose: ['v', 0], wait: ['w', 2], 'wait-interval': ['W', 1], exact: ['x', 0],
  fragment: ['f', 0], 'line-numbers': ['line-numbers', 0], modprobe: ['modprobe', 1], 'set-counters': ['c', 1],
  ipv4: ['4', 0], ipv6: ['6', 0],
};
const SHORT: Readonly<Record<string, 0 | 1 | 2>> = {
  A: 1, C: 1, D: 1, I: 1, R: 1, L: 2, S: 2, F: 2, Z: 2, N: 1, X: 2, E: 1, P: 1, h: 0, V: 0,
  p: 1, s: 1, d: 1, j: 1, g: 1, i: 1, o: 1, f: 0, m: 1, n: 0, t: 1, v: 0, w: 2, W: 1, x: 0, c: 1, '4': 0, '6': 0,
};
/** short id -> the first long name of BASE_LONG with it (how errors spell the option) */
const BASE_LONG_SPELLING = new Map<string, string>();
for (const [name, [id]] of Object.entries(BASE_LONG)) if (!BASE_LONG_SPELLING.has(id)) BASE_LONG_SPELLING.set(id, name);
const INVERTIBLE = new Set(['s', 'd', 'p', 'i', 'o', 'f']);

interface Loaded {
  readonly ext: Ext<NfMatch>;
  readonly seq: number;
}

class Parser {
  private i = 0;
  private invert = false;
  private cmd: Cmd | undefined;
  private chain: string | undefined;
  private rulenum: number | undefined;
  private policy: string | undefined;
  private table: NfTableName | undefined;
  private readonly base: {
    s?: { invert: boolean; text: string };
    d?: { invert: boolean; text: string };
    i?: { invert: boolean; name: string };
    o?: { invert: boolean; name: string };
    f?: { invert: boolean };
  } = {};
  private readonly ctx: Ctx;
  private readonly matches: Loaded[] = [];
  private target: { ext: Ext<NfTarget> } | { jump: 'jump' | 'goto'; chain: string } | undefined;
  private protoUsed = false;
  private seq = 0;

  /** `table`: as if the argv began with `-t TABLE` (iptables-restore lines) */
  constructor(
    private readonly argv: readonly string[],
    table?: NfTableName,
  ) {
    this.ctx = { protoInvert: false, table: 'filter' };
    this.table = table;
  }

  private hasArg(): boolean {
    const a = this.argv[this.i];
    return a !== undefined && !a.startsWith('-') && a !== '!';
  }

  private takeInvert(what: string, allowed: boolean, msg?: string): boolean {
    const inv = this.invert;
    this.invert = false;
    if (inv && !allowed) fail(msg ?? `cannot have ! before -${what}`);
    return inv;
  }

  private setCommand(c: Cmd, arg: string | undefined): void {
    this.takeInvert(c, false, 'unexpected ! flag');
    if (this.cmd !== undefined) fail(`Cannot use -${c} with -${this.cmd}`);
    this.cmd = c;
    if (['A', 'C', 'D', 'I', 'R', 'N', 'E', 'P'].includes(c)) this.chain = arg;
    else if (arg !== undefined) this.chain = arg;
    else if (['L', 'S', 'F', 'Z', 'X'].includes(c) && this.hasArg()) this.chain = this.argv[this.i++];
    const ruleNumber = (t: string): number => {
      if (!/^\d+$/.test(t) || Number(t) < 1) fail(`Invalid rule number \`${t}'`);
      return Number(t);
    };
    if (c === 'I' && this.hasArg()) this.rulenum = ruleNumber(this.argv[this.i++]!);
    if (c === 'D' && this.hasArg()) this.rulenum = ruleNumber(this.argv[this.i++]!);
    if (c === 'R') {
      if (!this.hasArg()) fail('-R requires a rule number');
      this.rulenum = ruleNumber(this.argv[this.i++]!);
    }
    if (c === 'P') {
      if (!this.hasArg()) fail('-P requires a chain and a policy');
      this.policy = this.argv[this.i++];
    }
    if (c === 'E') {
      if (!this.hasArg()) fail('-E requires old-chain-name and new-chain-name');
      this.i++;
    }
    if (c === 'Z' && this.chain !== undefined && this.hasArg()) ruleNumber(this.argv[this.i++]!);
  }

  private loadMatch(name: string): Ext<NfMatch> {
    const make = MATCHES[name];
    if (!make) {
      if (UNMODELLED_MATCHES.has(name)) unsupported(`match \`${name}' (-m ${name}) is not modelled by netpath`);
      fail(`Couldn't load match \`${name}':No such file or directory`);
    }
    const ext = make();
    this.matches.push({ ext, seq: this.seq++ });
    return ext;
  }

  /** base option (short id) with its argument */
  private baseOption(id: string, arg: string | undefined, spelled: string): void {
    if (COMMAND_LONG[spelled] !== undefined || 'ACDIRPNXFZLSEhV'.includes(id) && id.length === 1) {
      this.setCommand(id as Cmd, arg);
      return;
    }
    const inv = this.takeInvert(id, INVERTIBLE.has(id), id === 'm' ? 'unexpected ! flag before --match' : undefined);
    const once = (present: unknown): void => {
      if (present !== undefined) fail(`multiple -${id} flags not allowed`);
    };
    const a = arg ?? '';
    switch (id) {
      case 's':
      case 'd':
        // iptables parses addresses after all options: `-s ! X` fails on the stray X first
        once(this.base[id]);
        this.base[id] = { invert: inv, text: a };
        return;
      case 'i':
      case 'o':
        once(this.base[id]);
        this.base[id] = { invert: inv, name: ifName(a) };
        return;
      case 'f':
        once(this.base.f);
        this.base.f = { invert: inv };
        return;
      case 'p': {
        if (this.ctx.protoText !== undefined) fail('multiple -p flags not allowed');
        const text = a.toLowerCase();
        const proto = protoByName(text);
        if (proto === undefined) fail(`unknown protocol "${a}" specified`);
        this.ctx.proto = proto;
        this.ctx.protoInvert = inv;
        this.ctx.protoText = text;
        return;
      }
      case 'm':
        this.loadMatch(a);
        return;
      case 'j':
      case 'g': {
        if (this.target !== undefined) fail(`multiple -${id} flags not allowed`);
        const make = TARGETS[a];
        if (id === 'j' && make) this.target = { ext: make() };
        else if (TARGET_NAMES.has(a)) {
          if (id === 'g') fail(`goto '${a}' is not a chain`);
          unsupported(`target \`${a}' (-j ${a}) is not modelled by netpath`);
        } else {
          if (a === '') fail(`option "-${id}" requires an argument`);
          this.target = { jump: id === 'j' ? 'jump' : 'goto', chain: a };
        }
        return;
      }
      case 't': {
        if (this.table !== undefined) fail('multiple -t flags not allowed');
        if (a === 'raw' || a === 'mangle' || a === 'nat' || a === 'filter') this.table = a;
        else if (a === 'security') unsupported("table 'security' is not modelled by netpath");
        else fail(`table '${a}' does not exist`);
        return;
      }
      case 'w':
        if (arg === undefined && this.hasArg()) {
          const w = this.argv[this.i++]!;
          if (!/^\d+$/.test(w)) fail(`wait seconds not numeric: \`${w}'`);
        } else if (arg !== undefined && !/^\d+$/.test(arg)) fail(`wait seconds not numeric: \`${arg}'`);
        return;
      case 'W':
      case 'n':
      case 'v':
      case 'x':
      case 'line-numbers':
      case '4':
        return; // look-only or wait flags: no effect on the state
      case '6':
        fail('This is the IPv4 version of iptables.');
        break;
      case 'c':
        unsupported('-c/--set-counters: netpath does not model packet counters');
        break;
      default:
        unsupported(`option \`${spelled}' is not modelled by netpath`);
    }
  }

  /** every long option currently known: base first, then extensions newest first */
  private resolveLong(name: string): { base: string; arg: 0 | 1 | 2 } | { ext: Ext<NfMatch> | Ext<NfTarget>; opt: ExtOpt } | undefined {
    const exact = BASE_LONG[name];
    if (exact) return { base: exact[0], arg: exact[1] };
    const exts: (Ext<NfMatch> | Ext<NfTarget>)[] = [];
    if (this.target && 'ext' in this.target) exts.push(this.target.ext);
    for (let k = this.matches.length - 1; k >= 0; k--) exts.push(this.matches[k]!.ext);
    for (const ext of exts) {
      const opt = ext.opts.find((x) => x.name === name);
      if (opt) return { ext, opt };
    }
    const hits: ({ base: string; arg: 0 | 1 | 2; key: string } | { ext: Ext<NfMatch> | Ext<NfTarget>; opt: ExtOpt; key: string })[] = [];
    for (const [n, [id, arg]] of Object.entries(BASE_LONG)) if (n.startsWith(name)) hits.push({ base: id, arg, key: `base:${id}` });
    exts.forEach((ext, k) => {
      for (const opt of ext.opts) if (opt.name.startsWith(name)) hits.push({ ext, opt, key: `${k}:${opt.id}` });
    });
    if (hits.length === 0 || new Set(hits.map((h) => h.key)).size > 1) return undefined;
    return hits[0];
  }

  /** an unknown option with -p tcp|udp|icmp given loads that match once, then retries */
  private implicitProto(): boolean {
    if (this.protoUsed || this.ctx.protoText === undefined || this.ctx.proto === undefined) return false;
    const name = this.ctx.proto === 6 ? 'tcp' : this.ctx.proto === 17 ? 'udp' : this.ctx.proto === 1 ? 'icmp' : this.ctx.proto === 132 ? 'sctp' : undefined;
    if (name === undefined) {
      if (this.ctx.proto === 33) unsupported(`the dccp match (options after -p ${this.ctx.protoText}) is not modelled by netpath`);
      return false;
    }
    this.protoUsed = true;
    this.loadMatch(name);
    return true;
  }

  private extOption(ext: Ext<NfMatch> | Ext<NfTarget>, opt: ExtOpt, arg: string): void {
    const inv = this.takeInvert('', opt.invert === true, `${ext.name}: option "--${opt.name}" cannot be inverted.`);
    ext.option(opt.id, arg, inv, this.ctx, () => this.argv[this.i++]);
  }

  private longOption(tok: string): void {
    const eq = tok.indexOf('=');
    const name = eq < 0 ? tok.slice(2) : tok.slice(2, eq);
    const attached = eq < 0 ? undefined : tok.slice(eq + 1);
    let r = this.resolveLong(name);
    if (!r && this.implicitProto()) r = this.resolveLong(name);
    if (!r) fail(`unknown option "${eq < 0 ? tok : tok.slice(0, eq)}"`);
    const needs = 'base' in r ? r.arg : r.opt.arg ? 1 : 0;
    let arg = attached;
    if (needs === 1 && arg === undefined) {
      arg = this.argv[this.i++];
      if (arg === undefined) fail(`option "--${name}" requires an argument`);
    }
    if (needs === 0 && arg !== undefined) fail(`option "--${name}" doesn't allow an argument`);
    if ('base' in r) this.baseOption(r.base, arg, BASE_LONG_SPELLING.get(r.base) ?? name);
    else this.extOption(r.ext, r.opt, arg ?? '');
  }

  private shortCluster(tok: string): void {
    for (let k = 1; k < tok.length; k++) {
      const c = tok[k]!;
      const needs = SHORT[c];
      if (needs === undefined) fail(`unknown option "-${c}"`);
      let arg: string | undefined;
      if (needs > 0 && k + 1 < tok.length) {
        arg = tok.slice(k + 1);
        k = tok.length;
      } else if (needs === 1) {
        arg = this.argv[this.i++];
        if (arg === undefined) fail(`option "-${c}" requires an argument`);
      }
      this.baseOption(c, arg, c);
    }
  }

  run(): void {
    while (this.i < this.argv.length) {
      const tok = this.argv[this.i++]!;
      if (tok === '!') {
        if (this.invert) fail('multiple consecutive ! not allowed');
        this.invert = true;
      } else if (tok.startsWith('--') && tok.length > 2) this.longOption(tok);
      else if (tok.startsWith('-') && tok.length > 1) this.shortCluster(tok);
      else {
        const prev = this.argv[this.i - 2];
        const hint = prev === '!' ? ' (iptables 1.8 wants `! -s ADDR`, not `-s ! ADDR`)' : '';
        fail(`Bad argument \`${tok}'${hint}`);
      }
    }
    if (this.invert) fail('nothing appropriate following !');
  }

  /** `canonical`: the rule's text as the input spelled it, kept as `text` when formatRule prints exactly that */
  canonical: string | undefined;

  private buildRule(origin: Origin): NfRule {
    const chain = this.chain!;
    if ((chain === 'PREROUTING' || chain === 'INPUT') && this.base.o) fail(`Can't use -o with ${chain}`);
    if ((chain === 'POSTROUTING' || chain === 'OUTPUT') && this.base.i) fail(`Can't use -i with ${chain}`);
    const matches: NfMatch[] = [];
    const b = this.base;
    for (const id of ['s', 'd'] as const) {
      const given = b[id];
      if (!given) continue;
      const prefix = parseAddr(given.text);
      if (prefix.len === 0 && given.invert) {
        fail(`RULE_APPEND failed (Invalid argument): \`! -${id} ${given.text}' can never match; the kernel refuses it`, 'kernel');
      }
      if (prefix.len > 0) matches.push({ kind: id === 's' ? 'source' : 'destination', invert: given.invert, prefix });
    }
    if (b.i && !(b.i.name === '+' && !b.i.invert)) matches.push({ kind: 'in-interface', invert: b.i.invert, name: b.i.name });
    if (b.o && !(b.o.name === '+' && !b.o.invert)) matches.push({ kind: 'out-interface', invert: b.o.invert, name: b.o.name });
    if (this.ctx.proto !== undefined && this.ctx.proto !== 0) {
      matches.push({ kind: 'protocol', invert: this.ctx.protoInvert, proto: this.ctx.proto });
    }
    if (b.f) matches.push({ kind: 'fragment', invert: b.f.invert });
    for (const m of this.matches) matches.push(m.ext.finish(this.ctx));
    let target: NfTarget | undefined;
    if (this.target && 'ext' in this.target) target = this.target.ext.finish(this.ctx);
    else if (this.target) target = { kind: this.target.jump, chain: this.target.chain };
    if (target?.kind === 'DROP' && this.ctx.table === 'nat') {
      fail('The "nat" table is not intended for filtering, the use of DROP is therefore inhibited.');
    }
    // matches.slice(): an exact-size array (a pushed-to one keeps spare room; 80k rules keep theirs)
    const exact = matches.slice();
    const formatted = formatRule(exact, target);
    const text = formatted === this.canonical ? this.canonical : formatted;
    return target ? { matches: exact, target, text, origin } : { matches: exact, text, origin };
  }

  command(origin: Origin): IptablesCommand {
    if (this.chain !== undefined) this.ctx.chain = this.chain;
    const table = this.table ?? 'filter';
    (this.ctx as { table: NfTableName }).table = table;
    const c = this.cmd;
    if (c === undefined) fail('no command specified');
    const chain = this.chain;
    switch (c) {
      case 'A':
      case 'I':
      case 'R':
      case 'C': {
        const rule = this.buildRule(origin);
        if (c === 'A') return { table, cmd: 'A', chain: chain!, rule };
        if (c === 'C') return { table, cmd: 'show' };
        return { table, cmd: c, chain: chain!, index: this.rulenum ?? 1, rule };
      }
      case 'D':
        if (this.rulenum !== undefined) {
          this.ensureNoRule('D');
          return { table, cmd: 'D', chain: chain!, index: this.rulenum };
        }
        return { table, cmd: 'D', chain: chain!, rule: this.buildRule(origin) };
      case 'P': {
        this.ensureNoRule('P');
        const p = this.policy!;
        if (p !== 'ACCEPT' && p !== 'DROP') fail('iptables: Bad policy name. Run `dmesg\' for more information.', 'kernel');
        return { table, cmd: 'P', chain: chain!, policy: p };
      }
      case 'N': {
        this.ensureNoRule('N');
        const n = chain!;
        if (n.startsWith('-')) fail("chain name not allowed to start with `-'");
        if (n.length > 28) fail(`chain name \`${n}' too long (must be under 29 chars)`);
        if (TARGET_NAMES.has(n)) fail('chain name may not clash with target name');
        return { table, cmd: 'N', chain: n };
      }
      case 'X':
      case 'F':
      case 'Z':
        this.ensureNoRule(c);
        return chain === undefined ? { table, cmd: c } : { table, cmd: c, chain };
      case 'E':
        unsupported('-E/--rename-chain is not modelled by netpath');
        break;
      case 'L':
      case 'S':
      case 'h':
      case 'V':
        return { table, cmd: 'show' };
    }
    return fail('no command specified');
  }

  /** iptables refuses rule options with commands that take none ("Illegal option `-s' with this command") */
  private ensureNoRule(c: string): void {
    const b = this.base;
    const used = (b.s && '-s') || (b.d && '-d') || (b.i && '-i') || (b.o && '-o') || (b.f && '-f') || (this.ctx.protoText !== undefined && '-p') || (this.matches.length > 0 && '-m') || (this.target && '-j');
    if (used) fail(`Illegal option \`${used}' with this command (-${c})`);
  }
}

/**
 * Parses `iptables ARGV` (argv after the word `iptables`, shell quoting already removed).
 * Throws ConfigError (code 'syntax', 'unsupported' or 'kernel') with the origin's file and line.
 */
export function parseIptablesArgs(argv: readonly string[], origin: Origin): IptablesCommand {
  return parseWith(argv, origin, undefined);
}

function parseWith(argv: readonly string[], origin: Origin, table: NfTableName | undefined, canonical?: string): IptablesCommand {
  try {
    const p = new Parser(argv, table);
    p.canonical = canonical;
    p.run();
    return p.command(origin);
  } catch (e) {
    if (e instanceof ParseFail) throw ConfigError.at(origin, e.code, `iptables: ${e.detail}`);
    throw e;
  }
}

/** Parses one rule spec for a known table/chain (the `-A CHAIN ...` lines of iptables-restore). */
export function parseRuleSpec(table: NfTableName, argv: readonly string[], origin: Origin, canonical?: string): { chain: string; rule: NfRule } {
  const cmd = parseWith(argv, origin, table, canonical);
  if (cmd.cmd !== 'A') throw ConfigError.at(origin, 'unsupported', `iptables-restore: only -A lines are modelled (got ${argv[0] ?? 'nothing'})`);
  return { chain: cmd.chain, rule: cmd.rule };
}
