/**
 * The simulation's state and clock. One Sim runs one probe against an immutable World: it owns
 * the dynamic state the kernel would hold (conntrack tables, neighbour caches, bridge FDBs,
 * sockets), the event queue, and the record of what happened (typed steps, drops, captures).
 *
 * The packet walk itself lives in modules named after the kernel code they follow, each a set of
 * functions over a Sim:
 *   dev.ts         netif_receive_skb / dev_queue_xmit: links, veth, loopback, the LAN switch
 *   bridge.ts      br_input.c, br_forward.c, br_netfilter_hooks.c
 *   arp.ts         arp.c and neighbour.c: resolution, answering, proxy ARP
 *   ip_input.ts    ip_rcv, ip_rcv_finish, ip_local_deliver
 *   ip_forward.ts  ip_forward
 *   ip_output.ts   ip_local_out, ip_output, ip_finish_output2
 *   route.ts       the resolved route (rtable): ip_route_output_key, ip_route_input_slow,
 *                  fib_validate_source
 *   nf_hook.ts     nf_hook_slow: runs netfilter/hooks.ts's PIPELINE at a hook
 *   conntrack.ts   nf_conntrack_core.c (lookup, confirm)
 *   nat.ts         nf_nat_core.c (binding, rewrite)
 *   icmp.ts        icmp_send, ipt_REJECT / nf_reject
 *   tcp.ts, udp.ts, ping.ts, socket.ts: the transport layers and the probe's client
 *
 * The clock is simulated (microseconds); randomness comes only from the seed and the choice list.
 */
import type { NsId } from '../model/link.js';
import type { Origin } from '../model/origin.js';
import { bug } from '../model/errors.js';
import type { Netns, Service, World } from '../world/types.js';
import type { Capture, Drop, DropCode, DropReason, Step } from '../trace/types.js';
import { Conntrack, type CtEntry } from './conntrack.js';
import { hasService, netnsById, serviceAt } from './derived.js';
import type { Frame } from './packet.js';
import type { Dir, Skb } from './skb.js';
import type { NeighEntry } from './arp.js';
import type { TcpConn } from './tcp.js';
import type { UdpRelay } from './udp.js';

export type { Dir } from './skb.js';

export interface ClientResult {
  readonly errno: string;
  readonly t: number;
}

export interface SimOptions {
  /** stop after this much simulated time (µs); a client with no answer by then times out */
  readonly horizonUs: number;
  /** forced answers for -m statistic decisions, in the order they come up */
  readonly choices: readonly boolean[];
  /** the whole TCP exchange (request, response, FIN) after the handshake, for captures */
  readonly fullTcp: boolean;
  readonly seed: number;
  /** keep the frames each interface saw (for --pcap and --pcapng); the walk is the same without */
  readonly captures: boolean;
  /**
   * 'all' records every step; 'why' (for a caller that reads only the result, the why and the
   * fixes: `check` without --pcap) leaves out the "not-local" steps of an ARP request flooded to
   * namespaces the rest of the trace never names (bridge.ts); the why and the fixes read the
   * same from both (test/engine/arp-flood.test.ts)
   */
  readonly steps?: 'all' | 'why';
}

export const DEFAULT_SIM: SimOptions = { horizonUs: 10_000_000, choices: [], fullTcp: true, seed: 1, captures: true, steps: 'all' };

const MAX_EVENTS = 20_000;

/** A step as a module records it: everything but the time, which the Sim adds. */
export type StepInput = Step extends infer S ? (S extends Step ? Omit<S, 't'> : never) : never;

export interface ClientFlow {
  readonly ns: NsId;
  readonly proto: 'tcp' | 'udp' | 'icmp';
  readonly local: number;
  readonly lport: number;
  readonly remote: number;
  readonly rport: number;
}

/** Steps left out of the record for now ('why' steps), made when the trace is read. */
export interface DeferredSteps {
  /** they follow the step at `at - 1` */
  readonly at: number;
  /** the namespace of the last of them */
  readonly lastNs: NsId;
  /** those of a namespace in `named`, in order, and the last one when `withLast` */
  made(named: ReadonlySet<NsId>, withLast: boolean): Step[];
}

interface Event {
  readonly t: number;
  readonly seq: number;
  readonly run: () => void;
}

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
  clientFlow?: ClientFlow;
  /** the request reached a socket in the destination namespace */
  requestDelivered?: { ns: NsId; t: number };
  /** every delivery of a request-direction packet to a local socket layer */
  readonly deliveries: { ns: NsId; t: number }[] = [];
  exhausted = false;

  /** neighbour caches, keyed by namespace then `ifindex` then address (arp.ts) */
  readonly neigh = new Map<NsId, Map<number, Map<number, NeighEntry>>>();
  /** bridge forwarding databases: namespace -> bridge ifindex -> MAC -> port ifindex (bridge.ts) */
  readonly fdb = new Map<NsId, Map<number, Map<string, number>>>();
  /** the model LANs' switches: LAN name -> MAC -> port index (dev.ts) */
  readonly lanFdb = new Map<string, Map<string, number>>();
  /** TCP sockets by namespace (tcp.ts) */
  readonly tcp = new Map<NsId, TcpConn[]>();
  /** docker-proxy's UDP sockets towards a container, one per client (udp.ts) */
  readonly udpRelays: UdpRelay[] = [];

  private readonly deferred: DeferredSteps[] = [];
  private queue: Event[] = [];
  private head = 0;
  private seq = 0;
  private events = 0;
  private readonly ct = new Map<NsId, Conntrack>();
  private readonly ipIds = new Map<NsId, number>();
  private rng: number;
  private readonly netns: ReadonlyMap<NsId, Netns>;

  constructor(
    readonly world: World,
    readonly opts: SimOptions,
  ) {
    this.rng = opts.seed >>> 0 || 1;
    this.netns = netnsById(world);
  }

  // --- event loop ---

  at(delay: number, run: () => void): void {
    const t = this.t + delay;
    const e: Event = { t, seq: this.seq++, run };
    // insertion keeps the pending part sorted by (t, seq); queues stay tiny
    const q = this.queue;
    let i = q.length;
    while (i > this.head && q[i - 1]!.t > t) i--;
    if (i === q.length) q.push(e);
    else q.splice(i, 0, e);
  }

  run(): void {
    const q = this.queue;
    while (this.head < q.length) {
      const e = q[this.head++]!;
      if (e.t > this.opts.horizonUs) break;
      if (!this.countEvent()) break;
      this.t = e.t;
      e.run();
      if (this.exhausted) break;
    }
    if (this.head >= q.length) {
      q.length = 0;
      this.head = 0;
    }
  }

  /**
   * One more delivery inside an event that stands for several (bridge.ts: the ports of a flood
   * where an ARP request can only be "not-local"): counted as if each were its own event;
   * false when the count runs out, as run() would stop before it.
   */
  countEvent(): boolean {
    if (++this.events > MAX_EVENTS) {
      this.exhausted = true;
      this.notes.add(`stopped after ${MAX_EVENTS} events (a forwarding or bridge loop?)`);
      return false;
    }
    return true;
  }

  /** `n` more such deliveries at once: how many of them the count allows (all of them, or it runs out). */
  countEvents(n: number): number {
    const room = Math.max(0, MAX_EVENTS - this.events);
    if (n <= room) {
      this.events += n;
      return n;
    }
    this.events += room;
    this.countEvent();
    return room;
  }

  /** An ephemeral port: one of the namespace's net.ipv4.ip_local_port_range, drawn by the seed. */
  ephemeralPort(nsId: NsId): number {
    const range = (this.ns(nsId).sysctl['net.ipv4.ip_local_port_range'] ?? '32768\t60999').split(/\s+/).map(Number);
    const lo = range[0] ?? 32768;
    const hi = range[1] ?? 60999;
    return lo + (this.random() % (hi - lo + 1));
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

  /** -m statistic and numgen: the forced answer for this decision, or `true` past the list. */
  choose(p: number, what: string): boolean {
    const forced = this.opts.choices[this.choiceLog.length];
    const matched = forced ?? true;
    this.choiceLog.push({ p, matched, what });
    return matched;
  }

  // --- recording ---

  step(s: StepInput): void {
    (s as unknown as { t: number }).t = this.t;
    this.steps.push(s as unknown as Step);
  }

  /** Records the end of a packet: the drop and its step. */
  drop(nsId: NsId, skb: Skb, code: DropCode, stage: string, reason: DropReason, where: { dev?: string | undefined; origin?: Origin | undefined; counter?: string } = {}): void {
    const d: { -readonly [K in keyof Drop]: Drop[K] } = { t: this.t, ns: nsId, code, stage, reason, packet: skb.pkt, dir: skb.dir };
    if (where.dev !== undefined) d.dev = where.dev;
    if (where.origin !== undefined) d.origin = where.origin;
    if (where.counter !== undefined) d.counter = where.counter;
    this.drops.push(d);
    const s: { -readonly [K in keyof Extract<Step, { kind: 'drop' }>]: Extract<Step, { kind: 'drop' }>[K] } = { t: this.t, ns: nsId, kind: 'drop', drop: d, packet: skb.pkt, dir: skb.dir };
    if (where.dev !== undefined) s.dev = where.dev;
    if (where.origin !== undefined) s.origin = where.origin;
    this.steps.push(s);
  }

  /** Steps that belong here but are made only if the trace names their namespace (or they end it). */
  defer(d: Omit<DeferredSteps, 'at'>): void {
    this.deferred.push({ at: this.steps.length, lastNs: d.lastNs, made: d.made });
  }

  /**
   * The record: the steps, with each deferred run's steps of the namespaces the recorded steps
   * name (and the very last step, when a deferred run ends the record).
   */
  record(): Step[] {
    if (this.deferred.length === 0) return this.steps;
    const named = new Set<NsId>();
    for (const s of this.steps) named.add(s.ns);
    const last = this.deferred[this.deferred.length - 1]!;
    const open = last.at === this.steps.length;
    if (open) named.add(last.lastNs);
    const out: Step[] = [];
    let i = 0;
    for (const d of this.deferred) {
      while (i < d.at) out.push(this.steps[i++]!);
      for (const s of d.made(named, open && d === last)) out.push(s);
    }
    while (i < this.steps.length) out.push(this.steps[i++]!);
    return out;
  }

  capture(ns: NsId, dev: string, dir: 'in' | 'out', frame: Frame): void {
    if (this.opts.captures) this.captures.push({ t: this.t, ns, dev, dir, frame });
  }

  // --- state ---

  ns(id: NsId): Netns {
    return this.netns.get(id) ?? bug(`no namespace ${id}`);
  }

  conntrack(id: NsId): Conntrack {
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

  clientDone(errno: string): void {
    if (this.client) return;
    this.client = { errno, t: this.t };
  }

  /** Forgets the client's result (before a crafted segment is judged on its own). */
  resetClient(): void {
    delete this.client;
  }

  /** A socket bound to `port` on `dst` (or on every address) in the namespace. */
  hasService(nsId: NsId, proto: 'tcp' | 'udp', port: number, dst: number): boolean {
    return hasService(this.world, nsId, proto, port, dst);
  }

  serviceAt(nsId: NsId, proto: 'tcp' | 'udp', port: number, dst: number): Service | undefined {
    return serviceAt(this.world, nsId, proto, port, dst);
  }
}
