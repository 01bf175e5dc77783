/**
 * A trace is plain data (after Batfish): the steps a probe's packets took, each in one namespace,
 * each pointing back at the runbook line that made the route, rule or address it used; the
 * drops; the frames each interface saw; and the result the client program got.
 */
import type { NsId } from '../model/link.js';
import type { Origin } from '../model/origin.js';
import type { Frame, IpPacket } from '../engine/packet.js';
import type { ProbeResult, ProbeProto } from '../plan/model.js';

export type StepKind =
  | 'send' // a socket or the stack originated a packet
  | 'recv' // a frame arrived on an interface
  | 'route' // routing decision
  | 'nf' // a netfilter rule matched or a chain policy applied
  | 'conntrack' // conntrack lookup / new entry
  | 'nat' // address or port rewritten
  | 'neigh' // neighbour (ARP) resolution
  | 'xmit' // frame sent on an interface
  | 'bridge' // bridge forwarding decision
  | 'deliver' // handed to a local socket
  | 'drop' // the packet ends here
  | 'icmp' // the stack answered with an ICMP error
  | 'socket'; // what the client or server socket saw

export interface Step {
  /** simulated time, microseconds since the probe started */
  readonly t: number;
  readonly ns: NsId;
  readonly dev?: string;
  readonly kind: StepKind;
  /** one line for people */
  readonly detail: string;
  /** the packet after this step */
  readonly packet?: IpPacket;
  /** for nat: the packet before the rewrite */
  readonly before?: IpPacket;
  /** the runbook line behind the route, rule, address or sysctl used */
  readonly origin?: Origin;
  /** nf steps: where in netfilter */
  readonly nf?: { readonly table: string; readonly chain: string; readonly rule?: number; readonly text?: string; readonly verdict?: string };
  /** whether this packet belongs to the probe's request or to a reply */
  readonly dir?: 'request' | 'reply';
}

/** Why a packet ended: a closed vocabulary other tools may switch on. */
export type DropCode =
  | 'no-route' // FIB lookup found nothing (ENETUNREACH)
  | 'unreachable-route' // an `unreachable` route or rule
  | 'prohibit-route'
  | 'blackhole-route'
  | 'forwarding-disabled' // not local, ip_forward / conf.DEV.forwarding is 0
  | 'rp-filter' // reverse path filter
  | 'martian' // impossible source or destination
  | 'nf-drop' // iptables DROP or policy DROP
  | 'nf-reject' // iptables REJECT (an ICMP or RST is sent)
  | 'neigh-failed' // ARP got no answer
  | 'ttl-expired'
  | 'link-down' // device or peer down, no carrier
  | 'not-for-us' // frame for another MAC, or IP for another host on a LAN
  | 'no-socket' // nothing listens (the stack answers RST / port unreachable)
  | 'invalid' // conntrack INVALID dropped by the stack (e.g. nf_conntrack_tcp_loose)
  | 'loop' // the engine's own guard
  | 'no-service'; // a packet arrived for a closed port (handled by the stack)

export interface Drop {
  readonly t: number;
  readonly ns: NsId;
  readonly dev?: string;
  readonly code: DropCode;
  /** where in the walk: 'output', 'prerouting', 'input', 'forward', 'postrouting', 'neigh', 'link' ... */
  readonly stage: string;
  readonly detail: string;
  readonly packet: IpPacket;
  readonly dir: 'request' | 'reply';
  readonly origin?: Origin;
}

export interface Capture {
  readonly t: number;
  readonly ns: NsId;
  readonly dev: string;
  readonly dir: 'in' | 'out';
  readonly frame: Frame;
  /** the hop's explanation, for pcapng comments */
  readonly comment?: string;
}

export interface Why {
  /** one paragraph: which packet died, where, and because of what */
  readonly summary: string;
  readonly ns: NsId;
  readonly stage: string;
  readonly code: DropCode;
  readonly dir: 'request' | 'reply';
  readonly origin?: Origin;
  /** concrete changes that would fix it, as runbook lines where possible */
  readonly fixes: readonly string[];
}

export interface ProbeTrace {
  readonly from: NsId;
  readonly to: string;
  readonly proto: ProbeProto;
  readonly result: ProbeResult;
  /** what the client program saw: errno name or 'ok' / 'timeout' */
  readonly errno: string;
  /** -m statistic branches: this outcome's probability (1 without branches) */
  readonly probability: number;
  readonly steps: readonly Step[];
  readonly drops: readonly Drop[];
  readonly captures: readonly Capture[];
  readonly why?: Why;
  /** notes the engine wants a reader to see (e.g. `-m limit` assumed to match) */
  readonly notes: readonly string[];
  /** where and when the request reached a socket's namespace, if it did */
  readonly delivered?: { readonly ns: NsId; readonly t: number };
}
