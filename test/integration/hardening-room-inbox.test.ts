/**
 * Issue 8 §2 at the room: a stranger's message with a contact's uuid does not
 * hide the contact's message from the room, and senders who are not contacts
 * can have at most `bridge.maxQueuedFromStrangers` messages waiting per room
 * (refusals counted and logged once); contacts are never refused.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mqtt from 'mqtt';
import { receiveForRoom } from '../../src/bridge/inbound.js';
import type { MessageEvent } from '../../src/broadcaster/events.js';
import { generateIdentity, publicPart } from '../../src/identity/keys.js';
import type { Identity } from '../../src/identity/keys.js';
import { encodeMagnet } from '../../src/identity/magnet.js';
import { createMetrics } from '../../src/observability/metrics.js';
import { OncePerWindow } from '../../src/observability/rejections.js';
import { newMessage, serializeChatMessage } from '../../src/protocol/chat-message.js';
import type { PlainMessage } from '../../src/protocol/chat-message.js';
import { openStore } from '../../src/store/index.js';
import { buildSignedEnvelope } from '../../src/transports/mqtt/envelope.js';
import { startTestBridge } from '../support/bridge.js';
import type { TestBridge } from '../support/bridge.js';
import { capturingLogger } from '../support/log-capture.js';
import { counterValue } from '../support/metrics.js';
import { openTestNode, startNetwork } from '../support/network.js';
import type { TestNetwork, TestNode } from '../support/network.js';
import { waitFor } from '../support/wait.js';
import { waitForPost } from '../support/room-waits.js';

const MOD = { id: '@mod:memory', displayName: 'Mod', level: 'moderator' as const };

let net: TestNetwork;
beforeAll(async () => {
  net = await startNetwork(1, 1);
});
afterAll(async () => {
  await net?.stop();
});

/** What a stranger does: signed MQTT envelopes straight to the room identity's topic. */
async function strangerSends(from: Identity, to: Identity, messages: readonly PlainMessage[]): Promise<void> {
  const client = await mqtt.connectAsync(net.brokers[0]!.url, { protocolVersion: 4, clean: true, reconnectPeriod: 0 });
  try {
    await Promise.all(messages.map((m) => client.publishAsync(`dm/${to.xOnly}`, buildSignedEnvelope(from, to.xOnly, serializeChatMessage(m), Date.now(), true), { qos: 1 })));
  } finally {
    await client.endAsync();
  }
}

async function roomWithAlice(b: TestBridge, roomId: string): Promise<{ room: ReturnType<TestBridge['platform']['room']>; alice: TestNode; roomIdentity: Identity }> {
  const alice = await openTestNode(net);
  await alice.broadcaster.start();
  const room = b.platform.room(roomId);
  await b.platform.say(room, MOD, `!roomcast contact add alice ${encodeMagnet(alice.identity)}`);
  await waitForPost(b.platform, room, (e) => e.text.includes('alice') && !e.text.includes('!roomcast'));
  return { room, alice, roomIdentity: (await b.rt.directory.room('memory', roomId)).identity };
}

describe('room inbox: no squatting', () => {
  it("a stranger's message with a contact's uuid is posted, and so is the contact's", async () => {
    const b = await startTestBridge({ net });
    const { room, alice, roomIdentity } = await roomWithAlice(b, '!squat');
    try {
      const real = newMessage(encodeMagnet(alice.identity), 'the real one');
      const stranger = generateIdentity();
      await strangerSends(stranger, roomIdentity, [{ ...newMessage(encodeMagnet(stranger), 'squat'), uuid: real.uuid }]);
      await waitForPost(b.platform, room, (e) => e.text.startsWith('⚠ unknown sender') && e.text.endsWith(': squat'), 20_000);
      expect((await alice.broadcaster.deliver(publicPart(roomIdentity), real)).ok).toBe(true);
      await waitForPost(b.platform, room, 'alice: the real one', 20_000);
    } finally {
      await alice.close();
      await b.stop();
    }
  });
});

describe('room inbox: a cap on what non-contacts queue', () => {
  it('keeps at most maxQueuedFromStrangers of their messages waiting; a contact still gets through and is posted', async () => {
    const max = 3;
    const b = await startTestBridge({ net, role: 'bridge', bridge: { maxQueuedFromStrangers: max } }); // no workers: nothing is posted yet
    const { room, alice, roomIdentity } = await roomWithAlice(b, '!flood');
    let worker: TestBridge | undefined;
    try {
      const stranger = generateIdentity();
      await strangerSends(stranger, roomIdentity, Array.from({ length: 8 }, (_, i) => newMessage(encodeMagnet(stranger), `spam ${i}`)));
      const owner = roomIdentity.xOnly;
      await waitFor(async () => (await b.store.listMessages(owner, 100)).filter((m) => m.peer === stranger.xOnly).length === 8, "the stranger's messages to arrive", 20_000);
      await alice.broadcaster.send(publicPart(roomIdentity), 'a contact is never refused');
      const queued = async (who: Identity) => (await b.store.rooms.listQueuedInbox(100)).filter((e) => e.owner === owner && e.peer === who.xOnly).length;
      await waitFor(async () => (await queued(alice.identity)) === 1, "the contact's message in the inbox", 20_000);
      await waitFor(async () => (await queued(stranger)) === max, `${max} of the stranger's messages queued`, 20_000);

      // A worker posts what is queued: the contact's message and only `max` of the stranger's.
      worker = await startTestBridge({ net, role: 'worker', store: b.store, queue: b.queue, queueNames: b.queueNames, service: b.service, platform: b.platform });
      await waitForPost(b.platform, room, 'alice: a contact is never refused', 20_000);
      await waitFor(async () => (await queued(stranger)) === 0, "the stranger's queued messages posted", 20_000);
      expect(b.platform.botPosts(room).filter((p) => p.text.startsWith('⚠ unknown sender'))).toHaveLength(max);
    } finally {
      await worker?.stop();
      await alice.close();
      await b.stop();
    }
  });

  it('counts every refusal and logs it once per room', async () => {
    const store = await openStore({ url: ':memory:' });
    const { log, lines } = capturingLogger();
    const metrics = createMetrics();
    const room = { platform: 'memory', roomId: '!r', identity: generateIdentity() };
    const alice = generateIdentity();
    await store.addContact({ owner: room.identity.xOnly, name: 'alice', magnetLink: encodeMagnet(alice), xOnly: alice.xOnly, ethAddress: alice.ethAddress });
    const d = { store, unknownSenders: 'post' as const, log, strangers: { max: 2, metrics, once: new OncePerWindow() } };
    const event = (from: Identity): MessageEvent => ({ message: newMessage(encodeMagnet(from), 'x'), sender: publicPart(from), via: 'mqtt', endpoint: 'm', receivedAt: 1, verified: true });
    try {
      const outcomes = [];
      for (let i = 0; i < 6; i++) outcomes.push(await receiveForRoom(room, event(generateIdentity()), d));
      expect(outcomes.map((o) => o !== undefined)).toEqual([true, true, false, false, false, false]);
      expect(await receiveForRoom(room, event(alice), d)).toMatchObject({ peer: alice.xOnly, seq: 3 });
      expect(await counterValue(metrics.inboxRefused, { platform: 'memory' })).toBe(4);
      const logged = lines.filter((l) => typeof l.msg === 'string' && l.msg.startsWith('refused a message from a sender who is not a contact'));
      expect(logged).toHaveLength(1);
      expect(logged[0]).toMatchObject({ room: '!r', max: 2 });
    } finally {
      await store.close();
    }
  });
});
