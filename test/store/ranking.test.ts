import { describe, expect, it } from 'vitest';
import { addSample, rankChannels } from '../../src/store/ranking.js';
import type { RankInput } from '../../src/store/ranking.js';

const row = (protocol: RankInput['protocol'], working: boolean, avgLatencyMs?: number, cannotUse = false): RankInput => ({
  protocol,
  working,
  cannotUse,
  avgLatencyMs,
});

const order = (rows: RankInput[]) => Object.fromEntries(rankChannels(rows));

describe('rankChannels', () => {
  it('puts working protocols first, fastest mean first', () => {
    expect(order([row('nostr', true, 300), row('mqtt', true, 150), row('xmtp', true, 1500)])).toEqual({ mqtt: 1, nostr: 2, xmtp: 3 });
  });

  it('puts protocols not known to work after working ones, whatever their latency', () => {
    expect(order([row('mqtt', false, 10), row('nostr', true, 900)])).toEqual({ nostr: 1, mqtt: 2 });
  });

  it('puts protocols the peer cannot use last, even when working and fast', () => {
    expect(order([row('mqtt', true, 10, true), row('nostr', false), row('xmtp', true, 2000)])).toEqual({ xmtp: 1, nostr: 2, mqtt: 3 });
  });

  it('ranks unknown latency after every known latency in the same tier', () => {
    expect(order([row('mqtt', true), row('nostr', true, 5000)])).toEqual({ nostr: 1, mqtt: 2 });
  });

  it('breaks ties by protocol name', () => {
    expect(order([row('xmtp', true, 100), row('mqtt', true, 100), row('nostr', true, 100)])).toEqual({ mqtt: 1, nostr: 2, xmtp: 3 });
    expect(order([row('xmtp', false), row('nostr', false), row('mqtt', false)])).toEqual({ mqtt: 1, nostr: 2, xmtp: 3 });
  });

  it('is 1-based, dense, and independent of input order', () => {
    const rows = [row('nostr', true, 200), row('mqtt', false), row('xmtp', true, 100)];
    const a = order(rows);
    expect(a).toEqual(order([...rows].reverse()));
    expect(Object.values(a).sort()).toEqual([1, 2, 3]);
  });

  it('returns an empty map for no rows', () => {
    expect(rankChannels([]).size).toBe(0);
  });
});

describe('addSample', () => {
  it('keeps a true running mean', () => {
    let s: { avgLatencyMs: number | undefined; samples: number } = { avgLatencyMs: undefined, samples: 0 };
    for (const x of [100, 200, 600]) s = addSample(s.avgLatencyMs, s.samples, x);
    expect(s).toEqual({ avgLatencyMs: 300, samples: 3 });
  });

  it('uses the first sample as the mean', () => {
    expect(addSample(undefined, 0, 42)).toEqual({ avgLatencyMs: 42, samples: 1 });
  });

  it('matches the arithmetic mean over many samples', () => {
    const xs = Array.from({ length: 200 }, (_, i) => (i * 37) % 1000);
    let s: { avgLatencyMs: number | undefined; samples: number } = { avgLatencyMs: undefined, samples: 0 };
    for (const x of xs) s = addSample(s.avgLatencyMs, s.samples, x);
    expect(s.samples).toBe(200);
    expect(s.avgLatencyMs).toBeCloseTo(xs.reduce((a, b) => a + b, 0) / xs.length, 9);
  });
});
