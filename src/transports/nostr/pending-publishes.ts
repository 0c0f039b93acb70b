/**
 * Publishes waiting for a relay's `["OK", id, accepted, message]`: one entry
 * per event id (several sends of one event share it), each settled exactly
 * once: by the relay's answer, by its timeout, or by the connection closing.
 */
import type { FailureReason } from '../transport.js';

export type PublishOutcome = { ok: true } | { ok: false; reason: FailureReason; error: string };

export class PendingPublishes {
  private readonly waiting = new Map<string, Set<(o: PublishOutcome) => void>>();

  /** Waits for the relay's verdict on `eventId`; `send` puts the frame on the wire and reports a write error. */
  wait(eventId: string, timeoutMs: number, send: (fail: (error: string) => void) => void): Promise<PublishOutcome> {
    return new Promise((resolve) => {
      let set = this.waiting.get(eventId);
      if (!set) this.waiting.set(eventId, (set = new Set()));
      const waiters = set;
      let settled = false;
      const finish = (o: PublishOutcome) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        waiters.delete(finish);
        if (waiters.size === 0 && this.waiting.get(eventId) === waiters) this.waiting.delete(eventId);
        resolve(o);
      };
      // When the event loop was busy, the timer and the relay's OK can be due at once and
      // timers run first: let pending I/O be read (setImmediate runs after the poll phase).
      const timer = setTimeout(
        () => setImmediate(() => finish({ ok: false, reason: 'timeout', error: `no OK within ${timeoutMs} ms` })),
        timeoutMs,
      );
      waiters.add(finish);
      try {
        send((error) => finish({ ok: false, reason: 'unreachable', error }));
      } catch (err) {
        finish({ ok: false, reason: 'unreachable', error: `send failed: ${String(err)}` });
      }
    });
  }

  /** The relay answered for `eventId`; returns false when nobody was waiting for it. */
  answer(eventId: string, accepted: boolean, message: string): boolean {
    const waiters = this.waiting.get(eventId);
    if (!waiters) return false;
    // "duplicate:" means the relay already has the event: as good as accepted.
    const ok = accepted || message.startsWith('duplicate:');
    const outcome: PublishOutcome = ok ? { ok: true } : { ok: false, reason: 'rejected', error: message.slice(0, 200) || 'refused by relay' };
    for (const finish of [...waiters]) finish(outcome);
    return true;
  }

  /** Settles every waiting publish as unreachable (connection lost or stopped). */
  failAll(error: string): void {
    const all = [...this.waiting.values()].flatMap((s) => [...s]);
    this.waiting.clear();
    for (const finish of all) finish({ ok: false, reason: 'unreachable', error });
  }
}
