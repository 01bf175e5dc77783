/**
 * `netpath import [--netns NAME] [-o FILE]`: a one-host model file from a real Linux host (or a
 * network namespace on it), so that `netpath show` prints back what the host shows.
 *
 * Read: `ip -j -d addr`, `ip -j route show table all`, `ip -j rule`, `ip -j neigh`,
 * `iptables-save` and the sysctls the model knows (ip_forward, rp_filter, accept_local,
 * route_localnet, bridge-nf-call-iptables). Written: the host's NICs as one-member LANs with
 * their first address, dummy and bridge devices as `ip link add` lines, further addresses,
 * routes (not the kernel's connected and local ones), policy rules, permanent neighbours and
 * sysctls as runbook lines, and the iptables-save dump next to the model, loaded with
 * `iptables-restore < HOST.rules`. What a model cannot hold is listed as `# not imported:`
 * comments at the top of the runbook, never dropped silently.
 *
 * `hostModel` is pure (snapshot in, files out) and tested without a kernel; `readHost` runs the
 * commands.
 */
import { spawnSync } from 'node:child_process';
import { checkOutputFile, writeFileSafely } from './outpath.js';
import { basename, dirname, join } from 'node:path';
import { stringify } from 'yaml';
import { ConfigError } from '../model/errors.js';

export interface HostSnapshot {
  readonly name: string;
  readonly addr: readonly IpAddrJson[];
  readonly routes: readonly IpRouteJson[];
  readonly rules: readonly IpRuleJson[];
  readonly neigh: readonly IpNeighJson[];
  readonly iptables: string;
  readonly sysctl: Readonly<Record<string, string>>;
}

export interface IpAddrJson {
  readonly ifname: string;
  readonly flags?: readonly string[];
  readonly link_type?: string;
  readonly linkinfo?: { readonly info_kind?: string; readonly info_slave_kind?: string };
  readonly master?: string;
  readonly link?: string | null;
  readonly addr_info?: readonly { readonly family: string; readonly local: string; readonly prefixlen: number; readonly scope?: string; readonly label?: string }[];
}
export interface IpRouteJson {
  readonly type?: string;
  readonly dst: string;
  readonly gateway?: string;
  readonly dev?: string;
  readonly protocol?: string;
  readonly scope?: string;
  readonly prefsrc?: string;
  readonly metric?: number;
  readonly table?: string;
  readonly flags?: readonly string[];
}
export interface IpRuleJson {
  readonly priority: number;
  readonly src?: string;
  readonly srclen?: number;
  readonly dst?: string;
  readonly dstlen?: number;
  readonly table?: string;
  readonly fwmark?: string;
  readonly fwmask?: string;
  readonly iifname?: string;
  readonly oifname?: string;
  readonly not?: null;
  readonly action?: string;
}
export interface IpNeighJson {
  readonly dst: string;
  readonly dev: string;
  readonly lladdr?: string;
  readonly state?: readonly string[];
}

/** sysctls read and restored (others keep the kernel's defaults, as the model assumes) */
export const IMPORTED_SYSCTLS = ['net.ipv4.ip_forward', 'net.ipv4.conf.all.rp_filter', 'net.ipv4.conf.default.rp_filter', 'net.ipv4.conf.all.accept_local', 'net.ipv4.conf.all.route_localnet'];
const SYSCTL_DEFAULTS: Readonly<Record<string, string>> = {
  'net.ipv4.ip_forward': '0',
  'net.ipv4.conf.all.rp_filter': '0',
  'net.ipv4.conf.default.rp_filter': '0',
  'net.ipv4.conf.all.accept_local': '0',
  'net.ipv4.conf.all.route_localnet': '0',
};

export interface ImportedModel {
  /** the model file's text */
  readonly model: string;
  /** the iptables-save dump, written next to the model as `rulesFile` (absent when empty) */
  readonly rules?: { readonly file: string; readonly text: string };
}

/** One host's snapshot as a model file. `rulesFile` is the dump's name relative to the model. */
export function hostModel(s: HostSnapshot, rulesFile: string): ImportedModel {
  const run: string[] = [];
  const skipped: string[] = [];
  const lans: Record<string, Record<string, string | null>> = {};
  const links = s.addr.filter((l) => l.ifname !== 'lo');
  // devices first: bridges, then dummies and NICs (ports are enslaved after)
  const kindOf = (l: IpAddrJson): string => l.linkinfo?.info_kind ?? (l.link_type === 'ether' ? 'nic' : l.link_type ?? 'unknown');
  for (const l of links) {
    const kind = kindOf(l);
    if (kind === 'bridge' || kind === 'dummy') run.push(`ip link add ${l.ifname} type ${kind}`);
  }
  for (const l of links) {
    const kind = kindOf(l);
    const v4 = (l.addr_info ?? []).filter((a) => a.family === 'inet');
    let rest = v4;
    if (kind === 'veth' || kind === 'nic') {
      // a NIC (or a veth whose peer is elsewhere): the model's LAN NIC, pre-configured with its first address
      const first = v4[0];
      lans[`${s.name}-${l.ifname}`] = { [`${s.name}/${l.ifname}`]: first ? `${first.local}/${first.prefixlen}` : null };
      rest = v4.slice(1);
    } else if (kind !== 'bridge' && kind !== 'dummy') {
      skipped.push(`device ${l.ifname} (${kind}): only NICs, veths, bridges and dummies are imported`);
      continue;
    }
    if (l.master !== undefined) run.push(`ip link set ${l.ifname} master ${l.master}`);
    for (const a of rest) run.push(`ip addr add ${a.local}/${a.prefixlen} dev ${l.ifname}${a.scope && a.scope !== 'global' ? ` scope ${a.scope}` : ''}`);
    if (kind === 'bridge' || kind === 'dummy') {
      if ((l.flags ?? []).includes('UP')) run.push(`ip link set ${l.ifname} up`);
    } else if (!(l.flags ?? []).includes('UP')) run.push(`ip link set ${l.ifname} down`);
  }
  for (const [k, v] of Object.entries(s.sysctl)) if (SYSCTL_DEFAULTS[k] !== v) run.push(`sysctl -w ${k}=${v}`);
  const known = new Set(links.filter((l) => ['veth', 'nic', 'bridge', 'dummy'].includes(kindOf(l))).map((l) => l.ifname).concat('lo'));
  for (const r of s.routes) {
    if (r.table === 'local' || r.protocol === 'kernel') continue; // the kernel makes these from the addresses
    if (r.dev !== undefined && !known.has(r.dev)) {
      skipped.push(`route ${r.dst} dev ${r.dev}: device not imported`);
      continue;
    }
    const parts = ['ip route add'];
    if (r.type && r.type !== 'unicast') parts.push(r.type);
    parts.push(r.dst);
    if (r.gateway) parts.push('via', r.gateway);
    if (r.dev && (!r.type || r.type === 'unicast')) parts.push('dev', r.dev);
    if (r.protocol && r.protocol !== 'boot') parts.push('proto', r.protocol);
    if (r.scope && r.scope !== 'global' && !(r.scope === 'link' && !r.gateway)) parts.push('scope', r.scope);
    if (r.prefsrc) parts.push('src', r.prefsrc);
    if (r.metric !== undefined) parts.push('metric', String(r.metric));
    if (r.table && r.table !== 'main') parts.push('table', r.table);
    if ((r.flags ?? []).includes('onlink')) parts.push('onlink');
    run.push(parts.join(' '));
  }
  for (const r of s.rules) {
    if ((r.priority === 0 && r.table === 'local') || (r.priority === 32766 && r.table === 'main' && r.src === 'all') || (r.priority === 32767 && r.table === 'default' && r.src === 'all')) continue;
    const parts = ['ip rule add'];
    if (r.not !== undefined) parts.push('not');
    parts.push('priority', String(r.priority));
    if (r.src && r.src !== 'all') parts.push('from', r.srclen !== undefined ? `${r.src}/${r.srclen}` : r.src);
    if (r.dst && r.dst !== 'all') parts.push('to', r.dstlen !== undefined ? `${r.dst}/${r.dstlen}` : r.dst);
    if (r.fwmark) parts.push('fwmark', r.fwmask ? `${r.fwmark}/${r.fwmask}` : r.fwmark);
    if (r.iifname) parts.push('iif', r.iifname);
    if (r.oifname) parts.push('oif', r.oifname);
    if (r.action && r.action !== 'to_tbl') parts.push(r.action);
    else parts.push('lookup', r.table ?? 'main');
    run.push(parts.join(' '));
  }
  for (const n of s.neigh) {
    if (!(n.state ?? []).includes('PERMANENT') || !known.has(n.dev)) continue;
    run.push(`ip neigh add ${n.dst}${n.lladdr ? ` lladdr ${n.lladdr}` : ''} dev ${n.dev} nud permanent`);
  }
  const dump = s.iptables
    .split('\n')
    .filter((l) => !l.startsWith('#'))
    .join('\n');
  if (dump.trim() !== '') run.push(`iptables-restore < ${rulesFile}`);
  const header = [`# imported from ${s.name} by netpath import`, ...skipped.map((x) => `# not imported: ${x}`)];
  const doc: Record<string, unknown> = {
    name: `${s.name} (imported)`,
    hosts: { [s.name]: { run: [...header, ...run].join('\n') + '\n' } },
    ...(Object.keys(lans).length > 0 ? { lans } : {}),
  };
  return { model: stringify(doc, { lineWidth: 0 }), ...(dump.trim() !== '' ? { rules: { file: rulesFile, text: dump } } : {}) };
}

function exec(netns: string | undefined, argv: string[]): string {
  const full = netns !== undefined ? ['ip', 'netns', 'exec', netns, ...argv] : argv;
  const r = spawnSync(full[0]!, full.slice(1), { encoding: 'utf8' });
  if (r.error || r.status !== 0) {
    throw new ConfigError('file', full.join(' '), 0, `failed: ${r.error?.message ?? r.stderr.trim()}`);
  }
  return r.stdout;
}

const json = <T>(text: string): T => (text.trim() === '' ? ([] as unknown as T) : (JSON.parse(text) as T));

/** Reads the host (or the namespace) with the real tools. */
export function readHost(netns: string | undefined, name: string): HostSnapshot {
  if (process.platform !== 'linux') throw new ConfigError('model', 'import', 0, 'netpath import reads a Linux host (ip, iptables-save)');
  const sysctl: Record<string, string> = {};
  for (const k of IMPORTED_SYSCTLS) sysctl[k] = exec(netns, ['sysctl', '-n', k]).trim();
  return {
    name,
    addr: json(exec(netns, ['ip', '-j', '-d', 'addr'])),
    routes: json(exec(netns, ['ip', '-4', '-j', 'route', 'show', 'table', 'all'])),
    rules: json(exec(netns, ['ip', '-4', '-j', 'rule'])),
    neigh: json(exec(netns, ['ip', '-4', '-j', 'neigh'])),
    iptables: exec(netns, ['iptables-save']),
    sysctl,
  };
}

export interface ImportOptions {
  netns?: string;
  output?: string;
  name?: string;
}

export function cmdImport(opts: ImportOptions, io: { out(s: string): void }): number {
  if (opts.output !== undefined) checkOutputFile(opts.output, '--output');
  const name = opts.name ?? opts.netns ?? (spawnSync('hostname', { encoding: 'utf8' }).stdout.trim() || 'host');
  const snap = readHost(opts.netns, name);
  const rulesFile = opts.output !== undefined ? `${basename(opts.output).replace(/\.ya?ml$/, '')}.rules` : `${name}.rules`;
  const m = hostModel(snap, rulesFile);
  if (opts.output === undefined) {
    io.out(m.model);
    if (m.rules) io.out(`# ${m.rules.file} (write it next to the model, or use -o):\n${m.rules.text.replace(/^/gm, '# ')}`);
    return 0;
  }
  writeFileSafely(opts.output, m.model, '--output');
  if (m.rules) writeFileSafely(join(dirname(opts.output), m.rules.file), m.rules.text, '--output');
  return 0;
}
