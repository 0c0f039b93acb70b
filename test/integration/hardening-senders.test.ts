/**
 * Issue 8 §2, "no sender can squat, forge state, or flood", against a real
 * Mosquitto and a real Nostr relay, with nodes wired as the service wires
 * them (config file → openNode):
 * - a stranger who sends a contact's uuid first hides nothing;
 * - a forged unsigned envelope (acceptUnsigned) changes no channel
 *   preference and counts as no ack;
 * - 1,000 copies in about a second from one sender: at most its bucket is
 *   stored, the drops are counted and logged once, and a contact's message
 *   still arrives.
 */
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MessageEvent } from '../../src/broadcaster/events.js';
import { generateIdentity, npubOf, publicPart } from '../../src/identity/keys.js';
import type { Identity } from '../../src/identity/keys.js';
import { encodeMagnet } from '../../src/identity/magnet.js';
import type { Node } from '../../src/node.js';
import type { Logger } from '../../src/observability/logger.js';
import { newAck, newMessage, serializeChatMessage } from '../../src/protocol/chat-message.js';
import type { ChatMessage } from '../../src/protocol/chat-message.js';
import { buildSeedEnvelope, buildSignedEnvelope } from '../../src/transports/mqtt/envelope.js';
import { capturingLogger } from '../support/log-capture.js';
import { counterValue } from '../support/metrics.js';
import { openTestNode, startNetwork } from '../support/network.js';
import type { TestNetwork } from '../support/network.js';
import { waitFor } from '../support/wait.js';

let net: TestNetwork;
beforeAll(async () => {
  net = await startNetwork(1, 1);
});
afterAll(async () => {
  await net?.stop();
});

interface Options {
  perSender?: { burst: number; refillPerSecond: number };
  acceptUnsigned?: boolean;
  log?: Logger;
}

/** A listening node from a config file, as `roomcast start` opens one; its shown messages collected. */
async function listeningNode(o: Options = {}): Promise<{ node: Node; shown: MessageEvent[] }> {
  const node = await openTestNode(net, o);
  const shown: MessageEvent[] = [];
  node.broadcaster.on('message', (e) => shown.push(e));
  await node.broadcaster.start();
  return { node, shown };
}

/** Publishes raw MQTT payloads to `to`'s topic, all at once, from one client (what an attacker does). */
async function publish(to: Identity, payloads: readonly string[]): Promise<void> {
  const client = await mqtt.connectAsync(net.brokers[0]!.url, { protocolVersion: 4, clean: true, reconnectPeriod: 0 });
  try {
    await Promise.all(payloads.map((p) => client.publishAsync(`dm/${to.xOnly}`, p, { qos: 1 })));
  } finally {
    await client.endAsync();
  }
}

const signed = (from: Identity, to: Identity, m: ChatMessage) => buildSignedEnvelope(from, to.xOnly, serializeChatMessage(m), Date.now(), true);

const NO_CHANNELS = [
  { protocol: 'MQTT', preferenceOrder: 1, cannotUse: true },
  { protocol: 'nostr', preferenceOrder: 2, cannotUse: true },
  { protocol: 'XMTP V3', preferenceOrder: 3, cannotUse: true },
];

describe('no sender can squat a uuid', () => {
  it("a stranger who sends a contact's uuid first hides nothing: both are shown, the contact's once, and acked", async () => {
    const { node: bob, shown } = await listeningNode();
    const alice = await openTestNode(net);
    const acks: string[] = [];
    alice.broadcaster.on('ack', (e) => acks.push(e.originalUuid));
    await alice.broadcaster.start();
    const stranger = generateIdentity();
    try {
      const real = newMessage(encodeMagnet(alice.identity), 'the real one');
      await publish(bob.identity, [signed(stranger, bob.identity, { ...newMessage(encodeMagnet(stranger), 'squat'), uuid: real.uuid })]);
      await waitFor(() => shown.length === 1, "the stranger's message");

      const delivery = await alice.broadcaster.deliver(publicPart(bob.identity), real);
      expect(delivery.ok).toBe(true);
      await waitFor(() => shown.length === 2, "the contact's message despite the squatted uuid");
      expect(shown.map((e) => [e.sender.xOnly, e.message.content])).toEqual([
        [stranger.xOnly, 'squat'],
        [alice.identity.xOnly, 'the real one'],
      ]);
      // Its copies on MQTT and Nostr are one message with two receipts, and Alice's ack matched her message.
      await waitFor(async () => (await bob.store.getReceipts(bob.identity.xOnly, real.uuid, alice.identity.xOnly)).length === 2, 'both copies of the real one');
      await waitFor(() => acks.includes(real.uuid), "Bob's ack of the real one");
      expect(await alice.store.getMessage(alice.identity.xOnly, real.uuid)).toMatchObject({ state: 'acked' });
      expect(shown).toHaveLength(2);
    } finally {
      await alice.close();
      await bob.close();
    }
  });
});

describe('no unverified copy forges state', () => {
  it('a forged unsigned envelope with channelPreferences turns nothing off, and a forged unsigned ack counts for nothing', async () => {
    const { node: bob, shown } = await listeningNode({ acceptUnsigned: true });
    const alice = generateIdentity(); // a contact; Mallory writes in her name without her key
    try {
      const forged = { ...newMessage(encodeMagnet(alice), 'turn everything off'), channelPreferences: NO_CHANNELS };
      await publish(bob.identity, [buildSeedEnvelope(alice.secp256k1PublicKey, serializeChatMessage(forged), Date.now())]);
      await waitFor(() => shown.length === 1, 'the unverified message');
      expect(shown[0]!.verified).toBe(false);
      expect(await bob.store.getChannelPreferences(bob.identity.xOnly, alice.xOnly)).toEqual([]);
      expect(await counterValue(bob.metrics.unverifiedIgnored, { what: 'channel-preferences' })).toBe(1);

      // Bob still sends to Alice on every network.
      const sent = await bob.broadcaster.send(publicPart(alice), 'still on every channel');
      expect(sent.reports.map((r) => [r.transport, r.ok]).sort()).toEqual([
        ['mqtt', true],
        ['nostr', true],
      ]);

      // A forged unsigned ack of that message (with preferences too) marks nothing acked.
      const ack = newAck(encodeMagnet(alice), { uuid: sent.uuid, type: 'message', content: 'x', timestamp: 1, fromMagnetLink: encodeMagnet(bob.identity) }, 'mqtt', Date.now(), NO_CHANNELS);
      await publish(bob.identity, [buildSeedEnvelope(alice.secp256k1PublicKey, serializeChatMessage(ack), Date.now())]);
      await waitFor(async () => (await counterValue(bob.metrics.unverifiedIgnored, { what: 'ack' })) === 1, 'the unsigned ack to be ignored');
      expect(await bob.store.getMessage(bob.identity.xOnly, sent.uuid)).toMatchObject({ state: 'sent' });
      expect((await bob.store.getReceipts(bob.identity.xOnly, sent.uuid)).filter((r) => r.kind === 'ack')).toEqual([]);
      expect(await bob.store.getChannelPreferences(bob.identity.xOnly, alice.xOnly)).toEqual([]);
    } finally {
      await bob.close();
    }
  });
});

describe('no sender can flood', () => {
  it('1,000 copies in about a second from one sender: at most its bucket is stored, drops are counted and logged once, a contact still gets through', async () => {
    const { log, lines } = capturingLogger();
    const limit = { burst: 20, refillPerSecond: 1 };
    const { node: bob, shown } = await listeningNode({ perSender: limit, log });
    const alice = await openTestNode(net);
    await alice.broadcaster.start();
    const flooder = generateIdentity();
    try {
      const payloads = Array.from({ length: 1000 }, (_, i) => signed(flooder, bob.identity, newMessage(encodeMagnet(flooder), `flood ${i}`)));
      const t0 = Date.now();
      await publish(bob.identity, payloads);
      const handled = async () => (await counterValue(bob.metrics.received, { kind: 'message' })) + (await counterValue(bob.metrics.rateLimited));
      await waitFor(async () => (await handled()) === 1000, 'every copy to be handled', 30_000);
      const elapsedMs = Date.now() - t0;

      const stored = (await bob.store.listMessages(bob.identity.xOnly, Number.POSITIVE_INFINITY)).filter((m) => m.peer === flooder.xOnly);
      const bound = limit.burst + Math.ceil((elapsedMs / 1000) * limit.refillPerSecond);
      expect(stored.length).toBeGreaterThanOrEqual(limit.burst);
      expect(stored.length).toBeLessThanOrEqual(bound);
      expect(shown.filter((e) => e.sender.xOnly === flooder.xOnly)).toHaveLength(stored.length);
      expect(await counterValue(bob.metrics.rateLimited, { transport: 'mqtt', kind: 'message' })).toBe(1000 - stored.length);
      const drops = lines.filter((l) => typeof l.msg === 'string' && l.msg.startsWith('dropping copies from a sender over its rate limit'));
      expect(drops.length).toBe(1 + Math.floor(elapsedMs / 60_000)); // once per sender per minute
      expect(drops[0]).toMatchObject({ from: npubOf(flooder), transport: 'mqtt' });
      console.info(`flood: 1000 copies handled in ${elapsedMs} ms, ${stored.length} stored (bucket ${limit.burst} + ${limit.refillPerSecond}/s)`);

      // The flooder's bucket is empty; Alice's is not.
      const d = await alice.broadcaster.send(publicPart(bob.identity), 'a contact gets through');
      expect(d.ok).toBe(true);
      await waitFor(() => shown.some((e) => e.message.content === 'a contact gets through'), "the contact's message");
    } finally {
      await alice.close();
      await bob.close();
    }
  });
});
