/**
 * nf_hook_slow: runs the stages netfilter/hooks.ts declares for a hook, in that order, and maps
 * the verdict to what the kernel does with the packet. This is the only place the engine walks
 * netfilter; routed packets, looped-back packets and bridged frames (br_netfilter) all come here.
 */
import type { NsId } from '../model/link.js';
import type { Origin } from '../model/origin.js';
import { PIPELINE, type Hook, type HookStage } from '../netfilter/hooks.js';
import { mergedPipeline, type MergedStage } from '../nft/pipeline.js';
import { runNftChain, type NftResult } from '../nft/eval.js';
import type { NftFamily } from '../nft/types.js';
import { runTable, type NfPacket, type NfResult } from '../netfilter/eval.js';
import type { NfTableName } from '../netfilter/types.js';
import type { Netns } from '../world/types.js';
import type { Sim } from './sim.js';
import type { Skb } from './skb.js';
import { addrType, facts, lookup } from './derived.js';
import { conntrackIn, confirm } from './conntrack.js';
import { natHook } from './nat.js';
import { rejectPacket } from './icmp.js';

/** The interfaces a hook sees (state->in, state->out, and br_netfilter's physical ports). */
export interface Ifs {
  readonly iif?: string | undefined;
  readonly oif?: string | undefined;
  readonly physIn?: string | undefined;
  readonly physOut?: string | undefined;
  readonly bridged: boolean;
}

/** What a hook did with the packet. */
export type HookVerdict =
  | { readonly kind: 'accept' }
  /** a table's or nft chain's verdict other than ACCEPT (DROP or REJECT), not yet acted on: see nfVerdict */
  | { readonly kind: 'verdict'; readonly table: string; readonly res: ChainResult; readonly origin: Origin | undefined }
  /** dropped by a stage that recorded its own drop (NAT without an address, a confirm clash, a failed re-route) */
  | { readonly kind: 'dropped'; readonly errno: string };

export const ACCEPT: HookVerdict = { kind: 'accept' };

/** What nfVerdict needs of a chain's result (an iptables table's or an nft chain's). */
export interface ChainResult {
  readonly verdict: NfResult['verdict'];
  readonly decidedBy?: { readonly index: number };
  readonly policyChain?: string;
}

/** The stages of a hook in a namespace: the declaration, or with its nft base chains merged in. */
const stageCache = new WeakMap<Netns, Map<Hook, readonly MergedStage[]>>();

export function stagesOf(ns: Netns, hook: Hook): readonly (HookStage | MergedStage)[] {
  if (!ns.nft) return PIPELINE[hook];
  let m = stageCache.get(ns);
  if (!m) stageCache.set(ns, (m = new Map()));
  let st = m.get(hook);
  if (!st) m.set(hook, (st = mergedPipeline(hook, ns.nft, (t) => ns.nf[t].present)));
  return st;
}

export interface HookCtx {
  /** ip_route_me_harder for OUTPUT: re-route after mangle (mark changed) or nat (destination changed) */
  readonly reroute?: (why: 'mark' | 'dst') => string | undefined;
}

export function nfPacket(skb: Skb, ifs: Ifs): NfPacket {
  const p = skb.pkt;
  const l4 = p.l4;
  const pk: { -readonly [K in keyof NfPacket]: NfPacket[K] } = {
    src: p.src,
    dst: p.dst,
    proto: l4.kind === 'tcp' ? 6 : l4.kind === 'udp' ? 17 : 1,
    bridged: ifs.bridged,
    mark: skb.mark,
  };
  if (l4.kind !== 'icmp') {
    pk.sport = l4.sport;
    pk.dport = l4.dport;
  } else {
    pk.icmpType = l4.type;
    pk.icmpCode = l4.code;
  }
  if (l4.kind === 'tcp') {
    const f = l4.flags;
    pk.tcpFlags = (f.fin ? 1 : 0) | (f.syn ? 2 : 0) | (f.rst ? 4 : 0) | (f.psh ? 8 : 0) | (f.ack ? 16 : 0);
  }
  if (ifs.iif !== undefined) pk.iif = ifs.iif;
  if (ifs.oif !== undefined) pk.oif = ifs.oif;
  if (ifs.physIn !== undefined) pk.physIn = ifs.physIn;
  if (ifs.physOut !== undefined) pk.physOut = ifs.physOut;
  if (skb.untracked) pk.ct = { state: 'UNTRACKED', snat: false, dnat: false, origSrc: 0, origDst: 0, seenReply: false, confirmed: false, mark: 0 };
  else if (skb.ct) {
    const e = skb.ct.entry;
    pk.ct = { state: skb.ct.state, snat: e.snat, dnat: e.dnat, origSrc: e.orig.src, origDst: e.orig.dst, seenReply: e.seenReply, confirmed: e.confirmed, mark: e.mark };
  }
  return pk;
}

const ACCEPT_RESULT = (skb: Skb): NfResult => ({ verdict: { kind: 'ACCEPT' }, mark: skb.mark, ctmark: skb.ct?.entry.mark ?? 0, notrack: false, hits: [], logs: [] });

/** Runs one table's chain for this hook; records the rules that matched; applies MARK/CONNMARK/NOTRACK. */
export function runTableAt(sim: Sim, nsId: NsId, table: NfTableName, hook: Hook, skb: Skb, ifs: Ifs): NfResult {
  const ns = sim.ns(nsId);
  if (!ns.nf[table].present) return ACCEPT_RESULT(skb);
  const res = runTable(ns.nf, table, hook, nfPacket(skb, ifs), {
    addrType: (a, dev) => addrType(ns, a, dev),
    choose: (p, what) => sim.choose(p, what),
  });
  const hits = res.hits;
  for (let i = 0; i < hits.length; i++) {
    const h = hits[i]!;
    const tg = h.rule.target;
    const verdict = tg ? (tg.kind === 'jump' || tg.kind === 'goto' ? `${tg.kind} ${tg.chain}` : tg.kind) : 'count';
    sim.step({ kind: 'nf', ns: nsId, hook, nf: { table, chain: h.chain, rule: h.index, text: h.rule.text, verdict }, origin: h.rule.origin, packet: skb.pkt, dir: skb.dir });
    if (h.rule.matches.some((m) => m.kind === 'limit')) sim.notes.add(`-m limit assumed to match (a single probe never exceeds a rate): ${h.rule.text}`);
  }
  for (const l of res.logs) sim.step({ kind: 'nf', ns: nsId, hook, nf: { table, chain: hook }, log: l, dir: skb.dir, packet: skb.pkt });
  if (res.notes) for (const n of res.notes) sim.notes.add(n);
  if (res.policyChain !== undefined && res.verdict.kind === 'DROP') {
    const o = policyOrigin(ns, table, hook);
    sim.step({ kind: 'nf', ns: nsId, hook, nf: { table, chain: hook, verdict: 'DROP' }, policy: true, packet: skb.pkt, dir: skb.dir, ...(o ? { origin: o } : {}) });
  }
  applyChainResult(skb, res);
  return res;
}

/**
 * Runs every stage of `hook` (PIPELINE[hook]) on the packet. Stops at the first table verdict
 * other than ACCEPT and returns it unacted (the caller's nfVerdict decides what that means where
 * it is); NAT and confirm failures record their own drop.
 */
export function nfHook(sim: Sim, nsId: NsId, hook: Hook, skb: Skb, ifs: Ifs, ctx: HookCtx = {}): HookVerdict {
  const ns = sim.ns(nsId);
  const stages = stagesOf(ns, hook);
  // the hook's out device is fixed when the hook starts (nf_hook's state->out): a re-route by a
  // mark or a DNAT in OUTPUT changes where the packet goes, but the later tables' -o/oifname still
  // see the first route's device; POSTROUTING sees the new one (observed on Linux 6.18:
  // models/k-output-oif-after-reroute.yaml): `ifs` is used unchanged for every stage
  for (let i = 0; i < stages.length; i++) {
    const st = stages[i]!;
    switch (st.kind) {
      case 'table': {
        if (!ns.nf[st.table].present) break;
        const mark0 = skb.mark;
        const res = runTableAt(sim, nsId, st.table, hook, skb, ifs);
        if (res.verdict.kind !== 'ACCEPT') return { kind: 'verdict', table: st.table, res, origin: verdictOrigin(ns, st.table, hook, res) };
        if (st.reroute && ctx.reroute && skb.mark !== mark0) {
          const err = ctx.reroute('mark');
          if (err !== undefined) return { kind: 'dropped', errno: err };
        }
        break;
      }
      case 'conntrack':
        conntrackIn(sim, nsId, skb);
        break;
      case 'nft': {
        const mark0 = skb.mark;
        const res = runNftAt(sim, nsId, st, hook, skb, ifs);
        if (res.verdict.kind !== 'ACCEPT') return { kind: 'verdict', table: `${st.family} ${st.table}`, res, origin: res.decidedBy?.rule.origin };
        if (st.reroute && ctx.reroute && skb.mark !== mark0) {
          const err = ctx.reroute('mark');
          if (err !== undefined) return { kind: 'dropped', errno: err };
        }
        break;
      }
      case 'nat': {
        const dst0 = skb.pkt.dst;
        const v = natHook(sim, nsId, hook, st.manip, skb, ifs, 'chains' in st ? st.chains : undefined);
        if (v.kind !== 'accept') return v;
        if (st.reroute && ctx.reroute && skb.pkt.dst !== dst0) {
          const err = ctx.reroute('dst');
          if (err !== undefined) return { kind: 'dropped', errno: err };
        }
        break;
      }
      case 'confirm':
        if (!confirm(sim, nsId, skb)) {
          sim.drop(nsId, skb, 'nf-drop', hook.toLowerCase(), { kind: 'ct-clash' }, { dev: ifs.oif ?? ifs.iif });
          return { kind: 'dropped', errno: 'EPERM' };
        }
        break;
    }
  }
  return ACCEPT;
}

/** Runs one nft base chain for this hook; records its rules like an iptables table's. */
export function runNftAt(sim: Sim, nsId: NsId, st: { readonly family: NftFamily; readonly table: string; readonly chain: string }, hook: Hook, skb: Skb, ifs: Ifs): NftResult {
  const ns = sim.ns(nsId);
  const res = runNftChain(ns.nft!, st.family, st.table, st.chain, hook, nfPacket(skb, ifs), {
    addrType: (a, dev) => addrType(ns, a, dev),
    choose: (p, what) => sim.choose(p, what),
    fibOif: (q) => {
      const r = lookup(ns, q.addr, 0, q.mark ?? 0, q.iif ?? 'lo');
      return r.kind === 'route' && r.route.oif !== undefined ? facts(ns).byIndex.get(r.route.oif)?.name : undefined;
    },
  });
  const table = `${st.family} ${st.table}`;
  for (const h of res.hits) {
    sim.step({ kind: 'nf', ns: nsId, hook, nf: { table, chain: h.chain, rule: h.index, text: h.rule.text, verdict: 'match' }, origin: h.rule.origin, packet: skb.pkt, dir: skb.dir });
  }
  for (const l of res.logs) sim.step({ kind: 'nf', ns: nsId, hook, nf: { table, chain: st.chain }, log: l, dir: skb.dir, packet: skb.pkt });
  if (res.notes) for (const n of res.notes) sim.notes.add(n);
  if (res.policyChain !== undefined && res.verdict.kind === 'DROP') sim.step({ kind: 'nf', ns: nsId, hook, nf: { table, chain: st.chain, verdict: 'DROP' }, policy: true, packet: skb.pkt, dir: skb.dir });
  applyChainResult(skb, res);
  return res;
}

/** What a chain did to the skb beyond its verdict: MARK, CONNMARK, NOTRACK (before confirm). */
function applyChainResult(skb: Skb, res: { readonly mark: number; readonly ctmark: number; readonly notrack: boolean }): void {
  skb.mark = res.mark;
  if (skb.ct && res.ctmark !== skb.ct.entry.mark) skb.ct.entry.mark = res.ctmark;
  if (res.notrack && !skb.attached && !skb.ct?.entry.confirmed) {
    skb.untracked = true;
    skb.ct = undefined;
  }
}

/** The chain policy's runbook line, when the runbook set it. */
export function policyOrigin(ns: Netns, table: NfTableName, chain: string): Origin | undefined {
  return ns.nf[table].chains[chain]?.policyOrigin;
}

/** Where a table verdict's blame lies: the deciding rule's line, else the policy's. */
export function verdictOrigin(ns: Netns, table: NfTableName, hook: Hook, res: NfResult): Origin | undefined {
  return res.decidedBy?.rule.origin ?? policyOrigin(ns, table, hook);
}

/**
 * The one mapping from a hook's verdict to the packet's fate: DROP ends it (NF_DROP: a local
 * sender's call fails with EPERM, nf_hook_slow's NF_DROP_GETERR), REJECT ends it and answers
 * (ipt_REJECT: an ICMP error or a TCP RST, then NF_DROP). Returns undefined when the packet goes
 * on, else the errno a local sender gets.
 */
export function nfVerdict(sim: Sim, nsId: NsId, hook: Hook, skb: Skb, v: HookVerdict, dev: string | undefined): string | undefined {
  if (v.kind === 'accept') return undefined;
  if (v.kind === 'dropped') return v.errno;
  const res = v.res;
  const origin = v.origin;
  const policy = res.policyChain !== undefined;
  const bridged = skb.physIn !== undefined && skb.rt === undefined;
  const rule = res.decidedBy?.index;
  const stage = hook.toLowerCase();
  if (res.verdict.kind === 'REJECT') {
    const how = res.verdict.with;
    sim.drop(nsId, skb, 'nf-reject', stage, { kind: 'nf', table: v.table, hook, policy, bridged, rejectWith: how, ...(rule !== undefined ? { rule } : {}) }, { dev, origin });
    rejectPacket(sim, nsId, skb, how);
    // REJECT sends its error and returns NF_DROP: a local sender's call fails with EPERM
    // (observed: models/conf-output-reject-local.yaml)
    return 'EPERM';
  }
  sim.drop(nsId, skb, 'nf-drop', stage, { kind: 'nf', table: v.table, hook, policy, bridged, ...(rule !== undefined && !policy ? { rule } : {}) }, { dev, origin });
  return 'EPERM';
}
