/**
 * The operators' HTTP server in-process: every route needs the token but
 * /healthz (the route list is read from the app, so a new route cannot slip
 * through), bearer and login cookie, /metrics against a short real run
 * (memory platform, Redis, a broker and a relay, a roomcast peer), /readyz
 * following Redis away and back, and the access token kept 0600.
 */
import { mkdtemp, readFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accessToken } from '../../src/dashboard/auth.js';
import { HttpConfigSchema } from '../../src/dashboard/config.js';
import { PUBLIC_PATH, startDashboard } from '../../src/dashboard/server.js';
import type { DashboardServer, ReadinessCheck } from '../../src/dashboard/server.js';
import { encodeMagnet } from '../../src/identity/magnet.js';
import { silentLogger } from '../../src/observability/logger.js';
import { createMetrics } from '../../src/observability/metrics.js';
import { openQueueBackend } from '../../src/queue/index.js';
import { startTestBridge } from '../support/bridge.js';
import type { TestBridge } from '../support/bridge.js';
import { openTestNode, startNetwork } from '../support/network.js';
import type { TestNetwork, TestNode } from '../support/network.js';
import { startRedis } from '../support/redis-server.js';
import { waitForPost } from '../support/room-waits.js';
import { waitFor } from '../support/wait.js';

const TOKEN = 'test-token-0123456789abcdef';
const MOD = { id: '@mod:memory', displayName: 'Mod', level: 'moderator' as const };

let net: TestNetwork;
let b: TestBridge;
let peer: TestNode;
let http: DashboardServer;

function serve(b: TestBridge, extra: { metricsPublic?: boolean; checks?: ReadinessCheck[]; role?: 'all' | 'worker' } = {}): Promise<DashboardServer> {
  return startDashboard({
    role: extra.role ?? 'all',
    config: HttpConfigSchema.parse({ port: 0, metricsPublic: extra.metricsPublic ?? false }),
    token: TOKEN,
    metrics: b.metrics,
    queue: b.queue,
    queueNames: b.queueNames,
    checks: extra.checks ?? [],
    roomsBridged: async () => (await b.rt.directory.all()).length,
    log: silentLogger(),
  });
}

const get = (path: string, headers: Record<string, string> = {}) => fetch(`${http.url}${path}`, { headers, redirect: 'manual' });
const bearer = { authorization: `Bearer ${TOKEN}` };

beforeAll(async () => {
  net = await startNetwork(1, 1);
  b = await startTestBridge({ net });
  peer = await openTestNode(net);
  await peer.broadcaster.start();
  http = await serve(b);
}, 30_000);

afterAll(async () => {
  await http?.close();
  await b?.stop();
  await peer?.close();
  await net?.stop();
});

/** Every path the app routes, read from Express itself, plus bull-board's API under its mount. */
function routedPaths(server: DashboardServer): Array<{ method: string; path: string }> {
  const stack = (server.app as unknown as { router: { stack: Array<{ route?: { path: string; methods: Record<string, boolean> } }> } }).router.stack;
  const routes = stack.flatMap((l) => (l.route ? Object.keys(l.route.methods).map((m) => ({ method: m.toUpperCase(), path: l.route!.path })) : []));
  return [...routes, { method: 'GET', path: '/admin/queues' }, { method: 'GET', path: '/admin/queues/api/queues' }, { method: 'GET', path: '/no/such/page' }];
}

describe('dashboard HTTP server', () => {
  it('answers 401 on every path but /healthz without the token, and lets the token in', async () => {
    const paths = routedPaths(http);
    expect(paths.map((p) => p.path)).toEqual(expect.arrayContaining(['/healthz', '/login', '/logout', '/metrics', '/readyz']));
    for (const { method, path } of paths) {
      const res = await fetch(`${http.url}${path}`, { method, redirect: 'manual' });
      expect(`${method} ${path} → ${res.status}`).toBe(`${method} ${path} → ${path === PUBLIC_PATH ? 200 : 401}`);
    }
    expect((await get('/admin/queues', bearer)).status).toBe(200);
    expect((await get('/metrics', bearer)).status).toBe(200);
    expect((await get('/metrics', { authorization: 'Bearer wrong-token-wrong-token' })).status).toBe(401);
    // A browser without the token gets the login form as the 401 page.
    const page = await get('/admin/queues', { accept: 'text/html' });
    expect(page.status).toBe(401);
    expect(await page.text()).toContain('<form method="post" action="/login">');
  });

  it('logs in with the token into a cookie that holds no secret, and out again', async () => {
    const wrong = await fetch(`${http.url}/login`, { method: 'POST', body: new URLSearchParams({ token: 'nope' }), redirect: 'manual' });
    expect(wrong.status).toBe(401);
    const ok = await fetch(`${http.url}/login`, { method: 'POST', body: new URLSearchParams({ token: TOKEN }), redirect: 'manual' });
    expect(ok.status).toBe(303);
    const cookie = ok.headers.get('set-cookie')!;
    expect(cookie).toMatch(/^roomcast_session=[\w-]+; Path=\/; HttpOnly; SameSite=Strict$/);
    expect(cookie).not.toContain(TOKEN);
    const session = cookie.split(';')[0]!;
    expect((await get('/admin/queues/api/queues', { cookie: session })).status).toBe(200);
    expect((await get('/admin/queues/api/queues', { cookie: 'roomcast_session=forged' })).status).toBe(401);
  });

  it('serves /metrics whose series match a short run: N messages relayed, acked, one room, jobs completed', async () => {
    const room = b.platform.room('!metrics');
    await b.platform.say(room, MOD, `!roomcast contact add peer ${encodeMagnet(peer.identity)}`);
    await waitForPost(b.platform, room, (e) => e.text.startsWith('Added contact peer'));
    const n = 5;
    for (let i = 0; i < n; i++) await b.platform.say(room, MOD, `metric ${i}`);
    const series = async () => (await (await get('/metrics', bearer)).text()).split('\n');
    const value = (lines: string[], name: string) => Number(lines.find((l) => l.startsWith(`${name} `))?.split(' ')[1] ?? NaN);
    await waitFor(async () => {
      const now = await series();
      // The acks (on each network in its own time) can arrive before the job that sent the message is recorded complete: wait for all.
      return (
        value(now, 'roomcast_inbound_accepted_total{transport="nostr",kind="ack"}') === n &&
        value(now, 'roomcast_inbound_accepted_total{transport="mqtt",kind="ack"}') === n &&
        value(now, 'roomcast_queue_jobs{queue="outbound",state="completed"}') === n
      );
    }, 'the acks and the completed jobs', 20_000);
    const lines = await series();
    expect(value(lines, 'roomcast_sends_total{transport="mqtt",outcome="ok"}')).toBe(n);
    expect(value(lines, 'roomcast_sends_total{transport="nostr",outcome="ok"}')).toBe(n);
    expect(value(lines, 'roomcast_inbound_accepted_total{transport="mqtt",kind="ack"}')).toBe(n);
    expect(value(lines, 'roomcast_send_latency_seconds_count{transport="mqtt"}')).toBe(n);
    expect(value(lines, 'roomcast_rooms_bridged')).toBe(1);
    expect(value(lines, 'roomcast_queue_jobs{queue="outbound",state="completed"}')).toBe(n);
    expect(value(lines, 'roomcast_queue_jobs{queue="outbound",state="failed"}')).toBe(0);
    for (const name of ['roomcast_inbound_rejected_total', 'roomcast_job_retries_total', 'roomcast_platform_events_rejected_total', 'process_cpu_seconds_total', 'nodejs_eventloop_lag_seconds']) {
      expect(lines.some((l) => l.startsWith(`# TYPE ${name} `)), name).toBe(true);
    }
  });

  it('serves /metrics without the token when metricsPublic, and only metrics and health in a worker', async () => {
    const open = await serve(b, { metricsPublic: true, role: 'worker' });
    try {
      expect((await fetch(`${open.url}/metrics`)).status).toBe(200);
      expect((await fetch(`${open.url}/readyz`)).status).toBe(401);
      expect((await fetch(`${open.url}/admin/queues`, { headers: bearer })).status).toBe(404);
    } finally {
      await open.close();
    }
  });

  it('answers a failing page with a one-line 500, no stack trace', async () => {
    const failing = await startDashboard({
      role: 'all',
      config: HttpConfigSchema.parse({ port: 0 }),
      token: TOKEN,
      metrics: createMetrics(),
      queue: b.queue,
      queueNames: b.queueNames,
      checks: [],
      roomsBridged: async () => 0,
      status: { report: async () => Promise.reject(new Error('store gone at /var/lib/secret/roomcast.db')) },
      log: silentLogger(),
    });
    try {
      const res = await fetch(`${failing.url}/api/status`, { headers: bearer });
      expect(res.status).toBe(500);
      expect(await res.text()).toBe('500: internal error (see the roomcast log)\n');
    } finally {
      await failing.close();
    }
  });

  it('turns /readyz unready when Redis goes away, saying why, and ready when it is back', async () => {
    const redis = await startRedis();
    const queue = await openQueueBackend({ redisUrl: redis.url, dataDir: await mkdtemp(join(tmpdir(), 'rc-ready-')), log: silentLogger() });
    const server = await startDashboard({
      role: 'all',
      config: HttpConfigSchema.parse({ port: 0 }),
      token: TOKEN,
      metrics: createMetrics(),
      queue,
      queueNames: { outbound: 'outbound', inbound: 'inbound' },
      checks: [{ name: 'queue', check: async () => void (await queue.counts('outbound')) }],
      roomsBridged: async () => 0,
      log: silentLogger(),
    });
    const ready = async () => {
      const res = await fetch(`${server.url}/readyz`, { headers: bearer });
      return { status: res.status, body: await res.text() };
    };
    try {
      expect(await ready()).toEqual({ status: 200, body: 'ready\n' });
      await redis.kill();
      const down = await ready();
      expect(down.status).toBe(503);
      expect(down.body).toMatch(/^not ready:\n- queue: /);
      await redis.restart();
      await waitFor(async () => (await ready()).status === 200, 'ready again', 20_000);
    } finally {
      await server.close();
      await queue.close();
      await redis.stop();
    }
  });

  it('keeps a generated access token in the data dir, 0600, and reuses it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rc-token-'));
    const first = await accessToken(undefined, dir);
    expect(first.created).toBe(join(dir, 'http-token'));
    expect(first.token.length).toBeGreaterThanOrEqual(32);
    expect((await stat(first.created!)).mode & 0o777).toBe(0o600);
    expect((await readFile(first.created!, 'utf8')).trim()).toBe(first.token);
    expect(await accessToken(undefined, dir)).toEqual({ token: first.token });
    expect(await accessToken('from-the-environment-1234', dir)).toEqual({ token: 'from-the-environment-1234' });
  });
});
