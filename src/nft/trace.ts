/**
 * `netpath rules trace` for a host holding nft rules, iptables rules or both: one packet (the
 * first of a connection) through the merged hook pipeline (pipeline.ts), no topology. Same walk
 * as the iptables-only tracer (src/netfilter/trace.ts): PREROUTING, then INPUT or FORWARD and
 * POSTROUTING; locally sent packets OUTPUT and POSTROUTING, and back in through lo when the
 * destination is local. Every numgen / `-m statistic` answer splits the walk into outcomes, each
 * with its probability. Outcomes have the iptables tracer's JSON shape; a step of an nft chain
 * names its table as `FAMILY NAME` (`ip kube-proxy`) and its text is the rule as
 * `nft list ruleset` prints it.
 */
import { ConfigError } from '../model/errors.js';
import { formatIpv4, type Ipv4 } from '../wire/ipv4.js';
import { runTable, runTableLinear, type Hook, type NfCtView, type NfPacket, type NfResult } from '../netfilter/eval.js';
import { MAX_OUTCOMES, type RulesChoice, type RulesOutcome, type RulesTraceInput } from '../netfilter/trace.js';
import type { AddrType, NfMatch, NfState, NfTableName, RejectWith } from '../netfilter/types.js';
import { runNftChain, type NftEnv, type NftResult } from './eval.js';
import { mergedPipeline, type MergedStage } from './pipeline.js';
import type { NftState } from './types.js';

const PROTO_NUM = { tcp: 6, udp: 17, sctp: 132, icmp: 1 } as const;

export interface HostRules {
  readonly nf?: NfState;
  readonly nft?: NftState;
}

/** a step of the walk: an iptables rule (`table` is its table) or an nft rule (`FAMILY TABLE`) */
export interface HostTraceStep {
  readonly hook: Hook;
  readonly table: string;
  readonly chain: string;
  readonly rule: number;
  readonly text: string;
}

export type HostOutcome = Omit<RulesOutcome, 'path'> & { readonly path: readonly HostTraceStep[] };

const isLocalAddr = (a: Ipv4, local: readonly Ipv4[]): boolean => a >>> 24 === 127 || local.includes(a);

function addrTypeOf(a: Ipv4, local: readonly Ipv4[]): AddrType {
  if (isLocalAddr(a, local)) return 'LOCAL';
  if (a === 0xffffffff) return 'BROADCAST';
  if (a >>> 28 === 14) return 'MULTICAST';
  return 'UNICAST';
}

const endpoint = (a: Ipv4, port: number | undefined): string => (port === undefined ? formatIpv4(a) : `${formatIpv4(a)}:${port}`);
const isLimit = (m: NfMatch): boolean => m.kind === 'limit';

interface Run {
  outcome: Omit<HostOutcome, 'probability' | 'choices'>;
  choices: RulesChoice[];
}

/** `FAMILY NAME` of nft tables, made once per table name (not per step) */
const tableLabels = new Map<string, Map<string, string>>();
function tableLabel(family: string, table: string): string {
  let m = tableLabels.get(family);
  if (!m) tableLabels.set(family, (m = new Map()));
  let l = m.get(table);
  if (l === undefined) m.set(table, (l = `${family} ${table}`));
  return l;
}

/** merged pipelines per (immutable) nft state, iptables state and hook */
const pipelineCache = new WeakMap<object, WeakMap<object, Map<Hook, readonly MergedStage[]>>>();
const NONE = {};
function pipelineOf(rules: HostRules, h: Hook, iptPresent: (t: NfTableName) => boolean): readonly MergedStage[] {
  const k1: object = rules.nft ?? NONE;
  const k2: object = rules.nf ?? NONE;
  let a = pipelineCache.get(k1);
  if (!a) pipelineCache.set(k1, (a = new WeakMap()));
  let m = a.get(k2);
  if (!m) a.set(k2, (m = new Map()));
  let s = m.get(h);
  if (!s) m.set(h, (s = mergedPipeline(h, rules.nft, iptPresent)));
  return s;
}

/** each hook's merged stages, found once per trace (not once per walk) */
type Stages = { [H in Hook]?: readonly MergedStage[] };

function walkOnce(rules: HostRules, input: RulesTraceInput, forced: readonly boolean[], stages: Stages): Run {
  const notes: string[] = [];
  const note = (t: string): void => {
    if (!notes.includes(t)) notes.push(t);
  };
  const choices: RulesChoice[] = [];
  const env: NftEnv = {
    addrType: (a) => addrTypeOf(a, input.local),
    choose: (probability, what) => {
      const matched = forced[choices.length] ?? true;
      choices.push({ probability, matched, what });
      return matched;
    },
    ...(input.ipsets ? { ipsets: input.ipsets } : {}),
    note,
  };
  const nf = rules.nf;
  const run = input.linear ? runTableLinear : runTable;
  const path: HostTraceStep[] = [];
  const proto = PROTO_NUM[input.proto];
  let src = input.src;
  let dst = input.dst;
  let sport = input.sport;
  let dport = input.dport;
  let mark = 0;
  let ctmark = 0;
  let tracked = true;
  let dnat: string | undefined;
  let snat: string | undefined;
  let masquerade = false;
  const origSrc = src;
  const origDst = dst;
  const localSrc = isLocalAddr(src, input.local);

  // the packet as the chains see it, made again only after the walk changed it
  let last: NfPacket | undefined;
  const packet = (iif: string | undefined, oif: string | undefined): NfPacket => {
    if (last !== undefined && last.iif === iif && last.oif === oif) return last;
    last = build(iif, oif);
    return last;
  };
  const build = (iif: string | undefined, oif: string | undefined): NfPacket => {
    const ct: NfCtView = { state: tracked ? 'NEW' : 'UNTRACKED', snat: snat !== undefined || masquerade, dnat: dnat !== undefined, origSrc, origDst, seenReply: false, confirmed: false, mark: ctmark };
    const pk: { -readonly [K in keyof NfPacket]: NfPacket[K] } = { src, dst, proto, bridged: false, mark, ct };
    if (sport !== undefined && proto !== 1) pk.sport = sport;
    if (dport !== undefined && proto !== 1) pk.dport = dport;
    if (proto === 6) pk.tcpFlags = 2;
    if (proto === 1) {
      pk.icmpType = 8;
      pk.icmpCode = 0;
    }
    if (iif !== undefined) pk.iif = iif;
    if (oif !== undefined) pk.oif = oif;
    return pk;
  };

  type Stop = Omit<HostOutcome, 'probability' | 'choices'>;
  const finish = (verdict: RulesOutcome['verdict'], delivery: RulesOutcome['delivery'], extra: { rejectWith?: RejectWith; policy?: string } = {}): Stop => ({
    verdict,
    ...(extra.rejectWith !== undefined ? { rejectWith: extra.rejectWith } : {}),
    delivery,
    ...(dnat !== undefined ? { dnat } : {}),
    ...(snat !== undefined ? { snat } : {}),
    masquerade,
    ...(mark !== 0 ? { mark: `0x${mark.toString(16)}` } : {}),
    ...(extra.policy !== undefined ? { policy: extra.policy } : {}),
    path,
    notes,
  });

  const iptPresent = (t: NfTableName): boolean => nf !== undefined && nf[t].present;
  const stagesOf = (h: Hook): readonly MergedStage[] => (stages[h] ??= pipelineOf(rules, h, iptPresent));

  /** takes one chain's result; returns a final outcome when the packet stops there, 'nat' when a binding was made */
  const take = (h: Hook, res: NfResult | NftResult, policyName: (chain: string) => string): Stop | 'nat' | undefined => {
    if (res.notes !== undefined) for (const n of res.notes) note(n);
    if (res.mark !== mark || res.ctmark !== ctmark || (res.notrack && tracked)) last = undefined;
    mark = res.mark;
    ctmark = res.ctmark;
    if (res.notrack) tracked = false;
    const v = res.verdict;
    if (v.kind === 'NAT') last = undefined;
    const policy = res.policyChain !== undefined ? policyName(res.policyChain) : undefined;
    if (v.kind === 'DROP') return finish('DROP', 'dropped', policy !== undefined ? { policy } : {});
    if (v.kind === 'REJECT') return finish('REJECT', 'dropped', { rejectWith: v.with });
    if (v.kind !== 'NAT') return undefined;
    const tg = v.target;
    switch (tg.kind) {
      case 'DNAT': {
        const r = tg.range;
        if (r.addr) {
          dst = r.addr.min;
          if (r.addr.max !== r.addr.min) note(`DNAT to a range ${formatIpv4(r.addr.min)}-${formatIpv4(r.addr.max)}: the kernel picks one address per connection; shown: the first`);
        }
        if (r.ports && proto !== 1) {
          dport = r.ports.min;
          if (r.ports.max !== r.ports.min) note(`DNAT to ports ${r.ports.min}-${r.ports.max}: shown: the first`);
        }
        dnat = endpoint(dst, proto === 1 ? undefined : dport);
        break;
      }
      case 'REDIRECT':
        dst = h === 'OUTPUT' ? 0x7f000001 : (input.local[0] ?? 0x7f000001);
        if (h !== 'OUTPUT') note(`REDIRECT goes to the first address of the incoming interface; shown: ${formatIpv4(dst)} (the first --local address)`);
        if (tg.ports && proto !== 1) dport = tg.ports.min;
        dnat = endpoint(dst, proto === 1 ? undefined : dport);
        break;
      case 'SNAT': {
        const r = tg.range;
        if (r.addr) src = r.addr.min;
        if (r.ports && proto !== 1) sport = r.ports.min;
        snat = endpoint(src, r.ports && proto !== 1 ? sport : undefined);
        break;
      }
      case 'MASQUERADE':
        masquerade = true;
        note("MASQUERADE: the source becomes the outgoing interface's address for this route (not known from a dump)");
        break;
    }
    return 'nat';
  };

  const iptSteps = (h: Hook, table: NfTableName, res: NfResult): void => {
    for (const hit of res.hits) {
      path.push({ hook: h, table, chain: hit.chain, rule: hit.index, text: hit.rule.text === '' ? `-A ${hit.chain}` : `-A ${hit.chain} ${hit.rule.text}` });
      if (hit.rule.matches.some(isLimit)) note(`-m limit assumed to match (one packet never exceeds a rate): ${hit.rule.text}`);
    }
  };
  const nftSteps = (h: Hook, res: NftResult): void => {
    for (const hit of res.hits) path.push({ hook: h, table: tableLabel(hit.family, hit.table), chain: hit.chain, rule: hit.index, text: hit.rule.text });
  };

  const hook = (h: Hook, iif: string | undefined, oif: string | undefined, skipNat = false): Stop | undefined => {
    for (const s of stagesOf(h)) {
      switch (s.kind) {
        case 'conntrack':
        case 'confirm':
          continue;
        case 'table': {
          if (!iptPresent(s.table)) continue;
          const res = run(nf!, s.table, h, packet(iif, oif), env);
          iptSteps(h, s.table, res);
          const stop = take(h, res, (c) => `${s.table} ${c}`);
          if (stop !== undefined && stop !== 'nat') return stop;
          continue;
        }
        case 'nft': {
          const res = runNftChain(rules.nft!, s.family, s.table, s.chain, h, packet(iif, oif), env);
          nftSteps(h, res);
          const stop = take(h, res, (c) => c);
          if (stop !== undefined && stop !== 'nat') return stop;
          continue;
        }
        case 'nat': {
          if (skipNat || !tracked) continue;
          for (const c of s.chains) {
            let stop: Stop | 'nat' | undefined;
            if (c.kind === 'iptables') {
              if (!iptPresent('nat')) continue;
              const res = run(nf!, 'nat', h, packet(iif, oif), env);
              iptSteps(h, 'nat', res);
              stop = take(h, res, (ch) => `nat ${ch}`);
            } else {
              const res = runNftChain(rules.nft!, c.family, c.table, c.chain, h, packet(iif, oif), env);
              nftSteps(h, res);
              stop = take(h, res, (ch) => ch);
            }
            if (stop === 'nat') break; // the first binding wins (nf_nat_inet_fn)
            if (stop !== undefined) return stop;
          }
          continue;
        }
      }
    }
    return undefined;
  };

  if (!localSrc) {
    const stop = hook('PREROUTING', input.iif, undefined);
    if (stop) return { outcome: stop, choices };
    if (isLocalAddr(dst, input.local)) {
      const s2 = hook('INPUT', input.iif, undefined);
      return { outcome: s2 ?? finish('ACCEPT', 'local'), choices };
    }
    if (input.oif === undefined) note('no --oif given: rules with -o / oifname match no interface name (! -o matches)');
    const s2 = hook('FORWARD', input.iif, input.oif) ?? hook('POSTROUTING', undefined, input.oif);
    return { outcome: s2 ?? finish('ACCEPT', 'forward'), choices };
  }
  const outIf = (): string | undefined => (isLocalAddr(dst, input.local) ? 'lo' : input.oif);
  if (input.oif === undefined && !isLocalAddr(dst, input.local)) note('no --oif given: rules with -o / oifname match no interface name (! -o matches)');
  const s1 = hook('OUTPUT', undefined, outIf());
  if (s1) return { outcome: s1, choices };
  const s2 = hook('POSTROUTING', undefined, outIf());
  if (s2) return { outcome: s2, choices };
  if (!isLocalAddr(dst, input.local)) return { outcome: finish('ACCEPT', 'output'), choices };
  const s3 = hook('PREROUTING', 'lo', undefined, true) ?? hook('INPUT', 'lo', undefined, true);
  return { outcome: s3 ?? finish('ACCEPT', 'local'), choices };
}

/** Every outcome of the packet (depth first over the numgen / statistic answers, "matched" first). */
export function traceHost(rules: HostRules, input: RulesTraceInput): HostOutcome[] {
  if (input.proto !== 'icmp' && input.dport === undefined) throw new ConfigError('model', '--dst', 0, `${input.proto} needs --dst IP:PORT`);
  const out: HostOutcome[] = [];
  const todo: boolean[][] = [[]];
  const stages: Stages = {};
  let cut = false;
  while (todo.length > 0) {
    const forced = todo.pop()!;
    const r = walkOnce(rules, input, forced, stages);
    for (let k = r.choices.length - 1; k >= forced.length; k--) {
      if (out.length + todo.length >= MAX_OUTCOMES) {
        cut = true;
        break;
      }
      todo.push([...r.choices.slice(0, k).map((c) => c.matched), false]);
    }
    let probability = 1;
    for (const c of r.choices) probability *= c.matched ? c.probability : 1 - c.probability;
    if (probability <= 0) continue;
    const notes = [...r.outcome.notes];
    if (r.choices.some((c) => c.what.startsWith('statistic nth'))) notes.push('-m statistic --mode nth counts packets; taken here as probability 1/every');
    out.push({ probability, ...r.outcome, notes, choices: r.choices.map((c) => ({ what: c.what, probability: c.probability, matched: c.matched })) });
  }
  if (cut) for (const o of out) (o.notes as string[]).push(`more than ${MAX_OUTCOMES} statistic branches: the rest were not explored`);
  return out;
}
