/**
 * Outbound messages, their per-endpoint send results, and the endpoint
 * performance those results add up to (for the dashboard and for choosing
 * relays/brokers).
 */
import type { InStatement, Row } from '@libsql/client';
import type { ProtocolId } from '../protocol/chat-message.js';
import type { FailureReason, SendReport } from '../common/delivery.js';
import type { EndpointPerformance, OutboundRecord, SendResult } from './store.js';
import { bool, compact, num, optNum, optStr, str } from './db.js';
import type { Db } from './db.js';


/**
 * Records a send (or a retry of one) in one write batch:
 * - the message row, direction 'out'. New: 'pending' when `reports` is empty
 *   (the message is recorded before it goes out, so an ack that overtakes the
 *   send reports still finds it), else 'sent' if any report is ok, else
 *   'failed'. Existing: pending → sent/failed, failed → sent; a state is never
 *   downgraded ('acked' stays, and a failed retry does not undo an earlier
 *   delivery). Content is not rewritten.
 * - one send_results row per report × endpoint, with `at` = now.
 * - one endpoint_performance upsert per report × endpoint: sends + 1,
 *   successes or failures + 1, the latency of successes summed for the mean,
 *   last_ok_at on success, last_error on failure (kept until the next error).
 * A report with no endpoints adds no rows but still counts in the state.
 * Throws (writing nothing) if the uuid is already an inbound message from
 * the same peer. The same uuid sent to another peer is another row.
 */
export async function recordOutbound(db: Db, m: OutboundRecord, reports: readonly SendReport[], now: number): Promise<void> {
  const state = reports.length === 0 ? 'pending' : reports.some((r) => r.ok) ? 'sent' : 'failed';
  const stmts: InStatement[] = [
    {
      sql: `INSERT INTO messages (owner, uuid, direction, peer, from_magnet_link, content, timestamp, state, verified)
            VALUES (?, ?, 'out', ?, ?, ?, ?, ?, 1)
            ON CONFLICT (owner, peer, uuid) DO UPDATE SET
              state = CASE
                WHEN messages.state IN ('acked', 'sent') THEN messages.state
                WHEN excluded.state = 'sent' THEN 'sent'
                WHEN excluded.state = 'failed' THEN 'failed'
                ELSE messages.state END
            WHERE messages.direction = 'out'`,
      args: [m.owner, m.uuid, m.peer, m.fromMagnetLink, m.content, m.timestamp, state],
    },
  ];
  for (const report of reports) {
    for (const e of report.endpoints) {
      const error = e.ok ? null : (e.error ?? e.reason ?? 'failed');
      stmts.push(
        {
          sql: `INSERT INTO send_results (owner, peer, uuid, protocol, endpoint, ok, latency_ms, reason, error, at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          args: [m.owner, m.peer, m.uuid, report.transport, e.endpoint, e.ok ? 1 : 0, e.latencyMs, e.ok ? null : (e.reason ?? null), error, now],
        },
        {
          sql: `INSERT INTO endpoint_performance (protocol, endpoint, sends, successes, failures, total_latency_ms, last_ok_at, last_error)
                VALUES (?, ?, 1, ?, ?, ?, ?, ?)
                ON CONFLICT (protocol, endpoint) DO UPDATE SET
                  sends = sends + 1,
                  successes = successes + excluded.successes,
                  failures = failures + excluded.failures,
                  total_latency_ms = total_latency_ms + excluded.total_latency_ms,
                  last_ok_at = coalesce(excluded.last_ok_at, last_ok_at),
                  last_error = coalesce(excluded.last_error, last_error)`,
          args: [report.transport, e.endpoint, e.ok ? 1 : 0, e.ok ? 0 : 1, e.ok ? e.latencyMs : 0, e.ok ? now : null, error],
        },
      );
    }
  }
  await db.write(async (w) => {
    // Inside the lane no other write of ours can interleave, so this check and the batch see the same row.
    const existing = await w.execute({
      sql: 'SELECT direction FROM messages WHERE owner = ? AND peer = ? AND uuid = ?',
      args: [m.owner, m.peer, m.uuid],
    });
    if (existing.rows[0]?.['direction'] === 'in') {
      throw new Error(`cannot record send of ${m.uuid}: that uuid is an inbound message`);
    }
    await w.batch(stmts);
  });
}

function toSendResult(r: Row): SendResult {
  return compact({
    owner: str(r, 'owner'),
    uuid: str(r, 'uuid'),
    protocol: str(r, 'protocol') as ProtocolId,
    endpoint: str(r, 'endpoint'),
    ok: bool(r, 'ok'),
    latencyMs: num(r, 'latency_ms'),
    reason: optStr(r, 'reason') as FailureReason | undefined,
    error: optStr(r, 'error'),
    at: num(r, 'at'),
  });
}

export async function getSendResults(db: Db, owner: string, uuid: string): Promise<SendResult[]> {
  const rs = await db.read({
    sql: `SELECT owner, uuid, protocol, endpoint, ok, latency_ms, reason, error, at
          FROM send_results WHERE owner = ? AND uuid = ? ORDER BY at, id`,
    args: [owner, uuid],
  });
  return rs.rows.map(toSendResult);
}

/** Every endpoint ever used, by protocol then endpoint. avgLatencyMs is the mean over successful sends (failures are mostly timeouts and would swamp it). */
export async function getPerformance(db: Db): Promise<EndpointPerformance[]> {
  const rs = await db.read(
    `SELECT protocol, endpoint, sends, successes, failures, total_latency_ms, last_ok_at, last_error
     FROM endpoint_performance ORDER BY protocol, endpoint`,
  );
  return rs.rows.map((r) => {
    const successes = num(r, 'successes');
    return compact({
      protocol: str(r, 'protocol') as ProtocolId,
      endpoint: str(r, 'endpoint'),
      sends: num(r, 'sends'),
      successes,
      failures: num(r, 'failures'),
      avgLatencyMs: successes > 0 ? num(r, 'total_latency_ms') / successes : undefined,
      lastOkAt: optNum(r, 'last_ok_at'),
      lastError: optStr(r, 'last_error'),
    });
  });
}
