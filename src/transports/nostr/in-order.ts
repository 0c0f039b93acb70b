/**
 * A socket's inbound work, one task at a time in arrival order: events for
 * the owner and the progress marks between them, so a cursor never passes an
 * event that has not been handled. At most `limit` events wait; beyond that
 * the owner drops the socket and resumes later rather than buffer without end.
 */
export class InOrderQueue {
  private tail: Promise<void> = Promise.resolve();
  private events = 0;

  constructor(
    private readonly limit: number,
    private readonly onError: (err: unknown) => void,
  ) {}

  /** Runs `task` after everything queued before it; a throw is reported, never propagated. */
  run(task: () => void | Promise<void>): void {
    this.tail = this.tail.then(task).catch(this.onError);
  }

  /** Queues one event's handling; false (nothing queued) when `limit` events already wait. */
  event(task: () => Promise<void>): boolean {
    if (this.events >= this.limit) return false;
    this.events++;
    this.run(async () => {
      try {
        await task();
      } finally {
        this.events--;
      }
    });
    return true;
  }

  get waiting(): number {
    return this.events;
  }

  /** Resolves once everything queued so far has run. */
  drained(): Promise<void> {
    return this.tail;
  }
}
