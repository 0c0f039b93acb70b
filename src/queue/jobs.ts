/**
 * The job queues roomcast runs, their payloads, and the one way to put jobs on
 * them and take jobs off them.
 *
 * - `outbound`: a room message to send to the room's contacts. Job id = the
 *   message uuid, so enqueueing the same message twice is a no-op (while the
 *   first job is retained: completed jobs are kept up to `removeOnComplete`,
 *   failed ones forever).
 * - `inbound`: a contact's message to post into a room. Job id = the message
 *   uuid, likewise.
 *
 * Payloads carry ids only; the message itself is in the store, so a job is
 * small and a retry always works from the current state.
 *
 * A worker validates every job it takes against the queue's schema; a
 * malformed job fails at once (no retries, UnrecoverableError) and is kept
 * with the reason, for inspection.
 */
import { UnrecoverableError } from 'bullmq';
import type { DefaultJobOptions, Job, Processor } from 'bullmq';
import { z } from 'zod';
import type { JobQueue, JobWorker, QueueBackend, WorkerSettings } from './backend.js';
import type { QueueConfig } from './config.js';
import type { KeyedSequencer } from './sequencer.js';

const Id = z.string().min(1).max(512);

export const OutboundJobSchema = z
  .object({
    /** The message's uuid (also the job id). */
    uuid: Id,
    platform: Id,
    roomId: Id,
    /** Position of the message in its room, for in-order delivery (KeyedSequencer). */
    seq: z.number().int().min(0),
  })
  .strict();
export type OutboundJob = z.output<typeof OutboundJobSchema>;

export const InboundJobSchema = z
  .object({
    /** The message's uuid (also the job id). */
    uuid: Id,
    platform: Id,
    roomId: Id,
    /** x-only key of the room identity the message was addressed to. */
    owner: Id,
  })
  .strict();
export type InboundJob = z.output<typeof InboundJobSchema>;

export const JOB_SCHEMAS = {
  outbound: OutboundJobSchema,
  inbound: InboundJobSchema,
} as const;

export type JobQueueName = keyof typeof JOB_SCHEMAS;
export type JobPayload<N extends JobQueueName> = z.output<(typeof JOB_SCHEMAS)[N]>;
export const JOB_QUEUE_NAMES: readonly JobQueueName[] = ['outbound', 'inbound'];

/**
 * The job id of a payload: the room message's uuid for outbound jobs; for
 * inbound jobs the room identity too, since a peer may send the same uuid to
 * two rooms and each must get its post.
 */
const JOB_IDS: { readonly [N in JobQueueName]: (p: JobPayload<N>) => string } = {
  outbound: (p) => p.uuid,
  inbound: (p) => `${p.owner}-${p.uuid}`,
};

export function jobIdOf<N extends JobQueueName>(name: N, payload: JobPayload<N>): string {
  return (JOB_IDS[name] as (p: JobPayload<N>) => string)(payload);
}

/** Retry and retention settings every job gets (from the `queue` config section). */
export function jobDefaults(cfg: QueueConfig): DefaultJobOptions {
  return {
    attempts: cfg.attempts,
    backoff: { type: 'exponential', delay: cfg.backoffMs },
    removeOnComplete: { count: cfg.removeOnComplete },
    // Never removed: a job that could not be done stays inspectable (reason, attempts) until an operator cleans it.
    removeOnFail: false,
  };
}

/** Worker settings from the `queue` config section. */
export function workerDefaults(cfg: QueueConfig): WorkerSettings {
  return {
    concurrency: cfg.concurrency,
    lockDuration: cfg.lockDurationMs,
    stalledInterval: cfg.stalledIntervalMs,
    maxStalledCount: cfg.maxStalledCount,
  };
}

/** A producer for one of roomcast's queues. */
export interface JobProducer<N extends JobQueueName> {
  readonly name: N;
  /** The underlying BullMQ queue (inspection: getJob, getFailed, …). */
  readonly queue: JobQueue<JobPayload<N>>;
  /**
   * Puts `payload` on the queue with job id = `payload.uuid`. Adding a uuid
   * that is already queued (or retained) returns the existing job and
   * changes nothing. Throws on a malformed payload (a programming error).
   */
  enqueue(payload: JobPayload<N>): Promise<Job<JobPayload<N>>>;
}

export interface JobQueueOptions {
  /** The BullMQ queue's name; default: the kind (`outbound`, `inbound`). Tests use unique names. */
  queueName?: string;
}

export function jobProducer<N extends JobQueueName>(backend: QueueBackend, name: N, cfg: QueueConfig, opts: JobQueueOptions = {}): JobProducer<N> {
  const schema = JOB_SCHEMAS[name];
  const queue = backend.queue<JobPayload<N>>(opts.queueName ?? name, { defaultJobOptions: jobDefaults(cfg) });
  return {
    name,
    queue,
    async enqueue(payload) {
      const data = schema.parse(payload) as JobPayload<N>;
      return queue.add(name, data, { jobId: jobIdOf(name, data) });
    },
  };
}

/** What a job handler receives: the validated payload, plus the job (attempts, id) when it needs it. */
export type JobHandler<N extends JobQueueName, R> = (payload: JobPayload<N>, job: Job<JobPayload<N>>) => Promise<R>;

export interface JobWorkerOptions<N extends JobQueueName> extends JobQueueOptions {
  /** Keeps jobs of one key in order (see sequencer.ts). */
  sequencer?: KeyedSequencer<JobPayload<N>>;
  /** Overrides of the config-derived worker settings (tests use short lock/stall intervals). */
  settings?: WorkerSettings;
}

/**
 * Starts a worker on one of roomcast's queues. Each job's data is checked
 * against the queue's schema first; a malformed job fails without retries.
 * Then the sequencer (if any) decides whether it is the job's turn; then
 * `handler` runs. A handler that throws uses one attempt; after the last
 * attempt the job stays failed (subscribe to the worker's 'failed' event to
 * tell the room).
 */
export function startJobWorker<N extends JobQueueName, R>(
  backend: QueueBackend,
  name: N,
  cfg: QueueConfig,
  handler: JobHandler<N, R>,
  opts: JobWorkerOptions<N> = {},
): JobWorker<unknown, R> {
  const inner: Processor<JobPayload<N>, R> = (job) => handler(job.data, job);
  const run = opts.sequencer ? opts.sequencer.wrap(inner) : inner;
  const processor = validated(name, run);
  return backend.worker<unknown, R>(opts.queueName ?? name, processor, { ...workerDefaults(cfg), ...opts.settings });
}

/** Wraps `processor` so it only ever sees data that passed the queue's schema. */
export function validated<N extends JobQueueName, R>(name: N, processor: Processor<JobPayload<N>, R>): Processor<unknown, R> {
  const schema = JOB_SCHEMAS[name];
  return async (job, token, signal) => {
    const parsed = schema.safeParse(job.data);
    if (!parsed.success) {
      const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(data)'}: ${i.message}`).join('; ');
      throw new UnrecoverableError(`malformed ${name} job ${job.id ?? '?'}: ${issues}`);
    }
    job.data = parsed.data;
    return processor(job as Job<JobPayload<N>>, token, signal);
  };
}
