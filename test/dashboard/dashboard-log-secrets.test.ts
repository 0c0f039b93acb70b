/**
 * No secret reaches a log line: a unit check of the scrubber at every depth,
 * and a real `roomcast start` at debug level with an HTTP token, a Matrix
 * access token, a broker password and the service's private key configured,
 * whose whole log holds none of them.
 */
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger, scrub } from '../../src/observability/logger.js';
import { startFakeHomeserver } from '../fakes/matrix/index.js';
import type { FakeHomeserver } from '../fakes/matrix/index.js';
import { start, stopAll } from '../cli/cli-process.js';
import { MatrixPerson } from '../support/matrix-person.js';
import { startNetwork } from '../support/network.js';
import type { TestNetwork } from '../support/network.js';

let hs: FakeHomeserver;
let net: TestNetwork;

beforeAll(async () => {
  [hs, net] = await Promise.all([startFakeHomeserver(), startNetwork(1, 1)]);
});

afterAll(async () => {
  await stopAll();
  await hs?.close();
  await net?.stop();
});

describe('secrets in logs', () => {
  it('scrubs secret fields at any depth, URL passwords, query tokens and bearer headers', () => {
    const lines: string[] = [];
    const log = createLogger('debug', 'test', { format: 'json', stream: { write: (l: string) => void lines.push(l) } });
    log.info(
      { deep: { deeper: [{ accessToken: 'AT-1', note: 'ok' }], url: 'mqtt://bob:PW-2@broker:1883/x?token=QT-3' }, headers: { Authorization: 'Bearer BT-4' }, err: new Error('failed at https://u:PW-5@h/p') },
      'calling https://h/_matrix?access_token=AT-6 with Bearer BT-7',
    );
    const line = lines.join('');
    for (const secret of ['AT-1', 'PW-2', 'QT-3', 'BT-4', 'PW-5', 'AT-6', 'BT-7']) expect(line).not.toContain(secret);
    expect(line).toContain('"note":"ok"');
    expect(line).toContain('mqtt://bob:[redacted]@broker:1883/x?token=[redacted]');
    expect(scrub({ a: { b: { c: { d: { e: { f: { g: { h: { i: 'deep' } } } } } } } } })).toBeDefined();
  });

  it('a real start at debug level, with every kind of secret configured, logs none of them', async () => {
    const bot = await MatrixPerson.register(hs.url, 'bot');
    const dataDir = await mkdtemp(join(tmpdir(), 'rc-secrets-'));
    const httpToken = 'http-token-SECRET-0123456789';
    const broker = net.brokers[0]!.url.replace('mqtt://', 'mqtt://roomcast:BROKER-PASSWORD-42@');
    const s = start(['start', '--data-dir', dataDir, '--mqtt', broker, '--nostr', net.relays[0]!.url], dataDir, {
      ROOMCAST_HTTP_TOKEN: httpToken,
      ROOMCAST_MATRIX_HOMESERVER_URL: hs.url,
      ROOMCAST_MATRIX_ACCESS_TOKEN: bot.accessToken,
      ROOMCAST_LOG_LEVEL: 'debug',
    });
    await s.until((o) => o.includes('Press Ctrl-C to stop.'), 'the start message', 60_000);
    const alice = await MatrixPerson.register(hs.url, 'alice');
    const room = await alice.createRoom({ invite: [bot.userId] });
    await alice.waitForEvent(room, (e) => e.sender === bot.userId && e.type === 'm.room.member', 'the bot to join');
    await alice.say(room, '!roomcast whoami');
    await alice.waitForEvent(room, (e) => e.sender === bot.userId && String(e.content.body).includes('magnet'), 'the answer');
    expect(await s.stop()).toBe(0);
    const identity = JSON.parse(await readFile(join(dataDir, 'identity.json'), 'utf8')) as Record<string, unknown>;
    const privateKeys = Object.entries(identity).filter(([k]) => /private/i.test(k)).map(([, v]) => String(v));
    expect(privateKeys.length).toBeGreaterThan(0);
    const everything = s.stdout() + s.stderr();
    expect(s.stderr().split('\n').length).toBeGreaterThan(10); // debug level: there is a lot to look through
    for (const secret of [httpToken, bot.accessToken, 'BROKER-PASSWORD-42', ...privateKeys]) expect(everything).not.toContain(secret);
  });
});
