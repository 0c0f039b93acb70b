/**
 * What reaches a node from outside: a prototype ("seed") client speaking its
 * own format on both networks, and attackers sending bad input inside valid
 * framing. The seed must be understood and answered in its format; bad input
 * must be rejected with a counted reason, store nothing, and leave the node
 * working.
 */
import mqtt from 'mqtt';
import { finalizeEvent, nip04, nip17 } from 'nostr-tools';
import type { Event as NostrEvent } from 'nostr-tools';
import { Relay, useWebSocketImplementation } from 'nostr-tools/relay';
import { WebSocket } from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateIdentity, identityFromPrivateKeys, publicPart } from '../../src/identity/keys.js';
import type { Identity } from '../../src/identity/keys.js';
import { encodeMagnet } from '../../src/identity/magnet.js';
import { counterValue } from '../support/metrics.js';
import { newMessage, serializeChatMessage } from '../../src/protocol/chat-message.js';
import { buildSeedEnvelope, buildSignedEnvelope } from '../../src/transports/mqtt/envelope.js';
import type { MessageEvent } from '../../src/broadcaster/events.js';
import { openTestNode, startNetwork } from '../support/network.js';
import type { TestNetwork, TestNode, TestNodeOptions } from '../support/network.js';
import { sleep, waitFor } from '../support/wait.js';

useWebSocketImplementation(WebSocket);

let net: TestNetwork;
beforeAll(async () => {
  net = await startNetwork(1, 1);
});
afterAll(async () => {
  await net?.stop();
});

/** A seed client: no capabilities in its magnet link, raw MQTT and Nostr clients. */
function seedIdentity(): Identity {
  const id = generateIdentity();
  return identityFromPrivateKeys(id.secp256k1PrivateKey, id.ed25519PrivateKey, []);
}

async function mqttClient(): Promise<mqtt.MqttClient> {
  return mqtt.connectAsync(net.brokers[0]!.url, { protocolVersion: 4, clean: true });
}

async function publishNostr(event: NostrEvent): Promise<void> {
  const relay = await Relay.connect(net.relays[0]!.url);
  try {
    await relay.publish(event);
  } finally {
    relay.close();
  }
}

function seedKind4(from: Identity, to: Identity, json: string): NostrEvent {
  return finalizeEvent(
    { kind: 4, created_at: Math.floor(Date.now() / 1000), tags: [['p', to.xOnly]], content: nip04.encrypt(from.secp256k1PrivateKey, to.xOnly, json) },
    from.secp256k1PrivateKey,
  );
}

async function started(o: TestNodeOptions = {}): Promise<{ node: TestNode; shown: MessageEvent[] }> {
  const node = await openTestNode(net, o);
  const shown: MessageEvent[] = [];
  node.broadcaster.on('message', (e) => shown.push(e));
  await node.broadcaster.start();
  return { node, shown };
}

describe('seed client compatibility', () => {
  it('accepts a seed message on MQTT and Nostr, shows it once, and acks in the seed format on both', async () => {
    const { node, shown } = await started({ acceptUnsigned: true });
    const seed = seedIdentity();
    const client = await mqttClient();
    const gotMqtt: Array<Record<string, unknown>> = [];
    client.on('message', (_t, payload) => gotMqtt.push(JSON.parse(payload.toString())));
    await client.subscribeAsync(`dm/${seed.xOnly}`, { qos: 1 });
    const gotNostr: NostrEvent[] = [];
    const relay = await Relay.connect(net.relays[0]!.url);
    relay.subscribe([{ kinds: [4], '#p': [seed.xOnly] }], { onevent: (e) => void gotNostr.push(e) });
    try {
      const message = newMessage(encodeMagnet(seed), 'hello from the prototype');
      const json = serializeChatMessage(message);
      // Exactly what the seed client publishes: retained, plain envelope, kind 4.
      await client.publishAsync(`dm/${node.identity.xOnly}`, buildSeedEnvelope(seed.secp256k1PublicKey, json, Date.now()), { qos: 1, retain: true });
      await publishNostr(seedKind4(seed, node.identity, json));

      await waitFor(async () => (await node.store.getReceipts(node.identity.xOnly, message.uuid)).length >= 2, 'both copies');
      expect(shown).toHaveLength(1);
      expect(shown[0]!.message.content).toBe('hello from the prototype');

      await waitFor(() => gotMqtt.length >= 1 && gotNostr.length >= 1, 'acks in seed format on both networks');
      const envelope = gotMqtt[0]!;
      expect(Object.keys(envelope)).toEqual(['from', 'content', 'timestamp']);
      expect(envelope.from).toBe(node.identity.secp256k1PublicKey);
      const ack = JSON.parse(envelope.content as string);
      expect(ack).toMatchObject({ type: 'acknowledgment', originalMessageUuid: message.uuid, content: `ACK: ${message.uuid}`, fromMagnetLink: encodeMagnet(node.identity) });
      expect(['MQTT', 'nostr']).toContain(ack.receivedVia);
      const event = gotNostr[0]!;
      expect(event.kind).toBe(4);
      expect(event.pubkey).toBe(node.identity.xOnly);
      expect(event.tags).toEqual([['p', seed.xOnly]]);
      expect(JSON.parse(nip04.decrypt(seed.secp256k1PrivateKey, node.identity.xOnly, event.content)).originalMessageUuid).toBe(message.uuid);

      // The retained copy comes again to a restarted node: absorbed, not re-shown.
      const again = await openTestNode(net, { dir: node.dir, acceptUnsigned: true });
      await node.close();
      const reshown: MessageEvent[] = [];
      again.broadcaster.on('message', (e) => reshown.push(e));
      await again.broadcaster.start();
      await waitFor(async () => (await again.store.getReceipts(again.identity.xOnly, message.uuid)).length >= 3, 'the retained copy to arrive again');
      expect(reshown).toHaveLength(0);
      await again.close();
    } finally {
      await client.publishAsync(`dm/${node.identity.xOnly}`, '', { qos: 1, retain: true }); // clear the retained message
      await client.endAsync();
      relay.close();
      await node.close();
    }
  });

  it('sends to a seed contact in the seed formats', async () => {
    const { node } = await started();
    const seed = seedIdentity();
    const client = await mqttClient();
    const got: string[] = [];
    client.on('message', (_t, p) => got.push(p.toString()));
    await client.subscribeAsync(`dm/${seed.xOnly}`, { qos: 1 });
    try {
      const d = await node.broadcaster.send(publicPart(seed), 'to the prototype');
      expect(d.ok).toBe(true);
      await waitFor(() => got.length === 1, 'the seed envelope');
      const env = JSON.parse(got[0]!);
      expect(Object.keys(env)).toEqual(['from', 'content', 'timestamp']);
      expect(Object.keys(JSON.parse(env.content))).toEqual(['uuid', 'type', 'content', 'timestamp', 'fromMagnetLink']);
    } finally {
      await client.endAsync();
      await node.close();
    }
  });

  it('refuses unsigned seed MQTT copies unless the operator allows them', async () => {
    const { node, shown } = await started();
    const seed = seedIdentity();
    const client = await mqttClient();
    try {
      const json = serializeChatMessage(newMessage(encodeMagnet(seed), 'unsigned'));
      await client.publishAsync(`dm/${node.identity.xOnly}`, buildSeedEnvelope(seed.secp256k1PublicKey, json, Date.now()), { qos: 1 });
      await waitFor(async () => (await counterValue(node.metrics.rejected, { code: 'unsigned' })) === 1, 'the unsigned rejection');
      expect(shown).toHaveLength(0);
    } finally {
      await client.endAsync();
      await node.close();
    }
  });
});

describe('bad input inside valid framing', () => {
  const attacker = generateIdentity();
  const alice = generateIdentity();
  const valid = () => JSON.parse(serializeChatMessage(newMessage(encodeMagnet(attacker), 'x'))) as Record<string, unknown>;

  const cases: Array<[string, () => string, string]> = [
    ['malformed JSON', () => '{"uuid": "oops', 'malformed-json'],
    ['wrong types', () => JSON.stringify({ ...valid(), timestamp: 'yesterday' }), 'invalid-message'],
    ['missing fields', () => JSON.stringify({ ...valid(), uuid: undefined }), 'invalid-message'],
    ['an oversized payload', () => JSON.stringify({ ...valid(), content: 'x'.repeat(9000) }), 'oversized'],
    ['an invalid magnet link', () => JSON.stringify({ ...valid(), fromMagnetLink: 'magnet:?xt=urn:identity:v1&secp256k1pub=04zz' }), 'bad-magnet'],
    ['a sender key that does not match the claimed magnet link', () => JSON.stringify({ ...valid(), fromMagnetLink: encodeMagnet(alice) }), 'sender-mismatch'],
  ];

  for (const [what, body, code] of cases) {
    it(`rejects ${what} on MQTT and Nostr, counts it, stores nothing, and keeps working`, async () => {
      const { node, shown } = await started({ maxMessageBytes: 8192 });
      const client = await mqttClient();
      try {
        const text = body();
        await client.publishAsync(`dm/${node.identity.xOnly}`, buildSignedEnvelope(attacker, node.identity.xOnly, text, Date.now(), true), { qos: 1 });
        await publishNostr(nip17.wrapEvent(attacker.secp256k1PrivateKey, { publicKey: node.identity.xOnly }, text));
        await waitFor(async () => (await counterValue(node.metrics.rejected, { code })) >= 2, `two '${code}' rejections`);
        expect(await counterValue(node.metrics.rejected, { code, transport: 'mqtt' })).toBe(1);
        expect(await counterValue(node.metrics.rejected, { code, transport: 'nostr' })).toBe(1);
        expect(await node.store.listMessages(node.identity.xOnly, 10)).toHaveLength(0);
        expect(shown).toHaveLength(0);

        // Still alive: a good message after the bad one is shown.
        const friend = generateIdentity();
        const good = newMessage(encodeMagnet(friend), 'still here');
        await client.publishAsync(`dm/${node.identity.xOnly}`, buildSignedEnvelope(friend, node.identity.xOnly, serializeChatMessage(good), Date.now(), true), { qos: 1 });
        await waitFor(() => shown.length === 1, 'a good message after bad input');
        await sleep(50);
        expect(await node.store.listMessages(node.identity.xOnly, 10)).toHaveLength(1);
      } finally {
        await client.endAsync();
        await node.close();
      }
    });
  }

  it('rejects a forged signature before anything is parsed', async () => {
    const { node, shown } = await started();
    const client = await mqttClient();
    try {
      const json = serializeChatMessage(newMessage(encodeMagnet(alice), 'forged'));
      const env = JSON.parse(buildSignedEnvelope(alice, node.identity.xOnly, json, Date.now(), false));
      env.content = env.content.replace('forged', 'FORGED');
      await client.publishAsync(`dm/${node.identity.xOnly}`, JSON.stringify(env), { qos: 1 });
      await waitFor(async () => (await counterValue(node.metrics.rejected, { code: 'bad-signature' })) === 1, 'the bad-signature rejection');
      expect(shown).toHaveLength(0);
      expect(await node.store.listMessages(node.identity.xOnly, 10)).toHaveLength(0);
    } finally {
      await client.endAsync();
      await node.close();
    }
  });
});
