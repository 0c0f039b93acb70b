import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/load.js';
import { ConfigSchema } from '../../src/config/schema.js';

const defaultYaml = new URL('../../config/default.yaml', import.meta.url).pathname;

async function tmp(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'rc-cfg-'));
}

describe('config', () => {
  it('config/default.yaml is exactly the built-in defaults', () => {
    const fromFile = ConfigSchema.parse(parseYaml(readFileSync(defaultYaml, 'utf8')));
    expect(fromFile).toEqual(ConfigSchema.parse({}));
  });

  it('config/default.yaml names every key of the schema', () => {
    const file = parseYaml(readFileSync(defaultYaml, 'utf8')) as Record<string, Record<string, unknown>>;
    const defaults = ConfigSchema.parse({});
    for (const t of ['mqtt', 'nostr', 'xmtp'] as const) {
      // xmtp.dbDir is documented as a comment: unset, it follows dataDir.
      const documented = Object.keys(file.transports![t] as object).concat(t === 'xmtp' ? ['dbDir'] : []);
      expect(documented.sort()).toEqual(Object.keys(defaults.transports[t]).sort());
    }
    expect(Object.keys(file.limits!).sort()).toEqual(Object.keys(defaults.limits).sort());
  });

  it('uses built-in defaults with no file, deriving paths from the data dir', async () => {
    const cwd = await tmp();
    const c = loadConfig({}, {}, cwd);
    expect(c.source).toBeUndefined();
    expect(c.dataDir).toBe(join(cwd, 'data'));
    expect(c.identityFile).toBe(join(cwd, 'data', 'identity.json'));
    expect(c.storeUrl).toBe(`file:${join(cwd, 'data', 'roomcast.db')}`);
    expect(c.config.transports.xmtp.dbDir).toBe(join(cwd, 'data', 'xmtp'));
    expect(loadConfig({ ROOMCAST_DATA_DIR: '/srv/rc' }, {}, cwd).config.transports.xmtp.dbDir).toBe('/srv/rc/xmtp');
    expect(loadConfig({}, { mqttBrokers: ['mqtt://a:1'] }, cwd).config.transports.xmtp.enabled).toBe(false);
    expect(loadConfig({}, { mqttBrokers: ['mqtt://a:1'], xmtp: true }, cwd).config.transports.xmtp.enabled).toBe(true);
  });

  it('reads ROOMCAST_CONFIG, then lets the environment and flags override it', async () => {
    const cwd = await tmp();
    await writeFile(join(cwd, 'my.yaml'), 'logLevel: debug\ntransports:\n  mqtt:\n    brokers: [mqtt://a:1883]\n');
    const c = loadConfig({ ROOMCAST_CONFIG: 'my.yaml' }, {}, cwd);
    expect(c.source).toBe(join(cwd, 'my.yaml'));
    expect(c.config.logLevel).toBe('debug');
    expect(c.config.transports.mqtt.brokers).toEqual(['mqtt://a:1883']);

    const e = loadConfig(
      { ROOMCAST_CONFIG: 'my.yaml', ROOMCAST_LOG_LEVEL: 'warn', ROOMCAST_DATA_DIR: '/srv/rc', ROOMCAST_MQTT_BROKERS: 'mqtt://b:1,mqtt://c:2', ROOMCAST_NOSTR_RELAYS: 'ws://r:1' },
      {},
      cwd,
    );
    expect(e.config.logLevel).toBe('warn');
    expect(e.dataDir).toBe('/srv/rc');
    expect(e.config.transports.mqtt.brokers).toEqual(['mqtt://b:1', 'mqtt://c:2']);
    expect(e.config.transports.nostr.relays).toEqual(['ws://r:1']);

    const f = loadConfig({ ROOMCAST_CONFIG: 'my.yaml' }, { mqttBrokers: ['mqtt://flag:1883'] }, cwd);
    expect(f.config.transports.mqtt.brokers).toEqual(['mqtt://flag:1883']);
    expect(f.config.transports.nostr.enabled).toBe(false);
  });

  it('reads ./roomcast.yaml when ROOMCAST_CONFIG is not set', async () => {
    const cwd = await tmp();
    await writeFile(join(cwd, 'roomcast.yaml'), 'logLevel: error\n');
    expect(loadConfig({}, {}, cwd).config.logLevel).toBe('error');
  });

  it('takes secrets from the environment or a _FILE, and never prints them', async () => {
    const cwd = await tmp();
    await writeFile(join(cwd, 'token'), 'file-secret\n');
    expect(loadConfig({ ROOMCAST_STORE_AUTH_TOKEN: 'env-secret' }, {}, cwd).config.store.authToken).toBe('env-secret');
    expect(loadConfig({ ROOMCAST_STORE_AUTH_TOKEN_FILE: join(cwd, 'token') }, {}, cwd).config.store.authToken).toBe('file-secret');
    await writeFile(join(cwd, 'bad.yaml'), 'store:\n  authToken: "s3cr3t-value"\n  bogus: 1\n');
    const err = (() => {
      try {
        loadConfig({ ROOMCAST_CONFIG: 'bad.yaml' }, {}, cwd);
      } catch (e) {
        return e as Error;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(ConfigError);
    expect(err!.message).toContain('store');
    expect(err!.message).not.toContain('s3cr3t-value');
  });

  const bad: Array<[string, string, RegExp]> = [
    ['not YAML', 'a: [1,', /not valid YAML/],
    ['a list at the top', '- 1\n', /mapping/],
    ['an unknown key', 'colour: blue\n', /colour|unrecognized/i],
    ['a bad log level', 'logLevel: loud\n', /logLevel/],
    ['a bad broker URL', 'transports:\n  mqtt:\n    brokers: ["http://x"]\n', /transports\.mqtt\.brokers\.0/],
    ['a bad relay URL', 'transports:\n  nostr:\n    relays: ["mqtt://x"]\n', /transports\.nostr\.relays/],
    ['a too small message limit', 'limits:\n  maxMessageBytes: 10\n', /limits\.maxMessageBytes/],
    ['backoff bounds reversed', 'transports:\n  mqtt:\n    reconnectMinMs: 5000\n    reconnectMaxMs: 100\n', /reconnectMinMs/],
  ];
  for (const [what, text, pattern] of bad) {
    it(`rejects ${what}, naming the key and the file`, async () => {
      const cwd = await tmp();
      await writeFile(join(cwd, 'c.yaml'), text);
      expect(() => loadConfig({ ROOMCAST_CONFIG: 'c.yaml' }, {}, cwd)).toThrow(pattern);
      expect(() => loadConfig({ ROOMCAST_CONFIG: 'c.yaml' }, {}, cwd)).toThrow(/c\.yaml/);
    });
  }
});

describe('platform settings from the environment', () => {
  it('turns Matrix on with the homeserver URL and the token, from the environment or a file', async () => {
    const cwd = await tmp();
    const off = loadConfig({}, {}, cwd).config.platforms.matrix;
    expect(off.enabled).toBe(false);
    const on = loadConfig({ ROOMCAST_MATRIX_HOMESERVER_URL: 'https://hs.example', ROOMCAST_MATRIX_ACCESS_TOKEN: 'syt_abc' }, {}, cwd).config.platforms.matrix;
    expect(on).toMatchObject({ enabled: true, homeserverUrl: 'https://hs.example', accessToken: 'syt_abc', autoJoin: 'everyone', moderatorPowerLevel: 50 });
    await writeFile(join(cwd, 'token'), 'syt_from_file\n');
    await writeFile(join(cwd, 'roomcast.yaml'), 'platforms:\n  matrix:\n    homeserverUrl: https://file.example\n    autoJoin: ["@alice:example.org", example.net]\n');
    const fromFile = loadConfig({ ROOMCAST_MATRIX_ACCESS_TOKEN_FILE: join(cwd, 'token') }, {}, cwd).config.platforms.matrix;
    expect(fromFile).toMatchObject({ enabled: true, homeserverUrl: 'https://file.example', accessToken: 'syt_from_file', autoJoin: ['@alice:example.org', 'example.net'] });
  });

  it('keeps Matrix off when the file says so, and refuses a token written in the file without showing it', async () => {
    const cwd = await tmp();
    await writeFile(join(cwd, 'roomcast.yaml'), 'platforms:\n  matrix:\n    enabled: false\n');
    expect(loadConfig({ ROOMCAST_MATRIX_HOMESERVER_URL: 'https://hs.example', ROOMCAST_MATRIX_ACCESS_TOKEN: 'x' }, {}, cwd).config.platforms.matrix.enabled).toBe(false);
    await writeFile(join(cwd, 'roomcast.yaml'), 'platforms:\n  matrix:\n    accessToken: syt_leaked\n');
    let err: unknown;
    try {
      loadConfig({}, {}, cwd);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toContain('platforms.matrix.accessToken must not be written in the config file');
    expect((err as Error).message).toContain('ROOMCAST_MATRIX_ACCESS_TOKEN');
    expect((err as Error).message).not.toContain('syt_leaked');
  });

  it('names what is missing when Matrix is on without a URL or token, and checks autoJoin entries', async () => {
    const other = await tmp();
    const cwd = await tmp();
    await writeFile(join(cwd, 'roomcast.yaml'), 'platforms:\n  matrix:\n    enabled: true\n');
    expect(() => loadConfig({}, {}, cwd)).toThrow(/platforms\.matrix\.homeserverUrl .*ROOMCAST_MATRIX_HOMESERVER_URL/);
    expect(() => loadConfig({ ROOMCAST_MATRIX_HOMESERVER_URL: 'https://hs.example' }, {}, cwd)).toThrow(/platforms\.matrix\.accessToken .*ROOMCAST_MATRIX_ACCESS_TOKEN/);
    await writeFile(join(cwd, 'roomcast.yaml'), 'platforms:\n  matrix:\n    autoJoin: ["not an id"]\n');
    expect(() => loadConfig({}, {}, cwd)).toThrow(/platforms\.matrix\.autoJoin\.0 .*user id/);
    expect(() => loadConfig({ ROOMCAST_MATRIX_HOMESERVER_URL: 'ftp://hs', ROOMCAST_MATRIX_ACCESS_TOKEN: 'x' }, {}, other)).toThrow(/homeserverUrl \(environment variable ROOMCAST_MATRIX_HOMESERVER_URL\)/);
  });
});

describe('the HTTP access token', () => {
  it('comes from ROOMCAST_HTTP_TOKEN or its file, and is refused in the config file without being shown', async () => {
    const cwd = await tmp();
    await writeFile(join(cwd, 'token'), 'http-token-from-a-file-123\n');
    expect(loadConfig({ ROOMCAST_HTTP_TOKEN_FILE: join(cwd, 'token') }, {}, cwd).config.http.token).toBe('http-token-from-a-file-123');
    await writeFile(join(cwd, 'roomcast.yaml'), 'http:\n  token: written-here-0123456789\n');
    expect(() => loadConfig({}, {}, cwd)).toThrow(/^http\.token must not be written in the config file \(it is a secret\): set ROOMCAST_HTTP_TOKEN or ROOMCAST_HTTP_TOKEN_FILE instead$/);
  });

  it('turns Discord on with the bot token alone (env or file), points it at another API, and refuses the token or a bad id in the file', async () => {
    const cwd = await tmp();
    expect(loadConfig({}, {}, cwd).config.platforms.discord.enabled).toBe(false);
    const on = loadConfig({ ROOMCAST_DISCORD_TOKEN: 'bot.token' }, {}, cwd).config.platforms.discord;
    expect(on).toMatchObject({ enabled: true, token: 'bot.token', apiUrl: 'https://discord.com/api', slashCommands: true });
    await writeFile(join(cwd, 'token'), 'from.file\n');
    await writeFile(join(cwd, 'roomcast.yaml'), 'platforms:\n  discord:\n    channels: ["123456789012345678"]\n    moderatorRole: Helpers\n');
    const fromFile = loadConfig({ ROOMCAST_DISCORD_TOKEN_FILE: join(cwd, 'token'), ROOMCAST_DISCORD_API_URL: 'http://127.0.0.1:13001/api' }, {}, cwd).config.platforms.discord;
    expect(fromFile).toMatchObject({ enabled: true, token: 'from.file', apiUrl: 'http://127.0.0.1:13001/api', channels: ['123456789012345678'], moderatorRole: 'Helpers' });

    await writeFile(join(cwd, 'roomcast.yaml'), 'platforms:\n  discord:\n    token: leaked.bot.token\n');
    expect(() => loadConfig({}, {}, cwd)).toThrow(/platforms\.discord\.token must not be written in the config file.*ROOMCAST_DISCORD_TOKEN/s);
    try {
      loadConfig({}, {}, cwd);
    } catch (e) {
      expect((e as Error).message).not.toContain('leaked.bot.token');
    }
    await writeFile(join(cwd, 'roomcast.yaml'), 'platforms:\n  discord:\n    guilds: ["general"]\n');
    expect(() => loadConfig({ ROOMCAST_DISCORD_TOKEN: 'x' }, {}, cwd)).toThrow(/platforms\.discord\.guilds\.0 .*server id/);
    await writeFile(join(cwd, 'roomcast.yaml'), 'platforms:\n  discord:\n    enabled: true\n');
    expect(() => loadConfig({}, {}, cwd)).toThrow(/platforms\.discord\.token .*ROOMCAST_DISCORD_TOKEN/);
  });
});
