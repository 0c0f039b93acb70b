/**
 * The one place that talks to @libsql/client: opens the client, serialises
 * writes, runs batches and interactive transactions, redacts errors, and
 * converts row values.
 *
 * Why writes go through one in-process lane (measured with @libsql/client
 * 0.18.0, see test/store/libsql-behaviour.test.ts):
 * - `:memory:` is a single-connection database. While an interactive
 *   transaction holds that connection, any other call on the client is
 *   rejected at once with TRANSACTION_ACTIVE (it does not wait).
 * - A file database has a pool of connections. A second write transaction on
 *   another connection fails at once with SQLITE_BUSY, or, with a busy
 *   timeout, blocks the event loop (libsql calls are synchronous) while the
 *   transaction it waits for can never reach its COMMIT.
 * Serialising our own writes removes both. Between processes, SQLite's locks
 * do the job: every write is a `BEGIN IMMEDIATE` batch or transaction and the
 * busy timeout makes a second process wait its turn.
 *
 * Reads skip the lane (a file database reads the last commit on a connection
 * of its own, local-file.ts) except on `:memory:`, where they must not meet
 * an open transaction.
 *
 * Why a file database commits writes in groups (write-group.ts): each commit
 * waits for an fsync (0.6-1 ms here) on the event loop, and a bridged
 * message takes several writes from separate flows (the job, each ack copy,
 * the receipt). Writes asked for in the same turn of the event loop share one
 * transaction, each in a savepoint of its own, so each still succeeds or fails
 * alone and nothing is reported written before its commit.
 */
import { createClient } from '@libsql/client';
import type { InStatement, ResultSet, Row } from '@libsql/client';
import { hasReader, openLocalFile } from './local-file.js';
import type { SqlClient } from './local-file.js';
import { redactError, secretsOf } from './redact.js';
import { WriteGroups } from './write-group.js';

/** How long a write waits for another process's lock on a file database (ms). */
export const BUSY_TIMEOUT_MS = 5_000;

export type DbKind = 'memory' | 'file' | 'remote';

/** Anything that runs one statement: a transaction inside a write, or `Db.reader` outside. */
export interface Executor {
  execute(stmt: InStatement): Promise<ResultSet>;
}

/** What a write can do while it holds the lane. Never call Db methods from inside (the lane is not re-entrant). */
export interface Writer {
  execute(stmt: InStatement): Promise<ResultSet>;
  /** Runs the statements in one `BEGIN IMMEDIATE` transaction: all or none. One round trip to a server. */
  batch(stmts: InStatement[]): Promise<ResultSet[]>;
  /** Runs `fn` in one interactive write transaction: committed when it resolves, rolled back when it throws. */
  transaction<T>(fn: (tx: Executor) => Promise<T>): Promise<T>;
}

/**
 * A write: database work only. It may run more than once (a group that fails
 * as a whole runs each of its writes again alone), so it must not change
 * anything outside the database; only its last run's writes are kept.
 */
export type WriteFn<T> = (w: Writer) => Promise<T>;

/** Classifies a libsql URL. Nothing else in the store looks at it. */
export function dbKind(url: string): DbKind {
  if (url === ':memory:' || url.startsWith('file::memory:')) return 'memory';
  if (url.startsWith('file:')) return 'file';
  return 'remote';
}

/** A promise chain that runs one task at a time, in call order; a failed task does not block the next. */
export class Lane {
  #tail: Promise<unknown> = Promise.resolve();

  run<T>(task: () => Promise<T>): Promise<T> {
    const result = this.#tail.then(() => task());
    this.#tail = result.catch(() => undefined);
    return result;
  }
}

export class Db {
  readonly kind: DbKind;
  readonly #client: SqlClient;
  readonly #secrets: readonly string[];
  readonly #lane = new Lane();
  /** File databases only: writes of one event-loop turn share a commit. */
  readonly #groups: WriteGroups | undefined;
  #closed = false;

  private constructor(client: SqlClient, kind: DbKind, secrets: readonly string[]) {
    this.#client = client;
    this.kind = kind;
    this.#secrets = secrets;
    this.#groups = kind === 'file' ? new WriteGroups(this.#lane, this.#writer, () => client.transaction('write')) : undefined;
  }

  /**
   * Creates the client. Remote clients connect lazily, so an unreachable
   * server shows up at the first statement (the migrations), not here.
   * File databases go through local-file.ts (WAL, a busy timeout, foreign
   * keys on, statements kept); `:memory:` and servers through
   * @libsql/client, which enables foreign keys on its connections.
   */
  static async open(url: string, authToken: string | undefined): Promise<Db> {
    const secrets = secretsOf(url, authToken);
    const kind = dbKind(url);
    let client: SqlClient | undefined;
    try {
      client = kind === 'file' ? openLocalFile(url, BUSY_TIMEOUT_MS) : createClient({ url, ...(authToken !== undefined ? { authToken } : {}) });
      return new Db(client, kind, secrets);
    } catch (err) {
      client?.close();
      throw redactError(err, secrets);
    }
  }

  /** The raw client, for migrations at open time only (nothing else runs yet). */
  get rawClient(): SqlClient {
    return this.#client;
  }

  /** Wraps a raw-client failure (e.g. from migrations) the same way every store call is. */
  redact(err: unknown): unknown {
    return redactError(err, this.#secrets);
  }

  /** Runs one read-only statement. */
  async read(stmt: InStatement): Promise<ResultSet> {
    this.#checkOpen();
    const client = this.#client;
    const run = () => (hasReader(client) ? client.read(stmt) : client.execute(stmt));
    try {
      return await (this.kind === 'memory' ? this.#lane.run(run) : run());
    } catch (err) {
      throw this.redact(err);
    }
  }

  /** `read` as an Executor, so row loaders work both inside a transaction and on their own. */
  readonly reader: Executor = { execute: (stmt: InStatement) => this.read(stmt) };

  /**
   * Runs `fn` alone among this store's writes (on a file database, possibly in
   * one commit with other writes of the same loop turn; it resolves once its
   * writes are committed). Errors are redacted; ours (e.g.
   * ContactConflictError) pass unchanged. `lazy`: the caller can wait a
   * little (up to LAZY_MS) for its write to share a commit with others.
   */
  async write<T>(fn: WriteFn<T>, opts: { readonly lazy?: boolean } = {}): Promise<T> {
    this.#checkOpen();
    try {
      return await (this.#groups ? this.#groups.write(fn, opts.lazy) : this.#lane.run(() => fn(this.#writer)));
    } catch (err) {
      throw this.redact(err);
    }
  }

  /** Waits for queued writes, then closes the client. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await (this.#groups ? this.#groups.drain() : this.#lane.run(async () => undefined));
    this.#client.close();
  }

  readonly #writer: Writer = {
    execute: (stmt) => this.#client.execute(stmt),
    batch: (stmts) => this.#client.batch(stmts, 'write'),
    transaction: async (fn) => {
      const tx = await this.#client.transaction('write');
      try {
        const result = await fn(tx);
        await tx.commit();
        return result;
      } catch (err) {
        await tx.rollback().catch(() => undefined);
        throw err;
      } finally {
        tx.close();
      }
    },
  };

  #checkOpen(): void {
    if (this.#closed) throw new Error('the store is closed');
  }
}

// ---- row values ---------------------------------------------------------------

/** A column as a string (throws if it is NULL: a schema/code mismatch, not a data condition). */
export function str(row: Row, col: string): string {
  const v = row[col];
  if (v === null || v === undefined) throw new Error(`column ${col} is unexpectedly NULL`);
  return String(v);
}

export function num(row: Row, col: string): number {
  const v = row[col];
  if (v === null || v === undefined) throw new Error(`column ${col} is unexpectedly NULL`);
  return Number(v);
}

export function optStr(row: Row, col: string): string | undefined {
  const v = row[col];
  return v === null || v === undefined ? undefined : String(v);
}

export function optNum(row: Row, col: string): number | undefined {
  const v = row[col];
  return v === null || v === undefined ? undefined : Number(v);
}

export function bool(row: Row, col: string): boolean {
  return num(row, col) !== 0;
}

/** Drops keys whose value is undefined, so optional fields are absent rather than `undefined` or null. */
export function compact<T extends object>(obj: T): T {
  for (const key of Object.keys(obj) as Array<keyof T>) {
    if (obj[key] === undefined) delete obj[key];
  }
  return obj;
}
