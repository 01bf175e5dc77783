/**
 * Crafted TCP segments in property tests: a firewall that accepts `--ctstate NEW` on port 80
 * without `--syn` lets a lone ACK through (conntrack's loose pickup, observed with raw sockets:
 * fixtures/kernel/crafted-segments.sh). A connect()-only search cannot see that; drawing
 * segments finds it and shrinks it to the ACK.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { flows, loadText, outcome } from '../../src/index.js';

const model = (syn: boolean): string => `
hosts:
  web1:
    run: |
      route add -host 192.168.2.10 gw 172.31.0.2 dev eth0
  web2:
    run: |
      ip netns add ngx1
      ip link add veth1 type veth peer name veth1-p
      ip link set veth1 netns ngx1
      ip netns exec ngx1 ip addr add 192.168.2.10/24 dev veth1
      ip netns exec ngx1 ip link set veth1 up
      ip addr add 192.168.2.20/24 dev veth1-p
      ip link set veth1-p up
      sysctl -w net.ipv4.ip_forward=1
      iptables -t nat -A POSTROUTING -s 172.31.0.3 -j MASQUERADE
      iptables -P FORWARD DROP
      iptables -A FORWARD -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
      iptables -A FORWARD -p tcp --dport 80${syn ? ' --syn' : ''} -m conntrack --ctstate NEW -j ACCEPT
lans:
  lan0:
    web1/eth0: 172.31.0.3/24
    web2/eth0: 172.31.0.2/24
services:
  - at: ngx1
    listen: tcp/80
`;

/** "Nothing but a SYN or an established connection gets a segment to ngx1:80." */
function onlyHandshakes(world: ReturnType<typeof loadText>): fc.IPropertyWithHooks<[Parameters<typeof outcome>[1]]> {
  return fc.property(flows(world, { from: 'web1', to: '192.168.2.10', ports: 80, tcpSegments: true }), (f) => {
    const lone = f.tcpFlags !== undefined && f.state !== 'established' && !(f.tcpFlags.syn && !f.tcpFlags.ack);
    return !lone || outcome(world, f) !== 'reachable';
  });
}

describe('tcpSegments: crafted segments in flows()', () => {
  it('finds the lone ACK that --ctstate NEW without --syn lets through', () => {
    const r = fc.check(onlyHandshakes(loadText(model(false))), { seed: 11, numRuns: 200 });
    expect(r.failed).toBe(true);
    const [f] = r.counterexample!;
    expect(f.tcpFlags).toEqual({ ack: true });
  });
  it('with --syn the property holds', () => {
    const r = fc.check(onlyHandshakes(loadText(model(true))), { seed: 11, numRuns: 200 });
    expect(r.failed).toBe(false);
  });
});
