/**
 * The status page in a real browser (playwright-core driving Debian's
 * Chromium): log in with the token, see the latency chart drawn from a short
 * real run (memory platform, Redis, a broker and a relay, a roomcast peer),
 * the delivered-first bars and the recent messages with their receipts, then
 * both queues in bull-board. A screenshot of each page is saved under the
 * test's temp dir.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpConfigSchema } from '../../src/dashboard/config.js';
import { startDashboard } from '../../src/dashboard/server.js';
import type { DashboardServer } from '../../src/dashboard/server.js';
import { StatusReporter } from '../../src/dashboard/status.js';
import { encodeMagnet } from '../../src/identity/magnet.js';
import { silentLogger } from '../../src/observability/logger.js';
import { startTestBridge } from '../support/bridge.js';
import type { TestBridge } from '../support/bridge.js';
import { openTestNode, startNetwork } from '../support/network.js';
import type { TestNetwork, TestNode } from '../support/network.js';
import { waitForPost } from '../support/room-waits.js';
import { waitFor } from '../support/wait.js';

const CHROMIUM = '/usr/bin/chromium';
const TOKEN = 'browser-test-token-0123456789';
const MOD = { id: '@mod:memory', displayName: 'Mod', level: 'moderator' as const };

let net: TestNetwork;
let b: TestBridge;
let peer: TestNode;
let http: DashboardServer;
let status: StatusReporter;
let browser: Browser;
let shots: string;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install chromium (.ci/run does)`);
  shots = await mkdtemp(join(tmpdir(), 'rc-dashboard-shots-'));
  net = await startNetwork(1, 1);
  b = await startTestBridge({ net });
  peer = await openTestNode(net);
  await peer.broadcaster.start();
  status = new StatusReporter({
    store: b.store,
    platforms: [b.platform],
    transports: () => [],
    queue: b.queue,
    queueNames: b.queueNames,
  });
  http = await startDashboard({
    role: 'all',
    config: HttpConfigSchema.parse({ port: 0 }),
    token: TOKEN,
    metrics: b.metrics,
    queue: b.queue,
    queueNames: b.queueNames,
    checks: [],
    roomsBridged: async () => (await b.rt.directory.all()).length,
    status,
    log: silentLogger(),
  });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
  });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await http?.close();
  status?.stop();
  await b?.stop();
  await peer?.close();
  await net?.stop();
});

describe('dashboard in a browser', () => {
  it('logs in, draws the latency chart from a real run, lists recent messages, and shows both queues in bull-board', async () => {
    // A short run: a contact, then messages the peer receives and acknowledges.
    const room = b.platform.room('!browser');
    await b.platform.say(room, MOD, `!roomcast contact add peer ${encodeMagnet(peer.identity)}`);
    await waitForPost(b.platform, room, (e) => e.text.startsWith('Added contact peer'));
    for (let i = 0; i < 6; i++) await b.platform.say(room, MOD, `chart point ${i}`);
    await waitFor(async () => (await status.report()).recent.filter((m) => m.contacts.some((c) => Object.keys(c.acked).length === 2)).length === 6, 'six acknowledged messages', 30_000);

    const page = await browser.newPage({ viewport: { width: 1200, height: 1400 } });
    const first = await page.goto(`${http.url}/`);
    expect(first?.status()).toBe(401);
    await page.fill('input[name="token"]', TOKEN);
    await Promise.all([page.waitForURL(`${http.url}/`), page.click('button[type="submit"]')]);

    // The latency chart: uPlot draws a canvas, with one p50 and one p95 series per network.
    await page.waitForSelector('#latency .uplot canvas', { timeout: 15_000 });
    const legend = await page.locator('#latency .u-legend').innerText();
    for (const label of ['mqtt p50', 'mqtt p95', 'nostr p50', 'nostr p95']) expect(legend).toContain(label);
    const canvas = await page.locator('#latency canvas').first().boundingBox();
    expect(canvas!.width).toBeGreaterThan(300);
    expect(await page.locator('#first .bar').count()).toBeGreaterThanOrEqual(1);
    const recent = await page.locator('#recent').innerText();
    expect(recent).toContain('Mod: chart point 5');
    expect(recent).toMatch(/peer: (mqtt|nostr) \d+/);
    expect(await page.locator('#rooms').innerText()).toContain('!browser');
    await page.screenshot({ path: join(shots, 'status.png'), fullPage: true });

    await page.goto(`${http.url}/admin/queues`);
    await page.waitForSelector(`text=${b.queueNames.outbound}`, { timeout: 15_000 });
    expect(await page.locator('body').innerText()).toContain(b.queueNames.inbound);
    await page.screenshot({ path: join(shots, 'queues.png'), fullPage: true });
    expect((await stat(join(shots, 'status.png'))).size).toBeGreaterThan(10_000);
    expect((await stat(join(shots, 'queues.png'))).size).toBeGreaterThan(10_000);
    // What the page shows comes from its API, which holds no secret.
    const api = await (await fetch(`${http.url}/api/status`, { headers: { authorization: `Bearer ${TOKEN}` } })).text();
    expect(api).not.toContain(TOKEN);
    expect(api).not.toMatch(/privateKey|sealed/i);
  });
});
