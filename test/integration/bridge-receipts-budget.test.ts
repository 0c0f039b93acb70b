/**
 * Receipts within a room's write budget: a room allowed 5 writes per 5 s
 * (Discord's per-channel pace) gets a message a second for a minute, and 10
 * replies from its contact. Deliveries never wait for receipts, replies are
 * posted before receipts, the platform never sees more writes than its
 * budget, and once the traffic stops every receipt is true.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { roomMessageUuid } from '../../src/bridge/bridge.js';
import { encodeMagnet } from '../../src/identity/magnet.js';
import { MemoryPlatform } from '../../src/platforms/memory/memory-platform.js';
import { platformMessageId } from '../../src/platforms/platform.js';
import type { PlatformMessageId } from '../../src/platforms/platform.js';
import { startTestBridge } from '../support/bridge.js';
import { openTestNode, startNetwork } from '../support/network.js';
import type { TestNetwork } from '../support/network.js';
import { sleep, waitFor } from '../support/wait.js';
import { waitForPost, waitForRoom } from '../support/room-waits.js';

const MOD = { id: '@mod:memory', displayName: 'Mod', level: 'moderator' as const };
const BOB = { id: '@bob', displayName: 'Bob' };
const MESSAGES = 60;
const REPLIES = 10;

let net: TestNetwork;
beforeAll(async () => {
  net = await startNetwork(1, 1);
});
afterAll(async () => {
  await net?.stop();
});

describe('receipts within the write budget', () => {
  it('60 messages in 60 s and 10 replies through 5 writes per 5 s: all delivered at once, replies posted, budget kept, receipts true', async () => {
    const platform = new MemoryPlatform({ capabilities: { rateLimit: { posts: 5, perMs: 5000 } } });
    const b = await startTestBridge({ net, platform });
    const peer = await openTestNode(net);
    const shownAt = new Map<string, number>();
    peer.broadcaster.on('message', (e) => shownAt.set(e.message.content, Date.now()));
    await peer.broadcaster.start();
    const room = platform.room('!budget');
    try {
      await platform.say(room, MOD, `!roomcast contact add alice ${encodeMagnet(peer.identity)}`);
      await waitForPost(platform, room, (e) => e.text.includes('alice'), 10_000);
      const roomIdentity = (await b.rt.directory.room('memory', '!budget')).identity;
      const saidAt = new Map<string, number>();
      const ids: PlatformMessageId[] = [];
      for (let i = 0; i < MESSAGES; i++) {
        const text = `message ${String(i).padStart(2, '0')}`;
        saidAt.set(`Bob: ${text}`, Date.now());
        ids.push(await platform.say(room, BOB, text));
        if (i % 6 === 3) await peer.broadcaster.send(roomIdentity, `reply ${(i - 3) / 6}`);
        await sleep(1000);
      }
      // Delivery never waits for a receipt: each message reaches the peer within seconds of being written.
      await waitFor(() => shownAt.size >= MESSAGES, 'every message at the peer', 20_000);
      const lags = [...saidAt].map(([text, at]) => (shownAt.get(text) ?? Infinity) - at);
      expect(Math.max(...lags)).toBeLessThan(10_000);
      // Every reply is posted, in order.
      await waitForRoom(platform, () => platform.timeline(room).filter((e) => e.text.startsWith('alice: reply')).length === REPLIES, 'every reply posted', 30_000);
      const replies = platform.timeline(room).filter((e) => e.text.startsWith('alice: reply')).map((e) => e.text);
      expect(replies).toEqual(Array.from({ length: REPLIES }, (_, i) => `alice: reply ${i}`));
      // Receipts end up true: every message's notice (its own, or a summary) shows it delivered and acknowledged.
      const noticeOf = async (id: PlatformMessageId) => (await b.store.rooms.getOutbox(roomMessageUuid({ room, id })))?.receiptPostId;
      await waitFor(
        async () => {
          for (const id of ids) {
            const post = await noticeOf(id);
            if (!post) return false;
            const text = platform.message(room, platformMessageId(post)).text;
            const summary = /delivered (\d+)\/(\d+) · acknowledged (\d+)\/(\d+)/.exec(text);
            if (summary ? !(summary[1] === summary[2] && summary[3] === summary[4]) : !(/✓ nostr/.test(text) && /acknowledged via/.test(text))) return false;
          }
          return true;
        },
        'every receipt to show delivered and acknowledged',
        60_000,
        500,
      );
      // The platform never had to refuse a write: the bridge kept to the budget throughout.
      expect(platform.rateLimitedWrites).toBe(0);
      const notices = platform.botPosts(room).filter((e) => e.text.startsWith('↳'));
      expect(notices.length).toBeLessThan(MESSAGES); // summaries, not a notice per message
    } finally {
      await peer.close();
      await b.stop();
    }
  }, 240_000);
});
