/**
 * Matrix end to end: matrix-bot-sdk (unmodified) against a homeserver, a
 * person who talks in a room, real Redis queues, a real Mosquitto broker and
 * Nostr relay, and a roomcast peer on the networks.
 *
 * The homeserver is the wire-level fake (test/fakes/matrix/) unless
 * ROOMCAST_TEST_MATRIX_URL names a real one with open registration (the
 * test registers its own users), e.g. the Synapse that ../shared/peers/synapse
 * builds: ROOMCAST_TEST_MATRIX_URL=http://127.0.0.1:18008 npx vitest run matrix-e2e
 * The bot reaches the homeserver through a fault proxy, so a 429 can be
 * injected the same way on either.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MessageEvent } from '../../src/broadcaster/events.js';
import { generateIdentity } from '../../src/identity/keys.js';
import { decodeMagnet, encodeMagnet } from '../../src/identity/magnet.js';
import { silentLogger } from '../../src/observability/logger.js';
import { createMetrics } from '../../src/observability/metrics.js';
import { MatrixPlatformConfigSchema } from '../../src/platforms/matrix/config.js';
import { MatrixPlatform } from '../../src/platforms/matrix/matrix-platform.js';
import { openStore } from '../../src/store/index.js';
import { roomMessageUuid } from '../../src/bridge/bridge.js';
import { platformId, platformMessageId } from '../../src/platforms/platform.js';
import type { Store } from '../../src/store/store.js';
import { startTestBridge } from '../support/bridge.js';
import type { TestBridge } from '../support/bridge.js';
import { startFaultProxy } from '../support/http-fault-proxy.js';
import type { FaultProxy } from '../support/http-fault-proxy.js';
import { MatrixPerson } from '../support/matrix-person.js';
import type { MatrixEventJson } from '../support/matrix-person.js';
import { openTestNode, startNetwork } from '../support/network.js';
import type { TestNetwork, TestNode } from '../support/network.js';
import { sleep, waitFor } from '../support/wait.js';

const REAL = process.env.ROOMCAST_TEST_MATRIX_URL;
/** Long enough for a wrong extra event to show up, on a real server too. */
const SETTLE_MS = REAL ? 2500 : 1200;

let net: TestNetwork;
let hs: { url: string; close(): Promise<void> };
let proxy: FaultProxy;
let store: Store;
const service = generateIdentity();
let bot: MatrixPerson;
let alice: MatrixPerson; // creates the room: power 100, a moderator
let bob: MatrixPerson; // a member
let mallory: MatrixPerson; // not allowed to invite the bot
let bridge: TestBridge | undefined;
let peer: TestNode;
const got: MessageEvent[] = [];
let roomId: string;
let roomMagnet: string;

async function startBridge(): Promise<TestBridge> {
  const config = MatrixPlatformConfigSchema.parse({
    enabled: true,
    homeserverUrl: proxy.url,
    accessToken: bot.accessToken,
    autoJoin: [alice.userId, bob.userId],
    syncTimeoutMs: 1000,
  });
  const platform = new MatrixPlatform(config, { state: store.platformState('matrix'), log: silentLogger(), metrics: createMetrics() });
  return startTestBridge({ net, store, service, writePlatform: platform });
}

const fromBot = (e: MatrixEventJson) => e.sender === bot.userId;
const body = (e: MatrixEventJson) => String(e.content.body ?? '');
const contents = () => got.map((e) => e.message.content);

beforeAll(async () => {
  net = await startNetwork(1, 1);
  hs = REAL ? { url: REAL, close: async () => undefined } : await (await import('../fakes/matrix/index.js')).startFakeHomeserver();
  proxy = await startFaultProxy(hs.url);
  [bot, alice, bob, mallory] = (await Promise.all(['bot', 'alice', 'bob', 'mallory'].map((n) => MatrixPerson.register(hs.url, n)))) as [MatrixPerson, MatrixPerson, MatrixPerson, MatrixPerson];
  store = await openStore({ url: `file:${join(await mkdtemp(join(tmpdir(), 'rc-matrix-')), 'roomcast.db')}` });
  bridge = await startBridge();
  peer = await openTestNode(net);
  peer.broadcaster.on('message', (e) => got.push(e));
  await peer.broadcaster.start();
}, 60_000);

afterAll(async () => {
  await bridge?.stop();
  await peer?.close();
  await store?.close();
  await proxy?.close();
  await hs?.close();
  await net?.stop();
});

describe(`Matrix rooms (${REAL ? `real homeserver ${REAL}` : 'fake homeserver'})`, () => {
  it('joins on an allowed invite and answers whoami as a notice; refuses an invite from anyone else; skips what was said before it came', async () => {
    roomId = await alice.createRoom({ invite: [bob.userId] });
    await bob.join(roomId);
    const before = await alice.say(roomId, 'said before the bot came');
    await alice.say(roomId, '!roomcast help');
    await alice.invite(roomId, bot.userId);
    await waitFor(async () => (await alice.joinedMembers(roomId)).includes(bot.userId), 'the bot to join', 20_000);

    await alice.say(roomId, '!roomcast whoami');
    const who = await alice.waitForEvent(roomId, (e) => fromBot(e) && body(e).includes('magnet:?xt='), 'the whoami answer');
    // The history from before the join (shown to the bot by its first sync of the room) is neither bridged nor answered.
    expect((await alice.timeline(roomId)).filter((e) => fromBot(e) && e.type === 'm.room.message').map(body)).toEqual([body(who)]);
    expect(await store.rooms.getOutbox(roomMessageUuid({ room: { platform: platformId('matrix'), roomId }, id: platformMessageId(before) }))).toBeUndefined();
    expect(who.content.msgtype).toBe('m.notice');
    roomMagnet = /magnet:\?\S+/.exec(body(who))![0].replace(/\u2060/g, '');
    expect(decodeMagnet(roomMagnet).xOnly).toMatch(/^[0-9a-f]{64}$/);

    const elsewhere = await mallory.createRoom({ invite: [bot.userId] });
    await waitFor(
      async () => (await mallory.request<{ membership?: string }>('GET', `/_matrix/client/v3/rooms/${encodeURIComponent(elsewhere)}/state/m.room.member/${encodeURIComponent(bot.userId)}`)).membership === 'leave',
      'the invite from a stranger to be rejected',
      20_000,
    );
    expect(await mallory.joinedMembers(elsewhere)).not.toContain(bot.userId);
  });

  it('lets a moderator add a contact, and refuses a member', async () => {
    await bob.say(roomId, `!roomcast contact add eve ${encodeMagnet(generateIdentity())}`);
    const refused = await alice.waitForEvent(roomId, (e) => fromBot(e) && body(e).includes('Only room moderators'), 'the refusal');
    expect(refused.content.msgtype).toBe('m.notice');
    await alice.say(roomId, `!roomcast contact add carol ${encodeMagnet(peer.identity)}`);
    await alice.waitForEvent(roomId, (e) => fromBot(e) && body(e).includes('carol') && !body(e).includes('!roomcast'), 'the contact to be added');
    const owner = decodeMagnet(roomMagnet).xOnly;
    expect((await store.listContacts(owner)).map((c) => c.name)).toEqual(['carol']);
  });

  it("relays a person's message to the peer; the peer's ack shows as a reaction and an edited notice", async () => {
    const id = await bob.say(roomId, 'Hello carol');
    await waitFor(() => contents().some((c) => c.endsWith(': Hello carol')), 'the peer to receive it', 20_000);
    expect(contents().filter((c) => c.endsWith(': Hello carol'))).toHaveLength(1);
    expect(got.at(-1)!.sender.xOnly).toBe(decodeMagnet(roomMagnet).xOnly);

    await alice.waitForEvent(
      roomId,
      (e) => fromBot(e) && e.type === 'm.reaction' && (e.content['m.relates_to'] as { event_id?: string; key?: string }).event_id === id,
      'the delivered reaction',
    );
    const edit = await alice.waitForEvent(
      roomId,
      (e) => fromBot(e) && (e.content['m.relates_to'] as { rel_type?: string } | undefined)?.rel_type === 'm.replace' && String((e.content['m.new_content'] as { body?: string }).body).includes('acknowledged'),
      'the receipt notice edited with the ack',
    );
    expect((edit.content['m.new_content'] as { msgtype: string }).msgtype).toBe('m.notice');
  });

  it("posts a peer's message as m.text under the contact's name, with HTML and mentions neutralised", async () => {
    await peer.broadcaster.send(decodeMagnet(roomMagnet), '<b>hi</b> @room <a href="https://matrix.to/#/@x:y">x</a>');
    const post = await alice.waitForEvent(roomId, (e) => fromBot(e) && body(e).startsWith('carol: '), "the contact's message");
    expect(post.content.msgtype).toBe('m.text');
    expect(post.content.formatted_body).toBe('<b>carol</b>: &lt;b&gt;hi&lt;/b&gt; @\u2060room &lt;a href=&quot;https://matrix.to/#/@\u2060x:y&quot;&gt;x&lt;/a&gt;');
    expect(body(post)).not.toMatch(/@room/);
    expect(post.content['m.mentions']).toEqual({});
  });

  it('sends an edit once, as a correction; a reply quotes one line; an image goes as its link', async () => {
    const orig = await bob.say(roomId, 'first version');
    await waitFor(() => contents().some((c) => c.endsWith(': first version')), 'the original', 20_000);
    await bob.edit(roomId, orig, 'second version');
    await waitFor(() => contents().some((c) => c.endsWith(': ✎ second version')), 'the correction', 20_000);

    await bob.reply(roomId, { event_id: orig, sender: bob.userId, body: 'first version' }, 'answering it');
    await waitFor(() => contents().some((c) => c.endsWith('answering it')), 'the reply', 20_000);
    expect(contents().find((c) => c.endsWith('answering it'))).toMatch(/^[^:]+: ↪ [^:]+: first version\nanswering it$/);

    const png = Buffer.from('89504e470d0a1a0a0000000d4948445200000001000000010806000000', 'hex');
    const mxc = await bob.upload(png, 'image/png', 'cat.png');
    await bob.send(roomId, 'm.room.message', { msgtype: 'm.image', body: 'cat.png', url: mxc, info: { size: png.length, mimetype: 'image/png' } });
    await waitFor(() => contents().some((c) => c.includes('📎 cat.png')), 'the image link', 20_000);
    const line = contents().find((c) => c.includes('📎 cat.png'))!;
    expect(line).toContain(`(${png.length} B, image/png)`);
    const url = /https?:\/\/\S+/.exec(line)![0];
    expect(url).toContain('/_matrix/media/v3/download/');
    expect(Buffer.from(await (await fetch(url)).arrayBuffer())).toEqual(png);

    await sleep(SETTLE_MS);
    expect(contents().filter((c) => c.includes('second version'))).toHaveLength(1);
    expect(contents().filter((c) => c.endsWith(': first version'))).toHaveLength(1);
  });

  it('bridges neither its own events nor notices, reactions or redactions: no loop', async () => {
    // Receipts of the earlier messages (a late 📬) may still be on their way: start from a quiet room.
    const botCount = async () => (await alice.timeline(roomId)).filter(fromBot).length;
    for (let last = -1, now = await botCount(); now !== last; last = now, now = await botCount()) await sleep(SETTLE_MS);
    const before = got.length;
    const notice = await bob.say(roomId, 'a notice from another bot', 'm.notice');
    await bob.send(roomId, 'm.reaction', { 'm.relates_to': { rel_type: 'm.annotation', event_id: notice, key: '👍' } });
    await bob.request('PUT', `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/redact/${encodeURIComponent(notice)}/r${Date.now()}`, {});
    const botEvents = (await alice.timeline(roomId)).filter(fromBot).length;
    await sleep(SETTLE_MS);
    expect(got.length).toBe(before);
    expect((await alice.timeline(roomId)).filter(fromBot).length).toBe(botEvents);
  });

  it('resumes from the stored sync position after a restart: no re-bridging, no gap', async () => {
    await bridge!.stop();
    bridge = undefined;
    const before = contents();
    await bob.say(roomId, 'while down 1');
    await bob.say(roomId, 'while down 2');
    bridge = await startBridge();
    await waitFor(() => contents().some((c) => c.endsWith(': while down 2')), 'what was said while down', 30_000);
    await sleep(SETTLE_MS);
    const after = contents().slice(before.length);
    expect(after.map((c) => c.replace(/^[^:]+: /, ''))).toEqual(['while down 1', 'while down 2']);
  });

  it('waits out a 429 with retry_after_ms, losing and reordering nothing', async () => {
    proxy.fail({
      match: (method, path) => method === 'PUT' && path.includes('/send/m.room.message/'),
      times: 2,
      status: 429,
      body: { errcode: 'M_LIMIT_EXCEEDED', error: 'Too Many Requests', retry_after_ms: 400 },
    });
    for (const n of [1, 2, 3]) await peer.broadcaster.send(decodeMagnet(roomMagnet), `burst ${n}`);
    // A post that had to wait takes along what queued up behind it (one line each): count lines, not posts.
    const lines = async () => (await alice.timeline(roomId)).filter((e) => fromBot(e) && body(e).startsWith('carol: burst')).flatMap((e) => body(e).slice('carol: '.length).split('\n'));
    await waitFor(async () => (await lines()).length === 3, 'all three lines', 30_000);
    await sleep(SETTLE_MS);
    expect(await lines()).toEqual(['burst 1', 'burst 2', 'burst 3']);
    expect(proxy.injected.filter((r) => r.status === 429)).toHaveLength(2);
  });

  it('says once that it cannot read an encrypted room, and bridges nothing there', async () => {
    const secret = await alice.createRoom({ encrypted: true, invite: [bot.userId] });
    const notice = await alice.waitForEvent(secret, (e) => fromBot(e) && body(e).includes('encrypted'), 'the notice', 20_000);
    expect(notice.content.msgtype).toBe('m.notice');
    await alice.say(secret, '!roomcast whoami');
    await alice.say(secret, 'the secret plan');
    await sleep(SETTLE_MS);
    expect((await alice.timeline(secret)).filter(fromBot).map((e) => e.type)).toEqual(['m.room.member', 'm.room.message']);
    expect(contents().some((c) => c.includes('secret plan'))).toBe(false);
    expect(await store.rooms.getRoom('matrix', secret)).toBeUndefined();
  });

  it('bridges none of the history on a very first start (no stored sync position)', async () => {
    await bridge!.stop();
    bridge = undefined;
    const firstStore = store;
    store = await openStore({ url: `file:${join(await mkdtemp(join(tmpdir(), 'rc-matrix-')), 'roomcast.db')}` });
    try {
      const earlier = new Set((await alice.timeline(roomId)).filter(fromBot).map((e) => e.event_id));
      const fresh = async () => (await alice.timeline(roomId)).filter((e) => fromBot(e) && !earlier.has(e.event_id));
      bridge = await startBridge();
      await bob.say(roomId, '!roomcast whoami');
      await waitFor(async () => (await fresh()).length > 0, 'an answer to the new command', 20_000);
      await sleep(SETTLE_MS);
      // One new event: the answer to the new command; nothing old was answered or relayed again.
      const answers = await fresh();
      expect(answers).toHaveLength(1);
      expect(body(answers[0]!)).toContain('magnet:?xt=');
    } finally {
      await bridge?.stop();
      bridge = undefined;
      await store.close();
      store = firstStore;
      bridge = await startBridge();
    }
  });

  it('stops bridging a room it was kicked from, keeping its contacts', async () => {
    await alice.kick(roomId, bot.userId);
    await waitFor(async () => (await store.rooms.getRoom('matrix', roomId))?.leftAt !== undefined, 'the room to be marked left', 20_000);
    const owner = decodeMagnet(roomMagnet).xOnly;
    expect((await store.listContacts(owner)).map((c) => c.name)).toEqual(['carol']);
  });
});
