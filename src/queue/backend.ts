/**
 * Where the queues live, behind one small interface: callers build BullMQ
 * queues, workers and event streams through a QueueBackend and never learn
 * whether Redis or the embedded database is underneath.
 *
 * - Redis (`redisUrl` given): any number of processes on any number of
 *   machines share the queues; this is how roomcast scales out
 *   (`roomcast worker` processes next to `roomcast start`).
 * - Embedded (no `redisUrl`): BullMQ's PostgreSQL backend on PGlite, stored
 *   under `<dataDir>/queue`, so `npm start` needs no service. Jobs survive a
 *   restart and a crash. ONE PROCESS ONLY: a second process that opens the
 *   same directory fails with EmbeddedQueueInUseError. See embedded-backend.ts.
 *
 * Scaling out (Redis only): point every process at the same Redis (REDIS_URL)
 * and the same store (a libsql server URL, not a file). BullMQ gives each job
 * to exactly one worker, in whichever process; a process that dies loses its
 * jobs to the others once their locks expire (`lockDurationMs`, stalled-job
 * recovery); room order holds across processes because KeyedSequencer asks
 * the shared store whose turn it is. With the embedded backend there is one
 * process: `roomcast start`, whose workers run `concurrency` jobs at once.
 */
import { Queue, QueueEvents, Worker } from 'bullmq';
import type { BackendFactory, IQueueBackend, JobProgress, Processor, QueueEventsOptions, QueueOptions, WorkerOptions } from 'bullmq';
import type { Logger } from '../observability/logger.js';
import type { LockHolder } from './lock-file.js';

export type BackendKind = 'redis' | 'embedded';

/** A BullMQ Queue on either backend, carrying jobs with data `T` and results `R`. */
export type JobQueue<T = unknown, R = unknown> = Queue<T, R, string, T, R, string, IQueueBackend, unknown>;
/** A BullMQ Worker on either backend. */
export type JobWorker<T = unknown, R = unknown> = Worker<T, R, string, IQueueBackend, JobProgress, unknown>;
/** A BullMQ QueueEvents stream on either backend. */
export type JobQueueEvents = QueueEvents<unknown, IQueueBackend, unknown>;

/** Queue options, minus what the backend decides (connection, key prefix). */
export type QueueSettings = Omit<QueueOptions<unknown>, 'connection' | 'prefix'>;
/** Worker options, minus what the backend decides. Sandboxed (file) processors are not offered. */
export type WorkerSettings = Omit<WorkerOptions<unknown>, 'connection' | 'prefix' | 'useWorkerThreads'>;
export type QueueEventsSettings = Omit<QueueEventsOptions<unknown>, 'connection' | 'prefix'>;

/** Jobs per state in one queue. `waiting` includes prioritized jobs. */
export interface JobCounts {
  waiting: number;
  active: number;
  delayed: number;
  completed: number;
  failed: number;
}

export interface QueueBackend {
  readonly kind: BackendKind;
  /** Where the queues are, safe to log and show: the Redis URL without credentials, or the embedded directory. */
  readonly location: string;
  /** Whether other processes may use these queues at the same time (Redis: yes; embedded: no). */
  readonly multiProcess: boolean;
  /** A producer/inspector for queue `name`. Closed by close(). */
  queue<T, R = unknown>(name: string, settings?: QueueSettings): JobQueue<T, R>;
  /**
   * A worker that starts taking jobs from `name` at once (unless
   * `autorun: false`). Closed by close(), which waits for its active jobs.
   * Worker errors (lost connection, …) are logged; subscribe to 'failed' for job failures.
   */
  worker<T, R>(name: string, processor: Processor<T, R>, settings?: WorkerSettings): JobWorker<T, R>;
  /** The event stream of `name` (completed, failed, …). Closed by close(). */
  events(name: string, settings?: QueueEventsSettings): JobQueueEvents;
  /** Jobs per state in `name`. */
  counts(name: string): Promise<JobCounts>;
  /** Closes every worker (waiting for active jobs), event stream and queue, then the storage. Idempotent. */
  close(): Promise<void>;
}

export interface OpenQueueBackendOptions {
  /** Redis server (`redis://…`, `rediss://…`); unset → the embedded backend. */
  redisUrl?: string;
  /** The service's data directory; the embedded backend lives in `<dataDir>/queue`. */
  dataDir: string;
  log: Logger;
}

/**
 * Opens the queue backend: Redis when `redisUrl` is given, else the embedded
 * one. Resolves once the storage is reachable and ready (Redis answered; the
 * embedded database is open and migrated), so configuration mistakes fail at
 * start-up, not at the first job.
 */
export async function openQueueBackend(opts: OpenQueueBackendOptions): Promise<QueueBackend> {
  if (opts.redisUrl) {
    const { openRedisBackend } = await import('./redis-backend.js');
    return openRedisBackend(opts.redisUrl, opts.log);
  }
  const { openEmbeddedBackend } = await import('./embedded-backend.js');
  return openEmbeddedBackend(opts.dataDir, opts.log);
}

/** Another process has the embedded queue open. */
export class EmbeddedQueueInUseError extends Error {
  constructor(
    readonly directory: string,
    readonly holder: LockHolder | undefined,
    lockFile: string,
  ) {
    const who = holder ? `process ${holder.pid} on ${holder.host} (running since ${holder.since})` : 'another process';
    super(
      `the embedded job queue in ${directory} is already open in ${who}. ` +
        'The embedded queue serves one process only: stop that process, or set REDIS_URL so that several processes share a Redis queue. ' +
        `(Lock file: ${lockFile}; it is removed on exit and ignored once its process is gone.)`,
    );
    this.name = 'EmbeddedQueueInUseError';
  }
}

/** What a concrete backend supplies to BullMqBackend. */
export interface BackendParts {
  kind: BackendKind;
  location: string;
  multiProcess: boolean;
  factory: BackendFactory<IQueueBackend, unknown>;
  /** Connection for Queue objects (producers, inspection). */
  producerConnection: unknown;
  /** Connection for Worker and QueueEvents objects (they block waiting for jobs and events). */
  consumerConnection: unknown;
  /** Key prefix (Redis only). */
  prefix?: string;
  /** Releases the storage after every BullMQ object is closed. */
  shutdown(): Promise<void>;
}

interface Closable {
  close(): Promise<void>;
}

/** The backend-independent half: builds and tracks BullMQ objects over the parts a backend supplies. */
export class BullMqBackend implements QueueBackend {
  readonly kind: BackendKind;
  readonly location: string;
  readonly multiProcess: boolean;
  // Tracked only to be closed, in order: workers, then event streams, then queues.
  private readonly workers = new Set<Closable>();
  private readonly eventStreams = new Set<Closable>();
  private readonly queues = new Set<Closable>();
  private readonly inspectors = new Map<string, JobQueue<unknown, unknown>>();
  private closing: Promise<void> | undefined;

  constructor(
    private readonly parts: BackendParts,
    private readonly log: Logger,
  ) {
    this.kind = parts.kind;
    this.location = parts.location;
    this.multiProcess = parts.multiProcess;
  }

  queue<T, R = unknown>(name: string, settings: QueueSettings = {}): JobQueue<T, R> {
    this.assertOpen();
    const q: JobQueue<T, R> = new Queue<T, R, string, T, R, string, IQueueBackend, unknown>(name, { ...settings, ...this.common(this.parts.producerConnection) }, this.parts.factory);
    q.on('error', (err: Error) => this.log.warn({ err, queue: name }, 'queue: connection error'));
    this.queues.add(q);
    return q;
  }

  worker<T, R>(name: string, processor: Processor<T, R>, settings: WorkerSettings = {}): JobWorker<T, R> {
    this.assertOpen();
    const w: JobWorker<T, R> = new Worker<T, R, string, IQueueBackend, JobProgress, unknown>(name, processor, { ...settings, ...this.common(this.parts.consumerConnection) }, this.parts.factory);
    w.on('error', (err: Error) => this.log.warn({ err, queue: name }, 'queue worker: error'));
    this.workers.add(w);
    return w;
  }

  events(name: string, settings: QueueEventsSettings = {}): JobQueueEvents {
    this.assertOpen();
    const e: JobQueueEvents = new QueueEvents<unknown, IQueueBackend, unknown>(name, { ...settings, ...this.common(this.parts.consumerConnection) }, this.parts.factory);
    e.on('error', (err: Error) => this.log.warn({ err, queue: name }, 'queue events: error'));
    this.eventStreams.add(e);
    return e;
  }

  async counts(name: string): Promise<JobCounts> {
    let q = this.inspectors.get(name);
    if (!q) {
      q = this.queue<unknown>(name);
      this.inspectors.set(name, q);
    }
    const c = await q.getJobCounts('waiting', 'prioritized', 'active', 'delayed', 'completed', 'failed');
    return {
      waiting: (c.waiting ?? 0) + (c.prioritized ?? 0),
      active: c.active ?? 0,
      delayed: c.delayed ?? 0,
      completed: c.completed ?? 0,
      failed: c.failed ?? 0,
    };
  }

  close(): Promise<void> {
    this.closing ??= this.closeAll();
    return this.closing;
  }

  private async closeAll(): Promise<void> {
    // Workers first (they finish their active jobs, which may still add jobs), then readers, then writers.
    const report = (what: string) => (r: PromiseSettledResult<unknown>) => {
      if (r.status === 'rejected') this.log.warn({ err: r.reason }, `queue backend: closing ${what} failed`);
    };
    (await Promise.allSettled([...this.workers].map((w) => w.close()))).forEach(report('a worker'));
    (await Promise.allSettled([...this.eventStreams].map((e) => e.close()))).forEach(report('an event stream'));
    (await Promise.allSettled([...this.queues].map((q) => q.close()))).forEach(report('a queue'));
    this.workers.clear();
    this.eventStreams.clear();
    this.queues.clear();
    this.inspectors.clear();
    await this.parts.shutdown();
  }

  private common(connection: unknown): { connection: unknown; prefix?: string } {
    return this.parts.prefix === undefined ? { connection } : { connection, prefix: this.parts.prefix };
  }

  private assertOpen(): void {
    if (this.closing) throw new Error(`queue backend (${this.kind}) is closed`);
  }
}
