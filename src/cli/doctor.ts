/**
 * `roomcast doctor`: checks what a running roomcast needs and prints a table,
 * one line per check with a verdict: the configuration, the store, the queue
 * backend, every MQTT broker and Nostr relay (reachable? how fast), each
 * enabled platform's credentials, and the HTTP port. Exits 1 when something
 * needed is broken: the store, the queue, a platform's credentials, the HTTP
 * port, or an enabled network none of whose endpoints answers. One endpoint
 * down among others is shown, but does not fail the run (the others carry
 * the messages). A configuration that does not load is exit 2, as for every
 * command.
 */
import { existsSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { connectAsync } from 'mqtt';
import WebSocket from 'ws';
import { redactUrl } from '../common/redact-url.js';
import { platformProbes } from '../platforms/registry.js';
import type { LoadedConfig } from '../config/load.js';
import { silentLogger } from '../observability/logger.js';
import { openQueueBackend, EmbeddedQueueInUseError } from '../queue/index.js';
import { openStore } from '../store/index.js';
import { EXIT } from './exit-codes.js';
import { cliConfig } from './node-options.js';
import type { NodeCliOptions } from './node-options.js';

type Verdict = 'ok' | 'warn' | 'fail';

interface Row {
  readonly check: string;
  readonly verdict: Verdict;
  readonly detail: string;
  /** Counts against the exit status when it fails. */
  readonly needed: boolean;
}

const TIMEOUT_MS = 5000;
const MARK: Record<Verdict, string> = { ok: '✓', warn: '!', fail: '✗' };

export async function doctor(o: NodeCliOptions, out: (s: string) => void): Promise<number> {
  const loaded = cliConfig(o, { quiet: true });
  const rows: Row[] = [{ check: 'config', verdict: 'ok', detail: loaded.source ? `read ${loaded.source}` : 'built-in defaults and the environment', needed: true }];
  rows.push(await checkStore(loaded));
  rows.push(await checkQueue(loaded));
  rows.push(...(await checkNetworks(loaded)));
  rows.push(...(await checkPlatforms(loaded)));
  rows.push(await checkHttp(loaded));
  const width = Math.max(...rows.map((r) => r.check.length));
  out(`${rows.map((r) => `${MARK[r.verdict]} ${r.check.padEnd(width)}  ${r.detail}`).join('\n')}\n`);
  const broken = rows.filter((r) => r.verdict === 'fail' && r.needed);
  out(broken.length === 0 ? 'Everything roomcast needs answers.\n' : `${broken.length} needed check${broken.length === 1 ? '' : 's'} failed: ${broken.map((r) => r.check).join(', ')}.\n`);
  return broken.length === 0 ? EXIT.ok : EXIT.failed;
}

async function timed<T>(work: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const t0 = performance.now();
  const value = await work();
  return { value, ms: Math.round(performance.now() - t0) };
}

function message(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0]!;
}

async function checkStore(loaded: LoadedConfig): Promise<Row> {
  const file = loaded.storeUrl.startsWith('file:') ? loaded.storeUrl.slice('file:'.length) : undefined;
  // Doctor changes nothing: a store not created yet is what a first start makes.
  if (file !== undefined && !existsSync(file)) return { check: 'store', verdict: 'ok', detail: `${file}: not created yet (roomcast start creates it)`, needed: true };
  try {
    const { value: rooms, ms } = await timed(async () => {
      const store = await openStore({ url: loaded.storeUrl, ...(loaded.config.store.authToken ? { authToken: loaded.config.store.authToken } : {}) });
      try {
        return (await store.rooms.listRooms()).length;
      } finally {
        await store.close();
      }
    });
    return { check: 'store', verdict: 'ok', detail: `${redactUrl(loaded.storeUrl) || loaded.storeUrl}: ${rooms} room${rooms === 1 ? '' : 's'}, ${ms} ms`, needed: true };
  } catch (err) {
    return { check: 'store', verdict: 'fail', detail: message(err), needed: true };
  }
}

async function checkQueue(loaded: LoadedConfig): Promise<Row> {
  const redisUrl = loaded.config.queue.redisUrl;
  if (!redisUrl && !existsSync(join(loaded.dataDir, 'queue'))) {
    return { check: 'queue', verdict: 'ok', detail: `embedded in ${join(loaded.dataDir, 'queue')}: not created yet (roomcast start creates it)`, needed: true };
  }
  try {
    const { value: counts, ms } = await timed(async () => {
      const backend = await openQueueBackend({ ...(redisUrl ? { redisUrl } : {}), dataDir: loaded.dataDir, log: silentLogger() });
      try {
        let timer: NodeJS.Timeout | undefined;
        const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${TIMEOUT_MS} ms`)), TIMEOUT_MS)));
        try {
          return await Promise.race([backend.counts('outbound'), late]);
        } finally {
          clearTimeout(timer);
        }
      } finally {
        await backend.close();
      }
    });
    return { check: 'queue', verdict: 'ok', detail: `${redisUrl ? redactUrl(redisUrl) : 'embedded'}: ${counts.waiting} waiting, ${counts.failed} failed, ${ms} ms`, needed: true };
  } catch (err) {
    // The embedded queue serves one process: held by a running roomcast, it is in use, not broken.
    if (err instanceof EmbeddedQueueInUseError) return { check: 'queue', verdict: 'ok', detail: 'embedded: in use by a running roomcast', needed: true };
    return { check: 'queue', verdict: 'fail', detail: `${redisUrl ? redactUrl(redisUrl) : 'embedded'}: ${message(err)}`, needed: true };
  }
}

async function checkNetworks(loaded: LoadedConfig): Promise<Row[]> {
  const { mqtt, nostr, xmtp } = loaded.config.transports;
  const rows: Row[] = [];
  const networks: Array<{ name: string; endpoints: string[]; probe: (url: string) => Promise<void> }> = [];
  if (mqtt.enabled) networks.push({ name: 'mqtt', endpoints: mqtt.brokers, probe: probeMqtt });
  if (nostr.enabled) networks.push({ name: 'nostr', endpoints: nostr.relays, probe: probeRelay });
  for (const n of networks) {
    const results = await Promise.all(
      n.endpoints.map(async (url) => {
        try {
          const { ms } = await timed(() => n.probe(url));
          return { url, ok: true, detail: `${ms} ms` };
        } catch (err) {
          return { url, ok: false, detail: message(err) };
        }
      }),
    );
    const anyUp = results.some((r) => r.ok);
    for (const r of results) {
      rows.push({ check: `${n.name} ${redactUrl(r.url)}`, verdict: r.ok ? 'ok' : anyUp ? 'warn' : 'fail', detail: r.ok ? `up, ${r.detail}` : `down: ${r.detail}`, needed: !anyUp });
    }
  }
  if (xmtp.enabled) rows.push({ check: 'xmtp', verdict: 'warn', detail: `not checked here (env ${xmtp.env}): the running service's status shows it`, needed: false });
  return rows;
}

/** An MQTT CONNECT answered with CONNACK (MQTT 3.1.1, which every broker speaks). */
async function probeMqtt(url: string): Promise<void> {
  const client = await connectAsync(url, { protocolVersion: 4, connectTimeout: TIMEOUT_MS, reconnectPeriod: 0, clean: true, clientId: `roomcast-doctor-${process.pid}` });
  await client.endAsync(true);
}

/** A WebSocket to the relay opened. */
function probeRelay(url: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { handshakeTimeout: TIMEOUT_MS });
    ws.once('open', () => {
      ws.terminate();
      resolve();
    });
    ws.once('error', (err) => reject(err));
  });
}

async function checkPlatforms(loaded: LoadedConfig): Promise<Row[]> {
  const rows: Row[] = [];
  for (const { section, run } of platformProbes(loaded.config.platforms, TIMEOUT_MS)) {
    const { value: r, ms } = await timed(run);
    rows.push({ check: section, verdict: r.ok ? 'ok' : 'fail', detail: r.ok ? `${r.detail}, ${ms} ms` : r.detail, needed: true });
  }
  if (rows.length === 0) rows.push({ check: 'platforms', verdict: 'warn', detail: 'none enabled: no rooms would be bridged', needed: false });
  return rows;
}

/**
 * GET /healthz's body, or undefined. With node:http rather than fetch, so a
 * program on the port that accepts and never answers is cut off for good
 * (an aborted fetch can leave its socket open, and doctor would not exit).
 */
function healthz(host: string, port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const req = httpGet({ host, port, path: '/healthz', timeout: 2000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c.slice(0, 64)));
      res.on('end', () => resolve(res.statusCode === 200 ? body : undefined));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(undefined));
  });
}

/** The HTTP port: a running roomcast answering /healthz, or free to take. */
async function checkHttp(loaded: LoadedConfig): Promise<Row> {
  const { enabled, host, port } = loaded.config.http;
  if (!enabled) return { check: 'http', verdict: 'ok', detail: 'off (http.enabled: false)', needed: false };
  const where = `${host}:${port}`;
  const probeHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  if ((await healthz(probeHost, port)) === 'ok\n') return { check: 'http', verdict: 'ok', detail: `${where}: served by a running roomcast`, needed: true };
  const free = await new Promise<string | undefined>((resolve) => {
    const server = createServer();
    server.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'));
    server.listen(port, host, () => server.close(() => resolve(undefined)));
  });
  return free === undefined
    ? { check: 'http', verdict: 'ok', detail: `${where}: free for roomcast start`, needed: true }
    : { check: 'http', verdict: 'fail', detail: `${where}: ${free === 'EADDRINUSE' ? 'taken by another program' : free} (set http.port / ROOMCAST_HTTP_PORT)`, needed: true };
}
