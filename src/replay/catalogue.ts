/**
 * The conformance catalogue: what the generator (gen.ts) draws and with which weights, and for
 * every runbook command, route and rule form, sysctl, iptables match and target the world accepts,
 * which mutation draws it or why none does ("not generated: reason").
 *
 * The vocabulary (WORLD_FEATURES) is built from records typed over the world's own unions
 * (Op['op'], RouteType, NfMatchKind, NfTargetKind, ...), so a new Op kind, match or target does not
 * typecheck until it is listed here; test/replay/catalogue.test.ts checks that every entry is
 * drawn (or says why not) and that docs/replay.md lists them all. featuresOf() reads the features
 * back from a built plan's Ops, so the draw counts say what the plans really hold.
 */
import type { NfMatchKind, NfTargetKind, RejectWith } from '../netfilter/types.js';
import type { NftCommand } from '../nft/parse.js';
import type { NftChainType, NftFamily, NftHook, NftSelector, NftStmt } from '../nft/types.js';
import type { LinkKind, NeighOp, Op } from '../plan/ops.js';
import type { RouteType, RuleAction } from '../route/types.js';
import type { Built } from '../world/build.js';
import { DEVCONF_KEYS, NS_SYSCTL_DEFAULTS, classifySysctl } from '../world/sysctl.js';

/** The generator's mutations, each drawn with its weight (fc.oneof) into a plan's `features`. */
export const MUTATIONS = {
  'mark-route': { weight: 4, draws: 'mangle MARK (PREROUTING/OUTPUT) + ip rule fwmark + routes in table 100' },
  connmark: { weight: 3, draws: 'CONNMARK --set-mark/--save-mark/--restore-mark in mangle, -m connmark / -m mark in filter' },
  'policy-rule': { weight: 4, draws: 'ip rule from/to/iif/oif/not with lookup 100 or blackhole/unreachable/prohibit; ip rule del' },
  'user-chain': { weight: 4, draws: 'iptables -N, -j CHAIN / -g CHAIN, RETURN, -X' },
  'proxy-arp': { weight: 3, draws: 'proxy_arp=1 on a router interface + an on-link /32 route to an off-subnet address on a neighbour' },
  'onlink-route': { weight: 2, draws: 'ip route add ADDR/32 dev IF (ARP for a remote address), onlink' },
  'arp-sysctl': { weight: 3, draws: 'arp_ignore / arp_announce / arp_filter on all or one interface, with an on-link /32 route' },
  'dev-forwarding': { weight: 3, draws: 'net.ipv4.conf.DEV.forwarding / conf.default.forwarding' },
  'ttl-loop': { weight: 2, draws: 'two forwarding neighbours routing a /32 via each other (TTL exceeded)' },
  'route-form': { weight: 4, draws: 'local/broadcast/throw routes, src, metric, replace/append/change, net-tools route add/del' },
  neigh: { weight: 2, draws: 'ip neigh add/replace (permanent/noarp/reachable/stale) with a wrong MAC, neigh del' },
  notrack: { weight: 2, draws: 'raw NOTRACK / CT --notrack with a conntrack state rule' },
  redirect: { weight: 3, draws: 'nat REDIRECT --to-ports (PREROUTING/OUTPUT)' },
  'bridge-nf': { weight: 3, draws: 'bridge-nf-call-iptables=0, -m physdev in FORWARD, FORWARD DROP on a bridge, hairpin on a port' },
  undo: { weight: 3, draws: 'a change and its removal: route del, iptables -D/-R/-F/-Z, addr del, link del, netns del, neigh del' },
  'link-attrs': { weight: 1, draws: 'ip link set mtu / address / down+up' },
  'ct-filter': { weight: 4, draws: 'stateful filter: ESTABLISHED,RELATED ACCEPT then DROP (-m conntrack / -m state), --ctorigdst' },
  nft: { weight: 5, draws: 'an nft table of its own: filter base chains (priorities around iptables\' 0, policy accept/drop), sets, vmaps, reject forms, ct state/mark, meta mark + ip rule fwmark, fib, jump/goto, masquerade/snat/dnat/redirect (src/replay/gen-nft.ts)' },
  'second-address': { weight: 3, draws: 'a second address on an interface or a /32 on lo (a source for bound probes, a second local address)' },
} as const;
export type MutationKind = keyof typeof MUTATIONS;

/** Each feature: the mutation or plan part that draws it, or why none does. */
export type Coverage = { readonly by: string } | { readonly notGenerated: string };
const by = (what: string): Coverage => ({ by: what });
const no = (why: string): Coverage => ({ notGenerated: why });

const OPS: Readonly<Record<Op['op'], Coverage>> = {
  'netns-add': by('topology: runbook namespaces'),
  'netns-del': by('undo'),
  'docker-run': by('topology: a child made with docker run --network none'),
  'netns-bind': by('topology: ln -s /proc/PID/ns/net after docker run'),
  'link-add': by('topology'),
  'link-set': by('topology, link-attrs'),
  'link-del': by('undo'),
  'addr-add': by('topology'),
  'addr-del': by('topology: host NIC enslaved to a bridge; undo'),
  'route-add': by('baseline routes'),
  'route-del': by('undo, route-form (net-tools route del)'),
  'route-flush': by('undo (ip route flush table T)'),
  'addr-flush': by('undo (ip addr flush dev D)'),
  nft: by('nft'),
  'route-replace': by('route-form'),
  'route-append': by('route-form'),
  'route-change': by('route-form'),
  'rule-add': by('mark-route, policy-rule'),
  'rule-del': by('policy-rule'),
  'neigh-add': by('neigh'),
  'neigh-replace': by('neigh'),
  'neigh-del': by('neigh, undo'),
  sysctl: by('baseline ip_forward, rp_filter, arp-sysctl, proxy-arp, dev-forwarding, bridge-nf'),
  iptables: by('filter, nat and the mutations'),
  'iptables-restore': no('reads a rules file next to the model; a generated plan is one model text'),
  noop: no('look-only lines change nothing on either side'),
};

const ROUTE_TYPES: Readonly<Record<RouteType, Coverage>> = {
  unicast: by('baseline routes'),
  local: by('route-form'),
  broadcast: by('route-form'),
  blackhole: by('route breaks, extra routes, mark-route'),
  unreachable: by('route breaks, extra routes, mark-route'),
  prohibit: by('route breaks, extra routes, mark-route'),
  throw: by('route-form, mark-route'),
};

const LINK_KINDS: Readonly<Record<LinkKind, Coverage>> = {
  veth: by('topology'),
  bridge: by('topology: bridge children, host NIC enslaved to a bridge'),
  dummy: no('the reference kernel has no CONFIG_DUMMY (docs/semantics.md): ip link add type dummy fails there'),
};

const RULE_ACTIONS: Readonly<Record<RuleAction, Coverage>> = {
  lookup: by('mark-route, policy-rule'),
  blackhole: by('policy-rule'),
  unreachable: by('policy-rule'),
  prohibit: by('policy-rule'),
};

const RULE_SELECTORS = {
  'rule:fwmark': by('mark-route, connmark'),
  'rule:from': by('policy-rule'),
  'rule:to': by('policy-rule'),
  'rule:iif': by('policy-rule'),
  'rule:oif': by('policy-rule'),
  'rule:not': by('policy-rule'),
  'rule:priority': by('mark-route'),
} as const;

const NEIGH_STATES: Readonly<Record<NeighOp['state'], Coverage>> = {
  permanent: by('neigh'),
  noarp: by('neigh'),
  reachable: by('neigh'),
  stale: by('neigh'),
};

const MATCHES: Readonly<Record<NfMatchKind, Coverage>> = {
  source: by('filter -s, nat -s'),
  destination: by('filter -d, nat -d'),
  'in-interface': by('filter extra match -i'),
  'out-interface': by('filter extra match -o, nat -o'),
  protocol: by('filter -p'),
  fragment: by('filter extra match -f (never matches an unfragmented probe)'),
  tcp: by('filter --dport, --syn'),
  udp: by('filter --dport'),
  sctp: no('probes are tcp, udp or icmp: an sctp match can only not match'),
  icmp: by('filter extra match --icmp-type'),
  multiport: by('filter extra match --dports'),
  conntrack: by('ct-filter, filter extra match --ctstate/--ctorigdst, notrack'),
  state: by('ct-filter, filter extra match --state'),
  mark: by('connmark, filter extra match --mark'),
  connmark: by('connmark, filter extra match'),
  addrtype: by('filter extra match --src-type/--dst-type'),
  iprange: by('filter extra match --src-range/--dst-range'),
  comment: by('filter extra match --comment'),
  statistic: by('filter extra match --mode random/nth (the probe forks: any branch agrees)'),
  limit: by('filter extra match --limit (a probe never exceeds the burst)'),
  recent: no('runtime list state that no dump shows; the walk only notes it (docs/semantics.md)'),
  set: no('needs an ipset, and the ipset command is not a runbook command the world accepts'),
  physdev: by('bridge-nf'),
};

const TARGETS: Readonly<Record<NfTargetKind, Coverage>> = {
  ACCEPT: by('filter'),
  DROP: by('filter, policies'),
  RETURN: by('user-chain'),
  REJECT: by('filter'),
  LOG: by('filter target LOG'),
  SNAT: by('nat SNAT (addresses, ranges, ports)'),
  DNAT: by('nat DNAT (PREROUTING and OUTPUT, ranges, ports)'),
  MASQUERADE: by('nat MASQUERADE (--to-ports)'),
  REDIRECT: by('redirect'),
  MARK: by('mark-route, connmark'),
  CONNMARK: by('connmark'),
  NOTRACK: by('notrack'),
  CT: by('notrack'),
  jump: by('user-chain'),
  goto: by('user-chain'),
};

const REJECT_WITH: Readonly<Record<RejectWith, Coverage>> = {
  'icmp-net-unreachable': by('filter'),
  'icmp-host-unreachable': by('filter'),
  'icmp-port-unreachable': by('filter'),
  'icmp-proto-unreachable': by('filter'),
  'icmp-net-prohibited': by('filter'),
  'icmp-host-prohibited': by('filter'),
  'icmp-admin-prohibited': by('filter'),
  'tcp-reset': by('filter'),
};

const IPTABLES_COMMANDS = {
  A: by('filter, nat, mutations'),
  I: by('filter'),
  R: by('undo'),
  D: by('undo'),
  P: by('policies'),
  N: by('user-chain'),
  X: by('user-chain'),
  F: by('undo'),
  Z: by('undo'),
  show: no('-L/-S/-C only look'),
} as const;

const TABLES = { filter: by('filter'), nat: by('nat, redirect'), mangle: by('mark-route, connmark'), raw: by('notrack') } as const;

const SYSCTLS: Readonly<Record<string, Coverage>> = {
  'net.ipv4.ip_forward': by('baseline, forward flips'),
  ...Object.fromEntries(
    DEVCONF_KEYS.map((k): [string, Coverage] => [
      `conf.${k}`,
      k === 'forwarding'
        ? by('dev-forwarding')
        : k === 'rp_filter'
          ? by('rp_filter on all or any interface (veth, bridge, LAN NIC, lo)')
          : k === 'arp_ignore' || k === 'arp_announce' || k === 'arp_filter'
            ? by('arp-sysctl')
            : k === 'proxy_arp'
              ? by('proxy-arp')
              : k === 'accept_local' || k === 'route_localnet'
                ? by('arp-sysctl (together with an on-link route)')
                : no('redirects are not asked for (docs/semantics.md: ICMP redirects do not change a result)'),
    ]),
  ),
  ...Object.fromEntries(
    Object.keys(NS_SYSCTL_DEFAULTS).map((k): [string, Coverage] => [
      k,
      k === 'net.bridge.bridge-nf-call-iptables'
        ? by('bridge-nf')
        : k === 'net.ipv4.icmp_echo_ignore_all'
          ? by('link-attrs')
          : k.startsWith('net.ipv4.neigh.')
            ? no('neighbour timers change only how long a failure takes (replay tunes them per device)')
            : no('the source port range changes no outcome of a single probe; broadcasts are not probed'),
    ]),
  ),
};

const PROBES = {
  'probe:tcp': by('probes'),
  'probe:udp': by('probes'),
  'probe:icmp': by('probes'),
  'probe:src': by('probes with src: an own address, a second address, 127.0.0.1 or one the client does not hold'),
  'probe:loopback': by('probes to 127.0.0.1 and own addresses'),
} as const;

const TOPOLOGY = {
  'topo:lan': by('2 or 3 hosts on lan0'),
  'topo:veth': by('children on veth pairs'),
  'topo:bridge': by('children on a bridge'),
  'topo:line4': by('children behind children: routers in a line of four or more'),
  'topo:lo-only': by('a runbook namespace with only lo'),
  'topo:nic-in-bridge': by('a host NIC on the LAN enslaved to a bridge carrying its address'),
  'topo:hairpin': by('bridge-nf: hairpin on a bridge port (bridge link set / ip link set type bridge_slave)'),
} as const;

const NFT_COMMANDS: Readonly<Record<NftCommand['cmd'], Coverage>> = {
  'add-table': by('nft'),
  'create-table': no('the same as add for a table that does not exist yet'),
  'delete-table': no('a table deleted in the same runbook changes nothing a probe sees (undo covers deletion for iptables)'),
  'flush-table': no('as delete-table'),
  'add-chain': by('nft'),
  'create-chain': no('the same as add for a new chain'),
  'delete-chain': no('as delete-table'),
  'flush-chain': no('as delete-table'),
  'add-rule': by('nft'),
  'insert-rule': by('nft (insert at the head)'),
  'replace-rule': no('needs a rule handle: handles are the kernel\'s per-table counter, never typed in a runbook without listing first'),
  'delete-rule': no('as replace-rule'),
  'add-set': no('named sets: drawn as anonymous sets and verdict maps in rules'),
  'create-set': no('as add-set'),
  'delete-set': no('as add-set'),
  'flush-set': no('as add-set'),
  'add-element': no('as add-set'),
  'delete-element': no('as add-set'),
  'flush-ruleset': no('would also flush iptables-nft\'s tables of the same namespace; tested in test/nft'),
};

const NFT_FAMILIES: Readonly<Record<NftFamily, Coverage>> = {
  ip: by('nft'),
  inet: by('nft (inet variant)'),
  ip6: no('probes are IPv4'),
  bridge: no('refused unless br_netfilter-style hooks apply; not drawn'),
  arp: no('refused by the world'),
  netdev: no('refused by the world (ingress is not modelled)'),
};

const NFT_HOOKS: Readonly<Record<NftHook, Coverage>> = {
  prerouting: by('nft (dnat, mark)'),
  input: by('nft'),
  forward: by('nft'),
  output: by('nft'),
  postrouting: by('nft (masquerade, snat)'),
  ingress: no('netdev family: refused'),
  egress: no('netdev family: refused'),
};

const NFT_CHAIN_TYPES: Readonly<Record<NftChainType, Coverage>> = {
  filter: by('nft'),
  nat: by('nft (masquerade, dnat)'),
  route: no('a route chain re-routes on a mark change like mangle OUTPUT; drawn through filter chains at priority mangle'),
};

const NFT_STATEMENTS: Readonly<Record<NftStmt['k'], Coverage>> = {
  match: by('nft'),
  verdict: by('nft (accept, drop, jump, goto)'),
  vmap: by('nft (ip daddr vmap)'),
  reject: by('nft (plain, icmp type, icmpx type, tcp reset)'),
  counter: by('nft'),
  log: no('no effect on a probe'),
  limit: no('a probe never exceeds a limit (as -m limit)'),
  nat: by('nft (masquerade, snat, dnat, redirect)'),
  set: by('nft (meta mark set, ct mark set)'),
  notrack: no('drawn for iptables (raw NOTRACK)'),
  setop: no('dynamic sets fed at run time: state no dump shows'),
  nftrace: no('no effect on a probe'),
};

const NFT_SELECTORS: Readonly<Record<NftSelector['k'], Coverage>> = {
  payload: by('nft (ip saddr/daddr/protocol, tcp/udp/th dport)'),
  meta: by('nft (meta l4proto, mark, iifname, oifname, nfproto)'),
  ct: by('nft (ct state, ct mark)'),
  fib: by('nft (fib daddr type local)'),
  numgen: no('random branches: drawn for iptables as -m statistic'),
};

/** Every feature of the world's vocabulary, keyed `kind:name`, with its coverage. */
export const WORLD_FEATURES: Readonly<Record<string, Coverage>> = {
  ...prefixed('op', OPS),
  ...prefixed('route', ROUTE_TYPES),
  ...prefixed('link', LINK_KINDS),
  ...prefixed('rule-action', RULE_ACTIONS),
  ...RULE_SELECTORS,
  ...prefixed('neigh', NEIGH_STATES),
  ...prefixed('match', MATCHES),
  ...prefixed('target', TARGETS),
  ...prefixed('reject-with', REJECT_WITH),
  ...prefixed('iptables', IPTABLES_COMMANDS),
  ...prefixed('table', TABLES),
  ...prefixed('sysctl', SYSCTLS),
  ...prefixed('nft', NFT_COMMANDS),
  ...prefixed('nft-family', NFT_FAMILIES),
  ...prefixed('nft-hook', NFT_HOOKS),
  ...prefixed('nft-chain', NFT_CHAIN_TYPES),
  ...prefixed('nft-stmt', NFT_STATEMENTS),
  ...prefixed('nft-sel', NFT_SELECTORS),
  ...PROBES,
  ...TOPOLOGY,
};

function prefixed(kind: string, r: Readonly<Record<string, Coverage>>): Record<string, Coverage> {
  return Object.fromEntries(Object.entries(r).map(([k, v]) => [`${kind}:${k}`, v]));
}

/** The sysctl feature a key is counted under (`conf.rp_filter` for every scope and device). */
function sysctlFeature(key: string): string | undefined {
  const c = classifySysctl(key);
  if (!c) return undefined;
  switch (c.kind) {
    case 'forward-all':
      return 'sysctl:net.ipv4.ip_forward';
    case 'conf':
    case 'devconf':
      return `sysctl:conf.${c.key}`;
    case 'ns':
      return `sysctl:${c.key}`;
    case 'ipv6':
    case 'no-effect':
      return undefined;
  }
}

/**
 * The features a built plan holds, read back from its Ops (plus the topology and probe features
 * the generator reports in `extra`). Keys are WORLD_FEATURES keys.
 */
export function featuresOf(built: Built, extra: readonly string[] = []): Set<string> {
  const out = new Set<string>(extra);
  const ops = Object.values(built.ops).flat();
  for (const op of ops) {
    out.add(`op:${op.op}`);
    switch (op.op) {
      case 'link-add':
        out.add(`link:${op.kind}`);
        break;
      case 'route-add':
      case 'route-replace':
      case 'route-append':
      case 'route-change':
        out.add(`route:${op.type}`);
        break;
      case 'rule-add':
        out.add(`rule-action:${op.action}`);
        if (op.fwmark) out.add('rule:fwmark');
        if (op.from) out.add('rule:from');
        if (op.to) out.add('rule:to');
        if (op.iif !== undefined) out.add('rule:iif');
        if (op.oif !== undefined) out.add('rule:oif');
        if (op.not) out.add('rule:not');
        if (op.priority !== undefined) out.add('rule:priority');
        break;
      case 'neigh-add':
      case 'neigh-replace':
        out.add(`neigh:${op.state}`);
        break;
      case 'sysctl': {
        const f = sysctlFeature(op.key);
        if (f) out.add(f);
        break;
      }
      case 'iptables': {
        out.add(`iptables:${op.cmd}`);
        out.add(`table:${op.table}`);
        if (op.cmd === 'A' || op.cmd === 'I' || op.cmd === 'R' || (op.cmd === 'D' && op.rule)) {
          const rule = op.rule!;
          for (const m of rule.matches) out.add(`match:${m.kind}`);
          if (rule.target) {
            out.add(`target:${rule.target.kind}`);
            if (rule.target.kind === 'REJECT') out.add(`reject-with:${rule.target.with}`);
          }
        }
        break;
      }
      case 'nft':
        for (const c of op.cmds) nftFeatures(c, out);
        break;
      case 'link-set':
        if (op.brport?.hairpin !== undefined) out.add('topo:hairpin');
        break;
      default:
        break;
    }
  }
  for (const p of built.model.probes) out.add(`probe:${p.proto}`);
  return out;
}

function nftFeatures(c: NftCommand, out: Set<string>): void {
  out.add(`nft:${c.cmd}`);
  if ('family' in c && c.family !== undefined) out.add(`nft-family:${c.family}`);
  if ((c.cmd === 'add-chain' || c.cmd === 'create-chain') && c.spec.base) {
    out.add(`nft-hook:${c.spec.base.hook}`);
    out.add(`nft-chain:${c.spec.base.type}`);
  }
  if (c.cmd === 'add-rule' || c.cmd === 'insert-rule' || c.cmd === 'replace-rule')
    for (const s of c.stmts) {
      out.add(`nft-stmt:${s.k}`);
      const exprs = s.k === 'match' || s.k === 'vmap' ? s.left : s.k === 'set' && s.value.kind === 'expr' ? [s.value.from] : s.k === 'setop' ? s.keys : [];
      for (const e of exprs) out.add(`nft-sel:${e.sel.k}`);
      if (s.k === 'set') out.add(`nft-sel:${s.target === 'ct mark' ? 'ct' : 'meta'}`);
    }
}
