/**
 * A token bucket per sender: how many inbound copies one sender may have
 * stored, so that one key cannot flood the store (or a room). Each copy takes
 * a token; a sender's bucket holds at most `burst` tokens and gains
 * `refillPerSecond` a second. A copy that finds no token is dropped before
 * anything is stored.
 *
 * Written here rather than taken from a library: `limiter`'s TokenBucket is
 * one bucket (no keys, so we would still write the map and its eviction), its
 * removal waits rather than refuses, and it reads the clock itself;
 * `rate-limiter-flexible`'s memory limiter counts points per fixed window
 * through a promise per call, not a bucket with a burst and a steady refill;
 * src/platforms/rate-limit.ts paces writes by waiting, which for inbound
 * copies would only queue the flood in memory. What is needed is a
 * synchronous yes/no per key with an injectable clock and bounded memory: a
 * few lines.
 *
 * Memory is bounded by `maxKeys`: the least recently seen sender is forgotten
 * first (forgetting gives it a full bucket again, which is what it would have
 * after being idle). A per-sender limit cannot stop someone who makes a new
 * key per copy; the room inbox cap (bridge.maxQueuedFromStrangers) bounds
 * what such senders can do to a room.
 */

export interface SenderLimit {
  /** Tokens a sender starts with and can save up: the largest burst of copies taken at once. */
  readonly burst: number;
  /** Tokens a sender gains per second (fractions allowed), up to `burst`. */
  readonly refillPerSecond: number;
}

/**
 * Sized above the most one legitimate sender can send: a roomcast room at the
 * one-room target of 300 messages/s (README "Performance"), each message
 * arriving once per endpoint of the default configuration (3 brokers, 3
 * relays, XMTP: 7 copies), and as many ack copies again when we talk back:
 * 4,200 copies/s. A copy over the limit is lost for good (the sender's
 * network was told it arrived), so a limit below that pace loses a fast
 * contact's messages: at 1,000 / 400 the bench's peer lost 267 of 4,000 from
 * one room at 183 messages/s. The burst absorbs a backlog replayed at
 * reconnect (a broker keeps up to 1,000 messages per session, times 3
 * brokers, and the relays replay theirs). Lower both where the peers are
 * people.
 */
export const DEFAULT_SENDER_LIMIT: SenderLimit = { burst: 20_000, refillPerSecond: 5_000 };

const DEFAULT_MAX_KEYS = 10_000;

interface Bucket {
  tokens: number;
  at: number;
}

export class SenderLimiter {
  /** Insertion order = least recently seen first (a sender is moved to the end when seen). */
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    readonly limit: SenderLimit,
    private readonly now: () => number = Date.now,
    private readonly maxKeys: number = DEFAULT_MAX_KEYS,
  ) {
    if (!Number.isFinite(limit.burst) || limit.burst < 1 || !(limit.refillPerSecond > 0)) {
      throw new Error(`a sender limit needs burst ≥ 1 and refillPerSecond > 0; got ${limit.burst} and ${limit.refillPerSecond}`);
    }
  }

  /** Takes one token of `key`'s bucket: true when there was one (the copy may be stored), false when the copy is to be dropped. */
  take(key: string): boolean {
    const t = this.now();
    let b = this.buckets.get(key);
    if (b) {
      this.buckets.delete(key);
      b.tokens = Math.min(this.limit.burst, b.tokens + (Math.max(0, t - b.at) / 1000) * this.limit.refillPerSecond);
      b.at = t;
    } else {
      if (this.buckets.size >= this.maxKeys) {
        const oldest = this.buckets.keys().next().value;
        if (oldest !== undefined) this.buckets.delete(oldest);
      }
      b = { tokens: this.limit.burst, at: t };
    }
    this.buckets.set(key, b);
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

  /** Senders currently tracked (for tests and metrics). */
  get trackedKeys(): number {
    return this.buckets.size;
  }
}
