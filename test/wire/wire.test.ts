/**
 * src/wire: each header against literal bytes (taken from frames tcpdump and tshark checked, or
 * computed by hand), parse(emit(x)) = x for every repr (fast-check), and the parsers' errors.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ArpRepr } from '../../src/wire/arp.js';
import { checksum } from '../../src/wire/checksum.js';
import { ETHERTYPE, EthernetRepr, formatMac, parseMac } from '../../src/wire/ethernet.js';
import { IcmpRepr } from '../../src/wire/icmp.js';
import { Ipv4Repr } from '../../src/wire/ipv4-packet.js';
import { parseIpv4 } from '../../src/wire/ipv4.js';
import { unwrap } from '../../src/wire/result.js';
import { NO_FLAGS, TcpRepr } from '../../src/wire/tcp.js';
import { UdpRepr } from '../../src/wire/udp.js';

const hex = (s: string): Uint8Array => Uint8Array.from(s.trim().split(/\s+/).map((h) => parseInt(h, 16)));
const ip = (s: string): number => parseIpv4(s)!;

// web2's veth1-p in the seed: ARP who-has 192.168.2.10 tell 192.168.2.20, and the SYN after SNAT
const ARP_REQUEST = hex(`
  ff ff ff ff ff ff 02 2f 81 4d 0f 1f 08 06 00 01
  08 00 06 04 00 01 02 2f 81 4d 0f 1f c0 a8 02 14
  00 00 00 00 00 00 c0 a8 02 0a`);
const SYN = hex(`
  02 11 ef 40 df 6b 02 2f 81 4d 0f 1f 08 00 45 00
  00 3c a8 c5 40 00 3f 06 0d 88 c0 a8 02 14 c0 a8
  02 0a bf 99 00 50 04 08 06 01 00 00 00 00 a0 02
  fa f0 1e f7 00 00 02 04 05 b4 04 02 08 0a 25 34
  b9 82 00 00 00 00 01 03 03 07`);
// web1's UDP probe to 192.168.2.10:53
const UDP_IP = hex(`
  45 00 00 2a 06 01 40 00 40 11 c5 ed ac 1f 00 03 c0 a8
  02 0a bf 99 00 35 00 16 df d4 6e 65 74 70 61 74
  68 20 70 72 6f 62 65 0a`);

describe('checksum', () => {
  it('RFC 1071 example and the classic IPv4 header', () => {
    // RFC 1071 section 3: 00 01 f2 03 f4 f5 f6 f7 sums to ddf2
    expect(checksum(hex('00 01 f2 03 f4 f5 f6 f7'))).toBe(~0xddf2 & 0xffff);
    expect(checksum(hex('45 00 00 73 00 00 40 00 40 11 b8 61 c0 a8 00 01 c0 a8 00 c7'))).toBe(0);
    expect(checksum(hex('45 00 00 73 00 00 40 00 40 11 00 00 c0 a8 00 01 c0 a8 00 c7'))).toBe(0xb861);
  });
  it('odd lengths are padded with a zero byte', () => {
    expect(checksum(hex('01'))).toBe(checksum(hex('01 00')));
  });
});

describe('ethernet and arp', () => {
  it('deconstructs and constructs an ARP request', () => {
    const eth = unwrap(EthernetRepr.parse(ARP_REQUEST));
    expect(eth.repr).toEqual({ dst: 'ff:ff:ff:ff:ff:ff', src: '02:2f:81:4d:0f:1f', ethertype: ETHERTYPE.arp });
    const arp = unwrap(ArpRepr.parse(eth.payload));
    expect(arp).toEqual({ op: 1, sha: '02:2f:81:4d:0f:1f', spa: ip('192.168.2.20'), tha: '00:00:00:00:00:00', tpa: ip('192.168.2.10') });
    expect(EthernetRepr.emit(eth.repr, ArpRepr.emit(arp))).toEqual(ARP_REQUEST);
  });
  it('ignores Ethernet padding after an ARP packet', () => {
    const padded = new Uint8Array(60);
    padded.set(ARP_REQUEST);
    const eth = unwrap(EthernetRepr.parse(padded));
    expect(unwrap(ArpRepr.parse(eth.payload)).tpa).toBe(ip('192.168.2.10'));
  });
  it('refuses short frames, 802.3 lengths and non-IPv4 ARP', () => {
    expect(EthernetRepr.parse(ARP_REQUEST.subarray(0, 13))).toMatchObject({ ok: false, error: { code: 'truncated' } });
    const llc = ARP_REQUEST.slice();
    llc[12] = 0x00;
    llc[13] = 0x2e;
    expect(EthernetRepr.parse(llc)).toMatchObject({ ok: false, error: { code: 'unsupported' } });
    const arp = ARP_REQUEST.slice(14);
    arp[3] = 0xdd; // ptype 0x86dd
    expect(ArpRepr.parse(arp)).toMatchObject({ ok: false, error: { code: 'unsupported' } });
  });
  it('MAC text', () => {
    expect(formatMac(parseMac('02:2F:81:4d:0f:1f')!)).toBe('02:2f:81:4d:0f:1f');
    expect(parseMac('02:2f:81:4d:0f')).toBeUndefined();
  });
});

describe('ipv4 and tcp', () => {
  it('deconstructs the SYN as tcpdump printed it', () => {
    const eth = unwrap(EthernetRepr.parse(SYN));
    const { repr, payload } = unwrap(Ipv4Repr.parse(eth.payload));
    expect(repr).toEqual({ src: ip('192.168.2.20'), dst: ip('192.168.2.10'), protocol: 6, ttl: 63, ident: 43205, dontFrag: true, tos: 0, payloadLen: 40 });
    const tcp = unwrap(TcpRepr.parse(payload, repr.src, repr.dst));
    // 192.168.2.20.49049 > 192.168.2.10.80: Flags [S], seq 67634689, win 64240,
    //   options [mss 1460,sackOK,TS val 624212354 ecr 0,nop,wscale 7], length 0
    expect(tcp).toEqual({
      srcPort: 49049,
      dstPort: 80,
      seq: 67634689,
      ack: 0,
      flags: { ...NO_FLAGS, syn: true },
      window: 64240,
      urgent: 0,
      mss: 1460,
      windowScale: 7,
      sackPermitted: true,
      timestamp: { val: 624212354, ecr: 0 },
      payload: new Uint8Array(0),
    });
    expect(EthernetRepr.emit(eth.repr, Ipv4Repr.emit(repr, TcpRepr.emit(tcp, repr.src, repr.dst)))).toEqual(SYN);
  });
  it('writes the options of a later segment as nop,nop,TS', () => {
    const r: TcpRepr = { srcPort: 1, dstPort: 2, seq: 3, ack: 4, flags: { ...NO_FLAGS, ack: true }, window: 502, urgent: 0, sackPermitted: false, timestamp: { val: 5, ecr: 6 }, payload: new Uint8Array(0) };
    const b = TcpRepr.emit(r, 1, 2);
    expect(b.length).toBe(32);
    expect([...b.subarray(20)]).toEqual([1, 1, 8, 10, 0, 0, 0, 5, 0, 0, 0, 6]);
    expect(b[12]).toBe(8 << 4);
  });
  it('finds bad checksums, short headers and options that run off the header', () => {
    const eth = unwrap(EthernetRepr.parse(SYN));
    const bad = eth.payload.slice();
    bad[8] = 62; // TTL changed, checksum not
    expect(Ipv4Repr.parse(bad)).toMatchObject({ ok: false, error: { layer: 'ipv4', code: 'checksum' } });
    const { repr, payload } = unwrap(Ipv4Repr.parse(eth.payload));
    const seg = payload.slice();
    seg[4] = seg[4]! ^ 1;
    expect(TcpRepr.parse(seg, repr.src, repr.dst)).toMatchObject({ ok: false, error: { layer: 'tcp', code: 'checksum' } });
    expect(TcpRepr.parse(payload, repr.src, repr.dst + 1)).toMatchObject({ ok: false, error: { code: 'checksum' } });
    expect(Ipv4Repr.parse(eth.payload.subarray(0, 30))).toMatchObject({ ok: false, error: { code: 'truncated' } });
    expect(TcpRepr.parse(payload.subarray(0, 30), repr.src, repr.dst)).toMatchObject({ ok: false, error: { code: 'truncated' } });
  });
});

describe('udp and icmp', () => {
  it('deconstructs and constructs a UDP datagram', () => {
    const { repr, payload } = unwrap(Ipv4Repr.parse(UDP_IP));
    expect(repr).toMatchObject({ src: ip('172.31.0.3'), dst: ip('192.168.2.10'), protocol: 17, ttl: 64, ident: 0x0601, dontFrag: true });
    const udp = unwrap(UdpRepr.parse(payload, repr.src, repr.dst));
    expect(udp.srcPort).toBe(49049);
    expect(udp.dstPort).toBe(53);
    expect(new TextDecoder().decode(udp.payload)).toBe('netpath probe\n');
    expect(Ipv4Repr.emit(repr, UdpRepr.emit(udp, repr.src, repr.dst))).toEqual(UDP_IP);
  });
  it('a UDP checksum that comes out 0 is sent as ffff, and 0 on the wire means none', () => {
    // find a payload whose checksum is 0: the sum of everything else must be ffff
    const r = { srcPort: 0, dstPort: 0, payload: new Uint8Array(2) };
    const c = checksum(UdpRepr.emit(r, 0, 0).map((v, i) => (i === 6 || i === 7 ? 0 : v)), 17 + 10);
    const payload = Uint8Array.of(c >> 8, c & 0xff);
    const b = UdpRepr.emit({ ...r, payload }, 0, 0);
    expect([b[6], b[7]]).toEqual([0xff, 0xff]);
    const none = b.slice();
    none[6] = 0;
    none[7] = 0;
    expect(unwrap(UdpRepr.parse(none, 0, 0)).payload).toEqual(payload);
  });
  it('echo request', () => {
    const b = hex('08 00 21 04 12 34 00 01 61 62 63 64');
    const r = unwrap(IcmpRepr.parse(b));
    expect(r).toEqual({ kind: 'echo', type: 8, code: 0, ident: 0x1234, seqNo: 1, data: hex('61 62 63 64') });
    expect(IcmpRepr.emit(r)).toEqual(b);
  });
  it('port unreachable quoting the UDP probe: header and 8 bytes', () => {
    const b = hex('03 03 5d 43 00 00 00 00 45 00 00 2a 06 01 40 00 40 11 c5 ed ac 1f 00 03 c0 a8 02 0a bf 99 00 35 00 16 df d4');
    const r = unwrap(IcmpRepr.parse(b));
    expect(r).toMatchObject({ kind: 'error', type: 3, code: 3, rest: 0, header: { src: ip('172.31.0.3'), dst: ip('192.168.2.10'), protocol: 17, payloadLen: 22 } });
    expect(r.kind === 'error' && r.data.length).toBe(8);
    expect(IcmpRepr.emit(r)).toEqual(b);
    const outer = hex('45 c0 00 38 00 00 00 00 40 01 21 c2 ac 1f 00 02 ac 1f 00 03');
    const rep = { src: ip('172.31.0.2'), dst: ip('172.31.0.3'), protocol: 1, ttl: 64, ident: 0, dontFrag: false, tos: 0xc0, payloadLen: b.length };
    expect(Ipv4Repr.emitHeader(rep)).toEqual(outer);
  });
  it('a quoted header that does not parse makes the ICMP error malformed', () => {
    const b = hex('03 03 00 00 00 00 00 00 46 00 00 2a');
    const c = checksum(b);
    b[2] = c >> 8;
    b[3] = c & 0xff;
    expect(IcmpRepr.parse(b)).toMatchObject({ ok: false, error: { layer: 'icmp', code: 'malformed' } });
  });
});

// --- parse(emit(x)) = x -------------------------------------------------------------------------

const u8 = fc.integer({ min: 0, max: 255 });
const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const mac = fc.uint8Array({ minLength: 6, maxLength: 6 }).map((b) => formatMac(b));
const bytes = (max: number): fc.Arbitrary<Uint8Array> => fc.uint8Array({ maxLength: max });
const ipv4Repr = (payloadLen: fc.Arbitrary<number>): fc.Arbitrary<Ipv4Repr> =>
  fc.record({ src: u32, dst: u32, protocol: u8, ttl: u8, ident: u16, dontFrag: fc.boolean(), tos: u8, payloadLen });
const flags = fc.record({ fin: fc.boolean(), syn: fc.boolean(), rst: fc.boolean(), psh: fc.boolean(), ack: fc.boolean(), urg: fc.boolean(), ece: fc.boolean(), cwr: fc.boolean() });
const tcpRepr: fc.Arbitrary<TcpRepr> = fc.record(
  {
    srcPort: u16,
    dstPort: u16,
    seq: u32,
    ack: u32,
    flags,
    window: u16,
    urgent: u16,
    mss: u16,
    windowScale: fc.integer({ min: 0, max: 14 }),
    sackPermitted: fc.boolean(),
    timestamp: fc.record({ val: u32, ecr: u32 }),
    payload: bytes(64),
  },
  { requiredKeys: ['srcPort', 'dstPort', 'seq', 'ack', 'flags', 'window', 'urgent', 'sackPermitted', 'payload'] },
);

describe('round trips', () => {
  it('ethernet', () => {
    fc.assert(
      fc.property(fc.record({ dst: mac, src: mac, ethertype: fc.integer({ min: 0x0600, max: 0xffff }) }), bytes(64), (r, p) => {
        const got = unwrap(EthernetRepr.parse(EthernetRepr.emit(r, p)));
        expect(got.repr).toEqual(r);
        expect(got.payload).toEqual(p);
      }),
    );
  });
  it('arp', () => {
    fc.assert(fc.property(fc.record({ op: u16, sha: mac, spa: u32, tha: mac, tpa: u32 }), (r) => {
        expect(unwrap(ArpRepr.parse(ArpRepr.emit(r)))).toEqual(r);
      }),
    );
  });
  it('ipv4', () => {
    fc.assert(
      fc.property(
        bytes(80).chain((p) => fc.tuple(ipv4Repr(fc.constant(p.length)), fc.constant(p))),
        ([r, p]) => {
          const got = unwrap(Ipv4Repr.parse(Ipv4Repr.emit(r, p)));
          expect(got.repr).toEqual(r);
          expect(got.payload).toEqual(p);
          expect(Ipv4Repr.bufferLen(r)).toBe(20 + p.length);
        },
      ),
    );
  });
  it('tcp', () => {
    fc.assert(
      fc.property(tcpRepr, u32, u32, (r, src, dst) => {
        const b = TcpRepr.emit(r, src, dst);
        expect(b.length).toBe(TcpRepr.bufferLen(r));
        expect(b.length % 4 === r.payload.length % 4).toBe(true);
        expect(unwrap(TcpRepr.parse(b, src, dst))).toEqual(r);
      }),
    );
  });
  it('udp', () => {
    fc.assert(
      fc.property(fc.record({ srcPort: u16, dstPort: u16, payload: bytes(64) }), u32, u32, (r, src, dst) => {
        expect(unwrap(UdpRepr.parse(UdpRepr.emit(r, src, dst), src, dst))).toEqual(r);
      }),
    );
  });
  it('icmp', () => {
    const echo = fc.record({ kind: fc.constant('echo' as const), type: fc.constantFrom(0 as const, 8 as const), code: u8, ident: u16, seqNo: u16, data: bytes(64) });
    const error = fc.record({
      kind: fc.constant('error' as const),
      type: fc.constantFrom(3 as const, 11 as const),
      code: u8,
      rest: u32,
      header: ipv4Repr(fc.integer({ min: 8, max: 1480 })),
      data: fc.uint8Array({ minLength: 8, maxLength: 8 }),
    });
    const other = fc.record({ kind: fc.constant('other' as const), type: fc.constantFrom(4, 5, 13, 14, 42), code: u8, rest: u32, data: bytes(32) });
    fc.assert(
      fc.property(fc.oneof(echo, error, other), (r: IcmpRepr) => {
        const b = IcmpRepr.emit(r);
        expect(b.length).toBe(IcmpRepr.bufferLen(r));
        expect(unwrap(IcmpRepr.parse(b))).toEqual(r);
      }),
    );
  });
  it('parsers never throw on arbitrary bytes', () => {
    fc.assert(
      fc.property(bytes(120), u32, u32, (b, s, d) => {
        EthernetRepr.parse(b);
        ArpRepr.parse(b);
        Ipv4Repr.parse(b);
        Ipv4Repr.parse(b, { truncated: true });
        TcpRepr.parse(b, s, d);
        UdpRepr.parse(b, s, d);
        IcmpRepr.parse(b);
      }),
    );
  });
});
