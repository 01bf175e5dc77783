/**
 * What admins type: hardening sysctls (accepted, listed as without effect), `sudo sh -c`,
 * `sysctl -p FILE` / `--system` over the model's files, rt_tables names written by the runbook,
 * `ip -batch`, `ip route flush`, `ip addr flush`, macvlan/ipvlan refused with the reason.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, inline, one } from '../helpers.js';
import { ConfigError } from '../../src/model/errors.js';
import { showNetns, showRoutes } from '../../src/world/show.js';
import type { Built } from '../../src/world/build.js';

const CIS = [
  'net.ipv4.conf.all.send_redirects = 0',
  'net.ipv4.conf.default.send_redirects = 0',
  'net.ipv4.conf.all.accept_source_route = 0',
  'net.ipv4.conf.default.accept_source_route = 0',
  'net.ipv4.conf.all.accept_redirects = 0',
  'net.ipv4.conf.default.accept_redirects = 0',
  'net.ipv4.conf.all.secure_redirects = 0',
  'net.ipv4.conf.default.secure_redirects = 0',
  'net.ipv4.conf.all.log_martians = 1',
  'net.ipv4.conf.default.log_martians = 1',
  'net.ipv4.icmp_echo_ignore_broadcasts = 1',
  'net.ipv4.icmp_ignore_bogus_error_responses = 1',
  'net.ipv4.conf.all.rp_filter = 1',
  'net.ipv4.conf.default.rp_filter = 1',
  'net.ipv4.tcp_syncookies = 1',
  'net.ipv6.conf.all.accept_ra = 0',
  'kernel.randomize_va_space = 2',
  'fs.suid_dumpable = 0',
];

/** The seed with a hardening runbook added to web1 (files and commands as admins write them). */
function hardenedSeed(extra: readonly string[]): Built {
  const seed = readFileSync(join(ROOT, 'fixtures/yaml/seed-literal.yaml'), 'utf8');
  const files = `    files:\n      /etc/sysctl.d/60-cis.conf: |\n${CIS.map((l) => `        ${l}`).join('\n')}\n`;
  const run = extra.map((l) => `      $ ${l}`).join('\n');
  return inline(seed.replace('  web1:\n    run: |\n', `  web1:\n${files}    run: |\n${run}\n`), 'hardened.yaml');
}

function error(lines: readonly string[], files = ''): ConfigError {
  try {
    inline(`hosts:\n  h:\n${files}    run: |\n${lines.map((l) => `      ${l}`).join('\n')}\n`);
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error('expected an error');
}
const build = (lines: readonly string[], files = ''): Built => inline(`hosts:\n  h:\n${files}    run: |\n${lines.map((l) => `      ${l}`).join('\n')}\n`);

describe('a CIS-style hardening runbook plus the seed', () => {
  const b = hardenedSeed(['sudo sysctl --system', "sudo sh -c 'echo 1 > /proc/sys/net/ipv4/tcp_syncookies'", 'sysctl -w net.core.somaxconn=4096']);
  it('loads unchanged and the seed probe still works', () => {
    expect(one(b, 'web1', '192.168.2.10:80').result).toBe('reachable');
  });
  it('settings that change the walk are applied; the others are listed as without effect', () => {
    const web1 = b.world.netns['web1']!;
    expect(web1.confAll.rp_filter).toBe(1);
    expect(web1.confAll.send_redirects).toBe(0);
    expect(Object.keys(web1.noEffect)).toEqual(
      expect.arrayContaining(['net.ipv4.conf.all.log_martians', 'net.ipv4.tcp_syncookies', 'net.core.somaxconn', 'kernel.randomize_va_space']),
    );
    expect(web1.noEffect['net.core.somaxconn']!.value).toBe('4096');
    expect(showNetns(b.world, web1)).toMatch(/# sysctls with no effect on the simulation\nnet\.ipv4\.conf\.all\.accept_source_route = 0 {3}# only matters/);
  });
  it('unknown sysctls are still refused with file and line', () => {
    const e = error(['sysctl -w net.ipv4.tcp_timestamps=0']);
    expect(e.code).toBe('unsupported');
    expect(e.line).toBe(4);
    expect(error(['sysctl -w net.ipv4.conf.nodev.log_martians=1']).detail).toContain('No such file or directory');
  });
});

describe('sysctl -p and files', () => {
  it('sysctl -p reads /etc/sysctl.conf as the runbook wrote it', () => {
    const b = build(["echo 'net.ipv4.ip_forward = 1' >> /etc/sysctl.conf", 'echo "# comment" | sudo tee -a /etc/sysctl.conf', 'sysctl -p']);
    expect(b.world.netns['h']!.confAll.forwarding).toBe(1);
  });
  it('sysctl -p FILE relative to the model, and a file the model does not give', () => {
    expect(error(['sysctl -p /etc/sysctl.d/99-x.conf']).detail).toContain('give its content in the model (hosts.h.files)');
    expect(error(['sysctl -p']).code).toBe('file');
  });
  it('--system: /etc/sysctl.d/*.conf by name, then /etc/sysctl.conf last', () => {
    const files = `    files:\n      /etc/sysctl.d/20-a.conf: "net.ipv4.ip_forward = 1\\n"\n      /etc/sysctl.conf: "net.ipv4.ip_forward = 0\\n"\n      /usr/lib/sysctl.d/10-b.conf: "net.ipv4.conf.all.rp_filter = 2\\n"\n`;
    const b = build(['sysctl --system'], files);
    expect(b.world.netns['h']!.confAll.forwarding).toBe(0);
    expect(b.world.netns['h']!.confAll.rp_filter).toBe(2);
  });
});

describe('sudo sh -c / bash -c', () => {
  it('the script runs in the namespace of the shell, && and ; included', () => {
    const b = build(['ip netns add x', "sudo ip netns exec x sh -c 'echo 1 > /proc/sys/net/ipv4/ip_forward && ip link set lo up; true'", 'bash -c "ip netns add y"']);
    expect(b.world.netns['h/x']!.confAll.forwarding).toBe(1);
    expect(b.world.netns['h']!.confAll.forwarding).toBe(0);
    expect(b.world.netns['h/y']).toBeDefined();
  });
  it('refusals: no -c, positional parameters', () => {
    expect(error(['sh script.sh']).code).toBe('unsupported');
    expect(error(["sh -c 'ip netns add a' x y"]).code).toBe('unsupported');
  });
});

describe('rt_tables names', () => {
  it('a name the runbook wrote into /etc/iproute2/rt_tables, in routes and rules', () => {
    const b = build([
      'ip link add v0 type veth peer name v1',
      'ip addr add 10.0.0.1/24 dev v0',
      'ip link set v0 up',
      'ip link set v1 up',
      'echo "100 isp2" | sudo tee -a /etc/iproute2/rt_tables',
      'ip route add default via 10.0.0.2 table isp2',
      'ip rule add from 10.0.0.1 table isp2',
    ]);
    expect(showRoutes(b.world, b.world.netns['h']!)).toContain('default via 10.0.0.2 dev v0 table 100');
    expect(b.world.netns['h']!.rules.some((r) => r.table === 100)).toBe(true);
  });
  it('from the model files; unknown names are an error naming the file', () => {
    const files = `    files:\n      /etc/iproute2/rt_tables.d/vpn.conf: "0x20 vpn\\n"\n`;
    expect(build(['ip rule add fwmark 1 table vpn'], files).world.netns['h']!.rules.some((r) => r.table === 32)).toBe(true);
    expect(error(['ip route add blackhole default table nope']).detail).toContain('not in /etc/iproute2/rt_tables');
  });
});

describe('ip -batch, ip route flush, ip addr flush, macvlan', () => {
  const base = ['ip link add v0 type veth peer name v1', 'ip addr add 10.1.0.1/24 dev v0', 'ip link set v0 up', 'ip link set v1 up'];
  it('ip -batch FILE runs each line as an ip command with the options before -batch', () => {
    const files = `    files:\n      /root/net.batch: |\n        # comment\n        link add v0 type veth peer name v1\n        addr add 10.1.0.1/24 dev v0\n        link set v0 up\n`;
    const b = build(['ip netns add x', 'ip -n x -force -batch /root/net.batch'], files);
    expect(showRoutes(b.world, b.world.netns['h/x']!)).toContain('10.1.0.0/24 dev v0 proto kernel scope link src 10.1.0.1');
  });
  it('ip route flush table T removes that table; cache is a no-op; a flush of kernel routes is refused with the reason', () => {
    const b = build([...base, 'ip route add 10.9.0.0/16 via 10.1.0.2 table 100', 'ip route add 10.8.0.0/16 dev v0 table 100', 'ip route flush table 100', 'ip route flush cache']);
    expect(b.world.netns['h']!.routes.some((r) => r.table === 100)).toBe(false);
    expect(error([...base, 'ip route flush table main']).detail).toContain("kernel's own routes");
    expect(error(['ip route flush']).detail).toBe('"ip route flush" requires arguments.');
    const p = build([...base, 'ip route add 10.9.0.0/16 via 10.1.0.2 proto static', 'ip route flush proto static']);
    expect(showRoutes(p.world, p.world.netns['h']!)).not.toContain('10.9.0.0');
  });
  it('ip addr flush dev D: the last address gone takes every route through D (kernel: fib_disable_ip)', () => {
    const b = build([...base, 'ip route add 10.9.0.0/16 via 10.1.0.2', 'ip route add 10.8.0.0/16 dev v0', 'ip addr flush dev v0']);
    expect(showRoutes(b.world, b.world.netns['h']!)).not.toMatch(/dev v0/);
    const d = build([...base, 'ip addr add 10.2.0.1/24 dev v0', 'ip route add 10.7.0.0/16 via 10.2.0.2', 'ip addr del 10.2.0.1/24 dev v0']);
    expect(showRoutes(d.world, d.world.netns['h']!)).toContain('10.7.0.0/16 via 10.2.0.2 dev v0');
  });
  it('macvlan and ipvlan are refused with the reason', () => {
    expect(error(['ip link add mv0 link eth0 type macvlan mode bridge']).code).toBe('unsupported');
    const e = error(['ip link add iv0 type ipvlan mode l2']);
    expect(e.detail).toContain('ipvlan');
  });
});
