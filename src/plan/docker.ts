/**
 * Docker as dockerd v28.5.2 builds it: the daemon's chains, the default bridge `docker0`, user
 * bridge networks (`docker network create`), containers (`docker run --network ...`) with their
 * veth, address and default route, and published ports (`-p`), with the userland proxy on
 * (docker-proxy) or off (`dockerd --userland-proxy=false`).
 *
 * Every docker line becomes the commands the daemon runs, parsed by the runbook's own parsers at the
 * docker line (so a trace names the `docker run` that made a rule). Sources, all at tag v28.5.2 of
 * github.com/moby/moby:
 * - libnetwork/drivers/bridge/internal/iptabler/iptabler.go  setupIPChains, addNATJumpRules
 * - libnetwork/drivers/bridge/internal/iptabler/network.go   setupNonInternalNetworkRules, setINC,
 *   setDefaultForwardRule (programChainRule = insert at the top, appendOrDelChainRule = append)
 * - libnetwork/drivers/bridge/internal/iptabler/endpoint.go  filterDirectAccess (raw PREROUTING)
 * - libnetwork/drivers/bridge/internal/iptabler/port.go      setPerPortNAT, setPerPortForwarding,
 *   filterPortMappedOnLoopback
 * - libnetwork/firewall_linux.go                             setupUserChain (DOCKER-USER)
 * - libnetwork/drivers/bridge/bridge_linux.go                createNetwork steps: ip_forward (and
 *   FORWARD policy DROP when the daemon turned it on), route_localnet and bridge-nf-call-iptables
 *   without the proxy, hairpin on the veth without the proxy
 * - cmd/docker-proxy/tcp_proxy_linux.go                    TCPProxy.Run accepts a client before it
 *   dials the container (so a connect() to a proxied port succeeds whatever the container does)
 * - libnetwork/ipamutils/utils.go (default pools), libnetwork/ipams/defaultipam (lowest free
 *   address; serial allocation is for swarm only), libnetwork/portallocator (ephemeral ports:
 *   the first free one from the start of net.ipv4.ip_local_port_range)
 * and the rules dockerd writes for these cases, shown in
 * integration/network/bridge/iptablesdoc/generated/*.md.
 *
 * Not random here: Docker names a user network's bridge `br-` + 12 hex digits of a random network
 * id and a container's host-side veth `veth` + 7 random hex digits; netpath derives both from the
 * name (sha256), so a model gives the same names on every run.
 */
import { createHash } from 'node:crypto';
import type { Origin } from '../model/origin.js';
import type { Op, ProxyListen } from './ops.js';
import { fail, validIfname, type Ctx } from './args.js';
import { broadcastOf, formatIpv4, inPrefix, isLoopbackNet, networkOf, parseIpv4, type Ipv4 } from '../wire/ipv4.js';

/** The Docker release whose rules are reproduced (docs/runbook-commands.md). */
export const DOCKER_RELEASE = 'v28.5.2';

interface DockerNet {
  readonly name: string;
  readonly bridge: string;
  readonly network: Ipv4;
  readonly len: number;
  readonly gateway: Ipv4;
  /** --subnet was given (only then may a container ask for --ip) */
  readonly userSubnet: boolean;
  /** addresses in use: the gateway and every container's */
  readonly used: Set<Ipv4>;
}

/** What the daemon of one host knows, as the runbook goes. */
export interface DockerState {
  daemon?: { readonly proxy: boolean; readonly origin: Origin };
  /** the daemon turned ip_forward on (it then set the FORWARD policy to DROP) */
  forwardSet: boolean;
  readonly nets: Map<string, DockerNet>;
  readonly containers: Set<string>;
  /** host ports taken: `proto addr port` (addr 0.0.0.0 = every address) */
  readonly ports: Set<string>;
  /** the port allocator's last ephemeral port, per protocol */
  readonly lastEphemeral: Map<string, number>;
}

export function newDockerState(): DockerState {
  return { forwardSet: false, nets: new Map(), containers: new Set(), ports: new Set(), lastEphemeral: new Map() };
}

export interface DockerDeps {
  readonly state: DockerState;
  /** parses one command the daemon runs (or an `ip netns exec`-style command), at the docker line */
  readonly run: (argv: readonly string[], c: Ctx) => Op[];
  /** a root-namespace sysctl as the runbook has written it before this line (undefined: never written) */
  readonly sysctlBefore: (key: string) => string | undefined;
  readonly noop: (ctx: Ctx, why: string) => Op;
  readonly exec: (args: readonly string[], ctx: Ctx) => Op[];
}

const LOOK = 'look-only command';

/** `dockerd [--userland-proxy[=BOOL]] ...`: the daemon of this host starts, with its options. */
export function parseDockerd(argv: readonly string[], ctx: Ctx, deps: DockerDeps): Op[] {
  if (ctx.ns !== null) return fail(ctx, 'unsupported', 'dockerd runs in the host\'s root namespace here, not inside a namespace');
  let proxy = true;
  for (const a of argv.slice(1)) {
    const m = /^--userland-proxy(?:=(true|false|1|0))?$/.exec(a);
    if (m) proxy = m[1] === undefined || m[1] === 'true' || m[1] === '1';
    else if (a === '-D' || a === '--debug') continue;
    else return fail(ctx, 'unsupported', `dockerd option "${a}" is not modelled (only --userland-proxy[=true|false])`);
  }
  const st = deps.state;
  if (st.daemon) {
    return fail(ctx, 'unsupported', `the Docker daemon of ${ctx.host} already runs (started at ${st.daemon.origin.file}:${st.daemon.origin.line}); netpath models one start`);
  }
  return startDaemon(ctx, deps, proxy);
}

/** `docker ...` (after its global options). */
export function parseDocker(argv: readonly string[], ctx: Ctx, deps: DockerDeps): Op[] {
  let k = 1;
  while (k < argv.length && argv[k]!.startsWith('-')) {
    const o = argv[k]!;
    if (o === '-H' || o === '--host' || o === '--context' || o === '-c') {
      return fail(ctx, 'unsupported', `"docker ${o}" talks to another daemon; netpath models the local host only`);
    }
    k++;
  }
  let sub = argv[k];
  if (sub === 'container') {
    k++;
    sub = argv[k];
    if (sub === 'ls') sub = 'ps';
  }
  const rest = argv.slice(k + 1);
  switch (sub) {
    case undefined:
      return fail(ctx, 'syntax', 'docker: a command is required');
    case 'run':
      return dockerRun(rest, ctx, deps);
    case 'exec':
      return deps.exec(rest, ctx);
    case 'inspect':
    case 'ps':
    case 'logs':
    case 'images':
    case 'image':
    case 'version':
    case 'info':
    case 'top':
    case 'stats':
    case 'port':
    case 'pull':
      return [deps.noop(ctx, LOOK)];
    case 'network':
      if (rest[0] === 'ls' || rest[0] === 'inspect' || rest[0] === 'list') return [deps.noop(ctx, LOOK)];
      if (rest[0] === 'create') return networkCreate(rest.slice(1), ctx, deps);
      return fail(ctx, 'unsupported', `"docker network ${rest[0] ?? ''}" is not modelled (only create, ls, inspect)`);
    case 'stop':
    case 'kill':
    case 'rm':
    case 'restart':
    case 'start':
    case 'pause':
    case 'unpause':
    case 'create':
      return fail(ctx, 'unsupported', `"docker ${sub}" is not modelled by netpath (only "docker run" and "docker network create")`);
    default:
      return fail(ctx, 'unsupported', `"docker ${sub}" is not modelled by netpath`);
  }
}

// ---------------------------------------------------------------------------------------------
// the daemon and its networks

function cmds(ctx: Ctx, deps: DockerDeps, lines: readonly string[]): Op[] {
  return lines.flatMap((l) => deps.run(l.split(' '), ctx).map((o): Op => ({ ...o, byDocker: true })));
}

function daemon(ctx: Ctx, deps: DockerDeps): { ops: Op[]; proxy: boolean } {
  if (ctx.ns !== null) return fail(ctx, 'unsupported', 'docker is modelled from the host\'s root namespace only');
  const d = deps.state.daemon;
  if (d) return { ops: [], proxy: d.proxy };
  return { ops: startDaemon(ctx, deps, true), proxy: true };
}

/** NewIptabler/setupIPChains, the default bridge network, then setupUserChain. */
function startDaemon(ctx: Ctx, deps: DockerDeps, proxy: boolean): Op[] {
  deps.state.daemon = { proxy, origin: ctx.origin };
  const ops = cmds(ctx, deps, [
    'iptables -t nat -N DOCKER',
    'iptables -t filter -N DOCKER',
    'iptables -t filter -N DOCKER-FORWARD',
    'iptables -t filter -N DOCKER-BRIDGE',
    'iptables -t filter -N DOCKER-CT',
    'iptables -t filter -N DOCKER-ISOLATION-STAGE-1',
    'iptables -t filter -N DOCKER-ISOLATION-STAGE-2',
    'iptables -t nat -A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER',
    proxy ? 'iptables -t nat -A OUTPUT ! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -j DOCKER' : 'iptables -t nat -A OUTPUT -m addrtype --dst-type LOCAL -j DOCKER',
    'iptables -t filter -I FORWARD -j DOCKER-FORWARD',
    'iptables -t filter -I DOCKER-FORWARD -j DOCKER-BRIDGE',
    'iptables -t filter -I DOCKER-FORWARD -j DOCKER-ISOLATION-STAGE-1',
    'iptables -t filter -I DOCKER-FORWARD -j DOCKER-CT',
  ]);
  ops.push(...createNetwork(ctx, deps, { name: 'bridge', bridge: 'docker0', network: 0xac110000, len: 16, gateway: 0xac110001, userSubnet: false, used: new Set() }));
  ops.push(...cmds(ctx, deps, ['iptables -t filter -N DOCKER-USER', 'iptables -t filter -I FORWARD -j DOCKER-USER']));
  return ops;
}

/** createNetwork's steps for a bridge network (bridge_linux.go) with its firewaller rules (network.go). */
function createNetwork(ctx: Ctx, deps: DockerDeps, net: DockerNet): Op[] {
  const st = deps.state;
  const proxy = st.daemon?.proxy ?? true;
  const br = net.bridge;
  const subnet = `${formatIpv4(net.network)}/${net.len}`;
  net.used.add(net.gateway);
  st.nets.set(net.name, net);
  const lines = [`ip link add ${br} type bridge`, `ip addr add ${formatIpv4(net.gateway)}/${net.len} dev ${br}`];
  // setupIPv4Forwarding: the FORWARD policy becomes DROP when the daemon itself turned forwarding on
  if (!st.forwardSet && deps.sysctlBefore('net.ipv4.ip_forward') !== '1') {
    lines.push('sysctl -w net.ipv4.ip_forward=1', 'iptables -t filter -P FORWARD DROP');
  }
  st.forwardSet = true;
  if (!proxy) lines.push(`sysctl -w net.ipv4.conf.${br}.route_localnet=1`, 'sysctl -w net.bridge.bridge-nf-call-iptables=1');
  lines.push(`iptables -t nat -I POSTROUTING -s ${subnet} ! -o ${br} -j MASQUERADE`);
  if (proxy) lines.push(`iptables -t nat -I DOCKER -i ${br} -j RETURN`);
  else lines.push(`iptables -t nat -I POSTROUTING -o ${br} -m addrtype --src-type LOCAL -j MASQUERADE`);
  lines.push(
    `iptables -t filter -A DOCKER-FORWARD -i ${br} -j ACCEPT`,
    `iptables -t filter -A DOCKER ! -i ${br} -o ${br} -j DROP`,
    `iptables -t filter -A DOCKER-CT -o ${br} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`,
    `iptables -t filter -A DOCKER-BRIDGE -o ${br} -j DOCKER`,
    `iptables -t filter -A DOCKER-ISOLATION-STAGE-1 -i ${br} ! -o ${br} -j DOCKER-ISOLATION-STAGE-2`,
    `iptables -t filter -I DOCKER-ISOLATION-STAGE-2 -o ${br} -j DROP`,
    `ip link set ${br} up`,
  );
  return cmds(ctx, deps, lines);
}

function hex(text: string, n: number): string {
  return createHash('sha256').update(text).digest('hex').slice(0, n);
}

/** libnetwork/ipamutils: the local default pools, in order (each split into /16, then /20). */
function nextPool(st: DockerState): { network: Ipv4; len: number } | undefined {
  const taken = [...st.nets.values()];
  const free = (network: Ipv4, len: number): boolean =>
    !taken.some((n) => inPrefix(network, { addr: n.network, len: n.len }) || inPrefix(n.network, { addr: network, len }));
  for (let b = 17; b <= 31; b++) {
    const network = ((172 << 24) | (b << 16)) >>> 0;
    if (free(network, 16)) return { network, len: 16 };
  }
  for (let c = 0; c < 256; c += 16) {
    const network = ((192 << 24) | (168 << 16) | (c << 8)) >>> 0;
    if (free(network, 20)) return { network, len: 20 };
  }
  return undefined;
}

/** `docker network create [-d bridge] [--subnet S] [--gateway G] [-o com.docker.network.bridge.name=B] NAME` */
function networkCreate(args: readonly string[], ctx: Ctx, deps: DockerDeps): Op[] {
  let subnet: string | undefined;
  let gateway: string | undefined;
  let bridge: string | undefined;
  let name: string | undefined;
  for (let k = 0; k < args.length; k++) {
    const w = args[k]!;
    if (!w.startsWith('-')) {
      if (name !== undefined) return fail(ctx, 'syntax', '"docker network create" requires exactly 1 argument');
      name = w;
      continue;
    }
    const eq = w.indexOf('=');
    const opt = w.startsWith('--') && eq > 0 ? w.slice(0, eq) : w;
    const value = (): string => {
      if (w.startsWith('--') && eq > 0) return w.slice(eq + 1);
      const v = args[++k];
      if (v === undefined) return fail(ctx, 'syntax', `docker: flag needs an argument: ${opt}`);
      return v;
    };
    switch (opt) {
      case '-d':
      case '--driver': {
        const d = value();
        if (d !== 'bridge') return fail(ctx, 'unsupported', `docker network driver "${d}" is not modelled (only bridge)`);
        break;
      }
      case '--subnet':
        subnet = value();
        break;
      case '--gateway':
        gateway = value();
        break;
      case '-o':
      case '--opt': {
        const o = value();
        const m = /^com\.docker\.network\.bridge\.name=(.+)$/.exec(o);
        if (!m) return fail(ctx, 'unsupported', `docker network option "${o}" is not modelled (only com.docker.network.bridge.name)`);
        bridge = m[1]!;
        break;
      }
      case '--label':
        value();
        break;
      case '--attachable':
        break;
      default:
        return fail(ctx, 'unsupported', `docker network create option "${opt}" is not modelled`);
    }
  }
  if (name === undefined) return fail(ctx, 'syntax', '"docker network create" requires exactly 1 argument');
  const d = daemon(ctx, deps);
  const st = deps.state;
  if (st.nets.has(name) || name === 'host' || name === 'none') return fail(ctx, 'kernel', `Error response from daemon: network with name ${name} already exists`);
  let network: Ipv4;
  let len: number;
  if (subnet !== undefined) {
    const m = /^(\d+\.\d+\.\d+\.\d+)\/(\d+)$/.exec(subnet);
    const a = m ? parseIpv4(m[1]!) : undefined;
    const l = m ? Number(m[2]) : NaN;
    if (a === undefined || !(l >= 0 && l <= 30)) return fail(ctx, 'syntax', `invalid subnet ${subnet}: give an IPv4 CIDR of /30 or larger`);
    if (networkOf(a, l) !== a) return fail(ctx, 'kernel', `Error response from daemon: invalid pool request: Pool ${subnet} has host bits set`);
    network = a;
    len = l;
    for (const n of st.nets.values())
      if (inPrefix(network, { addr: n.network, len: n.len }) || inPrefix(n.network, { addr: network, len }))
        return fail(ctx, 'kernel', 'Error response from daemon: invalid pool request: Pool overlaps with other one on this address space');
  } else {
    if (gateway !== undefined) return fail(ctx, 'kernel', 'Error response from daemon: no matching subnet for gateway ' + gateway);
    const p = nextPool(st);
    if (!p) return fail(ctx, 'kernel', 'Error response from daemon: all predefined address pools have been fully subnetted');
    network = p.network;
    len = p.len;
  }
  let gw = (network + 1) >>> 0;
  if (gateway !== undefined) {
    const g = parseIpv4(gateway);
    if (g === undefined) return fail(ctx, 'syntax', `invalid gateway address ${gateway}`);
    if (!inPrefix(g, { addr: network, len })) return fail(ctx, 'kernel', `Error response from daemon: no matching subnet for gateway ${gateway}`);
    gw = g;
  }
  const br = bridge ?? `br-${hex(name, 12)}`;
  if (!validIfname(br)) return fail(ctx, 'syntax', `bridge name "${br}" is not a valid interface name`);
  for (const n of st.nets.values()) if (n.bridge === br) return fail(ctx, 'kernel', `Error response from daemon: bridge name ${br} is used by network ${n.name}`);
  return [...d.ops, ...createNetwork(ctx, deps, { name, bridge: br, network, len, gateway: gw, userSubnet: subnet !== undefined, used: new Set() })];
}

// ---------------------------------------------------------------------------------------------
// docker run

/** `docker run` options that take a value and do not touch networking. */
const VALUE_OK = new Set([
  '-e', '--env', '--env-file', '-v', '--volume', '--mount', '-w', '--workdir', '-u', '--user', '--restart',
  '--entrypoint', '-l', '--label', '--cap-add', '--cap-drop', '-m', '--memory', '--cpus', '--pull', '--platform',
  '--log-driver', '--log-opt', '--ulimit', '--tmpfs', '--shm-size', '--stop-signal', '--security-opt', '--expose',
  '-h', '--hostname', '--label-file', '--stop-timeout', '--cpu-shares', '-c',
]);
const BOOL_OK = new Set(['-d', '--detach', '--rm', '-i', '--interactive', '-t', '--tty', '--init', '--privileged', '--read-only']);
/** Options that change the container's network beyond what is modelled: refused with a reason. */
const VALUE_NET = new Set([
  '--dns', '--dns-search', '--dns-option', '--add-host', '--ip6', '--mac-address',
  '--sysctl', '--network-alias', '--link', '--pid', '--ipc', '--uts', '--userns', '--net-alias',
]);

interface Publish {
  readonly proto: 'tcp' | 'udp';
  /** 0 = all addresses */
  readonly hostIp: Ipv4;
  /** undefined = ephemeral; a range = the first free port in it */
  readonly hostPorts?: readonly [number, number];
  readonly port: number;
}

function dockerRun(args: readonly string[], ctx: Ctx, deps: DockerDeps): Op[] {
  let name: string | undefined;
  let network: string | undefined;
  let ip: string | undefined;
  const publish: Publish[] = [];
  let k = 0;
  while (k < args.length) {
    const w = args[k]!;
    if (!w.startsWith('-') || w === '-') break;
    k++;
    if (w === '--') break;
    let opt = w;
    let val: string | undefined;
    const eq = w.indexOf('=');
    if (w.startsWith('--') && eq > 0) {
      opt = w.slice(0, eq);
      val = w.slice(eq + 1);
    } else if (/^-p./.test(w)) {
      opt = '-p';
      val = w.slice(2);
    }
    const needValue = (): string => {
      if (val !== undefined) return val;
      const v = args[k];
      if (v === undefined) return fail(ctx, 'syntax', `docker: flag needs an argument: ${opt}`);
      k++;
      return v;
    };
    if (opt === '--name') name = needValue();
    else if (opt === '--network' || opt === '--net') network = needValue();
    else if (opt === '--ip') ip = needValue();
    else if (opt === '-p' || opt === '--publish') publish.push(...parsePublish(needValue(), ctx));
    else if (BOOL_OK.has(opt)) {
      if (val !== undefined && val !== 'true') return fail(ctx, 'unsupported', `docker run ${w} is not supported`);
    } else if (VALUE_OK.has(opt)) needValue();
    else if (VALUE_NET.has(opt) || opt === '-P' || opt === '--publish-all') {
      return fail(ctx, 'unsupported', `docker run ${opt} changes the container's network in a way netpath does not model`);
    } else if (/^-[dit]+$/.test(opt)) {
      /* bundled short booleans: -dit */
    } else if (/^-[dit]*[ehlmuvwp]/.test(opt) && !opt.startsWith('--')) {
      return fail(ctx, 'unsupported', `bundled docker flags "${opt}" with a value are not supported; write them separately`);
    } else return fail(ctx, 'unsupported', `docker run option "${opt}" is not modelled by netpath`);
  }
  const image = args[k];
  if (image === undefined) return fail(ctx, 'syntax', '"docker run" requires at least 1 argument (the image)');
  if (name === undefined) return fail(ctx, 'unsupported', 'docker run without --name gets a random name; name the container with --name');
  const st = deps.state;
  if (st.containers.has(name)) return fail(ctx, 'kernel', `docker: Error response from daemon: Conflict. The container name "/${name}" is already in use`);
  const netName = network ?? 'bridge';
  if (netName === 'none') {
    if (publish.length > 0 || ip !== undefined) return fail(ctx, 'unsupported', 'docker run --network none with -p or --ip: a container without a network has no ports to publish');
    st.containers.add(name);
    return [{ op: 'docker-run', host: ctx.host, ns: ctx.ns, origin: ctx.origin, name, image }];
  }
  if (netName === 'host' || netName.startsWith('container:')) return fail(ctx, 'unsupported', `docker network mode "${netName}" is not modelled (bridge networks and none are)`);
  const d = daemon(ctx, deps);
  const net = st.nets.get(netName);
  if (!net) return fail(ctx, 'kernel', `docker: Error response from daemon: network ${netName} not found`);
  const addr = allocAddress(net, ip, ctx);
  st.containers.add(name);
  const proxy = d.proxy;
  const bindings = publish.map((p) => ({ ...p, hostPort: allocHostPort(st, p, ctx, deps) }));
  const proxies: ProxyListen[] = [];
  for (const b of bindings) {
    if (!proxy) continue;
    // docker-proxy: TCP accepts the client before it dials the container; UDP sends each datagram
    // on to the container and its answers back (cmd/docker-proxy/udp_proxy_linux.go, v28.5.2)
    proxies.push({ proto: b.proto, port: b.hostPort, ...(b.hostIp !== 0 ? { addr: b.hostIp } : {}), ...(b.proto === 'udp' ? { backend: { addr, port: b.port } } : {}) });
  }
  const br = net.bridge;
  const veth = `veth${hex(`${ctx.host}/${name}`, 7)}`;
  const a = formatIpv4(addr);
  const ops: Op[] = [...d.ops, { op: 'docker-run', host: ctx.host, ns: ctx.ns, origin: ctx.origin, name, image, ...(proxies.length > 0 ? { proxies } : {}) }];
  const lines = [`ip link add ${veth} type veth peer name eth0 netns ${name}`, `ip link set ${veth} master ${br}`];
  if (!proxy) lines.push(`ip link set ${veth} type bridge_slave hairpin on`);
  lines.push(
    `iptables -t raw -A PREROUTING -d ${a}/32 ! -i ${br} -j DROP`,
    `ip link set ${veth} up`,
    `ip -n ${name} addr add ${a}/${net.len} dev eth0`,
    `ip -n ${name} link set eth0 up`,
    `ip -n ${name} route add default via ${formatIpv4(net.gateway)} dev eth0`,
  );
  for (const b of bindings) {
    const p = b.proto;
    if (b.hostIp !== 0 && isLoopbackNet(b.hostIp)) lines.push(`iptables -t raw -A PREROUTING -d ${formatIpv4(b.hostIp)}/32 ! -i lo -p ${p} -m ${p} --dport ${b.hostPort} -j DROP`);
    const dst = b.hostIp !== 0 ? ` -d ${formatIpv4(b.hostIp)}/32` : '';
    lines.push(`iptables -t nat -A DOCKER${dst}${proxy ? ` ! -i ${br}` : ''} -p ${p} -m ${p} --dport ${b.hostPort} -j DNAT --to-destination ${a}:${b.port}`);
    if (!proxy) lines.push(`iptables -t nat -A POSTROUTING -s ${a}/32 -d ${a}/32 -p ${p} -m ${p} --dport ${b.port} -j MASQUERADE`);
    lines.push(`iptables -t filter -I DOCKER -d ${a}/32 ! -i ${br} -o ${br} -p ${p} -m ${p} --dport ${b.port} -j ACCEPT`);
  }
  return [...ops, ...cmds(ctx, deps, lines)];
}

/** defaultipam: --ip (user subnets only) or the lowest free address of the subnet. */
function allocAddress(net: DockerNet, ip: string | undefined, ctx: Ctx): Ipv4 {
  const bcast = broadcastOf(net.network, net.len);
  if (ip !== undefined) {
    if (net.name === 'bridge') return fail(ctx, 'kernel', 'docker: Error response from daemon: user specified IP address is supported on user defined networks only');
    if (!net.userSubnet) return fail(ctx, 'kernel', 'docker: Error response from daemon: user specified IP address is supported only when connecting to networks with user configured subnets');
    const a = parseIpv4(ip);
    if (a === undefined) return fail(ctx, 'syntax', `invalid argument "${ip}" for "--ip" flag: invalid IP address`);
    if (!inPrefix(a, { addr: net.network, len: net.len }) || a === net.network || a === bcast)
      return fail(ctx, 'kernel', `docker: Error response from daemon: no configured subnet or ip-range contain the IP address ${ip}`);
    if (net.used.has(a)) return fail(ctx, 'kernel', `docker: Error response from daemon: Address already in use`);
    net.used.add(a);
    return a;
  }
  for (let a = (net.network + 1) >>> 0; a < bcast; a++) {
    if (!net.used.has(a)) {
      net.used.add(a);
      return a;
    }
  }
  return fail(ctx, 'kernel', `docker: Error response from daemon: no available IPv4 addresses on this network's address pools: ${net.name}`);
}

function portNum(text: string, ctx: Ctx, spec: string): number {
  const n = /^\d{1,5}$/.test(text) ? Number(text) : NaN;
  if (!(n >= 1 && n <= 65535)) return fail(ctx, 'syntax', `docker: invalid port "${text}" in "-p ${spec}"`);
  return n;
}

function portRange(text: string, ctx: Ctx, spec: string): [number, number] {
  const [a, b] = text.split('-', 2) as [string, string | undefined];
  const lo = portNum(a, ctx, spec);
  const hi = b === undefined ? lo : portNum(b, ctx, spec);
  if (hi < lo) return fail(ctx, 'syntax', `docker: invalid port range "${text}" in "-p ${spec}"`);
  return [lo, hi];
}

/** go-connections nat.ParsePortSpec: [[IP:]HOSTPORT[-END]:]PORT[-END][/PROTO], IP::PORT. */
function parsePublish(spec: string, ctx: Ctx): Publish[] {
  if (spec.startsWith('[')) return fail(ctx, 'unsupported', `IPv6 is not modelled by netpath ("-p ${spec}")`);
  const slash = spec.lastIndexOf('/');
  const proto = slash >= 0 ? spec.slice(slash + 1) : 'tcp';
  const body = slash >= 0 ? spec.slice(0, slash) : spec;
  if (proto !== 'tcp' && proto !== 'udp') {
    if (proto === 'sctp') return fail(ctx, 'unsupported', `SCTP is not modelled by netpath ("-p ${spec}")`);
    return fail(ctx, 'syntax', `docker: invalid proto: ${proto}`);
  }
  const parts = body.split(':');
  let ipText = '';
  let hostText = '';
  let portText: string;
  if (parts.length === 1) portText = parts[0]!;
  else if (parts.length === 2) [hostText, portText] = parts as [string, string];
  else if (parts.length === 3) [ipText, hostText, portText] = parts as [string, string, string];
  else return fail(ctx, 'syntax', `docker: invalid port spec "${spec}"`);
  let hostIp = 0;
  if (ipText !== '') {
    const a = parseIpv4(ipText);
    if (a === undefined) return fail(ctx, ipText.includes(':') ? 'unsupported' : 'syntax', `docker: invalid IP address "${ipText}" in "-p ${spec}"`);
    hostIp = a;
  }
  const [lo, hi] = portRange(portText, ctx, spec);
  const out: Publish[] = [];
  if (hostText === '') {
    for (let p = lo; p <= hi; p++) out.push({ proto, hostIp, port: p });
    return out;
  }
  const [hlo, hhi] = portRange(hostText, ctx, spec);
  if (lo === hi) return [{ proto, hostIp, hostPorts: [hlo, hhi], port: lo }];
  if (hhi - hlo !== hi - lo) return fail(ctx, 'syntax', `docker: invalid ranges specified for container and host Ports: ${portText} and ${hostText}`);
  for (let p = lo; p <= hi; p++) out.push({ proto, hostIp, hostPorts: [hlo + p - lo, hlo + p - lo], port: p });
  return out;
}

function portTaken(st: DockerState, proto: string, ip: Ipv4, port: number): boolean {
  if (ip === 0) return [...st.ports].some((k) => k.startsWith(`${proto} `) && k.endsWith(` ${port}`));
  return st.ports.has(`${proto} 0 ${port}`) || st.ports.has(`${proto} ${ip} ${port}`);
}

/** portallocator: a fixed port, the first free one of a range, or an ephemeral one. */
function allocHostPort(st: DockerState, p: Publish, ctx: Ctx, deps: DockerDeps): number {
  const take = (port: number): number => {
    st.ports.add(`${p.proto} ${p.hostIp} ${port}`);
    return port;
  };
  const shown = `${p.hostIp === 0 ? '0.0.0.0' : formatIpv4(p.hostIp)}`;
  if (p.hostPorts && p.hostPorts[0] === p.hostPorts[1]) {
    const port = p.hostPorts[0];
    if (portTaken(st, p.proto, p.hostIp, port)) return fail(ctx, 'kernel', `docker: Error response from daemon: failed to set up container networking: Bind for ${shown}:${port} failed: port is already allocated`);
    return take(port);
  }
  if (p.hostPorts) {
    for (let port = p.hostPorts[0]; port <= p.hostPorts[1]; port++) if (!portTaken(st, p.proto, p.hostIp, port)) return take(port);
    return fail(ctx, 'kernel', `docker: Error response from daemon: failed to set up container networking: all ports are allocated in ${p.hostPorts[0]}-${p.hostPorts[1]}`);
  }
  const range = (deps.sysctlBefore('net.ipv4.ip_local_port_range') ?? '32768 60999').trim().split(/\s+/).map(Number);
  const [lo, hi] = [range[0] ?? 32768, range[1] ?? 60999];
  const last = st.lastEphemeral.get(p.proto) ?? hi;
  for (let i = 1; i <= hi - lo + 1; i++) {
    const port = lo + ((last - lo + i) % (hi - lo + 1));
    if (!portTaken(st, p.proto, p.hostIp, port)) {
      st.lastEphemeral.set(p.proto, port);
      return take(port);
    }
  }
  return fail(ctx, 'kernel', 'docker: Error response from daemon: failed to set up container networking: all ports are allocated');
}

