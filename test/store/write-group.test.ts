/**
 * Group commit (src/store/write-group.ts) on a real libsql file database:
 * writes of one loop turn share a transaction, each still succeeds or fails
 * alone, and a group that breaks as a whole charges nobody innocent.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { createClient } from '@libsql/client';
import type { Client, Transaction } from '@libsql/client';
import { Db, Lane } from '../../src/store/db.js';
import type { Writer } from '../../src/store/db.js';
import { LAZY_MS, MAX_GROUP, WriteGroups } from '../../src/store/write-group.js';
import { tempDir } from './helpers.js';

const cleanups: Array<() => void | Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A file database with table t, and WriteGroups over it that count the transactions they open. */
async function setup(begin?: (c: Client) => Promise<Transaction>) {
  const { dir, cleanup } = tempDir();
  const client = createClient({ url: `file:${join(dir, 'x.db')}` });
  cleanups.push(cleanup, () => client.close());
  await client.execute('PRAGMA journal_mode = WAL');
  await client.execute('CREATE TABLE t (v INTEGER PRIMARY KEY)');
  const alone: Writer = {
    execute: (s) => client.execute(s),
    batch: (s) => client.batch(s, 'write'),
    transaction: async (fn) => {
      const tx = await client.transaction('write');
      try {
        const r = await fn(tx);
        await tx.commit();
        return r;
      } finally {
        tx.close();
      }
    },
  };
  let begun = 0;
  const groups = new WriteGroups(new Lane(), alone, () => {
    begun++;
    return begin ? begin(client) : client.transaction('write');
  });
  const rows = async () => (await client.execute('SELECT v FROM t ORDER BY v')).rows.map((r) => Number(r['v']));
  return { groups, rows, begun: () => begun };
}

const insert = (v: number) => (w: Writer) => w.execute({ sql: 'INSERT INTO t (v) VALUES (?)', args: [v] });

describe('WriteGroups', () => {
  it('writes asked for in one turn share one transaction, and each resolves with its own result once committed', async () => {
    const { groups, rows, begun } = await setup();
    const results = await Promise.all([1, 2, 3, 4, 5].map((v) => groups.write(async (w) => (await insert(v)(w)).rowsAffected * v)));
    expect(results).toEqual([1, 2, 3, 4, 5]);
    expect(begun()).toBe(1);
    expect(await rows()).toEqual([1, 2, 3, 4, 5]);
  });

  it('a write alone runs on its own writer (no group transaction)', async () => {
    const { groups, rows, begun } = await setup();
    await groups.write(insert(1));
    await groups.write(insert(2));
    expect(begun()).toBe(0);
    expect(await rows()).toEqual([1, 2]);
  });

  it('a lazy write joins the next group instead of starting one', async () => {
    const { groups, rows, begun } = await setup();
    const lazy = groups.write(insert(1), true);
    await new Promise((r) => setTimeout(r, LAZY_MS / 5)); // several turns pass: it waits
    expect(await rows()).toEqual([]);
    await Promise.all([groups.write(insert(2)), lazy]);
    expect(begun()).toBe(1); // one transaction for both
    expect(await rows()).toEqual([1, 2]);
  });

  it(`a lazy write that finds no group to join is written after ${LAZY_MS} ms`, async () => {
    const { groups, rows, begun } = await setup();
    const t0 = performance.now();
    await groups.write(insert(1), true);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(LAZY_MS - 5);
    expect(begun()).toBe(0); // alone, on its own writer
    expect(await rows()).toEqual([1]);
  });

  it(`a turn with more than ${MAX_GROUP} writes is split into groups of at most ${MAX_GROUP}`, async () => {
    const { groups, rows, begun } = await setup();
    await Promise.all(Array.from({ length: MAX_GROUP + 10 }, (_, i) => groups.write(insert(i))));
    expect(begun()).toBe(2);
    expect((await rows()).length).toBe(MAX_GROUP + 10);
  });

  it('a failing write is undone alone (its batch too), and the others of its group are kept', async () => {
    const { groups, rows } = await setup();
    const outcomes = await Promise.allSettled([
      groups.write(insert(1)),
      // A batch whose second statement fails: its first must not stay.
      groups.write((w) => w.batch([{ sql: 'INSERT INTO t (v) VALUES (?)', args: [10] }, { sql: 'INSERT INTO t (v) VALUES (?)', args: [1] }])),
      groups.write(async (w) => {
        await insert(20)(w);
        throw new Error('changed its mind');
      }),
      groups.write(insert(3)),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'rejected', 'fulfilled']);
    expect((outcomes[2] as PromiseRejectedResult).reason).toEqual(new Error('changed its mind'));
    expect(await rows()).toEqual([1, 3]);
  });

  it('a write that catches its failed batch keeps going, as it would alone', async () => {
    const { groups, rows } = await setup();
    await Promise.all([
      groups.write(insert(1)),
      groups.write(async (w) => {
        await w.batch([{ sql: 'INSERT INTO t (v) VALUES (?)', args: [5] }, { sql: 'INSERT INTO t (v) VALUES (?)', args: [1] }]).catch(() => undefined);
        await insert(6)(w);
      }),
    ]);
    expect(await rows()).toEqual([1, 6]);
  });

  it('a group that breaks as a whole runs its other writes again, alone, each to its own outcome', async () => {
    const { groups, rows, begun } = await setup();
    let runs = 0;
    const outcomes = await Promise.allSettled([
      groups.write(async (w) => {
        runs++;
        return insert(1)(w);
      }),
      // Ends the transaction under everyone (as SQLITE_FULL or an I/O error would); alone, it fails on its own.
      groups.write((w) => w.execute('ROLLBACK')),
      groups.write(insert(3)),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(runs).toBe(2); // once in the group (rolled back with it), once alone
    expect(begun()).toBe(1);
    expect(await rows()).toEqual([1, 3]);
  });

  it('a group that cannot begin fails its writes with that error, and the next turn works', async () => {
    let fail = true;
    const { groups, rows } = await setup((c) => (fail ? Promise.reject(new Error('SQLITE_BUSY: database is locked')) : c.transaction('write')));
    const outcomes = await Promise.allSettled([groups.write(insert(1)), groups.write(insert(2))]);
    expect(outcomes.map((o) => (o.status === 'rejected' ? (o.reason as Error).message : 'ok'))).toEqual(['SQLITE_BUSY: database is locked', 'SQLITE_BUSY: database is locked']);
    fail = false;
    await Promise.all([groups.write(insert(3)), groups.write(insert(4))]);
    expect(await rows()).toEqual([3, 4]);
  });

  it('drain waits for every write asked for so far', async () => {
    const { groups, rows } = await setup();
    const asked = [groups.write(insert(1)), groups.write(insert(2))];
    await groups.drain();
    expect(await rows()).toEqual([1, 2]);
    await Promise.all(asked);
  });
});

describe('Db on a file database', () => {
  it('groups concurrent writes: a busy store commits far fewer times than it writes', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const db = await Db.open(`file:${join(dir, 'x.db')}`, undefined);
    cleanups.push(() => db.close());
    await db.write((w) => w.execute('CREATE TABLE t (v INTEGER PRIMARY KEY)'));
    // Every commit of a WAL database appends a frame with the commit flag; the WAL's size in frames after N grouped writes is far below N.
    await Promise.all(Array.from({ length: 50 }, (_, i) => db.write((w) => w.execute({ sql: 'INSERT INTO t (v) VALUES (?)', args: [i] }))));
    const frames = Number((await db.read('PRAGMA wal_checkpoint(PASSIVE)')).rows[0]?.['log']);
    expect((await db.read('SELECT count(*) AS n FROM t')).rows[0]?.['n']).toBe(50);
    expect(frames).toBeLessThan(10);
  });
});
