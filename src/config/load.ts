/**
 * Loads the configuration once: built-in defaults ← the config file ←
 * environment variables ← command-line overrides. An error names the key and
 * where its value came from (the file, the environment variable or the flag),
 * on one line; secret values never appear in it.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { PLATFORM_ENV } from '../platforms/registry.js';
import type { PlatformEnv } from '../platforms/registry.js';
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
  logFormat?: string;
  /**
   * `transient`: this process holds a clean MQTT session under a client id of
   * its own instead of the identity's persistent one (chat, send), so it can
   * run beside a listener of the same identity. Not a flag: set by commands.
   */
  mqttSession?: 'persistent' | 'transient';
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

/** Dotted key → where its value came from ("environment variable X", "flag --x"). */
type Origins = Map<string, string>;

/** The file read when ROOMCAST_CONFIG is not set and it exists in the working directory. */
export const LOCAL_CONFIG_FILE = 'roomcast.yaml';

/** Issues named in one error message; the rest are counted. */
const MAX_ISSUES_SHOWN = 3;

export function loadConfig(env: Env = process.env, overrides: ConfigOverrides = {}, cwd = process.cwd()): LoadedConfig {
  const path = env.ROOMCAST_CONFIG ? resolve(cwd, env.ROOMCAST_CONFIG) : existsSync(join(cwd, LOCAL_CONFIG_FILE)) ? join(cwd, LOCAL_CONFIG_FILE) : undefined;
  const raw = path ? readConfigFile(path) : {};
  const origins: Origins = new Map();
  applyEnv(raw, env, origins);
  applyOverrides(raw, overrides, origins);
  const parsed = ConfigSchema.safeParse(raw);
  if (!parsed.success) throw new ConfigError(describeIssues(parsed.error.issues, origins, path));
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

/**
 * One line: each issue as "<key> (<where it came from>): <problem>". Where:
 * the environment variable or flag that set the key (or a key above it),
 * else the config file, else the built-in defaults.
 */
function describeIssues(issues: ReadonlyArray<z.ZodError['issues'][number]>, origins: Origins, file: string | undefined): string {
  const shown = issues.slice(0, MAX_ISSUES_SHOWN).map((i) => {
    const key = i.path.map(String).join('.') || '(top level)';
    const from = originOf(key, origins) ?? (file ? `in ${file}` : 'built-in default');
    return `${key} (${from}): ${i.message}`;
  });
  const more = issues.length > MAX_ISSUES_SHOWN ? ` (and ${issues.length - MAX_ISSUES_SHOWN} more)` : '';
  return `invalid configuration: ${shown.join('; ')}${more}`;
}

function originOf(key: string, origins: Origins): string | undefined {
  let best: string | undefined;
  let bestLength = -1;
  for (const [prefix, origin] of origins) {
    if ((key === prefix || key.startsWith(`${prefix}.`)) && prefix.length > bestLength) {
      best = origin;
      bestLength = prefix.length;
    }
  }
  return best;
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

/** Secret from VAR or from the file named by VAR_FILE; returns which of the two it came from. */
function secret(env: Env, name: string): { value: string; from: string } | undefined {
  if (env[name]) return { value: env[name], from: `environment variable ${name}` };
  const file = env[`${name}_FILE`];
  if (!file) return undefined;
  try {
    return { value: readFileSync(file, 'utf8').trim(), from: `file ${file} named by ${name}_FILE` };
  } catch (err) {
    throw new ConfigError(`cannot read ${name}_FILE (${file}): ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
  }
}

/**
 * An endpoint list from the environment. Set but empty (or only commas) is
 * refused rather than read as "no endpoints", which would turn the network
 * off without a word.
 */
function endpointList(env: Env, name: string, what: string, key: string): string[] | undefined {
  const value = env[name];
  if (value === undefined) return undefined;
  const items = list(value);
  if (items.length === 0) {
    throw new ConfigError(
      `environment variable ${name} is set but names no ${what}: unset it to use the configured ${what}s, or set ${key}.enabled: false in the config file to turn this network off`,
    );
  }
  return items;
}

function applyEnv(raw: Record<string, unknown>, env: Env, origins: Origins): void {
  const set = (name: string, key: string, apply: (v: string) => void) => {
    const v = env[name];
    if (!v) return;
    apply(v);
    origins.set(key, `environment variable ${name}`);
  };
  set('ROOMCAST_DATA_DIR', 'dataDir', (v) => (raw.dataDir = v));
  set('ROOMCAST_LOG_LEVEL', 'logLevel', (v) => (raw.logLevel = v));
  set('ROOMCAST_LOG_FORMAT', 'logFormat', (v) => (raw.logFormat = v));
  set('ROOMCAST_IDENTITY_FILE', 'identityFile', (v) => (raw.identityFile = v));
  set('ROOMCAST_STORE_URL', 'store.url', (v) => (section(raw, 'store').url = v));
  applySecret(raw, env, origins, ['queue'], 'redisUrl', 'REDIS_URL', false);
  applySecret(raw, env, origins, ['store'], 'authToken', 'ROOMCAST_STORE_AUTH_TOKEN', false);
  const brokers = endpointList(env, 'ROOMCAST_MQTT_BROKERS', 'broker', 'transports.mqtt');
  if (brokers) {
    section(raw, 'transports', 'mqtt').brokers = brokers;
    origins.set('transports.mqtt.brokers', 'environment variable ROOMCAST_MQTT_BROKERS');
  }
  for (const { section: name, env: vars } of PLATFORM_ENV) applyPlatformEnv(raw, env, origins, name, vars);
  set('ROOMCAST_HTTP_HOST', 'http.host', (v) => (section(raw, 'http').host = v));
  set('ROOMCAST_HTTP_PORT', 'http.port', (v) => (section(raw, 'http').port = /^\d+$/.test(v) ? Number(v) : v));
  applySecret(raw, env, origins, ['http'], 'token', 'ROOMCAST_HTTP_TOKEN', true);
  const relays = endpointList(env, 'ROOMCAST_NOSTR_RELAYS', 'relay', 'transports.nostr');
  if (relays) {
    section(raw, 'transports', 'nostr').relays = relays;
    origins.set('transports.nostr.relays', 'environment variable ROOMCAST_NOSTR_RELAYS');
  }
}

/**
 * Sets `<path>.<key>` from the secret VAR (or the file VAR_FILE names). With
 * `refusedInFile`, a value written in the config file is an error: secrets
 * would end up in backups and repositories.
 */
function applySecret(raw: Record<string, unknown>, env: Env, origins: Origins, path: readonly string[], key: string, variable: string, refusedInFile: boolean): void {
  const dotted = [...path, key].join('.');
  if (refusedInFile) {
    let written: unknown = raw;
    for (const p of path) written = (written as Record<string, unknown> | undefined)?.[p];
    if (typeof written === 'object' && written !== null && key in written) {
      throw new ConfigError(`${dotted} must not be written in the config file (it is a secret): set ${variable} or ${variable}_FILE instead`);
    }
  }
  const s = secret(env, variable);
  if (!s) return;
  section(raw, ...path)[key] = s.value;
  origins.set(dotted, s.from);
}

/**
 * A platform's environment variables (declared in its registry entry):
 * settings, secrets (refused in the file), and the platform switched on when
 * everything it needs is given and the file does not say `enabled: false`.
 */
function applyPlatformEnv(raw: Record<string, unknown>, env: Env, origins: Origins, name: string, vars: PlatformEnv): void {
  const target = () => section(raw, 'platforms', name);
  for (const [key, variable] of Object.entries(vars.settings ?? {})) {
    const v = env[variable];
    if (!v) continue;
    target()[key] = v;
    origins.set(`platforms.${name}.${key}`, `environment variable ${variable}`);
  }
  for (const [key, variable] of Object.entries(vars.secrets ?? {})) applySecret(raw, env, origins, ['platforms', name], key, variable, true);
  const current = (raw.platforms as Record<string, Record<string, unknown> | undefined> | undefined)?.[name];
  if (vars.enabledBy && current && current.enabled === undefined && vars.enabledBy.every((k) => current[k] !== undefined && current[k] !== '')) {
    current.enabled = true;
    origins.set(`platforms.${name}.enabled`, `environment variables ${Object.values({ ...vars.settings, ...vars.secrets }).join(', ')}`);
  }
}

function applyOverrides(raw: Record<string, unknown>, o: ConfigOverrides, origins: Origins): void {
  if (o.dataDir) {
    raw.dataDir = o.dataDir;
    origins.set('dataDir', 'flag --data-dir');
  }
  if (o.logLevel) {
    raw.logLevel = o.logLevel;
    origins.set('logLevel', 'flag --log-level');
  }
  if (o.logFormat) {
    raw.logFormat = o.logFormat;
    origins.set('logFormat', 'flag --log-format');
  }
  if (o.mqttSession) section(raw, 'transports', 'mqtt').session = o.mqttSession;
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
    const flags = o.mqttBrokers && o.nostrRelays ? 'flags --mqtt/--nostr' : o.mqttBrokers ? 'flag --mqtt' : 'flag --nostr';
    origins.set('transports.mqtt.enabled', flags);
    origins.set('transports.nostr.enabled', flags);
    origins.set('transports.mqtt.brokers', o.mqttBrokers ? 'flag --mqtt' : flags);
    origins.set('transports.nostr.relays', o.nostrRelays ? 'flag --nostr' : flags);
    origins.set('transports.xmtp.enabled', o.xmtp ? 'flag --xmtp' : flags);
  } else if (o.xmtp !== undefined) {
    section(raw, 'transports', 'xmtp').enabled = o.xmtp;
    origins.set('transports.xmtp.enabled', 'flag --xmtp');
  }
}
