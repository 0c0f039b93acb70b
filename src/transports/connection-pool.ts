/**
 * The connections one process shares among every identity it serves: one per
 * endpoint (broker, relay) and role, not one per room. A thousand bridged
 * rooms on 3 brokers and 3 relays hold 6 sockets, not 6,000.
 *
 * Networks take what they share with `lease(key, make)`: the first lease of a
 * key makes the connection, later ones reuse it, and the last release closes
 * it. What is not a connection but must still be one per process (a memory of
 * the inbound copies already checked) they take with `shared(key, make)`.
 * The pool knows nothing of any network; keys are the network's own.
 */
import type { Identity } from '../identity/keys.js';

/** What a pooled connection must offer: a way to close it once nobody uses it. */
export interface Poolable {
  close(): Promise<void>;
}

export interface Lease<T> {
  readonly value: T;
  /** Gives the lease back; the last one closes the connection. Idempotent. */
  release(): Promise<void>;
}

export interface ConnectionPoolOptions {
  /**
   * Whose connections these are: the process's service identity (or the CLI's
   * own). Networks derive what must be stable per process from it (MQTT's
   * persistent-session client id) and answer relay AUTH challenges with it.
   */
  readonly owner: Identity;
  /**
   * X-only keys of the identities this process will serve (its bridged rooms),
   * known before their transports start. A shared connection's persistent
   * session may deliver their messages before they have registered: those are
   * held, not dropped. Messages for any other identity are a stale
   * subscription's, and are dropped.
   */
  readonly expected?: Iterable<string>;
}

interface Entry {
  readonly value: Poolable;
  refs: number;
}

export class ConnectionPool {
  readonly owner: Identity;
  private readonly expected: Set<string>;
  private readonly entries = new Map<string, Entry>();
  private readonly state = new Map<string, unknown>();

  constructor(opts: ConnectionPoolOptions) {
    this.owner = opts.owner;
    this.expected = new Set(opts.expected ?? []);
  }

  /** The pooled connection under `key`, made by `make` if there is none. */
  lease<T extends Poolable>(key: string, make: () => T): Lease<T> {
    let entry = this.entries.get(key);
    if (!entry) {
      entry = { value: make(), refs: 0 };
      this.entries.set(key, entry);
    }
    entry.refs += 1;
    const held = entry;
    let released = false;
    return {
      value: held.value as T,
      release: async () => {
        if (released) return;
        released = true;
        held.refs -= 1;
        if (held.refs > 0 || this.entries.get(key) !== held) return;
        this.entries.delete(key);
        await held.value.close();
      },
    };
  }

  /**
   * Process-wide state under `key`, made by `make` on first use and kept for
   * the pool's life (so it must bound itself). Every caller of one key must
   * ask for the same type: the key is the network's own.
   */
  shared<T>(key: string, make: () => T): T {
    if (!this.state.has(key)) this.state.set(key, make());
    return this.state.get(key) as T;
  }

  /** True when `xOnly` is an identity this process was told it will serve (see `expected`). */
  expects(xOnly: string): boolean {
    return xOnly === this.owner.xOnly || this.expected.has(xOnly);
  }

  /** An identity the process now serves (a room bridged after start). */
  expect(xOnly: string): void {
    this.expected.add(xOnly);
  }

  /** An identity the process no longer serves (a room dropped). */
  forget(xOnly: string): void {
    this.expected.delete(xOnly);
  }

  /** Open pooled connections (for status and tests). */
  get size(): number {
    return this.entries.size;
  }

  /** Closes every pooled connection, leased or not (process shutdown). */
  async closeAll(): Promise<void> {
    const all = [...this.entries.values()];
    this.entries.clear();
    await Promise.all(all.map((e) => e.value.close()));
  }
}
