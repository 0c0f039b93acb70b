/**
 * Exponential backoff, shared by every retry loop (reconnects, client
 * creation, deferred jobs): the delay before retry `attempt` (0-based)
 * doubles from `minMs` and is capped at `maxMs`. Callers add their own jitter
 * where many clients could retry in step.
 */
export function backoffDelay(attempt: number, minMs: number, maxMs: number): number {
  return Math.min(maxMs, minMs * 2 ** Math.min(Math.max(0, attempt), 30));
}

export interface RetryOptions {
  readonly minMs: number;
  readonly maxMs: number;
  /** Checked before and after each wait: true ends the loop. */
  readonly stopped: () => boolean;
  /** Told every failure. */
  readonly onError: (err: unknown) => void;
  /** A failure retrying cannot help (a refused credential): the loop ends with `false`. */
  readonly isFinal: (err: unknown) => boolean;
}

/**
 * Calls `attempt` after jittered, growing delays (backoffDelay × 0.5-1)
 * until it succeeds (true), a failure is final, or `stopped` (false).
 */
export async function retryWithBackoff(attempt: () => Promise<void>, o: RetryOptions): Promise<boolean> {
  for (let n = 0; !o.stopped(); n++) {
    await new Promise((r) => setTimeout(r, backoffDelay(n, o.minMs, o.maxMs) * (0.5 + Math.random() / 2)));
    if (o.stopped()) return false;
    try {
      await attempt();
      return true;
    } catch (err) {
      o.onError(err);
      if (o.isFinal(err)) return false;
    }
  }
  return false;
}

/** Waits for `p`, or `ms` at most (then resolves anyway; `p` goes on). */
export async function waitAtMost(p: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([p, new Promise((r) => (timer = setTimeout(r, ms)))]);
  clearTimeout(timer);
}
