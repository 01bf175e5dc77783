/**
 * The registry: every iptables extension netpath models, one line each. The parser, the fast
 * path, iptables-save printing, the rule checks and the chain walk all look extensions up here,
 * and the NfMatch / NfTarget unions (types.ts) are derived from these tables, so a new
 * extension is one file in this folder plus one line below.
 */
import type { MatchExt, MatchOf, TargetExt, TargetOf } from './api.js';
import { destination, fragment, inInterface, outInterface, protocol, source, type BaseMatch } from './base.js';
import { addrtype } from './addrtype.js';
import { comment } from './comment.js';
import { connmark } from './connmark.js';
import { conntrack, state } from './conntrack.js';
import { icmp } from './icmp.js';
import { iprange } from './iprange.js';
import { limit } from './limit.js';
import { mark } from './mark.js';
import { multiport } from './multiport.js';
import { physdev } from './physdev.js';
import { recent } from './recent.js';
import { sctp } from './sctp.js';
import { set } from './set.js';
import { statistic } from './statistic.js';
import { tcp } from './tcp.js';
import { udp } from './udp.js';
import { CONNMARK } from './target-connmark.js';
import { CT } from './target-ct.js';
import { DNAT } from './target-dnat.js';
import { LOG } from './target-log.js';
import { MARK } from './target-mark.js';
import { MASQUERADE } from './target-masquerade.js';
import { NOTRACK } from './target-notrack.js';
import { REDIRECT } from './target-redirect.js';
import { REJECT } from './target-reject.js';
import { SNAT } from './target-snat.js';
import { ACCEPT, DROP, RETURN } from './target-standard.js';

/** `-m NAME` extensions, by name (the name is also the kind of the match value) */
export const MATCH_EXTS = {
  tcp,
  udp,
  sctp,
  icmp,
  multiport,
  conntrack,
  state,
  mark,
  connmark,
  addrtype,
  iprange,
  comment,
  statistic,
  limit,
  physdev,
  recent,
  set,
} as const;

/** `-j NAME` extensions, by name (the name is also the kind of the target value) */
export const TARGET_EXTS = {
  ACCEPT,
  DROP,
  RETURN,
  REJECT,
  LOG,
  SNAT,
  DNAT,
  MASQUERADE,
  REDIRECT,
  MARK,
  CONNMARK,
  NOTRACK,
  CT,
} as const;

/** Match extensions iptables has on this machine that netpath does not model (refused as unsupported). */
export const UNMODELLED_MATCHES: ReadonlySet<string> = new Set(
  'ah bpf cgroup cluster connbytes connlabel connlimit cpu dccp devgroup dscp ecn esp hashlimit helper ipcomp ipvs length mac nfacct osf owner pkttype policy quota rateest realm rpfilter socket string tcpmss time tos ttl u32 udplite'.split(' '),
);

export type ExtMatch = { [K in keyof typeof MATCH_EXTS]: MatchOf<(typeof MATCH_EXTS)[K]> }[keyof typeof MATCH_EXTS];
export type ExtTarget = { [K in keyof typeof TARGET_EXTS]: TargetOf<(typeof TARGET_EXTS)[K]> }[keyof typeof TARGET_EXTS];
export type { BaseMatch };

/** how every match kind (base or extension) prints and tests */
const BASE = [source, destination, inInterface, outInterface, protocol, fragment] as const;

type AnyMatchDef = Pick<MatchExt<{ kind: string }>, 'save' | 'match' | 'passesAll'>;
const BY_KIND = new Map<string, AnyMatchDef>();
for (const b of BASE) BY_KIND.set(b.kind, b as unknown as AnyMatchDef);
for (const e of Object.values(MATCH_EXTS)) BY_KIND.set(e.name, e as unknown as AnyMatchDef);

/** every match kind, base and extension, with how it prints and tests */
export function matchDefs(): ReadonlyMap<string, AnyMatchDef> {
  return BY_KIND;
}

/** the extension (or base match) of a match value */
export function matchDef<M extends BaseMatch | ExtMatch>(m: M): Pick<MatchExt<M>, 'save' | 'match' | 'passesAll'> {
  return BY_KIND.get(m.kind) as unknown as Pick<MatchExt<M>, 'save' | 'match' | 'passesAll'>;
}

/** a `-m NAME` extension by name, or undefined */
export function matchExt(name: string): MatchExt<ExtMatch> | undefined {
  return Object.hasOwn(MATCH_EXTS, name) ? (MATCH_EXTS[name as keyof typeof MATCH_EXTS] as unknown as MatchExt<ExtMatch>) : undefined;
}

/** a `-j NAME` extension by name, or undefined */
export function targetExt(name: string): TargetExt<ExtTarget> | undefined {
  return Object.hasOwn(TARGET_EXTS, name) ? (TARGET_EXTS[name as keyof typeof TARGET_EXTS] as unknown as TargetExt<ExtTarget>) : undefined;
}

/** the match extension loaded implicitly by `-p PROTO` with an unknown option */
export function implicitMatch(proto: number): MatchExt<ExtMatch> | undefined {
  for (const e of Object.values(MATCH_EXTS)) if ((e as MatchExt<ExtMatch>).implicitProto === proto) return e as unknown as MatchExt<ExtMatch>;
  return undefined;
}

/** match extensions with a hook check */
const CHECKS_HOOK: ReadonlySet<string> = new Set(Object.values(MATCH_EXTS).filter((e) => (e as MatchExt<ExtMatch>).checkHook !== undefined).map((e) => e.name));

/** the checkentry of a match's extension for a rule in built-in chain `hook`: why the kernel refuses it, or undefined */
export function matchHookCheck(m: BaseMatch | ExtMatch, hook: string): string | undefined {
  if (!CHECKS_HOOK.has(m.kind)) return undefined;
  return matchExt(m.kind)!.checkHook!(m as ExtMatch, hook);
}
