/**
 * What libxt_tcp, libxt_udp and libxt_sctp share: `[!] --sport/--source-port` and
 * `[!] --dport/--destination-port`, valid only after `-p` of their protocol.
 */
import type { NfPacket } from '../eval.js';
import type { PortSpec } from '../types.js';
import { fail, once, opt, unsupported, type ExtOpt, type FastCtx, type OptionParser, type ParseCtx } from './api.js';
import * as r from './reader.js';
import { not, parsePortSpec, portSpecText } from './util.js';

export const PORT_OPTS: readonly ExtOpt[] = [opt('source-port', 'sport'), opt('sport'), opt('destination-port', 'dport'), opt('dport')];

/** the sport/dport part of a tcp, udp or sctp parser */
export class PortsParser {
  readonly seen = new Set<string>();
  sport: PortSpec | undefined;
  dport: PortSpec | undefined;
  private touched = false;
  constructor(
    private readonly name: 'tcp' | 'udp' | 'sctp',
    private readonly proto: number,
  ) {}

  /** every option first checks -p (iptables: "TCP match requires '-p tcp'") */
  checkProto(ctx: ParseCtx): void {
    this.touched = true;
    if (ctx.proto !== this.proto || ctx.protoInvert) {
      if (this.name === 'sctp') fail('RULE_APPEND failed (Invalid argument): -m sctp without -p sctp (the kernel refuses it)', 'kernel');
      fail(`${this.name.toUpperCase()} match requires '-p ${this.name}'`);
    }
  }

  /** sport/dport; false for another option */
  option(id: string, arg: string, invert: boolean): boolean {
    switch (id) {
      case 'sport':
        once(this.name, this.seen, id, "Only one `--source-port' allowed");
        this.sport = parsePortSpec(arg, invert);
        return true;
      case 'dport':
        once(this.name, this.seen, id, "Only one `--destination-port' allowed");
        this.dport = parsePortSpec(arg, invert);
        return true;
      default:
        return false;
    }
  }

  unmodelled(id: string): never {
    unsupported(`${this.name} option "--${id}" is not modelled by netpath`);
  }

  /** without options, -m tcp still needs -p tcp (the kernel refuses the rule) */
  finish(ctx: ParseCtx): void {
    if (!this.touched && (ctx.proto !== this.proto || ctx.protoInvert)) {
      fail(`RULE_APPEND failed (Invalid argument): -m ${this.name} without -p ${this.name} (the kernel refuses it)`, 'kernel');
    }
  }
}

/** tcp/udp print nothing for the full range 0:65535 */
function portOpt(name: string, p: PortSpec | undefined): string {
  if (p === undefined || (p.min === 0 && p.max === 65535 && !p.invert)) return '';
  return ` ${not(p.invert)}--${name} ${portSpecText(p)}`;
}

/** ` --sport X --dport Y` as iptables-save prints them (either may be absent) */
export function savePorts(m: { readonly sport?: PortSpec; readonly dport?: PortSpec }): string {
  return portOpt('sport', m.sport) + portOpt('dport', m.dport);
}

/** `[! ]--NAME PORTS`, as portOpt prints it */
function readPortSpec(invert: boolean): PortSpec | undefined {
  const pr = r.portRange(58);
  if (pr === undefined || (pr.min === 0 && pr.max === 65535 && !invert) || !r.sep()) return undefined;
  return { invert, min: pr.min, max: pr.max };
}

/** the fast path: `[[! ]--sport P] [[! ]--dport P]` of match `kind`; undefined to decline */
export function readPorts<K extends 'tcp' | 'udp' | 'sctp'>(kind: K, c: FastCtx, proto: number): { kind: K; sport?: PortSpec; dport?: PortSpec } | undefined {
  if (c.proto !== proto || c.protoInvert) return undefined;
  let sport: PortSpec | undefined;
  let dport: PortSpec | undefined;
  let k = r.opt('--sport');
  if (k >= 0) {
    sport = readPortSpec(k === 1);
    if (sport === undefined) return undefined;
  }
  k = r.opt('--dport');
  if (k >= 0) {
    dport = readPortSpec(k === 1);
    if (dport === undefined) return undefined;
  }
  if (sport !== undefined) return dport !== undefined ? { kind, sport, dport } : { kind, sport };
  if (dport === undefined) return shared(kind, -1);
  // `--dport N` alone: one object per port, shared by every rule (matches are never mutated)
  return dport.min === dport.max && !dport.invert ? shared(kind, dport.min) : { kind, dport };
}

/** shared matches of the fast path: per kind, index 0 is the match without ports, 1 + N the one with `--dport N` */
const SHARED: Record<string, ({ kind: string; dport?: PortSpec } | undefined)[]> = { tcp: [], udp: [], sctp: [] };
function shared<K extends 'tcp' | 'udp' | 'sctp'>(kind: K, port: number): { kind: K; dport?: PortSpec } {
  const list = SHARED[kind]!;
  let m = list[port + 1];
  if (m === undefined) list[port + 1] = m = port < 0 ? { kind } : { kind, dport: { invert: false, min: port, max: port } };
  return m as { kind: K; dport?: PortSpec };
}

function portIn(p: number | undefined, spec: PortSpec | undefined): boolean {
  if (!spec) return true;
  if (p === undefined) return false;
  const inside = p >= spec.min && p <= spec.max;
  return spec.invert ? !inside : inside;
}

export function portsMatch(m: { readonly sport?: PortSpec; readonly dport?: PortSpec }, p: NfPacket): boolean {
  return portIn(p.sport, m.sport) && portIn(p.dport, m.dport);
}

/** the whole parser of a match with ports and nothing else it models (udp; sctp, whose --chunk-types is refused) */
export function portsOnlyParser<K extends 'udp' | 'sctp'>(kind: K, proto: number): OptionParser<{ kind: K; sport?: PortSpec; dport?: PortSpec }> {
  const ports = new PortsParser(kind, proto);
  return {
    option(id, arg, invert, ctx) {
      ports.checkProto(ctx);
      if (!ports.option(id, arg, invert)) ports.unmodelled(id);
    },
    finish(ctx) {
      ports.finish(ctx);
      const { sport, dport } = ports;
      return { kind, ...(sport && { sport }), ...(dport && { dport }) };
    },
  };
}
