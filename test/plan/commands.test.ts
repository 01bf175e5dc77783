import { describe, it, expect, vi, beforeEach } from 'vitest';
vi.mock('../../src/netfilter/restore.js', () => ({
  parseIptablesRestore: vi.fn((text: string, file: string) => [{ table: 'filter', chains: [], rules: [], text, file }]),
}));
import { one, run, err, io } from './helpers.js';
import { parseIptablesRestore } from '../../src/netfilter/restore.js';

const A = (s: string): number => s.split('.').reduce((v, o) => v * 256 + Number(o), 0);

describe('net-tools route', () => {
  it('host, net, default, netmask, metric, reject', () => {
    expect(one('route add -host 192.168.2.10 gw 172.31.0.2 dev eth0')).toEqual({
      op: 'route-add', ns: null, type: 'unicast', dst: { addr: A('192.168.2.10'), len: 32 }, via: A('172.31.0.2'), dev: 'eth0', syntax: 'net-tools',
    });
    expect(one('route add -net 10.0.0.0 netmask 255.0.0.0 eth0')).toMatchObject({ dst: { addr: A('10.0.0.0'), len: 8 }, dev: 'eth0' });
    expect(one('route add -net 10.0.0.0/8 gw 10.1.1.1 metric 5')).toMatchObject({ dst: { len: 8 }, metric: 5, via: A('10.1.1.1') });
    expect(one('route add default gw 172.31.0.1')).toMatchObject({ dst: { addr: 0, len: 0 }, via: A('172.31.0.1') });
    expect(one('route add default gw 172.31.0.1 dev eth0')).toMatchObject({ dev: 'eth0' });
    expect(one('route add -net 10.0.0.0/8 reject')).toMatchObject({ type: 'unreachable', dev: 'lo' });
    expect(one('route del -host 192.168.2.10')).toMatchObject({ op: 'route-del', dst: { len: 32 } });
    expect(one('route del default')).toMatchObject({ op: 'route-del', dst: { len: 0 } });
    expect(one('route add 192.168.2.10 dev eth0')).toMatchObject({ dst: { len: 32 } });
  });
  it('look-only forms', () => {
    expect(one('route -n')).toMatchObject({ op: 'noop' });
    expect(one('route')).toMatchObject({ op: 'noop' });
    expect(one('route -ne')).toMatchObject({ op: 'noop' });
  });
  it('errors as net-tools prints them', () => {
    expect(err('route add -net 10.0.0.1/8 dev x').detail).toBe("route: netmask doesn't match route address");
    expect(err('route add -host 10.0.0.0 netmask 255.0.0.0 dev x').detail).toContain("doesn't make sense with host route");
    expect(err('route add -net 10.0.0.0 netmask 255.0.255.0 dev x').detail).toBe('route: bogus netmask 255.0.255.0');
    expect(err('route add -net 10.0.0.0 dev x').code).toBe('unsupported');
    expect(err('route add -host gateway.example dev x').code).toBe('unsupported');
    expect(err('route add -host 10.0.0.1 eth0 eth1').code).toBe('syntax');
    expect(err('route frob').code).toBe('syntax');
    expect(err('route add -net 10.0.0.0/8 mss 1400 dev x').code).toBe('unsupported');
  });
});

describe('sysctl and /proc/sys', () => {
  it('sysctl -w KEY=VALUE, several, slashes, spaces', () => {
    expect(one('sysctl -w net.ipv4.ip_forward=1')).toEqual({ op: 'sysctl', ns: null, key: 'net.ipv4.ip_forward', value: '1' });
    expect(one('sysctl net.ipv4.conf.all.rp_filter=2')).toMatchObject({ key: 'net.ipv4.conf.all.rp_filter', value: '2' });
    expect(one('sysctl -w net/ipv4/conf/eth0.100/rp_filter=0')).toMatchObject({ key: 'net.ipv4.conf.eth0/100.rp_filter' });
    // real (procps-ng 4.0.2): `sysctl "net.ipv4.ip_forward = 1"` sets it
    expect(one('sysctl "net.ipv4.ip_forward = 1"')).toMatchObject({ key: 'net.ipv4.ip_forward', value: '1' });
    expect(run('sysctl -q -w a.b=1 c.d=2').map((o) => (o.op === 'sysctl' ? o.key : ''))).toEqual(['a.b', 'c.d']);
  });
  it('reads are look-only; -p and -w KEY VALUE are refused', () => {
    expect(one('sysctl net.ipv4.ip_forward')).toMatchObject({ op: 'noop' });
    expect(one('sysctl -a')).toMatchObject({ op: 'noop' });
    // the files are the host's: read from the model's files or the runbook's own writes
    expect(err('sysctl -p').code).toBe('file');
    expect(err('sysctl -p /etc/sysctl.d/x.conf').detail).toContain('/etc/sysctl.d/x.conf is a file of the host');
    // real (procps-ng 4.0.2): "sysctl: command line(0): invalid syntax, continuing..." and exit 1
    expect(err('sysctl -w net.ipv4.ip_forward 1').code).toBe('syntax');
  });
  it('echo V > /proc/sys/..., echo V | tee ...', () => {
    expect(one('echo 1 > /proc/sys/net/ipv4/ip_forward')).toEqual({ op: 'sysctl', ns: null, key: 'net.ipv4.ip_forward', value: '1' });
    expect(one('echo -n 0 >/proc/sys/net/ipv4/conf/all/rp_filter')).toMatchObject({ value: '0' });
    const ops = run('echo 1 | sudo tee /proc/sys/net/ipv4/ip_forward');
    expect(ops.map((o) => o.op)).toEqual(['noop', 'sysctl']);
    expect(ops[1]).toMatchObject({ key: 'net.ipv4.ip_forward', value: '1' });
    expect(one('echo hello')).toMatchObject({ op: 'noop' });
  });
  it('a redirect is opened by the shell: it writes the ROOT namespace even under ip netns exec', () => {
    // real (Linux 6.18): from a shell in netns X, `ip netns exec Y echo 1 > /proc/sys/net/ipv4/ip_forward`
    // changed X and left Y at 0, while `echo 1 | ip netns exec Y tee ...` changed Y
    expect(one('ip netns exec ns1 echo 1 > /proc/sys/net/ipv4/ip_forward')).toMatchObject({ op: 'sysctl', ns: null });
    expect(run('echo 1 | ip netns exec ns1 tee /proc/sys/net/ipv4/ip_forward')[1]).toMatchObject({ op: 'sysctl', ns: 'ns1' });
    expect(one("ip netns exec ns1 sysctl -w net.ipv4.ip_forward=1")).toMatchObject({ ns: 'ns1' });
  });
  it('errors', () => {
    expect(err('cat x > /proc/sys/net/ipv4/ip_forward').code).toBe('unsupported');
    expect(err('tee /proc/sys/net/ipv4/ip_forward').code).toBe('unsupported');
  });
});

describe('iptables', () => {
  it('iptables, -legacy, -nft become IptablesOps; -L/-S and iptables-save are look-only', () => {
    expect(one('iptables -t nat -A POSTROUTING -s 172.31.0.3 -j MASQUERADE')).toMatchObject({ op: 'iptables', table: 'nat', cmd: 'A', chain: 'POSTROUTING' });
    expect(one('iptables-legacy -P FORWARD DROP')).toMatchObject({ op: 'iptables', table: 'filter', cmd: 'P' });
    expect(one('iptables-nft -P FORWARD ACCEPT')).toMatchObject({ op: 'iptables', cmd: 'P' });
    expect(one('iptables -L -n -v')).toMatchObject({ op: 'noop' });
    expect(one('iptables -t nat -S')).toMatchObject({ op: 'noop' });
    expect(one('iptables-save')).toMatchObject({ op: 'noop' });
    expect(one('iptables-save > rules.v4')).toMatchObject({ op: 'noop' });
    expect(run('iptables-save | grep MASQ').map((o) => o.op)).toEqual(['noop', 'noop']);
  });
  it('errors from the iptables parser carry the runbook line', () => {
    const e = err('\n\niptables -A FORWARD --frobnicate');
    expect(e.line).toBe(3);
    expect(err('ip6tables -A INPUT -j DROP').code).toBe('unsupported');
  });

  describe('iptables-restore', () => {
    beforeEach(() => {
      io.readFile.mockClear();
      vi.mocked(parseIptablesRestore).mockClear();
    });
    it('reads FILE relative to baseDir', () => {
      const op = one('iptables-restore --noflush < rules/web2.v4');
      expect(io.readFile).toHaveBeenCalledWith('models/rules/web2.v4');
      expect(parseIptablesRestore).toHaveBeenCalledWith(expect.stringContaining('*filter'), 'models/rules/web2.v4');
      expect(op).toMatchObject({ op: 'iptables-restore', file: 'models/rules/web2.v4', noflush: true });
      expect(one('iptables-restore -n r.v4')).toMatchObject({ noflush: true, file: 'models/r.v4' });
      expect(one('iptables-restore < r.v4')).toMatchObject({ noflush: false });
    });
    it('a file that cannot be read is a file error at the runbook line', () => {
      io.readFile.mockImplementationOnce(() => {
        throw new Error('ENOENT: no such file');
      });
      const e = err('\niptables-restore < nope.v4');
      expect([e.code, e.line, e.file]).toEqual(['file', 2, 'rb.yaml']);
      expect(e.detail).toContain('models/nope.v4');
    });
    it('refuses absolute paths and missing input', () => {
      expect(err('iptables-restore < /etc/iptables/rules.v4').code).toBe('unsupported');
      expect(err('iptables-restore').code).toBe('unsupported');
    });
  });
});

describe('docker', () => {
  it('run --network none in all spellings', () => {
    expect(one('docker run --name ngx1 --rm --network none -d nginx:1.18-alpine')).toEqual({ op: 'docker-run', ns: null, name: 'ngx1', image: 'nginx:1.18-alpine' });
    expect(one('docker run -dit --net=none --name=web -e A=1 busybox sh')).toMatchObject({ name: 'web', image: 'busybox' });
    expect(one('docker container run --net none --name c1 alpine')).toMatchObject({ name: 'c1' });
  });
  it('refuses the host network mode, published ports without a network, missing names', () => {
    // the default bridge is modelled (test/plan/docker.test.ts)
    expect(run('docker run --name x nginx').filter((o) => o.op === 'docker-run')).toHaveLength(1);
    expect(err('docker run --name x --network host nginx').detail).toContain('"host"');
    expect(err('docker run --name x --network none -p 80:80 nginx').code).toBe('unsupported');
    expect(err('docker run --network none nginx').code).toBe('unsupported');
    expect(err('docker run --network none --name x').code).toBe('syntax');
    expect(err('docker run --network none --name x --frob nginx').code).toBe('unsupported');
  });
  it('inspect/exec/ps/logs are look-only; stop/rm are refused', () => {
    expect(run('docker inspect ngx1 |grep Pid').map((o) => o.op)).toEqual(['noop', 'noop']);
    expect(one('docker exec -it ngx1 ifconfig')).toMatchObject({ op: 'noop' });
    expect(one('docker ps -a')).toMatchObject({ op: 'noop' });
    expect(one('docker logs ngx1')).toMatchObject({ op: 'noop' });
    expect(err('docker stop ngx1').code).toBe('unsupported');
    expect(err('docker rm -f ngx1').code).toBe('unsupported');
    expect(err('docker exec ngx1 ip addr add 10.0.0.1/24 dev eth0').detail).toContain('CAP_NET_ADMIN');
  });
});

describe('ln, mkdir and look-only commands', () => {
  it('ln -s /proc/PID/ns/net /var/run/netns/NAME', () => {
    expect(one('ln -s /proc/869389/ns/net /var/run/netns/ngx1')).toEqual({ op: 'netns-bind', ns: null, name: 'ngx1', pid: '869389', link: '/var/run/netns/ngx1' });
    expect(one('ln -sf /proc/1/ns/net /run/netns/c1')).toEqual({ op: 'netns-bind', ns: null, name: 'c1', pid: '1', link: '/run/netns/c1', force: true });
    expect(one('ln --symbolic --force /proc/1/ns/net /run/netns/c1')).toMatchObject({ name: 'c1', force: true });
    expect(err('ln /proc/1/ns/net /run/netns/c1').code).toBe('kernel');
    expect(err('ln -s a b').code).toBe('unsupported');
  });
  it.each([
    'mkdir /var/run/netns', 'mkdir -p /var/run/netns', 'tcpdump -i veth1-p', 'tcpdump -i eth0 port 80', 'curl 192.168.2.10', 'ping -c 1 10.0.0.1',
    'wget -qO- http://x', 'nc -zv 10.0.0.1 80', 'cat /proc/sys/net/ipv4/ip_forward', 'ls /var/run/netns', 'echo done', 'ifconfig', 'ifconfig eth0',
    'ip link show > /dev/null 2>&1', 'set -e', 'true', 'ss -tlnp',
  ])('%s is a noop with a reason', (line) => {
    const o = one(line);
    expect(o.op).toBe('noop');
    expect(typeof o.why).toBe('string');
  });
  it('ifconfig with settings, unknown commands and state-changing pipelines are refused', () => {
    expect(err('ifconfig eth0 10.0.0.1 up').code).toBe('unsupported');
    expect(err('systemctl restart networking').detail).toBe('command "systemctl" is not modelled by netpath');
    expect(err('ip link set x up | grep y').code).toBe('unsupported');
    expect(err('ip link add x type dummy > out.txt').code).toBe('unsupported');
    expect(err('modprobe br_netfilter').code).toBe('unsupported');
  });
});

describe('command lists and sudo', () => {
  it('each command of a line is its own item, all on the same line', () => {
    const ops = run('\nip netns add a && ip netns add b; ip link add v type veth peer name w');
    expect(ops.map((o) => [o.op, o.origin.line])).toEqual([['netns-add', 2], ['netns-add', 2], ['link-add', 2]]);
  });
  it('"|| true" is harmless; "|| something" is refused', () => {
    expect(run('ip netns add a || true').map((o) => o.op)).toEqual(['netns-add', 'noop']);
    expect(err('ip netns add a || ip netns add b').code).toBe('unsupported');
  });
  it('sudo prefixes', () => {
    expect(one('sudo ip link set x up')).toMatchObject({ op: 'link-set' });
    expect(one('sudo -E sysctl -w net.ipv4.ip_forward=1')).toMatchObject({ op: 'sysctl' });
    expect(err('sudo -u bob ip link').code).toBe('unsupported');
    expect(one('/usr/sbin/ip link set x up')).toMatchObject({ op: 'link-set' });
  });
});
