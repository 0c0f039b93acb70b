/**
 * The native file client (src/store/local-file.ts): what the store relies on
 * from @libsql/client, kept when going to libsql's binding directly.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { createClient } from '@libsql/client';
import { filePath, openLocalFile } from '../../src/store/local-file.js';
import type { SqlClient } from '../../src/store/local-file.js';
import { Db } from '../../src/store/db.js';
import { tempDir } from './helpers.js';

const cleanups: Array<() => void | Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function open(): { client: SqlClient; url: string } {
  const { dir, cleanup } = tempDir();
  const url = `file:${join(dir, 'x.db')}`;
  const client = openLocalFile(url, 1000);
  cleanups.push(cleanup, () => client.close());
  return { client, url };
}

describe('local file client', () => {
  it('reads file: URLs as @libsql/client does', () => {
    expect(filePath('file:/tmp/a b.db')).toBe('/tmp/a b.db');
    expect(filePath('file:///tmp/x.db')).toBe('/tmp/x.db');
    expect(filePath('file://localhost/tmp/x.db')).toBe('/tmp/x.db');
    expect(filePath('file:data/roomcast.db')).toBe('data/roomcast.db');
    expect(filePath('file:./data/x%20y.db')).toBe('./data/x y.db');
    expect(() => filePath('file://example.com/x.db')).toThrow(/names a host/);
    expect(() => filePath('file:/tmp/x.db?mode=ro')).toThrow(/no query/);
  });

  it('opens in WAL mode with foreign keys on', async () => {
    const { client } = open();
    expect((await client.execute('PRAGMA journal_mode')).rows[0]?.['journal_mode']).toBe('wal');
    expect((await client.execute('PRAGMA foreign_keys')).rows[0]?.['foreign_keys']).toBe(1);
  });

  it('returns rows by column name and by index, integers as numbers, blobs as ArrayBuffers; binds booleans, dates and named arguments', async () => {
    const { client } = open();
    await client.execute('CREATE TABLE t (i INTEGER, s TEXT, b BLOB, f INTEGER)');
    const at = new Date(1_700_000_000_000);
    const w = await client.execute({ sql: 'INSERT INTO t VALUES (?, ?, ?, ?)', args: [at, 'x', new Uint8Array([1, 2]), true] });
    expect(w.rowsAffected).toBe(1);
    await client.execute({ sql: 'INSERT INTO t (i, s) VALUES (:i, $s)', args: { ':i': 2, $s: 'y' } });
    const rs = await client.execute('SELECT i, s, b, f FROM t ORDER BY i');
    expect(rs.columns).toEqual(['i', 's', 'b', 'f']);
    expect(rs.rows[1]?.['i']).toBe(at.valueOf());
    expect(rs.rows[1]?.[1]).toBe('x');
    expect(rs.rows[1]?.length).toBe(4);
    expect(new Uint8Array(rs.rows[1]?.['b'] as ArrayBuffer)).toEqual(new Uint8Array([1, 2]));
    expect(rs.rows[1]?.['f']).toBe(1);
    expect(rs.rows[0]).toMatchObject({ i: 2, s: 'y', b: null, f: null });
    expect(Object.keys(rs.rows[0]!)).toEqual(['i', 's', 'b', 'f']);
  });

  it('keeps every column by index when two share a name (the first has the name), and rows of one statement apart', async () => {
    const { client } = open();
    const rs = await client.execute({ sql: 'SELECT ? AS a, ? AS a, ? AS b', args: [1, 2, 3] });
    const row = rs.rows[0]!;
    expect([row['a'], row[0], row[1], row[2], row.length]).toEqual([1, 1, 2, 3, 3]);
    expect(Object.keys(row)).toEqual(['a', 'b']);
    expect(JSON.parse(JSON.stringify(row))).toEqual({ a: 1, b: 3 });
    const again = await client.execute({ sql: 'SELECT ? AS a, ? AS a, ? AS b', args: [4, 5, 6] });
    expect([again.rows[0]![1], row[1]]).toEqual([5, 2]);
  });

  it('refuses an integer a JavaScript number cannot hold instead of rounding it, and a non-finite number', async () => {
    const { client } = open();
    await client.execute('CREATE TABLE t (i INTEGER)');
    await client.execute({ sql: 'INSERT INTO t VALUES (?)', args: [9007199254740993n] });
    await expect(client.execute('SELECT i FROM t')).rejects.toThrow(/too large/);
    await expect(client.execute({ sql: 'INSERT INTO t VALUES (?)', args: [Number.NaN] })).rejects.toThrow(/finite/);
  });

  it('keeps statements, and still runs right past the cache size (the oldest are dropped)', async () => {
    const { client } = open();
    await client.execute('CREATE TABLE t (v INTEGER)');
    for (let i = 0; i < 300; i++) await client.execute({ sql: `INSERT INTO t VALUES (? + ${i})`, args: [0] });
    for (let i = 0; i < 300; i += 50) await client.execute({ sql: `INSERT INTO t VALUES (? + ${i})`, args: [1000] });
    const rs = await client.execute('SELECT count(*) AS n, sum(v) AS s FROM t');
    expect(rs.rows[0]).toMatchObject({ n: 306, s: (299 * 300) / 2 + 6 * 1000 + (0 + 50 + 100 + 150 + 200 + 250) });
  });

  it('a batch is all or none', async () => {
    const { client } = open();
    await client.execute('CREATE TABLE t (v INTEGER PRIMARY KEY)');
    await expect(client.batch(['INSERT INTO t VALUES (1)', 'INSERT INTO t VALUES (1)'], 'write')).rejects.toThrow(/UNIQUE/);
    expect((await client.execute('SELECT count(*) AS n FROM t')).rows[0]?.['n']).toBe(0);
    await client.batch(['INSERT INTO t VALUES (1)', 'INSERT INTO t VALUES (2)'], 'write');
    expect((await client.execute('SELECT count(*) AS n FROM t')).rows[0]?.['n']).toBe(2);
  });

  it('a transaction that SQLite has already ended fails its commit, and close leaves the connection usable', async () => {
    const { client } = open();
    await client.execute('CREATE TABLE t (v INTEGER)');
    const tx = await client.transaction('write');
    await tx.execute('INSERT INTO t VALUES (1)');
    await tx.execute('ROLLBACK'); // as an I/O error or a full disk would
    await expect(tx.commit()).rejects.toThrow(/no transaction is active/);
    tx.close();
    await client.execute('INSERT INTO t VALUES (2)');
    expect((await client.execute('SELECT v FROM t')).rows.map((r) => r['v'])).toEqual([2]);
  });

  it('Db reads the last commit, never a write still in progress; another process (client) sees the same', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const url = `file:${join(dir, 'x.db')}`;
    const db = await Db.open(url, undefined);
    cleanups.push(() => db.close());
    await db.write((w) => w.execute('CREATE TABLE t (v INTEGER)'));
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let inside!: () => void;
    const entered = new Promise<void>((r) => (inside = r));
    const writing = db.write((w) =>
      w.transaction(async (tx) => {
        await tx.execute('INSERT INTO t VALUES (1)');
        inside();
        await gate;
      }),
    );
    await entered;
    expect((await db.read('SELECT count(*) AS n FROM t')).rows[0]?.['n']).toBe(0);
    release();
    await writing;
    expect((await db.read('SELECT count(*) AS n FROM t')).rows[0]?.['n']).toBe(1);
    const other = createClient({ url });
    cleanups.push(() => other.close());
    expect((await other.execute('SELECT count(*) AS n FROM t')).rows[0]?.['n']).toBe(1);
  });
});
