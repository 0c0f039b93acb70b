/**
 * Durable key-value state per platform (platform_state): what a platform
 * adapter needs to resume after a restart, such as Matrix's sync position.
 */
import { optStr } from './db.js';
import type { Db } from './db.js';

export interface PlatformStateRows {
  get(key: string): Promise<string | undefined>;
  /** Durable when it resolves. */
  set(key: string, value: string): Promise<void>;
}

export function platformState(db: Db, platform: string, now: () => number): PlatformStateRows {
  return {
    async get(key) {
      const rs = await db.reader.execute({ sql: 'SELECT value FROM platform_state WHERE platform = ? AND key = ?', args: [platform, key] });
      const row = rs.rows[0];
      return row ? optStr(row, 'value') : undefined;
    },
    async set(key, value) {
      await db.write((w) =>
        w.execute({
          sql: `INSERT INTO platform_state (platform, key, value, updated_at) VALUES (?, ?, ?, ?)
                ON CONFLICT (platform, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
          args: [platform, key, value, now()],
        }),
      );
    },
  };
}
