/**
 * Contacts: each local identity's address book, a name per peer key.
 *
 * Names are compared exactly as given (case-sensitive, no trimming or
 * Unicode normalisation): "Alice" and "alice" are two contacts. Callers that
 * want case-insensitive names must normalise before calling. Keys (x_only)
 * are stored as given too; the identity module produces lower-case hex.
 * Both (owner, name) and (owner, x_only) are unique, so a peer has at most
 * one name per owner.
 */
import type { Row } from '@libsql/client';
import { ContactConflictError } from './store.js';
import type { Contact } from './store.js';
import { num, str } from './db.js';
import type { Db } from './db.js';

const COLUMNS = 'owner, name, magnet_link, x_only, eth_address, added_at';

function toContact(r: Row): Contact {
  return {
    owner: str(r, 'owner'),
    name: str(r, 'name'),
    magnetLink: str(r, 'magnet_link'),
    xOnly: str(r, 'x_only'),
    ethAddress: str(r, 'eth_address'),
    addedAt: num(r, 'added_at'),
  };
}

/**
 * Adds a contact, or replaces the one with the same (owner, name). addedAt is
 * kept when the replacement has the same key (an updated magnet link), and
 * reset when the name now points at a different key. If another name of the
 * same owner already has this key, throws ContactConflictError(thatName) and
 * changes nothing. One statement, so the uniqueness check cannot race.
 */
export async function addContact(db: Db, c: Omit<Contact, 'addedAt'>, now: number): Promise<Contact> {
  return db.write(async (w) => {
    try {
      const rs = await w.execute({
        sql: `INSERT INTO contacts (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)
              ON CONFLICT (owner, name) DO UPDATE SET
                magnet_link = excluded.magnet_link,
                eth_address = excluded.eth_address,
                added_at = CASE WHEN contacts.x_only = excluded.x_only THEN contacts.added_at ELSE excluded.added_at END,
                x_only = excluded.x_only
              RETURNING ${COLUMNS}`,
        args: [c.owner, c.name, c.magnetLink, c.xOnly, c.ethAddress, now],
      });
      const row = rs.rows[0];
      if (!row) throw new Error('contact upsert returned no row');
      return toContact(row);
    } catch (err) {
      // The only other unique constraint is (owner, x_only): another name has this key.
      if (!isUniqueViolation(err)) throw err;
      const other = await w.execute({
        sql: 'SELECT name FROM contacts WHERE owner = ? AND x_only = ?',
        args: [c.owner, c.xOnly],
      });
      const name = other.rows[0]?.['name'];
      if (typeof name !== 'string') throw err;
      throw new ContactConflictError(name);
    }
  });
}

function isUniqueViolation(err: unknown): boolean {
  const e = err as { code?: unknown; extendedCode?: unknown; message?: unknown };
  return (
    e?.extendedCode === 'SQLITE_CONSTRAINT_UNIQUE' ||
    (typeof e?.message === 'string' && e.message.includes('UNIQUE constraint failed'))
  );
}

export async function removeContact(db: Db, owner: string, name: string): Promise<boolean> {
  const rs = await db.write((w) =>
    w.execute({ sql: 'DELETE FROM contacts WHERE owner = ? AND name = ?', args: [owner, name] }),
  );
  return rs.rowsAffected > 0;
}

/** By name (binary order, matching the case-sensitive comparison). */
export async function listContacts(db: Db, owner: string): Promise<Contact[]> {
  const rs = await db.read({ sql: `SELECT ${COLUMNS} FROM contacts WHERE owner = ? ORDER BY name`, args: [owner] });
  return rs.rows.map(toContact);
}

export async function findContactByKey(db: Db, owner: string, xOnly: string): Promise<Contact | undefined> {
  const rs = await db.read({ sql: `SELECT ${COLUMNS} FROM contacts WHERE owner = ? AND x_only = ?`, args: [owner, xOnly] });
  const row = rs.rows[0];
  return row ? toContact(row) : undefined;
}

export async function findContactByName(db: Db, owner: string, name: string): Promise<Contact | undefined> {
  const rs = await db.read({ sql: `SELECT ${COLUMNS} FROM contacts WHERE owner = ? AND name = ?`, args: [owner, name] });
  const row = rs.rows[0];
  return row ? toContact(row) : undefined;
}
