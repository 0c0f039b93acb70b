/**
 * RoomReceipts on a platform that cannot edit, with the store's records set
 * up by hand so the order of sends, acks and renders is fixed (end to end,
 * it is a race: see test/integration/bridge-receipts.test.ts).
 */
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { RoomDirectory } from '../../src/bridge/room-directory.js';
import { RoomReceipts } from '../../src/bridge/receipts.js';
import { RoomWriter } from '../../src/bridge/room-writer.js';
import { generateIdentity } from '../../src/identity/keys.js';
import { encodeMagnet } from '../../src/identity/magnet.js';
import { silentLogger } from '../../src/observability/logger.js';
import { MemoryPlatform } from '../../src/platforms/memory/memory-platform.js';
import { openStore } from '../../src/store/index.js';
import type { Store } from '../../src/store/store.js';

const stops: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const stop of stops.splice(0)) await stop();
});

async function setUp() {
  const store = await openStore({ url: ':memory:' });
  const platform = new MemoryPlatform({ capabilities: { edits: false } });
  await platform.start(async () => undefined);
  stops.push(async () => {
    await platform.stop();
    await store.close();
  });
  const directory = new RoomDirectory(store.rooms, generateIdentity());
  const writer = new RoomWriter(new Map([[platform.id, platform]]), silentLogger());
  const receipts = new RoomReceipts(store, directory, writer, { mode: 'notice', deliveredReaction: '✔️', ackedReaction: '📬' }, silentLogger());
  const room = platform.room('!r');
  const owner = (await directory.room('memory', '!r')).identity;
  const alice = generateIdentity();
  await store.addContact({ owner: owner.xOnly, name: 'alice', magnetLink: encodeMagnet(alice), xOnly: alice.xOnly, ethAddress: alice.ethAddress });
  const postId = await platform.say(room, { id: '@bob', displayName: 'Bob' }, 'hello');
  const entry = await store.rooms.enqueueOutbox({ platform: 'memory', roomId: '!r', uuid: randomUUID(), senderId: '@bob', senderName: 'Bob', text: 'hello', platformMessageId: postId, createdAt: 1 });
  const copy = { owner: owner.xOnly, uuid: randomUUID(), roomUuid: entry.uuid, contact: alice.xOnly };
  await store.rooms.addOutboxCopy(copy);
  const sent = (s: Store, endpoint: string) =>
    s.recordOutbound({ owner: owner.xOnly, uuid: copy.uuid, peer: alice.xOnly, fromMagnetLink: encodeMagnet(owner), content: 'hello', timestamp: 1 }, [
      { transport: 'mqtt', ok: true, latencyMs: 3, endpoints: [{ endpoint, ok: true, latencyMs: 3 }] },
    ]);
  const render = async (final = false) => {
    receipts.show((await store.rooms.getOutbox(entry.uuid))!, final);
    await receipts.idle();
  };
  const ack = () => store.recordAck({ owner: owner.xOnly, originalUuid: copy.uuid, peer: alice.xOnly, protocol: 'mqtt', endpoint: 'mqtt://a', receivedAt: 5 });
  return { store, platform, room, postId, sent, render, ack };
}

describe('receipts where notices cannot be edited', () => {
  it('an ack the posted notice already shows gets no reaction, even when a later change cannot be shown', async () => {
    const { store, platform, room, postId, sent, render, ack } = await setUp();
    await sent(store, 'mqtt://a');
    await ack(); // the ack overtook the notice: it is posted with the ack in it
    await render();
    const notices = platform.botPosts(room).filter((p) => p.notice);
    expect(notices).toHaveLength(1);
    expect(notices[0]!.text).toContain('acknowledged via');
    await sent(store, 'mqtt://b'); // the receipt's text changes; the notice cannot follow
    await render(true);
    expect(platform.botPosts(room).filter((p) => p.notice)).toHaveLength(1);
    expect(platform.reactions(room, postId)).toEqual([]);
  });

  it('an ack that comes after the notice becomes the ack reaction', async () => {
    const { store, platform, room, postId, sent, render, ack } = await setUp();
    await sent(store, 'mqtt://a');
    await render();
    expect(platform.botPosts(room).filter((p) => p.notice)[0]!.text).not.toContain('acknowledged via');
    await ack();
    await render();
    expect(platform.reactions(room, postId).map((r) => r.emoji)).toEqual(['📬']);
  });
});
