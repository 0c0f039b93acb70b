/**
 * The store: everything roomcast persists (see store.ts for the seam and its
 * contracts). `openStore` is the only way in; the rest of the app depends on
 * the `Store` interface, never on libsql.
 */
export * from './store.js';
export { openStore } from './libsql-store.js';
export type { OpenStoreOptions } from './libsql-store.js';
export { MIGRATIONS, SCHEMA_VERSION, SchemaTooNewError, migrate } from './migrations.js';
export type { Migration, MigrationOutcome } from './migrations.js';
export { addSample, rankChannels } from './ranking.js';
export type { RankInput } from './ranking.js';
export { InboxFullError } from './rooms.js';
export type { InboxEntry, InboxLimits, InboxState, NewInboxEntry, NewOutboxEntry, OutboxCopy, OutboxEntry, OutboxState, RoomRecord, RoomStore } from './rooms.js';
