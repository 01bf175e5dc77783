/**
 * The base matches of every rule (`-s -d -i -o -p -f`, struct ipt_ip): not extensions, but
 * printed and tested the same way, so they sit in the same dispatch table. Their options are
 * iptables' own and are read by the command-line parser (parse.ts) and the fast path's line
 * reader (fastparse.ts).
 */
import { formatIpv4, inPrefix, type Prefix } from '../../wire/ipv4.js';
import type { NfEnv, NfPacket } from '../eval.js';
import { protoName } from '../names.js';
import { ifMatch, not } from './util.js';

export type SourceMatch = { readonly kind: 'source'; readonly invert: boolean; readonly prefix: Prefix };
export type DestinationMatch = { readonly kind: 'destination'; readonly invert: boolean; readonly prefix: Prefix };
/** `name` may end in `+` (any interface with that prefix) */
export type InInterfaceMatch = { readonly kind: 'in-interface'; readonly invert: boolean; readonly name: string };
export type OutInterfaceMatch = { readonly kind: 'out-interface'; readonly invert: boolean; readonly name: string };
/** IP protocol number (`-p all` is no match at all) */
export type ProtocolMatch = { readonly kind: 'protocol'; readonly invert: boolean; readonly proto: number };
/** `-f`: second and later fragments */
export type FragmentMatch = { readonly kind: 'fragment'; readonly invert: boolean };

export type BaseMatch = SourceMatch | DestinationMatch | InInterfaceMatch | OutInterfaceMatch | ProtocolMatch | FragmentMatch;

/** How a base match prints and tests (the extensions' save and match, without options). */
export interface BaseMatchDef<M extends BaseMatch> {
  readonly kind: M['kind'];
  save(m: M): string;
  match(m: M, p: NfPacket, env: NfEnv): boolean;
}

function prefixText(p: Prefix): string {
  return `${formatIpv4(p.addr)}/${p.len}`;
}

export const source: BaseMatchDef<SourceMatch> = {
  kind: 'source',
  save: (m) => `${not(m.invert)}-s ${prefixText(m.prefix)}`,
  match: (m, p) => inPrefix(p.src, m.prefix) !== m.invert,
};

export const destination: BaseMatchDef<DestinationMatch> = {
  kind: 'destination',
  save: (m) => `${not(m.invert)}-d ${prefixText(m.prefix)}`,
  match: (m, p) => inPrefix(p.dst, m.prefix) !== m.invert,
};

export const inInterface: BaseMatchDef<InInterfaceMatch> = {
  kind: 'in-interface',
  save: (m) => `${not(m.invert)}-i ${m.name}`,
  match: (m, p) => ifMatch(m.name, p.iif) !== m.invert,
};

export const outInterface: BaseMatchDef<OutInterfaceMatch> = {
  kind: 'out-interface',
  save: (m) => `${not(m.invert)}-o ${m.name}`,
  match: (m, p) => ifMatch(m.name, p.oif) !== m.invert,
};

export const protocol: BaseMatchDef<ProtocolMatch> = {
  kind: 'protocol',
  save: (m) => `${not(m.invert)}-p ${protoName(m.proto)}`,
  match: (m, p) => (m.proto === 0 || p.proto === m.proto) !== m.invert,
};

export const fragment: BaseMatchDef<FragmentMatch> = {
  kind: 'fragment',
  save: (m) => `${not(m.invert)}-f`,
  match: (m) => m.invert, // netpath never fragments: no packet is a non-first fragment
};
