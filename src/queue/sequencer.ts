/**
 * In-order processing per key (per room) with any number of workers.
 *
 * BullMQ hands jobs to whichever worker is free, so two messages of one room
 * can be processed at once, or the second before the first. KeyedSequencer
 * wraps a processor: before the work starts it asks the caller's `isTurn(job)`
 * (typically: "has every earlier message of this job's room been handled?",
 * answered from the shared store). The answer is a Turn:
 * - `now`: the job is processed;
 * - `next`: one job is ahead of it, usually being processed right now. The
 *   job waits in its slot for up to `holdMs`, asking again (at once when a
 *   job finishes in this process: wake()); if its turn still has not come, it
 *   goes back to the delayed set, with a growing delay, and is taken again;
 * - `later`: more are ahead. The job goes back to the delayed set at once,
 *   for `laterMs`, and waits to be promoted when its turn comes (promote.ts).
 *   Holding it would only block a slot: in a busy room, slots full of jobs
 *   that cannot go keep out the one that can (measured: one room's throughput
 *   fell from 52 to 6 messages/s with 4 slots).
 * A deferral uses BullMQ's `moveToDelayed` + `DelayedError`, which does NOT
 * consume one of the job's attempts, so a busy room never exhausts a
 * message's retries.
 *
 * The caller's contract (what makes the order hold):
 * - `isTurn` must read state shared by every worker (the store, not memory;
 *   a process may add what it knows of its own running jobs, and wake() its
 *   held jobs when that changes), and the processor must record "done" for
 *   the job before it resolves, so the next job's `isTurn` sees it; then it
 *   promotes the next job (promote.ts), or that job waits out `laterMs`.
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
import type { Turn } from '../common/turn.js';

export interface KeyedSequencerOptions<T> {
  /**
   * Whether `job` may be processed now (`true` is `now`, `false` is `next`).
   * Called when the job is taken, again every `pollMs` while it is held, and
   * once after a deferral. Must not throw for a job that is merely early; a
   * throw fails the attempt like any processor error.
   */
  isTurn(job: Job<T>): Promise<Turn | boolean>;
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
  /**
   * How long a job with more than one job ahead stays in the delayed set
   * unless promoted (ms, default 30 000): the fallback for a promotion that
   * never came (its predecessor's process died between "done" and promote).
   */
  laterMs?: number;
}

function asTurn(answer: Turn | boolean): Turn {
  return answer === true ? 'now' : answer === false ? 'next' : answer;
}

function positive(name: string, value: number, min: number): number {
  if (!Number.isFinite(value) || value < min) throw new Error(`KeyedSequencer: ${name} must be at least ${min} (got ${value})`);
  return value;
}

export class KeyedSequencer<T> {
  private readonly isTurn: (job: Job<T>) => Promise<Turn>;
  private readonly holdMs: number;
  private readonly pollMs: number;
  private readonly retryMs: number;
  private readonly maxRetryMs: number;
  private readonly laterMs: number;
  private deferred = 0;
  private readonly wakers = new Set<() => void>();
  /** Counts wake() calls, so a wake between a job's look and its nap is not lost. */
  private wakes = 0;

  constructor(opts: KeyedSequencerOptions<T>) {
    this.isTurn = async (job) => asTurn(await opts.isTurn(job));
    this.holdMs = positive('holdMs', opts.holdMs ?? 250, 0);
    this.pollMs = positive('pollMs', opts.pollMs ?? 10, 1);
    this.retryMs = positive('retryMs', opts.retryMs ?? 50, 1);
    this.maxRetryMs = positive('maxRetryMs', opts.maxRetryMs ?? 5000, this.retryMs);
    this.laterMs = positive('laterMs', opts.laterMs ?? 30_000, 1);
  }

  /** How many times a job was sent back to the delayed set because it was early (for metrics and tests). */
  get deferrals(): number {
    return this.deferred;
  }

  /**
   * Asks every job held here right away whether its turn has come, instead of
   * at its next poll. Called when a job this sequencer ran finishes: its
   * successor, if held in this process, goes on at once.
   */
  wake(): void {
    this.wakes++;
    const wakers = [...this.wakers];
    this.wakers.clear();
    for (const w of wakers) w();
  }

  /** A processor that runs `processor` only when `isTurn` says so, and holds or defers the job otherwise. */
  wrap<R>(processor: Processor<T, R>): Processor<T, R> {
    return async (job, token, signal) => {
      const turn = await this.awaitTurn(job, signal);
      if (turn === 'now') {
        try {
          return await processor(job, token, signal);
        } finally {
          this.wake();
        }
      }
      if (token === undefined) throw new Error('KeyedSequencer: the worker passed no lock token; cannot defer the job');
      // Deferrals so far (each one started the job once without using an attempt).
      const previous = Math.max(0, job.attemptsStarted - job.attemptsMade - 1);
      const delay = turn === 'later' ? this.laterMs : backoffDelay(previous, this.retryMs, this.maxRetryMs);
      this.deferred++;
      await job.moveToDelayed(Date.now() + delay, token);
      // A predecessor finishing while this job was on its way may have found it still active and left it
      // (promote.ts): now that it is delayed, look once more, and wake it if its turn has come.
      if ((await this.isTurn(job).catch(() => 'later')) === 'now') await job.promote().catch(() => undefined);
      // Tells the worker the job was moved on purpose: no failure, no attempt used.
      throw new DelayedError();
    };
  }

  /** Asks until the turn comes, or gives up: at once for `later`, after `holdMs` for `next`. */
  private async awaitTurn(job: Job<T>, signal: AbortSignal | undefined): Promise<Turn> {
    const until = Date.now() + this.holdMs;
    for (;;) {
      const wakesBefore = this.wakes;
      const turn = await this.isTurn(job);
      if (turn !== 'next' || Date.now() + this.pollMs > until || signal?.aborted) return turn;
      await this.nap(this.pollMs, wakesBefore);
    }
  }

  /** Sleeps `ms`, or until wake(); not at all if a wake() came since `wakesBefore` (while the job was looking). */
  private nap(ms: number, wakesBefore: number): Promise<void> {
    if (this.wakes !== wakesBefore) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wakers.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wakers.add(done);
    });
  }
}

