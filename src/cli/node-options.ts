import { loadConfig } from '../config/load.js';
import type { LoadedConfig } from '../config/load.js';

/** Options shared by every command that opens a node. */
export interface NodeCliOptions {
  mqtt?: string[];
  nostr?: string[];
  xmtp?: boolean;
  dataDir?: string;
  logLevel?: string;
  logFormat?: string;
}

export interface CliConfigOptions {
  /** Log only warnings unless asked otherwise, so the terminal shows the conversation, not the plumbing. */
  readonly quiet: boolean;
  /**
   * Hold a transient MQTT session (a client id of this process, clean
   * session) instead of the identity's persistent one: for commands that run
   * beside a `listen` or the service of the same identity (chat, send)
   * without knocking it off the broker.
   */
  readonly transientSession?: boolean;
}

/** The config for a CLI command: environment and config file, then its flags. */
export function cliConfig(o: NodeCliOptions, opts: CliConfigOptions): LoadedConfig {
  const logLevel = o.logLevel ?? (opts.quiet && !process.env.ROOMCAST_LOG_LEVEL ? 'warn' : undefined);
  return loadConfig(process.env, {
    ...(o.mqtt ? { mqttBrokers: o.mqtt } : {}),
    ...(o.nostr ? { nostrRelays: o.nostr } : {}),
    ...(o.xmtp !== undefined ? { xmtp: o.xmtp } : {}),
    ...(o.dataDir ? { dataDir: o.dataDir } : {}),
    ...(logLevel ? { logLevel } : {}),
    ...(o.logFormat ? { logFormat: o.logFormat } : {}),
    ...(opts.transientSession ? { mqttSession: 'transient' as const } : {}),
  });
}

/**
 * Resolves on SIGINT or SIGTERM. Call it before saying "ready": until a
 * listener is added, Node leaves the signals' default action (exit at once).
 */
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
