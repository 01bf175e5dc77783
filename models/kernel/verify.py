#!/usr/bin/env python3
"""Replay a netpath model on the real kernel, in network namespaces, and run its probes.

usage: sudo python3 models/kernel/verify.py MODEL.yaml [MODEL.yaml ...] [--repeat N] [--json OUT]

For each model:
  * every host becomes a netns  npm-<host>  (lo up, as on a booted machine);
  * every LAN becomes a netns  npm-L<i>  holding a bridge; each member gets a veth whose end in
    the host is called as in the model (eth0, ...), with the model's address, up;
  * every runbook line is run with `ip netns exec npm-<host> bash -c LINE`, after translation:
      docker run --name X --network none ...   -> ip netns add npm-X; ip -n npm-X link set lo up
      ln -s /proc/PID/ns/net /var/run/netns/X  -> nothing (the netns exists already)
      docker inspect|exec|ps ..., mkdir ...    -> nothing (look-only)
      `netns X`, `-n X` (X a namespace the runbooks create) -> npm-X
    (`ip netns add X` becomes `ip netns add npm-X`; its lo stays DOWN, as on Linux);
  * services: tcp = a listener that accepts and answers "hello", udp = an echo server;
  * probes, each after `conntrack -F` in every namespace (independent probes):
      tcp  non-blocking connect() + poll() (as curl), 6 s: connected -> reachable,
           ECONNREFUSED -> refused, any other errno -> no-route, nothing -> timeout
      udp  connected socket, no IP_RECVERR: send, recv 4 s: data -> reachable,
           ECONNREFUSED -> refused, other errno (connect/send/recv) -> no-route, nothing -> timeout
      icmp ping -c1 -W5: reply -> reachable, an error line (unreachable, time exceeded,
           connect: ...) -> no-route, nothing -> timeout
    The 5-6 s waits are longer than a failed ARP resolution (3 s), so a neighbour failure shows
    as the error it produces, not as a timeout.
Only namespaces named npm-* are created; all are deleted at exit, also on failure or Ctrl-C.
The root namespace is never changed.
"""
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time

import yaml

P = os.environ.get('NPM_PREFIX', 'npm-')
HERE = os.path.dirname(os.path.abspath(__file__))
created: list[str] = []
procs: list[subprocess.Popen] = []
CAPS: list[str] = []  # --cap HOST:IFACE  tcpdump during the probes, printed afterwards


def sh(cmd: list[str], check=True, **kw) -> subprocess.CompletedProcess:
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if check and r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {r.stderr.strip()}")
    return r


def netns_add(name: str, lo_up=True):
    ns = P + name
    if os.path.exists(f'/run/netns/{ns}'):
        raise RuntimeError(f'netns {ns} exists already; refusing to reuse it')
    sh(['ip', 'netns', 'add', ns])
    created.append(ns)
    if lo_up:
        sh(['ip', '-n', ns, 'link', 'set', 'lo', 'up'])


def cleanup():
    for p in procs:
        try:
            p.kill()
            p.wait(timeout=2)
        except Exception:
            pass
    procs.clear()
    for ns in reversed(created):
        subprocess.run(['ip', 'netns', 'del', ns], capture_output=True)
    created.clear()


def runbook_lines(text: str) -> list[str]:
    raw = text.split('\n')
    prompted = any(re.match(r'^\s*\$ ', l) for l in raw)
    out, buf, cont = [], '', False
    for l in raw:
        s = l.strip()
        if cont:
            s, buf, cont = (buf + ' ' + s).strip(), '', False
        else:
            if not s or s.startswith('#'):
                continue
            if prompted:
                if not s.startswith('$ '):
                    continue  # pasted command output
                s = s[2:].strip()
        if s.endswith('\\'):
            buf, cont = s[:-1], True
            continue
        out.append(s)
    return out


def translate(line: str, names: set[str]) -> list[str] | None:
    try:
        w = shlex.split(line, comments=True)
    except ValueError:
        w = line.split()
    if not w:
        return None
    if w[0] == 'docker':
        if len(w) > 1 and w[1] == 'run':
            name = None
            for i, a in enumerate(w):
                if a == '--name':
                    name = w[i + 1]
                elif a.startswith('--name='):
                    name = a.split('=', 1)[1]
            return [f'@netns {name}']
        return None
    if w[0] == 'mkdir':
        return None
    if w[0] == 'ln':
        return None
    m = re.match(r'^ip netns add (\S+)$', line)
    if m:
        return [f'@netns-bare {m.group(1)}']
    for n in sorted(names, key=len, reverse=True):
        line = re.sub(rf'(\bnetns(?: exec)?|(?<!\S)-n|(?<!\S)-netns|(?<!\S)--netns)\s+{re.escape(n)}(?=\s|$)',
                      lambda mm: f'{mm.group(1)} {P}{n}', line)
    line = re.sub(r'(?<!\S)-it?(?=\s)', '', line) if line.startswith('docker') else line
    return [line]


def netns_names(model) -> set[str]:
    names = set()
    for h in model['hosts'].values():
        for l in runbook_lines(h['_text']):
            m = re.search(r'--name[= ](\S+)', l)
            if l.startswith('docker run') and m:
                names.add(m.group(1))
            m = re.match(r'^ip netns add (\S+)', l)
            if m:
                names.add(m.group(1))
            m = re.match(r'^ln -sf? \S+ /(?:var/)?run/netns/(\S+)', l)
            if m:
                names.add(m.group(1))
    return names


def resolve(ref: str, hosts) -> str:
    if '/' in ref:
        ref = ref.split('/', 1)[1]
    return P + ref


def start_service(ns: str, proto: str, port: int):
    code = SERVER
    p = subprocess.Popen(['ip', 'netns', 'exec', ns, sys.executable, '-c', code, proto, str(port)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    procs.append(p)
    line = p.stdout.readline()
    if not line.startswith('listening'):
        raise RuntimeError(f'service {proto}/{port} in {ns} did not start: {line} {p.stderr.read()}')


SERVER = r'''
import socket, sys, threading
proto, port = sys.argv[1], int(sys.argv[2])
if proto == 'tcp':
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(('0.0.0.0', port)); s.listen(64); print('listening', flush=True)
    while True:
        c, _ = s.accept()
        try: c.sendall(b'hello\n'); c.close()
        except OSError: pass
else:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(('0.0.0.0', port))
    print('listening', flush=True)
    while True:
        d, a = s.recvfrom(2048)
        try: s.sendto(d, a)
        except OSError: pass
'''

PROBE = r'''
import errno, os, select, socket, sys, time
proto, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
def e(n): return f"{errno.errorcode.get(n,'?')}"
t0 = time.monotonic()
if proto == 'tcp':
    s = socket.socket(); s.setblocking(False)
    try:
        s.connect((host, port)); r = 'reachable ok-immediate'
    except BlockingIOError:
        p = select.poll(); p.register(s, select.POLLOUT | select.POLLERR)
        if not p.poll(6000): r = 'timeout nothing'
        else:
            err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if err == 0: r = f'reachable local={s.getsockname()[0]}'
            elif err == errno.ECONNREFUSED: r = 'refused ECONNREFUSED'
            else: r = f'no-route {e(err)}'
    except OSError as x:
        r = ('refused ' if x.errno == errno.ECONNREFUSED else 'no-route ') + e(x.errno) + ' (connect)'
else:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(4)
    stage = 'connect'
    try:
        s.connect((host, port)); stage = 'send'; s.send(b'probe\n'); stage = 'recv'
        d = s.recv(2048); r = f'reachable got={d!r}'
    except socket.timeout: r = 'timeout nothing'
    except OSError as x:
        r = ('refused ' if x.errno == errno.ECONNREFUSED else 'no-route ') + e(x.errno) + f' ({stage})'
print(f'{r} {time.monotonic()-t0:.2f}s')
'''


def run_probe(pr) -> tuple[str, str]:
    ns = resolve(pr['from'], None)
    to = str(pr['to'])
    proto = pr.get('proto', 'tcp')
    for n in created:
        subprocess.run(['ip', 'netns', 'exec', n, 'conntrack', '-F'], capture_output=True)
    if proto == 'icmp':
        t0 = time.monotonic()
        r = subprocess.run(['ip', 'netns', 'exec', ns, 'ping', '-n', '-c1', '-W5', to], capture_output=True, text=True)
        out = (r.stdout + r.stderr).strip().split('\n')
        dt = time.monotonic() - t0
        lines = [l for l in out if l and not l.startswith(('PING', '---', 'rtt'))]
        detail = ' | '.join(lines[:2])
        if r.returncode == 0:
            return 'reachable', f'{detail} {dt:.2f}s'
        # an ICMP error counted by ping ("+N errors"), or a local error: no-route. A redirect
        # line ("From X: Redirect Host") is informational, not an error (ping's summary agrees).
        if any(re.search(r'\+\d+ errors|connect:|sendmsg|^ping: ', l) for l in lines):
            return 'no-route', f'{detail} {dt:.2f}s'
        return 'timeout', f'{detail} {dt:.2f}s'
    host, port = to.rsplit(':', 1)
    r = subprocess.run(['ip', 'netns', 'exec', ns, sys.executable, '-c', PROBE, proto, host, port],
                       capture_output=True, text=True)
    out = r.stdout.strip() or r.stderr.strip()
    return out.split(' ', 1)[0], out.split(' ', 1)[1] if ' ' in out else ''


def verify(path: str, repeat: int) -> list[dict]:
    with open(path) as f:
        model = yaml.safe_load(f)
    base = os.path.dirname(os.path.abspath(path))
    for h, spec in model['hosts'].items():
        spec = spec or {}
        if 'script' in spec:
            spec['_text'] = open(os.path.join(base, spec['script'])).read()
        else:
            spec['_text'] = spec.get('run', '')
        model['hosts'][h] = spec
    names = netns_names(model)
    results = []
    try:
        for h in model['hosts']:
            netns_add(h)
        for i, (lan, members) in enumerate((model.get('lans') or {}).items()):
            lns = f'L{i}'
            netns_add(lns)
            sh(['ip', '-n', P + lns, 'link', 'add', 'name', 'lanbr', 'type', 'bridge'])
            sh(['ip', '-n', P + lns, 'link', 'set', 'lanbr', 'up'])
            for j, (mk, addr) in enumerate(members.items()):
                host, ifn = mk.split('/')
                sh(['ip', '-n', P + lns, 'link', 'add', f'p{j}', 'type', 'veth', 'peer', 'name', ifn, 'netns', P + host])
                sh(['ip', '-n', P + lns, 'link', 'set', f'p{j}', 'master', 'lanbr', 'up'])
                if addr:
                    sh(['ip', '-n', P + host, 'addr', 'add', addr, 'dev', ifn])
                sh(['ip', '-n', P + host, 'link', 'set', ifn, 'up'])
        for h, spec in model['hosts'].items():
            for line in runbook_lines(spec['_text']):
                cmds = translate(line, names)
                if cmds is None:
                    continue
                for c in cmds:
                    if c.startswith('@netns '):
                        netns_add(c.split()[1])
                        continue
                    if c.startswith('@netns-bare '):
                        netns_add(c.split()[1], lo_up=False)
                        continue
                    r = subprocess.run(['ip', 'netns', 'exec', P + h, 'bash', '-c', c], capture_output=True, text=True,
                                       cwd=base)  # files named in runbooks are next to the model
                    if r.returncode != 0 and not re.match(r'^(route -n|ip route get|iptables -[LS])', c):
                        print(f'  ! [{h}] {c}: rc={r.returncode} {r.stderr.strip()}', file=sys.stderr)
        for s in model.get('services') or []:
            proto, port = s['listen'].split('/')
            start_service(resolve(s['at'], None), proto, int(port))
        time.sleep(0.3)
        caps = []
        for c in CAPS:
            cns, cif = c.split(':')
            f = f'/tmp/{P}cap-{cns}-{cif}.pcap'
            cp = subprocess.Popen(['ip', 'netns', 'exec', P + cns, 'tcpdump', '-Z', 'root', '-nn', '-U', '-i', cif, '-w', f,
                                   'not ip6'], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            procs.append(cp)
            caps.append((c, f, cp))
        if caps:
            time.sleep(1)
        for pr in model.get('probes') or []:
            time.sleep(1.0)  # let the ICMP rate limiters (1/s, burst 5-6 per peer) refill
            seen = []
            for _ in range(repeat):
                res, detail = run_probe(pr)
                seen.append((res, detail))
            kinds = sorted({r for r, _ in seen})
            res = kinds[0] if len(kinds) == 1 else '|'.join(kinds)
            for c, f, cp in caps:
                pass
            results.append({'model': path, 'probe': pr.get('name'), 'proto': pr.get('proto', 'tcp'), 'from': pr['from'],
                            'to': str(pr['to']), 'expect': pr.get('expect'), 'kernel': res, 'detail': seen[0][1]})
        time.sleep(0.5)
        for c, f, cp in caps:
            cp.send_signal(signal.SIGINT)
            cp.wait(timeout=5)
            r = subprocess.run(['tcpdump', '-nn', '-t', '-r', f], capture_output=True, text=True)
            print(f'--- capture {c}')
            print(r.stdout)
            os.unlink(f)
    finally:
        cleanup()
    return results


def main():
    args = sys.argv[1:]
    repeat, jout = 1, None
    if '--repeat' in args:
        i = args.index('--repeat'); repeat = int(args[i + 1]); del args[i:i + 2]
    while '--cap' in args:
        i = args.index('--cap'); CAPS.append(args[i + 1]); del args[i:i + 2]
    if '--json' in args:
        i = args.index('--json'); jout = args[i + 1]; del args[i:i + 2]
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: (cleanup(), sys.exit(130)))
    allr = []
    bad = 0
    for m in args:
        print(f'== {m}  ({time.strftime("%Y-%m-%d")}, kernel {os.uname().release})')
        try:
            rs = verify(m, repeat)
        except Exception as x:
            print(f'  ERROR {x}')
            bad += 1
            continue
        for r in rs:
            ok = 'ok' if r['expect'] == r['kernel'] else ('-' if r['expect'] is None else 'MISMATCH')
            bad += ok == 'MISMATCH'
            print(f"  {r['probe']:<44} expect={str(r['expect']):<10} kernel={r['kernel']:<10} {ok:<8} {r['detail']}")
        allr += rs
    if jout:
        with open(jout, 'w') as f:
            json.dump(allr, f, indent=1)
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())
