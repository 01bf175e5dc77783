/**
 * One parser per notation, shared by model files and command-line options, so `probes[].to` and
 * `trace --to`, `services[].listen` and `rules trace --dst`, a LAN's `host/ifname` and
 * `rules trace --iif` accept and refuse exactly the same text.
 *
 * Each parser returns the value or what is wrong with the text (errors as values); the caller
 * turns the problem into a ConfigError naming its file and line, or its option.
 */
import { parseCidr, parseIpv4, type Ipv4, type Prefix } from '../wire/ipv4.js';

export type Parse<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly problem: string };

function ok<T>(value: T): Parse<T> {
  return { ok: true, value };
}
function bad<T>(problem: string): Parse<T> {
  return { ok: false, problem };
}

/** A TCP/UDP/SCTP port: decimal 1-65535 (port 0 cannot be connected to). */
export function parsePort(text: string): Parse<number> {
  if (!/^\d{1,5}$/.test(text)) return bad(`"${text}" is not a port number (1-65535)`);
  const n = Number(text);
  if (n < 1 || n > 65535) return bad(`port ${n} is out of range (1-65535)`);
  return ok(n);
}

/** A dotted-quad IPv4 address (no octal, no short forms: the model's own notation). */
export function parseAddress(text: string): Parse<Ipv4> {
  const a = parseIpv4(text);
  return a === undefined ? bad(`"${text}" is not an IPv4 address (a.b.c.d)`) : ok(a);
}

/** `IP` or `IP:PORT`. */
export function parseEndpoint(text: string): Parse<{ readonly ip: Ipv4; readonly port?: number }> {
  const colon = text.lastIndexOf(':');
  const ipText = colon < 0 ? text : text.slice(0, colon);
  const ip = parseIpv4(ipText);
  if (ip === undefined) return bad(`"${text}" must be IP or IP:PORT`);
  if (colon < 0) return ok({ ip });
  const p = parsePort(text.slice(colon + 1));
  return p.ok ? ok({ ip, port: p.value }) : bad(`"${text}": ${p.problem}`);
}

/** `ADDRESS/LEN`, the length required (a LAN member's address, an interface address). */
export function parseAddressLen(text: string): Parse<{ readonly local: Ipv4; readonly prefixLen: number }> {
  const c = parseCidr(text);
  if (!c || !c.hadLen) return bad(`"${text}" is not an IPv4 address/len`);
  return ok({ local: c.host, prefixLen: c.prefix.len });
}

/** A CIDR prefix `A.B.C.D[/LEN]` (a bare address is a /32); host bits must be clear. */
export function parsePrefix(text: string): Parse<Prefix> {
  const c = parseCidr(text);
  if (!c) return bad(`"${text}" is not an IPv4 prefix (a.b.c.d/len)`);
  if (!c.exact) return bad(`"${text}" has host bits set (did you mean ${c.prefix.addr >>> 24}.${(c.prefix.addr >>> 16) & 255}.${(c.prefix.addr >>> 8) & 255}.${c.prefix.addr & 255}/${c.prefix.len}?)`);
  return ok(c.prefix);
}

/** The transport protocols a probe or a traced packet can use. */
export type PortProto = 'tcp' | 'udp' | 'sctp';

/** A protocol and a destination port go together: tcp, udp and sctp need one, icmp takes none. */
export function protoPortProblem(proto: string, port: number | undefined): string | undefined {
  if (proto === 'icmp') return port !== undefined ? 'icmp takes no port' : undefined;
  return port === undefined ? `${proto} needs IP:PORT` : undefined;
}

/**
 * An interface name as the kernel accepts it (dev_valid_name, and iproute2's check_ifname):
 * 1 to 15 bytes (IFNAMSIZ 16 with the NUL), no `/`, `:` or whitespace (C isspace: blank, \t \n \v \f
 * \r), not `.` or `..`.
 */
export function validIfname(name: string): boolean {
  return name.length > 0 && Buffer.byteLength(name) < 16 && !/[/: \t\n\v\f\r]/.test(name) && name !== '.' && name !== '..';
}

export function parseIfname(text: string): Parse<string> {
  return validIfname(text) ? ok(text) : bad(`"${text}" is not a valid interface name (1-15 bytes, no '/', ':' or blanks)`);
}
