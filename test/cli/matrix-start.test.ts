/**
 * `roomcast start` with the two Matrix environment variables and nothing
 * else about Matrix bridges its rooms: the real binary, the fake homeserver,
 * the embedded queue (no Redis configured), a local broker and relay.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeHomeserver } from '../fakes/matrix/index.js';
import type { FakeHomeserver } from '../fakes/matrix/index.js';
import { MatrixPerson } from '../support/matrix-person.js';
import { startNetwork } from '../support/network.js';
import type { TestNetwork } from '../support/network.js';
import { waitFor } from '../support/wait.js';
import { start, stopAll } from './cli-process.js';

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

describe('roomcast start with Matrix', () => {
  it('bridges Matrix rooms with ROOMCAST_MATRIX_HOMESERVER_URL and ROOMCAST_MATRIX_ACCESS_TOKEN set, and never logs the token', async () => {
    const [bot, alice] = (await Promise.all(['bot', 'alice'].map((n) => MatrixPerson.register(hs.url, n)))) as [MatrixPerson, MatrixPerson];
    const dataDir = await mkdtemp(join(tmpdir(), 'rc-cli-matrix-'));
    const s = start(['start', '--data-dir', dataDir, '--mqtt', net.brokers[0]!.url, '--nostr', net.relays[0]!.url], dataDir, {
      ROOMCAST_MATRIX_HOMESERVER_URL: hs.url,
      ROOMCAST_MATRIX_ACCESS_TOKEN: bot.accessToken,
      ROOMCAST_LOG_LEVEL: 'debug',
    });
    await s.until((o) => o.includes('Press Ctrl-C to stop.'), 'the start message', 60_000);
    expect(s.stdout()).toContain('Rooms bridged on: matrix');

    const room = await alice.createRoom({ invite: [bot.userId] });
    await waitFor(async () => (await alice.joinedMembers(room)).includes(bot.userId), 'the bot to join', 20_000);
    await alice.say(room, '!roomcast status');
    const status = await alice.waitForEvent(room, (e) => e.sender === bot.userId && String(e.content.body).includes('Platform matrix'), 'the status');
    expect(String(status.content.body).replace(/\u2060/g, '')).toMatch(new RegExp(`^Platform matrix: ✓ connected .* — ${bot.userId.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} on http://127\\.0\\.0\\.1:\\d+\\nTransports:`));

    expect(await s.stop(), s.stderr()).toBe(0);
    expect(s.stderr()).toContain('Matrix: syncing');
    expect(s.stderr()).not.toContain(bot.accessToken);
  });
});
