/**
 * Receipt modes and the unknown-sender policy, end to end.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MessageEvent } from '../../src/broadcaster/events.js';
import { decodeMagnet, encodeMagnet } from '../../src/identity/magnet.js';
import { MemoryPlatform } from '../../src/platforms/memory/memory-platform.js';
import type { BridgeConfig } from '../../src/bridge/config.js';
import { startTestBridge } from '../support/bridge.js';
import { openTestNode, startNetwork } from '../support/network.js';
import type { TestNetwork } from '../support/network.js';
import { sleep, waitFor } from '../support/wait.js';
import { waitForPost, waitForRoom } from '../support/room-waits.js';

const MOD = { id: '@mod', displayName: 'Mod', level: 'moderator' as const };
const BOB = { id: '@bob', displayName: 'Bob' };

let net: TestNetwork;
beforeAll(async () => {
  net = await startNetwork(1, 1);
});
afterAll(async () => {
  await net?.stop();
});

async function scenario(bridge: Partial<BridgeConfig>, platform = new MemoryPlatform()) {
  const b = await startTestBridge({ net, bridge, platform });
  const peer = await openTestNode(net);
  const got: MessageEvent[] = [];
  peer.broadcaster.on('message', (e) => got.push(e));
  await peer.broadcaster.start();
  const room = b.platform.room('!modes');
  await b.platform.say(room, MOD, `!roomcast contact add alice ${encodeMagnet(peer.identity)}`);
  await waitForPost(b.platform, room, (e) => e.text.includes('alice'));
  const acked = new Set<string>();
  const id = await b.platform.say(room, BOB, 'receipt please');
  await waitFor(() => got.length === 1, 'the peer to get the message', 20_000);
  // The peer acks by itself; wait until the bridge has recorded an ack.
  await waitFor(async () => {
    const owner = (await b.rt.directory.room('memory', '!modes')).identity.xOnly;
    const copies = await b.store.rooms.listOutboxCopies((await b.store.rooms.getOutboxCopy(owner, got[0]!.message.uuid))!.roomUuid);
    for (const c of copies) if ((await b.store.getReceipts(owner, c.uuid)).some((r) => r.kind === 'ack')) acked.add(c.uuid);
    return acked.size > 0;
  }, 'the ack', 20_000);
  await sleep(500);
  await b.platform.idle();
  const close = async () => {
    await peer.close();
    await b.stop();
  };
  return { b, room, id, peer, close };
}

describe('receipt modes', () => {
  it('both: ✔️ and 📬 on the message, and the notice posted as a reply to it, edited with the ack', async () => {
    const { b, room, id, close } = await scenario({ receipts: 'both' });
    try {
      await waitForRoom(b.platform, () => b.platform.reactions(room, id).some((r) => r.emoji === '📬'), 'the ack reaction', 10_000);
      expect(b.platform.reactions(room, id).map((r) => r.emoji).sort()).toEqual(['✔️', '📬'].sort());
      const notices = b.platform.botPosts(room).filter((e) => e.notice && e.text.includes('receipt please'));
      expect(notices).toHaveLength(1);
      expect(notices[0]!.replyTo).toBe(id);
      await waitForRoom(b.platform, () => b.platform.message(room, notices[0]!.id).text.includes('acknowledged via'), 'the notice to show the ack', 10_000);
    } finally {
      await close();
    }
  });

  it('reactions: ✔️ for delivered and 📬 for acknowledged, no notice', async () => {
    const { b, room, id, close } = await scenario({ receipts: 'reactions' });
    try {
      await waitForRoom(b.platform, () => b.platform.reactions(room, id).some((r) => r.emoji === '📬'), 'the ack reaction', 10_000);
      expect(b.platform.reactions(room, id).map((r) => r.emoji).sort()).toEqual(['✔️', '📬'].sort());
      expect(b.platform.botPosts(room).filter((e) => e.text.includes('receipt please'))).toHaveLength(0);
    } finally {
      await close();
    }
  });

  it('notice on a platform that cannot edit: an ack the notice could not show becomes a second reaction', async () => {
    const { b, room, id, close } = await scenario({ receipts: 'notice' }, new MemoryPlatform({ capabilities: { edits: false } }));
    try {
      const notices = b.platform.botPosts(room).filter((e) => e.notice && e.text.includes('receipt please'));
      expect(notices).toHaveLength(1);
      expect(notices[0]!.text).toMatch(/✓ nostr 1\/1/);
      // The ack may come before the notice is posted (then the notice says so) or after (then only a reaction can).
      const noticeShowsAck = notices[0]!.text.includes('acknowledged via');
      if (!noticeShowsAck) await waitForRoom(b.platform, () => b.platform.reactions(room, id).some((r) => r.emoji === '📬'), 'the ack reaction', 10_000);
      expect(b.platform.reactions(room, id).some((r) => r.emoji === '📬')).toBe(!noticeShowsAck);
      expect(b.platform.reactions(room, id).some((r) => r.emoji === '✔️')).toBe(false);
    } finally {
      await close();
    }
  });

  it('off: nothing in the room about a delivered message', async () => {
    const { b, room, id, close } = await scenario({ receipts: 'off' });
    try {
      expect(b.platform.reactions(room, id)).toHaveLength(0);
      expect(b.platform.botPosts(room).filter((e) => e.text.includes('receipt please'))).toHaveLength(0);
    } finally {
      await close();
    }
  });
});

describe('unknown senders', () => {
  it('drop: a message from a non-contact is not posted, a contact message still is', async () => {
    const { b, room, peer, close } = await scenario({ unknownSenders: 'drop' });
    const stranger = await openTestNode(net);
    try {
      await stranger.broadcaster.start();
      const roomId = decodeMagnet(encodeMagnet((await b.rt.directory.room('memory', '!modes')).identity));
      await stranger.broadcaster.send(roomId, 'let me in');
      await peer.broadcaster.send(roomId, 'from a contact');
      await waitForPost(b.platform, room, 'alice: from a contact', 20_000);
      await sleep(500);
      expect(b.platform.timeline(room).some((e) => e.text.includes('let me in'))).toBe(false);
    } finally {
      await stranger.close();
      await close();
    }
  });
});
