/**
 * Command-line option values, read with the same parsers as model files (src/model/notation.ts):
 * a bad value is a ConfigError with code `option` naming the option, exit code 2.
 */
import { ConfigError } from '../model/errors.js';
import { parseAddress, parseEndpoint, parseIfname, parsePort, protoPortProblem, type Parse } from '../model/notation.js';
import type { Ipv4 } from '../wire/ipv4.js';

function take<T>(p: Parse<T>, opt: string): T {
  if (p.ok) return p.value;
  throw new ConfigError('option', opt, 0, p.problem);
}

export function optionError(opt: string, detail: string): ConfigError {
  return new ConfigError('option', opt, 0, detail);
}

export function optEndpoint(text: string, opt: string): { readonly ip: Ipv4; readonly port?: number } {
  return take(parseEndpoint(text), opt);
}

export function optPort(text: string, opt: string): number {
  return take(parsePort(text), opt);
}

export function optIfname(text: string, opt: string): string {
  return take(parseIfname(text), opt);
}

/** Comma-separated addresses (`--local 10.0.0.1,10.0.0.2`); empty items are skipped. */
export function optAddressList(text: string, opt: string): Ipv4[] {
  return text
    .split(',')
    .filter((x) => x !== '')
    .map((x) => take(parseAddress(x), opt));
}

export function optProto<P extends string>(text: string, allowed: readonly P[], opt = '--proto'): P {
  if (!(allowed as readonly string[]).includes(text)) throw optionError(opt, `"${text}" must be ${allowed.slice(0, -1).join(', ')} or ${allowed[allowed.length - 1]!}`);
  return text as P;
}

/**
 * A protocol with its destination (`--to`/`--dst`) and source (`--sport`, or the port of `--src`)
 * ports: tcp, udp and sctp need a destination port, icmp takes neither.
 */
export function checkProtoPorts(proto: string, dport: number | undefined, sport: number | undefined, dstOpt: string, sportOpt: string): void {
  const p = protoPortProblem(proto, dport);
  if (p !== undefined) throw optionError(dstOpt, p);
  if (proto === 'icmp' && sport !== undefined) throw optionError(sportOpt, 'icmp takes no port');
}
