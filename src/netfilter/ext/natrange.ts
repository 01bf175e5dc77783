/**
 * What the NAT targets share: libxt_DNAT/libxt_SNAT's `A[-B][:p[-q]]` range and
 * MASQUERADE/REDIRECT's `--to-ports p[-q]`, parsed, printed and read by the fast path.
 */
import { formatIpv4, parseIpv4 } from '../../wire/ipv4.js';
import type { NatRange, PortRange } from '../types.js';
import { fail, type FastCtx, type ParseCtx } from './api.js';
import * as r from './reader.js';
import { natPorts, needPortProto, portsAllowed } from './util.js';

/** `A[-B][:p[-q]]` */
export function parseNatRange(text: string, ctx: ParseCtx): NatRange {
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
    ports = natPorts(p);
  }
  if (!addr && !ports) fail(`Bad IP address "${text}"`);
  return { ...(addr && { addr }), ...(ports && { ports }) };
}

export function natRangeText(range: NatRange): string {
  let s = '';
  if (range.addr) s += range.addr.min === range.addr.max ? formatIpv4(range.addr.min) : `${formatIpv4(range.addr.min)}-${formatIpv4(range.addr.max)}`;
  if (range.ports) s += range.ports.min === range.ports.max ? `:${range.ports.min}` : `:${range.ports.min}-${range.ports.max}`;
  return s;
}

/** one `{min: N, max: N}` per port for the fast path, shared by every rule (values are never mutated) */
const SINGLE_PORTS: (PortRange | undefined)[] = [];
function singlePort(port: number): PortRange {
  let p = SINGLE_PORTS[port];
  if (p === undefined) SINGLE_PORTS[port] = p = { min: port, max: port };
  return p;
}

/** the fast path: `A[-B][:p[-q]]` as natRangeText prints it */
export function readNatRange(c: FastCtx): NatRange | undefined {
  let addr: { min: number; max: number } | undefined;
  if (r.peek() !== 58) {
    const min = r.ipv4();
    if (min < 0) return undefined;
    let max = min;
    if (r.peek() === 45) {
      r.skip(1);
      max = r.ipv4();
      if (max < 0 || max === min) return undefined;
    }
    addr = { min, max };
  }
  let ports: PortRange | undefined;
  if (r.peek() === 58) {
    r.skip(1);
    if (!portsAllowed(c.proto, c.protoInvert)) return undefined;
    const pr = r.portRange(45);
    if (pr === undefined) return undefined;
    ports = pr.min === pr.max ? singlePort(pr.min) : pr;
  }
  if (!r.sep()) return undefined;
  if (addr !== undefined) return ports !== undefined ? { addr, ports } : { addr };
  return ports !== undefined ? { ports } : undefined;
}

/** `--to-ports p[-q]` of MASQUERADE/REDIRECT */
export function parseToPorts(arg: string, ctx: ParseCtx): PortRange {
  if (arg.includes(':')) fail('Invalid port:port syntax - use dash');
  needPortProto(ctx);
  return natPorts(arg);
}

export function toPortsText(p: PortRange | undefined): string {
  if (p === undefined) return '';
  return ` --to-ports ${p.min === p.max ? p.min : `${p.min}-${p.max}`}`;
}

/** the fast path: `--to-ports p[-q]` if there (undefined), its range, or null to decline */
export function readToPorts(c: FastCtx): PortRange | undefined | null {
  if (!r.word('--to-ports')) return undefined;
  if (!portsAllowed(c.proto, c.protoInvert)) return null;
  const pr = r.portRange(45);
  return pr !== undefined && r.sep() ? pr : null;
}
