/**
 * Chart series from send results: latency per network over time (p50 and
 * p95 per bucket) and which network delivered a message first. Pure
 * functions, so the figures the page draws are tested as numbers.
 */
import type { RecentSend } from '../store/activity.js';

export interface LatencySeries {
  /** Bucket starts, unix seconds (uPlot's x axis). */
  readonly at: number[];
  /** Per network: p50 and p95 of accepted sends in each bucket (ms), null where it sent nothing. */
  readonly networks: Record<string, { readonly p50: Array<number | null>; readonly p95: Array<number | null> }>;
}

/** Per network and bucket of `bucketMs` in [from, to): p50 and p95 of the fastest accepting endpoint of each send. */
export function latencySeries(sends: readonly RecentSend[], from: number, to: number, bucketMs: number): LatencySeries {
  const count = Math.max(1, Math.ceil((to - from) / bucketMs));
  const at = Array.from({ length: count }, (_, i) => Math.round((from + i * bucketMs) / 1000));
  // A send is one message on one network: its latency is its fastest accepting endpoint's (as the receipts show).
  const fastest = new Map<string, RecentSend>();
  for (const s of sends) {
    if (!s.ok || s.at < from || s.at >= to) continue;
    const key = `${s.owner}|${s.uuid}|${s.protocol}`;
    const seen = fastest.get(key);
    if (!seen || s.latencyMs < seen.latencyMs) fastest.set(key, s);
  }
  const grouped = new Map<string, number[][]>();
  for (const s of fastest.values()) {
    const buckets = grouped.get(s.protocol) ?? Array.from({ length: count }, () => []);
    buckets[Math.min(count - 1, Math.floor((s.at - from) / bucketMs))]!.push(s.latencyMs);
    grouped.set(s.protocol, buckets);
  }
  const networks: LatencySeries['networks'] = {};
  for (const [protocol, buckets] of [...grouped].sort(([a], [b]) => a.localeCompare(b))) {
    networks[protocol] = { p50: buckets.map((b) => percentile(b, 0.5)), p95: buckets.map((b) => percentile(b, 0.95)) };
  }
  return { at, networks };
}

/** For each message (owner + uuid), the network whose accepting endpoint answered fastest; counted per network. */
export function firstDelivered(sends: readonly RecentSend[]): Record<string, number> {
  const best = new Map<string, RecentSend>();
  for (const s of sends) {
    if (!s.ok) continue;
    const key = `${s.owner}|${s.uuid}`;
    const seen = best.get(key);
    if (!seen || s.latencyMs < seen.latencyMs) best.set(key, s);
  }
  const counts: Record<string, number> = {};
  for (const s of best.values()) counts[s.protocol] = (counts[s.protocol] ?? 0) + 1;
  return counts;
}

/** Nearest-rank percentile, rounded to 0.1 ms; null for no samples. */
export function percentile(values: readonly number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const v = sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!;
  return Math.round(v * 10) / 10;
}
