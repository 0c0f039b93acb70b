/**
 * In-order processing per key (per room) with any number of workers.
 *
 * BullMQ hands jobs to whichever worker is free, so two messages of one room
 * can be processed at once, or the second before the first. KeyedSequencer
 * wraps a processor: before the work starts it asks the caller's `isTurn(job)`
 * (typically: "has every earlier message of this job's room been handled?",
 * answered from the shared store). When the answer is no, the job waits in
 * its slot for up to `holdMs`, asking again; if its turn still has not come,
 * it goes back to the delayed set and is taken again later. That deferral
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
import { backoffDelay } from '../common/backoff.js';

export interface KeyedSequencerOptions<T> {
  /**
   * Whether `job` may be processed now. Called when the job is taken, and
   * again every `pollMs` while it is held. Must not throw for a job that is
   * merely early (answer false); a throw fails the attempt like any processor
   * error.
   */
  isTurn(job: Job<T>): Promise<boolean>;
  /**
   * How long an early job waits in its worker slot, asking again every
   * `pollMs`, before it is deferred (ms, default 250; 0: defer at once).
   * Usually its predecessor is being processed right now by another slot, so
   * waiting in place is far cheaper than a trip through the delayed set. While
   * held, the job occupies one of the worker's `concurrency` slots.
   */
  holdMs?: number;
  /** How often a held job asks `isTurn` again (ms, default 10). */
  pollMs?: number;
  /** First deferral delay (ms, default 50); doubles per consecutive deferral of the same job, up to `maxRetryMs`. */
  retryMs?: number;
  /** Longest deferral delay (ms, default 5000): a room stuck behind a retrying message costs little. */
  maxRetryMs?: number;
}

function positive(name: string, value: number, min: number): number {
  if (!Number.isFinite(value) || value < min) throw new Error(`KeyedSequencer: ${name} must be at least ${min} (got ${value})`);
  return value;
}

export class KeyedSequencer<T> {
  private readonly isTurn: (job: Job<T>) => Promise<boolean>;
  private readonly holdMs: number;
  private readonly pollMs: number;
  private readonly retryMs: number;
  private readonly maxRetryMs: number;
  private deferred = 0;

  constructor(opts: KeyedSequencerOptions<T>) {
    this.isTurn = opts.isTurn;
    this.holdMs = positive('holdMs', opts.holdMs ?? 250, 0);
    this.pollMs = positive('pollMs', opts.pollMs ?? 10, 1);
    this.retryMs = positive('retryMs', opts.retryMs ?? 50, 1);
    this.maxRetryMs = positive('maxRetryMs', opts.maxRetryMs ?? 5000, this.retryMs);
  }

  /** How many times a job was sent back to the delayed set because it was early (for metrics and tests). */
  get deferrals(): number {
    return this.deferred;
  }

  /** A processor that runs `processor` only when `isTurn` says so, and holds or defers the job otherwise. */
  wrap<R>(processor: Processor<T, R>): Processor<T, R> {
    return async (job, token, signal) => {
      if (await this.awaitTurn(job, signal)) return processor(job, token, signal);
      if (token === undefined) throw new Error('KeyedSequencer: the worker passed no lock token; cannot defer the job');
      // Deferrals so far (each one started the job once without using an attempt).
      const previous = Math.max(0, job.attemptsStarted - job.attemptsMade - 1);
      const delay = backoffDelay(previous, this.retryMs, this.maxRetryMs);
      this.deferred++;
      await job.moveToDelayed(Date.now() + delay, token);
      // Tells the worker the job was moved on purpose: no failure, no attempt used.
      throw new DelayedError();
    };
  }

  private async awaitTurn(job: Job<T>, signal: AbortSignal | undefined): Promise<boolean> {
    const until = Date.now() + this.holdMs;
    for (;;) {
      if (await this.isTurn(job)) return true;
      if (Date.now() + this.pollMs > until || signal?.aborted) return false;
      await sleep(this.pollMs);
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
