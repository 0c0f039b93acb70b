/**
 * One endpoint that stops answering (a broker frozen with SIGSTOP: its socket
 * stays open, no PUBACK comes) must not set a room's pace. A room's next
 * message goes once the last one reached its contact on some endpoint, while
 * the frozen broker's answer is still awaited; once the broker wakes, every
 * send is recorded as it answered.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { roomMessageUuid } from '../../src/bridge/bridge.js';
import type { PlatformMessageId } from '../../src/platforms/platform.js';
import { publicPart } from '../../src/identity/keys.js';
import { startTestBridge } from '../support/bridge.js';
import { openTestNode, startNetwork } from '../support/network.js';
import type { TestNetwork } from '../support/network.js';
import { MODERATOR, peerContact } from '../support/peer-contact.js';
import { waitFor } from '../support/wait.js';

let net: TestNetwork;
beforeAll(async () => {
  net = await startNetwork(3, 1);
});
afterAll(async () => {
  await net?.stop();
});

describe('a room with a frozen broker', () => {
  it('sends its next messages at the other brokers’ pace, and records the frozen one’s answers once it wakes', async () => {
    // The frozen broker's sends time out only after a minute: the messages below must not wait for that.
    const b = await startTestBridge({ net, transports: { nostr: { enabled: false }, mqtt: { sendTimeoutMs: 60_000 } } });
    const { peer, room, texts } = await peerContact(b, net, '!frozen');
    const frozen = net.brokers[0]!;
    frozen.freeze();
    try {
      const ids: PlatformMessageId[] = [];
      for (let i = 0; i < 3; i++) ids.push(await b.platform.say(room, MODERATOR, `while frozen ${i}`));
      await waitFor(() => texts().length === 3, 'all three at the peer, before the frozen broker answered', 30_000);
      expect(texts()).toEqual(['while frozen 0', 'while frozen 1', 'while frozen 2']);
      // The first message's job still waits for the frozen broker: its successors did not.
      const first = await b.queue.queue(b.queueNames.outbound).getJob(roomMessageUuid({ room, id: ids[0]! }));
      expect(await first?.getState()).toBe('active');

      frozen.thaw();
      for (const id of ids) {
        const uuid = roomMessageUuid({ room, id });
        await waitFor(async () => (await b.store.rooms.getOutbox(uuid))?.state === 'done', `message ${id} done`, 30_000);
        const copy = (await b.store.rooms.listOutboxCopies(uuid))[0]!;
        const results = await b.store.getSendResults(copy.owner, copy.uuid);
        expect(results.filter((r) => r.ok).map((r) => r.endpoint).sort()).toEqual(net.brokers.map((x) => x.url).sort());
      }
    } finally {
      frozen.thaw();
      await peer.close();
      await b.stop();
    }
  }, 90_000);

  it('a node with one send slot sends on while a frozen broker is awaited: the slot is given back at the first acceptance', async () => {
    const alice = await openTestNode(net, { maxConcurrentSends: 1 });
    const bob = await openTestNode(net);
    const got: string[] = [];
    bob.broadcaster.on('message', (e) => got.push(e.message.content));
    const frozen = net.brokers[0]!;
    try {
      await Promise.all([alice.broadcaster.start(), bob.broadcaster.start()]);
      frozen.freeze();
      let firstSettled = false;
      const first = alice.broadcaster.send(publicPart(bob.identity), 'one').finally(() => (firstSettled = true));
      const second = alice.broadcaster.send(publicPart(bob.identity), 'two');
      await waitFor(() => got.includes('two'), 'the second message at bob', 30_000);
      // The first still waits for the frozen broker's answer (until its 2 s timeout); it no longer holds the slot.
      expect(firstSettled).toBe(false);
      frozen.thaw();
      expect((await first).ok).toBe(true);
      expect((await second).ok).toBe(true);
    } finally {
      frozen.thaw();
      await Promise.all([alice.close(), bob.close()]);
    }
  }, 60_000);
});
