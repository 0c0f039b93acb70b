/**
 * The node-postgres-shaped pool over PGlite that carries BullMQ's PostgreSQL
 * backend in the embedded queue: what BullMQ relies on, one promise per test.
 */
import { PGlite } from '@electric-sql/pglite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PglitePool } from '../../src/queue/pglite-pool.js';
import type { PgliteNotification } from '../../src/queue/pglite-pool.js';
import { sleep } from '../support/wait.js';

let db: PGlite;
let pool: PglitePool;

beforeAll(async () => {
  db = await PGlite.create();
  pool = new PglitePool(db);
  await pool.adoptPgTypes();
  await pool.query('CREATE TABLE t (n int)');
});
afterAll(async () => {
  await pool?.end();
  await db?.close();
});

describe('PglitePool', () => {
  it('sends and returns values as node-postgres does', async () => {
    const { rows } = await pool.query<Record<string, unknown>>(
      `SELECT $1::bigint AS big, $2::int AS small, $3::jsonb AS doc, $4::timestamptz AS at, $5::boolean AS yes,
              $6::text[] AS list, $7::bytea AS bytes, NULL::text AS nothing`,
      ['9007199254740993', 42, JSON.stringify({ a: [1, 'x'] }), new Date('2024-01-02T03:04:05.678Z'), true, ['a', 'b"c', null], Buffer.from([0, 255])],
    );
    expect(rows[0]).toEqual({
      big: '9007199254740993', // int8 stays a string, as with pg
      small: 42,
      doc: { a: [1, 'x'] },
      at: new Date('2024-01-02T03:04:05.678Z'),
      yes: true,
      list: ['a', 'b"c', null],
      bytes: Buffer.from([0, 255]),
      nothing: null,
    });
    const counted = await pool.query<{ n: string }>('SELECT count(*) AS n FROM generate_series(1, 3)');
    expect(counted).toMatchObject({ rows: [{ n: '3' }], rowCount: 1 });
    const inserted = await pool.query('INSERT INTO t SELECT generate_series(1, 4)');
    expect(inserted.rowCount).toBe(4);
    await pool.query('DELETE FROM t');
  });

  it('lets a client that opened a transaction hold the session until it commits', async () => {
    const client = await pool.connect();
    await client.query('BEGIN');
    await client.query('INSERT INTO t VALUES ($1)', [1]);
    let outside: number | undefined;
    const reading = pool.query<{ n: number }>('SELECT count(*)::int AS n FROM t').then((r) => (outside = r.rows[0]!.n));
    await sleep(50);
    expect(outside).toBeUndefined(); // waits: it must neither run inside the transaction nor see it half-done
    await client.query('INSERT INTO t VALUES ($1)', [2]);
    await client.query('COMMIT');
    await reading;
    expect(outside).toBe(2);
    client.release();

    // A client released in the middle of a transaction has it rolled back.
    const careless = await pool.connect();
    await careless.query('BEGIN');
    await careless.query('DELETE FROM t');
    careless.release();
    expect((await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM t')).rows[0]!.n).toBe(2);
    await pool.query('DELETE FROM t');
  });

  it('refuses to leave a transaction open from pool.query', async () => {
    await expect(pool.query('BEGIN')).rejects.toThrow(/needs a client from connect\(\)/);
    expect(db.isInTransaction()).toBe(false);
  });

  it('delivers notifications to the clients that listen on the channel, and only to them', async () => {
    const [a, b, c] = [await pool.connect(), await pool.connect(), await pool.connect()];
    const got = { a: [] as string[], b: [] as string[], c: [] as string[] };
    for (const [name, client] of [['a', a], ['b', b], ['c', c]] as const) {
      client.on('notification', (m: PgliteNotification) => got[name].push(`${m.channel}:${m.payload}`));
    }
    await a.query('-- as BullMQ sends it\nLISTEN bullmq_jobs;\n');
    await b.query('LISTEN bullmq_jobs');
    await pool.query(`SELECT pg_notify('bullmq_jobs', 'q1')`);
    await b.query('UNLISTEN bullmq_jobs'); // the session keeps listening for a
    await pool.query(`SELECT pg_notify('bullmq_jobs', 'q2')`);
    await pool.query(`SELECT pg_notify('elsewhere', 'q3')`);
    expect(got).toEqual({ a: ['bullmq_jobs:q1', 'bullmq_jobs:q2'], b: ['bullmq_jobs:q1'], c: [] });
    for (const client of [a, b, c]) client.release();
  });

  it('lets the event loop turn between queries, as network I/O would', async () => {
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    const until = Date.now() + 100;
    while (Date.now() < until) await pool.query('SELECT 1');
    clearInterval(timer);
    expect(ticks).toBeGreaterThan(5);
  });

  it('rejects queries after end() with the message BullMQ recognises', async () => {
    const other = new PglitePool(db);
    await other.end();
    await expect(other.query('SELECT 1')).rejects.toThrow('Cannot use a pool after calling end on the pool');
    await expect(other.connect()).rejects.toThrow('Cannot use a pool after calling end on the pool');
  });
});
