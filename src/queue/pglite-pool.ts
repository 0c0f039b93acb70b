/**
 * A node-postgres-shaped pool over one in-process PGlite database, so BullMQ's
 * PostgreSQL backend runs on PGlite without a socket.
 *
 * Why not PGlite's own socket server (@electric-sql/pglite-socket) plus `pg`?
 * PGlite is one Postgres session. The socket server multiplexes every client
 * connection onto that session, and a NOTIFY's message comes back on whichever
 * connection ran the statement that caused it, never on the connection that
 * ran LISTEN (measured here: a LISTEN client received 0 of 1 notifications).
 * BullMQ's idle workers sleep on LISTEN, so they would wake only on their
 * poll timeout. In-process, PGlite reports every notification to
 * `onNotification`, and this pool hands it to each client that listens.
 *
 * What this pool guarantees, and what BullMQ relies on:
 * - Every `query` is one PGlite call, so statements from concurrent callers
 *   never interleave (BullMQ's operations are single statements calling
 *   PL/pgSQL functions, each atomic on its own).
 * - A client from `connect()` that opens a transaction (BEGIN) holds the
 *   session until it commits or rolls back; every other query waits. The pool
 *   itself refuses to leave a transaction open (it rolls back and throws).
 * - Values travel as pg sends them (pg's own `prepareValue`) and come back as
 *   pg returns them (pg-types' text parsers: int8 as a string, json parsed,
 *   timestamps as Date), so code written against `pg` behaves the same.
 * - Every query first lets the event loop turn, as a network round trip
 *   would. PGlite itself answers through promise callbacks alone, and BullMQ's
 *   worker loop, when it always finds work (e.g. jobs that are deferred and
 *   promoted again at once), then never gave timers or I/O a chance: measured
 *   here, a sequenced queue starved its own setTimeout-based handlers forever.
 * - Errors are PGlite's DatabaseError, which carries the same fields as pg's
 *   (`code`, `detail`, …).
 * - After `end()`, queries reject with pg's own message ("Cannot use a pool
 *   after calling end on the pool"), which BullMQ recognises during shutdown.
 *
 * Differences from a real server: one session, so session settings
 * (search_path, application_name) are shared by all clients; a simple query
 * with several statements returns the last statement's result (pg returns an
 * array); there is no second process (see embedded-backend.ts).
 */
import { EventEmitter } from 'node:events';
import { setImmediate as nextTurnOfEventLoop } from 'node:timers/promises';
import type { PGlite, Results } from '@electric-sql/pglite';
import pg from 'pg';
import pgUtils from 'pg/lib/utils.js';

/** What a query resolves to: the subset of pg's Result that callers read. */
export interface PgliteQueryResult<R> {
  rows: R[];
  rowCount: number;
  fields: Array<{ name: string; dataTypeID: number }>;
}

/** A LISTEN/NOTIFY message, shaped like pg's `'notification'` event. */
export interface PgliteNotification {
  channel: string;
  payload?: string;
  processId: number;
}

type Release = () => void;

/** A FIFO async mutex: `acquire` resolves with the function that releases it. */
class Mutex {
  private tail: Promise<void> = Promise.resolve();

  acquire(): Promise<Release> {
    let release!: Release;
    const next = new Promise<void>((resolve) => (release = resolve));
    const ready = this.tail.then(() => release);
    this.tail = this.tail.then(() => next);
    return ready;
  }
}

const LISTEN_RE = /^(UN)?LISTEN\s+("(?:[^"]|"")+"|[^\s;]+)\s*;?\s*$/i;

/** Removes `--` line comments and surrounding blanks, to recognise LISTEN/UNLISTEN statements. */
function stripComments(sql: string): string {
  return sql
    .split('\n')
    .map((line) => line.replace(/--.*$/, ''))
    .join('\n')
    .trim();
}

/** Channel name as Postgres stores it: quoted names keep their case, bare names fold to lower case. */
function channelName(token: string): string {
  return token.startsWith('"') ? token.slice(1, -1).replace(/""/g, '"') : token.toLowerCase();
}

export class PglitePool extends EventEmitter {
  /** Read by BullMQ: notifications here cannot be lost to a dropped socket, so long blocking waits are safe. */
  readonly options = { keepAlive: true } as const;
  private readonly gate = new Mutex();
  /** The client holding an open transaction, and how to let the others in again. */
  private owner: PglitePoolClient | undefined;
  private ownerRelease: Release | undefined;
  private readonly clients = new Set<PglitePoolClient>();
  private ended = false;
  private readonly stopNotifications: () => void;

  constructor(private readonly db: PGlite) {
    super();
    // Every BullMQ object on this pool adds an 'error' listener.
    this.setMaxListeners(0);
    this.stopNotifications = db.onNotification((channel, payload) => {
      for (const client of this.clients) client.deliver(channel, payload);
    });
  }

  /**
   * Makes PGlite parse results and take parameters the way node-postgres does
   * (see the file comment). Call after creating the database and again after
   * creating types, so their array types are covered too.
   */
  async adoptPgTypes(): Promise<void> {
    const { rows } = await this.db.query<{ oid: number }>('SELECT oid::int AS oid FROM pg_catalog.pg_type');
    const passThrough = (value: unknown): string => value as string;
    for (const { oid } of rows) {
      const parse = pg.types.getTypeParser(oid, 'text');
      this.db.parsers[oid] = (text: string) => parse(text);
      this.db.serializers[oid] = passThrough;
    }
  }

  query<R = Record<string, unknown>>(text: string, params?: readonly unknown[]): Promise<PgliteQueryResult<R>> {
    return this.run<R>(undefined, text, params);
  }

  async connect(): Promise<PglitePoolClient> {
    if (this.ended) throw new Error('Cannot use a pool after calling end on the pool');
    const client = new PglitePoolClient(this);
    this.clients.add(client);
    this.emit('connect', client);
    return client;
  }

  /** Stops accepting queries; waits for a transaction in progress. The PGlite database stays open (its owner closes it). */
  async end(): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    const release = await this.gate.acquire();
    release();
    this.stopNotifications();
    this.clients.clear();
  }

  /** @internal Runs one statement (or simple multi-statement text) for the pool (`who` undefined) or a client. */
  async run<R>(who: PglitePoolClient | undefined, text: string, params: readonly unknown[] | undefined): Promise<PgliteQueryResult<R>> {
    if (this.ended) throw new Error('Cannot use a pool after calling end on the pool');
    await nextTurnOfEventLoop();
    if (who !== undefined && this.owner === who) {
      try {
        return await this.exec<R>(text, params);
      } finally {
        if (!this.db.isInTransaction()) this.handBack();
      }
    }
    const release = await this.gate.acquire();
    let kept = false;
    try {
      if (this.ended) throw new Error('Cannot use a pool after calling end on the pool');
      const result = await this.exec<R>(text, params);
      if (this.db.isInTransaction()) {
        if (who === undefined) {
          await this.db.exec('ROLLBACK');
          throw new Error('PglitePool: a transaction needs a client from connect(); pool.query() rolled it back');
        }
        this.owner = who;
        this.ownerRelease = release;
        kept = true;
      }
      return result;
    } finally {
      if (!kept) release();
    }
  }

  /** @internal A client goes away: roll back what it left open and let the others in. */
  async releaseClient(client: PglitePoolClient): Promise<void> {
    this.clients.delete(client);
    if (this.owner === client) {
      try {
        if (this.db.isInTransaction()) await this.db.exec('ROLLBACK');
      } finally {
        this.handBack();
      }
    }
  }

  /** @internal Whether another client still listens on `channel` (so the session must keep listening). */
  othersListen(client: PglitePoolClient, channel: string): boolean {
    for (const c of this.clients) if (c !== client && c.listensTo(channel)) return true;
    return false;
  }

  private handBack(): void {
    const release = this.ownerRelease;
    this.owner = undefined;
    this.ownerRelease = undefined;
    release?.();
  }

  private async exec<R>(text: string, params: readonly unknown[] | undefined): Promise<PgliteQueryResult<R>> {
    // Like pg: parameters → extended protocol (one statement); none → simple protocol.
    if (params !== undefined && params.length > 0) {
      const values = params.map((v) => pgUtils.prepareValue(v));
      return toResult<R>(await this.db.query<R>(text, values));
    }
    const all = await this.db.exec(text);
    const last = all[all.length - 1];
    return last ? toResult<R>(last as Results<R>) : { rows: [], rowCount: 0, fields: [] };
  }
}

function toResult<R>(r: Results<R>): PgliteQueryResult<R> {
  return { rows: r.rows, rowCount: Math.max(r.affectedRows ?? 0, r.rows.length), fields: r.fields };
}

/**
 * One "connection" of the pool. It shares the session with everyone else; it
 * differs from `pool.query` in that it may hold a transaction, and in that it
 * receives the notifications of the channels it LISTENs to.
 */
export class PglitePoolClient extends EventEmitter {
  private readonly channels = new Set<string>();
  private released = false;

  constructor(private readonly pool: PglitePool) {
    super();
  }

  async query<R = Record<string, unknown>>(text: string, params?: readonly unknown[]): Promise<PgliteQueryResult<R>> {
    if (this.released) throw new Error('Client was released and cannot be used');
    const listen = LISTEN_RE.exec(stripComments(text));
    if (listen && (params === undefined || params.length === 0)) {
      const channel = channelName(listen[2]!);
      if (listen[1]) {
        this.channels.delete(channel);
        // The session is shared: it keeps listening while another client does.
        if (this.pool.othersListen(this, channel)) return { rows: [], rowCount: 0, fields: [] };
      } else {
        this.channels.add(channel);
      }
    }
    return this.pool.run<R>(this, text, params);
  }

  /** Returns the client to the pool; a transaction it left open is rolled back. `destroy` changes nothing here. */
  release(_destroy?: boolean): void {
    if (this.released) return;
    this.released = true;
    this.channels.clear();
    void this.pool.releaseClient(this).catch((err: unknown) => {
      // An 'error' event without a listener would throw: only report it to someone listening.
      if (this.pool.listenerCount('error') > 0) this.pool.emit('error', err);
    });
  }

  /** @internal */
  listensTo(channel: string): boolean {
    return this.channels.has(channel);
  }

  /** @internal */
  deliver(channel: string, payload: string): void {
    if (this.channels.has(channel)) {
      const msg: PgliteNotification = { channel, payload, processId: 0 };
      this.emit('notification', msg);
    }
  }
}
