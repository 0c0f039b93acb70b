/**
 * Waking a sequenced job (see sequencer.ts) the moment its turn comes, rather
 * than at its next look (`orderRetryMs`, the fallback).
 */
import type { JobQueue } from './backend.js';

/**
 * Wakes the job whose turn has just come if it waits in the delayed set, so a
 * room's next message goes out at once instead of at its next look
 * (`orderRetryMs`, the fallback). A job found active is left alone: either a
 * sequencer holds it and asks again itself (at once when it is in this
 * process: KeyedSequencer.wake), or it is on its way to the delayed set and
 * looks once more when it gets there (KeyedSequencer.wrap). Call it after the
 * predecessor's "done" is recorded, so that last look sees it.
 *
 * One call to the backend: its promote moves the job only if it is in the
 * delayed set, and refuses otherwise (a job not delayed, or gone). A refusal,
 * or a backend that cannot be reached, leaves the job to its fallback look.
 */
export async function promote<T>(queue: JobQueue<T>, jobId: string | undefined): Promise<void> {
  if (!jobId) return;
  await queue.backend.promote(jobId).catch(() => undefined);
}
