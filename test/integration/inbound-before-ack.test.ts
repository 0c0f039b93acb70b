/**
 * A message is acknowledged only once the receiver has handed it on (the
 * bridge: written its room's inbox row). When that step fails, nothing is
 * acked, nothing is kept, and the next copy of the message is handled as
 * the first.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AckEvent, MessageEvent } from '../../src/broadcaster/events.js';
import { openTestNode, startNetwork } from '../support/network.js';
import type { TestNetwork, TestNode } from '../support/network.js';
import { sleep, waitFor } from '../support/wait.js';

let net: TestNetwork;
beforeAll(async () => {
  net = await startNetwork(1, 1); // every message arrives twice: MQTT and Nostr
});
afterAll(async () => {
  await net?.stop();
});

async function pair(): Promise<{ alice: TestNode; bob: TestNode; acks: AckEvent[]; shown: MessageEvent[] }> {
  const alice = await openTestNode(net);
  const bob = await openTestNode(net);
  const acks: AckEvent[] = [];
  const shown: MessageEvent[] = [];
  alice.broadcaster.on('ack', (e) => acks.push(e));
  bob.broadcaster.on('message', (e) => shown.push(e));
  return { alice, bob, acks, shown };
}

describe('acknowledged only once handed on', () => {
  it('a first copy whose step fails is forgotten and not acked; the next copy is handled as the first, once', async () => {
    const { alice, bob, acks, shown } = await pair();
    let failures = 1;
    const stepped: string[] = [];
    bob.broadcaster.beforeAck(async (e) => {
      stepped.push(e.via);
      if (failures-- > 0) throw new Error('inbox row not written');
    });
    await Promise.all([alice.broadcaster.start(), bob.broadcaster.start()]);
    try {
      const sent = await alice.broadcaster.send(bob.identity, 'hand me on');
      await waitFor(() => shown.length === 1, 'bob handles the second copy', 20_000);
      await waitFor(() => acks.some((a) => a.originalUuid === sent.uuid), 'alice gets an ack', 20_000);
      await sleep(500);
      expect(stepped).toHaveLength(2); // the first copy failed, the second passed
      expect(shown).toHaveLength(1);
      expect(shown[0]!.via).toBe(stepped[1]);
      const stored = await bob.store.getMessage(bob.identity.xOnly, sent.uuid, alice.identity.xOnly);
      expect(stored?.content).toBe('hand me on');
    } finally {
      await Promise.all([alice.close(), bob.close()]);
    }
  }, 60_000);

  it('when every copy fails the step: nothing is acked, shown or kept', async () => {
    const { alice, bob, acks, shown } = await pair();
    let attempts = 0;
    bob.broadcaster.beforeAck(async () => {
      attempts++;
      throw new Error('inbox row not written');
    });
    await Promise.all([alice.broadcaster.start(), bob.broadcaster.start()]);
    try {
      const sent = await alice.broadcaster.send(bob.identity, 'nowhere to go');
      await waitFor(() => attempts >= 2, 'both copies tried', 20_000);
      await sleep(1500); // an ack would have come by now
      expect(acks).toHaveLength(0);
      expect(shown).toHaveLength(0);
      expect(await bob.store.getMessage(bob.identity.xOnly, sent.uuid, alice.identity.xOnly)).toBeUndefined();
      expect(await bob.store.getReceipts(bob.identity.xOnly, sent.uuid)).toEqual([]);
    } finally {
      await Promise.all([alice.close(), bob.close()]);
    }
  }, 60_000);
});
