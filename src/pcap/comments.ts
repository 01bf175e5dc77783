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
import type { IpPacket } from '../engine/packet.js';
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
  /** by packetHash of their packet: the ascending indices of `recv` steps and of NAT steps */
  readonly back: Map<number, number[]>;
}

/**
 * The kinds of steps a comment is made of or searched by (`ingress`, `afterDelivery`, `egress`,
 * `arpComment`); the others (routing lookups, conntrack, ...) can be left out of the lists when
 * times ascend, as no search then stops on them.
 */
const USED: ReadonlySet<Step['kind']> = new Set<Step['kind']>(['nat', 'nf', 'bridge', 'drop', 'icmp', 'xmit', 'deliver', 'recv', 'socket', 'neigh']);

/** The steps of each namespace in order; only the USED kinds, unless `all`. */
function stepsByNs(trace: ProbeTrace, all: boolean): { byNs: Map<string, NsSteps>; sorted: boolean } {
  const byNs = new Map<string, NsSteps>();
  let sorted = true;
  let n: NsSteps | undefined;
  let ns: string | undefined;
  for (const s of trace.steps) {
    const t = s.t;
    const kind = s.kind;
    if (n === undefined || s.ns !== ns) {
      ns = s.ns;
      n = byNs.get(ns);
      if (n === undefined) byNs.set(ns, (n = { steps: [], sorted: true, last: t, back: new Map() }));
    }
    if (n.last > t) sorted = n.sorted = false;
    n.last = t;
    if (!all && !USED.has(kind)) continue;
    const l = n.steps;
    const pkt = s.packet;
    const before = s.kind === 'nat' ? s.before : undefined;
    if (pkt !== undefined && (kind === 'recv' || before !== undefined)) {
      const h = packetHash(pkt);
      const at = n.back.get(h);
      if (at === undefined) n.back.set(h, [l.length]);
      else at.push(l.length);
    }
    l.push({ s, t, kind, pkt, before, text: undefined });
  }
  return { byNs, sorted };
}

const NO_STEPS: NsSteps = { steps: [], sorted: true, last: 0, back: new Map() };

/** The comment of each capture of `trace`, index for index. */
export function captureComments(trace: ProbeTrace): string[] {
  let { byNs, sorted } = stepsByNs(trace, false);
  // times that go back in a namespace: every step kept, searches linear there
  if (!sorted) byNs = stepsByNs(trace, true).byNs;
  const arpSeen = new Map<string, number>();
  return trace.captures.map((c) => {
    const n = byNs.get(c.ns) ?? NO_STEPS;
    const steps = n.steps;
    if (c.frame.payload.kind === 'arp') return n.sorted ? arpComment(c, steps, firstAt(steps, c.t, true), lastAt(steps, c.t) + 1, arpSeen, trace.captures) : arpComment(c, steps, 0, steps.length, arpSeen, trace.captures);
    const p = c.frame.payload.ip;
    return c.dir === 'in' ? ingress(c, p, steps, n.sorted) : egress(c, p, n);
  });
}

/** The index of the first step at time `t` or later (steps.length if none); steps ascend in time when `sorted`. */
function firstAt(steps: readonly Indexed[], t: number, sorted: boolean): number {
  if (!sorted) {
    const i = steps.findIndex((x) => x.t >= t);
    return i < 0 ? steps.length : i;
  }
  let lo = 0;
  let hi = steps.length;
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
  const parts: string[] = [];
  let k = key;
  const first = firstAt(steps, c.t, sorted);
  const start = first < steps.length ? first : -1;
  if (start < 0) return '';
  for (let j = start; j < steps.length; j++) {
    const { s } = steps[j]!;
    const x = steps[j]!;
    if (x.kind === 'nat' && x.pkt !== undefined && isBefore(x, k)) {
      parts.push(textOf(x));
      k = x.pkt;
      continue;
    }
    if (!isPkt(x, k)) continue;
    switch (s.kind) {
      case 'nf':
        if (s.nf.verdict === 'DROP' || s.nf.verdict === 'REJECT') parts.push(`${textOf(x)}${where(s.origin)}`);
        break;
      case 'bridge':
        parts.push(textOf(x));
        break;
      case 'drop':
        parts.push(`dropped: ${textOf(x)}${where(s.origin)}`);
        return parts.join('; ');
      case 'icmp':
        parts.push(`answered with ${textOf(x)}`);
        break;
      case 'xmit':
        if (s.dev !== undefined && s.dev !== c.dev) parts.push(`forwarded to ${s.dev}`);
        return parts.join('; ');
      case 'deliver':
        parts.push('delivered locally');
        parts.push(...afterDelivery(steps, j));
        return parts.join('; ');
      default:
        break;
    }
  }
  return parts.join('; ');
}

/** What the local stack did in answer, up to the next frame it received: socket events, drops. */
function afterDelivery(steps: readonly Indexed[], from: number): string[] {
  const out: string[] = [];
  const t = steps[from]!.s.t;
  for (let j = from + 1; j < steps.length; j++) {
    const x = steps[j]!;
    const s = x.s;
    if (s.t !== t || s.kind === 'recv') break;
    if (s.kind === 'socket') out.push(textOf(x));
    if (s.kind === 'drop') out.push(`answer dropped: ${textOf(x)}${where(s.origin)}`);
    if (s.kind === 'icmp') out.push(`answered with ${textOf(x)}`);
  }
  return out;
}

/**
 * Back from the frame's time: each NAT step that made the packet (the packet before it is traced
 * on), up to the `recv` step of the packet (forwarded) or the start (local output).
 */
function egress(c: Capture, key: IpPacket, n: NsSteps): string {
  const steps = n.steps;
  const nats: string[] = [];
  let k = key;
  let from: string | undefined;
  let end = steps.length - 1;
  if (n.sorted) end = lastAt(steps, c.t);
  else while (end >= 0 && steps[end]!.s.t > c.t) end--;
  for (let j = lastBack(n, k, end); j >= 0; j = lastBack(n, k, j - 1)) {
    const x = steps[j]!;
    const s = x.s;
    if (s.kind === 'nat' && x.before !== undefined) {
      const before = x.before;
      let rule: Indexed | undefined;
      for (let r = j - 1; r >= 0 && rule === undefined; r--) {
        const y = steps[r]!;
        if (y.kind === 'nf' && y.t === s.t && y.s.kind === 'nf' && y.s.nf.table === 'nat' && isPkt(y, before)) rule = y;
      }
      const by = rule && rule.s.kind === 'nf' ? ` by ${rule.s.nf.chain} rule ${rule.s.nf.rule ?? '?'}: -A ${rule.s.nf.chain} ${rule.s.nf.text ?? ''}${where(rule.s.origin)}` : '';
      nats.unshift(`${textOf(x)}${by}`);
      k = before;
      continue;
    }
    from = s.dev;
    break;
  }
  const head = from !== undefined ? `forwarded from ${from}` : 'local output';
  return nats.length === 0 ? head : [head, ...nats].join('; ');
}

/** The index of the last `recv` or NAT step at or before `j` whose packet is `p`, or -1. */
function lastBack(n: NsSteps, p: IpPacket, j: number): number {
  const at = n.back.get(packetHash(p));
  if (at === undefined) return -1;
  for (let i = at.length - 1; i >= 0; i--) {
    const k = at[i]!;
    if (k <= j && samePacket(n.steps[k]!.pkt!, p)) return k;
  }
  return -1;
}

const ARP_REQUEST_OUT = ['incomplete'];
const WHO_HAS = ['incomplete', 'not-local', 'ignored', 'source-refused', 'proxy-reply', 'filtered'];
const ARP_REPLY_IN = ['reachable', 'static', 'failed'];

/** `steps[from, to)`: the capture's namespace's steps (at least those at the capture's time). */
function arpComment(c: Capture, steps: readonly Indexed[], from: number, to: number, seen: Map<string, number>, all: readonly Capture[]): string {
  if (c.frame.payload.kind !== 'arp') return '';
  const a = c.frame.payload.arp;
  // the neighbour step at the frame's time and on its device about this frame's target address
  // (a request) or sender (a reply)
  const about = (addr: number, events: readonly string[]): string | undefined => {
    for (let j = from; j < to; j++) {
      const x = steps[j]!;
      if (x.t !== c.t || x.kind !== 'neigh') continue;
      const n = x.s;
      if (n.kind === 'neigh' && n.dev === c.dev && events.includes(n.event) && 'addr' in n && n.addr === addr) return textOf(x);
    }
    return undefined;
  };
  if (a.op === 'request') {
    const tpa = formatIpv4(a.tpa);
    if (c.dir === 'out') {
      const k = `${c.ns}|${c.dev}|${tpa}`;
      const n = (seen.get(k) ?? 0) + 1;
      seen.set(k, n);
      return about(a.tpa, ARP_REQUEST_OUT) ?? `neighbour ${tpa} dev ${c.dev} INCOMPLETE: ARP request ${n}`;
    }
    const d = about(a.tpa, WHO_HAS);
    if (d) return d;
    const answered = all.some(
      (o) => o.ns === c.ns && o.dev === c.dev && o.t === c.t && o.dir === 'out' && o.frame.payload.kind === 'arp' && o.frame.payload.arp.op === 'reply' && o.frame.payload.arp.spa === a.tpa && o.frame.payload.arp.tpa === a.spa,
    );
    return answered ? `ARP who-has ${tpa}: a local address, answered` : `ARP who-has ${tpa}`;
  }
  const spa = formatIpv4(a.spa);
  if (c.dir === 'out') return `ARP reply: ${spa} is-at ${a.sha}`;
  return about(a.spa, ARP_REPLY_IN) ?? `ARP reply: ${spa} is-at ${a.sha}`;
}
