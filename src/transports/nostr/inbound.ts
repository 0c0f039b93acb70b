/**
 * Opens inbound relay copies with a bounded memory of outcomes: the same event
 * usually arrives once per relay, and only the first copy pays for signature
 * verification and decryption (DEPENDENCIES.md: curve operations set the
 * throughput ceiling). Every copy still gets the cheap checks, including that
 * its id is the hash of its content, and the cache is keyed by id *and*
 * signature, so a relay cannot pass off a different event under a known id.
 */
import { LRUCache } from 'lru-cache';
import type { Identity } from '../../identity/keys.js';
import type { NostrEvent, OpenResult } from './framing.js';
import { openEvent, precheckEvent } from './framing.js';

/**
 * Outcomes remembered, keyed by the identity they were opened for and the
 * copy. One memory serves a whole process (`openedMemory`, taken from its
 * ConnectionPool), so it grows with the traffic, not with the rooms: the
 * other relays' copies come within seconds, and 4,096 events is seconds of
 * any rate this process sustains. (One of 4,096 per room kept about 2 KB for
 * every event a 100-room soak received, V8's heap profiler showed; one of
 * 256 per room still held 21 MB at 100 rooms and would hold ten times that
 * at 1,000.)
 */
export type OpenedMemory = LRUCache<string, OpenResult>;

/** `chars`: bodies kept for later copies, in total (UTF-16 code units); bounds memory under a flood of large messages. */
export function openedMemory(entries = 4096, chars = 4 * 1024 * 1024): OpenedMemory {
  return new LRUCache<string, OpenResult>({ max: entries, maxSize: chars, sizeCalculation: (r) => (r.ok ? Math.max(1, r.body.length) : 1) });
}

/** The ConnectionPool key of a process's OpenedMemory. */
export const OPENED_MEMORY_KEY = 'nostr|opened';

/** The outcome for one relay copy. `fresh` is false when an identical copy was already opened. */
export type InboundOutcome = OpenResult & {
  readonly fresh: boolean;
  /** The event (present once it passed the shape check), for cursor bookkeeping. */
  readonly event?: NostrEvent;
};

export class InboundOpener {
  /** Number of events that went through full verification (for tests and metrics). */
  verifications = 0;

  /** `memory`: shared by the process's openers (see OpenedMemory); one of its own by default. */
  constructor(
    private readonly own: Identity,
    private readonly maxMessageBytes: number,
    private readonly outcomes: OpenedMemory = openedMemory(),
  ) {}

  /** Checks one copy as parsed from a relay frame; never throws. */
  open(raw: unknown): InboundOutcome {
    const limits = { maxMessageBytes: this.maxMessageBytes };
    let early;
    try {
      early = precheckEvent(raw, this.own, limits);
    } catch {
      early = { ok: false as const, rejection: { code: 'malformed-json' as const, detail: 'event could not be checked' } };
    }
    if (early) {
      // Cheap verdicts are not cached, but a rejection is reported once per event id where one exists.
      const id = typeof raw === 'object' && raw !== null ? (raw as { id?: unknown }).id : undefined;
      const key = typeof id === 'string' ? `${this.own.xOnly}:reject:${id}:${early.rejection.code}` : undefined;
      if (key === undefined) return { ...early, fresh: true };
      const seen = this.outcomes.get(key) !== undefined;
      if (!seen) this.outcomes.set(key, early);
      return { ...early, fresh: !seen };
    }
    const event = raw as NostrEvent;
    const key = `${this.own.xOnly}:${event.id}:${event.sig}`;
    const cached = this.outcomes.get(key);
    if (cached) return { ...cached, fresh: false, event };
    this.verifications++;
    const result = openEvent(event, this.own, limits);
    this.outcomes.set(key, result);
    return { ...result, fresh: true, event };
  }
}
