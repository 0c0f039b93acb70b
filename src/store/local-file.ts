/**
 * A file database on libsql's native binding (`libsql`, the engine under
 * @libsql/client), with prepared statements kept for reuse.
 *
 * Why not @libsql/client for files: it prepares every statement anew, asks
 * for its columns twice and rebuilds every row through several layers. A
 * point read cost 84 µs through it and 9 µs on a kept statement (measured on
 * the project machine, 20,000 reads of one outbox row), and the store runs
 * a few dozen statements per bridged message. @libsql/client stays for
 * `:memory:` and for libsql servers, which do not have this cost profile.
 *
 * Two connections:
 * - one writes. The store's write lane is its only user, so it never meets
 *   a second transaction of ours; another process's lock is waited for up to
 *   the busy timeout (blocking, as SQLite does).
 * - one reads. In WAL mode it sees the last commit and never a write still in
 *   progress, as @libsql/client's pooled connections did.
 *
 * Rows come back as @libsql/client's do where the store looks: columns by
 * name and by index, integers as numbers (one beyond 2^53 is an error, not a
 * rounded number), blobs as ArrayBuffers. Errors are libsql's own SqliteError
 * (`code` is the extended code, e.g. SQLITE_CONSTRAINT_UNIQUE).
 */
import Database from 'libsql';
import type { InStatement, InValue, ResultSet, Row } from '@libsql/client';

/** Statements kept per connection. The store's SQL is a fixed set but for `IN (?, ?, …)` lists of varying length. */
const STATEMENT_CACHE = 256;

/** What Db needs of a transaction: @libsql/client's Transaction has it too. */
export interface SqlTransaction {
  execute(stmt: InStatement): Promise<ResultSet>;
  commit(): Promise<void>;
  rollback(): Promise<void>;
  close(): void;
}

/** What Db and the migrations need of a client: @libsql/client's Client has it too. */
export interface SqlClient {
  execute(stmt: InStatement): Promise<ResultSet>;
  batch(stmts: InStatement[], mode: 'write'): Promise<ResultSet[]>;
  transaction(mode: 'write'): Promise<SqlTransaction>;
  close(): void;
}

/** The path a `file:` URL names, as @libsql/client reads it: file:/abs, file:///abs, file://localhost/abs, file:relative. */
export function filePath(url: string): string {
  const m = /^file:(?:\/\/([^/?#]*))?([^?#]*)(\?[^#]*)?(#.*)?$/su.exec(url);
  if (!m) throw new Error('is not a file: URL');
  const [, host, path, query] = m;
  if (host !== undefined && host !== '' && host.toLowerCase() !== 'localhost') throw new Error(`a file: URL names a host (${host}); use file:/absolute/path or file:relative/path`);
  if (query !== undefined) throw new Error('a file: URL takes no query parameters');
  return decodeURIComponent(path!);
}

/** A kept statement, with what running it needs to know. */
interface Prepared {
  readonly stmt: Database.Statement;
  /** Column names when it returns rows (raw mode is on), else undefined. */
  readonly columns: readonly string[] | undefined;
  /** Builds its rows (when it returns rows). */
  readonly row: RowShape | undefined;
}

type Args = Exclude<InStatement, string>['args'];

/** One native connection with its kept statements. */
class Connection {
  readonly db: Database.Database;
  readonly #statements = new Map<string, Prepared>();

  constructor(path: string, timeoutMs: number) {
    this.db = new Database(path, { timeout: timeoutMs });
  }

  run(stmt: InStatement): ResultSet {
    const sql = typeof stmt === 'string' ? stmt : stmt.sql;
    const args = typeof stmt === 'string' ? [] : toArgs(stmt.args);
    const { stmt: prepared, columns, row } = this.#prepare(sql);
    if (columns && row) {
      const rows = prepared.all(args) as unknown[][];
      return resultSet([...columns], rows.map((r) => row(r)), 0, undefined);
    }
    const info = prepared.run(args);
    return resultSet([], [], info.changes, BigInt(info.lastInsertRowid));
  }

  close(): void {
    this.#statements.clear();
    this.db.close();
  }

  #prepare(sql: string): Prepared {
    let prepared = this.#statements.get(sql);
    if (prepared) {
      // Most recently used last: the oldest is dropped first.
      this.#statements.delete(sql);
    } else {
      const stmt = this.db.prepare(sql).safeIntegers(true);
      const columns = stmt.reader ? stmt.raw(true).columns().map((c) => c.name) : undefined;
      prepared = { stmt, columns, row: columns ? rowShape(columns) : undefined };
      if (this.#statements.size >= STATEMENT_CACHE) this.#statements.delete(this.#statements.keys().next().value!);
    }
    this.#statements.set(sql, prepared);
    return prepared;
  }
}

/** Opens the database file (creating it), in WAL mode with a busy timeout and foreign keys on. */
export function openLocalFile(url: string, busyTimeoutMs: number): SqlClient {
  const path = filePath(url);
  const writer = new Connection(path, busyTimeoutMs);
  let reader: Connection | undefined;
  try {
    writer.run('PRAGMA journal_mode = WAL');
    writer.run('PRAGMA foreign_keys = ON');
    reader = new Connection(path, busyTimeoutMs);
    reader.run('PRAGMA foreign_keys = ON');
  } catch (err) {
    reader?.close();
    writer.close();
    throw err;
  }
  return new LocalFileClient(writer, reader);
}

class LocalFileClient implements SqlClient {
  readonly #writer: Connection;
  readonly #reader: Connection;

  constructor(writer: Connection, reader: Connection) {
    this.#writer = writer;
    this.#reader = reader;
  }

  /** Runs one statement on the writing connection (autocommit outside a transaction). */
  async execute(stmt: InStatement): Promise<ResultSet> {
    return this.#writer.run(stmt);
  }

  /** Runs one statement on the reading connection: the last commit, never a write in progress. */
  async read(stmt: InStatement): Promise<ResultSet> {
    return this.#reader.run(stmt);
  }

  async batch(stmts: InStatement[]): Promise<ResultSet[]> {
    const tx = await this.transaction();
    try {
      const results = stmts.map((s) => this.#writer.run(s));
      await tx.commit();
      return results;
    } finally {
      tx.close();
    }
  }

  async transaction(): Promise<SqlTransaction> {
    const w = this.#writer;
    w.run('BEGIN IMMEDIATE');
    let open = true;
    const rollback = () => {
      if (!open) return;
      open = false;
      if (w.db.inTransaction) w.run('ROLLBACK');
    };
    return {
      execute: async (stmt) => {
        if (!open) throw new Error('the transaction is closed');
        return w.run(stmt);
      },
      // Not guarded by inTransaction: a transaction SQLite already ended (an I/O error, a full disk) must fail its commit.
      commit: async () => {
        if (!open) throw new Error('the transaction is closed');
        w.run('COMMIT'); // if it throws, the transaction stays open for rollback or close
        open = false;
      },
      rollback: async () => rollback(),
      close: rollback,
    };
  }

  close(): void {
    this.#reader.close();
    this.#writer.close();
  }
}

/** Whether `c` reads on a connection of its own (LocalFileClient), rather than through `execute`. */
export function hasReader(c: SqlClient): c is SqlClient & { read(stmt: InStatement): Promise<ResultSet> } {
  return c instanceof LocalFileClient;
}

function toArgs(args: Args): unknown[] | Record<string, unknown> {
  if (args === undefined) return [];
  if (Array.isArray(args)) return args.map(toSql);
  const named: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(args)) named[/^[@$:]/.test(k) ? k.slice(1) : k] = toSql(v);
  return named;
}

/** As @libsql/client binds values: booleans as 0/1, dates as milliseconds, non-finite numbers refused. */
function toSql(v: InValue): unknown {
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'number' && !Number.isFinite(v)) throw new RangeError('only finite numbers can be stored');
  if (v instanceof Date) return v.valueOf();
  if (v instanceof ArrayBuffer) return Buffer.from(v);
  return v;
}

type RowShape = (values: unknown[]) => Row;

/**
 * The row builder of one statement's columns. A row has each column by name
 * (own, enumerable: the first of equal names wins) and by index (getters on
 * a prototype shared by the statement's rows, so not enumerable), and a
 * length. Built once per kept statement: defining index properties on every
 * row was a measurable share of the bridge's CPU.
 */
function rowShape(columns: readonly string[]): RowShape {
  const named = columns.map((name, i) => columns.indexOf(name) === i);
  class ResultRow {
    readonly #values: unknown[];
    constructor(values: unknown[]) {
      this.#values = values;
      const self = this as unknown as Record<string, unknown>;
      for (let i = 0; i < values.length; i++) {
        const value = fromSql(values[i]);
        values[i] = value;
        if (named[i]) self[columns[i]!] = value;
      }
    }
    static at(row: ResultRow, i: number): unknown {
      return row.#values[i];
    }
  }
  for (let i = 0; i < columns.length; i++) Object.defineProperty(ResultRow.prototype, i, { get: function (this: ResultRow) { return ResultRow.at(this, i); } });
  Object.defineProperty(ResultRow.prototype, 'length', { value: columns.length });
  return (values) => new ResultRow(values) as unknown as Row;
}

function fromSql(v: unknown): unknown {
  if (typeof v === 'bigint') {
    if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) throw new RangeError('an integer in the database is too large for a JavaScript number');
    return Number(v);
  }
  if (Buffer.isBuffer(v)) return v.buffer.slice(v.byteOffset, v.byteOffset + v.byteLength);
  return v;
}

function resultSet(columns: string[], rows: Row[], rowsAffected: number, lastInsertRowid: bigint | undefined): ResultSet {
  return {
    columns,
    columnTypes: columns.map(() => ''),
    rows,
    rowsAffected,
    lastInsertRowid,
    toJSON: () => ({ columns, rows, rowsAffected, lastInsertRowid: lastInsertRowid?.toString() }),
  };
}
