/**
 * The packet walk. One Sim runs one probe against an immutable World: it owns the dynamic state
 * (conntrack, neighbour caches, bridge FDBs, sockets, the event queue) and records every step.
 *
 * Order of the walk, from the kernel (include/uapi/linux/netfilter_ipv4.h priorities:
 * raw -300, conntrack -200, mangle -150, nat DST -100, filter 0, nat SRC 100, confirm last;
 * net/ipv4/ip_output.c, ip_input.c, ip_forward.c, route.c):
 *   local out:  route -> OUTPUT raw, conntrack, mangle, nat(DNAT, reroute), filter
 *               -> POSTROUTING mangle, nat(SNAT) -> confirm -> neighbour -> xmit
 *   receive:    PREROUTING raw, conntrack, mangle, nat(DNAT) -> route input
 *               -> INPUT mangle, filter, nat(SNAT) -> confirm -> socket
 *               -> or FORWARD (ttl) mangle, filter -> POSTROUTING mangle, nat -> confirm -> xmit
 * The clock is simulated (microseconds); randomness comes only from the seed and the choice list.
 */
import type { Link, NsId } from '../model/link.js';
import type { Origin } from '../model/origin.js';
import { bug } from '../model/errors.js';
import type { Route } from '../route/types.js';
import { runTable, type Hook, type NfPacket, type NfResult, type NatTarget } from '../netfilter/eval.js';
import type { NfTableName, RejectWith } from '../netfilter/types.js';
import { formatIpv4, inPrefix, isLoopbackNet, isMulticast, networkOf } from '../wire/ipv4.js';
import type { Netns, World } from '../world/types.js';
import { hasCarrier, peerOf } from '../world/links.js';
import { effectiveConf } from '../world/sysctl.js';
import type { Capture, Drop, DropCode, Step, StepKind } from '../trace/types.js';
import { Conntrack, classify, classifyRelated, natPacket, type CtEntry, type CtState, type Tuple } from './conntrack.js';
import { addrType, facts, lookup, routeSource, selectAddr } from './derived.js';
import { BROADCAST_MAC, ICMP, type ArpPacket, type Frame, type IpPacket, type TcpFlags, type TcpHeader, isIcmpError } from './packet.js';

export type Dir = 'request' | 'reply';

/** Per-packet metadata the kernel keeps in the skb. */
interface Skb {
  pkt: IpPacket;
  mark: number;
  ct?: { entry: CtEntry; dir: 'orig' | 'reply'; state: CtState };
  untracked: boolean;
  dir: Dir;
  /** input device name (undefined for locally generated) */
  iif?: string;
  /** the route chosen on output or input */
  rt?: Route;
  /** delivered locally (RTCF_LOCAL) */
  local?: boolean;
  /** hops so far, for the engine's own loop guard */
  hops: number;
}

export interface ClientResult {
  readonly errno: string;
  readonly t: number;
}

interface NeighEntry {
  mac?: string;
  state: 'incomplete' | 'reachable' | 'failed';
  queue: { skb: Skb; dev: number }[];
  probes: number;
  /** the route that sent packets to this neighbour */
  origin?: Origin;
}

interface TcpConn {
  readonly ns: NsId;
  readonly local: number;
  readonly lport: number;
  readonly remote: number;
  readonly rport: number;
  role: 'client' | 'server';
  state: 'SYN_SENT' | 'SYN_RECV' | 'ESTABLISHED' | 'FIN_WAIT' | 'CLOSE_WAIT' | 'LAST_ACK' | 'CLOSED';
  snd: number;
  rcv: number;
  /** bytes of response still expected (client) */
  pending: number;
}

export interface SimOptions {
  /** stop after this much simulated time (µs); a client with no answer by then times out */
  readonly horizonUs: number;
  /** forced answers for -m statistic decisions, in the order they come up */
  readonly choices: readonly boolean[];
  /** the whole TCP exchange (request, response, FIN) after the handshake, for captures */
  readonly fullTcp: boolean;
  readonly seed: number;
}

export const DEFAULT_SIM: SimOptions = { horizonUs: 10_000_000, choices: [], fullTcp: true, seed: 1 };

const LINK_LATENCY_US = 5;
const LAN_LATENCY_US = 60;
const MAX_EVENTS = 20_000;
const MAX_HOPS = 255;

export const HTTP_REQUEST = 'GET / HTTP/1.1\r\nHost: netpath\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n';
export const HTTP_RESPONSE_HEADER =
  'HTTP/1.1 200 OK\r\nServer: netpath\r\nContent-Type: text/plain\r\nContent-Length: 24\r\nConnection: close\r\n\r\n';
export const HTTP_RESPONSE_BODY = 'hello from netpath probe\n'.slice(0, 24);

export class Sim {
  t = 0;
  readonly steps: Step[] = [];
  readonly drops: Drop[] = [];
  readonly captures: Capture[] = [];
  readonly notes = new Set<string>();
  /** statistic decisions taken: probability of the branch and whether it matched */
  readonly choiceLog: { p: number; matched: boolean; what: string }[] = [];
  client?: ClientResult;
  /** the client's flow, set by the probe driver */
  clientFlow?: { ns: NsId; proto: 'tcp' | 'udp' | 'icmp'; local: number; lport: number; remote: number; rport: number };
  /** the request reached a socket in the destination namespace */
  requestDelivered?: { ns: NsId; t: number };
  /** every delivery of a request-direction packet to a local socket layer */
  readonly deliveries: { ns: NsId; t: number }[] = [];
  exhausted = false;

  private queue: { t: number; seq: number; run: () => void }[] = [];
  private seq = 0;
  private events = 0;
  private readonly ct = new Map<NsId, Conntrack>();
  private readonly neigh = new Map<string, NeighEntry>();
  private readonly fdb = new Map<string, Map<string, number>>();
  private readonly ipIds = new Map<NsId, number>();
  private readonly tcp = new Map<string, TcpConn>();
  private rng: number;

  constructor(
    readonly world: World,
    readonly opts: SimOptions,
  ) {
    this.rng = opts.seed >>> 0 || 1;
  }

  // -------------------------------------------------------------------------------------------
  // event loop

  at(delay: number, run: () => void): void {
    const t = this.t + delay;
    const e = { t, seq: this.seq++, run };
    // insertion keeps the queue sorted by (t, seq); queues stay tiny
    let i = this.queue.length;
    while (i > 0 && this.queue[i - 1]!.t > t) i--;
    this.queue.splice(i, 0, e);
  }

  run(): void {
    while (this.queue.length > 0) {
      const e = this.queue.shift()!;
      if (e.t > this.opts.horizonUs) break;
      if (++this.events > MAX_EVENTS) {
        this.exhausted = true;
        this.notes.add(`stopped after ${MAX_EVENTS} events (a forwarding or bridge loop?)`);
        break;
      }
      this.t = e.t;
      e.run();
    }
  }

  random(): number {
    // xorshift32: deterministic for a seed
    let x = this.rng;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.rng = x >>> 0;
    return this.rng;
  }

  // -------------------------------------------------------------------------------------------
  // recording

  step(kind: StepKind, ns: NsId, detail: string, extra: Partial<Omit<Step, 'kind' | 'ns' | 'detail' | 't'>> = {}): void {
    this.steps.push({ t: this.t, ns, kind, detail, ...extra });
  }

  drop(ns: NsId, skb: Skb, code: DropCode, stage: string, detail: string, dev?: string, origin?: Origin): void {
    const d: Drop = {
      t: this.t,
      ns,
      code,
      stage,
      detail,
      packet: skb.pkt,
      dir: skb.dir,
      ...(dev !== undefined ? { dev } : {}),
      ...(origin ? { origin } : {}),
    };
    this.drops.push(d);
    this.step('drop', ns, detail, { packet: skb.pkt, dir: skb.dir, ...(dev !== undefined ? { dev } : {}), ...(origin ? { origin } : {}) });
  }

  private capture(ns: NsId, dev: string, dir: 'in' | 'out', frame: Frame, comment?: string): void {
    this.captures.push({ t: this.t, ns, dev, dir, frame, ...(comment !== undefined ? { comment } : {}) });
  }

  ns(id: NsId): Netns {
    return this.world.netns[id] ?? bug(`no namespace ${id}`);
  }

  private conntrack(id: NsId): Conntrack {
    let c = this.ct.get(id);
    if (!c) this.ct.set(id, (c = new Conntrack()));
    return c;
  }

  conntrackEntries(id: NsId): readonly CtEntry[] {
    return this.ct.get(id)?.entries ?? [];
  }

  nextIpId(ns: NsId): number {
    const v = (this.ipIds.get(ns) ?? (this.random() & 0xffff)) & 0xffff;
    this.ipIds.set(ns, (v + 1) & 0xffff);
    return v;
  }

  // -------------------------------------------------------------------------------------------
  // netfilter glue

  private nfPacket(skb: Skb, extra: { iif?: string; oif?: string; physIn?: string; physOut?: string; bridged?: boolean }): NfPacket {
    const p = skb.pkt;
    const l4 = p.l4;
    const base: NfPacket = {
      src: p.src,
      dst: p.dst,
      proto: l4.kind === 'tcp' ? 6 : l4.kind === 'udp' ? 17 : 1,
      ...(l4.kind !== 'icmp' ? { sport: l4.sport, dport: l4.dport } : { icmpType: l4.type, icmpCode: l4.code }),
      ...(l4.kind === 'tcp' ? { tcpFlags: tcpBits(l4.flags) } : {}),
      ...(extra.iif !== undefined ? { iif: extra.iif } : {}),
      ...(extra.oif !== undefined ? { oif: extra.oif } : {}),
      ...(extra.physIn !== undefined ? { physIn: extra.physIn } : {}),
      ...(extra.physOut !== undefined ? { physOut: extra.physOut } : {}),
      bridged: extra.bridged ?? false,
      mark: skb.mark,
      ...(skb.untracked
        ? { ct: { state: 'UNTRACKED', snat: false, dnat: false, origSrc: 0, origDst: 0, seenReply: false, confirmed: false, mark: 0 } as const }
        : skb.ct
          ? {
              ct: {
                state: skb.ct.state,
                snat: skb.ct.entry.snat,
                dnat: skb.ct.entry.dnat,
                origSrc: skb.ct.entry.orig.src,
                origDst: skb.ct.entry.orig.dst,
                seenReply: skb.ct.entry.seenReply,
                confirmed: skb.ct.entry.confirmed,
                mark: skb.ct.entry.mark,
              },
            }
          : {}),
    };
    return base;
  }

  /** Runs one table at one hook; records matched rules; applies MARK/CONNMARK/NOTRACK. */
  private table(nsId: NsId, table: NfTableName, hook: Hook, skb: Skb, ifs: { iif?: string; oif?: string; physIn?: string; physOut?: string; bridged?: boolean }): NfResult {
    const ns = this.ns(nsId);
    const t = ns.nf[table];
    if (!t.present) return { verdict: { kind: 'ACCEPT' }, mark: skb.mark, ctmark: skb.ct?.entry.mark ?? 0, notrack: false, hits: [], logs: [] };
    const res = runTable(ns.nf, table, hook, this.nfPacket(skb, ifs), {
      addrType: (a, dev) => addrType(ns, a, dev),
      choose: (p, what) => this.choose(p, what),
    });
    for (const h of res.hits) {
      const tg = h.rule.target;
      const verdict = tg ? (tg.kind === 'jump' || tg.kind === 'goto' ? `${tg.kind} ${tg.chain}` : tg.kind) : 'count';
      this.step('nf', nsId, `${table} ${h.chain} rule ${h.index}: -A ${h.chain} ${h.rule.text}`, {
        nf: { table, chain: h.chain, rule: h.index, text: h.rule.text, verdict },
        origin: h.rule.origin,
        packet: skb.pkt,
        dir: skb.dir,
      });
      if (h.rule.matches.some((m) => m.kind === 'limit')) this.notes.add(`-m limit assumed to match (a single probe never exceeds a rate): ${h.rule.text}`);
    }
    for (const l of res.logs) this.step('nf', nsId, `${table} ${hook}: ${l} (kernel log line)`, { dir: skb.dir, packet: skb.pkt });
    for (const n of res.notes ?? []) this.notes.add(n);
    if (res.policyChain !== undefined && res.verdict.kind === 'DROP') {
      this.step('nf', nsId, `${table} ${hook} policy DROP`, { nf: { table, chain: hook, verdict: 'DROP' }, packet: skb.pkt, dir: skb.dir, ...policyOrigin(ns, table, hook) });
    }
    skb.mark = res.mark;
    if (skb.ct && res.ctmark !== skb.ct.entry.mark) skb.ct.entry.mark = res.ctmark;
    if (res.notrack && !skb.ct?.entry.confirmed) {
      skb.untracked = true;
      delete skb.ct;
    }
    return res;
  }

  private choose(p: number, what: string): boolean {
    const i = this.choiceLog.length;
    const forced = this.opts.choices[i];
    const matched = forced ?? true;
    this.choiceLog.push({ p, matched, what });
    return matched;
  }

  /** nf_conntrack_in at PREROUTING or OUTPUT. */
  private conntrackIn(nsId: NsId, skb: Skb): void {
    if (skb.untracked) return;
    if (skb.ct && skb.ct.entry.confirmed && skb.iif === 'lo') {
      // a looped-back local packet keeps its conntrack
      return;
    }
    const ct = this.conntrack(nsId);
    if (isIcmpError(skb.pkt)) {
      const rel = classifyRelated(ct, skb.pkt);
      if (rel) {
        skb.ct = { entry: rel.entry, dir: rel.dir, state: 'RELATED' };
        this.step('conntrack', nsId, `conntrack: RELATED to ${tupleText(rel.entry.orig)}`, { packet: skb.pkt, dir: skb.dir });
        return;
      }
      delete skb.ct;
      this.step('conntrack', nsId, 'conntrack: INVALID (ICMP error for no known connection)', { packet: skb.pkt, dir: skb.dir });
      return;
    }
    const c = classify(ct, skb.pkt, undefined);
    if (!('entry' in c)) {
      delete skb.ct;
      this.step('conntrack', nsId, 'conntrack: INVALID', { packet: skb.pkt, dir: skb.dir });
      return;
    }
    skb.ct = { entry: c.entry, dir: c.dir, state: c.state };
    if (c.dir === 'reply' && !c.entry.seenReply) c.entry.seenReply = true;
    this.step('conntrack', nsId, `conntrack: ${c.state}${c.dir === 'reply' ? ' (reply direction)' : ''} ${tupleText(c.entry.orig)}`, {
      packet: skb.pkt,
      dir: skb.dir,
    });
  }

  /** __nf_conntrack_confirm at POSTROUTING / INPUT. */
  private confirm(nsId: NsId, skb: Skb): boolean {
    if (!skb.ct || skb.ct.entry.confirmed) return true;
    return this.conntrack(nsId).confirm(skb.ct.entry);
  }

  /** The NAT hooks: decide on the first packet, then rewrite from the conntrack entry. */
  private nat(nsId: NsId, hook: Hook, skb: Skb, ifs: { iif?: string; oif?: string }, outRoute?: Route): 'ok' | 'drop' {
    if (skb.untracked || !skb.ct) return 'ok';
    const manip: 'src' | 'dst' = hook === 'PREROUTING' || hook === 'OUTPUT' ? 'dst' : 'src';
    const e = skb.ct.entry;
    const done = manip === 'src' ? e.srcDone : e.dstDone;
    if (!done && skb.ct.state === 'NEW' && skb.ct.dir === 'orig') {
      const res = this.table(nsId, 'nat', hook, skb, ifs);
      if (res.verdict.kind === 'DROP') {
        this.drop(nsId, skb, 'nf-drop', hook.toLowerCase(), `dropped by nat ${hook}`, ifs.oif ?? ifs.iif, res.decidedBy?.rule.origin);
        return 'drop';
      }
      if (res.verdict.kind === 'NAT') {
        const ok = this.bind(nsId, skb, res.verdict.target, manip, hook, ifs, outRoute, res.decidedBy?.rule.origin);
        if (!ok) return 'drop';
      }
      if (manip === 'src') e.srcDone = true;
      else e.dstDone = true;
    }
    const before = skb.pkt;
    const after = natPacket(e, skb.ct.dir, manip, skb.pkt);
    if (after !== before) {
      skb.pkt = after;
      this.step('nat', nsId, `NAT: ${natText(before, after)}`, { before, packet: after, dir: skb.dir });
    }
    return 'ok';
  }

  /** nf_nat_setup_info: computes the new reply tuple for a NAT target. */
  private bind(nsId: NsId, skb: Skb, tg: NatTarget, manip: 'src' | 'dst', hook: Hook, ifs: { iif?: string; oif?: string }, outRoute: Route | undefined, origin: Origin | undefined): boolean {
    const e = skb.ct!.entry;
    const ns = this.ns(nsId);
    const orig = e.orig;
    let reply = e.reply;
    const hasPorts = orig.proto !== 'icmp';
    if (manip === 'dst') {
      if (tg.kind === 'DNAT') {
        const a = tg.range.addr ? tg.range.addr.min : orig.dst;
        if (tg.range.addr && tg.range.addr.max !== tg.range.addr.min) this.notes.add(`DNAT range ${formatIpv4(tg.range.addr.min)}-${formatIpv4(tg.range.addr.max)}: the first address is used (the kernel hashes the source)`);
        const port = hasPorts && tg.range.ports ? tg.range.ports.min : orig.dport;
        reply = { ...reply, src: a, sport: port };
      } else if (tg.kind === 'REDIRECT') {
        // nf_nat_redirect_ipv4: the primary address of the incoming device (127.0.0.1 for local)
        let a = 0x7f000001;
        if (hook === 'PREROUTING' && ifs.iif !== undefined) {
          const dev = facts(ns).byName.get(ifs.iif);
          const prim = ns.addrs.find((x) => x.ifindex === dev?.ifindex && !x.secondary);
          if (!prim) {
            this.drop(nsId, skb, 'nf-drop', 'prerouting', `REDIRECT: ${ifs.iif} has no address`, ifs.iif, origin);
            return false;
          }
          a = prim.local;
        }
        const port = hasPorts && tg.ports ? tg.ports.min : orig.dport;
        reply = { ...reply, src: a, sport: port };
      } else {
        this.notes.add(`${tg.kind} in a DST-manip hook is refused by iptables`);
        return true;
      }
      e.dnat = reply.src !== orig.dst || reply.sport !== orig.dport;
    } else {
      let a: number | undefined;
      let ports = tg.kind === 'SNAT' ? tg.range.ports : tg.kind === 'MASQUERADE' ? tg.ports : undefined;
      if (tg.kind === 'SNAT') a = tg.range.addr ? tg.range.addr.min : orig.src;
      else if (tg.kind === 'MASQUERADE') {
        // nf_nat_masquerade_ipv4: inet_select_addr(out, nexthop, RT_SCOPE_UNIVERSE)
        const r = outRoute;
        const nh = r?.via ?? skb.pkt.dst;
        a = selectAddr(ns, r?.oif, nh, 0);
        if (a === undefined) {
          this.drop(nsId, skb, 'nf-drop', 'postrouting', `MASQUERADE: no usable address on ${ifs.oif ?? '?'}`, ifs.oif, origin);
          return false;
        }
      } else {
        this.notes.add(`${tg.kind} in a SRC-manip hook is refused by iptables`);
        return true;
      }
      if (!hasPorts) ports = undefined;
      let port = ports ? clampPort(orig.sport, ports) : orig.sport;
      reply = { ...reply, dst: a, dport: port };
      // nf_nat_used_tuple: keep the port unless another connection already has that tuple
      const ct = this.conntrack(nsId);
      let tries = 0;
      while (ct.replyTaken(reply, e) && tries++ < 65536) {
        port = ports ? (port >= ports.max ? ports.min : port + 1) : port >= 65535 ? 1024 : port + 1;
        reply = { ...reply, dport: port };
      }
      e.snat = reply.dst !== orig.src || reply.dport !== orig.sport;
    }
    e.reply = reply;
    this.step('nat', nsId, `${tg.kind} binding: reply tuple ${tupleText(reply)}`, { packet: skb.pkt, dir: skb.dir, ...(origin ? { origin } : {}) });
    return true;
  }

  // -------------------------------------------------------------------------------------------
  // output

  /**
   * A locally generated packet (socket, stack reply, REJECT, ICMP error). Returns an errno when
   * the send fails synchronously (what the socket call would return), else undefined.
   */
  output(nsId: NsId, pkt: IpPacket, dir: Dir, opts: { ct?: Skb['ct']; origin?: string } = {}): string | undefined {
    const ns = this.ns(nsId);
    const skb: Skb = { pkt, mark: 0, untracked: false, dir, hops: 0, ...(opts.ct ? { ct: opts.ct } : {}) };
    const r = this.routeOutput(nsId, skb);
    if (typeof r === 'string') return r;
    skb.rt = r;
    // OUTPUT: raw, conntrack, mangle, nat (DST), filter
    const oif = r.oif !== undefined ? facts(ns).byIndex.get(r.oif)?.name : undefined;
    const ifs = { ...(oif !== undefined ? { oif } : {}) };
    let v = this.table(nsId, 'raw', 'OUTPUT', skb, ifs);
    if (v.verdict.kind !== 'ACCEPT') return this.outputVerdict(nsId, skb, v, 'OUTPUT', 'raw');
    if (!opts.ct) this.conntrackIn(nsId, skb);
    const mark0 = skb.mark;
    v = this.table(nsId, 'mangle', 'OUTPUT', skb, ifs);
    if (v.verdict.kind !== 'ACCEPT') return this.outputVerdict(nsId, skb, v, 'OUTPUT', 'mangle');
    const dst0 = skb.pkt.dst;
    if (this.nat(nsId, 'OUTPUT', skb, ifs) === 'drop') return 'EPERM';
    if (skb.pkt.dst !== dst0 || skb.mark !== mark0) {
      // ip_route_me_harder: a new destination or mark means a new route
      const r2 = this.routeOutput(nsId, skb, true);
      if (typeof r2 === 'string') return r2;
      skb.rt = r2;
    }
    const oif2 = skb.rt.oif !== undefined ? facts(ns).byIndex.get(skb.rt.oif)?.name : undefined;
    const ifs2 = { ...(oif2 !== undefined ? { oif: oif2 } : {}) };
    v = this.table(nsId, 'filter', 'OUTPUT', skb, ifs2);
    if (v.verdict.kind !== 'ACCEPT') return this.outputVerdict(nsId, skb, v, 'OUTPUT', 'filter');
    return this.postrouting(nsId, skb, ifs2.oif);
  }

  private outputVerdict(nsId: NsId, skb: Skb, v: NfResult, hook: Hook, table: string): string | undefined {
    const origin = v.decidedBy?.rule.origin ?? policyOrigin(this.ns(nsId), table as NfTableName, hook).origin;
    if (v.verdict.kind === 'REJECT') {
      this.drop(nsId, skb, 'nf-reject', hook.toLowerCase(), `rejected by ${table} ${hook} (${v.verdict.with})`, skb.iif, origin);
      this.reject(nsId, skb, v.verdict.with);
      // REJECT sends its error and returns NF_DROP: the sending call fails with EPERM (observed:
      // models/conf-output-reject-local.yaml)
      return 'EPERM';
    }
    this.drop(nsId, skb, 'nf-drop', hook.toLowerCase(), `dropped by ${table} ${hook}${v.policyChain ? ' policy DROP' : ''}`, skb.iif, origin);
    // NF_DROP in LOCAL_OUT returns -EPERM to the sender (nf_hook_slow: NF_DROP_GETERR)
    return 'EPERM';
  }

  private routeOutput(nsId: NsId, skb: Skb, reroute = false): Route | string {
    const ns = this.ns(nsId);
    const p = skb.pkt;
    const res = lookup(ns, p.dst, p.src, skb.mark, 'lo');
    if (res.kind !== 'route' || !['unicast', 'local', 'broadcast'].includes(res.route.type)) {
      const { errno, code, detail, origin } = routeError(res, p.dst, nsId);
      this.drop(nsId, skb, code, 'output', `${reroute ? 'reroute: ' : ''}${detail}`, undefined, origin);
      return errno;
    }
    const r = res.route;
    if (p.src === 0) {
      const src = routeSource(ns, r, p.dst);
      if (src === undefined) {
        this.drop(nsId, skb, 'no-route', 'output', `no source address for ${formatIpv4(p.dst)}`);
        return 'EADDRNOTAVAIL';
      }
      skb.pkt = { ...p, src };
    }
    const dev = r.oif !== undefined ? facts(ns).byIndex.get(r.oif)?.name : 'lo';
    this.step('route', nsId, `route ${formatIpv4(p.dst)}: ${routeText(r, facts(ns).byIndex)}${res.rule.priority !== 32766 && res.rule.priority !== 0 ? ` (rule ${res.rule.priority})` : ''}`, {
      origin: r.origin,
      packet: skb.pkt,
      dir: skb.dir,
      ...(dev !== undefined ? { dev } : {}),
    });
    return r;
  }

  /** POSTROUTING mangle, nat (SRC), confirm, then out of the box. */
  private postrouting(nsId: NsId, skb: Skb, oif: string | undefined, extra: { iif?: string } = {}): string | undefined {
    const ifs = { ...(oif !== undefined ? { oif } : {}), ...extra };
    const v = this.table(nsId, 'mangle', 'POSTROUTING', skb, ifs);
    if (v.verdict.kind !== 'ACCEPT') {
      this.drop(nsId, skb, 'nf-drop', 'postrouting', 'dropped by mangle POSTROUTING', oif, v.decidedBy?.rule.origin);
      return 'EPERM';
    }
    if (this.nat(nsId, 'POSTROUTING', skb, ifs, skb.rt) === 'drop') return 'EPERM';
    if (!this.confirm(nsId, skb)) {
      this.drop(nsId, skb, 'nf-drop', 'postrouting', 'conntrack confirm clash');
      return 'EPERM';
    }
    this.xmitRoute(nsId, skb);
    return undefined;
  }

  private xmitRoute(nsId: NsId, skb: Skb): void {
    const ns = this.ns(nsId);
    const r = skb.rt ?? bug('xmit without a route');
    if (r.type === 'local' || (r.oif !== undefined && facts(ns).byIndex.get(r.oif)?.kind === 'loopback')) {
      // loopback: the packet comes back in on lo with its conntrack entry
      const lo = facts(ns).byName.get('lo')!;
      const frame: Frame = { src: lo.mac, dst: lo.mac, payload: { kind: 'ip', ip: skb.pkt } };
      this.capture(nsId, 'lo', 'out', frame);
      this.at(1, () => this.receiveLoopback(nsId, skb));
      return;
    }
    const dev = r.oif !== undefined ? facts(ns).byIndex.get(r.oif) : undefined;
    if (!dev) bug('route without device');
    const nh = r.via ?? skb.pkt.dst;
    this.neighOutput(nsId, dev, nh, skb, r.origin);
  }

  // -------------------------------------------------------------------------------------------
  // neighbours (ARP)

  private neighKey(ns: NsId, ifindex: number, ip: number): string {
    return `${ns}|${ifindex}|${ip}`;
  }

  private neighOutput(nsId: NsId, dev: Link, nh: number, skb: Skb, origin?: Origin): void {
    const ns = this.ns(nsId);
    const stat = ns.neighs.find((n) => n.ifindex === dev.ifindex && n.dst === nh);
    if (stat?.lladdr) {
      this.step('neigh', nsId, `neighbour ${formatIpv4(nh)} dev ${dev.name} lladdr ${stat.lladdr} ${stat.state.toUpperCase()} (static)`, { origin: stat.origin, dev: dev.name, dir: skb.dir });
      this.xmitFrame(nsId, dev, { src: dev.mac, dst: stat.lladdr, payload: { kind: 'ip', ip: skb.pkt } }, skb.dir);
      return;
    }
    const key = this.neighKey(nsId, dev.ifindex, nh);
    let n = this.neigh.get(key);
    if (n?.state === 'reachable' && n.mac) {
      this.xmitFrame(nsId, dev, { src: dev.mac, dst: n.mac, payload: { kind: 'ip', ip: skb.pkt } }, skb.dir);
      return;
    }
    if (n?.state === 'failed') n = undefined;
    if (!n) {
      n = { state: 'incomplete', queue: [], probes: 0, ...(origin ? { origin } : {}) };
      this.neigh.set(key, n);
      this.step('neigh', nsId, `neighbour ${formatIpv4(nh)} dev ${dev.name} INCOMPLETE: ARP who-has ${formatIpv4(nh)}`, { dev: dev.name, dir: skb.dir, ...(origin ? { origin } : {}) });
      n.queue.push({ skb, dev: dev.ifindex });
      this.arpSolicit(nsId, dev, nh, skb, n, key);
      return;
    }
    // arp_queue holds 3 packets by default (unres_qlen_bytes); probes hold more than enough
    n.queue.push({ skb, dev: dev.ifindex });
  }

  private arpSolicit(nsId: NsId, dev: Link, nh: number, skb: Skb, n: NeighEntry, key: string): void {
    const ns = this.ns(nsId);
    const solicit = Number(ns.sysctl['net.ipv4.neigh.default.mcast_solicit'] ?? '3');
    const retrans = Number(ns.sysctl['net.ipv4.neigh.default.retrans_time_ms'] ?? '1000') * 1000;
    // arp_solicit: the packet's own source when it is local (arp_announce 0), else inet_select_addr
    const src = facts(ns).localAddrs.has(skb.pkt.src) ? skb.pkt.src : (selectAddr(ns, dev.ifindex, nh, 253) ?? 0);
    const send = (): void => {
      if (n.state !== 'incomplete') return;
      if (n.probes >= solicit) {
        n.state = 'failed';
        this.step('neigh', nsId, `neighbour ${formatIpv4(nh)} dev ${dev.name} FAILED: no ARP reply after ${solicit} requests`, { dev: dev.name, dir: skb.dir });
        const queued = n.queue.splice(0);
        for (const q of queued) {
          this.drop(nsId, q.skb, 'neigh-failed', 'neigh', `no ARP reply from ${formatIpv4(nh)} on ${dev.name}`, dev.name, n.origin);
          // ipv4_link_failure -> icmp_send(ICMP_HOST_UNREACH) back to the sender
          this.icmpError(nsId, q.skb, ICMP.DEST_UNREACH, ICMP.HOST_UNREACH);
        }
        this.neigh.delete(key);
        return;
      }
      n.probes++;
      const arp: ArpPacket = { op: 'request', sha: dev.mac, spa: src, tha: '00:00:00:00:00:00', tpa: nh };
      this.xmitFrame(nsId, dev, { src: dev.mac, dst: BROADCAST_MAC, payload: { kind: 'arp', arp } }, skb.dir);
      this.at(retrans, send);
    };
    send();
  }

  private arpRcv(nsId: NsId, dev: Link, arp: ArpPacket, dir: Dir): void {
    const ns = this.ns(nsId);
    const f = facts(ns);
    if (arp.op === 'reply') {
      const key = this.neighKey(nsId, dev.ifindex, arp.spa);
      const n = this.neigh.get(key);
      if (n && n.state === 'incomplete') {
        n.state = 'reachable';
        n.mac = arp.sha;
        this.step('neigh', nsId, `neighbour ${formatIpv4(arp.spa)} dev ${dev.name} lladdr ${arp.sha} REACHABLE`, { dev: dev.name, dir });
        for (const q of n.queue.splice(0)) {
          this.xmitFrame(nsId, dev, { src: dev.mac, dst: arp.sha, payload: { kind: 'ip', ip: q.skb.pkt } }, q.skb.dir);
        }
      }
      return;
    }
    // request: answer when the target is a local address (arp_ignore 0: any interface)
    if (!f.localAddrs.has(arp.tpa)) {
      this.step('neigh', nsId, `ARP who-has ${formatIpv4(arp.tpa)}: not a local address, no reply`, { dev: dev.name, dir });
      return;
    }
    const ignore = effectiveConf(ns.confAll, dev.conf, 'arp_ignore');
    if (ignore >= 1) {
      const onDev = ns.addrs.some((a) => a.ifindex === dev.ifindex && a.local === arp.tpa);
      const sameNet = ns.addrs.some((a) => a.ifindex === dev.ifindex && a.local === arp.tpa && inPrefix(arp.spa, { addr: networkOf(a.local, a.prefixLen), len: a.prefixLen }));
      if ((ignore === 1 && !onDev) || (ignore === 2 && !sameNet)) {
        this.step('neigh', nsId, `ARP who-has ${formatIpv4(arp.tpa)}: not answered (arp_ignore=${ignore})`, { dev: dev.name, dir });
        return;
      }
    }
    // arp_process routes the request (ip_route_input_noref(tip, sip, dev)): the sender must pass
    // fib_validate_source, so rp_filter can silence ARP (observed: replay of rp-filter-strict)
    const bad = sourceInvalid(ns, dev, arp.spa, arp.tpa);
    if (bad) {
      this.step('neigh', nsId, `ARP who-has ${formatIpv4(arp.tpa)} from ${formatIpv4(arp.spa)}: not answered, ${bad.detail}`, {
        dev: dev.name,
        dir,
        ...(bad.origin ? { origin: bad.origin } : {}),
      });
      return;
    }
    // neigh_event_ns: the requester is learnt
    const key = this.neighKey(nsId, dev.ifindex, arp.spa);
    const existing = this.neigh.get(key);
    if (!existing || existing.state !== 'incomplete') this.neigh.set(key, { state: 'reachable', mac: arp.sha, queue: [], probes: 0 });
    else {
      existing.state = 'reachable';
      existing.mac = arp.sha;
      for (const q of existing.queue.splice(0)) this.xmitFrame(nsId, dev, { src: dev.mac, dst: arp.sha, payload: { kind: 'ip', ip: q.skb.pkt } }, q.skb.dir);
    }
    const reply: ArpPacket = { op: 'reply', sha: dev.mac, spa: arp.tpa, tha: arp.sha, tpa: arp.spa };
    this.xmitFrame(nsId, dev, { src: dev.mac, dst: arp.sha, payload: { kind: 'arp', arp: reply } }, dir);
  }

  // -------------------------------------------------------------------------------------------
  // links

  private xmitFrame(nsId: NsId, dev: Link, frame: Frame, dir: Dir): void {
    if (!dev.up) {
      this.linkDrop(nsId, dev, frame, dir, `${dev.name} is down`);
      return;
    }
    this.capture(nsId, dev.name, 'out', frame);
    if (frame.payload.kind === 'ip') this.step('xmit', nsId, `xmit on ${dev.name} to ${frame.dst}`, { dev: dev.name, packet: frame.payload.ip, dir });
    switch (dev.kind) {
      case 'loopback':
        this.at(1, () => this.rx(nsId, dev.ifindex, frame, dir));
        return;
      case 'veth': {
        const peer = peerOf(this.world, dev);
        if (!peer || !peer.link.up) {
          this.linkDrop(nsId, dev, frame, dir, `${dev.name}'s peer is down (NO-CARRIER)`);
          return;
        }
        this.at(LINK_LATENCY_US, () => this.rx(peer.ns.id, peer.link.ifindex, frame, dir));
        return;
      }
      case 'nic': {
        const lan = dev.lan !== undefined ? this.world.lans[dev.lan] : undefined;
        if (!lan) return;
        for (const port of lan.ports) {
          if (port.ns === nsId && port.ifindex === dev.ifindex) continue;
          const pns = this.world.netns[port.ns];
          const pl = pns ? facts(pns).byIndex.get(port.ifindex) : undefined;
          if (!pns || !pl) continue;
          // a learning switch: unicast goes to its owner only, broadcast everywhere
          if (frame.dst !== BROADCAST_MAC && frame.dst !== pl.mac) continue;
          this.at(LAN_LATENCY_US, () => this.rx(port.ns, port.ifindex, frame, dir));
        }
        return;
      }
      case 'bridge':
        this.bridgeXmit(nsId, dev, frame, undefined, dir);
        return;
      case 'dummy':
        return; // dummy devices swallow everything
    }
  }

  private linkDrop(nsId: NsId, dev: Link, frame: Frame, dir: Dir, why: string): void {
    if (frame.payload.kind === 'ip') {
      this.drop(nsId, { pkt: frame.payload.ip, mark: 0, untracked: true, dir, hops: 0 }, 'link-down', 'xmit', why, dev.name);
    } else {
      this.step('drop', nsId, `ARP not sent: ${why}`, { dev: dev.name, dir });
    }
  }

  /** Frame arriving on a device. */
  private rx(nsId: NsId, ifindex: number, frame: Frame, dir: Dir): void {
    const ns = this.ns(nsId);
    const dev = facts(ns).byIndex.get(ifindex);
    if (!dev) return;
    this.capture(nsId, dev.name, 'in', frame);
    if (!dev.up) return;
    if (dev.master !== undefined) {
      const br = facts(ns).byIndex.get(dev.master);
      if (br) this.bridgeInput(nsId, br, dev, frame, dir);
      return;
    }
    this.l3Input(nsId, dev, frame, dir);
  }

  private l3Input(nsId: NsId, dev: Link, frame: Frame, dir: Dir): void {
    if (frame.dst !== BROADCAST_MAC && frame.dst !== dev.mac && dev.kind !== 'loopback') {
      if (frame.payload.kind === 'ip')
        this.drop(nsId, { pkt: frame.payload.ip, mark: 0, untracked: true, dir, hops: 0 }, 'not-for-us', 'l2', `frame for ${frame.dst}, not ${dev.name}'s MAC (PACKET_OTHERHOST)`, dev.name);
      return;
    }
    if (frame.payload.kind === 'arp') {
      this.arpRcv(nsId, dev, frame.payload.arp, dir);
      return;
    }
    if (frame.dst === BROADCAST_MAC) return; // no IPv4 broadcast traffic in probes
    this.ipRcv(nsId, dev, frame.payload.ip, dir);
  }

  private bridgeKey(ns: NsId, br: Link): string {
    return `${ns}|${br.ifindex}`;
  }

  private bridgeInput(nsId: NsId, br: Link, port: Link, frame: Frame, dir: Dir): void {
    const ns = this.ns(nsId);
    if (!br.up) {
      this.step('bridge', nsId, `${br.name} is down: frame from ${port.name} dropped`, { dev: port.name, dir });
      return;
    }
    let fdb = this.fdb.get(this.bridgeKey(nsId, br));
    if (!fdb) this.fdb.set(this.bridgeKey(nsId, br), (fdb = new Map()));
    fdb.set(frame.src, port.ifindex);
    const ports = ns.links.filter((l) => l.master === br.ifindex);
    const local = frame.dst === br.mac || ports.some((p) => p.mac === frame.dst);
    if (frame.dst === BROADCAST_MAC) {
      this.step('bridge', nsId, `${br.name}: broadcast from ${port.name}, flooded and delivered locally`, { dev: br.name, dir });
      this.bridgeXmit(nsId, br, frame, port, dir);
      this.capture(nsId, br.name, 'in', frame);
      this.l3Input(nsId, br, frame, dir);
      return;
    }
    if (local) {
      this.capture(nsId, br.name, 'in', frame);
      this.l3Input(nsId, br, { ...frame, dst: br.mac }, dir);
      return;
    }
    this.bridgeXmit(nsId, br, frame, port, dir);
  }

  /** Forwarding a frame out of bridge ports: known destination, or flood. */
  private bridgeXmit(nsId: NsId, br: Link, frame: Frame, inPort: Link | undefined, dir: Dir): void {
    const ns = this.ns(nsId);
    const fdb = this.fdb.get(this.bridgeKey(nsId, br));
    const ports = ns.links.filter((l) => l.master === br.ifindex && l.ifindex !== inPort?.ifindex && hasCarrier(this.world, ns, l));
    const known = frame.dst !== BROADCAST_MAC ? fdb?.get(frame.dst) : undefined;
    const outs = known !== undefined ? ports.filter((p) => p.ifindex === known) : ports;
    if (inPort && frame.payload.kind === 'ip') {
      this.step('bridge', nsId, `${br.name}: ${known !== undefined ? `forward to ${outs[0]?.name ?? '?'}` : `flood to ${outs.map((p) => p.name).join(', ') || 'no port'}`}`, {
        dev: br.name,
        packet: frame.payload.ip,
        dir,
      });
      if (ns.sysctl['net.bridge.bridge-nf-call-iptables'] === '1') {
        for (const out of outs) {
          const f = this.bridgeNetfilter(nsId, br, inPort, out, frame, dir);
          if (f) this.xmitFrame(nsId, out, f, dir);
        }
        return;
      }
    }
    for (const out of outs) this.xmitFrame(nsId, out, frame, dir);
  }

  /** br_netfilter: PREROUTING, FORWARD and POSTROUTING for a bridged IPv4 frame. */
  private bridgeNetfilter(nsId: NsId, br: Link, inPort: Link, out: Link, frame: Frame, dir: Dir): Frame | undefined {
    if (frame.payload.kind !== 'ip') return frame;
    const skb: Skb = { pkt: frame.payload.ip, mark: 0, untracked: false, dir, iif: br.name, hops: 0 };
    const ifs = { iif: br.name, physIn: inPort.name, bridged: true };
    for (const t of ['raw', 'mangle'] as const) {
      const v = this.table(nsId, t, 'PREROUTING', skb, ifs);
      if (v.verdict.kind !== 'ACCEPT') {
        this.drop(nsId, skb, 'nf-drop', 'prerouting', `bridged frame dropped by ${t} PREROUTING`, br.name, v.decidedBy?.rule.origin);
        return undefined;
      }
    }
    this.conntrackIn(nsId, skb);
    if (this.nat(nsId, 'PREROUTING', skb, ifs) === 'drop') return undefined;
    if (skb.pkt.dst !== frame.payload.ip.dst)
      this.notes.add('DNAT of a bridged frame: netpath keeps bridging it (br_netfilter would re-route when the new destination is not on the bridge)');
    const fifs = { iif: br.name, oif: br.name, physIn: inPort.name, physOut: out.name, bridged: true };
    for (const t of ['mangle', 'filter'] as const) {
      const v = this.table(nsId, t, 'FORWARD', skb, fifs);
      if (v.verdict.kind !== 'ACCEPT') {
        this.drop(nsId, skb, v.verdict.kind === 'REJECT' ? 'nf-reject' : 'nf-drop', 'forward', `bridged frame dropped by ${t} FORWARD`, br.name, v.decidedBy?.rule.origin ?? policyOrigin(this.ns(nsId), t, 'FORWARD').origin);
        return undefined;
      }
    }
    if (this.nat(nsId, 'POSTROUTING', skb, fifs) === 'drop') return undefined;
    this.confirm(nsId, skb);
    return skb.pkt === frame.payload.ip ? frame : { ...frame, payload: { kind: 'ip', ip: skb.pkt } };
  }

  // -------------------------------------------------------------------------------------------
  // input

  private receiveLoopback(nsId: NsId, skb: Skb): void {
    const ns = this.ns(nsId);
    const lo = facts(ns).byName.get('lo')!;
    this.capture(nsId, 'lo', 'in', { src: lo.mac, dst: lo.mac, payload: { kind: 'ip', ip: skb.pkt } });
    skb.iif = 'lo';
    const ifs = { iif: 'lo' };
    for (const t of ['raw', 'mangle'] as const) {
      const v = this.table(nsId, t, 'PREROUTING', skb, ifs);
      if (v.verdict.kind !== 'ACCEPT') {
        this.drop(nsId, skb, 'nf-drop', 'prerouting', `dropped by ${t} PREROUTING`, 'lo', v.decidedBy?.rule.origin);
        return;
      }
    }
    this.localIn(nsId, lo, skb);
  }

  private ipRcv(nsId: NsId, dev: Link, pkt: IpPacket, dir: Dir): void {
    const ns = this.ns(nsId);
    const skb: Skb = { pkt, mark: 0, untracked: false, dir, iif: dev.name, hops: 0 };
    this.step('recv', nsId, `received on ${dev.name}: ${pktText(pkt)}`, { dev: dev.name, packet: pkt, dir });
    // ip_route_input_slow's martian checks on addresses
    if (isMulticast(pkt.src) || pkt.src === 0xffffffff || pkt.src === 0) {
      this.drop(nsId, skb, 'martian', 'prerouting', `martian source ${formatIpv4(pkt.src)}`, dev.name);
      return;
    }
    const ifs = { iif: dev.name };
    let v = this.table(nsId, 'raw', 'PREROUTING', skb, ifs);
    if (v.verdict.kind !== 'ACCEPT') {
      this.drop(nsId, skb, 'nf-drop', 'prerouting', 'dropped by raw PREROUTING', dev.name, v.decidedBy?.rule.origin ?? policyOrigin(ns, 'raw', 'PREROUTING').origin);
      return;
    }
    this.conntrackIn(nsId, skb);
    v = this.table(nsId, 'mangle', 'PREROUTING', skb, ifs);
    if (v.verdict.kind !== 'ACCEPT') {
      this.drop(nsId, skb, 'nf-drop', 'prerouting', 'dropped by mangle PREROUTING', dev.name, v.decidedBy?.rule.origin ?? policyOrigin(ns, 'mangle', 'PREROUTING').origin);
      return;
    }
    if (this.nat(nsId, 'PREROUTING', skb, ifs) === 'drop') return;
    this.routeInput(nsId, dev, skb);
  }

  private routeInput(nsId: NsId, dev: Link, skb: Skb): void {
    const ns = this.ns(nsId);
    const p = skb.pkt;
    const fwd = effectiveConf(ns.confAll, dev.conf, 'forwarding') === 1;
    if ((isLoopbackNet(p.src) || isLoopbackNet(p.dst)) && dev.kind !== 'loopback' && effectiveConf(ns.confAll, dev.conf, 'route_localnet') === 0) {
      this.drop(nsId, skb, 'martian', 'routing', `martian ${isLoopbackNet(p.src) ? 'source' : 'destination'} (127.0.0.0/8 on ${dev.name}, route_localnet=0)`, dev.name);
      return;
    }
    const res = lookup(ns, p.dst, p.src, skb.mark, dev.name);
    if (res.kind === 'route' && (res.route.type === 'local' || res.route.type === 'broadcast')) {
      if (!this.validateSource(nsId, dev, skb)) return;
      this.step('route', nsId, `route input ${formatIpv4(p.dst)}: local (${routeText(res.route, facts(ns).byIndex)})`, {
        origin: res.route.origin,
        dev: dev.name,
        packet: p,
        dir: skb.dir,
      });
      skb.local = true;
      this.localIn(nsId, dev, skb);
      return;
    }
    if (!fwd) {
      const what = res.kind === 'route' && res.route.type === 'unicast' ? 'would be forwarded' : 'has no route';
      this.drop(nsId, skb, 'forwarding-disabled', 'routing', `${formatIpv4(p.dst)} is not local and ${what}, but forwarding is off on ${dev.name} (net.ipv4.ip_forward=0): dropped silently`, dev.name);
      return;
    }
    if (res.kind !== 'route' || res.route.type !== 'unicast') {
      const e = routeError(res, p.dst, nsId);
      this.drop(nsId, skb, e.code, 'routing', e.detail, dev.name, e.origin);
      // ip_error: ICMP for unreachable destinations, nothing for blackholes
      if (e.icmpCode !== undefined) this.icmpError(nsId, skb, ICMP.DEST_UNREACH, e.icmpCode);
      return;
    }
    if (!this.validateSource(nsId, dev, skb)) return;
    skb.rt = res.route;
    this.step('route', nsId, `route input ${formatIpv4(p.dst)}: forward ${routeText(res.route, facts(ns).byIndex)}`, {
      origin: res.route.origin,
      dev: dev.name,
      packet: p,
      dir: skb.dir,
    });
    this.forward(nsId, dev, skb);
  }

  /** fib_validate_source for a received packet; records the drop when it fails. */
  private validateSource(nsId: NsId, dev: Link, skb: Skb): boolean {
    const bad = sourceInvalid(this.ns(nsId), dev, skb.pkt.src, skb.pkt.dst);
    if (!bad) return true;
    this.drop(nsId, skb, bad.code, 'routing', bad.detail, dev.name, bad.origin);
    return false;
  }

  private forward(nsId: NsId, dev: Link, skb: Skb): void {
    const ns = this.ns(nsId);
    const r = skb.rt!;
    if (++skb.hops > MAX_HOPS) bug('hop guard');
    if (skb.pkt.ttl <= 1) {
      this.drop(nsId, skb, 'ttl-expired', 'forward', `TTL expired in transit (ttl ${skb.pkt.ttl})`, dev.name);
      this.icmpError(nsId, skb, ICMP.TIME_EXCEEDED, 0);
      return;
    }
    skb.pkt = { ...skb.pkt, ttl: skb.pkt.ttl - 1 };
    const out = r.oif !== undefined ? facts(ns).byIndex.get(r.oif) : undefined;
    if (!this.filterHook(nsId, 'FORWARD', skb, dev, { iif: dev.name, ...(out ? { oif: out.name } : {}) })) return;
    this.postrouting(nsId, skb, out?.name, { iif: dev.name });
  }

  /** mangle then filter at INPUT or FORWARD; a DROP or REJECT ends the packet (REJECT answers). */
  private filterHook(nsId: NsId, hook: 'INPUT' | 'FORWARD', skb: Skb, dev: Link, ifs: { iif?: string; oif?: string }): boolean {
    const stage = hook.toLowerCase();
    for (const t of ['mangle', 'filter'] as const) {
      const v = this.table(nsId, t, hook, skb, ifs);
      if (v.verdict.kind === 'ACCEPT') continue;
      const origin = v.decidedBy?.rule.origin ?? policyOrigin(this.ns(nsId), t, hook).origin;
      if (v.verdict.kind === 'REJECT') {
        this.drop(nsId, skb, 'nf-reject', stage, `rejected by ${t} ${hook} rule ${v.decidedBy?.index ?? '?'} (${v.verdict.with})`, dev.name, origin);
        this.reject(nsId, skb, v.verdict.with);
      } else {
        this.drop(nsId, skb, 'nf-drop', stage, `dropped by ${t} ${hook} ${v.policyChain ? 'policy DROP' : `rule ${v.decidedBy?.index ?? '?'}`}`, dev.name, origin);
      }
      return false;
    }
    return true;
  }

  private localIn(nsId: NsId, dev: Link, skb: Skb): void {
    const ifs = { iif: dev.name };
    if (!this.filterHook(nsId, 'INPUT', skb, dev, ifs)) return;
    if (this.nat(nsId, 'INPUT', skb, ifs) === 'drop') return;
    if (!this.confirm(nsId, skb)) return;
    this.deliver(nsId, dev, skb);
  }

  // -------------------------------------------------------------------------------------------
  // ICMP errors and REJECT

  /** icmp_send: an error about `skb` back to its source. */
  icmpError(nsId: NsId, skb: Skb, type: number, code: number): void {
    const p = skb.pkt;
    if (isIcmpError(p) || p.src === 0 || isMulticast(p.dst) || p.dst === 0xffffffff) return;
    const ns = this.ns(nsId);
    // a packet that was for us answers from its destination; otherwise the route picks the source
    const src = skb.local || facts(ns).localAddrs.has(p.dst) ? p.dst : 0;
    const err: IpPacket = {
      src,
      dst: p.src,
      ttl: 64,
      id: this.nextIpId(nsId),
      l4: { kind: 'icmp', type, code, quoted: p },
    };
    const dir: Dir = skb.dir === 'request' ? 'reply' : 'request';
    this.step('icmp', nsId, `ICMP ${icmpName(type, code)} to ${formatIpv4(p.src)}`, { packet: err, dir });
    this.output(nsId, err, dir);
  }

  /** ipt_REJECT: an ICMP error or a TCP RST (nf_send_reset) for the rejected packet. */
  private reject(nsId: NsId, skb: Skb, how: RejectWith): void {
    const p = skb.pkt;
    if (how === 'tcp-reset') {
      if (p.l4.kind !== 'tcp' || p.l4.flags.rst) return;
      const l4 = p.l4;
      const rst = rstFor(p, l4);
      const dir: Dir = skb.dir === 'request' ? 'reply' : 'request';
      this.step('send', nsId, `REJECT --reject-with tcp-reset: RST to ${formatIpv4(p.src)}:${l4.sport}`, { packet: rst, dir });
      // nf_send_reset attaches the original connection (nf_ct_attach), so NAT is undone
      const ct = skb.ct ? { entry: skb.ct.entry, dir: skb.ct.dir === 'orig' ? ('reply' as const) : ('orig' as const), state: 'ESTABLISHED' as const } : undefined;
      this.output(nsId, rst, dir, ct ? { ct } : {});
      return;
    }
    const code: Record<Exclude<RejectWith, 'tcp-reset'>, number> = {
      'icmp-net-unreachable': ICMP.NET_UNREACH,
      'icmp-host-unreachable': ICMP.HOST_UNREACH,
      'icmp-port-unreachable': ICMP.PORT_UNREACH,
      'icmp-proto-unreachable': ICMP.PROT_UNREACH,
      'icmp-net-prohibited': ICMP.NET_ANO,
      'icmp-host-prohibited': ICMP.HOST_ANO,
      'icmp-admin-prohibited': ICMP.PKT_FILTERED,
    };
    this.icmpError(nsId, skb, ICMP.DEST_UNREACH, code[how]);
  }

  // -------------------------------------------------------------------------------------------
  // sockets

  private deliver(nsId: NsId, dev: Link, skb: Skb): void {
    const p = skb.pkt;
    const l4 = p.l4;
    this.step('deliver', nsId, `local delivery: ${pktText(p)}`, { dev: dev.name, packet: p, dir: skb.dir });
    const flow = this.clientFlow;
    if (flow && skb.dir === 'request' && !this.requestDelivered) this.requestDelivered = { ns: nsId, t: this.t };
    if (skb.dir === 'request') this.deliveries.push({ ns: nsId, t: this.t });
    switch (l4.kind) {
      case 'tcp':
        return this.tcpRcv(nsId, skb);
      case 'udp': {
        if (flow && nsId === flow.ns && flow.proto === 'udp' && p.dst === flow.local && l4.dport === flow.lport) {
          if (p.src === flow.remote && l4.sport === flow.rport) this.clientDone('ok');
          return;
        }
        if (this.hasService(nsId, 'udp', l4.dport)) {
          this.step('socket', nsId, `udp/${l4.dport} service echoes ${l4.len} bytes to ${formatIpv4(p.src)}:${l4.sport}`, { dir: skb.dir });
          const reply: IpPacket = { src: p.dst, dst: p.src, ttl: 64, id: this.nextIpId(nsId), l4: { kind: 'udp', sport: l4.dport, dport: l4.sport, len: l4.len, ...(l4.data !== undefined ? { data: l4.data } : {}) } };
          const err = this.output(nsId, reply, 'reply');
          if (err) this.step('socket', nsId, `udp echo: sendto failed: ${err}`, { dir: 'reply' });
          return;
        }
        this.step('socket', nsId, `no socket on udp/${l4.dport}: ICMP port unreachable`, { dir: skb.dir });
        this.icmpError(nsId, skb, ICMP.DEST_UNREACH, ICMP.PORT_UNREACH);
        return;
      }
      case 'icmp': {
        if (l4.type === ICMP.ECHO) {
          if (this.ns(nsId).sysctl['net.ipv4.icmp_echo_ignore_all'] === '1') {
            this.step('socket', nsId, 'echo request ignored (icmp_echo_ignore_all=1)', { dir: skb.dir });
            return;
          }
          const reply: IpPacket = { src: p.dst, dst: p.src, ttl: 64, id: this.nextIpId(nsId), l4: { kind: 'icmp', type: ICMP.ECHOREPLY, code: 0, id: l4.id ?? 0, seq: l4.seq ?? 0 } };
          const err = this.output(nsId, reply, 'reply');
          if (err) this.step('socket', nsId, `echo reply not sent: ${err}`, { dir: 'reply' });
          return;
        }
        if (l4.type === ICMP.ECHOREPLY) {
          if (flow && nsId === flow.ns && flow.proto === 'icmp' && p.dst === flow.local && l4.id === flow.lport) this.clientDone('ok');
          return;
        }
        if (isIcmpError(p)) this.icmpErrorRcv(nsId, p);
        return;
      }
    }
  }

  hasService(nsId: NsId, proto: 'tcp' | 'udp', port: number): boolean {
    return this.world.services.some((s) => s.ns === nsId && s.proto === proto && s.port === port);
  }

  /** An ICMP error for one of our sockets: tcp_v4_err, __udp4_lib_err, ping_err. */
  private icmpErrorRcv(nsId: NsId, p: IpPacket): void {
    const flow = this.clientFlow;
    if (p.l4.kind !== 'icmp' || !p.l4.quoted || !flow || flow.ns !== nsId) return;
    const q = p.l4.quoted;
    const mine =
      q.src === flow.local &&
      q.dst === flow.remote &&
      (q.l4.kind === 'icmp' ? flow.proto === 'icmp' && q.l4.id === flow.lport : q.l4.kind === flow.proto && q.l4.sport === flow.lport && q.l4.dport === flow.rport);
    if (!mine) return;
    const { type, code } = p.l4;
    const errno = icmpErrno(type, code);
    if (flow.proto === 'udp' && !errno.fatal) {
      // a connected UDP socket without IP_RECVERR only reports "hard" errors (icmp_err_convert)
      this.step('socket', nsId, `ICMP ${icmpName(type, code)} is not reported to a UDP socket without IP_RECVERR (soft error)`, { dir: 'reply' });
      return;
    }
    this.step('socket', nsId, `client socket error ${errno.errno} (ICMP ${icmpName(type, code)} from ${formatIpv4(p.src)})`, { dir: 'reply' });
    this.clientDone(errno.errno);
  }

  clientDone(errno: string): void {
    if (this.client) return;
    this.client = { errno, t: this.t };
  }

  // --- TCP ---

  private connKey(ns: NsId, local: number, lport: number, remote: number, rport: number): string {
    return `${ns}|${local}|${lport}|${remote}|${rport}`;
  }

  /** The client's connect(): a SYN with the options Linux sends. */
  tcpConnect(nsId: NsId, dst: number, dport: number, sport: number, bindSrc?: number): string | undefined {
    const isn = this.random();
    const syn: IpPacket = { src: 0, dst, ttl: 64, id: this.nextIpId(nsId), l4: { kind: 'tcp', sport, dport, flags: { syn: true }, seq: isn, ack: 0, len: 0 } };
    this.step('send', nsId, `connect() to ${formatIpv4(dst)}:${dport}: SYN`, { packet: syn, dir: 'request' });
    // the socket's route is looked up before the SYN exists (ip_route_connect)
    const ns = this.ns(nsId);
    if (bindSrc !== undefined && !facts(ns).localAddrs.has(bindSrc)) {
      this.drop(nsId, { pkt: syn, mark: 0, untracked: true, dir: 'request', hops: 0 }, 'no-route', 'connect', `bind(${formatIpv4(bindSrc)}): not a local address`);
      return 'EADDRNOTAVAIL';
    }
    const res = lookup(ns, dst, bindSrc ?? 0, 0, 'lo');
    if (res.kind !== 'route' || !['unicast', 'local', 'broadcast'].includes(res.route.type)) {
      const e = routeError(res, dst, nsId);
      this.drop(nsId, { pkt: syn, mark: 0, untracked: true, dir: 'request', hops: 0 }, e.code, 'connect', e.detail, undefined, e.origin);
      return e.errno;
    }
    const src = bindSrc ?? routeSource(ns, res.route, dst);
    if (src === undefined) return 'EADDRNOTAVAIL';
    const conn: TcpConn = { ns: nsId, local: src, lport: sport, remote: dst, rport: dport, role: 'client', state: 'SYN_SENT', snd: (isn + 1) >>> 0, rcv: 0, pending: 0 };
    this.tcp.set(this.connKey(nsId, src, sport, dst, dport), conn);
    this.clientFlow = { ns: nsId, proto: 'tcp', local: src, lport: sport, remote: dst, rport: dport };
    const err = this.output(nsId, { ...syn, src }, 'request');
    // tcp_connect ignores transmit errors other than ECONNREFUSED: the SYN will be retransmitted
    if (err && err !== 'EPERM') return err;
    return undefined;
  }

  /**
   * A crafted TCP segment from the client (a raw socket, or one more segment on the client's
   * established connection when there is one): for testing what a firewall lets through.
   */
  injectTcp(nsId: NsId, src: number, dst: number, sport: number, dport: number, flags: TcpFlags): string | undefined {
    const c = this.tcp.get(this.connKey(nsId, src, sport, dst, dport));
    const data = flags.psh ? 'x' : '';
    const seq = c ? c.snd : this.random();
    const ack = flags.ack ? (c ? c.rcv : this.random()) : 0;
    const pkt: IpPacket = { src, dst, ttl: 64, id: this.nextIpId(nsId), l4: { kind: 'tcp', sport, dport, flags, seq, ack, len: data.length, ...(data ? { data } : {}) } };
    if (c) c.snd = (c.snd + data.length + (flags.syn ? 1 : 0) + (flags.fin ? 1 : 0)) >>> 0;
    this.clientFlow = { ns: nsId, proto: 'tcp', local: src, lport: sport, remote: dst, rport: dport };
    this.step('send', nsId, `crafted segment ${pktText(pkt)}${c ? ' on the established connection' : ''}`, { packet: pkt, dir: 'request' });
    return this.output(nsId, pkt, 'request');
  }

  /** Forgets the client's result (before a crafted segment is judged on its own). */
  resetClient(): void {
    delete this.client;
  }

  private tcpSend(c: TcpConn, flags: TcpFlags, data = '', dir: Dir): void {
    const pkt: IpPacket = {
      src: c.local,
      dst: c.remote,
      ttl: 64,
      id: this.nextIpId(c.ns),
      l4: { kind: 'tcp', sport: c.lport, dport: c.rport, flags, seq: c.snd, ack: flags.ack ? c.rcv : 0, len: data.length, ...(data ? { data } : {}) },
    };
    c.snd = (c.snd + data.length + (flags.syn ? 1 : 0) + (flags.fin ? 1 : 0)) >>> 0;
    const err = this.output(c.ns, pkt, dir);
    if (err) this.step('socket', c.ns, `send failed: ${err}`, { dir });
  }

  private tcpRcv(nsId: NsId, skb: Skb): void {
    const p = skb.pkt;
    if (p.l4.kind !== 'tcp') return;
    const l4 = p.l4;
    const key = this.connKey(nsId, p.dst, l4.dport, p.src, l4.sport);
    const c = this.tcp.get(key);
    if (c) return this.tcpSegment(c, skb);
    if (l4.flags.syn && !l4.flags.ack && this.hasService(nsId, 'tcp', l4.dport)) {
      const isn = this.random();
      const s: TcpConn = { ns: nsId, local: p.dst, lport: l4.dport, remote: p.src, rport: l4.sport, role: 'server', state: 'SYN_RECV', snd: isn, rcv: (l4.seq + 1) >>> 0, pending: 0 };
      this.tcp.set(key, s);
      this.step('socket', nsId, `tcp/${l4.dport} listener: SYN from ${formatIpv4(p.src)}:${l4.sport}, answering SYN-ACK`, { dir: 'reply' });
      this.tcpSend(s, { syn: true, ack: true }, '', 'reply');
      return;
    }
    if (l4.flags.rst) return;
    // tcp_v4_send_reset: nothing listens
    this.step('socket', nsId, `no socket on tcp/${l4.dport}: RST`, { dir: skb.dir });
    const rst = rstFor(p, l4);
    this.output(nsId, rst, skb.dir === 'request' ? 'reply' : 'request');
  }

  private tcpSegment(c: TcpConn, skb: Skb): void {
    const p = skb.pkt;
    if (p.l4.kind !== 'tcp') return;
    const l4 = p.l4;
    const f = l4.flags;
    const myDir: Dir = c.role === 'client' ? 'request' : 'reply';
    if (f.rst) {
      if (c.role === 'client' && c.state === 'SYN_SENT') {
        this.step('socket', c.ns, `connect(): RST from ${formatIpv4(p.src)}:${l4.sport}: ECONNREFUSED`, { dir: 'reply' });
        this.clientDone('ECONNREFUSED');
      }
      c.state = 'CLOSED';
      return;
    }
    if (c.role === 'client' && c.state === 'SYN_SENT') {
      if (!(f.syn && f.ack)) return;
      c.rcv = (l4.seq + 1) >>> 0;
      c.state = 'ESTABLISHED';
      this.step('socket', c.ns, `connect() succeeded: SYN-ACK from ${formatIpv4(p.src)}:${l4.sport}`, { dir: 'reply' });
      this.clientDone('ok');
      this.tcpSend(c, { ack: true }, '', myDir);
      if (this.opts.fullTcp) {
        c.pending = HTTP_RESPONSE_HEADER.length + HTTP_RESPONSE_BODY.length;
        this.tcpSend(c, { psh: true, ack: true }, HTTP_REQUEST, myDir);
      }
      return;
    }
    if (c.role === 'server' && c.state === 'SYN_RECV') {
      if (f.ack && !f.syn) c.state = 'ESTABLISHED';
    }
    // data and FIN
    if (l4.len > 0) {
      c.rcv = (l4.seq + l4.len) >>> 0;
      if (c.role === 'server' && c.state === 'ESTABLISHED') {
        this.tcpSend(c, { ack: true }, '', myDir);
        this.tcpSend(c, { psh: true, ack: true }, HTTP_RESPONSE_HEADER, myDir);
        this.tcpSend(c, { psh: true, ack: true }, HTTP_RESPONSE_BODY, myDir);
        return;
      }
      if (c.role === 'client') {
        c.pending -= l4.len;
        this.tcpSend(c, { ack: true }, '', myDir);
        if (c.pending <= 0 && c.state === 'ESTABLISHED') {
          c.state = 'FIN_WAIT';
          this.tcpSend(c, { fin: true, ack: true }, '', myDir);
        }
        return;
      }
    }
    if (f.fin) {
      c.rcv = (l4.seq + l4.len + 1) >>> 0;
      if (c.role === 'server' && c.state === 'ESTABLISHED') {
        c.state = 'LAST_ACK';
        this.tcpSend(c, { fin: true, ack: true }, '', myDir);
        return;
      }
      if (c.role === 'client' && c.state === 'FIN_WAIT') {
        c.state = 'CLOSED';
        this.tcpSend(c, { ack: true }, '', myDir);
        return;
      }
    }
    if (c.role === 'server' && c.state === 'LAST_ACK' && f.ack) c.state = 'CLOSED';
  }
}

// ---------------------------------------------------------------------------------------------
// helpers

/**
 * fib_validate_source (net/ipv4/fib_frontend.c): with rp_filter 0 and no custom rules or local
 * routes only a local source address is refused (unless accept_local); otherwise the route back
 * to the source must exist (loose, 2), be unicast, and leave through `dev` (strict, 1).
 * Returns why the source is refused, or undefined when it is fine.
 */
function sourceInvalid(ns: Netns, dev: Link, src: number, dst: number): { code: DropCode; detail: string; origin?: Origin } | undefined {
  if (dev.kind === 'loopback') return undefined;
  const f = facts(ns);
  const rpf = effectiveConf(ns.confAll, dev.conf, 'rp_filter');
  const acceptLocal = effectiveConf(ns.confAll, dev.conf, 'accept_local') === 1;
  if (rpf === 0) {
    if (acceptLocal) return undefined;
    if (!f.hasCustomLocalRoutes && !f.hasCustomRules)
      return f.localAddrs.has(src) ? { code: 'martian', detail: `martian source ${formatIpv4(src)}: a local address arriving on ${dev.name} (accept_local=0)` } : undefined;
  }
  const rev = lookup(ns, src, dst, 0, 'lo');
  if (rev.kind !== 'route') return rpf === 0 ? undefined : { code: 'rp-filter', detail: `rp_filter=${rpf} on ${dev.name}: no route back to ${formatIpv4(src)}` };
  const t = rev.route.type;
  if (t !== 'unicast' && !(t === 'local' && acceptLocal))
    return { code: 'martian', detail: `martian source ${formatIpv4(src)} (the route back is ${t})`, origin: rev.route.origin };
  if (rev.route.oif === dev.ifindex || rpf !== 1) return undefined;
  const back = rev.route.oif !== undefined ? f.byIndex.get(rev.route.oif)?.name : '?';
  return {
    code: 'rp-filter',
    detail: `rp_filter=1 (strict) on ${dev.name}: the route back to ${formatIpv4(src)} leaves via ${back}, not ${dev.name}`,
    origin: rev.route.origin,
  };
}

/**
 * The RST answering a segment, as tcp_v4_send_reset and nf_send_reset build it: the ACK's number
 * as sequence when the segment had ACK, else an ACK of everything it carried.
 */
function rstFor(p: IpPacket, l4: TcpHeader): IpPacket {
  return {
    src: p.dst,
    dst: p.src,
    ttl: 64,
    id: 0,
    l4: {
      kind: 'tcp',
      sport: l4.dport,
      dport: l4.sport,
      flags: l4.flags.ack ? { rst: true } : { rst: true, ack: true },
      seq: l4.flags.ack ? l4.ack : 0,
      ack: l4.flags.ack ? 0 : (l4.seq + l4.len + (l4.flags.syn ? 1 : 0) + (l4.flags.fin ? 1 : 0)) >>> 0,
      len: 0,
    },
  };
}

function clampPort(p: number, r: { min: number; max: number }): number {
  return p >= r.min && p <= r.max ? p : r.min;
}

function tcpBits(f: TcpFlags): number {
  return (f.fin ? 1 : 0) | (f.syn ? 2 : 0) | (f.rst ? 4 : 0) | (f.psh ? 8 : 0) | (f.ack ? 16 : 0);
}

export function tupleText(t: Tuple): string {
  return t.proto === 'icmp'
    ? `icmp ${formatIpv4(t.src)} -> ${formatIpv4(t.dst)} id ${t.sport}`
    : `${t.proto} ${formatIpv4(t.src)}:${t.sport} -> ${formatIpv4(t.dst)}:${t.dport}`;
}

export function pktText(p: IpPacket): string {
  const l4 = p.l4;
  switch (l4.kind) {
    case 'tcp': {
      const f = l4.flags;
      const fl = [f.syn ? 'S' : '', f.fin ? 'F' : '', f.rst ? 'R' : '', f.psh ? 'P' : '', f.ack ? '.' : ''].join('') || 'none';
      return `tcp ${formatIpv4(p.src)}:${l4.sport} > ${formatIpv4(p.dst)}:${l4.dport} [${fl}]${l4.len ? ` len ${l4.len}` : ''}`;
    }
    case 'udp':
      return `udp ${formatIpv4(p.src)}:${l4.sport} > ${formatIpv4(p.dst)}:${l4.dport} len ${l4.len}`;
    case 'icmp':
      return `icmp ${formatIpv4(p.src)} > ${formatIpv4(p.dst)} ${icmpName(l4.type, l4.code)}`;
  }
}

export function natText(a: IpPacket, b: IpPacket): string {
  const ep = (p: IpPacket, which: 'src' | 'dst'): string => {
    const addr = formatIpv4(which === 'src' ? p.src : p.dst);
    if (p.l4.kind === 'icmp') return addr;
    return `${addr}:${which === 'src' ? p.l4.sport : p.l4.dport}`;
  };
  const parts: string[] = [];
  if (ep(a, 'src') !== ep(b, 'src')) parts.push(`src ${ep(a, 'src')} -> ${ep(b, 'src')}`);
  if (ep(a, 'dst') !== ep(b, 'dst')) parts.push(`dst ${ep(a, 'dst')} -> ${ep(b, 'dst')}`);
  if (parts.length === 0 && a.l4.kind === 'icmp' && b.l4.kind === 'icmp' && a.l4.quoted && b.l4.quoted) parts.push('quoted packet translated back');
  return parts.join(', ') || 'no change';
}

export function icmpName(type: number, code: number): string {
  if (type === ICMP.ECHO) return 'echo request';
  if (type === ICMP.ECHOREPLY) return 'echo reply';
  if (type === ICMP.TIME_EXCEEDED) return 'time exceeded in-transit';
  if (type === ICMP.DEST_UNREACH) {
    const names: Record<number, string> = {
      0: 'net unreachable',
      1: 'host unreachable',
      2: 'protocol unreachable',
      3: 'port unreachable',
      9: 'net prohibited',
      10: 'host prohibited',
      13: 'admin prohibited',
    };
    return names[code] ?? `unreachable code ${code}`;
  }
  return `type ${type} code ${code}`;
}

/** icmp_err_convert (net/ipv4/icmp.c) and tcp_v4_err/ping_err's errno for an ICMP error. */
export function icmpErrno(type: number, code: number): { errno: string; fatal: boolean } {
  if (type === ICMP.TIME_EXCEEDED) return { errno: 'EHOSTUNREACH', fatal: false };
  const table: Record<number, { errno: string; fatal: boolean }> = {
    0: { errno: 'ENETUNREACH', fatal: false },
    1: { errno: 'EHOSTUNREACH', fatal: false },
    2: { errno: 'ENOPROTOOPT', fatal: true },
    3: { errno: 'ECONNREFUSED', fatal: true },
    4: { errno: 'EMSGSIZE', fatal: false },
    5: { errno: 'EOPNOTSUPP', fatal: false },
    6: { errno: 'ENETUNREACH', fatal: true },
    7: { errno: 'EHOSTDOWN', fatal: true },
    8: { errno: 'ENONET', fatal: true },
    9: { errno: 'ENETUNREACH', fatal: true },
    10: { errno: 'EHOSTUNREACH', fatal: true },
    11: { errno: 'ENETUNREACH', fatal: false },
    12: { errno: 'EHOSTUNREACH', fatal: false },
    13: { errno: 'EHOSTUNREACH', fatal: true },
    14: { errno: 'EHOSTUNREACH', fatal: true },
    15: { errno: 'EHOSTUNREACH', fatal: true },
  };
  return table[code] ?? { errno: 'EHOSTUNREACH', fatal: false };
}

function routeError(
  res: ReturnType<typeof lookup>,
  dst: number,
  nsId: NsId,
): { errno: string; code: DropCode; detail: string; origin?: Origin; icmpCode?: number } {
  const d = formatIpv4(dst);
  if (res.kind === 'none') return { errno: 'ENETUNREACH', code: 'no-route', detail: `no route to ${d} in ${nsId}`, icmpCode: ICMP.NET_UNREACH };
  const type = res.kind === 'route' ? res.route.type : res.rule.action;
  const origin = res.kind === 'route' ? res.route.origin : res.rule.origin;
  const by = res.kind === 'route' ? `${type} route ${res.route.dst.len === 0 ? 'default' : `${formatIpv4(res.route.dst.addr)}/${res.route.dst.len}`}` : `rule ${res.rule.priority} (${type})`;
  switch (type) {
    case 'blackhole':
      return { errno: 'EINVAL', code: 'blackhole-route', detail: `${d} hits ${by}: discarded silently`, origin };
    case 'unreachable':
      return { errno: 'EHOSTUNREACH', code: 'unreachable-route', detail: `${d} hits ${by}`, origin, icmpCode: ICMP.HOST_UNREACH };
    case 'prohibit':
      return { errno: 'EACCES', code: 'prohibit-route', detail: `${d} hits ${by}`, origin, icmpCode: ICMP.PKT_FILTERED };
    default:
      return { errno: 'ENETUNREACH', code: 'no-route', detail: `no usable route to ${d} (${by})`, origin, icmpCode: ICMP.NET_UNREACH };
  }
}

function routeText(r: Route, byIndex: ReadonlyMap<number, Link>): string {
  const dst = r.dst.len === 0 ? 'default' : r.dst.len === 32 ? formatIpv4(r.dst.addr) : `${formatIpv4(r.dst.addr)}/${r.dst.len}`;
  const parts = [r.type === 'unicast' ? dst : `${r.type} ${dst}`];
  if (r.via !== undefined) parts.push(`via ${formatIpv4(r.via)}`);
  if (r.oif !== undefined) parts.push(`dev ${byIndex.get(r.oif)?.name ?? r.oif}`);
  if (r.table !== 254) parts.push(`table ${r.table === 255 ? 'local' : r.table}`);
  return parts.join(' ');
}

function policyOrigin(ns: Netns, table: NfTableName, chain: string): { origin?: Origin } {
  const c = ns.nf[table].chains[chain];
  return c?.policyOrigin ? { origin: c.policyOrigin } : {};
}

