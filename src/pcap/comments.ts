/**
 * One line per captured frame saying what the hop did with it, taken from the trace's steps: the
 * pcapng `opt_comment` Wireshark shows in the packet list (View > Packet Comments) and tshark
 * prints as `frame.comment`.
 *
 * Captures and steps are matched by packet contents (every field but the TTL, so a NAT rewrite
 * gives a new identity) in the capture's namespace, from the capture's time on for frames coming in and up
 * to it for frames going out. Wording, by case:
 *   in, then NAT and forwarding  `NAT: dst A:p -> B:p; forwarded to eth0`
 *   in, then delivered           `delivered locally; <what the socket did>`
 *   in, then dropped             `dropped: <why> [file:line]`
 *   out, forwarded               `forwarded from eth0; NAT: src A:p -> B:p [file:line: rule]`
 *   out, local                   `local output`
 *   ARP                          the neighbour step (`neighbour X dev D INCOMPLETE ...`, `... REACHABLE`)
 */
import { basename } from 'node:path';
import type { ArpPacket, IpPacket } from '../engine/packet.js';
import type { Origin } from '../model/origin.js';
import type { Capture, ProbeTrace, Step } from '../trace/types.js';
import { stepText } from '../trace/text.js';
import { formatIpv4 } from '../wire/ipv4.js';

/**
 * Every field of a packet but the TTL, quoted packet included, as one string: forwarding
 * decrements the TTL without a step of its own, and the packet is still the same one.
 */
export function packetKey(p: IpPacket): string {
  const l4 = p.l4;
  const head = `${p.src}>${p.dst} id${p.id}`;
  switch (l4.kind) {
    case 'tcp': {
      const f = l4.flags;
      return `${head} tcp ${l4.sport}>${l4.dport} ${f.syn ? 'S' : ''}${f.fin ? 'F' : ''}${f.rst ? 'R' : ''}${f.psh ? 'P' : ''}${f.ack ? 'A' : ''} ${l4.seq}/${l4.ack} ${l4.len}`;
    }
    case 'udp':
      return `${head} udp ${l4.sport}>${l4.dport} ${l4.len}`;
    case 'icmp':
      return `${head} icmp ${l4.type}/${l4.code} ${l4.id ?? ''}/${l4.seq ?? ''}${l4.quoted ? ` [${packetKey(l4.quoted)}]` : ''}`;
  }
}

/**
 * Whether two packets are the same but for the TTL (`packetKey` of both equal), compared field by
 * field without building the keys.
 */
export function samePacket(a: IpPacket, b: IpPacket): boolean {
  if (a === b) return true;
  if (a.src !== b.src || a.dst !== b.dst || a.id !== b.id) return false;
  const x = a.l4;
  const y = b.l4;
  if (x === y) return true;
  switch (x.kind) {
    case 'tcp': {
      if (y.kind !== 'tcp' || x.sport !== y.sport || x.dport !== y.dport || x.seq !== y.seq || x.ack !== y.ack || x.len !== y.len) return false;
      const f = x.flags;
      const g = y.flags;
      return f === g || (f.syn === g.syn && f.fin === g.fin && f.rst === g.rst && f.psh === g.psh && f.ack === g.ack);
    }
    case 'udp':
      return y.kind === 'udp' && x.sport === y.sport && x.dport === y.dport && x.len === y.len;
    case 'icmp':
      return (
        y.kind === 'icmp' &&
        x.type === y.type &&
        x.code === y.code &&
        x.id === y.id &&
        x.seq === y.seq &&
        (x.quoted === undefined ? y.quoted === undefined : y.quoted !== undefined && samePacket(x.quoted, y.quoted))
      );
  }
}

/** basename of each file named in a step's origin (a few per model) */
const baseNames = new Map<string, string>();

function where(o: Origin | undefined): string {
  if (!o || o.line <= 0) return '';
  let b = baseNames.get(o.file);
  if (b === undefined) {
    if (baseNames.size > 256) baseNames.clear();
    baseNames.set(o.file, (b = basename(o.file)));
  }
  return ` [${b}:${o.line}]`;
}

type StepOf<K extends Step['kind']> = Extract<Step, { kind: K }>;

interface Indexed {
  readonly s: Step;
  /** s.t and s.kind, read once (steps come in many shapes; an Indexed has one) */
  readonly t: number;
  readonly kind: Step['kind'];
  /** the step's packet, and for NAT the packet before it */
  readonly pkt: IpPacket | undefined;
  readonly before: IpPacket | undefined;
  /** stepText(s), once made */
  text: string | undefined;
}

/** `x`'s packet is `p` (but for the TTL) */
const isPkt = (x: Indexed, p: IpPacket): boolean => x.pkt !== undefined && samePacket(x.pkt, p);
const isBefore = (x: Indexed, p: IpPacket): boolean => x.before !== undefined && samePacket(x.before, p);
const textOf = (x: Indexed): string => (x.text ??= stepText(x.s));

/** `out` and `part` joined by `; `, as `[...parts, part].join('; ')` would (`out` undefined: no part yet). */
const more = (out: string | undefined, part: string): string => (out === undefined ? part : `${out}; ${part}`);

/**
 * A number equal for packets `samePacket` calls the same (the fields it compares, mixed), so that
 * a lookup by it need compare only a few packets.
 */
function packetHash(p: IpPacket): number {
  let h = Math.imul(p.src ^ 0x9e3779b9, 0x85ebca6b) ^ p.dst;
  h = Math.imul(h ^ (h >>> 15), 0xc2b2ae35) ^ p.id;
  const l4 = p.l4;
  switch (l4.kind) {
    case 'tcp':
      h = Math.imul(h ^ (h >>> 13), 0x27d4eb2f) ^ l4.seq ^ (l4.sport << 16) ^ l4.dport;
      h = Math.imul(h ^ (h >>> 16), 0x165667b1) ^ l4.ack ^ l4.len;
      break;
    case 'udp':
      h = Math.imul(h ^ (h >>> 13), 0x27d4eb2f) ^ (l4.sport << 16) ^ l4.dport ^ l4.len;
      break;
    case 'icmp':
      h = Math.imul(h ^ (h >>> 13), 0x27d4eb2f) ^ (l4.type << 8) ^ l4.code ^ ((l4.id ?? -1) << 16) ^ (l4.seq ?? -1);
      break;
  }
  return Math.imul(h ^ (h >>> 15), 0x2c1b3c6d) | 0;
}

/** A namespace's steps, and where the ones an outgoing frame is traced back to are (`egress`). */
interface NsSteps {
  readonly steps: Indexed[];
  /** whether the steps' times ascend (searches are binary then), and the last time seen */
  sorted: boolean;
  last: number;
  /** the ascending indices of the `recv` steps and of the NAT steps */
  readonly back: number[];
  /** `back` by packetHash of the steps' packets, made when a long `back` is first searched */
  byHash: Map<number, number[]> | undefined;
}

/** Up to this many `recv` and NAT steps in a namespace, `lastBack` compares them all (no hashing). */
const LINEAR_BACK = 64;

/**
 * Whether a comment is made of or searched by steps of this kind (`ingress`, `afterDelivery`,
 * `egress`, `arpComment`); the others (routing lookups, conntrack, ...) can be left out of the
 * lists when times ascend, as no search then stops on them.
 */
function used(kind: Step['kind']): boolean {
  switch (kind) {
    case 'nat':
    case 'nf':
    case 'bridge':
    case 'drop':
    case 'icmp':
    case 'xmit':
    case 'deliver':
    case 'recv':
    case 'socket':
    case 'neigh':
      return true;
    default:
      return false;
  }
}

/** The steps of each namespace in order; only the kinds `used`, unless `all`. */
function stepsByNs(steps: readonly Step[], all: boolean): { byNs: Map<string, NsSteps>; sorted: boolean } {
  const byNs = new Map<string, NsSteps>();
  let sorted = true;
  let n: NsSteps | undefined;
  let ns: string | undefined;
  for (let i = 0; i < steps.length; i++) {
    const s = steps[i]!;
    const t = s.t;
    const kind = s.kind;
    if (n === undefined || s.ns !== ns) {
      ns = s.ns;
      n = byNs.get(ns);
      if (n === undefined) byNs.set(ns, (n = { steps: [], sorted: true, last: t, back: [], byHash: undefined }));
    }
    if (n.last > t) sorted = n.sorted = false;
    n.last = t;
    if (!all && !used(kind)) continue;
    const l = n.steps;
    const pkt = s.packet;
    const before = kind === 'nat' ? (s as StepOf<'nat'>).before : undefined;
    if (pkt !== undefined && (kind === 'recv' || before !== undefined)) n.back.push(l.length);
    l.push({ s, t, kind, pkt, before, text: undefined });
  }
  return { byNs, sorted };
}

const NO_STEPS: NsSteps = { steps: [], sorted: true, last: 0, back: [], byHash: undefined };

/** The comment of each capture of `trace`, index for index. */
export function captureComments(trace: ProbeTrace): string[] {
  let { byNs, sorted } = stepsByNs(trace.steps, false);
  // times that go back in a namespace: every step kept, searches linear there
  if (!sorted) byNs = stepsByNs(trace.steps, true).byNs;
  const caps = trace.captures;
  const arp: ArpState = { requests: [], capsAscend: undefined };
  const out: string[] = [];
  let ns: string | undefined;
  let n = NO_STEPS;
  for (let i = 0; i < caps.length; i++) {
    const c = caps[i]!;
    if (c.ns !== ns) {
      ns = c.ns;
      n = byNs.get(ns) ?? NO_STEPS;
    }
    const steps = n.steps;
    const f = c.frame.payload;
    if (f.kind === 'arp')
      out.push(n.sorted ? arpComment(c, f.arp, steps, firstAt(steps, c.t, true), lastAt(steps, c.t) + 1, arp, caps, i) : arpComment(c, f.arp, steps, 0, steps.length, arp, caps, i));
    else out.push(c.dir === 'in' ? ingress(c, f.ip, steps, n.sorted) : egress(c, f.ip, n));
  }
  return out;
}

/** The index of the first step at time `t` or later (steps.length if none); steps ascend in time when `sorted`. */
function firstAt(steps: readonly Indexed[], t: number, sorted: boolean): number {
  let lo = 0;
  let hi = steps.length;
  if (!sorted) {
    while (lo < hi && steps[lo]!.t < t) lo++;
    return lo;
  }
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (steps[mid]!.t < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The index of the last step at time `t` or earlier (-1 if none); steps ascend in time. */
function lastAt(steps: readonly Indexed[], t: number): number {
  let lo = 0;
  let hi = steps.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (steps[mid]!.t <= t) lo = mid + 1;
    else hi = mid;
  }
  return lo - 1;
}

function ingress(c: Capture, key: IpPacket, steps: readonly Indexed[], sorted: boolean): string {
  let out: string | undefined;
  let k = key;
  for (let j = firstAt(steps, c.t, sorted); j < steps.length; j++) {
    const x = steps[j]!;
    if (x.kind === 'nat' && x.pkt !== undefined && isBefore(x, k)) {
      out = more(out, textOf(x));
      k = x.pkt;
      continue;
    }
    if (!isPkt(x, k)) continue;
    switch (x.kind) {
      case 'nf': {
        const v = (x.s as StepOf<'nf'>).nf.verdict;
        if (v === 'DROP' || v === 'REJECT') out = more(out, `${textOf(x)}${where(x.s.origin)}`);
        break;
      }
      case 'bridge':
        out = more(out, textOf(x));
        break;
      case 'drop':
        return more(out, `dropped: ${textOf(x)}${where(x.s.origin)}`);
      case 'icmp':
        out = more(out, `answered with ${textOf(x)}`);
        break;
      case 'xmit': {
        const dev = x.s.dev;
        return dev !== undefined && dev !== c.dev ? more(out, `forwarded to ${dev}`) : (out ?? '');
      }
      case 'deliver':
        return afterDelivery(steps, j, more(out, 'delivered locally'));
      default:
        break;
    }
  }
  return out ?? '';
}

/** `out`, then what the local stack did in answer, up to the next frame it received: socket events, drops. */
function afterDelivery(steps: readonly Indexed[], from: number, out: string): string {
  const t = steps[from]!.t;
  for (let j = from + 1; j < steps.length; j++) {
    const x = steps[j]!;
    if (x.t !== t || x.kind === 'recv') break;
    if (x.kind === 'socket') out = `${out}; ${textOf(x)}`;
    else if (x.kind === 'drop') out = `${out}; answer dropped: ${textOf(x)}${where(x.s.origin)}`;
    else if (x.kind === 'icmp') out = `${out}; answered with ${textOf(x)}`;
  }
  return out;
}

/**
 * Back from the frame's time: each NAT step that made the packet (the packet before it is traced
 * on), up to the `recv` step of the packet (forwarded) or the start (local output).
 */
function egress(c: Capture, key: IpPacket, n: NsSteps): string {
  const steps = n.steps;
  let k = key;
  // `; NAT ...` for each NAT step, the earliest first
  let nats = '';
  let end = steps.length - 1;
  if (n.sorted) end = lastAt(steps, c.t);
  else while (end >= 0 && steps[end]!.t > c.t) end--;
  for (let j = lastBack(n, k, end); j >= 0; j = lastBack(n, k, j - 1)) {
    const x = steps[j]!;
    const before = x.before;
    if (x.kind === 'nat' && before !== undefined) {
      nats = `; ${textOf(x)}${natRule(n, j, before)}${nats}`;
      k = before;
      continue;
    }
    const from = x.s.dev;
    return from !== undefined ? `forwarded from ${from}${nats}` : `local output${nats}`;
  }
  return `local output${nats}`;
}

/**
 * ` by CHAIN rule N: -A CHAIN RULE [file:line]`: the nat table's rule (the last step before the
 * NAT step `j` at its time) whose packet is `before`; '' if none.
 */
function natRule(n: NsSteps, j: number, before: IpPacket): string {
  const steps = n.steps;
  const t = steps[j]!.t;
  for (let r = j - 1; r >= 0; r--) {
    const y = steps[r]!;
    if (y.t !== t) {
      if (n.sorted && y.t < t) break; // every step before it is earlier too
      continue;
    }
    if (y.kind !== 'nf') continue;
    const nf = (y.s as StepOf<'nf'>).nf;
    if (nf.table === 'nat' && isPkt(y, before)) return ` by ${nf.chain} rule ${nf.rule ?? '?'}: -A ${nf.chain} ${nf.text ?? ''}${where(y.s.origin)}`;
  }
  return '';
}

/** The index of the last `recv` or NAT step at or before `j` whose packet is `p`, or -1. */
function lastBack(n: NsSteps, p: IpPacket, j: number): number {
  const back = n.back;
  const steps = n.steps;
  if (back.length <= LINEAR_BACK) {
    for (let i = back.length - 1; i >= 0; i--) {
      const k = back[i]!;
      if (k <= j && samePacket(steps[k]!.pkt!, p)) return k;
    }
    return -1;
  }
  const at = (n.byHash ??= hashBack(n)).get(packetHash(p));
  if (at === undefined) return -1;
  for (let i = at.length - 1; i >= 0; i--) {
    const k = at[i]!;
    if (k <= j && samePacket(steps[k]!.pkt!, p)) return k;
  }
  return -1;
}

/** `n.back` by packetHash of the steps' packets, each list ascending. */
function hashBack(n: NsSteps): Map<number, number[]> {
  const m = new Map<number, number[]>();
  for (const k of n.back) {
    const h = packetHash(n.steps[k]!.pkt!);
    const at = m.get(h);
    if (at === undefined) m.set(h, [k]);
    else at.push(k);
  }
  return m;
}

/** What the ARP comments of a trace keep. */
interface ArpState {
  /** the requests sent so far from each namespace and device for each address */
  readonly requests: { readonly ns: string; readonly dev: string; readonly addr: number; n: number }[];
  /** whether the trace's captures ascend in time (known once asked) */
  capsAscend: boolean | undefined;
}

/** Which neighbour events tell of a frame: an ARP request going out, one coming in (who-has), a reply coming in. */
const REQUEST_OUT = 0;
const WHO_HAS = 1;
const REPLY_IN = 2;

function tells(event: StepOf<'neigh'>['event'], frame: number): boolean {
  switch (event) {
    case 'incomplete':
      return frame !== REPLY_IN;
    case 'not-local':
    case 'ignored':
    case 'source-refused':
    case 'proxy-reply':
    case 'filtered':
      return frame === WHO_HAS;
    case 'reachable':
    case 'static':
    case 'failed':
      return frame === REPLY_IN;
    default:
      return false;
  }
}

/** `steps[from, to)`: the capture's namespace's steps (at least those at the capture's time). */
function arpComment(c: Capture, a: ArpPacket, steps: readonly Indexed[], from: number, to: number, st: ArpState, caps: readonly Capture[], i: number): string {
  if (a.op === 'request') {
    if (c.dir === 'out') {
      const n = requestsSent(st, c, a.tpa);
      return neighText(c, steps, from, to, a.tpa, REQUEST_OUT) ?? `neighbour ${formatIpv4(a.tpa)} dev ${c.dev} INCOMPLETE: ARP request ${n}`;
    }
    const d = neighText(c, steps, from, to, a.tpa, WHO_HAS);
    if (d) return d;
    return answered(st, c, a, caps, i) ? `ARP who-has ${formatIpv4(a.tpa)}: a local address, answered` : `ARP who-has ${formatIpv4(a.tpa)}`;
  }
  if (c.dir === 'out') return `ARP reply: ${formatIpv4(a.spa)} is-at ${a.sha}`;
  return neighText(c, steps, from, to, a.spa, REPLY_IN) ?? `ARP reply: ${formatIpv4(a.spa)} is-at ${a.sha}`;
}

/**
 * The neighbour step at the frame's time and on its device about `addr` (a request's target
 * address, a reply's sender) that tells of this kind of frame, in `steps[from, to)`.
 */
function neighText(c: Capture, steps: readonly Indexed[], from: number, to: number, addr: number, frame: number): string | undefined {
  for (let j = from; j < to; j++) {
    const x = steps[j]!;
    if (x.t !== c.t || x.kind !== 'neigh') continue;
    const s = x.s as StepOf<'neigh'>;
    if (s.dev === c.dev && tells(s.event, frame) && 'addr' in s && s.addr === addr) return textOf(x);
  }
  return undefined;
}

/** Counts the request out of `c` for `addr`: how many the namespace sent on the device so far, this one included. */
function requestsSent(st: ArpState, c: Capture, addr: number): number {
  for (const r of st.requests) if (r.addr === addr && r.dev === c.dev && r.ns === c.ns) return ++r.n;
  st.requests.push({ ns: c.ns, dev: c.dev, addr, n: 1 });
  return 1;
}

/** Whether the request `caps[i]` (`a`, coming in) was answered: a reply out of the same device at the same time, from the address asked for to the asker. */
function answered(st: ArpState, c: Capture, a: ArpPacket, caps: readonly Capture[], i: number): boolean {
  st.capsAscend ??= ascending(caps);
  if (!st.capsAscend) return caps.some((o) => answers(o, c, a));
  // captures ascend in time: those at c's time are next to it
  for (let j = i + 1; j < caps.length && caps[j]!.t === c.t; j++) if (answers(caps[j]!, c, a)) return true;
  for (let j = i - 1; j >= 0 && caps[j]!.t === c.t; j--) if (answers(caps[j]!, c, a)) return true;
  return false;
}

function answers(o: Capture, c: Capture, a: ArpPacket): boolean {
  if (o.t !== c.t || o.dir !== 'out' || o.dev !== c.dev || o.ns !== c.ns) return false;
  const f = o.frame.payload;
  return f.kind === 'arp' && f.arp.op === 'reply' && f.arp.spa === a.tpa && f.arp.tpa === a.spa;
}

function ascending(caps: readonly Capture[]): boolean {
  for (let j = 1; j < caps.length; j++) if (caps[j]!.t < caps[j - 1]!.t) return false;
  return true;
}
