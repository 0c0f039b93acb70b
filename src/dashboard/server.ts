/**
 * The operators' HTTP server: one port for the queue dashboard (bull-board),
 * the status page and its API, Prometheus metrics and health checks.
 *
 * Every path needs the access token (bearer header or login cookie) except
 * /healthz, and /metrics when `http.metricsPublic` is on: without it, a
 * browser gets a 401 whose page is the login form (it posts to /login). The check runs before any route, so a route
 * added later is protected without saying so. A worker process serves
 * /metrics and the health endpoints only.
 */
import { createRequire } from 'node:module';
import type { Server } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AddressInfo } from 'node:net';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import express from 'express';
import type { NextFunction, Request, Response } from 'express';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import type { QueueBackend } from '../queue/backend.js';
import { authorized, SESSION_COOKIE, sessionValue, tokenMatches } from './auth.js';
import type { HttpConfig } from './config.js';
import { loginPage } from './login-page.js';
import { registerCollectors } from './metrics.js';
import type { StatusReporter } from './status.js';
import { statusPage } from './status-page.js';

/** One readiness check: resolves with undefined when ready, else with what is wrong (one line, no secrets). */
export interface ReadinessCheck {
  readonly name: string;
  check(): Promise<string | undefined>;
}

export interface DashboardOptions {
  /** 'worker': /metrics and health only. */
  readonly role: 'all' | 'bridge' | 'worker';
  readonly config: HttpConfig;
  readonly token: string;
  readonly metrics: Metrics;
  readonly queue: QueueBackend;
  readonly queueNames: { readonly outbound: string; readonly inbound: string };
  readonly checks: readonly ReadinessCheck[];
  /** Rooms bridged now (for the metric). */
  readonly roomsBridged: () => Promise<number>;
  /** The overview for `/` and `/api/status` (the `start` process). */
  readonly status?: Pick<StatusReporter, 'report'>;
  readonly log: Logger;
}

export interface DashboardServer {
  readonly url: string;
  readonly port: number;
  /** The Express app (tests list its routes). */
  readonly app: express.Express;
  close(): Promise<void>;
}

/** The one path served to anyone; every other answers 401 without the token (the login page, for a browser). */
export const PUBLIC_PATH = '/healthz';

/** The page's own files and the charting library, served from this origin (no CDN). */
const uplotDir = dirname(createRequire(import.meta.url).resolve('uplot'));
const ASSETS: Readonly<Record<string, { path: string; type: string }>> = {
  'status.js': { path: join(dirname(fileURLToPath(import.meta.url)), 'assets', 'status.js'), type: 'text/javascript' },
  'uplot.js': { path: join(uplotDir, 'uPlot.iife.min.js'), type: 'text/javascript' },
  'uplot.css': { path: join(uplotDir, 'uPlot.min.css'), type: 'text/css' },
};

/** How long one readiness check may take before it counts as not ready. */
const CHECK_TIMEOUT_MS = 2000;

export async function startDashboard(o: DashboardOptions): Promise<DashboardServer> {
  const app = express();
  app.disable('x-powered-by');
  registerCollectors(o.metrics, { queue: o.queue, queueNames: o.queueNames, roomsBridged: o.roomsBridged });

  app.get('/healthz', (_req, res) => void res.type('text/plain').send('ok\n'));
  // The login form posts here; a wrong token is a 401 like any other path.
  app.post('/login', express.urlencoded({ extended: false, limit: '4kb' }), (req: Request, res: Response) => {
    if (!tokenMatches(o.token, (req.body as Record<string, unknown> | undefined)?.token)) {
      res.status(401).type('html').send(loginPage('That is not the access token.'));
      return;
    }
    res.cookie(SESSION_COOKIE, sessionValue(o.token), { httpOnly: true, sameSite: 'strict', path: '/' });
    res.redirect(303, '/');
  });
  if (o.config.metricsPublic) app.get('/metrics', metricsHandler(o.metrics));

  // Everything below needs the token.
  app.use((req: Request, res: Response, next: NextFunction) => {
    if (authorized(o.token, { authorization: req.headers.authorization, cookie: req.headers.cookie })) return next();
    if (req.accepts(['html', 'json']) === 'html' && req.method === 'GET') {
      res.status(401).type('html').send(loginPage());
      return;
    }
    res.status(401).type('text/plain').send('401: the access token is needed (Authorization: Bearer <token>, or log in at /login)\n');
  });
  app.post('/logout', (_req, res) => void res.clearCookie(SESSION_COOKIE, { path: '/' }).redirect(303, '/'));
  if (!o.config.metricsPublic) app.get('/metrics', metricsHandler(o.metrics));
  app.get('/readyz', async (_req, res) => {
    const problems = await readiness(o.checks);
    res.status(problems.length === 0 ? 200 : 503).type('text/plain').send(problems.length === 0 ? 'ready\n' : `not ready:\n${problems.map((p) => `- ${p}`).join('\n')}\n`);
  });

  if (o.status) {
    const status = o.status;
    app.get('/', (_req, res) => void res.type('html').send(statusPage()));
    app.get('/api/status', async (_req, res) => void res.json(await status.report()));
    app.get('/assets/:file', (req: Request, res: Response) => {
      const file = ASSETS[String(req.params.file)];
      if (!file) {
        res.status(404).type('text/plain').send('no such asset\n');
        return;
      }
      res.type(file.type).sendFile(file.path);
    });
  }

  if (o.role !== 'worker') {
    const board = new ExpressAdapter();
    board.setBasePath('/admin/queues');
    createBullBoard({
      queues: [new BullMQAdapter(boardQueue(o.queue, o.queueNames.outbound)), new BullMQAdapter(boardQueue(o.queue, o.queueNames.inbound))],
      serverAdapter: board,
      options: { uiConfig: { boardTitle: 'roomcast queues' } },
    });
    app.use('/admin/queues', board.getRouter() as express.Router);
  }

  // A failing page says so in one line and logs why; no stack trace or path is ever shown.
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    o.log.error({ err: err instanceof Error ? err.message : String(err) }, 'HTTP request failed');
    if (!res.headersSent) res.status(500).type('text/plain').send('500: internal error (see the roomcast log)\n');
  });

  const server: Server = await new Promise((resolve, reject) => {
    const s = app.listen(o.config.port, o.config.host, () => resolve(s));
    s.once('error', reject);
  });
  const { port } = server.address() as AddressInfo;
  const host = o.config.host.includes(':') ? `[${o.config.host}]` : o.config.host;
  o.log.info({ url: `http://${host}:${port}/`, role: o.role }, 'HTTP server listening');
  return {
    url: `http://${host}:${port}`,
    port,
    app,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/**
 * bull-board types its adapter for Redis-backed BullMQ queues; ours are the
 * same BullMQ Queue class over either backend (Redis or the embedded one),
 * typed by backend, so only the type differs.
 */
function boardQueue(backend: QueueBackend, name: string): ConstructorParameters<typeof BullMQAdapter>[0] {
  return backend.queue(name) as unknown as ConstructorParameters<typeof BullMQAdapter>[0];
}

function metricsHandler(metrics: Metrics) {
  return async (_req: Request, res: Response) => {
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  };
}

/** What is not ready, one line each; every check runs at once, and one that hangs counts as not ready. */
export async function readiness(checks: readonly ReadinessCheck[]): Promise<string[]> {
  const results = await Promise.all(
    checks.map(async (c) => {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<string>((resolve) => (timer = setTimeout(() => resolve(`no answer within ${CHECK_TIMEOUT_MS} ms`), CHECK_TIMEOUT_MS)));
      try {
        const problem = await Promise.race([c.check().catch((err: unknown) => (err instanceof Error ? err.message : String(err))), timeout]);
        return problem === undefined ? undefined : `${c.name}: ${problem}`;
      } finally {
        clearTimeout(timer);
      }
    }),
  );
  return results.filter((r): r is string => r !== undefined);
}
