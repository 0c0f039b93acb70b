/**
 * messages and receipts: persistent de-duplication of inbound copies
 * (PROTOCOL.md §4: the seed de-duplicates in memory only, so retained MQTT
 * messages come back after every restart), and reading messages back.
 *
 * A message is named by (owner, peer, uuid): a uuid is chosen by its sender,
 * so the same uuid from two senders is two messages, and nobody can hide
 * another sender's message by sending its uuid first. A lookup without a
 * peer takes our own message with that uuid first: see RESOLVED_PEER.
 */
import type { Row } from '@libsql/client';
import type { ProtocolId } from '../protocol/chat-message.js';
import type { Direction, InboundRecord, MessageState, Receipt, ReceiptKind, StoredMessage } from './store.js';
import { bool, compact, num, optNum, optStr, str } from './db.js';
import type { Db, Executor } from './db.js';

const MESSAGE_COLUMNS = `owner, uuid, direction, peer, from_magnet_link, content, timestamp, state,
  first_via, received_at, acked_at, acked_via, verified`;

/** Milliseconds between two times, never negative (clocks of different machines disagree). */
export function latencyBetween(sentAt: number, receivedAt: number): number {
  return Math.max(0, receivedAt - sentAt);
}

export function toMessage(r: Row): StoredMessage {
  return compact({
    owner: str(r, 'owner'),
    uuid: str(r, 'uuid'),
    direction: str(r, 'direction') as Direction,
    peer: str(r, 'peer'),
    fromMagnetLink: str(r, 'from_magnet_link'),
    content: str(r, 'content'),
    timestamp: num(r, 'timestamp'),
    state: str(r, 'state') as MessageState,
    firstVia: optStr(r, 'first_via') as ProtocolId | undefined,
    receivedAt: optNum(r, 'received_at'),
    ackedAt: optNum(r, 'acked_at'),
    ackedVia: optStr(r, 'acked_via') as ProtocolId | undefined,
    verified: bool(r, 'verified'),
  });
}

function toReceipt(r: Row): Receipt {
  return {
    owner: str(r, 'owner'),
    peer: str(r, 'peer'),
    uuid: str(r, 'uuid'),
    kind: str(r, 'kind') as ReceiptKind,
    protocol: str(r, 'protocol') as ProtocolId,
    endpoint: str(r, 'endpoint'),
    receivedAt: num(r, 'received_at'),
    latencyMs: num(r, 'latency_ms'),
  };
}

/**
 * Records one inbound copy in one write batch (one transaction, one round
 * trip): the message row if (owner, peer, uuid) is new — `ON CONFLICT DO
 * NOTHING`, so the primary key, not a read-then-write, decides which copy is
 * first — and always a 'message' receipt. `first` is the insert's row count,
 * hence true exactly once per (owner, peer, uuid) whatever the concurrency,
 * process or restart; `peer` is the sender as the caller authenticated it,
 * so copies of one sender's message on several transports are one message,
 * and another sender's copy with the same uuid is a message of its own. A
 * later copy never changes the stored message (the first copy's content,
 * protocol and verified flag stand). If the uuid is already one of our
 * outbound messages to the same peer, the copy is not first and its receipt
 * is attached to that message.
 */
export async function recordInbound(db: Db, r: InboundRecord): Promise<{ first: boolean; latencyMs: number }> {
  const latencyMs = latencyBetween(r.timestamp, r.receivedAt);
  const [inserted] = await db.write((w) =>
    w.batch([
      {
        sql: `INSERT INTO messages (owner, uuid, direction, peer, from_magnet_link, content, timestamp, state,
                first_via, received_at, verified)
              VALUES (?, ?, 'in', ?, ?, ?, ?, 'received', ?, ?, ?)
              ON CONFLICT (owner, peer, uuid) DO NOTHING`,
        args: [r.owner, r.uuid, r.peer, r.fromMagnetLink, r.content, r.timestamp, r.protocol, r.receivedAt, r.verified ? 1 : 0],
      },
      insertReceipt({ ...r, kind: 'message', latencyMs }),
    ]),
  );
  return { first: inserted?.rowsAffected === 1, latencyMs };
}

/**
 * Undoes recordInbound for a message whose first copy could not be handed on
 * (the bridge could not write its inbox row): the message and its receipts
 * go, in one transaction, so the next copy is handled as the first.
 */
export async function forgetInbound(db: Db, owner: string, peer: string, uuid: string): Promise<void> {
  await db.write((w) =>
    w.batch([
      { sql: `DELETE FROM receipts WHERE owner = ? AND peer = ? AND uuid = ?`, args: [owner, peer, uuid] },
      { sql: `DELETE FROM messages WHERE owner = ? AND peer = ? AND uuid = ? AND direction = 'in'`, args: [owner, peer, uuid] },
    ]),
  );
}

/** The INSERT for one receipt row (part of a caller's batch or transaction). */
export function insertReceipt(r: Receipt): { sql: string; args: Array<string | number> } {
  return {
    sql: `INSERT INTO receipts (owner, peer, uuid, kind, protocol, endpoint, received_at, latency_ms)
          VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    args: [r.owner, r.peer, r.uuid, r.kind, r.protocol, r.endpoint, r.receivedAt, r.latencyMs],
  };
}

/**
 * SQL for "the peer of message (owner, uuid)" when the caller names no peer
 * (two `?`: owner, uuid): our outbound message with that uuid if there is
 * one (the first stored, when we sent one message to several peers), else
 * the inbound one that arrived first. Callers that know the peer (an inbound
 * message's sender, an ack's sender) name it instead.
 */
const RESOLVED_PEER = `(SELECT peer FROM messages WHERE owner = ? AND uuid = ?
  ORDER BY direction = 'out' DESC, received_at, rowid LIMIT 1)`;

/** The message (owner, peer, uuid); without `peer`, the one RESOLVED_PEER names. */
export async function loadMessage(ex: Executor, owner: string, uuid: string, peer?: string): Promise<StoredMessage | undefined> {
  const rs = await ex.execute({
    sql: `SELECT ${MESSAGE_COLUMNS} FROM messages WHERE owner = ? AND uuid = ? AND peer = ${peer === undefined ? RESOLVED_PEER : '?'}`,
    args: peer === undefined ? [owner, uuid, owner, uuid] : [owner, uuid, peer],
  });
  const row = rs.rows[0];
  return row ? toMessage(row) : undefined;
}

export function getMessage(db: Db, owner: string, uuid: string, peer?: string): Promise<StoredMessage | undefined> {
  return loadMessage(db.reader, owner, uuid, peer);
}

/**
 * Newest first by the message's own timestamp; equal timestamps newest-stored
 * first. A limit ≤ 0 (or NaN) returns nothing; Infinity returns everything.
 */
export async function listMessages(db: Db, owner: string, limit: number): Promise<StoredMessage[]> {
  if (!(limit >= 1)) return [];
  const n = limit === Number.POSITIVE_INFINITY ? -1 : Math.floor(limit); // SQLite: LIMIT -1 = no limit
  const rs = await db.read({
    sql: `SELECT ${MESSAGE_COLUMNS} FROM messages WHERE owner = ? ORDER BY timestamp DESC, rowid DESC LIMIT ?`,
    args: [owner, n],
  });
  return rs.rows.map(toMessage);
}

/**
 * Every receipt of one message ('message' copies for inbound, 'ack' copies
 * for outbound), oldest first. Without `peer`, of the message RESOLVED_PEER names.
 */
export async function getReceipts(db: Db, owner: string, uuid: string, peer?: string): Promise<Receipt[]> {
  const rs = await db.read({
    sql: `SELECT owner, peer, uuid, kind, protocol, endpoint, received_at, latency_ms
          FROM receipts WHERE owner = ? AND uuid = ? AND peer = ${peer === undefined ? RESOLVED_PEER : '?'}
          ORDER BY received_at, id`,
    args: peer === undefined ? [owner, uuid, owner, uuid] : [owner, uuid, peer],
  });
  return rs.rows.map(toReceipt);
}
