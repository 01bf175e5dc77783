/**
 * The words for typed steps and drops: the only place trace text is made. Renderers (the trace
 * view, the why, pcapng comments, JSON's `detail`) call these; nothing parses their output.
 */
import { formatIpv4 } from '../wire/ipv4.js';
import type { IpPacket } from '../engine/packet.js';
import { icmpName } from '../engine/icmp.js';
import type { Drop, DropReason, RouteView, Step, TupleView } from './types.js';

export { icmpName };

export function tupleText(t: TupleView): string {
  return t.proto === 'icmp'
    ? `icmp ${formatIpv4(t.src)} -> ${formatIpv4(t.dst)} id ${t.sport}`
    : `${t.proto} ${formatIpv4(t.src)}:${t.sport} -> ${formatIpv4(t.dst)}:${t.dport}`;
}

export function pktText(p: IpPacket): string {
  const l4 = p.l4;
  switch (l4.kind) {
    case 'tcp': {
      const f = l4.flags;
      const fl = (f.syn ? 'S' : '') + (f.fin ? 'F' : '') + (f.rst ? 'R' : '') + (f.psh ? 'P' : '') + (f.ack ? '.' : '') || 'none';
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
  // an endpoint's text changes exactly when its address or port does (ICMP has no port): only
  // changed ones are formatted
  const same = (which: 'src' | 'dst'): boolean => {
    if (a[which] !== b[which]) return false;
    const x = a.l4;
    const y = b.l4;
    if (x.kind === 'icmp' || y.kind === 'icmp') return x.kind === y.kind;
    return which === 'src' ? x.sport === y.sport : x.dport === y.dport;
  };
  const src = same('src') ? '' : `src ${ep(a, 'src')} -> ${ep(b, 'src')}`;
  const dst = same('dst') ? '' : `dst ${ep(a, 'dst')} -> ${ep(b, 'dst')}`;
  if (src !== '' && dst !== '') return `${src}, ${dst}`;
  if (src !== '' || dst !== '') return src || dst;
  const x = a.l4;
  const y = b.l4;
  return x.kind === 'icmp' && y.kind === 'icmp' && x.quoted && y.quoted ? 'quoted packet translated back' : 'no change';
}

export function routeText(r: RouteView): string {
  const parts = [r.type === 'unicast' ? r.dst : `${r.type} ${r.dst}`];
  if (r.via !== undefined) parts.push(`via ${formatIpv4(r.via)}`);
  if (r.dev !== undefined) parts.push(`dev ${r.dev}`);
  if (r.table !== 254) parts.push(`table ${r.table === 255 ? 'local' : r.table}`);
  return parts.join(' ');
}

/** One line for a drop's cause. */
export function reasonText(r: DropReason): string {
  switch (r.kind) {
    case 'nf': {
      const by = `${r.table} ${r.hook}`;
      const what = r.policy ? ' policy DROP' : r.rule !== undefined ? ` rule ${r.rule}` : '';
      const frame = r.bridged ? 'bridged frame ' : '';
      return r.rejectWith !== undefined ? `${frame}rejected by ${by}${what} (${r.rejectWith})` : `${frame}dropped by ${by}${what}`;
    }
    case 'nat-no-addr':
      return r.target === 'REDIRECT' ? `REDIRECT: ${r.dev} has no address` : `MASQUERADE: no usable address on ${r.dev}`;
    case 'ct-clash':
      return 'conntrack confirm clash';
    case 'route': {
      const d = formatIpv4(r.dst);
      const pre = r.reroute ? 'reroute: ' : '';
      if (r.routeType === undefined) return `${pre}no route to ${d} in ${r.ns}`;
      const by = r.by?.route !== undefined ? `${r.routeType} route ${r.by.route}` : `rule ${r.by?.rule ?? '?'} (${r.routeType})`;
      if (r.routeType === 'blackhole') return `${pre}${d} hits ${by}: discarded silently`;
      if (r.routeType === 'unreachable' || r.routeType === 'prohibit') return `${pre}${d} hits ${by}`;
      return `${pre}no usable route to ${d} (${by})`;
    }
    case 'bind-not-local':
      return `bind(${formatIpv4(r.addr)}): not a local address`;
    case 'loopback-source':
      return `source ${formatIpv4(r.src)} is a loopback address: it may only leave through lo, not ${r.dev} (EINVAL)`;
    case 'neigh-failed':
      return `no ARP reply from ${formatIpv4(r.nexthop)} on ${r.dev}`;
    case 'link-down':
      return r.peer ? `${r.dev}'s peer is down (NO-CARRIER)` : `${r.dev} is down`;
    case 'otherhost':
      return `frame for ${r.lladdr}, not ${r.dev}'s MAC (PACKET_OTHERHOST)`;
    case 'l2-broadcast':
      return r.layer === 'forward'
        ? `it came to ${r.dev} as a link-layer broadcast (sent through a broadcast route): ip_forward forwards only frames addressed to the host (PACKET_HOST)`
        : `a TCP segment that came to ${r.dev} as a link-layer broadcast (sent through a broadcast route): tcp_v4_rcv discards it, no RST (PACKET_HOST only)`;
    case 'martian-source':
      if (r.why === 'local')
        return r.backType !== undefined ? `martian source ${formatIpv4(r.src)} (the route back is ${r.backType})` : `martian source ${formatIpv4(r.src)}: a local address arriving on ${r.dev} (accept_local=0)`;
      if (r.why === 'loopback') return `martian source (127.0.0.0/8 on ${r.dev}, route_localnet=0)`;
      return `martian source ${formatIpv4(r.src)}`;
    case 'martian-destination':
      return `martian destination (127.0.0.0/8 on ${r.dev}, route_localnet=0)`;
    case 'rp-filter':
      return r.mode === 1 && r.back !== undefined
        ? `rp_filter=1 (strict) on ${r.dev}: the route back to ${formatIpv4(r.src)} leaves via ${r.back}, not ${r.dev}`
        : `rp_filter=${r.mode} on ${r.dev}: no route back to ${formatIpv4(r.src)}`;
    case 'forwarding-disabled':
      return `${formatIpv4(r.dst)} is not local and ${r.wouldForward ? 'would be forwarded' : 'has no route'}, but forwarding is off on ${r.dev} (net.ipv4.ip_forward=0): dropped silently`;
    case 'ttl':
      return `TTL expired in transit (ttl ${r.ttl})`;
    case 'broadcast':
      return r.tcp
        ? `${formatIpv4(r.dst)} is a broadcast or multicast address: TCP cannot connect to it (ENETUNREACH)`
        : `${formatIpv4(r.dst)} is a broadcast address and the socket has no SO_BROADCAST (EACCES)`;
  }
}

export function dropText(d: Drop): string {
  return reasonText(d.reason);
}

/** One line for people, for any step. */
export function stepText(s: Step): string {
  switch (s.kind) {
    case 'send':
      switch (s.what) {
        case 'connect':
          return `connect() to ${formatIpv4(s.to ?? 0)}:${s.toPort ?? 0}: SYN`;
        case 'sendto':
          return `udp sendto ${formatIpv4(s.to ?? 0)}:${s.toPort ?? 0}`;
        case 'ping':
          return `ping ${formatIpv4(s.to ?? 0)}`;
        case 'crafted':
          return `crafted segment ${s.packet ? pktText(s.packet) : ''}`;
        case 'crafted-established':
          return `crafted segment ${s.packet ? pktText(s.packet) : ''} on the established connection`;
        case 'reject-rst':
          return `REJECT --reject-with tcp-reset: RST to ${formatIpv4(s.to ?? 0)}:${s.toPort ?? 0}`;
      }
      break;
    case 'recv':
      return `received on ${s.dev ?? '?'}: ${s.packet ? pktText(s.packet) : ''}`;
    case 'route': {
      const rule = s.route.rulePriority !== undefined ? ` (rule ${s.route.rulePriority})` : '';
      if (!s.input) return `${s.reroute ? 'reroute ' : ''}route ${formatIpv4(s.dst)}: ${routeText(s.route)}${rule}`;
      return s.local ? `route input ${formatIpv4(s.dst)}: local (${routeText(s.route)})` : `route input ${formatIpv4(s.dst)}: forward ${routeText(s.route)}`;
    }
    case 'nf':
      if (s.log !== undefined) return `${s.nf.table} ${s.hook}: ${s.log} (kernel log line)`;
      if (s.policy) return `${s.nf.table} ${s.hook} policy DROP`;
      return `${s.nf.table} ${s.nf.chain} rule ${s.nf.rule ?? '?'}: -A ${s.nf.chain} ${s.nf.text ?? ''}`;
    case 'conntrack':
      if (s.state === 'INVALID') return s.orphanIcmp ? 'conntrack: INVALID (ICMP error for no known connection)' : 'conntrack: INVALID';
      if (s.state === 'RELATED') return `conntrack: RELATED to ${s.orig ? tupleText(s.orig) : '?'}`;
      return `conntrack: ${s.state}${s.replyDir ? ' (reply direction)' : ''} ${s.orig ? tupleText(s.orig) : ''}`;
    case 'nat':
      return `NAT: ${natText(s.before, s.packet)}`;
    case 'nat-bind':
      return `${s.target} binding: reply tuple ${tupleText(s.reply)}`;
    case 'neigh':
      switch (s.event) {
        case 'static':
          return `neighbour ${formatIpv4(s.addr)} dev ${s.dev ?? '?'} lladdr ${s.lladdr} ${s.state.toUpperCase()} (static)`;
        case 'incomplete':
          return `neighbour ${formatIpv4(s.addr)} dev ${s.dev ?? '?'} INCOMPLETE: ARP who-has ${formatIpv4(s.addr)}`;
        case 'failed':
          return `neighbour ${formatIpv4(s.addr)} dev ${s.dev ?? '?'} FAILED: no ARP reply after ${s.probes} requests`;
        case 'reachable':
          return `neighbour ${formatIpv4(s.addr)} dev ${s.dev ?? '?'} lladdr ${s.lladdr} REACHABLE`;
        case 'not-local':
          return `ARP who-has ${formatIpv4(s.addr)}: not a local address, no reply`;
        case 'ignored':
          return `ARP who-has ${formatIpv4(s.addr)}: not answered (arp_ignore=${s.arpIgnore})`;
        case 'source-refused':
          return `ARP who-has ${formatIpv4(s.addr)} from ${formatIpv4(s.from)}: not answered, ${reasonText(s.reason)}`;
        case 'proxy-reply':
          return `ARP who-has ${formatIpv4(s.addr)} from ${formatIpv4(s.from)}: answered by proxy ARP (proxy_arp, routed out another device)`;
        case 'filtered':
          return `ARP who-has ${formatIpv4(s.addr)} from ${formatIpv4(s.from)}: not answered on ${s.dev ?? '?'} (arp_filter=1: the answer would be routed out another device)`;
        case 'not-sent':
          return `ARP not sent: ${reasonText(s.reason)}`;
      }
      break;
    case 'xmit':
      return `xmit on ${s.dev ?? '?'} to ${s.lladdr}`;
    case 'bridge':
      switch (s.event) {
        case 'down':
          return `${s.bridge} is down: frame from ${s.port} dropped`;
        case 'broadcast':
          return `${s.bridge}: broadcast from ${s.port}, flooded and delivered locally`;
        case 'forward':
          return `${s.bridge}: forward to ${s.to}`;
        case 'flood':
          return `${s.bridge}: flood to ${s.to.join(', ') || 'no port'}`;
      }
      break;
    case 'deliver':
      return `local delivery: ${s.packet ? pktText(s.packet) : ''}`;
    case 'drop':
      return dropText(s.drop);
    case 'icmp':
      return `ICMP ${icmpName(s.icmpType, s.icmpCode)} to ${formatIpv4(s.to)}`;
    case 'socket':
      switch (s.event) {
        case 'no-listener':
          return s.proto === 'tcp' ? `no socket on tcp/${s.port}: RST` : `no socket on udp/${s.port}: ICMP port unreachable`;
        case 'listener-syn':
          return `tcp/${s.port} listener: SYN from ${formatIpv4(s.from)}:${s.fromPort}, answering SYN-ACK`;
        case 'udp-relay':
          return `docker-proxy on udp/${s.port} sends ${s.len} bytes on to ${formatIpv4(s.to)}:${s.toPort}`;
        case 'udp-relay-back':
          return `docker-proxy on udp/${s.port} passes the answer back to ${formatIpv4(s.to)}:${s.toPort}`;
        case 'udp-echo':
          return `udp/${s.port} service echoes ${s.len} bytes to ${formatIpv4(s.to)}:${s.toPort}`;
        case 'send-failed':
          return s.what === 'udp-echo' ? `udp echo: sendto failed: ${s.errno}` : s.what === 'udp-relay' ? `docker-proxy: write failed: ${s.errno}` : s.what === 'echo-reply' ? `echo reply not sent: ${s.errno}` : `send failed: ${s.errno}`;
        case 'echo-ignored':
          return 'echo request ignored (icmp_echo_ignore_all=1)';
        case 'broadcast-ignored':
          return s.proto === 'icmp'
            ? 'echo request to a broadcast address ignored (icmp_echo_ignore_broadcasts=1)'
            : s.proto === 'tcp'
              ? `SYN to a broadcast address on tcp/${s.port ?? 0}: never answered, no RST`
              : `datagram to a broadcast address on udp/${s.port ?? 0}: no socket, no ICMP port unreachable`;
        case 'soft-error':
          return `ICMP ${icmpName(s.icmpType, s.icmpCode)} is not reported to a UDP socket without IP_RECVERR (soft error)`;
        case 'client-error':
          return `client socket error ${s.errno} (ICMP ${icmpName(s.icmpType, s.icmpCode)} from ${formatIpv4(s.from)})`;
        case 'connect-refused':
          return `connect(): RST from ${formatIpv4(s.from)}:${s.fromPort}: ECONNREFUSED`;
        case 'connect-ok':
          return `connect() succeeded: SYN-ACK from ${formatIpv4(s.from)}:${s.fromPort}`;
      }
      break;
  }
  return (s as Step).kind;
}
