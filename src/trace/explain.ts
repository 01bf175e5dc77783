/**
 * The "why" of a probe that did not reach its service: which packet died (request or reply),
 * in which namespace and stage, the runbook line or setting responsible, and changes that would
 * fix it, written as runbook lines for the namespace they belong in.
 */
import type { NsId } from '../model/link.js';
import { formatOrigin } from '../model/origin.js';
import { formatIpv4, networkOf } from '../wire/ipv4.js';
import type { World } from '../world/types.js';
import type { Drop, ProbeTrace, Step, Why } from './types.js';
import { displayNs } from '../world/build.js';
import { isIcmpError } from '../engine/packet.js';
import { dumpOrder, formatRoute } from '../route/show.js';
import { dropText, reasonText, stepText } from './text.js';

export function explain(world: World, tr: ProbeTrace): Why | undefined {
  if (tr.result === 'reachable') return undefined;
  const name = (id: NsId): string => displayNs(world, id);
  const drop = decisiveDrop(tr);
  if (!drop) {
    // no drop: a closed port answered (RST / port unreachable), or nothing came back at all
    const closed = tr.steps.find((s) => s.kind === 'socket' && s.event === 'no-listener');
    if (closed && closed.kind === 'socket' && closed.event === 'no-listener') {
      const answer = closed.proto === 'tcp' ? 'RST' : 'ICMP port unreachable';
      return {
        summary: `The request reached ${name(closed.ns)}, but nothing listens on ${closed.proto}/${closed.port}: ${answer}: the client gets ${tr.errno}.`,
        ns: closed.ns,
        stage: 'socket',
        code: 'no-socket',
        dir: 'request',
        fixes: [`start a service in ${name(closed.ns)} on ${tr.proto}/${tr.to.split(':')[1] ?? ''}, or probe the port that listens`],
      };
    }
    const ignored = tr.steps.find((s) => s.kind === 'socket' && s.event === 'soft-error');
    const tail = ignored ? ` ${stepText(ignored)}.` : '';
    return {
      summary: `Nothing came back to the client and no packet was dropped on the way.${tail}`,
      ns: tr.from,
      stage: 'socket',
      code: 'no-service',
      dir: 'reply',
      fixes: [],
    };
  }
  const where = `${name(drop.ns)}${drop.dev !== undefined ? ` (${drop.dev})` : ''}`;
  const what = drop.dir === 'request' ? 'request' : 'reply';
  const delivered = tr.delivered ? `The request reached ${name(tr.delivered.ns)}, but the reply died` : `The ${what} died`;
  const at = drop.origin ? ` [${formatOrigin(drop.origin)}: ${drop.origin.text}]` : '';
  const fixes: string[] = [];
  let summary = `${delivered} in ${where} at ${drop.stage}: ${dropText(drop)}${at}.`;
  const run = (ns: NsId, cmd: string): string => runbookLine(world, ns, cmd);

  switch (drop.code) {
    case 'no-route': {
      const dst = drop.packet.dst;
      const prev = previousHop(world, tr, drop.ns);
      const routes = dumpOrder(world.netns[drop.ns]!.routes.filter((r) => r.table === 254))
        .map((r) => formatRoute(r, (i) => world.netns[drop.ns]!.links.find((l) => l.ifindex === i)?.name, false).trim())
        .join('; ');
      if (drop.dir === 'reply' && tr.delivered) {
        summary =
          `The request reached ${name(tr.delivered.ns)}, but the reply never left ${name(drop.ns)}: ` +
          `${name(drop.ns)} has no route to ${formatIpv4(dst)} (its main table: ${routes || 'empty'}), ` +
          `so the kernel drops the reply at route output (ENETUNREACH, counted as OutNoRoutes) before it is sent. ` +
          `Nothing is dropped on the way back because nothing is sent back.`;
      } else {
        summary = `${delivered} in ${where}: no route to ${formatIpv4(dst)} (main table: ${routes || 'empty'})${drop.stage === 'routing' ? '; the forwarding host answers ICMP net unreachable' : ''}.`;
      }
      if (prev) {
        fixes.push(run(drop.ns, `ip route add default via ${formatIpv4(prev.gateway)}`));
        fixes.push(run(drop.ns, `ip route add ${formatIpv4(dst)} via ${formatIpv4(prev.gateway)}`) + '   (narrower)');
        if (prev.forwarded && drop.dir === 'reply')
          fixes.push(
            run(prev.ns, `iptables -t nat -A POSTROUTING -s ${formatIpv4(dst)} -o ${prev.dev} -j MASQUERADE`) +
              `   (so the request reaches ${name(drop.ns)} from ${formatIpv4(prev.gateway)}, an address it can answer)`,
          );
      } else fixes.push(run(drop.ns, `ip route add ${formatIpv4(dst)} via GATEWAY`) + '   (a gateway on a connected subnet)');
      break;
    }
    case 'forwarding-disabled':
      summary = `${delivered.replace('reply died', `${what} died`)} in ${where}: ${name(drop.ns)} would have to forward it, but forwarding is off (net.ipv4.ip_forward=0), so the kernel drops it silently (no ICMP).`;
      fixes.push(run(drop.ns, 'sysctl -w net.ipv4.ip_forward=1'));
      break;
    case 'nf-drop':
    case 'nf-reject': {
      const nf = lastNf(tr.steps, drop);
      const p = drop.packet;
      const l4 = p.l4;
      const ports = l4.kind === 'icmp' ? '' : ` -p ${l4.kind} --dport ${l4.dport}`;
      const chain = nf?.kind === 'nf' ? nf.nf.chain : drop.stage.toUpperCase();
      if (drop.dir === 'reply' && chain !== 'OUTPUT')
        fixes.push(run(drop.ns, `iptables -I ${chain} -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT`) + '   (let replies of accepted connections through)');
      else fixes.push(run(drop.ns, `iptables -I ${chain} -s ${formatIpv4(p.src)} -d ${formatIpv4(p.dst)}${ports} -j ACCEPT`));
      if (drop.origin && drop.origin.line > 0) fixes.push(`or change ${formatOrigin(drop.origin)}: ${drop.origin.text}`);
      break;
    }
    case 'neigh-failed': {
      summary = `${delivered.replace('reply died', `${what} died`)} in ${where}: ${dropText(drop)}; after 3 ARP requests the kernel gives up and reports host unreachable to the sender.`;
      const nhAddr = drop.reason.kind === 'neigh-failed' ? drop.reason.nexthop : 0;
      const nh = formatIpv4(nhAddr);
      const refused = tr.steps.find((s) => s.kind === 'neigh' && s.ns !== drop.ns && s.event === 'source-refused' && s.addr === nhAddr);
      if (refused && refused.kind === 'neigh' && refused.event === 'source-refused') {
        summary += ` ${name(refused.ns)} owns ${nh} but does not answer: ${reasonText(refused.reason)}.`;
        fixes.push(run(refused.ns, `sysctl -w net.ipv4.conf.${refused.dev ?? 'all'}.rp_filter=2`) + '   (loose mode), or make the route back leave through ' + (refused.dev ?? 'that device'));
      }
      fixes.push(`check the next hop: is ${nh} the right gateway, and is it on ${drop.dev ?? 'that link'}?`);
      if (drop.origin) fixes.push(`the route used: ${formatOrigin(drop.origin)}: ${drop.origin.text}`);
      break;
    }
    case 'rp-filter':
      fixes.push(run(drop.ns, `sysctl -w net.ipv4.conf.${drop.dev ?? 'all'}.rp_filter=2`) + '   (loose mode)');
      fixes.push(`or route ${formatIpv4(drop.packet.src)} back through ${drop.dev ?? 'the incoming interface'} in ${name(drop.ns)}`);
      break;
    case 'ttl-expired': {
      const path = loopNamespaces(tr);
      const repeats = new Set(path).size < path.length;
      if (repeats) {
        summary = `${delivered.replace('reply died', `${what} died`)} in ${where}: TTL ran out, a routing loop through ${path.slice(0, 6).map(name).join(' -> ')}.`;
        fixes.push('fix the routes that send the packet back and forth (see the route steps of the trace)');
      } else {
        const hops = path.length - 1;
        summary = `${delivered.replace('reply died', `${what} died`)} in ${where}: TTL ran out after ${hops} hops (no loop: the path ${name(path[0]!)} -> ... -> ${name(path[path.length - 1]!)} is longer than the sender's TTL of 64).`;
        fixes.push('shorten the path, or send with a larger TTL (net.ipv4.ip_default_ttl on the sender)');
      }
      break;
    }
    case 'blackhole-route':
    case 'unreachable-route':
    case 'prohibit-route':
      if (drop.origin) fixes.push(`remove or narrow the route at ${formatOrigin(drop.origin)}: ${drop.origin.text}`);
      break;
    case 'link-down':
      fixes.push(run(drop.ns, `ip link set ${drop.dev ?? 'DEV'} up`) + '   (and its veth peer)');
      break;
    case 'martian':
      fixes.push('the source or destination address is impossible on this interface; check the addresses and accept_local/route_localnet');
      break;
    default:
      break;
  }
  return {
    summary,
    ns: drop.ns,
    stage: drop.stage,
    code: drop.code,
    dir: drop.dir,
    ...(drop.origin ? { origin: drop.origin } : {}),
    fixes,
  };
}

/** The drop that decided the probe: the first drop of the probe's own packets. */
function decisiveDrop(tr: ProbeTrace): Drop | undefined {
  const own = tr.drops.filter((d) => !isIcmpError(d.packet));
  return own[0] ?? tr.drops[0];
}

function lastNf(steps: readonly Step[], drop: Drop): Step | undefined {
  for (let i = steps.length - 1; i >= 0; i--) {
    const s = steps[i]!;
    if (s.kind === 'nf' && s.ns === drop.ns && s.t <= drop.t) return s;
  }
  return undefined;
}

/** How the request arrived in `ns`: the namespace and device that sent it, and its address there. */
function previousHop(world: World, tr: ProbeTrace, ns: NsId): { ns: NsId; dev: string; gateway: number; forwarded: boolean } | undefined {
  const steps = tr.steps;
  let recvIdx = -1;
  for (let i = steps.length - 1; i >= 0; i--) if (steps[i]!.kind === 'recv' && steps[i]!.ns === ns && steps[i]!.dir === 'request') { recvIdx = i; break; }
  if (recvIdx < 0) return undefined;
  for (let i = recvIdx - 1; i >= 0; i--) {
    const s = steps[i]!;
    if (s.kind !== 'xmit' || s.ns === ns || s.dir !== 'request' || s.dev === undefined) continue;
    const pns = world.netns[s.ns];
    const dev = pns?.links.find((l) => l.name === s.dev);
    if (!pns || !dev) return undefined;
    const recvDev = world.netns[ns]?.links.find((l) => l.name === steps[recvIdx]!.dev);
    const mine = world.netns[ns]?.addrs.find((a) => a.ifindex === recvDev?.ifindex && !a.secondary);
    const cands = pns.addrs.filter((a) => a.ifindex === dev.ifindex && !a.secondary);
    const gw = (mine && cands.find((a) => networkOf(a.local, a.prefixLen) === networkOf(mine.local, mine.prefixLen))) ?? cands[0];
    if (!gw) return undefined;
    const forwarded = steps.some((x, j) => j < i && x.ns === s.ns && x.kind === 'route' && x.input && !x.local);
    return { ns: s.ns, dev: dev.name, gateway: gw.local, forwarded };
  }
  return undefined;
}

/** The namespaces the probe's first packet went through, in order (the sender first). */
function loopNamespaces(tr: ProbeTrace): NsId[] {
  const seen: NsId[] = [tr.from];
  for (const s of tr.steps) {
    if (s.kind === 'icmp' || (s.kind === 'drop' && s.drop.code === 'ttl-expired')) break;
    if (s.kind === 'recv' && s.dir === 'request' && seen[seen.length - 1] !== s.ns) seen.push(s.ns);
  }
  return seen;
}

/** A command as the user would write it in the host's runbook for that namespace. */
export function runbookLine(world: World, ns: NsId, cmd: string): string {
  const n = world.netns[ns];
  if (!n) return cmd;
  if (n.name === null) return `on ${n.host}: ${cmd}`;
  const bound = Object.entries(world.bindings[n.host] ?? {}).find(([, id]) => id === ns)?.[0];
  const nsName = bound ?? n.name;
  return `on ${n.host}: ip netns exec ${nsName} ${cmd}`;
}

