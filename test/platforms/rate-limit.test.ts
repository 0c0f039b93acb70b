import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { MemoryPlatform } from '../../src/platforms/memory/memory-platform.js';
import { RateLimitedError, roomKey } from '../../src/platforms/platform.js';
import type { Platform, RoomRef } from '../../src/platforms/platform.js';
import { RoomRateLimiter } from '../../src/platforms/rate-limit.js';
import { RoomWriter } from '../../src/bridge/room-writer.js';
import { silentLogger } from '../../src/observability/logger.js';

describe('platforms: room rate limiter (virtual time)', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 0 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  /** Starts takes and records when each was granted (virtual ms). */
  function track(limiter: RoomRateLimiter, key: string, n: number, label = key): { granted: Array<[string, number]>; all: Promise<void[]> } {
    const granted: Array<[string, number]> = [];
    const all = Promise.all(
      Array.from({ length: n }, (_, i) => limiter.take(key).then(() => void granted.push([`${label}${i}`, Date.now()]))),
    );
    return { granted, all };
  }

  it('grants `posts` at once, then each next one when the oldest leaves the window', async () => {
    const limiter = new RoomRateLimiter({ posts: 3, perMs: 1000 });
    const { granted } = track(limiter, 'room', 4);
    await vi.advanceTimersByTimeAsync(0);
    expect(granted.map(([, t]) => t)).toEqual([0, 0, 0]);
    await vi.advanceTimersByTimeAsync(999);
    expect(granted).toHaveLength(3);
    await vi.advanceTimersByTimeAsync(1);
    expect(granted).toEqual([['room0', 0], ['room1', 0], ['room2', 0], ['room3', 1000]]);
  });

  it("gives a freed slot to a waiting 'high' write before 'low' ones that came earlier", async () => {
    const limiter = new RoomRateLimiter({ posts: 1, perMs: 1000 });
    const order: string[] = [];
    const take = (label: string, p: 'high' | 'low') => limiter.take('room', p).then(() => void order.push(`${label}@${Date.now()}`));
    const all = [take('receipt1', 'low'), take('receipt2', 'low'), take('receipt3', 'low')];
    await vi.advanceTimersByTimeAsync(500);
    expect(limiter.waiting('room')).toEqual({ high: 0, low: 2 });
    all.push(take('reply', 'high'));
    expect(limiter.waiting('room')).toEqual({ high: 1, low: 2 });
    await vi.advanceTimersByTimeAsync(3000);
    await Promise.all(all);
    expect(order).toEqual(['receipt1@0', 'reply@1000', 'receipt2@2000', 'receipt3@3000']);
  });

  it('serves one key in call order, never more than `posts` in any window', async () => {
    const limiter = new RoomRateLimiter({ posts: 2, perMs: 1000 });
    const { granted, all } = track(limiter, 'room', 7);
    await vi.advanceTimersByTimeAsync(5000);
    await all;
    expect(granted).toEqual([
      ['room0', 0],
      ['room1', 0],
      ['room2', 1000],
      ['room3', 1000],
      ['room4', 2000],
      ['room5', 2000],
      ['room6', 3000],
    ]);
  });

  it('keeps keys independent', async () => {
    const limiter = new RoomRateLimiter({ posts: 1, perMs: 1000 });
    const a = track(limiter, 'a', 2);
    const b = track(limiter, 'b', 2);
    await vi.advanceTimersByTimeAsync(1000);
    await Promise.all([a.all, b.all]);
    expect(a.granted.map(([, t]) => t)).toEqual([0, 1000]);
    expect(b.granted.map(([, t]) => t)).toEqual([0, 1000]);
  });

  it('defer() holds a key back for the platform’s retry-after, then resumes the window', async () => {
    const limiter = new RoomRateLimiter({ posts: 5, perMs: 1000 });
    await limiter.take('room');
    limiter.defer('room', 2500);
    const { granted } = track(limiter, 'room', 2);
    await vi.advanceTimersByTimeAsync(2499);
    expect(granted).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(granted.map(([, t]) => t)).toEqual([2500, 2500]);
    limiter.defer('room', -5); // a negative retry-after never moves the block earlier or back in time
    await limiter.take('other');
  });

  it('schedule() counts the slot from when the write settled', async () => {
    const limiter = new RoomRateLimiter({ posts: 1, perMs: 1000 });
    const starts: number[] = [];
    const write = async () => {
      starts.push(Date.now());
      await new Promise((resolve) => setTimeout(resolve, 300));
      return starts.length;
    };
    const results = Promise.all([limiter.schedule('room', write), limiter.schedule('room', write)]);
    await vi.advanceTimersByTimeAsync(3000);
    expect(await results).toEqual([1, 2]);
    expect(starts).toEqual([0, 1300]);
  });

  it('a write that rejects still counts, and its error reaches the caller', async () => {
    const limiter = new RoomRateLimiter({ posts: 1, perMs: 1000 });
    const failing = limiter.schedule('room', async () => {
      throw new Error('platform said no');
    });
    await expect(failing).rejects.toThrow('platform said no');
    const { granted } = track(limiter, 'room', 1);
    await vi.advanceTimersByTimeAsync(999);
    expect(granted).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(granted.map(([, t]) => t)).toEqual([1000]);
  });

  it('forgets idle keys, so many rooms do not grow it forever', async () => {
    const limiter = new RoomRateLimiter({ posts: 1, perMs: 1000 });
    for (let i = 0; i < 50; i++) await limiter.take(`room-${i}`);
    expect(limiter.trackedKeys).toBe(50);
    await vi.advanceTimersByTimeAsync(1000);
    await limiter.take('late');
    expect(limiter.trackedKeys).toBe(1);
  });

  it('refuses a limit that allows nothing', () => {
    expect(() => new RoomRateLimiter({ posts: 0, perMs: 1000 })).toThrow(/at least 1 write/);
    expect(() => new RoomRateLimiter({ posts: 1.5, perMs: 1000 })).toThrow();
    expect(() => new RoomRateLimiter({ posts: 1, perMs: 0 })).toThrow();
  });
});

describe('platforms: rate limiter against the memory platform (real time)', () => {
  const platforms: MemoryPlatform[] = [];
  afterEach(async () => {
    for (const p of platforms.splice(0)) await p.stop();
  });

  async function platformWith(posts: number, perMs: number): Promise<MemoryPlatform> {
    const p = new MemoryPlatform({ capabilities: { rateLimit: { posts, perMs } } });
    platforms.push(p);
    await p.start(async () => undefined);
    return p;
  }

  it('posting without pacing is refused by the platform', async () => {
    const p = await platformWith(3, 200);
    const room = p.room('r');
    const outcomes = await Promise.allSettled(Array.from({ length: 5 }, (_, i) => p.post(room, { text: `m${i}` })));
    expect(outcomes.filter((o) => o.status === 'rejected').map((o) => (o as PromiseRejectedResult).reason)).toEqual([
      expect.any(RateLimitedError),
      expect.any(RateLimitedError),
    ]);
  });

  it('a caller pacing with the declared limit is never refused, and keeps per-room order', async () => {
    const p = await platformWith(3, 200);
    const limiter = new RoomRateLimiter(p.capabilities.rateLimit);
    const [a, b] = [p.room('a'), p.room('b')];
    const started = Date.now();
    const post = (room: RoomRef, text: string) => limiter.schedule(roomKey(room), () => p.post(room, { text }));
    await Promise.all([
      ...Array.from({ length: 10 }, (_, i) => post(a, `a${i}`)),
      ...Array.from({ length: 10 }, (_, i) => post(b, `b${i}`)),
    ]);
    expect(p.rateLimitedWrites).toBe(0);
    expect(p.botPosts(a).map((e) => e.text)).toEqual(Array.from({ length: 10 }, (_, i) => `a${i}`));
    expect(p.botPosts(b).map((e) => e.text)).toEqual(Array.from({ length: 10 }, (_, i) => `b${i}`));
    // 10 posts at 3 per 200 ms need at least three full windows after the first burst.
    expect(Date.now() - started).toBeGreaterThanOrEqual(600);
  });

  it('when the platform refuses anyway, defer() and a retry deliver everything', async () => {
    // The platform is stricter than what the caller believes (as when a server changes its limits).
    const p = await platformWith(2, 200);
    const limiter = new RoomRateLimiter({ posts: 4, perMs: 200 });
    const room = p.room('r');
    const key = roomKey(room);
    async function postWithRetry(platform: Platform, text: string): Promise<void> {
      for (;;) {
        try {
          await limiter.schedule(key, () => platform.post(room, { text }));
          return;
        } catch (err) {
          if (!(err instanceof RateLimitedError)) throw err;
          limiter.defer(key, err.retryAfterMs);
        }
      }
    }
    for (let i = 0; i < 6; i++) await postWithRetry(p, `m${i}`);
    expect(p.botPosts(room).map((e) => e.text)).toEqual(['m0', 'm1', 'm2', 'm3', 'm4', 'm5']);
    expect(p.rateLimitedWrites).toBeGreaterThan(0);
  });
});

describe('platforms: budgets of their own for reactions and edits', () => {
  it('a platform that counts reactions apart takes them while posts wait; elsewhere they share the posts’ budget', async () => {
    const run = async (ownLimits?: { react: { posts: number; perMs: number } }) => {
      const platform = new MemoryPlatform({ capabilities: { rateLimit: { posts: 2, perMs: 60_000 }, ...(ownLimits ? { ownLimits } : {}) } });
      await platform.start(async () => undefined);
      const writer = new RoomWriter(new Map([[platform.id, platform]]), silentLogger());
      const room = platform.room('!budget');
      const first = await writer.post(room, { text: 'one' });
      await writer.post(room, { text: 'two' });
      // The posts' budget is spent for a minute: do reactions still go through?
      const reactions = (async () => {
        for (const emoji of ['a', 'b', 'c', 'd']) await writer.react(room, first, emoji);
        return true;
      })();
      // Still waiting when the platform stops (the shared budget): that later refusal is expected.
      reactions.catch(() => undefined);
      const reacted = await Promise.race([reactions, new Promise<false>((r) => setTimeout(() => r(false), 500))]);
      const refused = platform.rateLimitedWrites;
      await platform.stop();
      return { reacted, reactions: platform.reactions(room, first).length, refused };
    };
    expect(await run({ react: { posts: 10, perMs: 1000 } })).toEqual({ reacted: true, reactions: 4, refused: 0 });
    expect(await run()).toMatchObject({ reacted: false, refused: 0 });
  });
});
