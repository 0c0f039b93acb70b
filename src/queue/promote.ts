/**
 * Waking a sequenced job (see sequencer.ts) the moment its turn comes, rather
 * than at its next look (`orderRetryMs`, the fallback).
 */
import type { JobQueue } from './backend.js';

const PROMOTE_TRIES = 10;
const PROMOTE_PAUSE_MS = 10;

/**
 * Wakes the job whose turn has just come (it waits in the delayed set), so a
 * room's next message goes out at once instead of at its next look
 * (`orderRetryMs`, the fallback).
 */
export async function promote<T>(queue: JobQueue<T>, jobId: string | undefined): Promise<void> {
  if (!jobId) return;
  // A job taken just before its turn came may still be on its way to the
  // delayed set (it read "not yet" and is deferring itself): look again briefly.
  for (let i = 0; i < PROMOTE_TRIES; i++) {
    const job = await queue.getJob(jobId);
    if (!job) return;
    const state = await job.getState();
    if (state === 'delayed') {
      await job.promote().catch(() => undefined); // it may have just been taken
      return;
    }
    if (state !== 'active') return; // waiting: it will be taken in its turn; done: nothing to do
    await new Promise((r) => setTimeout(r, PROMOTE_PAUSE_MS));
  }
}
