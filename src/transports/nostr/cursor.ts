/**
 * Where to resume one relay subscription (docs/nostr-framing.md, "Resume").
 *
 * The cursor is a local time T (unix seconds) such that everything the relay
 * delivered before T has been handed to the receiver. It advances only while
 * the subscription is live (after EOSE): to the REQ time at EOSE, then to the
 * time of each frame processed in order. Receive time rather than the events'
 * `created_at`, because a gift wrap's `created_at` is random up to two days in
 * the past and a backlog arrives newest first. On (re)subscribe we ask for
 * kind 4 since T - slack and for kind 1059 since T - slack - 2 days.
 *
 * A copy the receiver failed to take (its handler threw, or it was dropped
 * under overload) holds the cursor at a value that makes the next
 * subscription fetch it again, until a later copy of the same event succeeds.
 *
 * Writes go to the CursorStore on flush(), and otherwise at most once per
 * `throttleMs` when a hold moves the cursor back (or a release lets it go),
 * but only once per `progressEveryMs` (30 s) for mere progress: every ping
 * answered moves every live cursor, and with hundreds of rooms × relays a
 * write per second each would keep the store busy for nothing. Losing up to
 * 30 s of progress in a crash costs only a re-fetch of events the store then
 * recognises as seen.
 */
import type { CursorStore } from '../transport.js';
import type { Logger } from '../../observability/logger.js';
import { GIFT_WRAP_MAX_AGE_SEC, KIND_GIFT_WRAP } from './framing.js';
import type { Filter } from 'nostr-tools/filter';

/** Holds kept per relay; beyond this the oldest is dropped (and logged). */
const MAX_HOLDS = 1024;

export interface ResumeOptions {
  readonly ownXOnly: string;
  /** Subtracted from the cursor when resubscribing. */
  readonly slackSec: number;
  /** Look-back when no cursor exists yet. */
  readonly firstStartLookbackSec: number;
  /** Minimum interval between two store writes after a hold or release (default 1 s). */
  readonly throttleMs?: number;
  /** Minimum interval between two store writes for progress alone (default 30 s). */
  readonly progressEveryMs?: number;
  readonly now?: () => number;
}

/** The CursorStore key of one identity's position on one relay. */
export function cursorKey(ownXOnly: string, relayUrl: string): string {
  return `nostr:${ownXOnly}:${relayUrl}`;
}

/** The two subscription filters for a resume point (seconds), or a first start when `cursorSec` is undefined. */
export function subscriptionFilters(
  ownXOnly: string,
  cursorSec: number | undefined,
  nowSec: number,
  slackSec: number,
  firstStartLookbackSec: number,
): Filter[] {
  const since = Math.max(0, cursorSec !== undefined ? cursorSec - slackSec : nowSec - firstStartLookbackSec);
  return [
    { kinds: [4], '#p': [ownXOnly], since },
    { kinds: [KIND_GIFT_WRAP], '#p': [ownXOnly], since: Math.max(0, since - GIFT_WRAP_MAX_AGE_SEC) },
  ];
}

export class ResumeCursor {
  private loaded = false;
  private stored: number | undefined;
  private reached: number | undefined;
  private readonly holds = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  /** When the pending timer fires (ms). */
  private due = 0;
  private lastWrite = 0;
  private writing: Promise<void> = Promise.resolve();
  private readonly throttleMs: number;
  private readonly progressEveryMs: number;
  private readonly now: () => number;

  constructor(
    private readonly store: CursorStore,
    readonly key: string,
    private readonly options: ResumeOptions,
    private readonly log: Logger,
  ) {
    this.throttleMs = options.throttleMs ?? 1000;
    this.progressEveryMs = options.progressEveryMs ?? 30_000;
    this.now = options.now ?? Date.now;
  }

  /** The resume point (seconds): the stored one until this process reached further. */
  async value(): Promise<number | undefined> {
    if (!this.loaded) {
      try {
        this.stored = await this.store.getCursor(this.key);
      } catch (err) {
        this.log.warn({ err: String(err), key: this.key }, 'nostr: could not read resume cursor; starting from the look-back window');
      }
      this.loaded = true;
    }
    return this.effective() ?? this.stored;
  }

  /** Filters for the next subscription. */
  async filters(): Promise<Filter[]> {
    const nowSec = Math.floor(this.now() / 1000);
    return subscriptionFilters(this.options.ownXOnly, await this.value(), nowSec, this.options.slackSec, this.options.firstStartLookbackSec);
  }

  /** Everything up to `ms` (local clock) has been handed over. Never moves back. */
  reach(ms: number): void {
    const sec = Math.floor(Math.min(ms, this.now()) / 1000);
    if (this.reached !== undefined && sec <= this.reached) return;
    this.reached = sec;
    this.schedule(this.progressEveryMs);
  }

  /** A copy of `event` was not taken: keep it inside the next subscription's window. */
  hold(eventId: string, kind: number, createdAt: number): void {
    const nowSec = Math.floor(this.now() / 1000);
    const at = Math.min(nowSec, kind === KIND_GIFT_WRAP ? createdAt + GIFT_WRAP_MAX_AGE_SEC : createdAt);
    if (this.holds.size >= MAX_HOLDS && !this.holds.has(eventId)) {
      const oldest = this.holds.keys().next().value as string;
      this.holds.delete(oldest);
      this.log.warn({ key: this.key }, 'nostr: too many undelivered events; the oldest will not be fetched again');
    }
    this.holds.set(eventId, Math.min(at, this.holds.get(eventId) ?? Infinity));
    this.schedule(this.throttleMs);
  }

  /** A copy of `eventId` was taken: lift its hold, if any. */
  release(eventId: string): void {
    if (this.holds.delete(eventId)) this.schedule(this.throttleMs);
  }

  /** Writes the current value now (if it changed); used on stop. */
  async flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.write();
  }

  private effective(): number | undefined {
    if (this.reached === undefined) return undefined;
    let v = this.reached;
    for (const h of this.holds.values()) v = Math.min(v, h);
    return v;
  }

  /** A write no sooner than `intervalMs` after the last one; an earlier pending write stays. */
  private schedule(intervalMs: number): void {
    const due = Math.max(this.now(), this.lastWrite + intervalMs);
    if (this.timer && this.due <= due) return;
    clearTimeout(this.timer);
    this.due = due;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.write();
    }, Math.max(0, due - this.now()));
    this.timer.unref?.();
  }

  private write(): Promise<void> {
    this.writing = this.writing.then(async () => {
      const v = this.effective();
      if (v === undefined || v === this.stored) return;
      this.lastWrite = this.now();
      try {
        await this.store.setCursor(this.key, v);
        this.stored = v;
      } catch (err) {
        this.log.warn({ err: String(err), key: this.key }, 'nostr: could not save resume cursor');
      }
    });
    return this.writing;
  }
}
