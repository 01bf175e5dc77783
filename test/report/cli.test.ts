/** `netpath report` and `netpath diagram` through main(): files, stdout, exit codes, silence off a terminal. */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { progressLine, progressText } from '../../src/cli/progress.js';
import { ROOT } from '../helpers.js';

async function run(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(args, { out: (s) => (out += s), err: (s) => (err += s) });
  return { code, out, err };
}

const dir = mkdtempSync(join(tmpdir(), 'netpath-report-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const noSnat = join(ROOT, 'models/seed-no-snat.yaml');

describe('netpath report', () => {
  it('writes one self-contained page under 2 MB; nothing on stderr when it is not a terminal', async () => {
    const file = join(dir, 'seed.html');
    const r = await run('report', noSnat, '-o', file);
    expect(r).toMatchObject({ code: 0, out: '', err: '' });
    const html = readFileSync(file, 'utf8');
    expect(html.length).toBeLessThan(2 * 1024 * 1024);
    // nothing to fetch: no external scripts, styles, fonts or images
    expect(html).not.toMatch(/<(script|link|img|iframe)[^>]*(src|href)=/i);
    expect(html).not.toMatch(/url\((?!#)/);
    expect(html.match(/https?:\/\/[^"\s<]*/g)?.filter((u) => u !== 'http://www.w3.org/2000/svg') ?? []).toEqual([]);
    expect(html).toContain('data-ns="web2/ngx1"');
  });
  it('invariants with their results, the seed fixed so the same model gives the same page', async () => {
    const a = await run('report', join(ROOT, 'models/prop-seed.yaml'), '--runs', '10');
    const b = await run('report', join(ROOT, 'models/prop-seed.yaml'), '--runs', '10');
    expect(a.code).toBe(0);
    expect(a.out).toContain('<h2 id="inv-h">Invariants');
    expect(a.out).toBe(b.out);
  });
  it('bad input: exit 2 naming the option', async () => {
    expect((await run('report', noSnat, '--runs', 'x')).err).toContain('--runs');
    expect((await run('report', join(dir, 'missing.yaml'))).code).toBe(2);
    const r = await run('report', noSnat, '-o', join(dir, 'no/such/dir/x.html'));
    expect(r.code).toBe(2);
    expect(r.err).toContain('cannot write');
  });
});

describe('netpath diagram', () => {
  it('the topology alone, and one probe with its path', async () => {
    const plain = await run('diagram', noSnat);
    expect(plain.code).toBe(0);
    expect(plain.out.startsWith('<?xml')).toBe(true);
    expect(plain.out).not.toContain('class="probe-path"');
    const file = join(dir, 'p.svg');
    expect((await run('diagram', noSnat, '--probe', 'web1 curl ngx1', '-o', file)).code).toBe(0);
    const svg = readFileSync(file, 'utf8');
    expect(svg).toContain('class="probe-path"');
    expect(svg).toContain('SYN-ACK (reply) dropped: no-route at output');
    expect(svg).not.toContain('visibility="hidden"');
  });
  it('an unknown probe: exit 2 listing the probes', async () => {
    const r = await run('diagram', noSnat, '--probe', 'nope');
    expect(r.code).toBe(2);
    expect(r.err).toContain('"web1 curl ngx1"');
  });
});

describe('progress line', () => {
  it('counts, rate and time left', () => {
    expect(progressText('reach', 120, 1000, 'flows', 88)).toBe('  reach: 120/1000 flows, 88/s, ~10s left');
    expect(progressText('', 5, 200, 'cases', 0.5)).toBe('  5/200 cases, 0.5/s, ~7m left');
    expect(progressText('x', 1, 10, 'flows', 0)).toBe('  x: 1/10 flows');
  });
  it('draws nothing for short runs, then redraws in place and erases itself', () => {
    let t = 0;
    let err = '';
    const p = progressLine({ out: () => undefined, err: (s) => (err += s) }, 'flows', () => t);
    p.update('a', 1, 100);
    t = 200;
    p.update('a', 2, 100);
    expect(err).toBe('');
    t = 1000;
    p.update('a', 10, 100);
    expect(err).toBe('\r\x1b[K  a: 10/100 flows, 10/s, ~9s left');
    // a new label counts from when the last one ended
    t = 1500;
    p.update('b', 1, 4);
    t = 2000;
    p.update('b', 2, 4);
    expect(err.endsWith('\r\x1b[K  b: 2/4 flows, 2/s, ~1s left')).toBe(true);
    p.clear();
    expect(err.endsWith('\r\x1b[K')).toBe(true);
  });
});
