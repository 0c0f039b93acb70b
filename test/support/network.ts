/**
 * A whole local network for integration tests: real Mosquitto brokers and
 * real in-process Nostr relays, and roomcast nodes wired exactly as the
 * service wires them (config file → openNode).
 */
import { mkdtemp } from 'node:fs/promises';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { loadConfig } from '../../src/config/load.js';
import { generateIdentity } from '../../src/identity/keys.js';
import type { Identity } from '../../src/identity/keys.js';
import { saveIdentity } from '../../src/identity/key-file.js';
import { openNode } from '../../src/node.js';
import type { Node } from '../../src/node.js';
import { silentLogger } from '../../src/observability/logger.js';
import type { Logger } from '../../src/observability/logger.js';
import { startMosquittos } from './mosquitto.js';
import type { MosquittoBroker } from './mosquitto.js';
import { startRelays } from './nostr-relay.js';
import type { TestRelay } from './nostr-relay.js';

export interface TestNetwork {
  readonly brokers: MosquittoBroker[];
  readonly relays: TestRelay[];
  stop(): Promise<void>;
}

export async function startNetwork(brokers = 3, relays = 3): Promise<TestNetwork> {
  const [b, r] = await Promise.all([startMosquittos(brokers), startRelays(relays)]);
  return {
    brokers: b,
    relays: r,
    stop: async () => {
      await Promise.all([...b.map((x) => x.stop()), ...r.map((x) => x.stop())]);
    },
  };
}

export interface TestNode extends Node {
  readonly dir: string;
  readonly identityFile: string;
  readonly configFile: string;
}

export interface TestNodeOptions {
  identity?: Identity;
  /** Reuse a data dir (a restarted node). */
  dir?: string;
  acceptUnsigned?: boolean;
  maxMessageBytes?: number;
  /** limits.perSender of the node's config. */
  perSender?: { burst: number; refillPerSecond: number };
  /** limits.maxConcurrentSends of the node's config. */
  maxConcurrentSends?: number;
  log?: Logger;
}

/** Writes a config file for `net` into a data dir and opens a node from it, as `roomcast start` would. */
/** The endpoints a node is configured with. */
export interface Endpoints {
  readonly brokers: ReadonlyArray<{ readonly url: string }>;
  readonly relays: ReadonlyArray<{ readonly url: string }>;
}

export async function openTestNode(net: Endpoints, o: TestNodeOptions = {}): Promise<TestNode> {
  const dir = o.dir ?? (await mkdtemp(join(tmpdir(), 'rc-node-')));
  const identityFile = join(dir, 'identity.json');
  if (!o.dir || o.identity) await saveIdentity(identityFile, o.identity ?? generateIdentity(), true);
  const configFile = join(dir, 'roomcast.yaml');
  const fast = { connectTimeoutMs: 2000, reconnectMinMs: 100, reconnectMaxMs: 1000 };
  const limits = {
    ...(o.maxMessageBytes ? { maxMessageBytes: o.maxMessageBytes } : {}),
    ...(o.perSender ? { perSender: o.perSender } : {}),
    ...(o.maxConcurrentSends ? { maxConcurrentSends: o.maxConcurrentSends } : {}),
  };
  await writeFile(
    configFile,
    stringify({
      dataDir: dir,
      logLevel: 'silent',
      ...(Object.keys(limits).length > 0 ? { limits } : {}),
      transports: {
        mqtt: { brokers: net.brokers.map((b) => b.url), acceptUnsigned: o.acceptUnsigned ?? false, sendTimeoutMs: 2000, ...fast },
        nostr: { relays: net.relays.map((r) => r.url), publishTimeoutMs: 2000, ...fast },
        // No network here for XMTP; its own suites use an in-memory XMTP network.
        xmtp: { enabled: false },
      },
    }),
  );
  const loaded = loadConfig({ ROOMCAST_CONFIG: configFile }, {}, dir);
  const node = await openNode(loaded, { identityFile, log: o.log ?? silentLogger() });
  return Object.assign(node, { dir, identityFile, configFile });
}
