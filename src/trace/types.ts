/**
 * A trace is plain data (after Batfish): the steps a probe's packets took, each in one namespace,
 * each pointing back at the runbook line that made the route, rule or address it used; the
 * drops; the frames each interface saw; and the result the client program got.
 */
import type { NsId } from '../model/link.js';
import type { Origin } from '../model/origin.js';
import type { Frame, IpPacket } from '../engine/packet.js';
import type { ProbeResult, ProbeProto } from '../plan/model.js';

/**
 * The steps of a walk: a discriminated union on `kind`, every field typed. The text people read
 * is made from these fields at the edge (trace/text.ts), never stored and never parsed back.
 */
interface StepBase {
  /** simulated time, microseconds since the probe started */
  readonly t: number;
  readonly ns: NsId;
  readonly dev?: string;
  /** the packet after this step */
  readonly packet?: IpPacket;
  /** the runbook line behind the route, rule, address or sysctl used */
  readonly origin?: Origin;
  /** whether this packet belongs to the probe's request or to a reply */
  readonly dir?: 'request' | 'reply';
}

/** Where a step came from in netfilter. */
export interface NfWhere {
  readonly table: string;
  readonly chain: string;
  /** 1-based rule number in its chain (absent for a policy) */
  readonly rule?: number;
  /** the rule as iptables-save prints it, without `-A CHAIN` */
  readonly text?: string;
  /** ACCEPT, DROP, REJECT, DNAT, `jump CHAIN`, `count` ... */
  readonly verdict?: string;
}

/** The resolved route a route step reports (the kernel's rtable, see engine/route.ts). */
export interface RouteView {
  readonly dst: string;
  readonly type: string;
  readonly via?: number;
  readonly dev?: string;
  readonly table: number;
  /** the policy rule that chose the table, when not main/local by default */
  readonly rulePriority?: number;
}

export type SendWhat = 'connect' | 'sendto' | 'ping' | 'crafted' | 'crafted-established' | 'reject-rst';

export type SocketEvent =
  | { readonly event: 'no-listener'; readonly proto: 'tcp' | 'udp'; readonly port: number }
  | { readonly event: 'listener-syn'; readonly port: number; readonly from: number; readonly fromPort: number }
  | { readonly event: 'udp-echo'; readonly port: number; readonly len: number; readonly to: number; readonly toPort: number }
  | { readonly event: 'udp-relay'; readonly port: number; readonly len: number; readonly to: number; readonly toPort: number }
  | { readonly event: 'udp-relay-back'; readonly port: number; readonly len: number; readonly to: number; readonly toPort: number }
  | { readonly event: 'send-failed'; readonly errno: string; readonly what: 'udp-echo' | 'echo-reply' | 'tcp' | 'udp-relay' }
  | { readonly event: 'echo-ignored' }
  | { readonly event: 'broadcast-ignored'; readonly proto: 'tcp' | 'udp' | 'icmp'; readonly port?: number }
  | { readonly event: 'soft-error'; readonly icmpType: number; readonly icmpCode: number }
  | { readonly event: 'client-error'; readonly errno: string; readonly icmpType: number; readonly icmpCode: number; readonly from: number }
  | { readonly event: 'connect-refused'; readonly from: number; readonly fromPort: number }
  | { readonly event: 'connect-ok'; readonly from: number; readonly fromPort: number };

export type NeighEvent =
  | { readonly event: 'static'; readonly addr: number; readonly lladdr: string; readonly state: string }
  | { readonly event: 'incomplete'; readonly addr: number }
  | { readonly event: 'failed'; readonly addr: number; readonly probes: number }
  | { readonly event: 'reachable'; readonly addr: number; readonly lladdr: string }
  | { readonly event: 'not-local'; readonly addr: number }
  | { readonly event: 'ignored'; readonly addr: number; readonly arpIgnore: number }
  | { readonly event: 'source-refused'; readonly addr: number; readonly from: number; readonly reason: DropReason }
  | { readonly event: 'proxy-reply'; readonly addr: number; readonly from: number }
  | { readonly event: 'filtered'; readonly addr: number; readonly from: number }
  | { readonly event: 'not-sent'; readonly reason: DropReason };

export type BridgeEvent =
  | { readonly event: 'down'; readonly bridge: string; readonly port: string }
  | { readonly event: 'broadcast'; readonly bridge: string; readonly port: string }
  | { readonly event: 'forward'; readonly bridge: string; readonly to: string }
  | { readonly event: 'flood'; readonly bridge: string; readonly to: readonly string[] };

export type Step =
  | (StepBase & { readonly kind: 'send'; readonly what: SendWhat; readonly to?: number; readonly toPort?: number })
  | (StepBase & { readonly kind: 'recv' })
  | (StepBase & { readonly kind: 'route'; readonly input: boolean; readonly local: boolean; readonly reroute: boolean; readonly dst: number; readonly route: RouteView })
  | (StepBase & { readonly kind: 'nf'; readonly hook: string; readonly nf: NfWhere; readonly log?: string; readonly policy?: boolean })
  | (StepBase & { readonly kind: 'conntrack'; readonly state: string; readonly replyDir: boolean; readonly orig?: TupleView; readonly orphanIcmp?: boolean })
  | (StepBase & { readonly kind: 'nat'; readonly before: IpPacket; readonly packet: IpPacket })
  | (StepBase & { readonly kind: 'nat-bind'; readonly target: string; readonly reply: TupleView })
  | (StepBase & { readonly kind: 'neigh' } & NeighEvent)
  | (StepBase & { readonly kind: 'xmit'; readonly lladdr: string })
  | (StepBase & { readonly kind: 'bridge' } & BridgeEvent)
  | (StepBase & { readonly kind: 'deliver' })
  | (StepBase & { readonly kind: 'drop'; readonly drop: Drop })
  | (StepBase & { readonly kind: 'icmp'; readonly icmpType: number; readonly icmpCode: number; readonly to: number })
  | (StepBase & { readonly kind: 'socket' } & SocketEvent);

export type StepKind = Step['kind'];

/** A conntrack tuple as steps carry it. */
export interface TupleView {
  readonly proto: 'tcp' | 'udp' | 'icmp';
  readonly src: number;
  readonly dst: number;
  readonly sport: number;
  readonly dport: number;
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
  | 'no-service' // a packet arrived for a closed port (handled by the stack)
  | 'broadcast-denied'; // sendto() a broadcast address without SO_BROADCAST (EACCES)

/** The typed cause of a drop; trace/text.ts words it. */
export type DropReason =
  | { readonly kind: 'nf'; readonly table: string; readonly hook: string; readonly policy: boolean; readonly rule?: number; readonly rejectWith?: string; readonly bridged: boolean; readonly reroute?: false }
  | { readonly kind: 'nat-no-addr'; readonly target: 'MASQUERADE' | 'REDIRECT'; readonly dev: string }
  | { readonly kind: 'ct-clash' }
  /** no usable route: `routeType` undefined when nothing matched, else the route or rule type that answered (`by` names it: `route 10.0.0.0/8`, `rule 100`) */
  | { readonly kind: 'route'; readonly dst: number; readonly ns: NsId; readonly routeType?: string; readonly by?: { readonly route?: string; readonly rule?: number }; readonly reroute: boolean }
  | { readonly kind: 'bind-not-local'; readonly addr: number }
  /** __mkroute_output: a 127/8 source may only leave through a loopback device (EINVAL) */
  | { readonly kind: 'loopback-source'; readonly src: number; readonly dev: string }
  | { readonly kind: 'neigh-failed'; readonly nexthop: number; readonly dev: string }
  | { readonly kind: 'link-down'; readonly dev: string; readonly peer: boolean }
  | { readonly kind: 'otherhost'; readonly lladdr: string; readonly dev: string }
  /** PACKET_BROADCAST: a frame to the link-layer broadcast address, not forwarded (ip_forward) or not taken by TCP (tcp_v4_rcv) */
  | { readonly kind: 'l2-broadcast'; readonly dev: string; readonly layer: 'forward' | 'tcp' }
  | { readonly kind: 'martian-source'; readonly src: number; readonly why: 'multicast' | 'zero' | 'limited-broadcast' | 'local' | 'loopback'; readonly dev: string; readonly backType?: string }
  | { readonly kind: 'martian-destination'; readonly dst: number; readonly dev: string }
  | { readonly kind: 'rp-filter'; readonly src: number; readonly mode: number; readonly dev: string; readonly back?: string }
  | { readonly kind: 'forwarding-disabled'; readonly dst: number; readonly dev: string; readonly wouldForward: boolean }
  | { readonly kind: 'ttl'; readonly ttl: number }
  /** a socket to a broadcast (or, for TCP, multicast) destination: EACCES without SO_BROADCAST, ENETUNREACH for TCP */
  | { readonly kind: 'broadcast'; readonly dst: number; readonly tcp: boolean };

export interface Drop {
  readonly t: number;
  readonly ns: NsId;
  readonly dev?: string;
  readonly code: DropCode;
  /** where in the walk: 'output', 'prerouting', 'input', 'forward', 'postrouting', 'routing', 'neigh', 'xmit', 'l2', 'connect' ... */
  readonly stage: string;
  /** the kernel's SNMP counter that counts this drop, when there is one (OutNoRoutes, InNoRoutes, InAddrErrors ...) */
  readonly counter?: string;
  readonly reason: DropReason;
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
