/**
 * Paces the bot's writes per room to what a platform declares
 * (`capabilities.rateLimit`), so the platform never has to refuse one.
 *
 * Written here rather than taken from a library: `limiter` and `p-throttle`
 * pace one function, not many keys; `bottleneck` has per-key groups but is a
 * token reservoir refilled on a fixed interval and unmaintained since 2019.
 * None let us count a slot from when the write *finished* (see `schedule`),
 * nor honour a platform's own "retry after" (see `defer`). A sliding-window
 * log per key is short and exact: at most `posts` writes in any `perMs` window.
 *
 * Two priorities: when a slot frees, a waiting 'high' write (a contact's
 * message, a command's answer) gets it before any 'low' one (a delivery
 * receipt), whatever their order of arrival; within a priority, first come
 * first served.
 */
import type { RateLimit } from './platform.js';

/** One write counted in a key's window; `at` moves to when the write settled (see `schedule`). */
interface Slot {
  at: number;
  /** The key's budget was spent (or the platform had asked us to wait) when this slot was asked for. */
  readonly waited: boolean;
}

export type WritePriority = 'high' | 'low';

interface Waiter {
  readonly low: boolean;
  readonly grant: (slot: Slot) => void;
}

interface KeyState {
  /** Writes counted in the current window; at most `posts` of them. */
  slots: Slot[];
  /** Nothing is granted before this time (a platform asked us to wait). */
  blockedUntil: number;
  /** Writes waiting for a slot, in arrival order. */
  waiters: Waiter[];
  /** True while a loop hands out slots to `waiters`. */
  pumping: boolean;
  /** Grants waiting plus writes of `schedule` still running: while > 0 the key is kept. */
  busy: number;
}

export interface RoomRateLimiterOptions {
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
}

export class RoomRateLimiter {
  private readonly keys = new Map<string, KeyState>();
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(
    readonly limit: RateLimit,
    opts: RoomRateLimiterOptions = {},
  ) {
    if (!Number.isInteger(limit.posts) || limit.posts < 1 || !(limit.perMs > 0)) {
      throw new Error(`rate limit must allow at least 1 write per positive window; got ${limit.posts} per ${limit.perMs} ms`);
    }
    this.now = opts.now ?? (() => Date.now());
    this.sleep = opts.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  /**
   * Waits until one more write to `key` (e.g. `roomKey(room)`) is allowed and
   * counts it from now. Callers of one key are served in call order. Use it
   * only when the write follows at once; otherwise use `schedule`.
   */
  async take(key: string, priority: WritePriority = 'high'): Promise<void> {
    const s = this.state(key);
    s.busy++;
    try {
      await this.grant(s, priority);
    } finally {
      s.busy--;
    }
  }

  /**
   * Waits for a slot, runs `write`, and counts the slot from when `write`
   * settled: the platform counts a write from when it arrived, which is
   * after we started it, so our window never starts earlier than the
   * platform's. A write that rejects still counts (the platform may have seen it).
   * `write` learns whether it had to wait for its slot (the key's budget was
   * spent), so a caller can gather what piled up meanwhile into one write.
   */
  async schedule<T>(key: string, write: (waited: boolean) => Promise<T>, priority: WritePriority = 'high'): Promise<T> {
    const s = this.state(key);
    s.busy++;
    try {
      const slot = await this.grant(s, priority);
      try {
        return await write(slot.waited);
      } finally {
        slot.at = Math.max(slot.at, this.now());
      }
    } finally {
      s.busy--;
    }
  }

  /** The platform refused a write anyway (RateLimitedError): grant nothing for `key` for `retryAfterMs`. */
  defer(key: string, retryAfterMs: number): void {
    const s = this.state(key);
    s.blockedUntil = Math.max(s.blockedUntil, this.now() + Math.max(0, retryAfterMs));
  }

  /** Keys currently tracked (idle keys are forgotten when a new key arrives). */
  get trackedKeys(): number {
    return this.keys.size;
  }

  /** Writes of `key` waiting for a slot, by priority. */
  waiting(key: string): { high: number; low: number } {
    const w = this.keys.get(key)?.waiters ?? [];
    const low = w.filter((x) => x.low).length;
    return { high: w.length - low, low };
  }

  /** Waits in line for the key's next slot (see the priorities above). */
  private grant(s: KeyState, priority: WritePriority): Promise<Slot> {
    return new Promise<Slot>((resolve) => {
      s.waiters.push({ low: priority === 'low', grant: resolve });
      void this.pump(s);
    });
  }

  /** Hands out slots while writes wait; the waiter is chosen when its slot is free, so a late 'high' write overtakes waiting 'low' ones. */
  private async pump(s: KeyState): Promise<void> {
    if (s.pumping) return;
    s.pumping = true;
    try {
      while (s.waiters.length > 0) {
        const slot = await this.acquire(s);
        const high = s.waiters.findIndex((w) => !w.low);
        const [next] = s.waiters.splice(high >= 0 ? high : 0, 1);
        next!.grant(slot);
      }
    } finally {
      s.pumping = false;
    }
  }

  private async acquire(s: KeyState): Promise<Slot> {
    const { posts, perMs } = this.limit;
    for (let waited = false; ; waited = true) {
      const now = this.now();
      s.slots = s.slots.filter((slot) => slot.at > now - perMs);
      const full = s.slots.length >= posts ? Math.min(...s.slots.map((slot) => slot.at)) + perMs - now : 0;
      const wait = Math.max(full, s.blockedUntil - now);
      if (wait <= 0) {
        const slot = { at: now, waited };
        s.slots.push(slot);
        return slot;
      }
      // Re-checked after waking: a timer may fire a little early, and `defer` may have moved the block.
      await this.sleep(wait);
    }
  }

  private state(key: string): KeyState {
    let s = this.keys.get(key);
    if (!s) {
      this.sweep();
      s = { slots: [], blockedUntil: 0, waiters: [], pumping: false, busy: 0 };
      this.keys.set(key, s);
    }
    return s;
  }

  /** Forgets keys with nothing waiting and nothing left in their window, so many rooms do not grow the map forever. */
  private sweep(): void {
    const now = this.now();
    for (const [key, s] of this.keys) {
      if (s.busy === 0 && s.blockedUntil <= now && s.slots.every((slot) => slot.at <= now - this.limit.perMs)) this.keys.delete(key);
    }
  }
}
