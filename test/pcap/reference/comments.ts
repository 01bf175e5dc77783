/**
 * The capture writer as it was before it was made fast (src/pcap/comments.ts, copied unchanged but
 * for import paths): test/pcap/digests-gen.mjs writes the digests with it.
 *
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
import type { IpPacket } from '../../../src/engine/packet.js';
import type { Origin } from '../../../src/model/origin.js';
import type { Capture, ProbeTrace, Step } from '../../../src/trace/types.js';
import { stepText } from '../../../src/trace/text.js';
import { formatIpv4 } from '../../../src/wire/ipv4.js';

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

function where(o: Origin | undefined): string {
  return o && o.line > 0 ? ` [${basename(o.file)}:${o.line}]` : '';
}

interface Indexed {
  readonly i: number;
  readonly s: Step;
  readonly key?: string;
  readonly before?: string;
}

/** The comment of each capture of `trace`, index for index. */
export function captureComments(trace: ProbeTrace): string[] {
  const byNs = new Map<string, Indexed[]>();
  trace.steps.forEach((s, i) => {
    let l = byNs.get(s.ns);
    if (!l) byNs.set(s.ns, (l = []));
    l.push({ i, s, ...(s.packet ? { key: packetKey(s.packet) } : {}), ...(s.kind === 'nat' ? { before: packetKey(s.before) } : {}) });
  });
  const arpSeen = new Map<string, number>();
  return trace.captures.map((c) => {
    const steps = byNs.get(c.ns) ?? [];
    if (c.frame.payload.kind === 'arp') return arpComment(c, steps, arpSeen, trace.captures);
    const key = packetKey(c.frame.payload.ip);
    return c.dir === 'in' ? ingress(c, key, steps) : egress(c, key, steps);
  });
}

function ingress(c: Capture, key: string, steps: readonly Indexed[]): string {
  const parts: string[] = [];
  let k = key;
  const start = steps.findIndex((x) => x.s.t >= c.t);
  if (start < 0) return '';
  for (let j = start; j < steps.length; j++) {
    const { s } = steps[j]!;
    const x = steps[j]!;
    if (x.before === k && s.kind === 'nat' && x.key !== undefined) {
      parts.push(stepText(s));
      k = x.key;
      continue;
    }
    if (x.key !== k) continue;
    switch (s.kind) {
      case 'nf':
        if (s.nf.verdict === 'DROP' || s.nf.verdict === 'REJECT') parts.push(`${stepText(s)}${where(s.origin)}`);
        break;
      case 'bridge':
        parts.push(stepText(s));
        break;
      case 'drop':
        parts.push(`dropped: ${stepText(s)}${where(s.origin)}`);
        return parts.join('; ');
      case 'icmp':
        parts.push(`answered with ${stepText(s)}`);
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
    const s = steps[j]!.s;
    if (s.t !== t || s.kind === 'recv') break;
    if (s.kind === 'socket') out.push(stepText(s));
    if (s.kind === 'drop') out.push(`answer dropped: ${stepText(s)}${where(s.origin)}`);
    if (s.kind === 'icmp') out.push(`answered with ${stepText(s)}`);
  }
  return out;
}

function egress(c: Capture, key: string, steps: readonly Indexed[]): string {
  const nats: string[] = [];
  let k = key;
  let from: string | undefined;
  let end = steps.length - 1;
  while (end >= 0 && steps[end]!.s.t > c.t) end--;
  for (let j = end; j >= 0; j--) {
    const x = steps[j]!;
    const s = x.s;
    if (s.kind === 'nat' && x.key === k && x.before !== undefined) {
      const rule = steps.slice(0, j).reverse().find((y) => y.s.kind === 'nf' && y.s.nf.table === 'nat' && y.key === x.before && y.s.t === s.t);
      const by = rule && rule.s.kind === 'nf' ? ` by ${rule.s.nf.chain} rule ${rule.s.nf.rule ?? '?'}: -A ${rule.s.nf.chain} ${rule.s.nf.text ?? ''}${where(rule.s.origin)}` : '';
      nats.unshift(`${stepText(s)}${by}`);
      k = x.before;
      continue;
    }
    if (s.kind === 'recv' && x.key === k) {
      from = s.dev;
      break;
    }
  }
  return [from !== undefined ? `forwarded from ${from}` : 'local output', ...nats].join('; ');
}

function arpComment(c: Capture, steps: readonly Indexed[], seen: Map<string, number>, all: readonly Capture[]): string {
  if (c.frame.payload.kind !== 'arp') return '';
  const a = c.frame.payload.arp;
  const at = steps.filter((x) => x.s.t === c.t && x.s.kind === 'neigh' && x.s.dev === c.dev).map((x) => x.s);
  // the neighbour step about this frame's target address (a request) or sender (a reply)
  const about = (addr: number, events: readonly string[]): string | undefined => {
    const n = at.find((s) => s.kind === 'neigh' && events.includes(s.event) && 'addr' in s && s.addr === addr);
    return n ? stepText(n) : undefined;
  };
  const WHO_HAS = ['incomplete', 'not-local', 'ignored', 'source-refused', 'proxy-reply', 'filtered'];
  if (a.op === 'request') {
    const tpa = formatIpv4(a.tpa);
    if (c.dir === 'out') {
      const k = `${c.ns}|${c.dev}|${tpa}`;
      const n = (seen.get(k) ?? 0) + 1;
      seen.set(k, n);
      return about(a.tpa, ['incomplete']) ?? `neighbour ${tpa} dev ${c.dev} INCOMPLETE: ARP request ${n}`;
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
  return about(a.spa, ['reachable', 'static', 'failed']) ?? `ARP reply: ${spa} is-at ${a.sha}`;
}
