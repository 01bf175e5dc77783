/**
 * Value notations several extensions share, each with its parse (as libxtables parses it) and its
 * print (as iptables-save prints it): u32 and value/mask, ports and port ranges, name lists,
 * addresses, quoted strings.
 */
import { lenOfMask, networkOf, parseIpv4, type Prefix } from '../../wire/ipv4.js';
import { parsePort } from '../names.js';
import type { PortRange, PortSpec } from '../types.js';
import { fail, unsupported, type ParseCtx } from './api.js';

export const not = (invert: boolean): string => (invert ? '! ' : '');

export function hex(n: number): string {
  return `0x${(n >>> 0).toString(16)}`;
}

/** strtoul(…, 0): decimal, 0x hex or 0 octal, up to 2^32-1. */
export function parseU32(text: string, what: () => string): number {
  let n: number;
  if (/^0[xX][0-9a-fA-F]+$/.test(text)) n = parseInt(text.slice(2), 16);
  else if (/^0[0-7]+$/.test(text)) n = parseInt(text, 8);
  else if (/^\d+$/.test(text)) n = Number(text);
  else fail(what());
  if (n > 0xffffffff) fail(what());
  return n;
}

/** `VALUE[/MASK]` (mask 0xffffffff when not given) */
export function parseValueMask(ext: string, opt: string, text: string): { value: number; mask: number } {
  const bad = (): string => `${ext}: bad integer value for option "--${opt}", or out of range.`;
  const slash = text.indexOf('/');
  if (slash < 0) return { value: parseU32(text, bad), mask: 0xffffffff };
  return { value: parseU32(text.slice(0, slash), bad), mask: parseU32(text.slice(slash + 1), bad) };
}

/** a port number or /etc/services name */
export function portOf(text: string): number {
  const p = parsePort(text);
  if (p === undefined) fail(`invalid port/service \`${text}' specified`);
  return p;
}

/** tcp/udp/sctp `--dport a`, `a:b`, `:b`, `a:` */
export function parsePortSpec(text: string, invert: boolean): PortSpec {
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

/** `a` or `a:b` */
export function portSpecText(p: PortRange): string {
  return p.min === p.max ? `${p.min}` : `${p.min}:${p.max}`;
}

/** IP protocols with ports: tcp, udp, dccp, sctp, udplite */
export const PORT_PROTOS: ReadonlySet<number> = new Set([6, 17, 33, 132, 136]);

/** a NAT target's ports need a port protocol (libxt_DNAT's "Need TCP, UDP, SCTP or DCCP") */
export function needPortProto(ctx: ParseCtx): void {
  if (ctx.proto === undefined || !PORT_PROTOS.has(ctx.proto) || ctx.proto === 136 || ctx.protoInvert) {
    fail('Need TCP, UDP, SCTP or DCCP with port specification');
  }
}

/** the same, for the fast path's -p */
export function portsAllowed(proto: number, protoInvert: boolean): boolean {
  return !protoInvert && proto !== 136 && PORT_PROTOS.has(proto);
}

/** NAT targets' `p[-q]` */
export function natPorts(text: string): PortRange {
  const parts = text.split('-');
  if (parts.length > 2 || parts.some((p) => !/^\d+$/.test(p) || Number(p) > 65535)) fail(`Port \`${text}' not valid`);
  const min = Number(parts[0]);
  const max = Number(parts[1] ?? parts[0]);
  if (min > max) fail(`Port range \`${text}' is invalid`);
  return { min, max };
}

/** a comma list of names (case-insensitive), kept in `all`'s order */
export function parseNameList<T extends string>(all: readonly T[], text: string, bad: (w: string) => string): T[] {
  const out = new Set<T>();
  for (const w of text.split(',')) {
    const hit = all.find((x) => x.toLowerCase() === w.toLowerCase());
    if (hit === undefined) fail(bad(w));
    out.add(hit);
  }
  return all.filter((x) => out.has(x));
}

/** `some` in `all`'s order, comma-separated */
export function ordered<T>(all: readonly T[], some: readonly T[]): string {
  return all.filter((x) => some.includes(x)).join(',');
}

/** Truncates to `max` bytes of UTF-8, as the kernel's fixed-size buffers do. */
export function truncateBytes(s: string, max: number): string {
  if (s.length * 3 <= max) return s; // no UTF-8 text this short can exceed max bytes
  const b = Buffer.from(s, 'utf8');
  return b.length <= max ? s : b.subarray(0, max).toString('utf8');
}

/** libxtables xtables_save_string: bare when only [A-Za-z0-9_-], else "..." with \ before " \ '. */
export function saveString(value: string): string {
  if (/^[A-Za-z0-9_-]+$/.test(value)) return value;
  return `"${value.replace(/["\\']/g, (c) => `\\${c}`)}"`;
}

export function checkIfName(text: string): string {
  if (text.length > 15) fail(`interface name \`${text}' must be shorter than IFNAMSIZ (15)`);
  return text;
}

/** `-i`/`-o`/`--physdev-in` names: a trailing `+` matches any interface with that prefix */
export function ifMatch(name: string, actual: string | undefined): boolean {
  const a = actual ?? '';
  if (name.endsWith('+')) return a.startsWith(name.slice(0, -1));
  return a === name;
}

export function hostNotFound(text: string): never {
  if (/^[0-9.]+$/.test(text) && (text.split('.').length !== 4 || /(^|\.)0\d/.test(text))) {
    unsupported(`address \`${text}' is an abbreviated inet_aton form; write all four octets`);
  }
  if (/[a-zA-Z]/.test(text)) unsupported(`host name \`${text}' would be resolved through DNS; netpath needs an address`);
  fail(`host/network \`${text}' not found`);
}

/** `/len` or `/A.B.C.D` (contiguous) */
export function maskLen(text: string): number {
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
export function parseAddr(text: string): Prefix {
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

export function maskBits(len: number): number {
  return len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
}
