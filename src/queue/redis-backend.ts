/**
 * The Redis backend: BullMQ's default, for one process or many.
 *
 * Two ioredis connections are shared by everything this backend builds:
 * - producers (Queue objects) use ioredis defaults, so `add()` rejects after
 *   ioredis' per-command retries when Redis stays down, instead of hanging
 *   the caller (a chat message handler) forever;
 * - consumers (Worker, QueueEvents) use `maxRetriesPerRequest: null`, as
 *   BullMQ requires, so a Redis restart only pauses them. BullMQ duplicates
 *   this connection for each worker's blocking fetch.
 *
 * Keys are prefixed `roomcast:` so the queues can share a Redis with other
 * applications.
 */
import { Redis } from 'ioredis';
import type { RedisOptions } from 'ioredis';
import { createRedisBackend } from 'bullmq';
import type { BackendFactory, IQueueBackend } from 'bullmq';
import type { Logger } from '../observability/logger.js';
import { redactUrl } from '../common/redact-url.js';
import { BullMqBackend } from './backend.js';
import type { QueueBackend } from './backend.js';

export const REDIS_KEY_PREFIX = 'roomcast';

/** How long opening waits for Redis to answer before giving up with an error that names the server. */
const CONNECT_TIMEOUT_MS = 10_000;

export async function openRedisBackend(url: string, log: Logger): Promise<QueueBackend> {
  const location = redactUrl(url);
  const base: RedisOptions = { connectionName: 'roomcast' };
  const producer = new Redis(url, { ...base, lazyConnect: true });
  const consumer = new Redis(url, { ...base, lazyConnect: true, maxRetriesPerRequest: null });
  for (const [role, conn] of [['producer', producer], ['consumer', consumer]] as const) {
    conn.on('error', (err: Error) => log.warn({ err: err.message, redis: location, role }, 'redis connection error'));
  }
  try {
    await withTimeout(Promise.all([producer.connect(), consumer.connect()]), CONNECT_TIMEOUT_MS, `Redis at ${location} did not answer within ${CONNECT_TIMEOUT_MS / 1000} s`);
  } catch (err) {
    producer.disconnect();
    consumer.disconnect();
    throw new Error(`cannot open the job queues on Redis at ${location}: ${(err as Error).message}`, { cause: err });
  }
  log.info({ redis: location }, 'job queues on Redis');
  return new BullMqBackend(
    {
      kind: 'redis',
      location,
      multiProcess: true,
      factory: createRedisBackend as BackendFactory<IQueueBackend, unknown>,
      producerConnection: producer,
      consumerConnection: consumer,
      prefix: REDIS_KEY_PREFIX,
      async shutdown() {
        await Promise.allSettled([producer.quit(), consumer.quit()]);
      },
    },
    log,
  );
}

function withTimeout<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
