/**
 * The dashboard in a real browser: Debian's chromium driven by playwright-core against an
 * engine in this process (null ports; a match and an ACL stage on one pipeline, a route stage
 * on another). It
 * asks for the token, then shows the engine, its charts move and its counters rise; a config
 * change applied from the page changes the pipeline; a bad one is refused with its path and
 * changes nothing; when the engine stops, the page says so. No script error and no
 * content-security-policy violation on the way.
 *
 * Without a browser it skips, saying why; in CI (CI=true), which installs chromium
 * (scripts/setup.sh), a missing browser fails instead.
 * FASTPATH_WRITE_SCREENSHOT=1 also writes docs/images/dashboard.png.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { Engine, serve, type EngineConfig, type ServeHandle } from '@fastpath/control';

import { repoRoot, scratchDir } from './helpers.js';

const CHROMIUM = process.env.FASTPATH_CHROMIUM ?? '/usr/bin/chromium';
const noBrowser = existsSync(CHROMIUM) ? undefined : `no browser at ${CHROMIUM} (apt-get install chromium, or point FASTPATH_CHROMIUM at one)`;
const inCi = process.env.CI === 'true';
if (noBrowser && !inCi) console.warn(`serve-dashboard.test.ts skipped: ${noBrowser}`);

const SCREENSHOT = join(repoRoot, 'docs/images/dashboard.png');
const name = `fp-dash-${process.pid}`;
const TOKEN = 'dashboard-test-token-0123456789';
const config: EngineConfig = {
  ports: { a: { null: {} }, b: { null: {} }, c: { null: {} } },
  lcores: { main: 0, workers: [{ lcore: 1, cpu: 0 }] },
  memory: { hugepages: false },
  eal: { filePrefix: name },
  pipelines: [
    // net_null's frames are all zeros: ethertype 0 matches every one, and none is IP, so no
    // ACL rule hits (they pass as unmatched) and the route stage drops each as not IP.
    {
      name: 'ab',
      input: 'a',
      stages: [
        { kind: 'match', name: 'every-frame', match: { ethertype: 0 }, action: 'count' },
        { kind: 'acl', name: 'edge', rules: [{ name: 'telnet', proto: 'tcp', dstPorts: 23, action: 'drop' }] },
        { kind: 'macRewrite', dst: '02:00:00:00:00:02' },
      ],
      output: 'b',
    },
    { name: 'ba', input: 'b', output: 'a' },
    // No output, as l3fwd has none: the route stage picks each packet's port (one no stage
    // sends anywhere is dropped at the end); net_null's frames it drops as not IP.
    { name: 'cr', input: 'c', stages: [{ kind: 'route', name: 'lpm', routes: [{ prefix: '198.18.0.0/15', via: 'lab' }], nextHops: { lab: { port: 'a', dstMac: '02:00:00:00:00:0a' } } }] },
  ],
};

let engine: Engine;
let server: ServeHandle;
let browser: Browser;
let page: Page;
/** Script errors, and console errors other than the HTTP statuses the page is expected to meet (401, 400). */
const problems: string[] = [];

/** The part of a canvas element read here (the test's types have no DOM). */
interface Canvas {
  toDataURL(): string;
}

/** A number as the page shows it ("12,345 packets" → 12345). */
const shown = async (selector: string) => Number((await page.locator(selector).first().textContent())!.replace(/[^\d.]/g, ''));

// CI installs chromium: there, a missing one is a failure, not a skip.
if (noBrowser && inCi) {
  it('finds chromium (CI=true: scripts/setup.sh installs it)', () => {
    expect.fail(`${noBrowser}; CI must run the browser test: run scripts/setup.sh, which installs chromium`);
  });
}

describe.skipIf(noBrowser !== undefined)('the dashboard in chromium', () => {
  beforeAll(async () => {
    engine = await Engine.start(config);
    const tokenFile = join(scratchDir('dashboard'), 'token');
    writeFileSync(tokenFile, TOKEN, { mode: 0o600 });
    server = await serve(engine, { listen: '127.0.0.1:0', tokenFile });
    browser = await chromium.launch({ executablePath: CHROMIUM });
    page = await browser.newPage({ viewport: { width: 1440, height: 1000 }, colorScheme: 'light' });
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    page.on('console', (message) => {
      if (message.type() !== 'error') return;
      if (/^Failed to load resource: the server responded with a status of (401|400)\b/.test(message.text())) return;
      problems.push(`console: ${message.text()}`);
    });
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    if (engine && !engine.stopped) await engine.stop();
  });

  it('asks for the token, then shows the engine: name, IOVA mode, lcores, memory map', async () => {
    await page.goto(`${server.url}/`);
    await expect.poll(() => page.locator('#status').textContent()).toBe('token needed');
    await expect.poll(() => page.locator('#token-note').textContent()).toMatch(/needs a token/);
    await page.fill('#token', TOKEN);
    await page.click('#token-form button');
    await expect.poll(() => page.locator('#status').textContent(), { timeout: 10_000 }).toBe('running');

    expect(await page.locator('#engine-name').textContent()).toBe(name);
    expect(await page.locator('#iova-mode').getAttribute('data-iova')).toBe(engine.iovaMode);
    // The memory map: one drawn block per IOVA-contiguous run, as many table rows (up to 16).
    const runs = engine.stats().memoryRuns.length;
    expect(runs).toBeGreaterThan(0);
    expect(await page.locator('#memory-map svg rect.run').count()).toBe(runs);
    expect(await page.locator('#memory-map table.runs tbody tr').count()).toBe(Math.min(16, runs));
    expect(await page.locator('#memory-map svg desc').textContent()).toMatch(new RegExp(`^${runs} IOVA-contiguous runs? over `));
    // The worker lcore, busy (a null port always has packets).
    await expect.poll(() => shown('.lcore[data-lcore="1"] [data-field="busy"]')).toBeGreaterThan(0);
    expect(await page.locator('.lcore[data-lcore="1"]').textContent()).toContain('CPU 0');
  });

  it('moves its charts and raises its counters as ticks arrive', async () => {
    const chart = page.locator('.port[data-port="a"] .chart');
    const canvas = page.locator('.port[data-port="a"] .chart canvas');
    const read = async () => ({
      points: Number(await chart.getAttribute('data-points')),
      image: await canvas.evaluate((c) => (c as unknown as Canvas).toDataURL()),
      rx: await shown('.port[data-port="a"] [data-field="rx-total"]'),
      matched: await shown('.pipeline[data-pipeline="ab"] [data-counter="rules.0.matched"]'),
      unmatched: await shown('.pipeline[data-pipeline="ab"] [data-counter="acls.0.unmatched"]'),
      notIp: await shown('.pipeline[data-pipeline="cr"] [data-counter="routes.0.notIp"]'),
    });
    const before = await read();
    await page.waitForTimeout(1_000);
    const after = await read();
    // About 10 ticks a second.
    expect(after.points - before.points).toBeGreaterThanOrEqual(5);
    expect(after.image).not.toBe(before.image);
    for (const counter of ['rx', 'matched', 'unmatched', 'notIp'] as const) expect(after[counter], counter).toBeGreaterThan(before[counter]);
    // Rules and next hops that see no packet are there, at 0, as the engine counts them.
    expect(await page.locator('.pipeline[data-pipeline="ab"] [data-acl="edge"] tbody th').allTextContents()).toEqual(['telnet', 'no rule matched (default)']);
    expect(await shown('.pipeline[data-pipeline="ab"] [data-counter="acls.0.aclRules.0.hits"]')).toBe(0);
    expect(await page.locator('.pipeline[data-pipeline="cr"] [data-route="lpm"] tbody th').allTextContents()).toEqual(['dropped']);
    expect(await page.locator('.pipeline[data-pipeline="cr"] [data-next-hops="lpm"] tbody th').allTextContents()).toEqual(['lab']);
    expect(await shown('.pipeline[data-pipeline="cr"] [data-counter="routes.0.nextHops.0.forwarded"]')).toBe(0);
    expect(await shown('.port[data-port="a"] [data-field="rx-rate"]')).toBeGreaterThan(0);
    // The pipeline shows its stages from the running config.
    expect(await page.locator('.pipeline[data-pipeline="ab"] .stages').textContent()).toMatch(/in a.*match every-frame → count.*acl edge \(1 rule, default pass\).*macRewrite dst 02:00:00:00:00:02.*out b/);
    expect(await page.locator('.pipeline[data-pipeline="cr"] .stages').textContent()).toMatch(/in c.*route lpm \(1 route, 1 next hop\)/);
  });

  it('applies a config change from the page: the pipeline changes, live', async () => {
    const text = await page.inputValue('#config-text');
    expect(JSON.parse(text)).toEqual(JSON.parse(JSON.stringify(config)));
    const next = { ...config, pipelines: [config.pipelines[0]!, { name: 'ba', input: 'b', stages: ['drop'] }, config.pipelines[2]!] };
    await page.fill('#config-text', JSON.stringify(next, null, 2));
    await page.click('#config-apply');
    await expect.poll(() => page.locator('#config-result').textContent(), { timeout: 10_000 }).toBe('Applied: the engine runs generation 2.');
    expect(engine.stats().generation).toBe(2);
    expect(engine.config).toEqual(next);
    // The page shows the new stage, the generation, and the pipeline dropping what it takes in.
    await expect.poll(() => page.locator('.pipeline[data-pipeline="ba"] [data-stage="drop"]').count()).toBe(1);
    expect(await page.locator('#generation').textContent()).toBe('2');
    const dropped = await shown('.pipeline[data-pipeline="ba"] [data-counter="dropped"]');
    await expect.poll(() => shown('.pipeline[data-pipeline="ba"] [data-counter="dropped"]')).toBeGreaterThan(dropped);
  });

  it('refuses a bad config with the path of each problem, and changes nothing', async () => {
    const bad = { ...config, pipelines: [{ ...config.pipelines[0]!, input: 'nowhere' }, ...config.pipelines.slice(1)] };
    await page.fill('#config-text', JSON.stringify(bad, null, 2));
    await page.click('#config-apply');
    await expect.poll(() => page.locator('#config-result .code').textContent()).toBe('ERR_CONFIG');
    expect(await page.locator('#config-result').getAttribute('role')).toBe('alert');
    expect(await page.locator('#config-result .problems .path').allTextContents()).toEqual(['pipelines[0].input']);
    expect(await page.locator('#config-result .problems li').textContent()).toMatch(/^pipelines\[0\]\.input: "nowhere"/);
    expect(engine.stats().generation).toBe(2);
    // Text that is not JSON never leaves the page.
    await page.fill('#config-text', '{ "ports": ');
    await page.click('#config-apply');
    await expect.poll(() => page.locator('#config-result').textContent()).toMatch(/not JSON/);
    expect(engine.stats().generation).toBe(2);

    if (process.env.FASTPATH_WRITE_SCREENSHOT === '1') {
      // The editor back to the running config, the refusal of a bad one shown beneath it.
      await page.fill('#config-text', JSON.stringify(bad, null, 2));
      await page.click('#config-apply');
      await expect.poll(() => page.locator('#config-result .code').textContent()).toBe('ERR_CONFIG');
      mkdirSync(dirname(SCREENSHOT), { recursive: true });
      await page.screenshot({ path: SCREENSHOT, fullPage: true });
    }
  });

  it('says so when the engine stops, and keeps what it last showed', async () => {
    const rx = await shown('.port[data-port="a"] [data-field="rx-total"]');
    await engine.stop();
    await expect.poll(() => page.locator('#status').textContent(), { timeout: 5_000 }).toBe('stopped');
    expect(await shown('.port[data-port="a"] [data-field="rx-total"]')).toBeGreaterThanOrEqual(rx);
  });

  it('met no script error and no content-security-policy violation', () => {
    expect(problems).toEqual([]);
  });
});
