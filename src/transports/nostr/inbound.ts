/**
 * Opens inbound relay copies with a bounded memory of outcomes: the same event
 * usually arrives once per relay, and only the first copy pays for signature
 * verification and decryption (DEPENDENCIES.md: curve operations set the
 * throughput ceiling). Every copy still gets the cheap checks, including that
 * its id is the hash of its content, and the cache is keyed by id *and*
 * signature, so a relay cannot pass off a different event under a known id.
 */
import type { Identity } from '../../identity/keys.js';
import type { NostrEvent, OpenResult } from './framing.js';
import { openEvent, precheckEvent } from './framing.js';

/** A Map-based LRU bounded by entry count and, optionally, by a total weight (e.g. bytes). */
export class LruCache<K, V> {
  private readonly map = new Map<K, V>();
  private weight = 0;

  constructor(
    readonly capacity: number,
    private readonly maxWeight = Infinity,
    private readonly weigh: (value: V) => number = () => 0,
  ) {
    if (!(capacity >= 1)) throw new Error('LRU capacity must be at least 1');
  }

  get(key: K): V | undefined {
    const value = this.map.get(key);
    if (value !== undefined) {
      this.map.delete(key);
      this.map.set(key, value);
    }
    return value;
  }

  set(key: K, value: V): void {
    this.delete(key);
    this.map.set(key, value);
    this.weight += this.weigh(value);
    while (this.map.size > this.capacity || (this.weight > this.maxWeight && this.map.size > 1)) {
      this.delete(this.map.keys().next().value as K);
    }
  }

  get size(): number {
    return this.map.size;
  }

  clear(): void {
    this.map.clear();
    this.weight = 0;
  }

  private delete(key: K): void {
    const old = this.map.get(key);
    if (old === undefined) return;
    this.map.delete(key);
    this.weight -= this.weigh(old);
  }
}

/** The outcome for one relay copy. `fresh` is false when an identical copy was already opened. */
export type InboundOutcome = OpenResult & {
  readonly fresh: boolean;
  /** The event (present once it passed the shape check), for cursor bookkeeping. */
  readonly event?: NostrEvent;
};

export class InboundOpener {
  private readonly outcomes: LruCache<string, OpenResult>;
  /** Number of events that went through full verification (for tests and metrics). */
  verifications = 0;

  /**
   * The defaults are per identity, and a process holds one per room: the
   * other relays' copies come within seconds, so the last 256 events are
   * plenty. (4,096 events and 16 Mi characters per room kept about 2 KB for
   * every event a 100-room soak received, V8's sampling heap profiler showed:
   * the heap grew without levelling off until each room had 4,096.)
   */
  constructor(
    private readonly own: Identity,
    private readonly maxMessageBytes: number,
    cacheSize = 256,
    /** Bodies kept for later copies, in total (UTF-16 code units); bounds memory under a flood of large messages. */
    cacheChars = 1024 * 1024,
  ) {
    this.outcomes = new LruCache<string, OpenResult>(cacheSize, cacheChars, (r) => (r.ok ? r.body.length : 0));
  }

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
      const key = typeof id === 'string' ? `reject:${id}:${early.rejection.code}` : undefined;
      if (key === undefined) return { ...early, fresh: true };
      const seen = this.outcomes.get(key) !== undefined;
      if (!seen) this.outcomes.set(key, early);
      return { ...early, fresh: !seen };
    }
    const event = raw as NostrEvent;
    const key = `${event.id}:${event.sig}`;
    const cached = this.outcomes.get(key);
    if (cached) return { ...cached, fresh: false, event };
    this.verifications++;
    const result = openEvent(event, this.own, limits);
    this.outcomes.set(key, result);
    return { ...result, fresh: true, event };
  }
}
