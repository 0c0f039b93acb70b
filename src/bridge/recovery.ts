/**
 * The recovery sweep. A room message is first written to the store (outbox or
 * inbox row, state 'queued') and then handed to the queue as a job. Between
 * the two, the queue may refuse (Redis away) or the process may die; and a
 * job's final failure may not have been recorded (the process died in its
 * 'failed' handler). Either way the row stays 'queued' with no job to move
 * it, and since a room's rows are processed in order, every later message
 * of that room would wait behind it for good.
 *
 * The sweep runs at start and every `queue.sweepMs`: each queued row whose
 * job is missing (or was removed after completing) is enqueued again; job ids
 * are the row's uuid, so this never makes a second job for a row whose job
 * exists. A row whose job failed for good is finished as its 'failed'
 * handler would have. Rows are looked at in pages, oldest first.
 */
import type { Logger } from '../observability/logger.js';
import { jobIdOf } from '../queue/index.js';
import type { InboundJob, JobProducer, OutboundJob } from '../queue/index.js';
import type { Store } from '../store/store.js';

/** Rows looked at per sweep, per direction: a backlog larger than this is worked through over several sweeps. */
const PAGE = 1000;

export interface RecoveryDeps {
  readonly store: Store;
  readonly outbound: JobProducer<'outbound'>;
  readonly inbound: JobProducer<'inbound'>;
  /** What the outbound worker does when a job fails for good (marks the row, tells the room). */
  readonly finishOutbound: (uuid: string) => Promise<void>;
  /** What the inbound worker does when a job fails for good. */
  readonly finishInbound: (owner: string, uuid: string) => Promise<void>;
  readonly log: Logger;
}

export interface SweepResult {
  /** Rows whose job was missing and was added again. */
  readonly requeued: number;
  /** Rows whose job had failed for good, now finished. */
  readonly finished: number;
}

type Verdict = 'ok' | 'requeue' | 'finish';

/**
 * What to do for a row whose job id is `jobId`. The row was read as queued a
 * moment ago; `stillQueued` reads it again after the job was looked at, so a
 * job that finished in between is left alone.
 */
async function verdict(
  queue: JobProducer<'outbound'>['queue'] | JobProducer<'inbound'>['queue'],
  jobId: string,
  stillQueued: () => Promise<boolean>,
): Promise<Verdict> {
  const job = await queue.getJob(jobId);
  const state = job ? await job.getState() : 'missing';
  if (state !== 'missing' && state !== 'failed' && state !== 'completed') return 'ok'; // waiting, delayed, active, …: it will run
  if (!(await stillQueued())) return 'ok';
  if (state === 'failed') return 'finish';
  // Done by the queue, yet its row says queued: run it again (a retry sends only what is missing).
  if (state === 'completed') await job?.remove();
  return 'requeue';
}

/** One sweep over every queued row. Throws only when the store or the queue cannot be read at all. */
export async function sweep(d: RecoveryDeps): Promise<SweepResult> {
  let requeued = 0;
  let finished = 0;
  for (const e of await d.store.rooms.listQueuedOutbox(PAGE)) {
    const job: OutboundJob = { uuid: e.uuid, platform: e.platform, roomId: e.roomId, seq: e.seq };
    const v = await verdict(d.outbound.queue, jobIdOf('outbound', job), async () => (await d.store.rooms.getOutbox(e.uuid))?.state === 'queued');
    if (v === 'requeue') {
      await d.outbound.enqueue(job);
      requeued++;
    } else if (v === 'finish') {
      await d.finishOutbound(e.uuid);
      finished++;
    }
  }
  for (const e of await d.store.rooms.listQueuedInbox(PAGE)) {
    const job: InboundJob = { uuid: e.uuid, platform: e.platform, roomId: e.roomId, owner: e.owner };
    const v = await verdict(d.inbound.queue, jobIdOf('inbound', job), async () => (await d.store.rooms.getInbox(e.owner, e.uuid))?.state === 'queued');
    if (v === 'requeue') {
      await d.inbound.enqueue(job);
      requeued++;
    } else if (v === 'finish') {
      await d.finishInbound(e.owner, e.uuid);
      finished++;
    }
  }
  if (requeued > 0 || finished > 0) d.log.warn({ requeued, finished }, 'recovery sweep: queued messages without a job were handed to the queue again');
  return { requeued, finished };
}

/**
 * Runs `sweep` now and every `everyMs` until the returned stop function is
 * called. A sweep that fails (the queue is away) is logged and tried again
 * at the next tick; sweeps never overlap.
 */
export function startSweeping(d: RecoveryDeps, everyMs: number): { stop(): Promise<void>; readonly first: Promise<void> } {
  let stopped = false;
  let running: Promise<void> = Promise.resolve();
  let timer: NodeJS.Timeout | undefined;
  let failedBefore = false;
  const tick = (): Promise<void> => {
    running = sweep(d).then(
      () => {
        failedBefore = false;
      },
      (err: unknown) => {
        // Logged once per outage, not every tick.
        if (!failedBefore) d.log.warn({ err: (err as Error).message }, 'recovery sweep failed; trying again later');
        failedBefore = true;
      },
    );
    return running.then(() => {
      if (!stopped) timer = setTimeout(() => void tick(), everyMs);
    });
  };
  const first = tick();
  return {
    first,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
