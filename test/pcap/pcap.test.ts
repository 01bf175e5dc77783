/**
 * src/pcap: file formats against literal bytes, every frame of every model parsed back with
 * src/wire, byte-identical output across runs, the comments, and then the real readers: tshark
 * (checksum validation on, no malformed frames, the seed's addresses and flags per interface) and
 * tcpdump -r over every file written for every model.
 */
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkModel } from '../../src/cli/check.js';
import { main } from '../../src/cli/main.js';
import { captureComments } from '../../src/pcap/comments.js';
import { captureFileName, pcapFiles, pcapngBytes, writeCaptures } from '../../src/pcap/captures.js';
import { frameBytes, linuxTcpExtras } from '../../src/pcap/encode.js';
import { encodePcap } from '../../src/pcap/pcap.js';
import { encodePcapng } from '../../src/pcap/pcapng.js';
import type { ProbeTrace } from '../../src/trace/types.js';
import { ArpRepr } from '../../src/wire/arp.js';
import { ETHERTYPE, EthernetRepr } from '../../src/wire/ethernet.js';
import { IcmpRepr } from '../../src/wire/icmp.js';
import { IP_PROTO, Ipv4Repr } from '../../src/wire/ipv4-packet.js';
import { unwrap } from '../../src/wire/result.js';
import { TcpRepr } from '../../src/wire/tcp.js';
import { UdpRepr } from '../../src/wire/udp.js';
import { ROOT } from '../helpers.js';
import { HAS_TCPDUMP, HAS_TSHARK, REQUIRE_TOOLS, tcpdumpRead, tshark, tsharkCheck, warnMissing } from './tools.js';

const SEED = resolve(ROOT, 'models/seed-lan-container.yaml');
const MODELS = readdirSync(resolve(ROOT, 'models'))
  .filter((f) => f.endsWith('.yaml'))
  .sort();

function modelTraces(path: string): { traces: ProbeTrace[]; labels: string[] } {
  const { reports, traces } = checkModel(path);
  const flat: ProbeTrace[] = [];
  const labels: string[] = [];
  traces.forEach((ts, i) => ts.forEach((t) => (flat.push(t), labels.push(reports[i]!.name))));
  return { traces: flat, labels };
}

const tmp = mkdtempSync(join(tmpdir(), 'netpath-pcap-'));
// netpath creates only the last folder of an output path
mkdirSync(join(tmp, 'models'));
mkdirSync(join(tmp, 'cli'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

describe('file formats', () => {
  it('classic pcap: global header and one record', () => {
    const b = encodePcap([{ tUs: 1_655_271_580_000_180, data: Uint8Array.of(0xaa, 0xbb) }]);
    expect(hex(b)).toBe(
      'd4c3b2a1' + '0200' + '0400' + '00000000' + '00000000' + '00000400' + '01000000' + // magic, 2.4, zone, sigfigs, snaplen 262144, Ethernet
        '9c70a962' + 'b4000000' + '02000000' + '02000000' + 'aabb', // 1655271580 s, 180 µs, lengths
    );
  });
  it('pcapng: SHB, IDB with if_name, EPB with comment and direction', () => {
    const b = encodePcapng([{ name: 'web2/eth0' }], [{ iface: 0, tUs: 0x1_0000_0002, data: Uint8Array.of(1, 2, 3), dir: 'out', comment: 'hi' }], 'np');
    const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
    const blocks: { type: number; body: Uint8Array }[] = [];
    for (let at = 0; at < b.length; ) {
      const type = v.getUint32(at, true);
      const len = v.getUint32(at + 4, true);
      expect(len % 4).toBe(0);
      expect(v.getUint32(at + len - 4, true)).toBe(len);
      blocks.push({ type, body: b.subarray(at + 8, at + len - 4) });
      at += len;
    }
    expect(blocks.map((x) => x.type)).toEqual([0x0a0d0d0a, 1, 6]);
    expect(hex(blocks[0]!.body)).toBe('4d3c2b1a' + '0100' + '0000' + 'ffffffffffffffff' + '0400' + '0200' + '6e700000' + '00000000');
    expect(hex(blocks[1]!.body)).toBe('0100' + '0000' + '00000400' + '0200' + '0900' + '776562322f657468' + '30000000' + '0900' + '0100' + '06000000' + '00000000');
    expect(hex(blocks[2]!.body)).toBe(
      '00000000' + '01000000' + '02000000' + '03000000' + '03000000' + '01020300' + '0100' + '0200' + '68690000' + '0200' + '0400' + '02000000' + '00000000',
    );
  });
  it('file names: host and netns joined by _, unsafe characters as _', () => {
    expect(captureFileName('web2', 'veth1-p')).toBe('web2_veth1-p.pcap');
    expect(captureFileName('web2/ngx1', 'eth0')).toBe('web2_ngx1_eth0.pcap');
    expect(captureFileName('h 1/n:s', 'e@0')).toBe('h_1_n_s_e_0.pcap');
  });
});

describe('frames', () => {
  it.each(MODELS)('%s: every captured frame parses back with src/wire, checksums correct, and re-emits to the same bytes', (m) => {
    const { traces } = modelTraces(resolve(ROOT, 'models', m));
    for (const tr of traces) {
      const tcp = linuxTcpExtras(tr.captures);
      for (const c of tr.captures) {
        const b = frameBytes(c.frame, tcp);
        const eth = unwrap(EthernetRepr.parse(b));
        expect(eth.repr.src).toBe(c.frame.src);
        if (eth.repr.ethertype === ETHERTYPE.arp) {
          expect(EthernetRepr.emit(eth.repr, ArpRepr.emit(unwrap(ArpRepr.parse(eth.payload))))).toEqual(b);
          continue;
        }
        const { repr, payload } = unwrap(Ipv4Repr.parse(eth.payload));
        let l4: Uint8Array;
        if (repr.protocol === IP_PROTO.tcp) l4 = TcpRepr.emit(unwrap(TcpRepr.parse(payload, repr.src, repr.dst)), repr.src, repr.dst);
        else if (repr.protocol === IP_PROTO.udp) l4 = UdpRepr.emit(unwrap(UdpRepr.parse(payload, repr.src, repr.dst)), repr.src, repr.dst);
        else l4 = IcmpRepr.emit(unwrap(IcmpRepr.parse(payload)));
        expect(EthernetRepr.emit(eth.repr, Ipv4Repr.emit(repr, l4))).toEqual(b);
      }
    }
  });

  it('the seed: Linux options on SYN and SYN-ACK, timestamps after, the same segment alike at every capture point', () => {
    const { traces } = modelTraces(SEED);
    const tr = traces[0]!;
    const tcp = linuxTcpExtras(tr.captures);
    const segs = tr.captures.flatMap((c) => {
      if (c.frame.payload.kind !== 'ip') return [];
      const { repr, payload } = unwrap(Ipv4Repr.parse(unwrap(EthernetRepr.parse(frameBytes(c.frame, tcp))).payload));
      return [{ c, ip: repr, tcp: unwrap(TcpRepr.parse(payload, repr.src, repr.dst)) }];
    });
    const syn = segs.find((s) => s.tcp.flags.syn && !s.tcp.flags.ack)!;
    expect(syn.tcp).toMatchObject({ window: 64240, mss: 1460, sackPermitted: true, windowScale: 7, timestamp: { ecr: 0 } });
    const synAck = segs.find((s) => s.tcp.flags.syn && s.tcp.flags.ack)!;
    expect(synAck.tcp).toMatchObject({ window: 65160, mss: 1460, sackPermitted: true, windowScale: 7, timestamp: { ecr: syn.tcp.timestamp!.val } });
    for (const s of segs.filter((x) => !x.tcp.flags.syn)) {
      expect(s.tcp.mss).toBeUndefined();
      expect(s.tcp.timestamp).toBeDefined();
      expect(s.ip.dontFrag).toBe(true);
    }
    // options, window and IP ID do not change between web1's eth0 and ngx1's eth0
    const bySeq = new Map<string, string>();
    for (const s of segs) {
      const k = `${s.tcp.seq}/${s.tcp.ack}/${s.ip.ident}`;
      const v = JSON.stringify({ w: s.tcp.window, ts: s.tcp.timestamp, mss: s.tcp.mss });
      expect(bySeq.get(k) ?? v).toBe(v);
      bySeq.set(k, v);
    }
  });
});

describe('captures', () => {
  it('the same model gives byte-identical files', () => {
    const a = modelTraces(SEED);
    const b = modelTraces(SEED);
    const fa = writeCaptures(a.traces, join(tmp, 'run1'), undefined, { labels: a.labels });
    const fb = writeCaptures(b.traces, join(tmp, 'run2'), undefined, { labels: b.labels });
    expect(fa.map((f) => f.name)).toEqual(['web1_eth0.pcap', 'web2_eth0.pcap', 'web2_veth1-p.pcap', 'web2_ngx1_eth0.pcap']);
    for (const f of fa) expect(readFileSync(join(tmp, 'run2', f.name))).toEqual(readFileSync(join(tmp, 'run1', f.name)));
    expect(fb.length).toBe(fa.length);
    expect(pcapngBytes(a.traces, undefined, { labels: a.labels })).toEqual(pcapngBytes(b.traces, undefined, { labels: b.labels }));
  });

  it('the seed: comments tell the NAT and the forwarding', () => {
    const tr = modelTraces(SEED).traces[0]!;
    const comments = captureComments(tr);
    const at = (ns: string, dev: string, dir: 'in' | 'out', syn: boolean): string => {
      const i = tr.captures.findIndex((c) => c.ns === ns && c.dev === dev && c.dir === dir && c.frame.payload.kind === 'ip' && c.frame.payload.ip.l4.kind === 'tcp' && !!c.frame.payload.ip.l4.flags.syn === syn && !c.frame.payload.ip.l4.flags.ack === syn);
      return comments[i]!;
    };
    expect(at('web1', 'eth0', 'out', true)).toBe('local output');
    expect(at('web2', 'eth0', 'in', true)).toMatch(/^NAT: src 172\.31\.0\.3:(\d+) -> 192\.168\.2\.20:\1; forwarded to veth1-p$/);
    expect(at('web2', 'veth1-p', 'out', true)).toMatch(
      /^forwarded from eth0; NAT: src 172\.31\.0\.3:(\d+) -> 192\.168\.2\.20:\1 by POSTROUTING rule 1: -A POSTROUTING -s 172\.31\.0\.3\/32 -j MASQUERADE \[seed-web2\.sh:\d+\]$/,
    );
    expect(at('web2/ngx1', 'eth0', 'in', true)).toMatch(/^delivered locally; tcp\/80 listener: SYN from 192\.168\.2\.20:\d+, answering SYN-ACK$/);
  });

  it('without SNAT: the SYN reaches ngx1, the answer is dropped there, and the comment says why', () => {
    const tr = modelTraces(resolve(ROOT, 'models/seed-no-snat.yaml')).traces[0]!;
    const comments = captureComments(tr);
    const i = tr.captures.findIndex((c) => c.ns === 'web2/ngx1' && c.dir === 'in' && c.frame.payload.kind === 'ip');
    expect(comments[i]).toBe('delivered locally; tcp/80 listener: SYN from 172.31.0.3:' + (tr.captures[i]!.frame.payload.kind === 'ip' && tr.captures[i]!.frame.payload.ip.l4.kind === 'tcp' ? tr.captures[i]!.frame.payload.ip.l4.sport : '') + ', answering SYN-ACK; answer dropped: no route to 172.31.0.3 in web2/ngx1; send failed: ENETUNREACH');
    // nothing comes back out of ngx1
    expect(tr.captures.filter((c) => c.ns === 'web2/ngx1' && c.dir === 'out' && c.frame.payload.kind === 'ip')).toEqual([]);
  });

  it('several probes follow each other a whole second apart; the first packet of each says which', () => {
    const { traces, labels } = modelTraces(resolve(ROOT, 'models/reject-forward-udp-icmp.yaml'));
    expect(traces.length).toBeGreaterThan(1);
    const files = pcapFiles(traces, undefined, { labels, epochUs: 0 });
    const web1 = files.find((f) => f.name === 'web1_eth0.pcap')!;
    const v = new DataView(web1.bytes.buffer, web1.bytes.byteOffset);
    const secs: number[] = [];
    for (let at = 24; at < web1.bytes.length; at += 16 + v.getUint32(at + 8, true)) secs.push(v.getUint32(at, true));
    expect(secs[0]).toBe(0);
    expect([...new Set(secs)]).toEqual(traces.map((_, i) => i));
  });
});

// --- real readers ---------------------------------------------------------------------------------

warnMissing('test/pcap/pcap.test.ts');

describe.runIf(HAS_TSHARK || REQUIRE_TOOLS)('tshark', () => {
  it('is installed', () => {
    expect(HAS_TSHARK, 'NETPATH_REQUIRE_TOOLS=1 but tshark is missing (apt-get install -y tshark)').toBe(true);
  });

  const TCP_SEQUENCE = (client: string): string[] => {
    const s = '192.168.2.10';
    return [
      `${client}>${s} 0x0002 0`, // SYN
      `${s}>${client} 0x0012 0`, // SYN-ACK
      `${client}>${s} 0x0010 0`, // ACK
      `${client}>${s} 0x0018 71`, // request
      `${s}>${client} 0x0010 0`, // ACK of the request
      `${s}>${client} 0x0018 101`, // response header
      `${s}>${client} 0x0018 24`, // body
      `${client}>${s} 0x0010 0`, // ACK
      `${client}>${s} 0x0010 0`, // ACK
      `${client}>${s} 0x0011 0`, // FIN
      `${s}>${client} 0x0011 0`, // FIN
      `${client}>${s} 0x0010 0`, // last ACK
    ];
  };
  const rows = (file: string): string[] =>
    tshark(file, ['arp.opcode', 'arp.src.proto_ipv4', 'arp.dst.proto_ipv4', 'ip.src', 'ip.dst', 'tcp.flags', 'tcp.len']).map(([op, asrc, adst, src, dst, flags, len]) =>
      op ? `arp ${op === '1' ? 'who-has' : 'reply'} ${asrc}>${adst}` : `${src}>${dst} ${flags} ${len}`,
    );

  it("the seed as in the article: web2's eth0 shows 172.31.0.3 <-> 192.168.2.10, veth1-p 192.168.2.20 <-> 192.168.2.10, with the ARP exchange", () => {
    const { traces, labels } = modelTraces(SEED);
    const dir = join(tmp, 'seed');
    writeCaptures(traces, dir, undefined, { labels });
    expect(rows(join(dir, 'web2_eth0.pcap'))).toEqual(['arp who-has 172.31.0.3>172.31.0.2', 'arp reply 172.31.0.2>172.31.0.3', ...TCP_SEQUENCE('172.31.0.3')]);
    expect(rows(join(dir, 'web2_veth1-p.pcap'))).toEqual(['arp who-has 192.168.2.20>192.168.2.10', 'arp reply 192.168.2.10>192.168.2.20', ...TCP_SEQUENCE('192.168.2.20')]);
    expect(rows(join(dir, 'web2_ngx1_eth0.pcap'))).toEqual(['arp who-has 192.168.2.20>192.168.2.10', 'arp reply 192.168.2.10>192.168.2.20', ...TCP_SEQUENCE('192.168.2.20')]);
    // web1 acknowledges the header before the body reaches it: on its own eth0 the ACK comes between
    const web1 = TCP_SEQUENCE('172.31.0.3');
    [web1[6], web1[7]] = [web1[7]!, web1[6]!];
    expect(rows(join(dir, 'web1_eth0.pcap'))).toEqual(['arp who-has 172.31.0.3>172.31.0.2', 'arp reply 172.31.0.2>172.31.0.3', ...web1]);
    // tshark reads the options as Linux sends them
    const [syn] = tshark(join(dir, 'web2_veth1-p.pcap'), ['tcp.window_size_value', 'tcp.options.mss_val', 'tcp.options.sack_perm', 'tcp.options.wscale.shift', 'tcp.options.timestamp.tsecr'], 'tcp.flags == 0x002');
    expect(syn).toMatchObject({ 0: '64240', 1: '1460', 3: '7', 4: '0' });
    expect(syn![2]).not.toBe(''); // SACK permitted
    const [ack] = tshark(join(dir, 'web2_veth1-p.pcap'), ['tcp.window_size', 'tcp.options.timestamp.tsval'], 'tcp.flags == 0x010');
    expect(ack![0]).toBe('64256'); // 502 << 7: the window scale was understood
  });

  it('the checker finds a bad checksum (so a clean result means something)', async () => {
    const f = pcapFiles(modelTraces(SEED).traces).find((x) => x.name === 'web2_veth1-p.pcap')!;
    const bad = f.bytes.slice();
    bad[bad.length - 1] = bad[bad.length - 1]! ^ 0xff; // last byte of the last frame: inside the TCP header
    const path = join(tmp, 'corrupt.pcap');
    writeFileSync(path, bad);
    const r = await tsharkCheck(path);
    expect(r.problems).toHaveLength(1);
    expect(r.problems[0]).toMatch(/checksum status [^ ]*0/);
  });

  it('the seed pcapng: one interface per namespace and device, a comment on every packet', () => {
    const { traces, labels } = modelTraces(SEED);
    const file = join(tmp, 'seed.pcapng');
    writeFileSync(file, pcapngBytes(traces, undefined, { labels }));
    const got = tshark(file, ['frame.interface_name', 'frame.comment', 'ip.src', 'tcp.flags']);
    expect([...new Set(got.map((r) => r[0]))]).toEqual(['web1/eth0', 'web2/eth0', 'web2/veth1-p', 'web2/ngx1/eth0']);
    expect(got.every((r) => r[1] !== '')).toBe(true);
    expect(got[0]![1]).toMatch(/^\[web1 curl ngx1\] neighbour 172\.31\.0\.2 dev eth0 INCOMPLETE/);
    const synOut = got.find((r) => r[0] === 'web2/veth1-p' && r[3] === '0x0002')!;
    expect(synOut[1]).toMatch(/NAT: src 172\.31\.0\.3:\d+ -> 192\.168\.2\.20:\d+/);
    expect(synOut[2]).toBe('192.168.2.20');
    const dirs = tshark(file, ['frame.interface_name', 'pkt_comment', 'frame.packet_flags_direction']);
    expect(dirs.find((r) => r[0] === 'web1/eth0')![2]).toBe('0x00000002'); // outbound
  });

});

describe.runIf((HAS_TSHARK && HAS_TCPDUMP) || REQUIRE_TOOLS).concurrent('every model, every file: tshark (checksums validated) and tcpdump -r', () => {
  it.each(MODELS)('%s', async (m) => {
    const { traces, labels } = modelTraces(resolve(ROOT, 'models', m));
    const dir = join(tmp, 'models', m);
    const files = writeCaptures(traces, dir, undefined, { labels }).map((f) => ({ path: join(dir, f.name), packets: f.packets }));
    const ng = { path: join(dir, 'all.pcapng'), packets: files.reduce((n, f) => n + f.packets, 0) };
    writeFileSync(ng.path, pcapngBytes(traces, undefined, { labels }));
    const checks = await Promise.all(
      [...files, ng].map(async (f) => {
        const [ts, td] = await Promise.all([tsharkCheck(f.path), tcpdumpRead(f.path)]);
        return { f, ts, td };
      }),
    );
    for (const { f, ts, td } of checks) {
      expect(ts.problems).toEqual([]);
      expect(ts.frames, f.path).toBe(f.packets);
      // tcpdump refuses a pcapng without interfaces ("no Interface Description Blocks"): a model whose
      // probes never put a frame on a wire
      if (f.packets === 0 && f === ng) continue;
      expect(td.status, td.stderr).toBe(0);
      expect(td.lines.length, f.path).toBe(f.packets);
      // tcpdump marks what it cannot decode with [|proto]; netpath's UDP text is not DNS
      expect(td.lines.filter((l) => /\[\|(?!domain)/.test(l))).toEqual([]);
    }
  });
});

describe.runIf(HAS_TCPDUMP || REQUIRE_TOOLS)('tcpdump -r', () => {
  it('is installed', () => {
    expect(HAS_TCPDUMP, 'NETPATH_REQUIRE_TOOLS=1 but tcpdump is missing (apt-get install -y tcpdump)').toBe(true);
  });

  it('the seed on veth1-p reads like the article', async () => {
    const { traces } = modelTraces(SEED);
    const dir = join(tmp, 'td-seed');
    writeCaptures(traces, dir);
    const lines = (await tcpdumpRead(join(dir, 'web2_veth1-p.pcap'))).lines;
    expect(lines[0]).toMatch(/^05:39:40\.000180 ARP, Request who-has 192\.168\.2\.10 tell 192\.168\.2\.20, length 28$/);
    expect(lines[2]).toMatch(/IP 192\.168\.2\.20\.\d+ > 192\.168\.2\.10\.80: Flags \[S\], seq \d+, win 64240, options \[mss 1460,sackOK,TS val \d+ ecr 0,nop,wscale 7\], length 0$/);
    expect(lines[3]).toMatch(/IP 192\.168\.2\.10\.80 > 192\.168\.2\.20\.\d+: Flags \[S\.\], seq \d+, ack \d+, win 65160, options \[mss 1460,sackOK,TS val \d+ ecr \d+,nop,wscale 7\], length 0$/);
    expect(lines[5]).toMatch(/Flags \[P\.\], seq 1:72, ack 1, win 502, options \[nop,nop,TS val \d+ ecr \d+\], length 71: HTTP: GET \/ HTTP\/1\.1$/);
  });
});

describe('netpath trace/check --pcap --pcapng', () => {
  it('writes the files and reports them on stderr, stdout unchanged', async () => {
    const out: string[] = [];
    const err: string[] = [];
    const io = { out: (s: string) => void out.push(s), err: (s: string) => void err.push(s) };
    const dir = join(tmp, 'cli-trace');
    const ng = join(tmp, 'cli', 'trace.pcapng');
    const code = await main(['trace', SEED, '--from', 'web1', '--to', '192.168.2.10:80', '--json', '--pcap', dir, '--pcapng', ng], io);
    expect(code).toBe(0);
    expect(() => JSON.parse(out.join(''))).not.toThrow();
    expect(readdirSync(dir).sort()).toEqual(['.netpath-captures', 'web1_eth0.pcap', 'web2_eth0.pcap', 'web2_ngx1_eth0.pcap', 'web2_veth1-p.pcap']);
    expect(err.join('')).toContain(`wrote 4 pcap files to ${dir}`);
    expect(readFileSync(ng).subarray(0, 4)).toEqual(Buffer.from([0x0a, 0x0d, 0x0d, 0x0a]));

    const dir2 = join(tmp, 'cli-check');
    const code2 = await main(['check', SEED, '--pcap', dir2], { out: () => {}, err: () => {} });
    expect(code2).toBe(0);
    // one probe without branches: check writes what trace writes
    for (const f of readdirSync(dir)) expect(readFileSync(join(dir2, f))).toEqual(readFileSync(join(dir, f)));
  });
});
