/**
 * A send-only transport (a queue worker sending for a room another process
 * listens for) must send, must not receive, and must not take the listener's
 * place: on MQTT the listener's persistent session stays with the listener.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateIdentity, publicPart } from '../../src/identity/keys.js';
import { encodeMagnet } from '../../src/identity/magnet.js';
import { newMessage, serializeChatMessage } from '../../src/protocol/chat-message.js';
import { MqttConfigSchema } from '../../src/transports/mqtt/config.js';
import { MqttTransport } from '../../src/transports/mqtt/mqtt-transport.js';
import { NostrTransport } from '../../src/transports/nostr/nostr-transport.js';
import type { InboundEnvelope, Transport, TransportContext } from '../../src/transports/transport.js';
import { testContext } from '../support/context.js';
import { startMosquitto } from '../support/mosquitto.js';
import type { TestBroker } from '../support/mosquitto.js';
import { startRelay } from '../support/nostr-relay.js';
import type { TestRelay } from '../support/nostr-relay.js';
import { sleep, waitFor } from '../support/wait.js';

let broker: TestBroker;
let relay: TestRelay;
beforeAll(async () => {
  [broker, relay] = await Promise.all([startMosquitto(), startRelay()]);
});
afterAll(async () => {
  await Promise.all([broker?.stop(), relay?.stop()]);
});

const makers: Array<[string, (ctx: TransportContext) => Transport]> = [
  ['mqtt', (ctx) => new MqttTransport(MqttConfigSchema.parse({ brokers: [broker.url], reconnectMinMs: 100 }), ctx)],
  ['nostr', (ctx) => new NostrTransport({ relays: [relay.url], reconnectMinMs: 100 }, ctx)],
];

describe('send-only transports', () => {
  for (const [name, make] of makers) {
    it(`${name}: sends as the room, receives nothing, and leaves the listener connected`, async () => {
      const room = generateIdentity();
      const peer = generateIdentity();
      const listenerInbox: InboundEnvelope[] = [];
      const senderInbox: InboundEnvelope[] = [];
      const peerInbox: InboundEnvelope[] = [];
      const listener = make(testContext(room));
      const sender = make({ ...testContext(room), listen: false });
      const peerT = make(testContext(peer));
      try {
        await listener.start(async (e) => void listenerInbox.push(e));
        await peerT.start(async (e) => void peerInbox.push(e));
        await sender.start(async (e) => void senderInbox.push(e));

        const m = newMessage(encodeMagnet(room), 'from a worker');
        const report = await sender.send({ identity: publicPart(peer) }, { uuid: m.uuid, json: serializeChatMessage(m) });
        expect(report.ok).toBe(true);
        await waitFor(() => peerInbox.some((e) => e.body.includes('from a worker')), 'the peer to receive the worker send');

        const reply = newMessage(encodeMagnet(peer), 'to the room');
        await peerT.send({ identity: publicPart(room) }, { uuid: reply.uuid, json: serializeChatMessage(reply) });
        await waitFor(() => listenerInbox.some((e) => e.body.includes('to the room')), 'the listener to receive');
        await sleep(300);
        expect(senderInbox).toHaveLength(0);
        expect(listener.status().every((s) => s.connected)).toBe(true);
      } finally {
        await Promise.all([listener.stop(), sender.stop(), peerT.stop()]);
      }
    });
  }
});
