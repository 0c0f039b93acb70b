/**
 * Config errors say where the bad value came from (file and key, environment
 * variable, or flag), in one line; an empty endpoint list never turns a
 * network off silently; logFormat and store.url are validated at the edge.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/load.js';
import type { ConfigOverrides } from '../../src/config/load.js';
import { ConfigSchema } from '../../src/config/schema.js';

async function tmp(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'rc-cfg-h-'));
}

function errorOf(env: Record<string, string>, overrides: ConfigOverrides, cwd: string): ConfigError {
  try {
    loadConfig(env, overrides, cwd);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('config errors name where the value came from', () => {
  it('the file and key', async () => {
    const cwd = await tmp();
    await writeFile(join(cwd, 'c.yaml'), 'transports:\n  mqtt:\n    brokers: ["http://x"]\n');
    const e = errorOf({ ROOMCAST_CONFIG: 'c.yaml' }, {}, cwd);
    expect(e.message).toBe(`invalid configuration: transports.mqtt.brokers.0 (in ${join(cwd, 'c.yaml')}): has scheme "http:"; expected mqtt:, mqtts:, ws: or wss:`);
  });

  it('the environment variable, even when a file is read too', async () => {
    const cwd = await tmp();
    await writeFile(join(cwd, 'c.yaml'), 'logLevel: debug\n');
    const e = errorOf({ ROOMCAST_CONFIG: 'c.yaml', ROOMCAST_MQTT_BROKERS: 'mqtt://ok:1,http://bad' }, {}, cwd);
    expect(e.message).toMatch(/^invalid configuration: transports\.mqtt\.brokers\.1 \(environment variable ROOMCAST_MQTT_BROKERS\): has scheme "http:"/);
    expect(errorOf({ ROOMCAST_LOG_LEVEL: 'loud' }, {}, cwd).message).toMatch(/logLevel \(environment variable ROOMCAST_LOG_LEVEL\)/);
    expect(errorOf({ ROOMCAST_LOG_FORMAT: 'xml' }, {}, cwd).message).toMatch(/logFormat \(environment variable ROOMCAST_LOG_FORMAT\)/);
  });

  it('the flag', async () => {
    const cwd = await tmp();
    expect(errorOf({}, { mqttBrokers: ['http://x'] }, cwd).message).toMatch(/transports\.mqtt\.brokers\.0 \(flag --mqtt\)/);
    expect(errorOf({}, { nostrRelays: ['mqtt://x'] }, cwd).message).toMatch(/transports\.nostr\.relays\.0 \(flag --nostr\)/);
    expect(errorOf({ ROOMCAST_LOG_LEVEL: 'info' }, { logLevel: 'loud' }, cwd).message).toMatch(/logLevel \(flag --log-level\)/);
    expect(errorOf({}, { logFormat: 'xml' }, cwd).message).toMatch(/logFormat \(flag --log-format\)/);
  });

  it('is one line, counting what it leaves out, and never repeats a store URL (it may hold a token)', async () => {
    const cwd = await tmp();
    await writeFile(join(cwd, 'c.yaml'), 'logLevel: a\nlogFormat: b\ndataDir: ""\nlimits:\n  maxMessageBytes: 1\n');
    const many = errorOf({ ROOMCAST_CONFIG: 'c.yaml' }, {}, cwd);
    expect(many.message).not.toContain('\n');
    expect(many.message).toMatch(/\(and 1 more\)$/);
    const secretUrl = 'postgres://user:pa55word@db.example/x?authToken=tok3n';
    const e = errorOf({ ROOMCAST_STORE_URL: secretUrl }, {}, cwd);
    expect(e.message).toMatch(/store\.url \(environment variable ROOMCAST_STORE_URL\): has scheme "postgres:"/);
    expect(e.message).not.toMatch(/pa55word|tok3n|db\.example/);
  });
});

describe('endpoint lists', () => {
  it('an empty ROOMCAST_NOSTR_RELAYS (or MQTT_BROKERS) is refused, not read as "Nostr off"', async () => {
    const cwd = await tmp();
    for (const value of ['', ' , ']) {
      const e = errorOf({ ROOMCAST_NOSTR_RELAYS: value }, {}, cwd);
      expect(e.message).toMatch(/^environment variable ROOMCAST_NOSTR_RELAYS is set but names no relay: unset it .*transports\.nostr\.enabled: false/);
    }
    expect(errorOf({ ROOMCAST_MQTT_BROKERS: '' }, {}, cwd).message).toMatch(/ROOMCAST_MQTT_BROKERS is set but names no broker/);
  });

  it('an enabled network with an empty list in the file is refused; enabled: false turns it off on purpose', async () => {
    const cwd = await tmp();
    await writeFile(join(cwd, 'empty.yaml'), 'transports:\n  nostr:\n    relays: []\n');
    expect(errorOf({ ROOMCAST_CONFIG: 'empty.yaml' }, {}, cwd).message).toMatch(/transports\.nostr\.relays \(in .*empty\.yaml\): names no relay while Nostr is enabled/);
    await writeFile(join(cwd, 'off.yaml'), 'transports:\n  nostr:\n    enabled: false\n    relays: []\n');
    expect(loadConfig({ ROOMCAST_CONFIG: 'off.yaml' }, {}, cwd).config.transports.nostr.enabled).toBe(false);
    // Naming only --mqtt still turns Nostr off for the run, as documented.
    expect(loadConfig({}, { mqttBrokers: ['mqtt://a:1'] }, cwd).config.transports.nostr.enabled).toBe(false);
  });
});

describe('logFormat and store.url', () => {
  it('logFormat: auto by default, from the file, the environment, then the flag', async () => {
    const cwd = await tmp();
    expect(ConfigSchema.parse({}).logFormat).toBe('auto');
    await writeFile(join(cwd, 'c.yaml'), 'logFormat: json\n');
    expect(loadConfig({ ROOMCAST_CONFIG: 'c.yaml' }, {}, cwd).config.logFormat).toBe('json');
    expect(loadConfig({ ROOMCAST_CONFIG: 'c.yaml', ROOMCAST_LOG_FORMAT: 'pretty' }, {}, cwd).config.logFormat).toBe('pretty');
    expect(loadConfig({ ROOMCAST_LOG_FORMAT: 'pretty' }, { logFormat: 'json' }, cwd).config.logFormat).toBe('json');
  });

  it('store.url accepts what libsql opens and refuses the rest before anything is opened', () => {
    for (const url of [':memory:', 'file:./x.db', 'libsql://db.example', 'https://db.example', 'wss://db.example']) {
      expect(ConfigSchema.safeParse({ store: { url } }).success, url).toBe(true);
    }
    for (const url of ['foo', 'postgres://x/y', 'file:']) expect(ConfigSchema.safeParse({ store: { url } }).success, url).toBe(false);
  });

  it('chat and send ask for a transient MQTT session; nothing else changes it', async () => {
    const cwd = await tmp();
    expect(loadConfig({}, {}, cwd).config.transports.mqtt.session).toBeUndefined();
    expect(loadConfig({}, { mqttSession: 'transient' }, cwd).config.transports.mqtt.session).toBe('transient');
  });
});
