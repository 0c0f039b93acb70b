import { loadConfig } from '../config/load.js';
import type { LoadedConfig } from '../config/load.js';

/** Options shared by every command that opens a node. */
export interface NodeCliOptions {
  mqtt?: string[];
  nostr?: string[];
  xmtp?: boolean;
  dataDir?: string;
  logLevel?: string;
}

/**
 * The config for a CLI command. Interactive commands log only warnings unless
 * asked otherwise, so the terminal shows the conversation, not the plumbing.
 */
export function cliConfig(o: NodeCliOptions, quietByDefault: boolean): LoadedConfig {
  const logLevel = o.logLevel ?? (quietByDefault && !process.env.ROOMCAST_LOG_LEVEL ? 'warn' : undefined);
  return loadConfig(process.env, {
    ...(o.mqtt ? { mqttBrokers: o.mqtt } : {}),
    ...(o.nostr ? { nostrRelays: o.nostr } : {}),
    ...(o.xmtp !== undefined ? { xmtp: o.xmtp } : {}),
    ...(o.dataDir ? { dataDir: o.dataDir } : {}),
    ...(logLevel ? { logLevel } : {}),
  });
}

/** Resolves on SIGINT or SIGTERM. */
export function untilSignal(): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      process.off('SIGINT', done);
      process.off('SIGTERM', done);
      resolve();
    };
    process.once('SIGINT', done);
    process.once('SIGTERM', done);
  });
}
