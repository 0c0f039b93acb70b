/**
 * The long-running roles.
 * - `roomcast start`: everything in one process: the service identity listens
 *   and acknowledges; the bridge listens as every room, takes platform events
 *   and runs the queue workers.
 * - `roomcast worker`: only the queue workers (sending with send-only
 *   transports); run several against one Redis to share the work.
 */
import { startBridgeRuntime } from '../bridge/runtime.js';
import { ConfigError } from '../config/load.js';
import type { ProcessRole } from '../bridge/runtime.js';
import { encodeMagnet } from '../identity/magnet.js';
import { buildBroadcaster, openNode } from '../node.js';
import type { Platform } from '../platforms/platform.js';
import { createPlatforms } from '../platforms/registry.js';
import { openQueueBackend } from '../queue/index.js';
import type { QueueBackend } from '../queue/index.js';
import { accessToken } from '../dashboard/auth.js';
import { startDashboard } from '../dashboard/server.js';
import type { DashboardServer, ReadinessCheck } from '../dashboard/server.js';
import { StatusReporter } from '../dashboard/status.js';
import { cliConfig, untilSignal } from './node-options.js';
import type { NodeCliOptions } from './node-options.js';

type Out = (s: string) => void;

/**
 * What `roomcast start` says when no platform section is enabled: no room can
 * be bridged. Said plainly, rather than a bare "running" that suggests rooms are.
 */
export const NO_PLATFORM_NOTICE = [
  'No rooms are bridged: no chat platform is configured (the `platforms` section of the config).',
  'To bridge Matrix rooms, set ROOMCAST_MATRIX_HOMESERVER_URL and ROOMCAST_MATRIX_ACCESS_TOKEN (README: "Matrix rooms");',
  'to bridge Discord channels, set ROOMCAST_DISCORD_TOKEN (README: "Discord channels").',
  'Meanwhile the service identity listens and acknowledges on every transport.',
].join('\n');

export async function startService(o: NodeCliOptions, out: Out, role: ProcessRole = 'all'): Promise<void> {
  const loaded = cliConfig(o, { quiet: false });
  const { config } = loaded;
  if (role === 'worker' && !config.queue.redisUrl) {
    throw new ConfigError('roomcast worker shares the job queues with other processes: set REDIS_URL (the embedded queue serves one process only)');
  }
  const node = await openNode(loaded, { createIdentity: true });
  const { broadcaster, log } = node;
  let queue: QueueBackend;
  try {
    queue = await openQueueBackend({ ...(config.queue.redisUrl ? { redisUrl: config.queue.redisUrl } : {}), dataDir: loaded.dataDir, log });
  } catch (err) {
    await node.close(); // e.g. the embedded queue is in use by another process
    throw err;
  }
  try {
    if (role === 'all') {
      broadcaster.on('message', (e) =>
        log.info({ uuid: e.message.uuid, from: e.sender.ethAddress, via: e.via, verified: e.verified, chars: e.message.content.length }, 'message received'),
      );
      broadcaster.on('ack', (e) => {
        if (e.firstAck) log.info({ uuid: e.originalUuid, via: e.via, latencyMs: e.latencyMs }, 'message acknowledged');
      });
      await broadcaster.start();
    }
    // Every role gets the configured platforms: workers write to rooms too (only `start` takes their events).
    const platforms: Platform[] = await createPlatforms(config.platforms, { state: (id) => node.deps.store.platformState(id), log, metrics: node.deps.metrics });
    const runtime = await startBridgeRuntime({
      role,
      service: node.identity,
      deps: node.deps,
      makeBroadcaster: (identity, listen, extras) => buildBroadcaster(identity, node.deps, listen, extras),
      bridgeConfig: config.bridge,
      platforms,
      queue,
      queueConfig: config.queue,
    });
    let http: DashboardServer | undefined;
    let status: StatusReporter | undefined;
    let httpLines = '';
    if (config.http.enabled) {
      const token = await accessToken(config.http.token, loaded.dataDir);
      const checks: ReadinessCheck[] = [
        { name: 'store', check: async () => void (await node.deps.store.listIdentities()) },
        { name: 'queue', check: async () => void (await queue.counts('outbound')) },
      ];
      // The service identity's transports listen in the `start` process only.
      if (role === 'all') {
        status = new StatusReporter({
          store: node.deps.store,
          platforms,
          transports: () => broadcaster.transports.map((t) => ({ id: t.id, endpoints: t.status() })),
          queue,
          queueNames: { outbound: 'outbound', inbound: 'inbound' },
        });
        checks.push({
          name: 'transports',
          check: async () => (broadcaster.transports.some((t) => t.status().some((e) => e.connected)) ? undefined : 'no transport has a connected endpoint'),
        });
      }
      http = await startDashboard({
        role,
        config: config.http,
        token: token.token,
        metrics: node.deps.metrics,
        queue,
        queueNames: { outbound: 'outbound', inbound: 'inbound' },
        checks,
        roomsBridged: async () => (await node.deps.store.rooms.listRooms()).filter((r) => r.leftAt === undefined).length,
        ...(status ? { status } : {}),
        log,
      }).catch(async (err: unknown) => {
        status?.stop();
        await runtime.stop();
        throw httpError(err, config.http.host, config.http.port);
      });
      httpLines = `${role === 'worker' ? 'Metrics and health' : 'Dashboard'}: ${http.url}/${role === 'worker' ? 'metrics' : ''}\n`;
      if (token.created) httpLines += `Access token (shown once; kept in ${token.created}): ${token.token}\n`;
    }
    const endpoints = broadcaster.transports.map((t) => `${t.id}: ${t.capabilities.endpoints.length}`).join(', ') || 'none';
    log.info({ role, config: loaded.source ?? '(built-in defaults)', dataDir: loaded.dataDir, queue: `${queue.kind} ${queue.location}`, endpoints, platforms: platforms.length }, 'roomcast started');
    // Workers never hold platforms (the `start` process does); only `start` has rooms to speak of.
    const noRooms = role === 'all' && platforms.length === 0;
    if (noRooms) log.warn({ role }, 'no chat platform configured: no rooms are bridged');
    // Listening before the ready line: a signal sent as soon as it is read must not meet Node's default (exit at once).
    const signalled = untilSignal();
    out(
      role === 'all'
        ? `roomcast started. Service identity: ${encodeMagnet(node.identity)}\n${noRooms ? `${NO_PLATFORM_NOTICE}\n` : `Rooms bridged on: ${platforms.map((p) => p.id).join(', ')}\n`}${httpLines}Queues: ${queue.kind} (${queue.location}). Press Ctrl-C to stop.\n`
        : `roomcast worker started. ${httpLines}Queues: ${queue.kind} (${queue.location}). Press Ctrl-C to stop.\n`,
    );
    await signalled;
    log.info('stopping');
    await http?.close();
    status?.stop();
    await runtime.stop();
  } finally {
    await queue.close();
    await node.close();
  }
}

/** The HTTP port is taken or not ours to bind: say which setting moves it. */
function httpError(err: unknown, host: string, port: number): Error {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'EADDRINUSE') return new Error(`the HTTP port ${host}:${port} is in use: set http.port (or ROOMCAST_HTTP_PORT) to another, or http.enabled: false`);
  if (code === 'EACCES' || code === 'EADDRNOTAVAIL') return new Error(`cannot listen on ${host}:${port} (${code}): set http.host / http.port (ROOMCAST_HTTP_PORT)`);
  return err instanceof Error ? err : new Error(String(err));
}
