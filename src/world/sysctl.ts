/**
 * The sysctls netpath models, with the defaults of a fresh kernel, and how a write propagates.
 *
 * Kernel facts (net/ipv4/devinet.c):
 * - `net.ipv4.ip_forward` and `net.ipv4.conf.all.forwarding` are one setting; writing either calls
 *   inet_forward_change(), which also writes conf.default.forwarding and every device's forwarding,
 *   and sets conf.all.accept_redirects to the opposite (observed: docs/kernel-notes.md b.2).
 * - writing `conf.default.KEY` copies the value into every device that never had KEY written
 *   explicitly (devinet_copy_dflt_conf); new devices start from conf.default.
 * - the effective value for a device combines all and the device: rp_filter, arp_ignore,
 *   arp_announce use the maximum (IN_DEV_MAXCONF); accept_local, route_localnet, proxy_arp,
 *   arp_filter, send_redirects use OR (IN_DEV_ORCONF); forwarding is the device's own value.
 */
import type { DevConf } from '../model/link.js';

export const DEVCONF_KEYS = [
  'forwarding',
  'rp_filter',
  'accept_local',
  'route_localnet',
  'arp_ignore',
  'arp_announce',
  'arp_filter',
  'proxy_arp',
  'send_redirects',
  'accept_redirects',
] as const satisfies readonly (keyof DevConf)[];
export type DevConfKey = (typeof DEVCONF_KEYS)[number];

/** Kernel defaults (ipv4_devconf in net/ipv4/devinet.c): everything 0 but redirects. */
export const DEFAULT_DEVCONF: DevConf = Object.freeze({
  forwarding: 0,
  rp_filter: 0,
  accept_local: 0,
  route_localnet: 0,
  arp_ignore: 0,
  arp_announce: 0,
  arp_filter: 0,
  proxy_arp: 0,
  send_redirects: 1,
  accept_redirects: 1,
});

const DEVCONF_RANGE: Readonly<Record<DevConfKey, readonly [number, number]>> = {
  forwarding: [0, 1],
  rp_filter: [0, 2],
  accept_local: [0, 1],
  route_localnet: [0, 1],
  arp_ignore: [0, 8],
  arp_announce: [0, 2],
  arp_filter: [0, 1],
  proxy_arp: [0, 1],
  send_redirects: [0, 1],
  accept_redirects: [0, 1],
};

/** Namespace-wide keys netpath models, with fresh-kernel defaults. */
export const NS_SYSCTL_DEFAULTS: Readonly<Record<string, string>> = Object.freeze({
  'net.ipv4.ip_local_port_range': '32768\t60999',
  // br_netfilter is built in on the reference kernel and this is 1 in every netns
  // (docs/kernel-notes.md b, l): bridged IPv4 frames pass iptables
  'net.bridge.bridge-nf-call-iptables': '1',
  'net.ipv4.neigh.default.mcast_solicit': '3',
  'net.ipv4.neigh.default.ucast_solicit': '3',
  'net.ipv4.neigh.default.retrans_time_ms': '1000',
  'net.ipv4.icmp_echo_ignore_all': '0',
  'net.ipv4.icmp_echo_ignore_broadcasts': '1',
});

/**
 * Sysctls that cannot change where an IPv4 packet of a probe goes or what its client sees, each
 * reviewed with the reason: accepted (hardening lists set them), kept in the namespace's
 * `noEffect` and listed by `netpath show` as "no effect on the simulation". Keys are exact, or
 * `net.ipv4.conf.*.X` for every conf scope (all, default, a device).
 */
export const NO_EFFECT_SYSCTLS: Readonly<Record<string, string>> = Object.freeze({
  'net.ipv4.conf.*.log_martians': 'only logs martian packets',
  'net.ipv4.conf.*.accept_source_route': 'only matters for packets carrying an IP source-route option, which probes never send',
  'net.ipv4.conf.*.secure_redirects': 'only decides which ICMP redirects are accepted; netpath never lets a redirect change a route',
  'net.ipv4.conf.*.shared_media': 'only decides whether ICMP redirects are sent or accepted between subnets of one link',
  'net.ipv4.conf.*.bootp_relay': 'only for BOOTP relaying (source 0.0.0.0 packets), which probes never send',
  'net.ipv4.icmp_ignore_bogus_error_responses': 'only suppresses log messages for bogus ICMP errors',
  'net.ipv4.tcp_syncookies': 'only acts when a listen queue overflows (a SYN flood); one probe never fills it',
  'net.ipv4.tcp_max_syn_backlog': 'a listen queue size; one probe never fills it',
  'net.core.somaxconn': 'a listen queue size; one probe never fills it',
  'net.core.netdev_max_backlog': 'a receive queue size; one probe never fills it',
  'net.core.rmem_max': 'a socket buffer limit',
  'net.core.wmem_max': 'a socket buffer limit',
  'net.core.rmem_default': 'a socket buffer size',
  'net.core.wmem_default': 'a socket buffer size',
  'net.ipv4.tcp_rmem': 'socket buffer sizes',
  'net.ipv4.tcp_wmem': 'socket buffer sizes',
  'net.ipv4.tcp_fin_timeout': 'how long a closed connection lingers in FIN-WAIT-2',
  'net.ipv4.tcp_keepalive_time': 'keepalive timing of idle connections',
  'net.ipv4.tcp_keepalive_intvl': 'keepalive timing of idle connections',
  'net.ipv4.tcp_keepalive_probes': 'keepalive timing of idle connections',
  'net.ipv4.tcp_congestion_control': 'the congestion control algorithm (rates, not paths)',
  'net.core.default_qdisc': 'the default queueing discipline (rates, not paths)',
  'net.ipv4.route.flush': 'flushes the route cache, which holds nothing netpath computes from',
  'net.netfilter.nf_conntrack_max': 'the conntrack table size; a probe adds one entry',
  'net.nf_conntrack_max': 'the conntrack table size; a probe adds one entry',
  'net.netfilter.nf_conntrack_buckets': 'the conntrack hash size',
  'net.netfilter.nf_conntrack_tcp_timeout_established': 'how long an idle established entry lives; a probe finishes within it',
  'net.netfilter.nf_conntrack_tcp_timeout_time_wait': 'how long a closed entry lives',
  'net.netfilter.nf_conntrack_udp_timeout': 'how long an idle UDP entry lives; a probe finishes within it',
  'net.netfilter.nf_conntrack_udp_timeout_stream': 'how long an idle UDP entry lives; a probe finishes within it',
  'kernel.randomize_va_space': 'memory layout of processes, not networking',
  'kernel.dmesg_restrict': 'who may read the kernel log, not networking',
  'kernel.kptr_restrict': 'kernel pointer printing, not networking',
  'kernel.yama.ptrace_scope': 'process tracing, not networking',
  'kernel.sysrq': 'the SysRq key, not networking',
  'kernel.core_uses_pid': 'core dump names, not networking',
  'fs.suid_dumpable': 'core dumps of setuid programs, not networking',
  'fs.protected_hardlinks': 'file system links, not networking',
  'fs.protected_symlinks': 'file system links, not networking',
  'fs.file-max': 'the open file limit, not networking',
  'vm.swappiness': 'memory management, not networking',
});

/** The no-effect reason for a dotted key, or undefined (with the conf scope or device when it has one). */
export function noEffectSysctl(key: string): { readonly why: string; readonly dev?: string } | undefined {
  const exact = NO_EFFECT_SYSCTLS[key];
  if (exact !== undefined) return { why: exact };
  const m = /^net\.ipv4\.conf\.([^.]+)\.([a-z_]+)$/.exec(key);
  if (!m) return undefined;
  const why = NO_EFFECT_SYSCTLS[`net.ipv4.conf.*.${m[2]}`];
  if (why === undefined) return undefined;
  return m[1] === 'all' || m[1] === 'default' ? { why } : { why, dev: m[1]! };
}

export type SysctlKey =
  | { readonly kind: 'forward-all' }
  | { readonly kind: 'conf'; readonly scope: 'all' | 'default'; readonly key: DevConfKey }
  | { readonly kind: 'devconf'; readonly dev: string; readonly key: DevConfKey }
  | { readonly kind: 'ns'; readonly key: string }
  | { readonly kind: 'ipv6' }
  | { readonly kind: 'no-effect'; readonly why: string; readonly dev?: string };

/** Classifies a dotted sysctl key; undefined when netpath does not model it. */
export function classifySysctl(key: string): SysctlKey | undefined {
  if (key === 'net.ipv4.ip_forward') return { kind: 'forward-all' };
  if (key.startsWith('net.ipv6.')) return { kind: 'ipv6' };
  const m = /^net\.ipv4\.conf\.([^.]+)\.([a-z_]+)$/.exec(key);
  if (m) {
    const dev = m[1]!;
    const k = m[2]! as DevConfKey;
    if (!(DEVCONF_KEYS as readonly string[]).includes(k)) {
      const ne = noEffectSysctl(key);
      return ne ? { kind: 'no-effect', ...ne } : undefined;
    }
    if (dev === 'all' && k === 'forwarding') return { kind: 'forward-all' };
    if (dev === 'all' || dev === 'default') return { kind: 'conf', scope: dev, key: k };
    return { kind: 'devconf', dev, key: k };
  }
  if (Object.hasOwn(NS_SYSCTL_DEFAULTS, key)) return { kind: 'ns', key };
  const ne = noEffectSysctl(key);
  if (ne) return { kind: 'no-effect', ...ne };
  return undefined;
}

/**
 * How the kernel reads a value written to an integer sysctl (proc_get_long in kernel/sysctl.c,
 * the reader of proc_dointvec, proc_douintvec and their _minmax forms): up to `count` numbers,
 * each after optional blanks, with an optional `-` (not for unsigned tables; never `+`), in
 * C's base 0 (`0x1f` hex, `010` octal), ended by a blank or the end of the text; numbers past
 * `count` are ignored. An int must fit in 32 bits. Returns the numbers, or undefined where the
 * write fails with EINVAL. Observed in a namespace with procps-ng 4.0.2 on Linux 6.18
 * (docs/kernel-notes.md z).
 */
export function procInts(text: string, count: number, unsigned = false): number[] | undefined {
  const out: number[] = [];
  let p = text;
  while (out.length < count) {
    p = p.replace(/^[ \t\n\v\f\r]+/, '');
    if (p === '') break;
    const m = /^(-?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)(?=[ \t\n\v\f\r]|$)/.exec(p);
    if (!m || (unsigned && m[1] === '-')) return undefined;
    const digits = m[2]!;
    const mag = /^0[xX]/.test(digits) ? parseInt(digits.slice(2), 16) : digits.length > 1 && digits.startsWith('0') ? parseInt(digits, 8) : Number(digits);
    const v = m[1] === '-' ? -mag : mag;
    if (unsigned ? v > 0xffffffff : v < -0x80000000 || v > 0x7fffffff) return undefined;
    out.push(v === 0 ? 0 : v);
    p = p.slice(m[0].length);
  }
  return out.length > 0 ? out : undefined;
}

/** procps-ng's message when the kernel answers a write with EINVAL. */
export function sysctlEinval(key: string): string {
  return `sysctl: setting key "${key}": Invalid argument`;
}

/** Validates a value for a devconf key (devinet_conf_proc: proc_dointvec); returns the number or an error message. */
export function devconfValue(key: DevConfKey, value: string, sysctlKey = `net.ipv4.conf.all.${key}`): number | string {
  const n = procInts(value, 1)?.[0];
  if (n === undefined) return sysctlEinval(sysctlKey);
  const [lo, hi] = DEVCONF_RANGE[key];
  // any non-zero forwarding enables it (the kernel stores the number; netpath keeps 0/1)
  if (key === 'forwarding') return n !== 0 ? 1 : 0;
  if (n < lo || n > hi) return `${sysctlKey}=${n}: the kernel stores it, but netpath models only ${lo}..${hi} for ${key}`;
  return n;
}

/**
 * The text the kernel holds after writing `value` to a namespace-wide key netpath models, or the
 * EINVAL message: icmp_echo_ignore_* are u8 0..1 (proc_dou8vec_minmax); ip_local_port_range is
 * two ints, the first at least 1024 (ip_unprivileged_port_start) and not above the second, the
 * second at most 65535 (one number written keeps the old upper end); bridge-nf-call-iptables is
 * an int stored as 0 or 1.
 */
export function nsSysctlValue(key: string, value: string, current: string | undefined): string | { readonly einval: string } {
  const refuse = { einval: sysctlEinval(key) };
  switch (key) {
    case 'net.ipv4.icmp_echo_ignore_all':
    case 'net.ipv4.icmp_echo_ignore_broadcasts': {
      const n = procInts(value, 1, true)?.[0];
      return n === undefined || n > 1 ? refuse : String(n);
    }
    case 'net.ipv4.ip_local_port_range': {
      const v = procInts(value, 2);
      const oldHi = Number((current ?? NS_SYSCTL_DEFAULTS[key]!).split(/\s+/)[1]);
      const lo = v?.[0];
      const hi = v?.[1] ?? oldHi;
      if (lo === undefined || lo < 1024 || hi > 65535 || lo > hi) return refuse;
      return `${lo}\t${hi}`;
    }
    case 'net.bridge.bridge-nf-call-iptables': {
      const n = procInts(value, 1)?.[0];
      return n === undefined ? refuse : n !== 0 ? '1' : '0';
    }
  }
  return value.trim();
}

/** Effective per-device value as the kernel reads it (IN_DEV_MAXCONF / IN_DEV_ORCONF). */
export function effectiveConf(all: DevConf, dev: DevConf, key: DevConfKey): number {
  switch (key) {
    case 'rp_filter':
    case 'arp_ignore':
    case 'arp_announce':
      return Math.max(all[key], dev[key]);
    case 'accept_local':
    case 'route_localnet':
    case 'proxy_arp':
    case 'arp_filter':
    case 'send_redirects':
      return all[key] || dev[key] ? 1 : 0;
    case 'accept_redirects':
      return all[key] && dev[key] ? 1 : 0;
    case 'forwarding':
      return dev[key];
  }
}
