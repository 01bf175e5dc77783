/**
 * The capture writers (src/pcap/{pcap,pcapng,encode}.ts) are fast paths: their bytes must stay
 * what the first, plain writer produced.
 *
 * - test/pcap/digests.json: sha256 of every file `netpath check MODEL --pcap DIR --pcapng FILE`
 *   wrote for every bundled model with the plain writer (`node test/pcap/digests-gen.mjs` runs the
 *   CLI with test/pcap/reference/ in place of the writer, on the commit named in the file). A
 *   change of the engine's traces or a new model changes these files too: regenerate them then
 *   (`--check` compares today's writer without writing).
 * - test/pcap/reference/: the plain writer itself; every frame of every model, and whole files
 *   with edge cases (no comment, no direction, multi-byte UTF-8, odd lengths, times past 2^32 µs),
 *   must come out of today's writer byte for byte as out of it.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkModel } from '../../src/cli/check.js';
import { main } from '../../src/cli/main.js';
import { captureComments } from '../../src/pcap/comments.js';
import { frameBytes, ipPacketBytes, linuxTcpExtras } from '../../src/pcap/encode.js';
import { encodePcap } from '../../src/pcap/pcap.js';
import { encodePcapng, type PcapngInterface, type PcapngPacket } from '../../src/pcap/pcapng.js';
import * as ref from './reference/encode.js';
import { encodePcap as refEncodePcap } from './reference/pcap.js';
import { encodePcapng as refEncodePcapng } from './reference/pcapng.js';
import { ROOT } from '../helpers.js';

const MODELS = readdirSync(resolve(ROOT, 'models'))
  .filter((f) => f.endsWith('.yaml'))
  .sort();
const DIGESTS = resolve(ROOT, 'test/pcap/digests.json');

interface Digests {
  readonly generatedBy: string;
  readonly commit: string;
  readonly models: Record<string, { pcapng: string; pcap: Record<string, string> }>;
}

const tmp = mkdtempSync(join(tmpdir(), 'netpath-identical-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const silent = { out: () => {}, err: () => {} };

async function written(model: string): Promise<{ pcapng: string; pcap: Record<string, string> }> {
  const dir = join(tmp, model);
  mkdirSync(dir);
  await main(['check', resolve(ROOT, 'models', model), '--pcap', join(dir, 'pcap'), '--pcapng', join(dir, 'all.pcapng')], silent);
  const pcap: Record<string, string> = {};
  for (const f of readdirSync(join(dir, 'pcap')).sort()) pcap[f] = sha256(readFileSync(join(dir, 'pcap', f)));
  return { pcapng: sha256(readFileSync(join(dir, 'all.pcapng'))), pcap };
}

describe('netpath check --pcap --pcapng writes the files the plain writer wrote (test/pcap/digests.json)', () => {
  const want = JSON.parse(readFileSync(DIGESTS, 'utf8')) as Digests;
  it('covers every bundled model', () => {
    expect(Object.keys(want.models).sort()).toEqual(MODELS);
  });
  it.each(MODELS)('%s', async (m) => {
    expect(await written(m)).toEqual(want.models[m]);
  });
});

describe('today\'s writer gives the plain writer\'s bytes (test/pcap/reference/)', () => {
  it.each(MODELS)('%s: every frame, the pcap and the pcapng of each trace', (m) => {
    const { traces } = checkModel(resolve(ROOT, 'models', m));
    for (const tr of traces.flat()) {
      const tcp = linuxTcpExtras(tr.captures);
      const refTcp = ref.linuxTcpExtras(tr.captures);
      const comments = captureComments(tr);
      const ifaces: PcapngInterface[] = [];
      const index = new Map<string, number>();
      const packets: PcapngPacket[] = [];
      const records: { tUs: number; data: Uint8Array }[] = [];
      tr.captures.forEach((c, i) => {
        const data = frameBytes(c.frame, tcp);
        expect(data).toEqual(ref.frameBytes(c.frame, refTcp));
        const k = `${c.ns}/${c.dev}`;
        if (!index.has(k)) index.set(k, ifaces.push({ name: k, description: `interface ${c.dev} in ${c.ns}` }) - 1);
        const comment = comments[i] ?? '';
        packets.push({ iface: index.get(k)!, tUs: 1_655_271_580_000_000 + c.t, data, dir: c.dir, ...(comment ? { comment } : {}) });
        records.push({ tUs: 1_655_271_580_000_000 + c.t, data });
      });
      expect(encodePcapng(ifaces, packets)).toEqual(refEncodePcapng(ifaces, packets));
      expect(encodePcap(records)).toEqual(refEncodePcap(records));
    }
  });

  it('pcapng edge cases: no comment, no direction, no description, UTF-8, lengths 0..7, times past 2^32 µs', () => {
    const ifaces: PcapngInterface[] = [{ name: 'a/eth0' }, { name: 'ünï/çödé', description: 'Ω ≈ ç √ 🙂' }, { name: '' }];
    const packets: PcapngPacket[] = [];
    for (let len = 0; len < 8; len++) {
      const data = Uint8Array.from({ length: len }, (_, i) => (i * 37 + len) & 0xff);
      packets.push({ iface: len % 3, tUs: len * 2 ** 32 + len * 999_999, data });
      packets.push({ iface: (len + 1) % 3, tUs: 1_655_271_580_000_000 + len, data, dir: len % 2 ? 'in' : 'out' });
      packets.push({ iface: (len + 2) % 3, tUs: 2 ** 52 + len, data, comment: '🙂'.repeat(len) + 'x'.repeat(len) });
      packets.push({ iface: 0, tUs: len, data, dir: 'in', comment: 'é' });
      packets.push({ iface: 1, tUs: len, data, comment: 'lone \ud800 and \udc00 surrogates' + 'ß'.repeat(len) });
    }
    expect(encodePcapng(ifaces, packets)).toEqual(refEncodePcapng(ifaces, packets));
    expect(encodePcapng(ifaces, packets, 'app ✓')).toEqual(refEncodePcapng(ifaces, packets, 'app ✓'));
    expect(encodePcapng([], [])).toEqual(refEncodePcapng([], []));
    expect(() => encodePcapng(ifaces, [{ iface: 3, tUs: 0, data: new Uint8Array(1) }])).toThrow(/interface 3 of 3/);
  });

  it('pcap edge cases: no records, odd lengths, fractional seconds', () => {
    const records = [0, 1, 5, 64, 1514].map((len, i) => ({ tUs: 1_655_271_580_000_000 + i * 1_234_567, data: new Uint8Array(len).fill(i + 1) }));
    expect(encodePcap(records)).toEqual(refEncodePcap(records));
    expect(encodePcap([])).toEqual(refEncodePcap([]));
  });

  it('payload text: cut at the length (inside a multi-byte character too), zero-padded, or absent', () => {
    const { traces } = checkModel(resolve(ROOT, 'models/seed-lan-container.yaml'));
    const tr = traces[0]![0]!;
    const withData = tr.captures.find((c) => c.frame.payload.kind === 'ip' && c.frame.payload.ip.l4.kind === 'tcp' && c.frame.payload.ip.l4.len > 0)!;
    const ip = withData.frame.payload.kind === 'ip' ? withData.frame.payload.ip : undefined;
    if (ip?.l4.kind !== 'tcp') throw new Error('the seed has a TCP segment with data');
    for (const [data, len] of [['GET / HTTP/1.1\r\n', 5], ['héllo wörld', 2], ['héllo wörld', 3], ['🙂🙂', 6], ['ab', 9], [undefined, 4], ['', 0]] as const) {
      const l4 = { ...ip.l4, len, ...(data !== undefined ? { data } : {}) };
      if (data === undefined) delete (l4 as { data?: string }).data;
      const p = { ...ip, l4 };
      expect(ipPacketBytes(p, linuxTcpExtras(tr.captures))).toEqual(ref.ipPacketBytes(p, ref.linuxTcpExtras(tr.captures)));
    }
    const udp = { ...ip, l4: { kind: 'udp' as const, sport: 5353, dport: 53, len: 7, data: 'ünïcode' } };
    expect(ipPacketBytes(udp)).toEqual(ref.ipPacketBytes(udp));
  });
});
