/**
 * The replay agent: one small Python 3 program (standard library only) that the netns backend
 * runs inside a namespace, as a service listener or as a probe client. It is kept here as text
 * (run with `python3 -c AGENT_PY ...`) so it ships inside dist/ with the rest of netpath.
 *
 *   serve tcp:80 udp:53 tcp:8080:127.0.0.1 udp:8053:0.0.0.0>172.17.0.2:53 ...
 *        (the last: docker-proxy for a UDP port, sending each datagram on to the container)
 *       binds 0.0.0.0 (or the address after the port) on each port; tcp: accepts, reads the request, answers an HTTP/1.0 200 and
 *       closes; udp: echoes every datagram from the address it was sent to (IP_PKTINFO). Prints "ready" once every socket is bound.
 *   probe tcp|udp|icmp DST PORT TIMEOUT ICMPID [SRC]
 *       one client attempt, classified like src/engine/probe.ts; prints one JSON line
 *       {"result", "errno", "detail", "ms"}. With SRC the socket is bound to that address first
 *       (a probe's `src:`); a bind() error (EADDRNOTAVAIL) is that attempt's errno.
 *
 * Classification (the simulation's, see src/engine/probe.ts):
 *   tcp  non-blocking connect() + poll(): connected -> reachable; ECONNREFUSED -> refused;
 *        any other errno (ENETUNREACH, EHOSTUNREACH, EACCES, EPERM, EINVAL, ...) -> no-route;
 *        nothing within TIMEOUT -> timeout.
 *   udp  connected socket without IP_RECVERR, send() then recv(): data -> reachable;
 *        ECONNREFUSED -> refused; an errno from connect()/send()/recv() -> no-route; nothing -> timeout.
 *   icmp a raw ICMP socket sends one echo request (id ICMPID, seq 1): the matching echo reply ->
 *        reachable; a destination unreachable or time exceeded quoting our request -> no-route;
 *        an errno from sendto() -> no-route; nothing -> timeout.
 */
import { formatIpv4 } from '../wire/ipv4.js';

/** The agent's listen spec for a service: `proto:port`, or `proto:port:addr` for a bound address. */
export function serviceSpec(s: { readonly proto: string; readonly port: number; readonly addr?: number; readonly relay?: { readonly addr: number; readonly port: number } }): string {
  // docker-proxy for a UDP port: udp:PORT:BIND>BACKEND:PORT
  if (s.relay) return `${s.proto}:${s.port}:${formatIpv4(s.addr ?? 0)}>${formatIpv4(s.relay.addr)}:${s.relay.port}`;
  return s.addr === undefined ? `${s.proto}:${s.port}` : `${s.proto}:${s.port}:${formatIpv4(s.addr)}`;
}

export const AGENT_PY = String.raw`
import errno, json, os, select, signal, socket, struct, sys, threading, time

def ename(n):
    return errno.errorcode.get(n, str(n))

def serve(specs):
    socks = []
    for spec in specs:
        spec, _, relay = spec.partition('>')
        proto, port, *addr = spec.split(':')
        bind = addr[0] if addr else '0.0.0.0'
        if proto == 'tcp':
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((bind, int(port)))
            s.listen(64)
        else:
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind((bind, int(port)))
        socks.append((proto, s, relay))
    for proto, s, relay in socks:
        if relay:
            host, rport = relay.rsplit(':', 1)
            threading.Thread(target=udp_relay, args=(s, (host, int(rport))), daemon=True).start()
        else:
            threading.Thread(target=tcp_loop if proto == 'tcp' else udp_loop, args=(s,), daemon=True).start()
    sys.stdout.write('ready\n')
    sys.stdout.flush()
    signal.signal(signal.SIGTERM, lambda *a: os._exit(0))
    while True:
        time.sleep(3600)

def tcp_loop(s):
    while True:
        c, peer = s.accept()
        threading.Thread(target=tcp_answer, args=(c, peer), daemon=True).start()

def tcp_answer(c, peer):
    try:
        c.settimeout(2.0)
        try:
            c.recv(4096)
        except OSError:
            pass
        body = ('netpath replay agent: hello %s:%d\n' % peer).encode()
        c.sendall(b'HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n' % len(body) + body)
    except OSError:
        pass
    finally:
        c.close()

IP_PKTINFO = getattr(socket, 'IP_PKTINFO', 8)

def udp_relay(s, backend):
    # docker-proxy's UDP proxy (cmd/docker-proxy/udp_proxy_linux.go, Docker v28.5.2): per client
    # a socket connected to the container; answers go back from the address the client sent to
    s.setsockopt(socket.IPPROTO_IP, IP_PKTINFO, 1)
    conns = {}
    def reply_loop(b, peer, dst):
        while True:
            try:
                data = b.recv(65535)
            except ConnectionRefusedError:
                continue
            except OSError:
                return
            try:
                s.sendmsg([data], [(socket.IPPROTO_IP, IP_PKTINFO, struct.pack('=i4s4s', 0, dst, b'\0\0\0\0'))], 0, peer)
            except OSError:
                pass
    while True:
        data, anc, _flags, peer = s.recvmsg(65535, socket.CMSG_SPACE(12))
        info = [d for (lvl, typ, d) in anc if lvl == socket.IPPROTO_IP and typ == IP_PKTINFO]
        b = conns.get(peer)
        if b is None:
            b = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            try:
                b.connect(backend)
            except OSError:
                continue
            conns[peer] = b
            dst = info[0][8:12] if info and len(info[0]) >= 12 else b'\0\0\0\0'
            threading.Thread(target=reply_loop, args=(b, peer, dst), daemon=True).start()
        try:
            b.send(data)
        except OSError:
            pass

def udp_loop(s):
    # answer from the address the datagram was sent to (IP_PKTINFO), as the simulation's service
    # does; a plain sendto() on a 0.0.0.0 socket would take the route's source address instead
    s.setsockopt(socket.IPPROTO_IP, IP_PKTINFO, 1)
    while True:
        data, anc, _flags, peer = s.recvmsg(65535, socket.CMSG_SPACE(12))
        info = [d for (lvl, typ, d) in anc if lvl == socket.IPPROTO_IP and typ == IP_PKTINFO]
        try:
            if info and len(info[0]) >= 12:
                # struct in_pktinfo { int ipi_ifindex; in_addr ipi_spec_dst; in_addr ipi_addr; }
                reply = struct.pack('=i4s4s', 0, info[0][8:12], b'\0\0\0\0')
                s.sendmsg([data], [(socket.IPPROTO_IP, IP_PKTINFO, reply)], 0, peer)
            else:
                s.sendto(data, peer)
        except OSError:
            pass

def bind_src(s, src, what):
    if not src:
        return None
    try:
        s.bind((src, 0))
    except OSError as e:
        return classify(e.errno, 'bind() to %s before %s' % (src, what))
    return None

def probe_tcp(dst, port, timeout, src):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    bad = bind_src(s, src, 'connect()')
    if bad:
        return bad
    s.setblocking(False)
    try:
        s.connect((dst, port))
    except BlockingIOError:
        p = select.poll()
        p.register(s, select.POLLOUT | select.POLLERR)
        if not p.poll(int(timeout * 1000)):
            return 'timeout', 'timeout', 'no answer to the SYN'
        err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if err:
            return classify(err, 'connect()')
    except OSError as e:
        return classify(e.errno, 'connect() itself')
    local = '%s:%d' % s.getsockname()
    # connected: ask the listener for its answer (informational only)
    answer = ''
    try:
        s.setblocking(True)
        s.settimeout(0.5)
        s.sendall(b'GET / HTTP/1.0\r\nHost: netpath\r\n\r\n')
        answer = s.recv(200).split(b'\r\n', 1)[0].decode(errors='replace')
    except OSError:
        pass
    s.close()
    return 'reachable', 'ok', 'connected from %s%s' % (local, ('; answer: ' + answer) if answer else '')

def classify(err, where):
    if err == errno.ECONNREFUSED:
        return 'refused', 'ECONNREFUSED', where
    return 'no-route', ename(err), where

def probe_udp(dst, port, timeout, src):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    bad = bind_src(s, src, 'connect()')
    if bad:
        return bad
    s.settimeout(timeout)
    try:
        s.connect((dst, port))
    except OSError as e:
        return classify(e.errno, 'connect()')
    try:
        s.send(b'netpath probe\n')
    except OSError as e:
        return classify(e.errno, 'send()')
    try:
        data = s.recv(2048)
        return 'reachable', 'ok', 'echo of %d bytes' % len(data)
    except socket.timeout:
        return 'timeout', 'timeout', 'no datagram came back'
    except OSError as e:
        return classify(e.errno, 'recv()')

def csum(b):
    if len(b) % 2:
        b += b'\0'
    t = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    t = (t >> 16) + (t & 0xffff)
    t += t >> 16
    return ~t & 0xffff

def probe_icmp(dst, timeout, ident, src):
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    bad = bind_src(s, src, 'sendto()')
    if bad:
        return bad
    payload = b'netpath probe\n'
    hdr = struct.pack('!BBHHH', 8, 0, 0, ident, 1)
    pkt = struct.pack('!BBHHH', 8, 0, csum(hdr + payload), ident, 1) + payload
    try:
        s.sendto(pkt, (dst, 0))
    except OSError as e:
        return classify(e.errno, 'sendto()')
    end = time.monotonic() + timeout
    while True:
        left = end - time.monotonic()
        if left <= 0:
            return 'timeout', 'timeout', 'no echo reply'
        r, _, _ = select.select([s], [], [], left)
        if not r:
            continue
        data, addr = s.recvfrom(65535)
        ihl = (data[0] & 15) * 4
        typ, code = data[ihl], data[ihl + 1]
        if typ == 0:
            rid, rseq = struct.unpack('!HH', data[ihl + 4:ihl + 8])
            if rid == ident and rseq == 1:
                return 'reachable', 'ok', 'echo reply from %s' % addr[0]
        elif typ in (3, 11):
            inner = data[ihl + 8:]
            if len(inner) < 20:
                continue
            iihl = (inner[0] & 15) * 4
            if inner[9] != 1 or len(inner) < iihl + 8:
                continue
            ityp = inner[iihl]
            iid = struct.unpack('!H', inner[iihl + 4:iihl + 6])[0]
            if ityp == 8 and iid == ident:
                what = 'destination unreachable' if typ == 3 else 'time exceeded'
                return 'no-route', 'icmp-%d/%d' % (typ, code), '%s (code %d) from %s' % (what, code, addr[0])

def main():
    mode = sys.argv[1]
    if mode == 'serve':
        serve(sys.argv[2:])
        return
    proto, dst, port, timeout, ident = sys.argv[2], sys.argv[3], int(sys.argv[4]), float(sys.argv[5]), int(sys.argv[6])
    src = sys.argv[7] if len(sys.argv) > 7 else ''
    t0 = time.monotonic()
    if proto == 'tcp':
        res = probe_tcp(dst, port, timeout, src)
    elif proto == 'udp':
        res = probe_udp(dst, port, timeout, src)
    else:
        res = probe_icmp(dst, timeout, ident, src)
    print(json.dumps({'result': res[0], 'errno': res[1], 'detail': res[2], 'ms': round((time.monotonic() - t0) * 1000)}))

main()
`;
