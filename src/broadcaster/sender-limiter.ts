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
 * Sized above the most one busy peer legitimately sends: end to end a node
 * handles ~57 messages/s (README), and each arrives once per broker and relay
 * (6-7 copies with the defaults), with as many ack copies for ours: ~400
 * copies/s. A burst of 1000 absorbs a backlog replayed at reconnect. Lower
 * both where the peers are people.
 */
export const DEFAULT_SENDER_LIMIT: SenderLimit = { burst: 1000, refillPerSecond: 400 };

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
