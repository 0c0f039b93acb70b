/**
 * Local identities (one per bridged room) and transport cursors: the small
 * tables that are not about messages.
 */
import type { StoredIdentity } from './store.js';
import { compact, num, optStr, str } from './db.js';
import type { Db } from './db.js';

/**
 * Adds an identity or updates its magnet link; the label is replaced only
 * when one is given (so a restart without a label keeps the operator's), and
 * createdAt is kept.
 */
export async function upsertIdentity(db: Db, i: { owner: string; magnetLink: string; label?: string }, now: number): Promise<void> {
  await db.write((w) =>
    w.execute({
      sql: `INSERT INTO identities (owner, magnet_link, label, created_at) VALUES (?, ?, ?, ?)
            ON CONFLICT (owner) DO UPDATE SET
              magnet_link = excluded.magnet_link,
              label = coalesce(excluded.label, identities.label)`,
      args: [i.owner, i.magnetLink, i.label ?? null, now],
    }),
  );
}

/** Oldest first. */
export async function listIdentities(db: Db): Promise<StoredIdentity[]> {
  const rs = await db.read('SELECT owner, magnet_link, label, created_at FROM identities ORDER BY created_at, owner');
  return rs.rows.map((r) =>
    compact({
      owner: str(r, 'owner'),
      magnetLink: str(r, 'magnet_link'),
      label: optStr(r, 'label'),
      createdAt: num(r, 'created_at'),
    }),
  );
}

/** A cursor's value, or undefined if it was never set. */
export async function getCursor(db: Db, key: string): Promise<number | undefined> {
  const rs = await db.read({ sql: 'SELECT value FROM cursors WHERE key = ?', args: [key] });
  const row = rs.rows[0];
  return row ? num(row, 'value') : undefined;
}

/** Sets a cursor (last write wins; a cursor may move backwards if the caller says so). */
export async function setCursor(db: Db, key: string, value: number): Promise<void> {
  if (!Number.isFinite(value)) throw new RangeError(`cursor ${key}: value must be a finite number`);
  await db.write((w) =>
    w.execute({
      sql: 'INSERT INTO cursors (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
      args: [key, value],
    }),
  );
}
