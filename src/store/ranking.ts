/**
 * Pure rules for learning channel preferences (PROTOCOL.md §2, seed table
 * channel_preferences): how an ack latency enters the running mean, and how a
 * peer's protocols are ranked. No I/O, so the rules are tested on their own
 * and the store only has to load and save rows.
 */
import type { ProtocolId } from '../protocol/chat-message.js';

/** What ranking looks at in one channel_preferences row. */
export interface RankInput {
  readonly protocol: ProtocolId;
  readonly working: boolean;
  readonly cannotUse: boolean;
  readonly avgLatencyMs?: number | undefined;
}

/**
 * Ranks one peer's protocols, 1 = preferred. Order:
 * 1. tier: working and usable, then not (yet) known to work, then the ones
 *    the peer said it cannot use (last, whatever their latency);
 * 2. mean ack latency ascending, unknown latency after every known one;
 * 3. protocol name, so the order is deterministic.
 * Returns the order of every input protocol.
 */
export function rankChannels(rows: readonly RankInput[]): Map<ProtocolId, number> {
  const sorted = [...rows].sort(compareChannels);
  return new Map(sorted.map((row, i) => [row.protocol, i + 1]));
}

function tier(row: RankInput): number {
  if (row.cannotUse) return 2;
  return row.working ? 0 : 1;
}

function compareChannels(a: RankInput, b: RankInput): number {
  const byTier = tier(a) - tier(b);
  if (byTier !== 0) return byTier;
  const la = a.avgLatencyMs ?? Number.POSITIVE_INFINITY;
  const lb = b.avgLatencyMs ?? Number.POSITIVE_INFINITY;
  if (la !== lb) return la < lb ? -1 : 1;
  return a.protocol < b.protocol ? -1 : a.protocol > b.protocol ? 1 : 0;
}

/**
 * Adds one sample to a true running mean: avg' = avg + (x - avg) / n', so
 * after samples 100, 200, 600 the mean is exactly 300 (not an exponential or
 * "average of the last two" approximation).
 */
export function addSample(
  avg: number | undefined,
  samples: number,
  x: number,
): { avgLatencyMs: number; samples: number } {
  const n = samples + 1;
  const prev = avg ?? 0;
  return { avgLatencyMs: samples === 0 ? x : prev + (x - prev) / n, samples: n };
}
