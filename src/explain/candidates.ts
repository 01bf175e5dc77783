/**
 * Candidate fixes, read off the point where a probe went wrong (explain/why.ts): routes (either
 * direction, never back to the hop the packet came from, never via the namespace's own address),
 * SNAT/MASQUERADE on the hop that forwarded the request, ACCEPT rules in the table and chain of
 * the rule that decided (placed before it), nft rules for nft drops, sysctls, links, and a
 * service on the port the request reached after NAT. Narrowest first. None is trusted: the
 * search (explain/search.ts) applies each to a copy of the world and simulates the probe again.
 */
import type { NsId } from '../model/link.js';
import type { IpPacket } from '../engine/packet.js';
import { lookup } from '../engine/derived.js';
import { formatIpv4, networkOf } from '../wire/ipv4.js';
import type { World } from '../world/types.js';
import type { ProbeTrace, Step } from '../trace/types.js';
import { arrival, type Decider, type Point } from './why.js';

export interface Candidate {
  /** the namespace the command acts in */
  readonly ns: NsId;
  /** the command as typed inside that namespace (`ip route add ...`), or a service to add */
  readonly cmd: string;
  readonly note?: string;
  /** a listening service instead of a runbook line */
  readonly service?: { readonly proto: 'tcp' | 'udp'; readonly port: number };
}

const ip = formatIpv4;

/** Addresses of other namespaces on the subnets `ns` is connected to: possible next hops. */
export function neighbours(world: World, ns: NsId): { addr: number; ns: NsId; dev: string }[] {
  const me = world.netns[ns];
  if (!me) return [];
  const out: { addr: number; ns: NsId; dev: string }[] = [];
  const mine = new Set(me.addrs.map((a) => a.local));
  for (const a of me.addrs) {
    const dev = me.links.find((l) => l.ifindex === a.ifindex);
    if (!dev || dev.kind === 'loopback' || a.scope !== 'global') continue;
    const net = networkOf(a.local, a.prefixLen);
    for (const other of Object.values(world.netns)) {
      if (other.id === ns) continue;
      for (const b of other.addrs)
        if (b.scope === 'global' && !mine.has(b.local) && networkOf(b.local, a.prefixLen) === net && !out.some((o) => o.addr === b.local))
          out.push({ addr: b.local, ns: other.id, dev: dev.name });
    }
  }
  return out;
}

/** Next hops for `dst` from `ns`: neighbours that own `dst` or have a route to it, best first. */
function gateways(world: World, ns: NsId, dst: number, exclude: ReadonlySet<number>, prefer: readonly number[]): number[] {
  const cands = neighbours(world, ns).filter((g) => !exclude.has(g.addr));
  const score = (g: { addr: number; ns: NsId }): number => {
    const pi = prefer.indexOf(g.addr);
    if (pi >= 0) return pi;
    const other = world.netns[g.ns]!;
    if (other.addrs.some((a) => a.local === dst)) return 10;
    const r = lookup(other, dst, 0, 0, 'lo');
    if (r.kind === 'route' && r.route.type === 'unicast') return r.route.dst.len === 0 ? 30 : 20;
    return 100;
  };
  return cands
    .map((g) => ({ g, s: score(g) }))
    .filter((x) => x.s < 100)
    .sort((a, b) => a.s - b.s)
    .map((x) => x.g.addr);
}

/** The address `from` has on the subnet it shares with `to` (the hop a packet came from). */
function addrToward(world: World, from: NsId, to: NsId, toDev?: string): number | undefined {
  const a = world.netns[from];
  const b = world.netns[to];
  if (!a || !b) return undefined;
  // the subnet of the device the packet came in on first
  const dev = toDev !== undefined ? b.links.find((l) => l.name === toDev)?.ifindex : undefined;
  const ys = [...b.addrs].sort((p, q) => Number(q.ifindex === dev) - Number(p.ifindex === dev));
  for (const y of ys)
    for (const x of a.addrs) if (x.scope === 'global' && y.scope === 'global' && networkOf(x.local, y.prefixLen) === networkOf(y.local, y.prefixLen) && x.local !== y.local) return x.local;
  return undefined;
}

/** `-p tcp -s S -d D --dport P` for a request, `--sport` for a reply (its ephemeral port is the client's). */
function iptMatch(p: IpPacket, dir: 'request' | 'reply'): string {
  const l4 = p.l4;
  const base = `-s ${ip(p.src)} -d ${ip(p.dst)}`;
  if (l4.kind === 'icmp') return `-p icmp ${base}`;
  return dir === 'request' ? `-p ${l4.kind} ${base} --dport ${l4.dport}` : `-p ${l4.kind} ${base} --sport ${l4.sport}`;
}

function nftMatch(p: IpPacket, dir: 'request' | 'reply'): string {
  const l4 = p.l4;
  const base = `ip saddr ${ip(p.src)} ip daddr ${ip(p.dst)}`;
  if (l4.kind === 'icmp') return `${base} ip protocol icmp`;
  return dir === 'request' ? `${base} ${l4.kind} dport ${l4.dport}` : `${base} ${l4.kind} sport ${l4.sport}`;
}

function nfCandidates(dec: Decider, ns: NsId, p: IpPacket, dir: 'request' | 'reply'): Candidate[] {
  const out: Candidate[] = [];
  if (dec.nft) {
    const [family, table] = dec.table.split(' ') as [string, string];
    // `insert` puts the rule first in the chain, before the rule that decided
    out.push({ ns, cmd: `nft insert rule ${family} ${table} ${dec.chain} ${nftMatch(p, dir)} accept`, note: `accept this ${dir} before ${dec.chain}'s rule that decided` });
    if (dir === 'reply') out.push({ ns, cmd: `nft insert rule ${family} ${table} ${dec.chain} ct state established,related accept`, note: 'let replies of accepted connections through' });
    return out;
  }
  const t = `-t ${dec.table}`;
  const at = dec.rule !== undefined ? `-I ${dec.chain} ${dec.rule}` : `-A ${dec.chain}`;
  const before = dec.rule !== undefined ? `before ${dec.chain} rule ${dec.rule}` : `before the ${dec.chain} policy`;
  out.push({ ns, cmd: `iptables ${t} ${at} ${iptMatch(p, dir)} -j ACCEPT`, note: `accept this ${dir} ${before}` });
  if (dir === 'reply') out.push({ ns, cmd: `iptables ${t} ${at} -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT`, note: `let replies of accepted connections through, ${before}` });
  if (dec.rule !== undefined) out.push({ ns, cmd: `iptables ${t} -D ${dec.chain} ${dec.rule}`, note: `delete ${dec.chain} rule ${dec.rule}` });
  else if (dec.via.length === 0) out.push({ ns, cmd: `iptables ${t} -P ${dec.chain} ACCEPT`, note: `the ${dec.chain} policy` });
  return out;
}

/** The last route step in `ns` before `index`. */
function routeBefore(tr: ProbeTrace, index: number, ns: NsId): Extract<Step, { kind: 'route' }> | undefined {
  for (let i = index; i >= 0; i--) {
    const s = tr.steps[i]!;
    if (s.kind === 'route' && s.ns === ns) return s;
  }
  return undefined;
}

/** The request's first arrival in `ns` (step index), if it got there. */
function requestRecv(tr: ProbeTrace, ns: NsId): number {
  return tr.steps.findIndex((s) => s.kind === 'recv' && s.ns === ns && s.dir === 'request');
}

/** MASQUERADE on the hop that forwarded the request into `server`, so the server answers that hop. */
function masqueradeOnEntry(tr: ProbeTrace, server: NsId, client: number, dst?: IpPacket): Candidate[] {
  const ri = requestRecv(tr, server);
  if (ri < 0) return [];
  const a = arrival(tr, ri);
  if (a.from === undefined || a.from === tr.from || a.fromDev === undefined) return [];
  const forwarded = tr.steps.some((s, i) => i < ri && s.ns === a.from && s.kind === 'route' && s.input && !s.local);
  if (!forwarded) return [];
  const l4 = dst?.l4;
  const port = l4 && l4.kind !== 'icmp' ? ` -p ${l4.kind} --dport ${l4.dport}` : '';
  const d = dst ? ` -d ${ip(dst.dst)}` : '';
  return [{ ns: a.from, cmd: `iptables -t nat -A POSTROUTING -s ${ip(client)}${d}${port} -o ${a.fromDev} -j MASQUERADE`, note: `${server.split('/').pop()} then answers ${a.from.split('/').pop()}, which translates the reply back` }];
}

/** Every candidate for the point, narrowest first (the search tries them in this order). */
export function candidates(world: World, tr: ProbeTrace, point: Point): Candidate[] {
  switch (point.kind) {
    case 'reached':
    case 'silent': {
      if (point.kind === 'silent') {
        const ign = tr.steps.find((s) => s.kind === 'socket' && s.event === 'echo-ignored');
        if (ign) return [{ ns: ign.ns, cmd: 'sysctl -w net.ipv4.icmp_echo_ignore_all=0' }];
        const bc = tr.steps.find((s) => s.kind === 'socket' && s.event === 'broadcast-ignored' && s.proto === 'icmp');
        if (bc) return [{ ns: bc.ns, cmd: 'sysctl -w net.ipv4.icmp_echo_ignore_broadcasts=0' }];
      }
      return [];
    }
    case 'no-listener':
      return [{ ns: point.ns, cmd: '', service: { proto: point.proto, port: point.port }, note: `a service on ${point.proto}/${point.port}, the port the request reaches` }];
    case 'unmatched-reply': {
      const out: Candidate[] = [];
      const server = point.sender;
      const reqNat = tr.steps.find((s) => s.kind === 'nat' && s.dir === 'request');
      const client = point.packet.dst;
      if (server !== undefined) {
        // answer through the hop the request came in by
        const ri = requestRecv(tr, server);
        const a = ri >= 0 ? arrival(tr, ri) : {};
        const gw = a.from !== undefined ? addrToward(world, a.from, server, a.recv?.dev) : undefined;
        if (gw !== undefined) out.push({ ns: server, cmd: `ip route add ${ip(client)} via ${ip(gw)}`, note: 'the reply goes back the way the request came, through the NAT' });
        out.push(...masqueradeOnEntry(tr, server, client, reqNat?.kind === 'nat' ? reqNat.packet : undefined));
      }
      return out;
    }
    case 'drop':
      return dropCandidates(world, tr, point);
  }
}

function dropCandidates(world: World, tr: ProbeTrace, point: Extract<Point, { kind: 'drop' }>): Candidate[] {
  const d = point.drop;
  const ns = d.ns;
  const p = d.packet;
  const out: Candidate[] = [];
  const me = world.netns[ns];
  if (!me) return out;
  const own = new Set(me.addrs.map((a) => a.local));
  // the hop this packet came from: a route back there makes a loop
  const came = arrival(tr, point.index);
  const prevAddr = came.from !== undefined ? addrToward(world, came.from, ns) : undefined;
  const exclude = new Set<number>([...own, ...(prevAddr !== undefined ? [prevAddr] : [])]);
  switch (d.code) {
    case 'no-route': {
      const dst = d.reason.kind === 'route' ? d.reason.dst : p.dst;
      const prefer: number[] = [];
      if (d.dir === 'reply') {
        // a reply goes back the way its request came, when the request came through here
        const ri = requestRecv(tr, ns);
        const a = ri >= 0 ? arrival(tr, ri) : {};
        const g = a.from !== undefined ? addrToward(world, a.from, ns, a.recv?.dev) : undefined;
        if (g !== undefined && !own.has(g)) prefer.push(g);
      }
      const gws = gateways(world, ns, dst, exclude, prefer).slice(0, 3);
      if (gws[0] !== undefined) out.push({ ns, cmd: `ip route add ${ip(dst)} via ${ip(gws[0])}` });
      if (d.dir === 'reply' && tr.delivered) {
        // the namespace that answered can send its reply another way, or the entry hop can NAT
        if (tr.delivered.ns !== ns) {
          const ri = requestRecv(tr, tr.delivered.ns);
          const a = ri >= 0 ? arrival(tr, ri) : {};
          const g = a.from !== undefined ? addrToward(world, a.from, tr.delivered.ns, a.recv?.dev) : undefined;
          const used = routeBefore(tr, point.index, tr.delivered.ns);
          if (g !== undefined && (used?.route.via === undefined || used.route.via !== g))
            out.push({ ns: tr.delivered.ns, cmd: `ip route add ${ip(dst)} via ${ip(g)}`, note: 'the reply goes back the way the request came' });
        }
        out.push(...masqueradeOnEntry(tr, tr.delivered.ns, dst));
      }
      for (const g of gws.slice(1)) out.push({ ns, cmd: `ip route add ${ip(dst)} via ${ip(g)}` });
      const hasDefault = me.routes.some((r) => r.table === 254 && r.dst.len === 0);
      if (gws[0] !== undefined && !hasDefault) out.push({ ns, cmd: `ip route add default via ${ip(gws[0])}` });
      break;
    }
    case 'forwarding-disabled': {
      const dev = d.reason.kind === 'forwarding-disabled' ? d.reason.dev : d.dev;
      if (dev !== undefined) out.push({ ns, cmd: `sysctl -w net.ipv4.conf.${dev}.forwarding=1`, note: `forwarding for packets that come in on ${dev}` });
      out.push({ ns, cmd: 'sysctl -w net.ipv4.ip_forward=1' });
      break;
    }
    case 'nf-drop':
    case 'nf-reject':
      if (point.decider && d.reason.kind === 'nf') out.push(...nfCandidates(point.decider, ns, p, d.dir));
      break;
    case 'rp-filter': {
      const dev = d.reason.kind === 'rp-filter' ? d.reason.dev : d.dev ?? 'all';
      if (prevAddr !== undefined && d.reason.kind === 'rp-filter') {
        const via = prevAddr === d.reason.src ? '' : ` via ${ip(prevAddr)}`;
        out.push({ ns, cmd: `ip route replace ${ip(d.reason.src)}${via} dev ${dev}`, note: `the route back to ${ip(d.reason.src)} leaves through ${dev}, where it came in` });
      }
      out.push({ ns, cmd: `sysctl -w net.ipv4.conf.${dev}.rp_filter=2`, note: 'loose mode: any route back will do' });
      out.push({ ns, cmd: 'sysctl -w net.ipv4.conf.all.rp_filter=0' });
      break;
    }
    case 'martian': {
      const r = d.reason;
      if (r.kind === 'martian-source' && r.why === 'local') out.push({ ns, cmd: `sysctl -w net.ipv4.conf.${r.dev}.accept_local=1` });
      if ((r.kind === 'martian-source' && r.why === 'loopback') || r.kind === 'martian-destination') out.push({ ns, cmd: `sysctl -w net.ipv4.conf.${r.dev}.route_localnet=1` });
      break;
    }
    case 'neigh-failed': {
      const r = d.reason.kind === 'neigh-failed' ? d.reason : undefined;
      if (!r) break;
      for (const s of tr.steps) {
        if (s.kind !== 'neigh' || s.dev === undefined) continue;
        if (s.event === 'source-refused' && s.addr === r.nexthop && s.reason.kind === 'rp-filter') out.push({ ns: s.ns, cmd: `sysctl -w net.ipv4.conf.${s.dev}.rp_filter=2`, note: 'loose mode: the ARP request is answered' });
        if (s.event === 'ignored' && s.addr === r.nexthop) out.push({ ns: s.ns, cmd: `sysctl -w net.ipv4.conf.${s.dev}.arp_ignore=0` });
        if (s.event === 'filtered' && s.addr === r.nexthop) out.push({ ns: s.ns, cmd: `sysctl -w net.ipv4.conf.${s.dev}.arp_filter=0` });
      }
      const used = routeBefore(tr, point.index, ns);
      if (used && used.route.via !== undefined) {
        exclude.add(used.route.via);
        const dst = p.dst;
        for (const g of gateways(world, ns, dst, exclude, []).slice(0, 2)) out.push({ ns, cmd: `ip route replace ${used.route.dst} via ${ip(g)}`, note: `${ip(r.nexthop)} does not answer ARP` });
      }
      break;
    }
    case 'link-down': {
      const r = d.reason.kind === 'link-down' ? d.reason : undefined;
      if (!r) break;
      const link = me.links.find((l) => l.name === r.dev);
      if (r.peer && link?.peer) {
        const peerNs = world.netns[link.peer.ns];
        const peer = peerNs?.links.find((l) => l.ifindex === link.peer!.ifindex);
        if (peerNs && peer) out.push({ ns: peerNs.id, cmd: `ip link set ${peer.name} up` });
      } else out.push({ ns, cmd: `ip link set ${r.dev} up` });
      break;
    }
    case 'blackhole-route':
    case 'unreachable-route':
    case 'prohibit-route': {
      const r = d.reason.kind === 'route' ? d.reason : undefined;
      if (r?.by?.route !== undefined) {
        const type = d.code.replace(/-route$/, '');
        out.push({ ns, cmd: `ip route del ${type} ${r.by.route}`, note: `remove the ${type} route` });
      } else if (r?.by?.rule !== undefined) out.push({ ns, cmd: `ip rule del pref ${r.by.rule}` });
      break;
    }
    default:
      break;
  }
  return out;
}
