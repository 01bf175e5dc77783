/// <reference lib="dom" />
/**
 * The report in a real browser: Debian's chromium (installed by .ci/run), driven headless by
 * playwright-core, which never downloads a browser of its own. For several models: the SVG has
 * a node per namespace and an edge per link, clicking a probe row draws its path, the keyboard
 * moves the selection, nothing is fetched from the network, the page fits 1280 px, light and dark
 * both render; screenshots go to test-artifacts/report/ (gitignored).
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { ROOT } from '../helpers.js';
import { expectedCounts } from './helpers.js';
import { buildDiagram, buildReport, reportProbes } from '../../src/report/report.js';

const CHROMIUM = '/usr/bin/chromium';
const REQUIRE = process.env['NETPATH_REQUIRE_TOOLS'] === '1' || process.env['NETPATH_REQUIRE_KERNEL'] === '1';
const HAVE = existsSync(CHROMIUM);
const ARTEFACTS = resolve(ROOT, 'test-artifacts', 'report');

if (!HAVE && !REQUIRE)
  console.warn(
    `\n${'!'.repeat(78)}\n!! SKIPPED: browser tests of the report: ${CHROMIUM} not installed\n!! apt-get install -y chromium; set NETPATH_REQUIRE_TOOLS=1 to make this a failure\n${'!'.repeat(78)}\n`,
  );

const MODELS = ['seed-no-snat.yaml', 'dnat-port-forward.yaml', 'bridge-two-containers.yaml', 'policy-routing-fwmark.yaml', 'prop-seed.yaml'];


describe.runIf(HAVE || REQUIRE)('report in headless chromium', () => {
  let ctx: BrowserContext;
  let dir: string;
  let profile: string;
  const requests: string[] = [];

  beforeAll(async () => {
    expect(HAVE, `NETPATH_REQUIRE_TOOLS=1 but ${CHROMIUM} is missing (apt-get install -y chromium)`).toBe(true);
    dir = mkdtempSync(join(tmpdir(), 'netpath-report-'));
    profile = mkdtempSync(join(tmpdir(), 'netpath-chromium-'));
    mkdirSync(ARTEFACTS, { recursive: true });
    ctx = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      viewport: { width: 1280, height: 900 },
    });
    // the page must be self-contained: every request other than the file itself is recorded and refused
    await ctx.route('**/*', (route) => {
      const url = route.request().url();
      if (url.startsWith('file:')) return route.continue();
      requests.push(url);
      return route.abort();
    });
  }, 120_000);

  afterAll(async () => {
    await ctx?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  async function open(model: string, hash = ''): Promise<{ page: Page; file: string }> {
    const file = join(dir, model.replace(/\.yaml$/, '.html'));
    writeFileSync(file, await buildReport(resolve(ROOT, 'models', model), { seed: 1, runs: 20 }));
    const page = await ctx.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(pathToFileURL(file).href + hash);
    expect(errors).toEqual([]);
    return { page, file };
  }

  const visiblePath = (page: Page): Promise<string[]> =>
    page.$$eval('g.probe-path', (gs) => gs.filter((g) => g.getAttribute('visibility') === 'visible').map((g) => g.getAttribute('data-probe') ?? ''));

  it.each(MODELS)('%s: a node per namespace, an edge per link, clicking a row draws its path', async (model) => {
    const { world, probes } = reportProbes(resolve(ROOT, 'models', model));
    const want = expectedCounts(world);
    const { page } = await open(model);
    const nsIds = await page.$$eval('svg g.ns', (gs) => gs.map((g) => g.getAttribute('data-ns')));
    expect(nsIds.sort()).toEqual(Object.keys(world.netns).sort());
    // each namespace box is really drawn: a visible, non-empty rectangle
    for (const box of await page.$$('svg g.ns > rect')) expect(((await box.boundingBox())?.width ?? 0) > 10).toBe(true);
    expect(await page.locator('svg path.link.kind-veth').count()).toBe(want.veth);
    expect(await page.locator('svg path.link.kind-lan').count()).toBe(want.lan);
    expect(await page.locator('svg path.link.kind-port').count()).toBe(want.port);
    expect(await page.locator('#probes tbody tr').count()).toBe(probes.length);
    // the page fits 1280 px: no horizontal scrolling
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(1280);

    for (const [i, p] of probes.entries()) {
      if (i > 0 && i === probes.length - 1 && probes.length > 3) break; // enough rows per model
      await page.locator(`#probes tbody tr[data-probe="${p.key}"] td`).nth(2).click();
      expect(await visiblePath(page)).toEqual([p.key]);
      expect(await page.getAttribute(`#probes tbody tr[data-probe="${p.key}"]`, 'aria-selected')).toBe('true');
      expect(await page.isVisible(`#detail-${p.key}`)).toBe(true);
      const drawn = await page.$$eval(`g.probe-path[data-probe="${p.key}"] path.hop`, (hs) =>
        hs.map((h) => ({ dir: h.getAttribute('class'), len: (h as SVGPathElement).getTotalLength() })),
      );
      expect(drawn.length).toBe(p.path.hops.length);
      expect(drawn.every((h) => h.len > 0)).toBe(true);
    }
    await page.screenshot({ path: join(ARTEFACTS, `${model.replace(/\.yaml$/, '')}.png`), fullPage: true });
    await page.close();
  });

  it('seed without SNAT: web1, web2, ngx1 and the LAN; the SYN drawn to ngx1, the SYN-ACK drop in ngx1 with why and fixes', async () => {
    const { page, file } = await open('seed-no-snat.yaml');
    expect(statSync(file).size).toBeLessThan(2 * 1024 * 1024);
    const names = await page.$$eval('svg g.ns', (gs) => gs.map((g) => g.getAttribute('data-name')));
    expect(names.sort()).toEqual(['ngx1', 'web1', 'web2']);
    expect(await page.locator('svg g.lan[data-lan="lan0"]').count()).toBe(1);
    await page.locator('#probes tbody tr').first().click();
    const g = 'g.probe-path[data-probe="p0"]';
    expect(await page.getAttribute(g, 'visibility')).toBe('visible');
    // request hops reach ngx1's eth0; no reply hop is drawn (the SYN-ACK never leaves ngx1)
    expect(await page.locator(`${g} path.hop.request[data-hop="veth"]`).count()).toBe(1);
    expect(await page.locator(`${g} path.hop.reply`).count()).toBe(0);
    const drop = page.locator(`${g} g.dropmark`);
    expect(await drop.getAttribute('data-ns')).toBe('web2/ngx1');
    // the mark sits on ngx1's box
    const mark = (await drop.boundingBox())!;
    const box = (await page.locator('svg g.ns[data-ns="web2/ngx1"] > rect').boundingBox())!;
    expect(mark.x + mark.width / 2).toBeGreaterThanOrEqual(box.x);
    expect(mark.x + mark.width / 2).toBeLessThanOrEqual(box.x + box.width + 1);
    expect(mark.y + mark.height / 2).toBeGreaterThanOrEqual(box.y);
    expect(mark.y + mark.height / 2).toBeLessThanOrEqual(box.y + box.height);
    expect(await page.locator(`${g} g.tag.drop`).textContent()).toContain('SYN-ACK (reply) dropped: no-route at output');
    const detail = await page.locator('#detail-p0').innerText();
    expect(detail).toContain('died in ngx1 at output');
    expect(detail).toContain('ip netns exec ngx1 ip route add default via 192.168.2.20');
    expect(detail).toContain('route add -host 192.168.2.10 gw 172.31.0.2 dev eth0');
    await page.screenshot({ path: join(ARTEFACTS, 'seed-no-snat-light.png') });
    await page.emulateMedia({ colorScheme: 'dark' });
    const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    expect(bg).toBe('rgb(13, 17, 23)');
    await page.screenshot({ path: join(ARTEFACTS, 'seed-no-snat-dark.png') });
    await page.close();
  });

  it('keyboard: Tab reaches the rows, arrow keys move the selection and the drawn path', async () => {
    const { page } = await open('dnat-port-forward.yaml');
    // opens on the first probe with a why (p1: refused)
    expect(await visiblePath(page)).toEqual(['p1']);
    const focused = (): Promise<string | null | undefined> => page.evaluate(() => document.activeElement?.closest('tr')?.getAttribute('data-probe'));
    for (let i = 0; i < 10 && (await focused()) !== 'p0'; i++) await page.keyboard.press('Tab');
    expect(await focused()).toBe('p0');
    await page.keyboard.press('ArrowDown');
    expect(await visiblePath(page)).toEqual(['p1']);
    expect(await focused()).toBe('p1');
    await page.keyboard.press('End');
    await page.keyboard.press('ArrowUp');
    expect(await visiblePath(page)).toEqual(['p2']);
    await page.keyboard.press('Home');
    await page.keyboard.press('Enter'); // the row's button: selects it
    expect(await visiblePath(page)).toEqual(['p0']);
    // the DNAT and MASQUERADE rewrites are labelled on the first probe's path
    const tags = await page.$$eval('g.probe-path[data-probe="p0"] g.tag.nat text', (ts) => ts.map((t) => t.textContent));
    expect(tags).toContain('DNAT 172.31.0.2:8080 → 192.168.2.10:80');
    expect(tags).toContain('SNAT 172.31.0.3:49049 → 192.168.2.20:49049');
    await page.close();
  });

  it('a link to one probe opens with that probe drawn', async () => {
    const { page } = await open('bridge-two-containers.yaml', '#probe-p5');
    expect(await visiblePath(page)).toEqual(['p5']);
    await page.close();
  });

  it('the standalone SVG parses and shows one path', async () => {
    const file = join(dir, 'seed.svg');
    writeFileSync(file, await buildDiagram(resolve(ROOT, 'models', 'seed-no-snat.yaml'), 'web1 curl ngx1'));
    const page = await ctx.newPage();
    await page.goto(pathToFileURL(file).href);
    expect(await page.evaluate(() => document.documentElement.localName)).toBe('svg');
    expect(await page.locator('parsererror').count()).toBe(0);
    expect(await page.locator('g.ns').count()).toBe(3);
    expect(await page.locator('g.probe-path path.hop').count()).toBeGreaterThan(0);
    await page.close();
  });

  it('fetches nothing', () => {
    expect(requests).toEqual([]);
  });
});
