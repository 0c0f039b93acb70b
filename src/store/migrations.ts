/**
 * Numbered schema migrations. Each one runs in its own write transaction
 * together with its schema_migrations row, so a database is always at exactly
 * one version: a failing migration leaves no half-built schema behind, and
 * re-running is a no-op. A database at a version this code does not know
 * (written by a newer roomcast) is refused instead of being used with a
 * schema we cannot reason about.
 *
 * Never edit a released migration; append a new one.
 *
 * Conventions: every table but endpoint_performance and cursors is scoped by
 * `owner` (x-only key of the local identity). Times are ms since the epoch
 * (INTEGER); latencies are REAL (transports measure fractions of a ms).
 * Enums and booleans are guarded by CHECK constraints, so a bad value cast
 * past the type system fails the whole transaction it is part of; network ids
 * are not (migration 5): adding a network needs no migration.
 */
import type { SqlClient } from './local-file.js';
import { MIGRATION_5 } from './migration-5.js';
import { MIGRATION_6 } from './migration-6.js';
import { MIGRATION_7 } from './migration-7.js';

export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: readonly string[];
}

const PROTOCOL = `('nostr', 'xmtp', 'mqtt')`;

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'initial schema',
    sql: [
      `CREATE TABLE identities (
        owner       TEXT PRIMARY KEY,
        magnet_link TEXT NOT NULL,
        label       TEXT,
        created_at  INTEGER NOT NULL
      )`,
      `CREATE TABLE contacts (
        owner       TEXT NOT NULL,
        name        TEXT NOT NULL,
        magnet_link TEXT NOT NULL,
        x_only      TEXT NOT NULL,
        eth_address TEXT NOT NULL,
        added_at    INTEGER NOT NULL,
        PRIMARY KEY (owner, name),
        UNIQUE (owner, x_only)
      )`,
      `CREATE TABLE messages (
        owner            TEXT NOT NULL,
        uuid             TEXT NOT NULL,
        direction        TEXT NOT NULL CHECK (direction IN ('in', 'out')),
        peer             TEXT NOT NULL,
        from_magnet_link TEXT NOT NULL,
        content          TEXT NOT NULL,
        timestamp        INTEGER NOT NULL,
        state            TEXT NOT NULL CHECK (state IN ('pending', 'sent', 'failed', 'acked', 'received')),
        first_via        TEXT CHECK (first_via IS NULL OR first_via IN ${PROTOCOL}),
        received_at      INTEGER,
        acked_at         INTEGER,
        acked_via        TEXT CHECK (acked_via IS NULL OR acked_via IN ${PROTOCOL}),
        verified         INTEGER NOT NULL CHECK (verified IN (0, 1)),
        PRIMARY KEY (owner, uuid),
        CHECK ((direction = 'in') = (state = 'received'))
      )`,
      `CREATE INDEX messages_by_time ON messages (owner, timestamp)`,
      `CREATE TABLE receipts (
        id          INTEGER PRIMARY KEY,
        owner       TEXT NOT NULL,
        uuid        TEXT NOT NULL,
        kind        TEXT NOT NULL CHECK (kind IN ('message', 'ack')),
        protocol    TEXT NOT NULL CHECK (protocol IN ${PROTOCOL}),
        endpoint    TEXT NOT NULL,
        received_at INTEGER NOT NULL,
        latency_ms  REAL NOT NULL CHECK (latency_ms >= 0),
        FOREIGN KEY (owner, uuid) REFERENCES messages (owner, uuid) ON DELETE CASCADE
      )`,
      `CREATE INDEX receipts_by_message ON receipts (owner, uuid, kind, protocol)`,
      `CREATE TABLE send_results (
        id         INTEGER PRIMARY KEY,
        owner      TEXT NOT NULL,
        uuid       TEXT NOT NULL,
        protocol   TEXT NOT NULL CHECK (protocol IN ${PROTOCOL}),
        endpoint   TEXT NOT NULL,
        ok         INTEGER NOT NULL CHECK (ok IN (0, 1)),
        latency_ms REAL NOT NULL,
        reason     TEXT CHECK (reason IS NULL OR reason IN ('timeout', 'rejected', 'unreachable', 'error')),
        error      TEXT,
        at         INTEGER NOT NULL,
        FOREIGN KEY (owner, uuid) REFERENCES messages (owner, uuid) ON DELETE CASCADE
      )`,
      `CREATE INDEX send_results_by_message ON send_results (owner, uuid)`,
      `CREATE TABLE channel_preferences (
        owner            TEXT NOT NULL,
        peer             TEXT NOT NULL,
        protocol         TEXT NOT NULL CHECK (protocol IN ${PROTOCOL}),
        working          INTEGER NOT NULL DEFAULT 0 CHECK (working IN (0, 1)),
        last_ack_at      INTEGER,
        avg_latency_ms   REAL,
        samples          INTEGER NOT NULL DEFAULT 0 CHECK (samples >= 0),
        preference_order INTEGER NOT NULL DEFAULT 0 CHECK (preference_order >= 0),
        cannot_use       INTEGER NOT NULL DEFAULT 0 CHECK (cannot_use IN (0, 1)),
        PRIMARY KEY (owner, peer, protocol)
      )`,
      `CREATE TABLE endpoint_performance (
        protocol         TEXT NOT NULL CHECK (protocol IN ${PROTOCOL}),
        endpoint         TEXT NOT NULL,
        sends            INTEGER NOT NULL DEFAULT 0,
        successes        INTEGER NOT NULL DEFAULT 0,
        failures         INTEGER NOT NULL DEFAULT 0,
        total_latency_ms REAL NOT NULL DEFAULT 0,
        last_ok_at       INTEGER,
        last_error       TEXT,
        PRIMARY KEY (protocol, endpoint)
      )`,
      `CREATE TABLE cursors (
        key   TEXT PRIMARY KEY,
        value INTEGER NOT NULL
      )`,
    ],
  },
  {
    version: 2,
    name: 'bridged rooms, outbox and inbox',
    sql: [
      // One identity per bridged room; its private keys sealed with the
      // service key (src/bridge/room-keys.ts), so any worker with the service
      // identity can act for the room and the database alone reveals nothing.
      `CREATE TABLE rooms (
        platform   TEXT NOT NULL,
        room_id    TEXT NOT NULL,
        owner      TEXT NOT NULL UNIQUE,
        sealed_key TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        PRIMARY KEY (platform, room_id)
      )`,
      // What people wrote in a room, in order (seq per room), until every
      // contact has it. Ordering across workers is decided here.
      `CREATE TABLE room_outbox (
        platform            TEXT NOT NULL,
        room_id             TEXT NOT NULL,
        seq                 INTEGER NOT NULL CHECK (seq >= 1),
        uuid                TEXT NOT NULL UNIQUE,
        sender_id           TEXT NOT NULL,
        sender_name         TEXT NOT NULL,
        text                TEXT NOT NULL,
        platform_message_id TEXT NOT NULL,
        created_at          INTEGER NOT NULL,
        state               TEXT NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'done', 'failed')),
        receipt_post_id     TEXT,
        PRIMARY KEY (platform, room_id, seq)
      )`,
      `CREATE INDEX room_outbox_queued ON room_outbox (platform, room_id, state, seq)`,
      // Each room message goes to each contact as its own ChatMessage (own
      // uuid, so the peer's acks and our receipts are per contact).
      `CREATE TABLE outbox_copies (
        owner       TEXT NOT NULL,
        uuid        TEXT NOT NULL,
        room_uuid   TEXT NOT NULL REFERENCES room_outbox (uuid),
        contact     TEXT NOT NULL,
        PRIMARY KEY (owner, uuid)
      )`,
      `CREATE INDEX outbox_copies_by_room_message ON outbox_copies (room_uuid)`,
      // What contacts sent to a room's identity, in arrival order, until it is posted.
      `CREATE TABLE room_inbox (
        platform            TEXT NOT NULL,
        room_id             TEXT NOT NULL,
        seq                 INTEGER NOT NULL CHECK (seq >= 1),
        owner               TEXT NOT NULL,
        uuid                TEXT NOT NULL,
        state               TEXT NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'posted', 'failed')),
        platform_message_id TEXT,
        PRIMARY KEY (platform, room_id, seq),
        UNIQUE (owner, uuid)
      )`,
      `CREATE INDEX room_inbox_queued ON room_inbox (platform, room_id, state, seq)`,
    ],
  },
  {
    version: 3,
    name: "send results may fail with 'upgrade-required'",
    // SQLite cannot alter a CHECK constraint: the table is rebuilt with the
    // new reason allowed, rows and ids kept (nothing references it).
    sql: [
      `CREATE TABLE send_results_v3 (
        id         INTEGER PRIMARY KEY,
        owner      TEXT NOT NULL,
        uuid       TEXT NOT NULL,
        protocol   TEXT NOT NULL CHECK (protocol IN ${PROTOCOL}),
        endpoint   TEXT NOT NULL,
        ok         INTEGER NOT NULL CHECK (ok IN (0, 1)),
        latency_ms REAL NOT NULL,
        reason     TEXT CHECK (reason IS NULL OR reason IN ('timeout', 'rejected', 'unreachable', 'error', 'upgrade-required')),
        error      TEXT,
        at         INTEGER NOT NULL,
        FOREIGN KEY (owner, uuid) REFERENCES messages (owner, uuid) ON DELETE CASCADE
      )`,
      `INSERT INTO send_results_v3 (id, owner, uuid, protocol, endpoint, ok, latency_ms, reason, error, at)
        SELECT id, owner, uuid, protocol, endpoint, ok, latency_ms, reason, error, at FROM send_results`,
      `DROP TABLE send_results`,
      `ALTER TABLE send_results_v3 RENAME TO send_results`,
      `CREATE INDEX send_results_by_message ON send_results (owner, uuid)`,
    ],
  },
  {
    version: 4,
    name: 'messages keyed by sender: (owner, peer, uuid)',
    // A uuid is chosen by whoever sends the message, so it names a message
    // only together with its (authenticated) sender: keyed by uuid alone, a
    // stranger who sends a contact's uuid first would hide the contact's
    // message. Likewise ours: one message may go to several peers under one
    // uuid, and each recipient acks its own copy.
    // SQLite cannot alter a primary key: messages, and the tables whose
    // foreign keys name it, are rebuilt with every row and id kept. Children
    // are copied and dropped before the old parent, so its drop cascades to
    // nothing. room_inbox gains the sender too: an entry's `uuid` stays the
    // key its queue job carries (the message's uuid unless another sender's
    // message to the same identity took it), `message_uuid` names the message.
    sql: [
      `CREATE TABLE messages_v4 (
        owner            TEXT NOT NULL,
        uuid             TEXT NOT NULL,
        direction        TEXT NOT NULL CHECK (direction IN ('in', 'out')),
        peer             TEXT NOT NULL,
        from_magnet_link TEXT NOT NULL,
        content          TEXT NOT NULL,
        timestamp        INTEGER NOT NULL,
        state            TEXT NOT NULL CHECK (state IN ('pending', 'sent', 'failed', 'acked', 'received')),
        first_via        TEXT CHECK (first_via IS NULL OR first_via IN ${PROTOCOL}),
        received_at      INTEGER,
        acked_at         INTEGER,
        acked_via        TEXT CHECK (acked_via IS NULL OR acked_via IN ${PROTOCOL}),
        verified         INTEGER NOT NULL CHECK (verified IN (0, 1)),
        PRIMARY KEY (owner, peer, uuid),
        CHECK ((direction = 'in') = (state = 'received'))
      )`,
      `INSERT INTO messages_v4 (owner, uuid, direction, peer, from_magnet_link, content, timestamp, state,
          first_via, received_at, acked_at, acked_via, verified)
        SELECT owner, uuid, direction, peer, from_magnet_link, content, timestamp, state,
          first_via, received_at, acked_at, acked_via, verified FROM messages`,
      `CREATE TABLE receipts_v4 (
        id          INTEGER PRIMARY KEY,
        owner       TEXT NOT NULL,
        peer        TEXT NOT NULL,
        uuid        TEXT NOT NULL,
        kind        TEXT NOT NULL CHECK (kind IN ('message', 'ack')),
        protocol    TEXT NOT NULL CHECK (protocol IN ${PROTOCOL}),
        endpoint    TEXT NOT NULL,
        received_at INTEGER NOT NULL,
        latency_ms  REAL NOT NULL CHECK (latency_ms >= 0),
        FOREIGN KEY (owner, peer, uuid) REFERENCES messages_v4 (owner, peer, uuid) ON DELETE CASCADE
      )`,
      `INSERT INTO receipts_v4 (id, owner, peer, uuid, kind, protocol, endpoint, received_at, latency_ms)
        SELECT r.id, r.owner, m.peer, r.uuid, r.kind, r.protocol, r.endpoint, r.received_at, r.latency_ms
        FROM receipts r JOIN messages m ON m.owner = r.owner AND m.uuid = r.uuid`,
      `CREATE TABLE send_results_v4 (
        id         INTEGER PRIMARY KEY,
        owner      TEXT NOT NULL,
        peer       TEXT NOT NULL,
        uuid       TEXT NOT NULL,
        protocol   TEXT NOT NULL CHECK (protocol IN ${PROTOCOL}),
        endpoint   TEXT NOT NULL,
        ok         INTEGER NOT NULL CHECK (ok IN (0, 1)),
        latency_ms REAL NOT NULL,
        reason     TEXT CHECK (reason IS NULL OR reason IN ('timeout', 'rejected', 'unreachable', 'error', 'upgrade-required')),
        error      TEXT,
        at         INTEGER NOT NULL,
        FOREIGN KEY (owner, peer, uuid) REFERENCES messages_v4 (owner, peer, uuid) ON DELETE CASCADE
      )`,
      `INSERT INTO send_results_v4 (id, owner, peer, uuid, protocol, endpoint, ok, latency_ms, reason, error, at)
        SELECT s.id, s.owner, m.peer, s.uuid, s.protocol, s.endpoint, s.ok, s.latency_ms, s.reason, s.error, s.at
        FROM send_results s JOIN messages m ON m.owner = s.owner AND m.uuid = s.uuid`,
      `CREATE TABLE room_inbox_v4 (
        platform            TEXT NOT NULL,
        room_id             TEXT NOT NULL,
        seq                 INTEGER NOT NULL CHECK (seq >= 1),
        owner               TEXT NOT NULL,
        uuid                TEXT NOT NULL,
        message_uuid        TEXT NOT NULL,
        peer                TEXT,
        state               TEXT NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'posted', 'failed')),
        platform_message_id TEXT,
        PRIMARY KEY (platform, room_id, seq),
        UNIQUE (owner, uuid),
        UNIQUE (owner, peer, message_uuid)
      )`,
      // peer stays NULL for an entry whose message is gone (it is then marked failed when its job runs).
      `INSERT INTO room_inbox_v4 (platform, room_id, seq, owner, uuid, message_uuid, peer, state, platform_message_id)
        SELECT i.platform, i.room_id, i.seq, i.owner, i.uuid, i.uuid,
          (SELECT m.peer FROM messages m WHERE m.owner = i.owner AND m.uuid = i.uuid AND m.direction = 'in'), i.state, i.platform_message_id
        FROM room_inbox i`,
      `DROP TABLE receipts`,
      `DROP TABLE send_results`,
      `DROP TABLE messages`,
      `DROP TABLE room_inbox`,
      `ALTER TABLE messages_v4 RENAME TO messages`,
      `ALTER TABLE receipts_v4 RENAME TO receipts`,
      `ALTER TABLE send_results_v4 RENAME TO send_results`,
      `ALTER TABLE room_inbox_v4 RENAME TO room_inbox`,
      `CREATE INDEX messages_by_time ON messages (owner, timestamp)`,
      `CREATE INDEX messages_by_uuid ON messages (owner, uuid)`,
      `CREATE INDEX receipts_by_message ON receipts (owner, peer, uuid, kind, protocol)`,
      `CREATE INDEX send_results_by_message ON send_results (owner, uuid)`,
      `CREATE INDEX room_inbox_queued ON room_inbox (platform, room_id, state, seq)`,
    ],
  },
  MIGRATION_5,
  MIGRATION_6,
  MIGRATION_7,
];

/** The schema version this code writes. */
export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]?.version ?? 0;

/** The database was written by a newer roomcast: refuse it rather than guess. */
export class SchemaTooNewError extends Error {
  constructor(
    readonly databaseVersion: number,
    readonly knownVersion: number,
  ) {
    super(
      `database schema is at version ${databaseVersion}, but this roomcast only knows versions up to ${knownVersion}; ` +
        'it was written by a newer roomcast: upgrade roomcast (do not downgrade a database)',
    );
    this.name = 'SchemaTooNewError';
  }
}

export interface MigrationOutcome {
  /** Version before, and after. */
  readonly from: number;
  readonly to: number;
  /** Versions applied by this call, in order (empty when the database was current). */
  readonly applied: number[];
}

/**
 * Brings the database up to the newest migration in `migrations` (default:
 * MIGRATIONS). Safe against a second process migrating at the same time: each
 * step re-reads the version inside its `BEGIN IMMEDIATE` transaction.
 */
export async function migrate(
  client: Pick<SqlClient, 'execute' | 'transaction'>,
  migrations: readonly Migration[] = MIGRATIONS,
  now: () => number = Date.now,
): Promise<MigrationOutcome> {
  checkMigrationList(migrations);
  const known = migrations[migrations.length - 1]?.version ?? 0;
  await client.execute(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    applied_at INTEGER NOT NULL
  )`);
  const from = await currentVersion(client);
  if (from > known) throw new SchemaTooNewError(from, known);

  const applied: number[] = [];
  for (const m of migrations) {
    if (m.version <= from) continue;
    const tx = await client.transaction('write');
    try {
      const version = await currentVersion(tx);
      if (version > known) throw new SchemaTooNewError(version, known);
      if (version >= m.version) {
        await tx.rollback();
        continue; // another process got here first
      }
      for (const sql of m.sql) await tx.execute(sql);
      await tx.execute({
        sql: 'INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)',
        args: [m.version, m.name, now()],
      });
      await tx.commit();
      applied.push(m.version);
    } catch (err) {
      await tx.rollback().catch(() => undefined);
      if (err instanceof SchemaTooNewError) throw err;
      const detail = err instanceof Error ? err.message : String(err);
      throw new Error(`schema migration ${m.version} (${m.name}) failed and was rolled back: ${detail}`, { cause: err });
    } finally {
      tx.close();
    }
  }
  return { from, to: Math.max(from, known), applied };
}

/** The highest applied version, 0 for a new database. */
export async function currentVersion(db: Pick<SqlClient, 'execute'>): Promise<number> {
  const rs = await db.execute('SELECT coalesce(max(version), 0) AS v FROM schema_migrations');
  return Number(rs.rows[0]?.['v'] ?? 0);
}

/** Versions must be 1, 2, 3 …: a gap or a reordering is a programming error worth failing loudly on. */
function checkMigrationList(migrations: readonly Migration[]): void {
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) {
      throw new Error(`migration list is out of order: entry ${i} has version ${m.version}, expected ${i + 1}`);
    }
  });
}
