/**
 * Wires one roomcast node: config → store → identity → transports →
 * broadcaster. The CLI commands and the service role all start from here.
 */
import { mkdir } from 'node:fs/promises';
import { Broadcaster } from './broadcaster/broadcaster.js';
import type { LoadedConfig } from './config/load.js';
import type { Config } from './config/schema.js';
import type { RejectSink } from './transports/transport.js';
import { generateIdentity } from './identity/keys.js';
import type { Identity } from './identity/keys.js';
import { KeyFileError, keyFileExists, loadIdentity, saveIdentity } from './identity/key-file.js';
import { SealError, sealingKey, unsealIdentity } from './bridge/room-keys.js';
import { encodeMagnet } from './identity/magnet.js';
import { createLogger } from './observability/logger.js';
import type { Logger } from './observability/logger.js';
import { createMetrics } from './observability/metrics.js';
import type { Metrics } from './observability/metrics.js';
import { createRejectSink } from './observability/rejections.js';
import { openStore } from './store/index.js';
import type { Store } from './store/store.js';
import { ConnectionPool } from './transports/connection-pool.js';
import type { BroadcasterExtras } from './bridge/room-broadcasters.js';
import { createTransports, NETWORK_LABELS } from './transports/registry.js';

export interface Node {
  readonly identity: Identity;
  /** What further broadcasters of this process (one per bridged room) share. */
  readonly deps: BroadcasterDeps;
  readonly store: Store;
  readonly broadcaster: Broadcaster;
  readonly log: Logger;
  readonly metrics: Metrics;
  /** Stops the broadcaster (after pending acks) and closes the store. */
  close(): Promise<void>;
}

export interface NodeOptions {
  /** Key file to use; when absent the config's identity file, created on first use. */
  identityFile?: string;
  /**
   * Service role: create the identity file when it does not exist, unless the
   * store holds rooms sealed with another identity (then refuse, as when the
   * existing file cannot unseal them).
   */
  createIdentity?: boolean;
  log?: Logger;
}

/** What every broadcaster of one process shares: one store, one log, one metrics registry, one reject sink. */
export interface BroadcasterDeps {
  readonly config: Config;
  readonly store: Store;
  readonly log: Logger;
  readonly metrics: Metrics;
  readonly reject: RejectSink;
  /** The process's connections, one per endpoint, shared by every identity it serves. */
  readonly pool: ConnectionPool;
}

/**
 * A broadcaster (and its transports) for one identity. `listen` false builds
 * send-only transports, for a process that sends for an identity another
 * process listens for. `extras`: where a send-only one hands sends on
 * listener-only networks, and whom a room talks to (its contacts).
 */
export function buildBroadcaster(identity: Identity, d: BroadcasterDeps, listen: boolean, extras: BroadcasterExtras = {}): Broadcaster {
  const { config } = d;
  const transports = createTransports(config.transports, {
    identity,
    log: d.log,
    reject: d.reject,
    cursors: d.store,
    maxMessageBytes: config.limits.maxMessageBytes,
    listen,
    pool: d.pool,
    ...(extras.handOff ? { handOff: extras.handOff } : {}),
    ...(extras.peers ? { peers: extras.peers } : {}),
  });
  return new Broadcaster({
    identity,
    transports,
    store: d.store,
    log: d.log,
    metrics: d.metrics,
    reject: d.reject,
    limits: { maxBytes: config.limits.maxMessageBytes, maxContentChars: config.limits.maxContentChars },
    maxConcurrentSends: config.limits.maxConcurrentSends,
    perSender: config.limits.perSender,
    networks: NETWORK_LABELS,
  });
}

/** The store could not be opened (unreachable server, unwritable file…); the message names it without credentials. */
export class StoreOpenError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'StoreOpenError';
  }
}

export async function openNode(loaded: LoadedConfig, opts: NodeOptions = {}): Promise<Node> {
  const { config } = loaded;
  const log = opts.log ?? createLogger(config.logLevel, 'roomcast', { format: config.logFormat });
  const metrics = createMetrics();
  // The data dir holds the default database and the service key: create it
  // private. (A libsql server URL needs no local file; the dir is still where
  // the identity lives.)
  await mkdir(loaded.dataDir, { recursive: true, mode: 0o700 });
  const file = opts.identityFile ?? loaded.identityFile;
  const onWarning = (message: string) => log.warn({ file }, message);
  // A given key file is read before the store is opened, so a wrong path leaves no database behind;
  // the service identity needs the store first (its rooms decide whether one may be created).
  const given = opts.createIdentity ? undefined : await loadIdentity(file, { onWarning });
  let store: Store;
  try {
    store = await openStore({ url: loaded.storeUrl, ...(config.store.authToken ? { authToken: config.store.authToken } : {}) });
  } catch (err) {
    // openStore's message already names the database without credentials.
    throw new StoreOpenError(err instanceof Error ? err.message : String(err), { cause: err });
  }
  try {
    const identity = given ?? (await serviceIdentity(file, store, loaded.storeUrl, log, onWarning));
    await store.upsertIdentity({ owner: identity.xOnly, magnetLink: encodeMagnet(identity) });
    // The bridged rooms are known now, before any connection opens: a persistent session's
    // messages for them are held until their transports start, not taken for stale ones.
    const rooms = (await store.rooms.listRooms()).filter((r) => r.leftAt === undefined).map((r) => r.owner);
    const pool = new ConnectionPool({ owner: identity, expected: rooms });
    const shared: BroadcasterDeps = { config, store, log, metrics, reject: createRejectSink(log, metrics), pool };
    const broadcaster = buildBroadcaster(identity, shared, true);
    return {
      identity,
      deps: shared,
      store,
      broadcaster,
      log,
      metrics,
      close: async () => {
        await broadcaster.stop();
        await pool.closeAll();
        await store.close();
      },
    };
  } catch (err) {
    await store.close();
    throw err;
  }
}

/**
 * The service identity, created on first start, but never over a store whose
 * bridged rooms were sealed with another one: a new key could not unseal them,
 * and the rooms would fail one by one instead of the start failing once.
 * Likewise an existing key file that cannot unseal the rooms is refused.
 */
async function serviceIdentity(file: string, store: Store, storeUrl: string, log: Logger, onWarning: (m: string) => void): Promise<Identity> {
  const rooms = await store.rooms.listRooms();
  const held = `the store (${storeLabel(storeUrl)}) holds ${rooms.length} bridged room${rooms.length === 1 ? '' : 's'}`;
  if (!(await keyFileExists(file))) {
    if (rooms.length > 0) {
      throw new KeyFileError(
        file,
        `does not exist, but ${held} whose keys were sealed with a service identity; a new identity could not open them, so none is created. ` +
          'Restore the key file they were sealed with here (or point identityFile / ROOMCAST_IDENTITY_FILE at it)',
      );
    }
    const created = generateIdentity();
    await saveIdentity(file, created);
    log.info({ file }, 'created the service identity');
    return created;
  }
  const identity = await loadIdentity(file, { onWarning });
  const first = rooms[0];
  if (first) {
    try {
      unsealIdentity(first.sealedKey, sealingKey(identity), first.owner);
    } catch (err) {
      if (!(err instanceof SealError)) throw err;
      throw new KeyFileError(
        file,
        `is not the service identity ${held} were sealed with (${err.message}); use the key file they were created with, or another data dir and store`,
      );
    }
  }
  return identity;
}

/** The store's URL without anything secret: a file path as is, a server as its origin. */
function storeLabel(url: string): string {
  if (url === ':memory:' || url.startsWith('file:')) return url;
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}`;
  } catch {
    return '(store URL)';
  }
}
