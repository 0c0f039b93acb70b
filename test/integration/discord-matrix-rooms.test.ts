/**
 * Room to room: a Matrix room (bridged by one roomcast, on the fake
 * homeserver) and a Discord channel (bridged by another, on the fake
 * Discord), each the other's contact, talk through the networks (real
 * Mosquitto, a real relay) with no bridge server between them: each message
 * shows once on the other side, and nothing loops back or echoes.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateIdentity } from '../../src/identity/keys.js';
import { silentLogger } from '../../src/observability/logger.js';
import { createMetrics } from '../../src/observability/metrics.js';
import { DiscordPlatformConfigSchema } from '../../src/platforms/discord/config.js';
import { DiscordPlatform } from '../../src/platforms/discord/discord-platform.js';
import { MatrixPlatformConfigSchema } from '../../src/platforms/matrix/config.js';
import { MatrixPlatform } from '../../src/platforms/matrix/matrix-platform.js';
import type { Platform } from '../../src/platforms/platform.js';
import { openStore } from '../../src/store/index.js';
import type { Store } from '../../src/store/store.js';
import { startFakeDiscord } from '../fakes/discord/index.js';
import type { BootstrapAccounts, FakeDiscord } from '../fakes/discord/index.js';
import { startFakeHomeserver } from '../fakes/matrix/index.js';
import { startTestBridge } from '../support/bridge.js';
import type { TestBridge } from '../support/bridge.js';
import { DiscordPerson } from '../support/discord-person.js';
import type { DiscordMessageJson } from '../support/discord-person.js';
import { MatrixPerson } from '../support/matrix-person.js';
import type { MatrixEventJson } from '../support/matrix-person.js';
import { startNetwork } from '../support/network.js';
import type { TestNetwork } from '../support/network.js';
import { sleep, waitFor } from '../support/wait.js';

let net: TestNetwork;
let hs: { url: string; close(): Promise<void> };
let discord: FakeDiscord;
let acc: BootstrapAccounts;
const stores: Store[] = [];
let mxBridge: TestBridge;
let dcBridge: TestBridge;
let mxBot: MatrixPerson;
let mxAlice: MatrixPerson;
let dcAlice: DiscordPerson;
let roomId: string;

async function bridgeWith(platform: (store: Store) => Platform): Promise<TestBridge> {
  const store = await openStore({ url: `file:${join(await mkdtemp(join(tmpdir(), 'rc-r2r-')), 'roomcast.db')}` });
  stores.push(store);
  return startTestBridge({ net, store, service: generateIdentity(), writePlatform: platform(store) });
}

const magnetIn = (text: string) => /magnet:\?\S+/.exec(text)![0];
const mxBody = (e: MatrixEventJson) => String(e.content.body ?? '');
const fromMxBot = (e: MatrixEventJson) => e.sender === mxBot.userId && e.type === 'm.room.message';
const fromDcBot = (m: DiscordMessageJson) => m.author.id === acc.bot.id || m.webhook_id !== undefined;

beforeAll(async () => {
  net = await startNetwork(1, 1);
  hs = await startFakeHomeserver();
  discord = await startFakeDiscord();
  acc = discord.bootstrap();
  [mxBot, mxAlice] = (await Promise.all(['bot', 'alice'].map((n) => MatrixPerson.register(hs.url, n)))) as [MatrixPerson, MatrixPerson];
  dcAlice = new DiscordPerson(acc.api_url, acc.alice);
  mxBridge = await bridgeWith(
    (store) =>
      new MatrixPlatform(MatrixPlatformConfigSchema.parse({ enabled: true, homeserverUrl: hs.url, accessToken: mxBot.accessToken, syncTimeoutMs: 1000 }), {
        state: store.platformState('matrix'),
        log: silentLogger(),
        metrics: createMetrics(),
      }),
  );
  dcBridge = await bridgeWith(
    (store) =>
      new DiscordPlatform(DiscordPlatformConfigSchema.parse({ enabled: true, token: acc.bot.token, apiUrl: acc.api_url }), {
        state: store.platformState('discord'),
        log: silentLogger(),
        metrics: createMetrics(),
      }),
  );
}, 60_000);

afterAll(async () => {
  await mxBridge?.stop();
  await dcBridge?.stop();
  for (const s of stores) await s.close();
  await discord?.close();
  await hs?.close();
  await net?.stop();
});

describe('a Matrix room and a Discord channel, each the other’s contact', () => {
  it('converse both ways, each message shown once, with no loop and no echo', async () => {
    roomId = await mxAlice.createRoom({ invite: [mxBot.userId] });
    await waitFor(async () => (await mxAlice.joinedMembers(roomId)).includes(mxBot.userId), 'the Matrix bot to join', 20_000);
    await mxAlice.say(roomId, '!roomcast whoami');
    const mxMagnet = magnetIn(mxBody(await mxAlice.waitForEvent(roomId, (e) => fromMxBot(e) && mxBody(e).includes('magnet:?xt='), 'the Matrix room’s link'))).replace(/\u2060/g, '');
    await dcAlice.say(acc.channel_id, '!roomcast whoami');
    const dcMagnet = magnetIn((await dcAlice.waitForMessage(acc.channel_id, (m) => fromDcBot(m) && m.content.includes('magnet:?xt='), 'the Discord channel’s link', 20_000)).content);

    await mxAlice.say(roomId, `!roomcast contact add discordians ${dcMagnet}`);
    await mxAlice.waitForEvent(roomId, (e) => fromMxBot(e) && mxBody(e).includes('discordians') && !mxBody(e).includes('!roomcast'), 'the Matrix side’s contact');
    await dcAlice.say(acc.channel_id, `!roomcast contact add matrixfolk ${mxMagnet}`);
    await dcAlice.waitForMessage(acc.channel_id, (m) => fromDcBot(m) && m.content.includes('matrixfolk') && !m.content.includes('!roomcast'), 'the Discord side’s contact', 20_000);

    await mxAlice.say(roomId, 'hello from Matrix');
    await dcAlice.waitForMessage(acc.channel_id, (m) => m.webhook_id !== undefined && m.author.username === 'matrixfolk' && m.content.endsWith('hello from Matrix'), 'the Matrix line on Discord', 30_000);
    await dcAlice.say(acc.channel_id, 'hello from Discord');
    await mxAlice.waitForEvent(roomId, (e) => fromMxBot(e) && mxBody(e).includes('discordians') && mxBody(e).endsWith('hello from Discord'), 'the Discord line on Matrix', 30_000);

    // Long enough for a loop or an echo to show.
    await sleep(3000);
    // Receipt notices ("↳ “hello …”: ✓ …", and on Matrix their edits "* ↳ …") quote the line; they are not the line.
    const onDiscord = (await dcAlice.messages(acc.channel_id, 100)).map((m) => m.content).filter((t) => !t.startsWith('↳'));
    const onMatrix = (await mxAlice.timeline(roomId)).filter((e) => e.type === 'm.room.message').map(mxBody).filter((t) => !/^(\* )?↳/.test(t));
    expect(onDiscord.filter((t) => t.includes('hello from Matrix'))).toHaveLength(1);
    expect(onDiscord.filter((t) => t.includes('hello from Discord'))).toHaveLength(1); // alice's own line only
    expect(onMatrix.filter((t) => t.includes('hello from Discord'))).toHaveLength(1);
    expect(onMatrix.filter((t) => t.includes('hello from Matrix'))).toHaveLength(1); // alice's own line only
    // Each side sent exactly its own person's line to the networks: the relayed posts were not sent back.
    const sent = async (b: TestBridge) => (await b.store.activity.recentRoomMessages(50)).map((m) => m.text);
    expect((await sent(mxBridge)).filter((t) => t.includes('hello from'))).toEqual([expect.stringContaining('hello from Matrix')]);
    expect((await sent(dcBridge)).filter((t) => t.includes('hello from'))).toEqual([expect.stringContaining('hello from Discord')]);
  });
});
