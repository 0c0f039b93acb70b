/**
 * A bridge for integration tests, wired as `roomcast start` wires it: real
 * store, real queue backend (Redis or embedded), real transports to the test
 * network, and the in-memory platform.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBridgeRuntime } from '../../src/bridge/runtime.js';
import { ConnectionPool } from '../../src/transports/connection-pool.js';
import { buildBroadcaster } from '../../src/node.js';
import type { BridgeRuntime, ProcessRole } from '../../src/bridge/runtime.js';
import type { BridgeConfig } from '../../src/bridge/config.js';
import { ConfigSchema } from '../../src/config/schema.js';
import { generateIdentity } from '../../src/identity/keys.js';
import type { Identity } from '../../src/identity/keys.js';
import { silentLogger } from '../../src/observability/logger.js';
import { createMetrics } from '../../src/observability/metrics.js';
import type { Metrics } from '../../src/observability/metrics.js';
import { createRejectSink } from '../../src/observability/rejections.js';
import { MemoryPlatform } from '../../src/platforms/memory/memory-platform.js';
import type { Platform } from '../../src/platforms/platform.js';
import { openQueueBackend, QueueConfigSchema } from '../../src/queue/index.js';
import type { QueueBackend, QueueConfigInput } from '../../src/queue/index.js';
import { openStore } from '../../src/store/index.js';
import type { Store } from '../../src/store/store.js';
import type { Endpoints } from './network.js';

export const TEST_REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

export interface TestBridge {
  readonly rt: BridgeRuntime;
  readonly platform: MemoryPlatform;
  readonly store: Store;
  readonly queue: QueueBackend;
  readonly service: Identity;
  readonly queueNames: { outbound: string; inbound: string };
  readonly metrics: Metrics;
  stop(): Promise<void>;
}

export interface TestBridgeOptions {
  readonly net: Endpoints;
  readonly platform?: MemoryPlatform;
  /** The platform a worker writes to when it is not `platform` (a worker process writing to the test's room). */
  readonly writePlatform?: Platform;
  /** Share a store (file URL) and service identity with another test bridge or process. */
  readonly storeUrl?: string;
  /** Share one store object with another runtime in this process (a second worker). */
  readonly store?: Store;
  readonly service?: Identity;
  readonly queue?: QueueBackend;
  readonly queueNames?: { outbound: string; inbound: string };
  readonly role?: ProcessRole;
  readonly bridge?: Partial<BridgeConfig>;
  readonly queueConfig?: QueueConfigInput;
  /** Transport sections merged over the defaults (e.g. to point MQTT at a broker that is down). */
  readonly transports?: Record<string, unknown>;
}

export async function startTestBridge(o: TestBridgeOptions): Promise<TestBridge> {
  const dir = await mkdtemp(join(tmpdir(), 'rc-bridge-'));
  const fast = { connectTimeoutMs: 2000, reconnectMinMs: 100, reconnectMaxMs: 1000 };
  const config = ConfigSchema.parse({
    dataDir: dir,
    bridge: o.bridge ?? {},
    transports: {
      mqtt: { brokers: o.net.brokers.map((b) => b.url), sendTimeoutMs: 2000, ...fast, ...(o.transports?.mqtt as object) },
      nostr: { relays: o.net.relays.map((r) => r.url), publishTimeoutMs: 2000, ...fast, ...(o.transports?.nostr as object) },
      xmtp: { enabled: false, ...(o.transports?.xmtp as object) },
    },
  });
  const log = silentLogger();
  const metrics = createMetrics();
  const store = o.store ?? (await openStore({ url: o.storeUrl ?? `file:${join(dir, 'roomcast.db')}` }));
  // ROOMCAST_TEST_QUEUE=embedded (a vitest project sets it) runs the same suites on the embedded backend, the default one.
  const embedded = process.env.ROOMCAST_TEST_QUEUE === 'embedded';
  const queue = o.queue ?? (await openQueueBackend({ ...(embedded ? {} : { redisUrl: TEST_REDIS_URL }), dataDir: dir, log }));
  const queueNames = o.queueNames ?? { outbound: `test-out-${randomUUID()}`, inbound: `test-in-${randomUUID()}` };
  const platform = o.platform ?? new MemoryPlatform();
  const service = o.service ?? generateIdentity();
  // One process's shared connections, as node.ts makes them.
  const rooms = (await store.rooms.listRooms()).filter((r) => r.leftAt === undefined).map((r) => r.owner);
  const pool = new ConnectionPool({ owner: service, expected: rooms });
  const rt = await startBridgeRuntime({
    role: o.role ?? 'all',
    service,
    deps: { config, store, log, metrics },
    makeBroadcaster: (identity, listen, extras) => buildBroadcaster(identity, { config, store, log, metrics, reject: createRejectSink(log, metrics), pool }, listen, extras),
    bridgeConfig: config.bridge,
    platforms: [o.writePlatform ?? platform],
    queue,
    queueConfig: QueueConfigSchema.parse({ attempts: 4, backoffMs: 300, orderRetryMs: 50, ...o.queueConfig }),
    queueNames,
    workerSettings: { lockDuration: 2000, stalledInterval: 1000 },
  });
  return {
    rt,
    platform,
    store,
    queue,
    service,
    queueNames,
    metrics,
    stop: async () => {
      await rt.stop();
      await pool.closeAll();
      // Queues this bridge named and opened for itself are its own: removed, so a machine's Redis does not fill up with finished runs.
      if (!o.queue && !o.queueNames && !embedded) {
        const names = [queueNames.outbound, queueNames.inbound, `${queueNames.outbound}-hand-off`];
        await Promise.all(names.map((n) => queue.queue(n).obliterate({ force: true }).catch(() => undefined)));
      }
      if (!o.queue) await queue.close();
      if (!o.store) await store.close();
    },
  };
}
