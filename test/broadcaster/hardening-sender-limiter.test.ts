/**
 * The per-sender token bucket and the once-per-window log decision, on a
 * clock the test moves by hand (no timed assertions).
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_SENDER_LIMIT, SenderLimiter } from '../../src/broadcaster/sender-limiter.js';
import { ConfigSchema } from '../../src/config/schema.js';
import { OncePerWindow } from '../../src/observability/rejections.js';

function clock(start = 1_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => void (t += ms) };
}

function takes(l: SenderLimiter, key: string, n: number): number {
  let ok = 0;
  for (let i = 0; i < n; i++) if (l.take(key)) ok++;
  return ok;
}

describe('SenderLimiter', () => {
  it('lets a burst through, then refills at the configured rate, never above the burst', () => {
    const c = clock();
    const l = new SenderLimiter({ burst: 5, refillPerSecond: 2 }, c.now);
    expect(takes(l, 'a', 1000)).toBe(5);
    c.advance(500);
    expect(takes(l, 'a', 10)).toBe(1);
    c.advance(1500);
    expect(takes(l, 'a', 10)).toBe(3);
    c.advance(3_600_000); // an hour idle: a full bucket, not more
    expect(takes(l, 'a', 100)).toBe(5);
  });

  it('keeps one bucket per sender: a flooder does not spend anyone else’s tokens', () => {
    const l = new SenderLimiter({ burst: 3, refillPerSecond: 0.001 }, clock().now);
    expect(takes(l, 'stranger', 1000)).toBe(3);
    expect(takes(l, 'contact', 3)).toBe(3);
  });

  it('bounds its memory: past maxKeys the least recently seen sender is forgotten', () => {
    const c = clock();
    const l = new SenderLimiter({ burst: 2, refillPerSecond: 0.001 }, c.now, 100);
    expect(takes(l, 'busy', 2)).toBe(2);
    for (let i = 0; i < 1000; i++) {
      l.take(`fresh-${i}`);
      if (i % 50 === 0) expect(l.take('busy')).toBe(false); // seen again: stays recent, stays empty
    }
    expect(l.trackedKeys).toBe(100);
  });

  it('refuses a limit that would let nothing through', () => {
    expect(() => new SenderLimiter({ burst: 0, refillPerSecond: 1 })).toThrow(/burst/);
    expect(() => new SenderLimiter({ burst: 1, refillPerSecond: 0 })).toThrow(/refillPerSecond/);
  });

  it('by default admits the fastest legitimate sender: a roomcast room at 300 msg/s on 7 endpoints, with acks, for a minute', () => {
    // A copy over the limit is lost for good: the default must sit above what a roomcast room sends at full pace.
    const c = clock();
    const l = new SenderLimiter(DEFAULT_SENDER_LIMIT, c.now);
    const copiesPerSecond = 300 * 7 * 2;
    let refused = 0;
    for (let ms = 0; ms < 60_000; ms += 10) {
      refused += copiesPerSecond / 100 - takes(l, 'fast-room', copiesPerSecond / 100);
      c.advance(10);
    }
    expect(refused).toBe(0);
  });

  it('is configured by limits.perSender, whose defaults are DEFAULT_SENDER_LIMIT', () => {
    expect(ConfigSchema.parse({}).limits.perSender).toEqual(DEFAULT_SENDER_LIMIT);
    expect(ConfigSchema.parse({ limits: { perSender: { burst: 10 } } }).limits.perSender).toEqual({ burst: 10, refillPerSecond: DEFAULT_SENDER_LIMIT.refillPerSecond });
    expect(() => ConfigSchema.parse({ limits: { perSender: { burst: 0 } } })).toThrow();
    expect(() => ConfigSchema.parse({ limits: { perSender: { refillPerSecond: -1 } } })).toThrow();
  });
});

describe('OncePerWindow', () => {
  it('says "log" once per key per window, and how many were suppressed since', () => {
    const c = clock();
    const once = new OncePerWindow(60_000, 10, c.now);
    expect(once.hit('a')).toEqual({ suppressed: 0 });
    for (let i = 0; i < 999; i++) expect(once.hit('a')).toBeUndefined();
    expect(once.hit('b')).toEqual({ suppressed: 0 });
    c.advance(60_000);
    expect(once.hit('a')).toEqual({ suppressed: 999 });
    expect(once.hit('a')).toBeUndefined();
  });
});
