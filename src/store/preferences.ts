/**
 * channel_preferences: what is known of each peer's protocols (working,
 * last ack, mean ack latency, stated "cannot use") and the resulting
 * preference order. Every change re-ranks all of the peer's rows with the
 * pure `rankChannels`, inside the same transaction as the change, so a
 * reader never sees a half-updated order.
 */
import type { Row } from '@libsql/client';
import type { ProtocolId } from '../protocol/chat-message.js';
import type { ChannelPreferenceRow } from './store.js';
import { bool, compact, num, optNum, str } from './db.js';
import type { Db, Executor } from './db.js';
import { addSample, rankChannels } from './ranking.js';

/** Columns as `ChannelPreferenceRow` names them. */
const SELECT = `SELECT owner, peer, protocol, working, last_ack_at, avg_latency_ms, samples, preference_order, cannot_use
  FROM channel_preferences`;

function toRow(r: Row): ChannelPreferenceRow {
  return compact({
    owner: str(r, 'owner'),
    peer: str(r, 'peer'),
    protocol: str(r, 'protocol') as ProtocolId,
    working: bool(r, 'working'),
    lastAckAt: optNum(r, 'last_ack_at'),
    avgLatencyMs: optNum(r, 'avg_latency_ms'),
    samples: num(r, 'samples'),
    preferenceOrder: num(r, 'preference_order'),
    cannotUse: bool(r, 'cannot_use'),
  });
}

/** One peer's rows, sorted by preference order (then protocol, for rows not ranked yet). */
export async function loadPreferences(ex: Executor, owner: string, peer: string): Promise<ChannelPreferenceRow[]> {
  const rs = await ex.execute({
    sql: `${SELECT} WHERE owner = ? AND peer = ? ORDER BY preference_order, protocol`,
    args: [owner, peer],
  });
  return rs.rows.map(toRow);
}

/** Recomputes preference_order for all of one peer's rows; writes only the rows whose order changed. */
export async function rerank(ex: Executor, owner: string, peer: string): Promise<void> {
  const rows = await loadPreferences(ex, owner, peer);
  const order = rankChannels(rows);
  for (const row of rows) {
    const next = order.get(row.protocol);
    if (next === undefined || next === row.preferenceOrder) continue;
    await ex.execute({
      sql: 'UPDATE channel_preferences SET preference_order = ? WHERE owner = ? AND peer = ? AND protocol = ?',
      args: [next, owner, peer, row.protocol],
    });
  }
}

/**
 * Records one ack copy on `protocol` for the peer, inside the caller's
 * transaction: working = 1 and last_ack_at = the latest ack seen; when
 * `sample` is true (first ack copy of that message on that protocol), the
 * latency joins the running mean. Does not re-rank (the caller does, once).
 */
export async function noteAck(
  ex: Executor,
  a: { owner: string; peer: string; protocol: ProtocolId; receivedAt: number; latencyMs: number; sample: boolean },
): Promise<void> {
  const rs = await ex.execute({
    sql: 'SELECT avg_latency_ms, samples FROM channel_preferences WHERE owner = ? AND peer = ? AND protocol = ?',
    args: [a.owner, a.peer, a.protocol],
  });
  const current = rs.rows[0];
  const avg = current ? optNum(current, 'avg_latency_ms') : undefined;
  const samples = current ? num(current, 'samples') : 0;
  const next = a.sample ? addSample(avg, samples, a.latencyMs) : { avgLatencyMs: avg ?? null, samples };
  await ex.execute({
    sql: `INSERT INTO channel_preferences (owner, peer, protocol, working, last_ack_at, avg_latency_ms, samples)
          VALUES (?, ?, ?, 1, ?, ?, ?)
          ON CONFLICT (owner, peer, protocol) DO UPDATE SET
            working = 1,
            last_ack_at = max(coalesce(last_ack_at, excluded.last_ack_at), excluded.last_ack_at),
            avg_latency_ms = excluded.avg_latency_ms,
            samples = excluded.samples`,
    args: [a.owner, a.peer, a.protocol, a.receivedAt, next.avgLatencyMs, next.samples],
  });
}

/**
 * Applies a peer's stated channelPreferences: sets cannot_use on each named
 * protocol, creating rows (not yet working) for protocols we have no row
 * for; protocols it did not name keep their flag. Then re-ranks.
 */
export async function applyStatedPreferences(
  db: Db,
  owner: string,
  peer: string,
  stated: ReadonlyArray<{ protocol: ProtocolId; cannotUse: boolean }>,
): Promise<void> {
  // Peers state their preferences with every message and ack: a statement that changes nothing costs a read, not a commit.
  const known = new Map((await loadPreferences(db.reader, owner, peer)).map((p) => [p.protocol, p.cannotUse]));
  if (stated.every((s) => known.get(s.protocol) === s.cannotUse)) return;
  await db.write((w) =>
    w.transaction(async (tx) => {
      for (const s of stated) {
        await tx.execute({
          sql: `INSERT INTO channel_preferences (owner, peer, protocol, cannot_use) VALUES (?, ?, ?, ?)
                ON CONFLICT (owner, peer, protocol) DO UPDATE SET cannot_use = excluded.cannot_use`,
          args: [owner, peer, s.protocol, s.cannotUse ? 1 : 0],
        });
      }
      await rerank(tx, owner, peer);
    }),
  );
}

/** Marks one protocol as not working for the peer (creating its row if needed), then re-ranks. An ack sets it working again. */
export async function markNotWorking(db: Db, owner: string, peer: string, protocol: ProtocolId): Promise<void> {
  await db.write((w) =>
    w.transaction(async (tx) => {
      await tx.execute({
        sql: `INSERT INTO channel_preferences (owner, peer, protocol, working) VALUES (?, ?, ?, 0)
              ON CONFLICT (owner, peer, protocol) DO UPDATE SET working = 0`,
        args: [owner, peer, protocol],
      });
      await rerank(tx, owner, peer);
    }),
  );
}

export function getChannelPreferences(db: Db, owner: string, peer: string): Promise<ChannelPreferenceRow[]> {
  return loadPreferences(db.reader, owner, peer);
}
