/**
 * The `queue` section of the configuration (validated once at start-up).
 *
 * Where the queues live is not decided here: `openQueueBackend` takes the
 * Redis URL (this section's `redisUrl`, overridden by the REDIS_URL
 * environment variable when the loader wires it) and falls back to the
 * embedded backend under `<dataDir>/queue` when there is none.
 */
import { z } from 'zod';
import { ms } from '../common/config-fields.js';

const REDIS_PROTOCOLS = new Set(['redis:', 'rediss:']);

const RedisUrlSchema = z.string().superRefine((value, ctx) => {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    ctx.addIssue({ code: 'custom', message: 'is not a URL (expected redis://host:port or rediss://host:port)' });
    return;
  }
  if (!REDIS_PROTOCOLS.has(url.protocol)) {
    ctx.addIssue({ code: 'custom', message: `has scheme "${url.protocol}"; expected redis: or rediss:` });
  } else if (!url.hostname) {
    ctx.addIssue({ code: 'custom', message: 'has no host' });
  }
});


export const QueueConfigSchema = z
  .object({
    /**
     * Redis server for the queues, e.g. `redis://127.0.0.1:6379`. Unset: the
     * embedded backend (single process; see src/queue/embedded-backend.ts).
     * May carry a password: prefer the REDIS_URL environment variable.
     */
    redisUrl: RedisUrlSchema.optional(),
    /** Tries per job, the first included; after the last one the job stays failed for inspection. */
    attempts: z.number().int().min(1).max(100).default(8),
    /** First retry delay; doubles per failed attempt (backoffMs, 2×, 4×, …). */
    backoffMs: ms(0, 3_600_000).default(1000),
    /**
     * Jobs one worker processes at once. A job holds its slot until every
     * endpoint has answered (its room's next message goes at the first
     * answer), so the slots, divided by the slowest endpoint's round trip,
     * bound a process's pace: 64 keeps up with 300 messages/s past a 200 ms
     * relay, 4 with 20 (`npm run bench -- --bridge --latency 10,40,200
     * --concurrency N`). The default stays 4: with 64, a killed worker leaves
     * that many jobs to recover, and the worker-kill test outran its minute
     * once in three runs.
     */
    concurrency: z.number().int().min(1).max(256).default(4),
    /** Completed jobs kept per queue (the newest); older ones are removed. Failed jobs are always kept. */
    removeOnComplete: z.number().int().min(0).max(1_000_000).default(1000),
    /** How long a worker's claim on a job lasts without renewal; a worker that dies loses its jobs after this. */
    lockDurationMs: ms(1000, 3_600_000).default(30_000),
    /** How often workers look for jobs whose worker died (stalled jobs) and put them back. */
    stalledIntervalMs: ms(100, 3_600_000).default(30_000),
    /** A job whose worker died more often than this fails instead of being retried. */
    maxStalledCount: z.number().int().min(0).max(100).default(1),
    /** In-order queues (KeyedSequencer): how long an early job waits in its worker slot for its turn. */
    orderHoldMs: ms(0, 60_000).default(250),
    /** In-order queues: first delay of an early job sent back to the queue; doubles per deferral, up to 5 s. */
    orderRetryMs: ms(1, 5000).default(50),
    /**
     * How often every process looks for queued messages whose job is missing
     * (the queue refused the hand-off, or a process died between writing the
     * message and queueing it) and queues them again; also once at start.
     */
    sweepMs: ms(100, 3_600_000).default(30_000),
  })
  .strict();

/** Validated config (defaults applied). */
export type QueueConfig = z.output<typeof QueueConfigSchema>;
/** What a config file may contain (defaults not yet applied). */
export type QueueConfigInput = z.input<typeof QueueConfigSchema>;
