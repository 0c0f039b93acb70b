/**
 * Exponential backoff, shared by every retry loop (reconnects, client
 * creation, deferred jobs): the delay before retry `attempt` (0-based)
 * doubles from `minMs` and is capped at `maxMs`. Callers add their own jitter
 * where many clients could retry in step.
 */
export function backoffDelay(attempt: number, minMs: number, maxMs: number): number {
  return Math.min(maxMs, minMs * 2 ** Math.min(Math.max(0, attempt), 30));
}
