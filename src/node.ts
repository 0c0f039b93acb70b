/**
 * Wires one roomcast node: config → store → identity → transports →
 * broadcaster. The CLI commands and the service role all start from here.
 */
import { mkdir } from 'node:fs/promises';
import { Broadcaster } from './broadcaster/broadcaster.js';
import type { LoadedConfig } from './config/load.js';
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
    const reject = createRejectSink(log, metrics);
    const transports = createTransports(config.transports, {
      identity,
      log,
      reject,
      cursors: store,
      maxMessageBytes: config.limits.maxMessageBytes,
    });
    const broadcaster = new Broadcaster({
      identity,
      transports,
      store,
      log,
      metrics,
      reject,
      limits: { maxBytes: config.limits.maxMessageBytes, maxContentChars: config.limits.maxContentChars },
      maxConcurrentSends: config.limits.maxConcurrentSends,
    });
    return {
      identity,
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
