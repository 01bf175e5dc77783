/**
 * The "why" of a probe that did not get its answer, read from the typed trace only: which packet
 * died (the request, the reply, or an ICMP error about one of them), where (namespace, device,
 * stage of the kernel's walk, the SNMP counter that counts it), and the runbook line that decided
 * it, or the line that is absent (no route, a sysctl left at its default). Every clause names a
 * step or a drop of the trace; nothing is guessed.
 */
import type { NsId } from '../model/link.js';
import { formatOrigin, type Origin } from '../model/origin.js';
import { isIcmpError, type IpPacket } from '../engine/packet.js';
import { formatIpv4 } from '../wire/ipv4.js';
import { displayNs } from '../world/build.js';
import type { World } from '../world/types.js';
import { dumpOrder, formatRoute } from '../route/show.js';
import { icmpName, natText, pktText, reasonText, routeText } from '../trace/text.js';
import type { Drop, DropCode, NfWhere, ProbeTrace, Step } from '../trace/types.js';

export type WhyPacket = 'request' | 'reply' | 'icmp';

/** The netfilter rule that decided a drop, and the rules that jumped to its chain. */
export interface Decider {
  readonly table: string;
  /** `inet filter` style names are nft tables */
  readonly nft: boolean;
  readonly hook: string;
  readonly chain: string;
  /** 1-based position in `chain`; undefined for the chain policy */
  readonly rule?: number;
  readonly text?: string;
  readonly origin?: Origin;
  /** the calling rules, outermost first (`-j CHECK` from INPUT rule 1) */
  readonly via: readonly NfWhere[];
}

/** Where the probe went wrong, as the fix search needs it. */
export type Point =
  | { readonly kind: 'drop'; readonly drop: Drop; readonly index: number; readonly decider?: Decider }
  /** a reply reached the client with addresses the client's socket does not know (not NATed back) */
  | { readonly kind: 'unmatched-reply'; readonly index: number; readonly packet: IpPacket; readonly sender?: NsId; readonly senderDev?: string }
  /** the request reached a namespace where nothing listens on the port */
  | { readonly kind: 'no-listener'; readonly index: number; readonly ns: NsId; readonly proto: 'tcp' | 'udp'; readonly port: number }
  /** nothing was dropped and nothing came back (a soft ICMP error, an ignored echo ...) */
  | { readonly kind: 'silent'; readonly index: number }
  /** the probe got through although it was expected not to */
  | { readonly kind: 'reached' };

export interface WhyFacts {
  readonly text: string;
  readonly packet: WhyPacket;
  readonly ns: NsId;
  readonly dev?: string;
  readonly stage: string;
  readonly counter?: string;
  /** the runbook line responsible; absent when a line is missing (the text says which) */
  readonly origin?: Origin;
  readonly code: DropCode;
  readonly dir: 'request' | 'reply';
  readonly point: Point;
}

const name = (world: World, id: NsId): string => displayNs(world, id);
const line = (o: Origin | undefined): string => (o && o.line > 0 ? ` (${formatOrigin(o)}: ${o.text})` : '');

/** What the client program saw, as a closing sentence. */
export function clientSaw(tr: ProbeTrace): string {
  if (tr.errno === 'ok') return 'The client got its answer.';
  if (tr.errno === 'timeout') {
    if (tr.proto === 'tcp') return "The client's connect() times out.";
    if (tr.proto === 'udp') return 'The client hears nothing back.';
    return 'ping gets no answer.';
  }
  return `The client gets ${tr.errno}.`;
}

/** The namespace the first packet of `dir` direction was sent from before it reached `index`. */
export function arrival(tr: ProbeTrace, index: number): { recv?: Extract<Step, { kind: 'recv' }>; from?: NsId; fromDev?: string } {
  const ns = tr.steps[index]?.ns;
  const dir = tr.steps[index]?.dir;
  for (let i = index; i >= 0; i--) {
    const s = tr.steps[i]!;
    if (s.ns !== ns) {
      if (s.kind === 'xmit') return { from: s.ns, ...(s.dev !== undefined ? { fromDev: s.dev } : {}) };
      continue;
    }
    // made here: a socket's answer, an ICMP error, a sent packet (the other direction's steps before it do not count)
    if (i < index && (s.kind === 'send' || s.kind === 'socket' || s.kind === 'icmp' || (dir !== undefined && s.dir !== undefined && s.dir !== dir))) return {};
    if (s.kind === 'recv') {
      for (let j = i - 1; j >= 0; j--) {
        const p = tr.steps[j]!;
        if (p.ns !== ns && p.kind === 'xmit') return { recv: s, from: p.ns, ...(p.dev !== undefined ? { fromDev: p.dev } : {}) };
      }
      return { recv: s };
    }
  }
  return {};
}

/** The nf step that decided a drop, and the jumps that led to its chain. */
export function deciderOf(tr: ProbeTrace, index: number, drop: Drop): Decider | undefined {
  if (drop.reason.kind !== 'nf') return undefined;
  const table = drop.reason.table;
  const nfs: Extract<Step, { kind: 'nf' }>[] = [];
  for (let i = index - 1; i >= 0; i--) {
    const s = tr.steps[i]!;
    if (s.ns !== drop.ns || s.kind !== 'nf' || s.nf.table !== table || s.hook !== drop.reason.hook) break;
    if (s.log === undefined) nfs.unshift(s);
  }
  const last = nfs[nfs.length - 1];
  const nft = table.includes(' ');
  if (!last) return { table, nft, hook: drop.reason.hook, chain: drop.reason.hook, via: [], ...(drop.origin ? { origin: drop.origin } : {}) };
  // the calls that are still open at the deciding rule: walk back through jumps into its chain
  const via: NfWhere[] = [];
  let want = last.nf.chain;
  for (let i = nfs.length - 2; i >= 0; i--) {
    const v = nfs[i]!.nf.verdict ?? '';
    if (v === `jump ${want}` || v === `goto ${want}`) {
      via.unshift(nfs[i]!.nf);
      want = nfs[i]!.nf.chain;
    }
  }
  return {
    table,
    nft,
    hook: drop.reason.hook,
    chain: last.nf.chain,
    ...(last.policy || last.nf.rule === undefined ? {} : { rule: last.nf.rule }),
    ...(last.nf.text !== undefined ? { text: last.nf.text } : {}),
    ...(last.origin ? { origin: last.origin } : drop.origin ? { origin: drop.origin } : {}),
    via,
  };
}

/** The step index of a drop in the trace. */
function dropIndex(tr: ProbeTrace, d: Drop): number {
  const i = tr.steps.findIndex((s) => s.kind === 'drop' && s.drop === d);
  return i >= 0 ? i : tr.steps.length - 1;
}

/**
 * The point where the probe went wrong. A reply the client's stack cannot match comes first (the
 * client's own RST or port unreachable answering it is a consequence, never the cause); then the
 * first drop of the probe's own packets; then an ICMP error that died; then a closed port.
 */
export function findPoint(tr: ProbeTrace): Point {
  if (tr.result === 'reachable') return { kind: 'reached' };
  const unmatched = tr.steps.findIndex((s) => s.kind === 'socket' && s.event === 'no-listener' && s.ns === tr.from && s.dir === 'reply');
  const firstDrop = tr.drops.find((d) => !isIcmpError(d.packet)) ?? tr.drops[0];
  const dIdx = firstDrop ? dropIndex(tr, firstDrop) : -1;
  if (unmatched >= 0 && (dIdx < 0 || unmatched < dIdx)) {
    // the packet the client's stack could not match is the one delivered just before
    let pkt: IpPacket | undefined;
    for (let i = unmatched; i >= 0 && !pkt; i--) {
      const s = tr.steps[i]!;
      if (s.ns === tr.from && s.kind === 'deliver') pkt = s.packet;
    }
    if (pkt) {
      const a = arrival(tr, unmatched);
      return { kind: 'unmatched-reply', index: unmatched, packet: pkt, ...(a.from !== undefined ? { sender: a.from } : {}), ...(a.fromDev !== undefined ? { senderDev: a.fromDev } : {}) };
    }
  }
  if (firstDrop) return { kind: 'drop', drop: firstDrop, index: dIdx, ...withDecider(deciderOf(tr, dIdx, firstDrop)) };
  const closed = tr.steps.findIndex((s) => s.kind === 'socket' && s.event === 'no-listener');
  if (closed >= 0) {
    const s = tr.steps[closed]!;
    if (s.kind === 'socket' && s.event === 'no-listener') return { kind: 'no-listener', index: closed, ns: s.ns, proto: s.proto, port: s.port };
  }
  return { kind: 'silent', index: tr.steps.length - 1 };
}

function withDecider(d: Decider | undefined): { decider?: Decider } {
  return d ? { decider: d } : {};
}

/** The typed why of one trace (a branch of a probe). */
export function whyOf(world: World, tr: ProbeTrace, expected?: string): WhyFacts {
  const point = findPoint(tr);
  const n = (id: NsId): string => name(world, id);
  const saw = clientSaw(tr);
  switch (point.kind) {
    case 'reached':
      return {
        text: `The probe got its answer (${tr.result})${expected !== undefined ? `, but ${expected} was expected` : ''}: nothing on the path stops it.`,
        packet: 'request',
        ns: tr.from,
        stage: 'socket',
        code: 'no-service',
        dir: 'request',
        point,
      };
    case 'unmatched-reply':
      return unmatchedWhy(world, tr, point, saw);
    case 'no-listener': {
      const delivered = tr.steps[point.index - 1];
      const pkt = delivered?.kind === 'deliver' && delivered.packet ? ` (${pktText(delivered.packet)})` : '';
      const nat = natsBefore(world, tr, point.index, 'request');
      const answer = point.proto === 'tcp' ? 'its stack answers RST' : 'its stack answers ICMP port unreachable';
      return {
        text: `The request reached ${n(point.ns)}${pkt}${nat}, but nothing listens on ${point.proto}/${point.port} there: ${answer}. ${saw}`,
        packet: 'request',
        ns: point.ns,
        ...(delivered?.dev !== undefined ? { dev: delivered.dev } : {}),
        stage: 'socket',
        code: 'no-socket',
        dir: 'request',
        point,
      };
    }
    case 'silent': {
      const soft = tr.steps.find((s) => s.kind === 'socket' && (s.event === 'soft-error' || s.event === 'echo-ignored' || s.event === 'broadcast-ignored' || s.event === 'send-failed'));
      const what = soft && soft.kind === 'socket' ? ` In ${n(soft.ns)}: ${socketLine(soft)}.` : '';
      return {
        text: `No packet of the probe was dropped, and nothing the client's socket reports came back.${what} ${saw}`,
        packet: soft?.dir === 'reply' ? 'reply' : 'request',
        ns: soft?.ns ?? tr.from,
        stage: 'socket',
        code: 'no-service',
        dir: soft?.dir ?? 'reply',
        point,
      };
    }
    case 'drop':
      return dropWhy(world, tr, point, saw);
  }
}

function socketLine(s: Extract<Step, { kind: 'socket' }>): string {
  switch (s.event) {
    case 'soft-error':
      return `ICMP ${icmpName(s.icmpType, s.icmpCode)} came back, but a UDP socket without IP_RECVERR is not told of it (a soft error)`;
    case 'echo-ignored':
      return 'the echo request was ignored (net.ipv4.icmp_echo_ignore_all=1)';
    case 'broadcast-ignored':
      return s.proto === 'icmp'
        ? 'the echo request came in through a broadcast route and was ignored (net.ipv4.icmp_echo_ignore_broadcasts=1)'
        : `the ${s.proto === 'tcp' ? 'SYN' : 'datagram'} came in through a broadcast route, which the kernel never answers`;
    case 'send-failed':
      return `the answer was not sent: ${s.errno}`;
    default:
      return s.event;
  }
}

/** `, after NAT on gw (dst 172.31.0.2:8080 -> 10.0.1.10:80, line)` for the NATs a direction went through. */
function natsBefore(world: World, tr: ProbeTrace, index: number, dir: 'request' | 'reply'): string {
  const parts: string[] = [];
  for (let i = 0; i < index; i++) {
    const s = tr.steps[i]!;
    if (s.kind !== 'nat' || s.dir !== dir) continue;
    const bind = tr.steps.slice(0, i).reverse().find((b) => b.kind === 'nat-bind' && b.ns === s.ns);
    parts.push(`${name(world, s.ns)} rewrote it: ${natText(s.before, s.packet)}${line(bind?.origin)}`);
    break;
  }
  return parts.length ? ` (${parts.join('; ')})` : '';
}

function unmatchedWhy(world: World, tr: ProbeTrace, p: Extract<Point, { kind: 'unmatched-reply' }>, saw: string): WhyFacts {
  const n = (id: NsId): string => name(world, id);
  const client = n(tr.from);
  const nat = tr.steps.find((s) => s.kind === 'nat' && s.dir === 'request');
  // the route the reply took out of the namespace that answered
  let routeOut = '';
  if (p.sender !== undefined) {
    const r = tr.steps.slice(0, p.index).reverse().find((s) => s.kind === 'route' && !s.input && s.ns === p.sender && s.dir === 'reply');
    if (r && r.kind === 'route') routeOut = ` by the route ${routeText(r.route)}${line(r.origin)}`;
  }
  const natLine =
    nat && nat.kind === 'nat'
      ? `${n(nat.ns)} rewrote the request (${natText(nat.before, nat.packet)}), but the reply did not come back through ${n(nat.ns)}: `
      : 'The reply does not match what the client sent: ';
  const left = p.sender !== undefined ? `it left ${n(p.sender)}${p.senderDev !== undefined ? ` on ${p.senderDev}` : ''}${routeOut} and reached ${client} untranslated` : `it reached ${client} untranslated`;
  const recv = tr.steps.slice(0, p.index).reverse().find((s) => s.kind === 'recv' && s.ns === tr.from);
  const invalid = tr.steps.slice(0, p.index).reverse().find((s) => s.kind === 'conntrack' && s.ns === tr.from && s.state === 'INVALID');
  const l4 = p.packet.l4;
  const answer = l4.kind === 'tcp' ? `${client}'s stack answers it with a RST` : `${client}'s stack answers ICMP port unreachable`;
  return {
    text:
      `${natLine}${left} as ${pktText(p.packet)}. No socket of ${client} expects ${formatIpv4(p.packet.src)}${l4.kind === 'icmp' ? '' : `:${l4.sport}`}` +
      `${invalid ? ' (conntrack: INVALID)' : ''}, so the reply is not the answer to the probe and ${answer}. ${saw}`,
    packet: 'reply',
    ns: tr.from,
    ...(recv?.dev !== undefined ? { dev: recv.dev } : {}),
    stage: 'socket',
    code: 'no-socket',
    dir: 'reply',
    point: p,
  };
}

function mainRoutes(world: World, ns: NsId): string {
  const n = world.netns[ns];
  if (!n) return 'empty';
  const rs = dumpOrder(n.routes.filter((r) => r.table === 254)).map((r) => formatRoute(r, (i) => n.links.find((l) => l.ifindex === i)?.name, false).trim());
  return rs.length ? rs.join('; ') : 'empty';
}

function dropWhy(world: World, tr: ProbeTrace, p: Extract<Point, { kind: 'drop' }>, saw: string): WhyFacts {
  const d = p.drop;
  const n = (id: NsId): string => name(world, id);
  const icmp = isIcmpError(d.packet);
  const packet: WhyPacket = icmp ? 'icmp' : d.dir;
  const what = icmp ? `The ICMP error about the ${d.dir === 'request' ? 'reply' : 'request'}` : d.dir === 'request' ? 'The request' : 'The reply';
  const where = `${n(d.ns)}${d.dev !== undefined ? ` (${d.dev})` : ''}`;
  const counted = d.counter !== undefined ? `, counted as ${d.counter}` : '';
  const reached = d.dir === 'reply' && tr.delivered ? `The request reached ${n(tr.delivered.ns)}${natsBefore(world, tr, p.index, 'request')}; ` : '';
  const what2 = reached ? `t${what.slice(1)}` : what;
  const after = tr.steps.slice(p.index + 1);
  const icmpSent = after.find((s) => s.kind === 'icmp' && s.ns === d.ns);
  // the error itself can die too (e.g. INVALID in INPUT: models/k-notrack-icmp-error.yaml)
  const errDrop = icmpSent ? after.find((s) => s.kind === 'drop' && isIcmpError(s.drop.packet)) : undefined;
  const errDied =
    errDrop && errDrop.kind === 'drop'
      ? ` That error dies in ${n(errDrop.drop.ns)}${errDrop.drop.dev !== undefined ? ` (${errDrop.drop.dev})` : ''} at ${errDrop.drop.stage}: ${reasonText(errDrop.drop.reason)}${errDrop.drop.origin && errDrop.drop.origin.line > 0 ? ` (${formatOrigin(errDrop.drop.origin)}: ${errDrop.drop.origin.text})` : ''}.`
      : '';
  const sentIcmp = icmpSent && icmpSent.kind === 'icmp' ? ` ${n(d.ns)} sends ICMP ${icmpName(icmpSent.icmpType, icmpSent.icmpCode)} to ${formatIpv4(icmpSent.to)}.${errDied}` : '';
  let cause: string;
  let origin: Origin | undefined = d.origin && d.origin.line > 0 ? d.origin : undefined;
  switch (d.code) {
    case 'no-route': {
      const r = d.reason.kind === 'route' ? d.reason : undefined;
      const dst = formatIpv4(r?.dst ?? d.packet.dst);
      const forwarding = d.stage === 'routing' || d.stage === 'prerouting' || d.stage === 'input';
      cause =
        `no route in ${n(d.ns)} matches ${dst}${r?.reroute ? ' (after a rewrite)' : ''}: no line of ${world.netns[d.ns]?.host ?? 'its'}'s runbook adds one (main table: ${mainRoutes(world, d.ns)})` +
        (forwarding ? `, so ${n(d.ns)} cannot forward it` : d.dir === 'reply' ? ', so it is never sent (ENETUNREACH at route output)' : ' (ENETUNREACH at route output)');
      origin = undefined;
      break;
    }
    case 'forwarding-disabled':
      cause = `${reasonText(d.reason)}${origin ? '' : '; nothing in the runbook turns forwarding on'}`;
      break;
    case 'nf-drop':
    case 'nf-reject': {
      const dec = p.decider;
      if (dec) {
        const via = dec.via.map((v) => `${v.chain} rule ${v.rule ?? '?'} (${(v.verdict ?? '').startsWith('goto ') ? '-g' : '-j'} ${(v.verdict ?? '').replace(/^(jump|goto) /, '')})`);
        const rule = dec.rule !== undefined ? `${dec.table} ${dec.chain} rule ${dec.rule}: ${dec.nft ? dec.text ?? '' : `-A ${dec.chain} ${dec.text ?? ''}`}` : `the ${dec.table} ${dec.chain} policy DROP`;
        const reject = d.reason.kind === 'nf' && d.reason.rejectWith !== undefined ? ` (REJECT --reject-with ${d.reason.rejectWith})` : '';
        cause = `${d.code === 'nf-reject' ? 'rejected' : 'dropped'} by ${rule}${reject}${via.length ? `, reached from ${via.join(', then ')}` : ''}`;
        origin = dec.origin && dec.origin.line > 0 ? dec.origin : undefined;
        if (!origin && dec.rule === undefined) cause += ` (the chain's default policy: no line of the runbook sets it)`;
      } else cause = reasonText(d.reason);
      if (d.stage === 'output' && d.dir === 'request' && tr.errno === 'EPERM')
        cause += `; a packet dropped or rejected in OUTPUT fails the sender's own call with EPERM`;
      break;
    }
    case 'neigh-failed': {
      cause = `${reasonText(d.reason)}: the kernel gives up after its ARP probes`;
      const nh = d.reason.kind === 'neigh-failed' ? d.reason.nexthop : -1;
      const refused = tr.steps.find((s) => s.kind === 'neigh' && s.event === 'source-refused' && s.addr === nh);
      if (refused && refused.kind === 'neigh' && refused.event === 'source-refused') cause += `; ${n(refused.ns)} owns ${formatIpv4(nh)} but does not answer: ${reasonText(refused.reason)}`;
      const ignored = tr.steps.find((s) => s.kind === 'neigh' && (s.event === 'ignored' || s.event === 'filtered' || s.event === 'not-local') && s.addr === nh);
      if (ignored && ignored.kind === 'neigh' && (ignored.event === 'ignored' || ignored.event === 'filtered' || ignored.event === 'not-local')) cause += `; in ${n(ignored.ns)}: ARP who-has ${formatIpv4(nh)} not answered (${ignored.event === 'ignored' ? `arp_ignore=${ignored.arpIgnore}` : ignored.event === 'filtered' ? 'arp_filter=1' : 'not a local address'})`;
      if (!refused && !ignored) cause += `; no namespace on that link answers for ${formatIpv4(nh)}`;
      break;
    }
    case 'ttl-expired':
      cause = `${reasonText(d.reason)}: ${loopText(world, tr)}`;
      break;
    default:
      cause = reasonText(d.reason);
  }
  const natted = !reached && d.dir === 'request' ? natsBefore(world, tr, p.index, 'request') : '';
  const text = `${reached}${what2} (${pktText(d.packet)}${natted ? `, ${natted.slice(2, -1)}` : ''}) died in ${where} at ${d.stage}: ${cause}${counted}.${origin ? ` Line: ${formatOrigin(origin)}: ${origin.text}.` : ''}${sentIcmp} ${saw}`;
  return {
    text: text.replace(/\s+/g, ' ').trim(),
    packet,
    ns: d.ns,
    ...(d.dev !== undefined ? { dev: d.dev } : {}),
    stage: d.stage,
    ...(d.counter !== undefined ? { counter: d.counter } : {}),
    ...(origin ? { origin } : {}),
    code: d.code,
    dir: d.dir,
    point: p,
  };
}

/**
 * The path the request took before its TTL ran out: a routing loop only when a namespace repeats,
 * else a path longer than the TTL (the kernel drops both alike).
 */
function loopText(world: World, tr: ProbeTrace): string {
  const seen: NsId[] = [tr.from];
  for (const s of tr.steps) {
    if (s.kind === 'drop' && s.drop.code === 'ttl-expired') break;
    if (s.kind === 'recv' && seen[seen.length - 1] !== s.ns) seen.push(s.ns);
  }
  if (new Set(seen).size < seen.length) {
    const path = seen.slice(0, 8).map((id) => name(world, id));
    return `it went round ${path.join(' -> ')}${seen.length > 8 ? ' -> ...' : ''} (a routing loop)`;
  }
  const hops = seen.length - 1;
  return `TTL ran out after ${hops} hops (no loop: the path ${name(world, seen[0]!)} -> ... -> ${name(world, seen[seen.length - 1]!)} is longer than the sender's TTL)`;
}
