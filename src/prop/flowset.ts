/**
 * Flow sets: the "every flow from these namespaces to these addresses and ports" that an
 * invariant or a `flows()` arbitrary ranges over. The text forms are the model file's
 * (docs/properties.md): `from` a namespace reference or a list, `to` an address, CIDR or list,
 * `ports` a port, range (`1-79`, `1:79`) or list, `proto` tcp, udp, icmp or a list.
 *
 * Resolving a set checks it against the world (namespaces exist, ports are in range) and throws a
 * ConfigError at the origin of the offending key; nothing here runs a packet.
 */
import { ConfigError } from '../model/errors.js';
import type { NsId } from '../model/link.js';
import type { Origin } from '../model/origin.js';
import type { ProbeProto } from '../plan/model.js';
import type { PortRange } from '../netfilter/types.js';
import { formatIpv4, formatPrefix, parseCidr, type Prefix } from '../wire/ipv4.js';
import { resolveNsRef } from '../world/build.js';
import type { World } from '../world/types.js';
import type { Flow } from '../engine/probe.js';

export type { Flow };

/** Ports as written: `80`, `"1-79"`, `"1:79"`, `"22,80"`, or a list of those. */
export type PortsInput = number | string | readonly (number | string)[];

/** A flow set as a user writes it, in a model file or in a test. */
export interface FlowSetInput {
  /** namespace references: host, netns, or host/netns */
  readonly from: string | readonly string[];
  /** destination addresses or CIDRs */
  readonly to: string | readonly string[];
  /** default tcp */
  readonly proto?: ProbeProto | readonly ProbeProto[];
  /** destination ports for tcp and udp; default 1-65535 */
  readonly ports?: PortsInput;
  /** client source ports; default: the engine picks one from ip_local_port_range */
  readonly sports?: PortsInput;
}

/** A flow set checked against a world. */
export interface FlowSet {
  readonly from: readonly NsId[];
  readonly to: readonly Prefix[];
  readonly proto: readonly ProbeProto[];
  readonly ports: readonly PortRange[];
  readonly sports?: readonly PortRange[];
}

export const ALL_PORTS: readonly PortRange[] = [{ min: 1, max: 65535 }];
const PROTOS: readonly ProbeProto[] = ['tcp', 'udp', 'icmp'];

/** Where each key of a flow set was written, for errors; the API passes one origin for all. */
export type OriginOf = (key: keyof FlowSetInput) => Origin;

export const API_ORIGIN: Origin = Object.freeze({ file: '(flows)', line: 0, text: '' });

export function resolveFlowSet(world: World, input: FlowSetInput, originOf: OriginOf = () => API_ORIGIN): FlowSet {
  const bad = (key: keyof FlowSetInput, detail: string): never => {
    throw ConfigError.at(originOf(key), 'model', detail);
  };
  const fromList = typeof input.from === 'string' ? [input.from] : [...input.from];
  if (fromList.length === 0) bad('from', 'from: give at least one namespace');
  const from = [...new Set(fromList.map((r) => resolveNsRef(world, r, originOf('from'))))];

  const toList = typeof input.to === 'string' ? [input.to] : [...input.to];
  if (toList.length === 0) bad('to', 'to: give at least one address or CIDR');
  const to = toList.map((t) => {
    const c = parseCidr(String(t));
    if (!c) return bad('to', `to: "${String(t)}" is not an IPv4 address or CIDR (e.g. 192.168.2.0/24)`);
    return c.prefix;
  });

  const protoList = input.proto === undefined ? ['tcp'] : typeof input.proto === 'string' ? [input.proto] : [...input.proto];
  for (const p of protoList) if (!PROTOS.includes(p as ProbeProto)) bad('proto', `proto: "${String(p)}" must be tcp, udp or icmp`);
  if (protoList.length === 0) bad('proto', 'proto: give at least one of tcp, udp, icmp');
  const proto = [...new Set(protoList as ProbeProto[])];
  if (input.ports !== undefined && proto.every((p) => p === 'icmp')) bad('ports', 'ports: icmp flows take no port');

  const ports = input.ports === undefined ? ALL_PORTS : parsePorts(input.ports, (d) => bad('ports', `ports: ${d}`));
  const sports = input.sports === undefined ? undefined : parsePorts(input.sports, (d) => bad('sports', `sports: ${d}`));
  return { from, to, proto, ports, ...(sports ? { sports } : {}) };
}

/** Parses ports as written; ranges come back merged and sorted. */
export function parsePorts(input: PortsInput, bad: (detail: string) => never): PortRange[] {
  const parts: string[] = [];
  for (const x of typeof input === 'object' ? input : [input]) parts.push(...String(x).split(','));
  if (parts.length === 0) bad('give at least one port');
  const ranges: PortRange[] = [];
  for (const raw of parts) {
    const p = raw.trim();
    const m = /^(\d{1,5})(?:\s*[-:]\s*(\d{1,5}))?$/.exec(p);
    if (!m) return bad(`"${p}" is not a port or a range (e.g. 80, 1-79, 8000:8080)`);
    const min = Number(m[1]);
    const max = m[2] !== undefined ? Number(m[2]) : min;
    if (min < 1 || max > 65535 || min > max) return bad(`"${p}": ports are 1 to 65535, the lower first`);
    ranges.push({ min, max });
  }
  ranges.sort((a, b) => a.min - b.min);
  const merged: PortRange[] = [];
  for (const r of ranges) {
    const last = merged[merged.length - 1];
    if (last && r.min <= last.max + 1) merged[merged.length - 1] = { min: last.min, max: Math.max(last.max, r.max) };
    else merged.push(r);
  }
  return merged;
}

export function inRanges(v: number, ranges: readonly PortRange[]): boolean {
  return ranges.some((r) => v >= r.min && v <= r.max);
}

export function prefixRange(p: Prefix): PortRange {
  const size = 2 ** (32 - p.len);
  return { min: p.addr, max: p.addr + size - 1 };
}

/** Short text of a flow set, for default invariant names. */
export function flowSetText(world: World, s: FlowSet, display: (id: NsId) => string): string {
  void world;
  const to = s.to.map((p) => (p.len === 32 ? formatIpv4(p.addr) : formatPrefix(p))).join(',');
  const ports = s.proto.some((p) => p !== 'icmp') && s.ports !== ALL_PORTS ? ` ports ${s.ports.map((r) => (r.min === r.max ? `${r.min}` : `${r.min}-${r.max}`)).join(',')}` : '';
  return `${s.from.map(display).join(',')} -> ${to} ${s.proto.join(',')}${ports}`;
}

/** A flow as people read it: `tcp web1 -> 192.168.2.10:80` (with `sport` when fixed). */
export function flowText(f: Flow, display: (id: NsId) => string): string {
  const to = f.port !== undefined ? `${formatIpv4(f.to)}:${f.port}` : formatIpv4(f.to);
  return `${f.proto} ${display(f.from)} -> ${to}${f.sport !== undefined ? ` (sport ${f.sport})` : ''}`;
}
