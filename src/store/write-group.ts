/**
 * Group commit for a file database: the writes asked for in one turn of the
 * event loop run in one transaction, one commit (one fsync) for all of them.
 *
 * The contract each write keeps, grouped or not:
 * - it resolves only once its writes are committed;
 * - it fails alone: each runs in a savepoint, and one that throws is rolled
 *   back to it while the others go on;
 * - a failure of the group itself (the commit, or an error that ends
 *   SQLite's transaction, such as SQLITE_FULL or an I/O error) is never
 *   charged to writes that did nothing wrong: each write of the group that had
 *   not failed on its own runs again, alone, and gets its own outcome.
 *   A group that cannot even begin (another process holds the lock past the
 *   busy timeout) fails all of its writes with that error: each alone would
 *   have waited as long again, with the event loop blocked.
 *
 * The turn boundary is `setImmediate`: every I/O callback of the current poll
 * phase (three broker copies of one ack, several jobs finishing) gets to ask
 * before the group starts, and an idle process pays one loop turn.
 *
 * A lazy write (one only its own caller waits for, and that caller holds
 * nothing up: the id of a receipt notice) does not start a group: it joins
 * the next one, or starts one after LAZY_MS if none came. Under load it costs
 * no commit of its own. Not for a write an MQTT handler waits for: mqtt.js
 * passes a connection's packets on one at a time, PUBACKs included.
 */
import type { InStatement, ResultSet } from '@libsql/client';
import type { SqlTransaction } from './local-file.js';
import type { Executor, Lane, WriteFn, Writer } from './db.js';

/** The most writes one transaction carries: a long group holds the write lock, and later writers, longer. */
export const MAX_GROUP = 64;

/** The longest a lazy write waits for a group to join (ms). */
export const LAZY_MS = 50;

interface Pending {
  readonly fn: WriteFn<unknown>;
  readonly resolve: (value: unknown) => void;
  readonly reject: (err: unknown) => void;
}

export class WriteGroups {
  readonly #lane: Lane;
  readonly #alone: Writer;
  readonly #begin: () => Promise<SqlTransaction>;
  readonly #pending: Pending[] = [];
  #scheduled = false;
  #lazyTimer: NodeJS.Timeout | undefined;

  /**
   * @param lane the store's one write lane: a group runs in it, as a lone write would.
   * @param alone the writer a write runs on when it is alone (its own autocommit or transaction).
   * @param begin opens a `BEGIN IMMEDIATE` transaction.
   */
  constructor(lane: Lane, alone: Writer, begin: () => Promise<SqlTransaction>) {
    this.#lane = lane;
    this.#alone = alone;
    this.#begin = begin;
  }

  /** `lazy`: join the next group rather than start one (see above). */
  write<T>(fn: WriteFn<T>, lazy = false): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#pending.push({ fn, resolve: resolve as (v: unknown) => void, reject });
      if (!lazy) this.#schedule();
      else this.#lazyTimer ??= setTimeout(() => this.#schedule(), LAZY_MS);
    });
  }

  /** Runs every write asked for so far, and waits for them. */
  async drain(): Promise<void> {
    while (this.#pending.length > 0) await this.#lane.run(() => this.#flush());
    await this.#lane.run(async () => undefined);
  }

  #schedule(): void {
    clearTimeout(this.#lazyTimer);
    this.#lazyTimer = undefined;
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      void this.#lane.run(() => this.#flush());
    });
  }

  async #flush(): Promise<void> {
    const group = this.#pending.splice(0, MAX_GROUP);
    if (this.#pending.length > 0) this.#schedule();
    if (group.length === 1) return runAlone(group[0]!, this.#alone);
    if (group.length > 1) await this.#runGroup(group);
  }

  async #runGroup(group: Pending[]): Promise<void> {
    let tx: SqlTransaction;
    try {
      tx = await this.#begin();
    } catch (err) {
      for (const p of group) p.reject(err);
      return;
    }
    const outcomes = new Map<Pending, { ok: true; value: unknown } | { ok: false; err: unknown }>();
    let broken = false;
    try {
      for (const p of group) {
        await tx.execute('SAVEPOINT roomcast_write');
        try {
          const value = await p.fn(savepointWriter(tx));
          await tx.execute('RELEASE roomcast_write');
          outcomes.set(p, { ok: true, value });
        } catch (err) {
          // Its own failure: undone alone. If even that fails, the transaction itself is gone.
          if (!(await rollbackTo(tx))) throw err;
          outcomes.set(p, { ok: false, err });
        }
      }
      await tx.commit();
    } catch {
      broken = true;
      await tx.rollback().catch(() => undefined);
    } finally {
      tx.close();
    }
    for (const p of group) {
      const outcome = outcomes.get(p);
      if (outcome && !outcome.ok) p.reject(outcome.err);
      else if (!broken) p.resolve(outcome?.value);
      else await runAlone(p, this.#alone);
    }
  }
}

async function runAlone(p: Pending, alone: Writer): Promise<void> {
  try {
    p.resolve(await p.fn(alone));
  } catch (err) {
    p.reject(err);
  }
}

/** Rolls back to the write's savepoint; false when the transaction itself is gone. */
async function rollbackTo(tx: SqlTransaction): Promise<boolean> {
  try {
    await tx.execute('ROLLBACK TO roomcast_write');
    await tx.execute('RELEASE roomcast_write');
    return true;
  } catch {
    return false;
  }
}

/** A Writer inside a group: a batch or transaction is a nested savepoint, all or none as it would be alone. */
function savepointWriter(tx: SqlTransaction): Writer {
  const nested = async <T>(fn: () => Promise<T>): Promise<T> => {
    await tx.execute('SAVEPOINT roomcast_inner');
    try {
      const result = await fn();
      await tx.execute('RELEASE roomcast_inner');
      return result;
    } catch (err) {
      await tx.execute('ROLLBACK TO roomcast_inner');
      await tx.execute('RELEASE roomcast_inner');
      throw err;
    }
  };
  const executor: Executor = { execute: (stmt: InStatement) => tx.execute(stmt) };
  return {
    execute: (stmt) => tx.execute(stmt),
    batch: (stmts) =>
      nested(async () => {
        const results: ResultSet[] = [];
        for (const stmt of stmts) results.push(await tx.execute(stmt));
        return results;
      }),
    transaction: (fn) => nested(() => fn(executor)),
  };
}
