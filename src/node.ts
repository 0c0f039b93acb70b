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
import { loadIdentity, loadOrCreateIdentity } from './identity/key-file.js';
import { encodeMagnet } from './identity/magnet.js';
import { createLogger } from './observability/logger.js';
import type { Logger } from './observability/logger.js';
import { createMetrics } from './observability/metrics.js';
import type { Metrics } from './observability/metrics.js';
import { createRejectSink } from './observability/rejections.js';
import { openStore } from './store/index.js';
import type { Store } from './store/store.js';
import { createTransports } from './transports/registry.js';

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
  /** Create the identity file when it does not exist (service role). */
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
}

/**
 * A broadcaster (and its transports) for one identity. `listen` false builds
 * send-only transports, for a process that sends for an identity another
 * process listens for.
 */
export function buildBroadcaster(identity: Identity, d: BroadcasterDeps, listen: boolean): Broadcaster {
  const { config } = d;
  const transports = createTransports(config.transports, {
    identity,
    log: d.log,
    reject: d.reject,
    cursors: d.store,
    maxMessageBytes: config.limits.maxMessageBytes,
    listen,
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
  });
}

export async function openNode(loaded: LoadedConfig, opts: NodeOptions = {}): Promise<Node> {
  const { config } = loaded;
  const log = opts.log ?? createLogger(config.logLevel);
  const metrics = createMetrics();
  // The data dir holds the default database and the service key: create it
  // private. (A libsql server URL needs no local file; the dir is still where
  // the identity lives.)
  await mkdir(loaded.dataDir, { recursive: true, mode: 0o700 });
  const file = opts.identityFile ?? loaded.identityFile;
  const identity = opts.createIdentity ? (await loadOrCreateIdentity(file, generateIdentity)).identity : await loadIdentity(file);
  const store = await openStore({ url: loaded.storeUrl, ...(config.store.authToken ? { authToken: config.store.authToken } : {}) });
  try {
    await store.upsertIdentity({ owner: identity.xOnly, magnetLink: encodeMagnet(identity) });
    const shared: BroadcasterDeps = { config, store, log, metrics, reject: createRejectSink(log, metrics) };
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
        await store.close();
      },
    };
  } catch (err) {
    await store.close();
    throw err;
  }
}
