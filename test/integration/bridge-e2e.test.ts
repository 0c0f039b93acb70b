/**
 * The bridge end to end: an in-memory room, real Redis queues, a real
 * Mosquitto broker and Nostr relay, and a peer running roomcast.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MessageEvent } from '../../src/broadcaster/events.js';
import { decodeMagnet } from '../../src/identity/magnet.js';
import { encodeMagnet } from '../../src/identity/magnet.js';
import { newMessage } from '../../src/protocol/chat-message.js';
import { startTestBridge } from '../support/bridge.js';
import type { TestBridge } from '../support/bridge.js';
import { openTestNode, startNetwork } from '../support/network.js';
import type { TestNetwork, TestNode } from '../support/network.js';
import { waitFor } from '../support/wait.js';
import { waitForPost, waitForRoom } from '../support/room-waits.js';

const MOD = { id: '@mod:memory', displayName: 'Mod', level: 'moderator' as const };
const BOB = { id: '@bob:memory', displayName: 'Bob' };

let net: TestNetwork;
beforeAll(async () => {
  net = await startNetwork(1, 1);
});
afterAll(async () => {
  await net?.stop();
});

async function setup(): Promise<{ b: TestBridge; peer: TestNode; got: MessageEvent[]; roomMagnet: string; room: ReturnType<TestBridge['platform']['room']> }> {
  const b = await startTestBridge({ net });
  const peer = await openTestNode(net);
  const got: MessageEvent[] = [];
  peer.broadcaster.on('message', (e) => got.push(e));
  await peer.broadcaster.start();
  const room = b.platform.room('!room');
  await b.platform.say(room, MOD, '!roomcast whoami');
  const who = await waitForPost(b.platform, room, /magnet:\?xt=/);
  const roomMagnet = /magnet:\?\S+/.exec(who.text)![0];
  await b.platform.say(room, MOD, `!roomcast contact add alice ${encodeMagnet(peer.identity)}`);
  await waitForPost(b.platform, room, (e) => e.text.includes('alice') && !e.text.includes('!roomcast'));
  return { b, peer, got, roomMagnet, room };
}

describe('bridge end to end', () => {
  it('room → peer with receipt then ack; peer → room with the contact name', async () => {
    const { b, peer, got, roomMagnet, room } = await setup();
    try {
      const id = await b.platform.say(room, BOB, 'Hello alice');
      await waitFor(() => got.some((e) => e.message.content === 'Bob: Hello alice'), 'the peer to receive the room message', 20_000);
      expect(got.filter((e) => e.message.content === 'Bob: Hello alice')).toHaveLength(1);
      expect(got[0]!.sender.xOnly).toBe(decodeMagnet(roomMagnet).xOnly);

      // Receipt: a reaction on the message and a notice, then the ack shows up in the notice.
      await waitForRoom(b.platform, () => b.platform.reactions(room, id).some((r) => r.emoji === '✔️'), 'the delivered reaction', 20_000);
      const notice = await waitForPost(b.platform, room, (e) => e.notice && e.text.includes('Hello alice') && e.text.includes('✓'), 20_000);
      expect(notice.text).toMatch(/✓ nostr 1\/1 \d+ms/);
      expect(notice.text).toMatch(/✓ MQTT 1\/1 \d+ms/);
      await waitForRoom(b.platform, () => b.platform.message(room, notice.id).text.includes('acknowledged via'), 'the ack in the notice', 20_000);

      // The peer writes to the room.
      await peer.broadcaster.send(decodeMagnet(roomMagnet), 'Hi!');
      const posted = await waitForPost(b.platform, room, 'alice: Hi!', 20_000);
      expect(posted.notice).toBe(false);
      expect(b.platform.botPosts(room).filter((e) => e.text === 'alice: Hi!')).toHaveLength(1);
      expect(b.platform.rateLimitedWrites).toBe(0);
    } finally {
      await peer.close();
      await b.stop();
    }
  });

  it('posts a message from someone who is not a contact, marked with their npub', async () => {
    const { b, peer, roomMagnet, room } = await setup();
    const stranger = await openTestNode(net);
    try {
      await stranger.broadcaster.start();
      await stranger.broadcaster.send(decodeMagnet(roomMagnet), 'who am I?');
      const post = await waitForPost(b.platform, room, (e) => e.text.includes('who am I?'), 20_000);
      expect(post.text).toMatch(/^⚠ unknown sender npub1[0-9a-z]+: who am I\?$/);
    } finally {
      await Promise.all([stranger.close(), peer.close()]);
      await b.stop();
    }
  });

  it('ignores its own posts and notices: no loops', async () => {
    const { b, peer, got, room } = await setup();
    try {
      await b.platform.say(room, BOB, 'a notice from another bot', { notice: true });
      await b.platform.say(room, BOB, 'real one');
      await waitFor(() => got.some((e) => e.message.content === 'Bob: real one'), 'the real message', 20_000);
      await b.platform.idle();
      // Only the real message went out: not the notice, not the bot's own replies and receipts.
      expect(got.map((e) => e.message.content)).toEqual(['Bob: real one']);
      expect((await b.store.rooms.listRooms()).length).toBe(1);
    } finally {
      await peer.close();
      await b.stop();
    }
  });
});

describe('bridge inbound ids', () => {
  it('posts the same message sent to two rooms in both', async () => {
    const b = await startTestBridge({ net });
    const peer = await openTestNode(net);
    try {
      await peer.broadcaster.start();
      const [r1, r2] = [b.platform.room('!one'), b.platform.room('!two')];
      await b.platform.say(r1, MOD, '!roomcast whoami');
      await b.platform.say(r2, MOD, '!roomcast whoami');
      const m1 = /magnet:\?\S+/.exec((await waitForPost(b.platform, r1, /magnet:\?xt=/)).text)![0];
      const m2 = /magnet:\?\S+/.exec((await waitForPost(b.platform, r2, /magnet:\?xt=/)).text)![0];
      const message = newMessage(encodeMagnet(peer.identity), 'to both rooms');
      await peer.broadcaster.deliver(decodeMagnet(m1), message);
      await peer.broadcaster.deliver(decodeMagnet(m2), message);
      await waitForPost(b.platform, r1, (e) => e.text.endsWith('to both rooms'), 20_000);
      await waitForPost(b.platform, r2, (e) => e.text.endsWith('to both rooms'), 20_000);
    } finally {
      await peer.close();
      await b.stop();
    }
  });
});
