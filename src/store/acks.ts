/**
 * Acks for our outbound messages: one interactive write transaction per ack
 * copy, because what it writes depends on what it reads (is this the first
 * ack? the first on this protocol?) and the read must not go stale before the
 * write, even with another process on the same database (`BEGIN IMMEDIATE`).
 * Not a lazy write (db.ts), though only the room's receipt waits for it:
 * mqtt.js hands a connection's packets to us one at a time, so while an ack
 * copy waits for its commit, the broker's PUBACKs for our sends wait behind
 * it (measured: lazy acks took one room from 68 to 40 messages/s).
 */
import type { AckOutcome, AckRecord } from './store.js';
import { num, str } from './db.js';
import type { Db } from './db.js';
import { insertReceipt, latencyBetween } from './messages.js';
import { noteAck, rerank } from './preferences.js';

const UNKNOWN: AckOutcome = { known: false, firstAck: false, firstOnProtocol: false, latencyMs: 0 };

/**
 * Records one ack copy. Unknown original (no outbound message of `owner`
 * with that uuid to `peer`) → `known: false` and nothing written: only the
 * recipient of a message can acknowledge it. Otherwise, in one transaction:
 * 1. first ack of the message: state 'acked', acked_at, acked_via;
 * 2. an 'ack' receipt (latency = receivedAt − the message's timestamp, ≥ 0);
 * 3. the peer's preference row for the protocol: working, last_ack_at, and —
 *    for the first ack copy of this message on this protocol only — one more
 *    sample in the running mean (copies from other relays of the same
 *    protocol say nothing new about the peer's latency);
 * 4. the peer's preference order, recomputed.
 * `peer` is the ack's sender as the caller authenticated it. The caller
 * records only signed acks: an unverified copy must not change preferences.
 */
export async function recordAck(db: Db, a: AckRecord): Promise<AckOutcome> {
  return db.write((w) =>
    w.transaction(async (tx) => {
      const msg = await tx.execute({
        sql: `SELECT timestamp, state FROM messages WHERE owner = ? AND peer = ? AND uuid = ? AND direction = 'out'`,
        args: [a.owner, a.peer, a.originalUuid],
      });
      const row = msg.rows[0];
      if (!row) return UNKNOWN;

      const latencyMs = latencyBetween(num(row, 'timestamp'), a.receivedAt);
      const firstAck = str(row, 'state') !== 'acked';
      const prior = await tx.execute({
        sql: `SELECT EXISTS (SELECT 1 FROM receipts WHERE owner = ? AND peer = ? AND uuid = ? AND kind = 'ack' AND protocol = ?) AS seen`,
        args: [a.owner, a.peer, a.originalUuid, a.protocol],
      });
      const firstOnProtocol = Number(prior.rows[0]?.['seen'] ?? 0) === 0;

      if (firstAck) {
        await tx.execute({
          sql: `UPDATE messages SET state = 'acked', acked_at = ?, acked_via = ? WHERE owner = ? AND peer = ? AND uuid = ?`,
          args: [a.receivedAt, a.protocol, a.owner, a.peer, a.originalUuid],
        });
      }
      await tx.execute(
        insertReceipt({
          owner: a.owner,
          peer: a.peer,
          uuid: a.originalUuid,
          kind: 'ack',
          protocol: a.protocol,
          endpoint: a.endpoint,
          receivedAt: a.receivedAt,
          latencyMs,
        }),
      );
      await noteAck(tx, {
        owner: a.owner,
        peer: a.peer,
        protocol: a.protocol,
        receivedAt: a.receivedAt,
        latencyMs,
        sample: firstOnProtocol,
      });
      await rerank(tx, a.owner, a.peer);
      return { known: true, firstAck, firstOnProtocol, latencyMs };
    }),
  );
}
