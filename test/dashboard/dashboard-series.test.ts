/** The numbers the dashboard's charts draw, from send results. */
import { describe, expect, it } from 'vitest';
import { firstDelivered, latencySeries, percentile } from '../../src/dashboard/series.js';
import type { RecentSend } from '../../src/store/activity.js';

const send = (uuid: string, protocol: string, latencyMs: number, at: number, ok = true, owner = 'o'): RecentSend => ({ owner, uuid, protocol, ok, latencyMs, at });

describe('dashboard series', () => {
  it('takes p50 and p95 per network and bucket from the fastest accepting endpoint of each send', () => {
    const sends = [
      // message a on mqtt: two brokers accepted, the faster (10) counts; a failed one never counts
      send('a', 'mqtt', 30, 1_000), send('a', 'mqtt', 10, 1_001), send('a', 'mqtt', 1, 1_002, false),
      send('b', 'mqtt', 20, 2_000), send('c', 'mqtt', 40, 61_000),
      send('a', 'nostr', 50, 1_500),
    ];
    const s = latencySeries(sends, 0, 120_000, 60_000);
    expect(s.at).toEqual([0, 60]);
    expect(s.networks).toEqual({ mqtt: { p50: [10, 40], p95: [20, 40] }, nostr: { p50: [50, null], p95: [50, null] } });
  });

  it('counts which network delivered each message first', () => {
    expect(firstDelivered([send('a', 'mqtt', 30, 0), send('a', 'nostr', 12, 0), send('b', 'mqtt', 5, 0), send('b', 'nostr', 1, 0, false), send('c', 'xmtp', 1, 0, false)])).toEqual({ nostr: 1, mqtt: 1 });
  });

  it('uses nearest-rank percentiles', () => {
    expect(percentile([], 0.5)).toBeNull();
    expect(percentile([5, 1, 3, 2, 4], 0.5)).toBe(3);
    expect(percentile(Array.from({ length: 100 }, (_, i) => i + 1), 0.95)).toBe(95);
  });
});
