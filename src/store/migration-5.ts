/**
 * Migration 5: the schema stops naming networks. Protocol columns (which
 * network a copy came on, a send went out on, a preference is about) were
 * CHECKed against a fixed list of three; a new network would have needed a
 * migration of its own. They are now plain text, set only from transport ids
 * (the registry's, typed ProtocolId); every other constraint stays.
 *
 * SQLite cannot drop a CHECK: the five tables are rebuilt, every row and id
 * kept, children copied and dropped before the old messages table (its drop
 * then cascades to nothing), indexes recreated.
 */
import type { Migration } from './migrations.js';

export const MIGRATION_5: Migration = {
  version: 5,
  name: 'protocol columns name no network',
  sql: [
    `CREATE TABLE messages_v5 (
      owner            TEXT NOT NULL,
      uuid             TEXT NOT NULL,
      direction        TEXT NOT NULL CHECK (direction IN ('in', 'out')),
      peer             TEXT NOT NULL,
      from_magnet_link TEXT NOT NULL,
      content          TEXT NOT NULL,
      timestamp        INTEGER NOT NULL,
      state            TEXT NOT NULL CHECK (state IN ('pending', 'sent', 'failed', 'acked', 'received')),
      first_via        TEXT,
      received_at      INTEGER,
      acked_at         INTEGER,
      acked_via        TEXT,
      verified         INTEGER NOT NULL CHECK (verified IN (0, 1)),
      PRIMARY KEY (owner, peer, uuid),
      CHECK ((direction = 'in') = (state = 'received'))
    )`,
    `INSERT INTO messages_v5 (owner, uuid, direction, peer, from_magnet_link, content, timestamp, state,
        first_via, received_at, acked_at, acked_via, verified)
      SELECT owner, uuid, direction, peer, from_magnet_link, content, timestamp, state,
        first_via, received_at, acked_at, acked_via, verified FROM messages`,
    `CREATE TABLE receipts_v5 (
      id          INTEGER PRIMARY KEY,
      owner       TEXT NOT NULL,
      peer        TEXT NOT NULL,
      uuid        TEXT NOT NULL,
      kind        TEXT NOT NULL CHECK (kind IN ('message', 'ack')),
      protocol    TEXT NOT NULL,
      endpoint    TEXT NOT NULL,
      received_at INTEGER NOT NULL,
      latency_ms  REAL NOT NULL CHECK (latency_ms >= 0),
      FOREIGN KEY (owner, peer, uuid) REFERENCES messages_v5 (owner, peer, uuid) ON DELETE CASCADE
    )`,
    `INSERT INTO receipts_v5 (id, owner, peer, uuid, kind, protocol, endpoint, received_at, latency_ms)
      SELECT id, owner, peer, uuid, kind, protocol, endpoint, received_at, latency_ms FROM receipts`,
    `CREATE TABLE send_results_v5 (
      id         INTEGER PRIMARY KEY,
      owner      TEXT NOT NULL,
      peer       TEXT NOT NULL,
      uuid       TEXT NOT NULL,
      protocol   TEXT NOT NULL,
      endpoint   TEXT NOT NULL,
      ok         INTEGER NOT NULL CHECK (ok IN (0, 1)),
      latency_ms REAL NOT NULL,
      reason     TEXT CHECK (reason IS NULL OR reason IN ('timeout', 'rejected', 'unreachable', 'error', 'upgrade-required')),
      error      TEXT,
      at         INTEGER NOT NULL,
      FOREIGN KEY (owner, peer, uuid) REFERENCES messages_v5 (owner, peer, uuid) ON DELETE CASCADE
    )`,
    `INSERT INTO send_results_v5 (id, owner, peer, uuid, protocol, endpoint, ok, latency_ms, reason, error, at)
      SELECT id, owner, peer, uuid, protocol, endpoint, ok, latency_ms, reason, error, at FROM send_results`,
    `CREATE TABLE channel_preferences_v5 (
      owner            TEXT NOT NULL,
      peer             TEXT NOT NULL,
      protocol         TEXT NOT NULL,
      working          INTEGER NOT NULL DEFAULT 0 CHECK (working IN (0, 1)),
      last_ack_at      INTEGER,
      avg_latency_ms   REAL,
      samples          INTEGER NOT NULL DEFAULT 0 CHECK (samples >= 0),
      preference_order INTEGER NOT NULL DEFAULT 0 CHECK (preference_order >= 0),
      cannot_use       INTEGER NOT NULL DEFAULT 0 CHECK (cannot_use IN (0, 1)),
      PRIMARY KEY (owner, peer, protocol)
    )`,
    `INSERT INTO channel_preferences_v5 (owner, peer, protocol, working, last_ack_at, avg_latency_ms, samples, preference_order, cannot_use)
      SELECT owner, peer, protocol, working, last_ack_at, avg_latency_ms, samples, preference_order, cannot_use FROM channel_preferences`,
    `CREATE TABLE endpoint_performance_v5 (
      protocol         TEXT NOT NULL,
      endpoint         TEXT NOT NULL,
      sends            INTEGER NOT NULL DEFAULT 0,
      successes        INTEGER NOT NULL DEFAULT 0,
      failures         INTEGER NOT NULL DEFAULT 0,
      total_latency_ms REAL NOT NULL DEFAULT 0,
      last_ok_at       INTEGER,
      last_error       TEXT,
      PRIMARY KEY (protocol, endpoint)
    )`,
    `INSERT INTO endpoint_performance_v5 (protocol, endpoint, sends, successes, failures, total_latency_ms, last_ok_at, last_error)
      SELECT protocol, endpoint, sends, successes, failures, total_latency_ms, last_ok_at, last_error FROM endpoint_performance`,
    `DROP TABLE receipts`,
    `DROP TABLE send_results`,
    `DROP TABLE messages`,
    `DROP TABLE channel_preferences`,
    `DROP TABLE endpoint_performance`,
    `ALTER TABLE messages_v5 RENAME TO messages`,
    `ALTER TABLE receipts_v5 RENAME TO receipts`,
    `ALTER TABLE send_results_v5 RENAME TO send_results`,
    `ALTER TABLE channel_preferences_v5 RENAME TO channel_preferences`,
    `ALTER TABLE endpoint_performance_v5 RENAME TO endpoint_performance`,
    `CREATE INDEX messages_by_time ON messages (owner, timestamp)`,
    `CREATE INDEX messages_by_uuid ON messages (owner, uuid)`,
    `CREATE INDEX receipts_by_message ON receipts (owner, peer, uuid, kind, protocol)`,
    `CREATE INDEX send_results_by_message ON send_results (owner, uuid)`,
  ],
};
