import { PGlite } from '@electric-sql/pglite';
const db = await PGlite.create({ dataDir: process.argv[2] });
await db.exec("CREATE TABLE IF NOT EXISTS t(x int)");
await db.query("INSERT INTO t VALUES ($1)", [process.pid]);
console.log(process.pid, 'open; rows', (await db.query('select count(*)::int as n from t')).rows[0]);
await new Promise(r => setTimeout(r, 4000));
await db.query("INSERT INTO t VALUES ($1)", [process.pid]);
console.log(process.pid, 'rows after', (await db.query('select count(*)::int as n from t')).rows[0]);
await db.close();
