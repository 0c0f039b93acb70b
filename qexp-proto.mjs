import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import pgUtils from 'pg/lib/utils.js';
import { EventEmitter } from 'node:events';
import { Queue, Worker, QueueEvents } from 'bullmq';
import { createPostgresBackend, runMigrations } from 'bullmq';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const dir = process.argv[2] ?? mkdtempSync(join(tmpdir(), 'qexp-'));
let t0 = Date.now();
const db = await PGlite.create({ dataDir: dir });
console.log('pglite open ms', Date.now() - t0, dir);
const { rows: oids } = await db.query('SELECT oid::int AS oid FROM pg_type');
const parsers = {}, serializers = {};
for (const { oid } of oids) { parsers[oid] = pg.types.getTypeParser(oid, 'text'); serializers[oid] = (x) => x; }
const opts = { parsers, serializers };
const notif = new Set();
db.onNotification((channel, payload) => { for (const c of notif) c.emit('notification', { channel, payload }); });
// gate
let owner = null; let chain = Promise.resolve();
async function run(who, text, params) {
  const vals = (params ?? []).map((v) => pgUtils.prepareValue(v));
  const exec = async () => {
    if (vals.length === 0) { const rs = await db.exec(text, opts); const r = rs[rs.length - 1] ?? { rows: [] }; return { rows: r.rows, rowCount: r.affectedRows ?? r.rows.length }; }
    const r = await db.query(text, vals, opts); return { rows: r.rows, rowCount: r.affectedRows ?? r.rows.length };
  };
  // simplistic: no tx gate in proto except via owner
  return exec();
}
class Client extends EventEmitter { query(t, p) { return run(this, t, p); } release() { notif.delete(this); } }
class Pool extends EventEmitter { query(t, p) { return run(null, t, p); } async connect() { const c = new Client(); notif.add(c); return c; } async end() {} }
const pool = new Pool();
await db.exec('SET search_path TO bullmq, public');
t0 = Date.now();
const c = await pool.connect(); await runMigrations(c, 'bullmq'); c.release();
console.log('migrations ms', Date.now() - t0);
const conn = { connection: pool };
const q = new Queue('q1', conn, createPostgresBackend);
t0 = Date.now();
await q.add('x', { a: 1 }, { jobId: 'u1' });
await q.add('x', { a: 1 }, { jobId: 'u1' });
console.log('counts', await q.getJobCounts());
let done = 0;
const w = new Worker('q1', async (job) => { done++; return job.data.a + 1; }, { ...conn, concurrency: 4 }, createPostgresBackend);
w.on('error', (e) => console.log('worker error', e));
const N = 1000;
await new Promise((r) => setTimeout(r, 300));
t0 = Date.now();
const jobs = []; for (let i = 0; i < N; i++) jobs.push({ name: 'x', data: { a: i }, opts: { jobId: `j${i}` } });
await q.addBulk(jobs);
console.log('addBulk ms', Date.now() - t0);
while (done < N + 1) await new Promise((r) => setTimeout(r, 20));
console.log('processed', N, 'in ms', Date.now() - t0, 'jobs/s', Math.round(N / ((Date.now() - t0) / 1000)));
// latency of a single job on idle worker
await new Promise((r) => setTimeout(r, 1000));
t0 = Date.now(); const before = done; await q.add('x', { a: 1 });
while (done === before) await new Promise((r) => setTimeout(r, 2));
console.log('idle wake latency ms', Date.now() - t0);
console.log('counts', await q.getJobCounts());
await w.close(); await q.close(); await db.close();
