/**
 * In-order processing per key (per room) with any number of workers.
 *
 * BullMQ hands jobs to whichever worker is free, so two messages of one room
 * can be processed at once, or the second before the first. KeyedSequencer
 * wraps a processor: before the work starts it asks the caller's `isTurn(job)`
 * (typically: "has every earlier message of this job's room been handled?",
 * answered from the shared store); when the answer is no, the job goes back
 * to the delayed set for `retryMs` and is looked at again later. That deferral
 * uses BullMQ's `moveToDelayed` + `DelayedError`, which does NOT consume one
 * of the job's attempts, so a busy room never exhausts a message's retries.
 *
 * The caller's contract (what makes the order hold):
 * - `isTurn` must read state shared by every worker (the store, not memory),
 *   and the processor must record "done" for the job before it resolves, so
 *   the next job's `isTurn` sees it.
 * - A job that fails for good must also count as done (e.g. in the worker's
 *   'failed' handler once `attemptsMade >= attempts`), or its successors wait
 *   forever. A job that is retrying keeps its successors waiting: that is the
 *   point.
 * - The key's jobs must be processed by workers that use the same sequencer
 *   rule; keys are independent of each other (one slow room does not hold up
 *   another beyond the worker slots its deferred jobs briefly occupy).
 *
 * BullMQ's `maxStartedAttempts` worker option counts deferrals too: leave it
 * unset for sequenced queues.
 */
import { DelayedError } from 'bullmq';
import type { Job, Processor } from 'bullmq';

export interface KeyedSequencerOptions<T> {
  /**
   * Whether `job` may be processed now. Called once per time the job is
   * taken. Must not throw for a job that is merely early (answer false); a
   * throw fails the attempt like any processor error.
   */
  isTurn(job: Job<T>): Promise<boolean>;
  /** How long an early job waits before it is taken again (ms, default 50). */
  retryMs?: number;
}

export class KeyedSequencer<T> {
  private readonly isTurn: (job: Job<T>) => Promise<boolean>;
  private readonly retryMs: number;
  private deferred = 0;

  constructor(opts: KeyedSequencerOptions<T>) {
    this.isTurn = opts.isTurn;
    this.retryMs = opts.retryMs ?? 50;
    if (!Number.isFinite(this.retryMs) || this.retryMs < 1) throw new Error(`KeyedSequencer: retryMs must be at least 1 (got ${this.retryMs})`);
  }

  /** How many times a job was sent back because it was early (for metrics). */
  get deferrals(): number {
    return this.deferred;
  }

  /** A processor that runs `processor` only when `isTurn` says so, and defers the job otherwise. */
  wrap<R>(processor: Processor<T, R>): Processor<T, R> {
    return async (job, token, signal) => {
      if (await this.isTurn(job)) return processor(job, token, signal);
      if (token === undefined) throw new Error('KeyedSequencer: the worker passed no lock token; cannot defer the job');
      this.deferred++;
      await job.moveToDelayed(Date.now() + this.retryMs, token);
      // Tells the worker the job was moved on purpose: no failure, no attempt used.
      throw new DelayedError();
    };
  }
}
