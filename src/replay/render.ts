/**
 * Ops back into real commands: each runbook Op (src/plan/ops.ts) becomes the iproute2, iptables,
 * iptables-restore or sysctl invocation that does the same on a real kernel, with the namespace
 * names rewritten by a NetnsNames (src/replay/names.ts). Pure: no I/O, no clock.
 *
 * - ip ops run as `ip -n REAL ...` (`ip ...` where the namespace is the current one);
 *   every other command as `ip netns exec REAL CMD ...`.
 * - net-tools `route` lines are rendered as the equivalent `ip route` (same FIB request: proto boot,
 *   scope link without a gateway, the metric kept).
 * - iptables rules are re-spelled from the parsed rule (`-A CHAIN` + iptables-save's canonical
 *   text, split as iptables-restore splits it, the exact inverse of iptables-save's quoting).
 * - `iptables-restore` gets its parsed table blocks back on standard input.
 * - `docker run --network none --name N` becomes a bare namespace with lo up (the model's meaning);
 *   `ln -s /proc/PID/ns/net /var/run/netns/ALIAS` only binds ALIAS to that namespace: nothing runs.
 */
import type { Origin } from '../model/origin.js';
import { assertNever } from '../model/errors.js';
import type { AddrOp, LinkAddOp, LinkSetOp, NeighOp, Op, RouteOp, RuleOp } from '../plan/ops.js';
import type { IptablesRestoreTable } from '../netfilter/types.js';
import { splitRestoreLine } from '../netfilter/restore.js';
import { formatIpv4, formatPrefix } from '../wire/ipv4.js';
import type { NetnsNames } from './names.js';
import { brportArgs } from '../plan/bridge.js';

/** One real command. */
export interface RenderedCommand {
  readonly argv: readonly string[];
  /** fed to the command's standard input (iptables-restore) */
  readonly stdin?: string;
  /** the runbook line (or model key) it comes from */
  readonly origin: Origin;
  /** the real namespace this command creates / deletes, so a runner can track what to remove */
  readonly creates?: string;
  readonly deletes?: string;
}

export interface RenderOptions {
  /**
   * Commands to run right after a namespace is created (by `ip netns add` or `docker run`).
   * Default: `ip -n NS link set lo up` (the model promises lo up in every namespace).
   */
  readonly setupNetns?: (real: string, origin: Origin) => readonly RenderedCommand[];
}

/** `ip -n NS ARGS...`, or `ip ARGS...` in the current namespace. */
export function ipIn(real: string | null, args: readonly string[]): string[] {
  return real === null ? ['ip', ...args] : ['ip', '-n', real, ...args];
}

/** `ip netns exec NS CMD...`, or just CMD in the current namespace. */
export function execIn(real: string | null, argv: readonly string[]): string[] {
  return real === null ? [...argv] : ['ip', 'netns', 'exec', real, ...argv];
}

export function loUp(real: string, origin: Origin): RenderedCommand {
  return { argv: ipIn(real, ['link', 'set', 'dev', 'lo', 'up']), origin };
}

/** The argv lists only (what `netpath export` prints). */
export function renderOps(ops: readonly Op[], names: NetnsNames, opts: RenderOptions = {}): string[][] {
  return renderCommands(ops, names, opts).map((c) => [...c.argv]);
}

/**
 * Renders ops in order. Tracks which alias (`ln -s .../ns/net /var/run/netns/ALIAS`) names which
 * container on each host, as the world does (src/world/apply.ts netns-bind).
 */
export function renderCommands(ops: readonly Op[], names: NetnsNames, opts: RenderOptions = {}): RenderedCommand[] {
  const setup = opts.setupNetns ?? ((real: string, origin: Origin) => [loUp(real, origin)]);
  /** per host: alias -> container name */
  const aliases = new Map<string, Map<string, string>>();
  /** per host: containers started, in order */
  const containers = new Map<string, string[]>();
  const realNamed = (host: string, name: string): string => names.created(host, aliases.get(host)?.get(name) ?? name);
  const real = (host: string, name: string | null): string | null => (name === null ? names.host(host) : realNamed(host, name));

  const out: RenderedCommand[] = [];
  for (const op of ops) {
    const here = real(op.host, op.ns);
    const o = op.origin;
    const ip = (args: readonly string[]): void => {
      out.push({ argv: ipIn(here, args), origin: o });
    };
    switch (op.op) {
      case 'noop':
      case 'netns-bind': {
        if (op.op === 'netns-bind') {
          const m = aliases.get(op.host) ?? new Map<string, string>();
          aliases.set(op.host, m);
          const bound = new Set(m.values());
          const free = (containers.get(op.host) ?? []).filter((c) => !bound.has(c));
          const target = free.includes(op.name) ? op.name : free.length === 1 ? free[0]! : op.name;
          m.set(op.name, target);
        }
        break;
      }
      case 'netns-add':
      case 'docker-run': {
        const r = names.created(op.host, op.name);
        out.push({ argv: ['ip', 'netns', 'add', r], origin: o, creates: r });
        out.push(...setup(r, o));
        if (op.op === 'docker-run') containers.set(op.host, [...(containers.get(op.host) ?? []), op.name]);
        break;
      }
      case 'netns-del': {
        // a container's name: the name goes, the container keeps its namespace (world/apply.ts
        // Fold.unname), which is this real namespace until the end of the replay
        const m = aliases.get(op.host);
        if (m?.delete(op.name) === true) break;
        const r = names.created(op.host, op.name);
        out.push({ argv: ['ip', 'netns', 'del', r], origin: o, deletes: r });
        break;
      }
      case 'link-add':
        ip(linkAddArgs(op, (n) => realNamed(op.host, n)));
        break;
      case 'link-set':
        ip(linkSetArgs(op, (n) => realNamed(op.host, n)));
        break;
      case 'link-del':
        ip(['link', 'del', 'dev', op.dev]);
        break;
      case 'addr-add':
      case 'addr-del':
        ip(addrArgs(op));
        break;
      case 'addr-flush':
        ip(['addr', 'flush', 'dev', op.dev]);
        break;
      case 'route-flush':
        ip(['route', 'flush', 'table', String(op.table), ...(op.dev !== undefined ? ['dev', op.dev] : []), ...(op.proto !== undefined ? ['proto', op.proto] : []), ...(op.type !== undefined ? ['type', op.type] : [])]);
        break;
      case 'route-add':
      case 'route-del':
      case 'route-replace':
      case 'route-append':
      case 'route-change':
        ip(routeArgs(op));
        break;
      case 'rule-add':
      case 'rule-del':
        ip(ruleArgs(op));
        break;
      case 'neigh-add':
      case 'neigh-replace':
      case 'neigh-del':
        ip(neighArgs(op));
        break;
      case 'sysctl':
        out.push({ argv: execIn(here, ['sysctl', '-w', `${op.key}=${op.value}`]), origin: o });
        break;
      case 'iptables': {
        const args = iptablesArgs(op);
        if (args) out.push({ argv: execIn(here, ['iptables', ...args]), origin: o });
        break;
      }
      case 'iptables-restore':
        out.push({
          argv: execIn(here, ['iptables-restore', ...(op.noflush ? ['--noflush'] : [])]),
          stdin: restoreText(op.tables),
          origin: o,
        });
        break;
      case 'nft':
        out.push({ argv: execIn(here, ['nft', '-f', '-']), stdin: op.text.endsWith('\n') ? op.text : `${op.text}\n`, origin: o });
        break;
      default:
        assertNever(op, 'op');
    }
  }
  return out;
}

function linkAddArgs(op: LinkAddOp, ns: (name: string) => string): string[] {
  const a = ['link', 'add', op.name];
  if (op.address !== undefined) a.push('address', op.address);
  if (op.mtu !== undefined) a.push('mtu', String(op.mtu));
  if (op.netns !== undefined) a.push('netns', ns(op.netns));
  a.push('type', op.kind);
  if (op.kind === 'veth' && op.peer) {
    a.push('peer', 'name', op.peer.name);
    if (op.peer.netns !== undefined) a.push('netns', ns(op.peer.netns));
  }
  return a;
}

function linkSetArgs(op: LinkSetOp, ns: (name: string) => string): string[] {
  const a = ['link', 'set', 'dev', op.dev];
  if (op.netns !== undefined) a.push('netns', ns(op.netns));
  if (op.name !== undefined) a.push('name', op.name);
  if (op.mtu !== undefined) a.push('mtu', String(op.mtu));
  if (op.address !== undefined) a.push('address', op.address);
  if (op.master !== undefined) a.push(...(op.master === null ? ['nomaster'] : ['master', op.master]));
  if (op.up !== undefined) a.push(op.up ? 'up' : 'down');
  if (op.brport !== undefined) a.push('type', 'bridge_slave', ...brportArgs(op.brport));
  return a;
}

function addrArgs(op: AddrOp): string[] {
  const local = op.hadLen === false ? formatIpv4(op.local) : `${formatIpv4(op.local)}/${op.prefixLen}`;
  const a = ['addr', op.op === 'addr-add' ? 'add' : 'del', local];
  if (op.broadcast !== undefined) a.push('broadcast', op.broadcast === '+' ? '+' : formatIpv4(op.broadcast));
  if (op.scope !== undefined) a.push('scope', op.scope);
  if (op.label !== undefined) a.push('label', op.label);
  a.push('dev', op.dev);
  return a;
}

function routeArgs(op: RouteOp): string[] {
  const verb = op.op.slice('route-'.length);
  const a = ['route', verb];
  if (op.type !== 'unicast') a.push(op.type);
  a.push(formatPrefix(op.dst));
  // net-tools `reject`: fib_convert_rtentry makes it `unreachable ... scope host` and ignores dev
  if (op.syntax === 'net-tools' && op.type === 'unreachable') {
    if (op.metric !== undefined) a.push('metric', String(op.metric));
    if (op.op !== 'route-del') a.push('scope', 'host');
    return a;
  }
  if (op.via !== undefined) a.push('via', formatIpv4(op.via));
  if (op.dev !== undefined) a.push('dev', op.dev);
  if (op.src !== undefined) a.push('src', formatIpv4(op.src));
  if (op.metric !== undefined) a.push('metric', String(op.metric));
  if (op.table !== undefined) a.push('table', String(op.table));
  // net-tools asks for scope link when no gateway is given (fib_convert_rtentry)
  const scope = op.scope ?? (op.syntax === 'net-tools' && op.via === undefined && op.op !== 'route-del' ? 'link' : undefined);
  if (scope !== undefined) a.push('scope', scope);
  if (op.onlink) a.push('onlink');
  if (op.proto !== undefined) a.push('proto', op.proto);
  return a;
}

function hex(n: number): string {
  return `0x${(n >>> 0).toString(16)}`;
}

function ruleArgs(op: RuleOp): string[] {
  const a = ['rule', op.op === 'rule-add' ? 'add' : 'del'];
  if (op.not) a.push('not');
  if (op.from) a.push('from', formatPrefix(op.from));
  if (op.to) a.push('to', formatPrefix(op.to));
  if (op.fwmark) a.push('fwmark', `${hex(op.fwmark.value)}/${hex(op.fwmark.mask)}`);
  if (op.iif !== undefined) a.push('iif', op.iif);
  if (op.oif !== undefined) a.push('oif', op.oif);
  if (op.priority !== undefined) a.push('priority', String(op.priority));
  if (op.anyAction !== true) {
    if (op.action === 'lookup') a.push('lookup', String(op.table ?? 254));
    else a.push(op.action);
  }
  return a;
}

function neighArgs(op: NeighOp): string[] {
  const verb = op.op.slice('neigh-'.length);
  const a = ['neigh', verb, formatIpv4(op.dst)];
  if (op.op !== 'neigh-del') {
    if (op.lladdr !== undefined) a.push('lladdr', op.lladdr);
    a.push('dev', op.dev, 'nud', op.state);
  } else a.push('dev', op.dev);
  return a;
}

/** `iptables` arguments for a parsed command; undefined for look-only commands (-L, -S, -C). */
export function iptablesArgs(op: Extract<Op, { op: 'iptables' }>): string[] | undefined {
  const t = ['-t', op.table];
  const rule = (text: string): string[] => (text === '' ? [] : splitRestoreLine(text));
  switch (op.cmd) {
    case 'A':
      return [...t, '-A', op.chain, ...rule(op.rule.text)];
    case 'I':
      return [...t, '-I', op.chain, String(op.index), ...rule(op.rule.text)];
    case 'R':
      return [...t, '-R', op.chain, String(op.index), ...rule(op.rule.text)];
    case 'D':
      if (op.rule) return [...t, '-D', op.chain, ...rule(op.rule.text)];
      return [...t, '-D', op.chain, String(op.index ?? 1)];
    case 'P':
      return [...t, '-P', op.chain, op.policy];
    case 'N':
      return [...t, '-N', op.chain];
    case 'X':
    case 'F':
    case 'Z':
      return [...t, `-${op.cmd}`, ...(op.chain !== undefined ? [op.chain] : [])];
    case 'show':
      return undefined;
    default:
      return assertNever(op, 'iptables command');
  }
}

/** The table blocks of an iptables-restore file, re-printed in iptables-save syntax. */
export function restoreText(tables: readonly IptablesRestoreTable[]): string {
  const lines: string[] = [];
  for (const t of tables) {
    lines.push(`*${t.table}`);
    for (const c of t.chains) lines.push(`:${c.name} ${c.policy ?? '-'} [0:0]`);
    for (const r of t.rules) lines.push(r.rule.text === '' ? `-A ${r.chain}` : `-A ${r.chain} ${r.rule.text}`);
    lines.push('COMMIT');
  }
  return `${lines.join('\n')}\n`;
}

/** A command as a POSIX shell line: words with anything unusual single-quoted. */
export function shellQuote(argv: readonly string[]): string {
  return argv.map((a) => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}
