import { afterEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { createClient } from '@libsql/client';
import type { Client } from '@libsql/client';
import { MIGRATIONS, SCHEMA_VERSION, SchemaTooNewError, currentVersion, migrate } from '../../src/store/migrations.js';
import type { Migration } from '../../src/store/migrations.js';
import { openStore } from '../../src/store/index.js';
import { tempDir } from './helpers.js';

const cleanups: Array<() => void | Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function fileUrl(): string {
  const { dir, cleanup } = tempDir();
  cleanups.push(cleanup);
  return `file:${join(dir, 'roomcast.db')}`;
}

function client(url: string): Client {
  const c = createClient({ url });
  cleanups.push(() => c.close());
  return c;
}

async function tables(c: Client): Promise<string[]> {
  const rs = await c.execute(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`);
  return rs.rows.map((r) => String(r['name']));
}

describe('migrations', () => {
  it('are numbered 1, 2, 3 … and SCHEMA_VERSION is the last', () => {
    MIGRATIONS.forEach((m, i) => expect(m.version).toBe(i + 1));
    expect(SCHEMA_VERSION).toBe(MIGRATIONS.length);
  });

  it('create every table on a new database and record each version', async () => {
    const c = client(':memory:');
    const outcome = await migrate(c, MIGRATIONS, () => 1234);
    expect(outcome).toEqual({ from: 0, to: SCHEMA_VERSION, applied: MIGRATIONS.map((m) => m.version) });
    expect(await tables(c)).toEqual(
      [
        'channel_preferences',
        'contacts',
        'cursors',
        'endpoint_performance',
        'identities',
        'messages',
        'outbox_copies',
        'platform_state',
        'receipts',
        'room_inbox',
        'room_outbox',
        'rooms',
        'schema_migrations',
        'send_results',
      ].sort(),
    );
    const rows = (await c.execute('SELECT version, name, applied_at FROM schema_migrations ORDER BY version')).rows;
    expect(rows.map((r) => ({ ...r }))).toEqual(MIGRATIONS.map((m) => ({ version: m.version, name: m.name, applied_at: 1234 })));
  });

  it('re-running is a no-op (same client, and a store reopened on the same file)', async () => {
    const url = fileUrl();
    const c = client(url);
    await migrate(c);
    const before = (await c.execute('SELECT * FROM schema_migrations')).rows.length;
    expect(await migrate(c)).toEqual({ from: SCHEMA_VERSION, to: SCHEMA_VERSION, applied: [] });
    for (let i = 0; i < 2; i++) {
      const store = await openStore({ url });
      await store.close();
    }
    expect((await c.execute('SELECT * FROM schema_migrations')).rows.length).toBe(before);
    expect(await currentVersion(c)).toBe(SCHEMA_VERSION);
  });

  it("3 lets a send fail with 'upgrade-required', keeping every send result of an older database", async () => {
    const c = client(fileUrl());
    await migrate(c, MIGRATIONS.slice(0, 2));
    await c.execute(
      `INSERT INTO messages (owner, uuid, direction, peer, from_magnet_link, content, timestamp, state, verified) VALUES ('o', 'u', 'out', 'p', 'magnet:?', 'hi', 1, 'sent', 1)`,
    );
    await c.execute(`INSERT INTO send_results (id, owner, uuid, protocol, endpoint, ok, latency_ms, reason, error, at) VALUES (7, 'o', 'u', 'xmtp', 'xmtp:dev', 0, 3.5, 'timeout', 'slow', 9)`);
    const insert = (reason: string) =>
      c.execute({ sql: `INSERT INTO send_results (owner, uuid, protocol, endpoint, ok, latency_ms, reason, at) VALUES ('o', 'u', 'xmtp', 'xmtp:dev', 0, 1, ?, 10)`, args: [reason] });
    await expect(insert('upgrade-required')).rejects.toThrow(/CHECK constraint/);
    expect((await migrate(c, MIGRATIONS.slice(0, 3))).applied).toEqual([3]);
    const kept = (await c.execute('SELECT id, owner, uuid, protocol, endpoint, ok, latency_ms, reason, error, at FROM send_results')).rows.map((r) => ({ ...r }));
    expect(kept).toEqual([{ id: 7, owner: 'o', uuid: 'u', protocol: 'xmtp', endpoint: 'xmtp:dev', ok: 0, latency_ms: 3.5, reason: 'timeout', error: 'slow', at: 9 }]);
    await insert('upgrade-required');
    await expect(insert('bogus')).rejects.toThrow(/CHECK constraint/);
    // The index for a message's results is back.
    const indexes = (await c.execute(`SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'send_results'`)).rows.map((r) => r['name']);
    expect(indexes).toContain('send_results_by_message');
  });

  it('5 lets protocol columns hold any network id, keeping every row, id, foreign key and other constraint', async () => {
    const c = client(fileUrl());
    await migrate(c, MIGRATIONS.slice(0, 4));
    await c.execute(`INSERT INTO messages (owner, uuid, direction, peer, from_magnet_link, content, timestamp, state, first_via, verified) VALUES ('o', 'u', 'in', 'p', 'magnet:?', 'hi', 1, 'received', 'mqtt', 1)`);
    await c.execute(`INSERT INTO receipts (id, owner, peer, uuid, kind, protocol, endpoint, received_at, latency_ms) VALUES (11, 'o', 'p', 'u', 'message', 'mqtt', 'm', 2, 1)`);
    await c.execute(`INSERT INTO send_results (id, owner, peer, uuid, protocol, endpoint, ok, latency_ms, at) VALUES (12, 'o', 'p', 'u', 'nostr', 'r', 1, 3, 4)`);
    await c.execute(`INSERT INTO channel_preferences (owner, peer, protocol, working, samples) VALUES ('o', 'p', 'xmtp', 1, 2)`);
    await c.execute(`INSERT INTO endpoint_performance (protocol, endpoint, sends, successes) VALUES ('mqtt', 'm', 3, 2)`);
    const newNetwork = `INSERT INTO endpoint_performance (protocol, endpoint) VALUES ('carrier-pigeon', 'loft')`;
    await expect(c.execute(newNetwork)).rejects.toThrow(/CHECK constraint/);

    expect((await migrate(c, MIGRATIONS.slice(0, 5))).applied).toEqual([5]);
    const rows = async (sql: string) => (await c.execute(sql)).rows.map((r) => ({ ...r }));
    expect(await rows('SELECT uuid, first_via FROM messages')).toEqual([{ uuid: 'u', first_via: 'mqtt' }]);
    expect(await rows('SELECT id, protocol FROM receipts')).toEqual([{ id: 11, protocol: 'mqtt' }]);
    expect(await rows('SELECT id, protocol FROM send_results')).toEqual([{ id: 12, protocol: 'nostr' }]);
    expect(await rows('SELECT protocol, working, samples FROM channel_preferences')).toEqual([{ protocol: 'xmtp', working: 1, samples: 2 }]);
    expect(await rows('SELECT protocol, sends, successes FROM endpoint_performance')).toEqual([{ protocol: 'mqtt', sends: 3, successes: 2 }]);
    await c.execute(newNetwork); // a network the schema never heard of
    // Every other constraint stays: kinds, reasons, booleans, and the foreign keys to messages.
    await expect(c.execute(`INSERT INTO receipts (owner, peer, uuid, kind, protocol, endpoint, received_at, latency_ms) VALUES ('o', 'p', 'u', 'gossip', 'mqtt', 'm', 2, 1)`)).rejects.toThrow(/CHECK constraint/);
    await expect(c.execute(`INSERT INTO send_results (owner, peer, uuid, protocol, endpoint, ok, latency_ms, reason, at) VALUES ('o', 'p', 'u', 'mqtt', 'm', 0, 1, 'bogus', 1)`)).rejects.toThrow(/CHECK constraint/);
    expect(await rows('PRAGMA foreign_key_check')).toEqual([]);
    const fks = await rows(`SELECT DISTINCT "table" FROM pragma_foreign_key_list('receipts')`);
    expect(fks).toEqual([{ table: 'messages' }]);
    const indexes = (await rows(`SELECT name FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_%' ORDER BY name`)).map((r) => r['name']);
    expect(indexes).toEqual(expect.arrayContaining(['messages_by_time', 'messages_by_uuid', 'receipts_by_message', 'send_results_by_message']));
  });

  it('apply only the pending ones, each in its own transaction', async () => {
    const c = client(':memory:');
    const v1: Migration = { version: 1, name: 'one', sql: ['CREATE TABLE a (x INTEGER)'] };
    const v2: Migration = { version: 2, name: 'two', sql: ['CREATE TABLE b (x INTEGER)'] };
    expect((await migrate(c, [v1])).applied).toEqual([1]);
    expect(await migrate(c, [v1, v2])).toEqual({ from: 1, to: 2, applied: [2] });
    expect(await tables(c)).toEqual(['a', 'b', 'schema_migrations']);
  });

  it('roll a failing migration back completely and name it in the error', async () => {
    const c = client(':memory:');
    const good: Migration = { version: 1, name: 'good', sql: ['CREATE TABLE a (x INTEGER)'] };
    const bad: Migration = { version: 2, name: 'bad', sql: ['CREATE TABLE b (x INTEGER)', 'CREATE TABLE a (y INTEGER)'] };
    await expect(migrate(c, [good, bad])).rejects.toThrow(/schema migration 2 \(bad\) failed and was rolled back: .*already exists/);
    expect(await tables(c)).toEqual(['a', 'schema_migrations']); // no table b
    expect(await currentVersion(c)).toBe(1);
  });

  it('refuse a database written by a newer roomcast, with a clear error, and leave it untouched', async () => {
    const url = fileUrl();
    const store = await openStore({ url });
    await store.close();
    const c = client(url);
    const future = SCHEMA_VERSION + 5;
    await c.execute({ sql: 'INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)', args: [future, 'from the future', 1] });

    const err = await openStore({ url }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(SchemaTooNewError);
    expect((err as SchemaTooNewError).databaseVersion).toBe(future);
    expect((err as Error).message).toMatch(new RegExp(`version ${future}.*only knows versions up to ${SCHEMA_VERSION}.*newer roomcast`));
    expect(await currentVersion(c)).toBe(future);
  });

  it('reject a migration list with gaps or out of order', async () => {
    const c = client(':memory:');
    await expect(migrate(c, [{ version: 2, name: 'x', sql: [] }])).rejects.toThrow(/out of order/);
  });

  it('refuse to adopt tables of another application (no silent reuse)', async () => {
    const c = client(fileUrl());
    await c.execute('CREATE TABLE messages (id INTEGER)');
    await expect(migrate(c)).rejects.toThrow(/schema migration 1 .*messages already exists/);
  });
});
