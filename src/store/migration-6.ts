/**
 * Migration 6: what chat platforms need to resume and to stop.
 * - `rooms.left_at`: set when the bot was removed from a room (kicked,
 *   banned); the room is then no longer listened for, while its identity,
 *   contacts and history stay. NULL while the room is bridged.
 * - `platform_state`: small durable values a platform keeps to resume (the
 *   Matrix sync position), per platform id.
 * - An index to find an outbox row by the platform's message id (a reply
 *   quotes the message it answers).
 */
import type { Migration } from './migrations.js';

export const MIGRATION_6: Migration = {
  version: 6,
  name: 'room membership and platform state',
  sql: [
    `ALTER TABLE rooms ADD COLUMN left_at INTEGER`,
    `CREATE TABLE platform_state (
      platform   TEXT NOT NULL,
      key        TEXT NOT NULL,
      value      TEXT NOT NULL,
      updated_at INTEGER NOT NULL,
      PRIMARY KEY (platform, key)
    )`,
    `CREATE INDEX room_outbox_by_post ON room_outbox (platform, room_id, platform_message_id)`,
  ],
};
