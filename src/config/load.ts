/**
 * Loads the configuration once: built-in defaults ← the config file ←
 * environment variables ← command-line overrides. Errors name the key and the
 * file; secret values never appear in them.
 */
import { readFileSync } from 'node:fs';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { ConfigSchema } from './schema.js';
import type { Config } from './schema.js';

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** Overrides from the command line, applied last. */
export interface ConfigOverrides {
  mqttBrokers?: string[];
  nostrRelays?: string[];
  /** With endpoint flags: keep XMTP on (it has no endpoints to name). */
  xmtp?: boolean;
  dataDir?: string;
  logLevel?: string;
}

/** A loaded config plus the derived paths every role needs. */
export interface LoadedConfig {
  readonly config: Config;
  /** The file that was read, if any. */
  readonly source?: string;
  readonly dataDir: string;
  readonly identityFile: string;
  readonly storeUrl: string;
}

type Env = Readonly<Record<string, string | undefined>>;

/** The file read when ROOMCAST_CONFIG is not set and it exists in the working directory. */
export const LOCAL_CONFIG_FILE = 'roomcast.yaml';

export function loadConfig(env: Env = process.env, overrides: ConfigOverrides = {}, cwd = process.cwd()): LoadedConfig {
  const path = env.ROOMCAST_CONFIG ? resolve(cwd, env.ROOMCAST_CONFIG) : existsSync(join(cwd, LOCAL_CONFIG_FILE)) ? join(cwd, LOCAL_CONFIG_FILE) : undefined;
  const raw = path ? readConfigFile(path) : {};
  applyEnv(raw, env);
  applyOverrides(raw, overrides);
  const parsed = ConfigSchema.safeParse(raw);
  if (!parsed.success) {
    const where = path ? ` in ${path}` : '';
    const lines = parsed.error.issues.slice(0, 5).map((i) => `  ${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new ConfigError(`invalid configuration${where}:\n${lines.join('\n')}`);
  }
  const config = parsed.data;
  const dataDir = resolve(cwd, config.dataDir);
  // The XMTP databases belong with the rest of the node's state unless placed elsewhere on purpose.
  const xmtpRaw = (raw.transports as Record<string, Record<string, unknown> | undefined> | undefined)?.xmtp;
  config.transports.xmtp.dbDir = xmtpRaw?.dbDir === undefined ? join(dataDir, 'xmtp') : resolve(cwd, config.transports.xmtp.dbDir);
  return {
    config,
    ...(path ? { source: path } : {}),
    dataDir,
    identityFile: config.identityFile ? resolve(cwd, config.identityFile) : join(dataDir, 'identity.json'),
    storeUrl: config.store.url ?? `file:${join(dataDir, 'roomcast.db')}`,
  };
}

/** Parses one config file (YAML or JSON) to a plain object; errors name the file. */
export function readConfigFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read config file ${path}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  let value: unknown;
  try {
    value = parseYaml(text);
  } catch (err) {
    throw new ConfigError(`config file ${path} is not valid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  if (value === null || value === undefined) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw new ConfigError(`config file ${path} must hold a mapping at the top level`);
  return value as Record<string, unknown>;
}

function section(obj: Record<string, unknown>, ...keys: string[]): Record<string, unknown> {
  let cur = obj;
  for (const k of keys) {
    const next = cur[k];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) cur[k] = {};
    cur = cur[k] as Record<string, unknown>;
  }
  return cur;
}

function list(value: string): string[] {
  return value.split(',').map((s) => s.trim()).filter(Boolean);
}

/** Secret from VAR or from the file named by VAR_FILE. */
function secret(env: Env, name: string): string | undefined {
  if (env[name]) return env[name];
  const file = env[`${name}_FILE`];
  if (!file) return undefined;
  try {
    return readFileSync(file, 'utf8').trim();
  } catch (err) {
    throw new ConfigError(`cannot read ${name}_FILE (${file}): ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
  }
}

function applyEnv(raw: Record<string, unknown>, env: Env): void {
  if (env.ROOMCAST_DATA_DIR) raw.dataDir = env.ROOMCAST_DATA_DIR;
  if (env.ROOMCAST_LOG_LEVEL) raw.logLevel = env.ROOMCAST_LOG_LEVEL;
  if (env.ROOMCAST_IDENTITY_FILE) raw.identityFile = env.ROOMCAST_IDENTITY_FILE;
  if (env.ROOMCAST_STORE_URL) section(raw, 'store').url = env.ROOMCAST_STORE_URL;
  const redisUrl = secret(env, 'REDIS_URL');
  if (redisUrl) section(raw, 'queue').redisUrl = redisUrl;
  const token = secret(env, 'ROOMCAST_STORE_AUTH_TOKEN');
  if (token) section(raw, 'store').authToken = token;
  if (env.ROOMCAST_MQTT_BROKERS !== undefined) section(raw, 'transports', 'mqtt').brokers = list(env.ROOMCAST_MQTT_BROKERS);
  if (env.ROOMCAST_NOSTR_RELAYS !== undefined) section(raw, 'transports', 'nostr').relays = list(env.ROOMCAST_NOSTR_RELAYS);
}

function applyOverrides(raw: Record<string, unknown>, o: ConfigOverrides): void {
  if (o.dataDir) raw.dataDir = o.dataDir;
  if (o.logLevel) raw.logLevel = o.logLevel;
  // Endpoints named on the command line replace the configured ones; naming
  // only one network's endpoints turns the other network off, so
  // `--mqtt URL` alone does not also dial the default public relays.
  if (o.mqttBrokers || o.nostrRelays) {
    const mqtt = section(raw, 'transports', 'mqtt');
    const nostr = section(raw, 'transports', 'nostr');
    mqtt.brokers = o.mqttBrokers ?? [];
    nostr.relays = o.nostrRelays ?? [];
    mqtt.enabled = (o.mqttBrokers?.length ?? 0) > 0;
    nostr.enabled = (o.nostrRelays?.length ?? 0) > 0;
    section(raw, 'transports', 'xmtp').enabled = o.xmtp === true;
  } else if (o.xmtp !== undefined) {
    section(raw, 'transports', 'xmtp').enabled = o.xmtp;
  }
}
