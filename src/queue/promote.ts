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
 */
export async function promote<T>(queue: JobQueue<T>, jobId: string | undefined): Promise<void> {
  if (!jobId) return;
  const job = await queue.getJob(jobId);
  if (!job || (await job.getState()) !== 'delayed') return;
  await job.promote().catch(() => undefined); // it may have just been taken
}
