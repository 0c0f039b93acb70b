/**
 * Facts about @libsql/client 0.18.0 that the store's design relies on (see
 * src/store/db.ts). If an upgrade changes one of them, this file says which
 * assumption to revisit.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { createClient } from '@libsql/client';
import type { Client } from '@libsql/client';
import { Db, Lane, dbKind } from '../../src/store/db.js';
import { tempDir } from './helpers.js';

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

function fileClient(): Client {
  const { dir, cleanup } = tempDir();
  const client = createClient({ url: `file:${join(dir, 'x.db')}` });
  cleanups.push(() => {
    client.close();
    cleanup();
  });
  return client;
}

function memoryClient(): Client {
  const client = createClient({ url: ':memory:' });
  cleanups.push(() => client.close());
  return client;
}

describe('@libsql/client 0.18.0', () => {
  it(':memory: transaction() works on the same database as the client (no second, empty connection)', async () => {
    const c = memoryClient();
    await c.execute('CREATE TABLE t (v INTEGER)');
    const tx = await c.transaction('write');
    await tx.execute('INSERT INTO t VALUES (1)'); // would fail with "no such table" on a separate connection
    await tx.commit();
    tx.close();
    expect((await c.execute('SELECT count(*) AS n FROM t')).rows[0]?.['n']).toBe(1);
  });

  it(':memory: rejects any other call while an interactive transaction is open (does not wait)', async () => {
    const c = memoryClient();
    await c.execute('CREATE TABLE t (v INTEGER)');
    const tx = await c.transaction('write');
    await expect(c.execute('SELECT 1')).rejects.toMatchObject({ code: 'TRANSACTION_ACTIVE' });
    await tx.rollback();
    tx.close();
  });

  it('file: a second write transaction fails at once with SQLITE_BUSY (no busy timeout by default)', async () => {
    const c = fileClient();
    await c.execute('CREATE TABLE t (v INTEGER)');
    const tx = await c.transaction('write');
    await expect(c.transaction('write')).rejects.toMatchObject({ code: 'SQLITE_BUSY' });
    await tx.rollback();
    tx.close();
  });

  it.each(['memory', 'file'] as const)('%s: a write batch is all-or-nothing and reports row counts per statement', async (kind) => {
    const c = kind === 'memory' ? memoryClient() : fileClient();
    await c.execute(`CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT CHECK (v IN ('a', 'b')))`);
    await expect(c.batch([`INSERT INTO t VALUES (1, 'a')`, `INSERT INTO t VALUES (2, 'z')`], 'write')).rejects.toMatchObject({
      code: 'SQLITE_CONSTRAINT',
    });
    expect((await c.execute('SELECT count(*) AS n FROM t')).rows[0]?.['n']).toBe(0);
    const rs = await c.batch([`INSERT INTO t VALUES (1, 'a') ON CONFLICT DO NOTHING`, `INSERT INTO t VALUES (1, 'a') ON CONFLICT DO NOTHING`], 'write');
    expect(rs.map((r) => r.rowsAffected)).toEqual([1, 0]);
  });

  it('enables foreign keys by default', async () => {
    expect((await memoryClient().execute('PRAGMA foreign_keys')).rows[0]?.['foreign_keys']).toBe(1);
    expect((await fileClient().execute('PRAGMA foreign_keys')).rows[0]?.['foreign_keys']).toBe(1);
  });
});

describe('Db', () => {
  it('classifies URLs without touching them', () => {
    expect(dbKind(':memory:')).toBe('memory');
    expect(dbKind('file::memory:?cache=private')).toBe('memory');
    expect(dbKind('file:/tmp/x.db')).toBe('file');
    expect(dbKind('libsql://db.example.org')).toBe('remote');
    expect(dbKind('http://127.0.0.1:8080')).toBe('remote');
  });

  it('opens file databases in WAL mode with a busy timeout and foreign keys', async () => {
    const { dir, cleanup } = tempDir();
    const db = await Db.open(`file:${join(dir, 'x.db')}`, undefined);
    try {
      expect((await db.read('PRAGMA journal_mode')).rows[0]?.['journal_mode']).toBe('wal');
      expect((await db.read('PRAGMA busy_timeout')).rows[0]?.['timeout']).toBe(5000);
      expect((await db.read('PRAGMA foreign_keys')).rows[0]?.['foreign_keys']).toBe(1);
    } finally {
      await db.close();
      cleanup();
    }
  });

  it(':memory: reads wait for an open write transaction instead of failing', async () => {
    const db = await Db.open(':memory:', undefined);
    try {
      await db.write((w) => w.execute('CREATE TABLE t (v INTEGER)'));
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      const writing = db.write((w) =>
        w.transaction(async (tx) => {
          await tx.execute('INSERT INTO t VALUES (1)');
          await gate;
        }),
      );
      const reading = db.read('SELECT count(*) AS n FROM t');
      release();
      await writing;
      expect((await reading).rows[0]?.['n']).toBe(1);
    } finally {
      await db.close();
    }
  });

  it('close waits for queued writes, is idempotent, and later calls reject', async () => {
    const db = await Db.open(':memory:', undefined);
    await db.write((w) => w.execute('CREATE TABLE t (v INTEGER)'));
    const pending = db.write((w) => w.execute('INSERT INTO t VALUES (1)'));
    await db.close();
    await db.close();
    await expect(pending).resolves.toBeDefined();
    await expect(db.read('SELECT 1')).rejects.toThrow(/closed/);
    await expect(db.write((w) => w.execute('SELECT 1'))).rejects.toThrow(/closed/);
  });

  it('Lane runs tasks one at a time, in order, and survives a failing task', async () => {
    const lane = new Lane();
    const log: string[] = [];
    const task = (name: string, ms: number, fail = false) =>
      lane.run(async () => {
        log.push(`start ${name}`);
        await new Promise((r) => setTimeout(r, ms));
        log.push(`end ${name}`);
        if (fail) throw new Error(name);
        return name;
      });
    const results = await Promise.allSettled([task('a', 20), task('b', 1, true), task('c', 5)]);
    expect(log).toEqual(['start a', 'end a', 'start b', 'end b', 'start c', 'end c']);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
  });
});
