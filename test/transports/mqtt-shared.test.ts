/**
 * One broker client per process, shared by every identity (ConnectionPool):
 * the persistent session belongs to the process's owner and carries every
 * room's topics, so what it delivers before a room has started is held for
 * that room, a stale room's messages are dropped, and a dropped room is
 * unsubscribed. Against real Mosquitto and aedes.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { generateIdentity, publicPart } from '../../src/identity/keys.js';
import type { Identity } from '../../src/identity/keys.js';
import { encodeMagnet } from '../../src/identity/magnet.js';
import { newMessage, serializeChatMessage } from '../../src/protocol/chat-message.js';
import { ConnectionPool } from '../../src/transports/connection-pool.js';
import { buildSignedEnvelope } from '../../src/transports/mqtt/envelope.js';
import { MqttConfigSchema } from '../../src/transports/mqtt/config.js';
import { MqttTransport, mqttClientId, VERDICT_MEMORY_KEY } from '../../src/transports/mqtt/mqtt-transport.js';
import type { VerdictMemory } from '../../src/transports/mqtt/mqtt-transport.js';
import { topicOwner } from '../../src/transports/mqtt/shared-broker.js';
import type { InboundEnvelope, OutboundPayload } from '../../src/transports/transport.js';
import { startAedes } from '../support/aedes-broker.js';
import type { AedesTestBroker } from '../support/aedes-broker.js';
import { testContext } from '../support/context.js';
import { publishRaw, startMosquitto } from '../support/mosquitto.js';
import type { TestBroker } from '../support/mosquitto.js';
import { sleep, waitFor } from '../support/wait.js';

const FAST = { connectTimeoutMs: 2000, sendTimeoutMs: 2000, reconnectMinMs: 100, reconnectMaxMs: 1000 };

function payload(from: Identity, text: string): OutboundPayload {
  const m = newMessage(encodeMagnet(from), text);
  return { uuid: m.uuid, json: serializeChatMessage(m) };
}

describe('MQTT clients shared by the identities of one process', () => {
  it('reads the identity a topic is for, in both forms a node listens on', () => {
    const id = generateIdentity();
    expect(topicOwner(`dm/${id.xOnly}`)).toBe(id.xOnly);
    expect(topicOwner(`dm/${id.secp256k1PublicKey}`)).toBe(id.xOnly);
    expect(topicOwner('dm/nope')).toBeUndefined();
    expect(topicOwner(`other/${id.xOnly}`)).toBeUndefined();
  });

  const cleanups: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  async function brokers(): Promise<[TestBroker, AedesTestBroker]> {
    const mosq = await startMosquitto();
    const aedes = await startAedes();
    cleanups.push(() => mosq.stop(), () => aedes.stop());
    return [mosq, aedes];
  }

  function member(id: Identity, pool: ConnectionPool, urls: string[]) {
    const t = new MqttTransport(MqttConfigSchema.parse({ brokers: urls, ...FAST }), { ...testContext(id), pool });
    const inbox: InboundEnvelope[] = [];
    cleanups.push(() => t.stop());
    return { t, inbox, start: () => t.start(async (e) => void inbox.push(e)) };
  }

  async function sender(urls: string[]) {
    const carol = generateIdentity();
    const c = new MqttTransport(MqttConfigSchema.parse({ brokers: urls, ...FAST }), testContext(carol));
    cleanups.push(() => c.stop());
    await c.start(async () => undefined);
    return {
      send: async (to: Identity, text: string) => {
        const p = payload(carol, text);
        expect((await c.send({ identity: publicPart(to) }, p)).endpoints.every((e) => e.ok)).toBe(true);
        return p;
      },
    };
  }

  it('uses one client per broker under the owner’s stable id, and holds what the session delivers before a room has started', async () => {
    const [mosq, aedes] = await brokers();
    const urls = [mosq.url, aedes.url];
    const service = generateIdentity();
    const rooms = [generateIdentity(), generateIdentity(), generateIdentity()];

    // First run: the service and three rooms listen over one client per broker.
    const pool1 = new ConnectionPool({ owner: service, expected: rooms.map((r) => r.xOnly) });
    const svc1 = member(service, pool1, urls);
    await svc1.start();
    const first = rooms.map((r) => member(r, pool1, urls));
    await Promise.all(first.map((m) => m.start()));
    expect(pool1.size).toBe(2);
    expect(aedes.clientIds).toEqual([mqttClientId(service.xOnly, aedes.url)]);
    await Promise.all([svc1.t.stop(), ...first.map((m) => m.t.stop())]);
    expect(pool1.size).toBe(0);

    // While the process is down, messages for every room wait in the session.
    // First in the queue, on the uncompressed key's topic (a node listens on both forms; the seed write-up shows both).
    const dave = generateIdentity();
    const onUncompressed = payload(dave, 'on the uncompressed topic');
    await publishRaw(mosq.url, `dm/${rooms[0]!.secp256k1PublicKey}`, buildSignedEnvelope(dave, rooms[0]!.xOnly, onUncompressed.json, Date.now(), true), { qos: 1 });
    const carol = await sender(urls);
    const queued = await Promise.all(rooms.map((r, i) => carol.send(r, `while down ${i}`)));

    // Restart: the service starts first, so the session delivers the rooms' messages before they join.
    const pool2 = new ConnectionPool({ owner: service, expected: rooms.map((r) => r.xOnly) });
    const svc2 = member(service, pool2, urls);
    await svc2.start();
    await sleep(300);
    const second = rooms.map((r) => member(r, pool2, urls));
    await Promise.all(second.map((m) => m.start()));
    await waitFor(() => second.every((m, i) => m.inbox.filter((e) => e.body === queued[i]!.json).length === 2), 'each room its held message from both brokers');
    await waitFor(() => second[0]!.inbox.some((e) => e.body === onUncompressed.json), 'the copy held on the uncompressed topic');
    expect(second.every((m, i) => m.inbox.every((e) => e.body === queued[i]!.json || (i === 0 && e.body === onUncompressed.json)))).toBe(true);
    // Both runs: one client each, the same id; the only other client is carol's.
    const serviceId = mqttClientId(service.xOnly, aedes.url);
    expect(aedes.clientIds.filter((id) => id === serviceId)).toHaveLength(2);
    expect(aedes.clientIds).toHaveLength(3);
    // The rooms share one memory of checked copies: each distinct payload once, whichever broker brought it.
    expect(pool2.shared<VerdictMemory | undefined>(VERDICT_MEMORY_KEY, () => undefined)?.size).toBe(queued.length + 1);
  });

  it('drops a message for a room the process no longer serves, and keeps delivering the others', async () => {
    const [mosq] = await brokers();
    const urls = [mosq.url];
    const service = generateIdentity();
    const gone = generateIdentity();
    const kept = generateIdentity();

    const pool1 = new ConnectionPool({ owner: service, expected: [gone.xOnly, kept.xOnly] });
    const a = [member(service, pool1, urls), member(gone, pool1, urls), member(kept, pool1, urls)];
    for (const m of a) await m.start();
    for (const m of a) await m.t.stop();

    const carol = await sender(urls);
    await carol.send(gone, 'for a room dropped while the process was down');
    const forKept = await carol.send(kept, 'for a room still bridged');

    // The store no longer lists `gone`: its message is a stale subscription's.
    const pool2 = new ConnectionPool({ owner: service, expected: [kept.xOnly] });
    const b = [member(service, pool2, urls), member(kept, pool2, urls)];
    for (const m of b) await m.start();
    await waitFor(() => b[1]!.inbox.some((e) => e.body === forKept.json), 'the kept room’s message');
    for (const m of b) await m.t.stop();

    // It was acknowledged (not sent again) and unsubscribed (nothing new is kept for it).
    await carol.send(gone, 'after the unsubscribe');
    const pool3 = new ConnectionPool({ owner: service, expected: [gone.xOnly] });
    const c = [member(service, pool3, urls), member(gone, pool3, urls)];
    for (const m of c) await m.start();
    await sleep(500);
    expect(c[1]!.inbox).toHaveLength(0);
  });

  it('a room dropped while running is unsubscribed; the others keep the client', async () => {
    const [mosq] = await brokers();
    const urls = [mosq.url];
    const service = generateIdentity();
    const dropped = generateIdentity();
    const pool = new ConnectionPool({ owner: service, expected: [dropped.xOnly] });
    const svc = member(service, pool, urls);
    const room = member(dropped, pool, urls);
    await svc.start();
    await room.start();
    await room.t.stop({ forget: true });
    expect(pool.expects(dropped.xOnly)).toBe(false);
    expect(pool.size).toBe(1);

    const carol = await sender(urls);
    const toService = await carol.send(service, 'still listening');
    await carol.send(dropped, 'nobody keeps this');
    await waitFor(() => svc.inbox.some((e) => e.body === toService.json), 'the service’s message');
    await svc.t.stop();

    // Bridged again later: what came while it was not bridged is not delivered.
    const pool2 = new ConnectionPool({ owner: service, expected: [dropped.xOnly] });
    const again = [member(service, pool2, urls), member(dropped, pool2, urls)];
    for (const m of again) await m.start();
    await sleep(500);
    expect(again[1]!.inbox).toHaveLength(0);
  });
});
