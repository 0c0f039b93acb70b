/**
 * Migration 7: `room_inbox.gathered_into`. A post into a room that carries
 * several contact messages at once (a burst gathered while the room's write
 * budget was spent) records, before it is written, which messages it carries
 * (their rows name the first one), so a retry after a crash posts exactly the
 * same group again under the same idempotency key: nothing twice, nothing lost.
 */
import type { Migration } from './migrations.js';

export const MIGRATION_7: Migration = {
  version: 7,
  name: 'inbox messages gathered into one post',
  sql: [`ALTER TABLE room_inbox ADD COLUMN gathered_into TEXT`],
};
