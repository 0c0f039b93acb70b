/**
 * MQTT's maximum packet size (issue 8 §2, flooding): a packet larger than any
 * envelope we would accept is refused as its header arrives, before it is
 * buffered, and acknowledged so the broker does not send it again; packets
 * within the limit pass byte for byte. Unit tests of the filter, then a real
 * Mosquitto (MQTT 3.1.1, which cannot be told our limit). The same hook on
 * mqtt.js's streams turns Nagle's algorithm off.
 */
import { Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { generateIdentity } from '../../src/identity/keys.js';
import type { Identity } from '../../src/identity/keys.js';
import { encodeMagnet } from '../../src/identity/magnet.js';
import { newMessage, serializeChatMessage } from '../../src/protocol/chat-message.js';
import { MqttConfigSchema } from '../../src/transports/mqtt/config.js';
import { buildSignedEnvelope, maxPacketBytes } from '../../src/transports/mqtt/envelope.js';
import { MqttTransport } from '../../src/transports/mqtt/mqtt-transport.js';
import { PacketSizeFilter, PacketTooLargeError } from '../../src/transports/mqtt/packet-guard.js';
import type { OversizedPacket } from '../../src/transports/mqtt/packet-guard.js';
import type { InboundEnvelope } from '../../src/transports/transport.js';
import { testContext } from '../support/context.js';
import { publishRaw, startMosquittos } from '../support/mosquitto.js';
import type { TestBroker } from '../support/mosquitto.js';
import { waitFor } from '../support/wait.js';

/** MQTT 3.1.1 packets, byte by byte (spec §3). */
function packet(first: number, body: number[] | Buffer): Buffer {
  const b = Buffer.from(body);
  return Buffer.concat([Buffer.from([first, ...varint(b.length)]), b]);
}

function publishPacket(topic: string, payload: Buffer, qos: 0 | 1, messageId = 7): Buffer {
  const t = Buffer.from(topic);
  const id = qos > 0 ? [messageId >> 8, messageId & 0xff] : [];
  return packet(0x30 | (qos << 1), Buffer.concat([Buffer.from([t.length >> 8, t.length & 0xff]), t, Buffer.from(id), payload]));
}

const CONNACK = packet(0x20, [0x01, 0x00]);
const PINGRESP = packet(0xd0, []);
const suback = (messageId: number, granted: number[]) => packet(0x90, [messageId >> 8, messageId & 0xff, ...granted]);

/** Feeds `data` to the filter in pieces of `size` bytes; returns what came out, joined. */
function feed(filter: PacketSizeFilter, data: Buffer, size: number): Buffer {
  const out: Buffer[] = [];
  for (let i = 0; i < data.length; i += size) out.push(...filter.push(data.subarray(i, i + size)));
  return Buffer.concat(out);
}

describe('PacketSizeFilter', () => {
  it('passes packets within the limit byte for byte, however the stream is cut', () => {
    const packets = Buffer.concat([
      CONNACK,
      publishPacket('dm/abc', Buffer.from('x'.repeat(300)), 1),
      PINGRESP,
      publishPacket('dm/abc', Buffer.alloc(0), 0),
      suback(3, [1]),
    ]);
    for (const size of [1, 2, 3, 7, 64, packets.length]) {
      const seen: OversizedPacket[] = [];
      expect(feed(new PacketSizeFilter(1000, (p) => seen.push(p)), packets, size).equals(packets)).toBe(true);
      expect(seen).toEqual([]);
    }
  });

  it('turns an oversized QoS 1 publish into the same publish without its payload, and reports it', () => {
    const big = publishPacket('dm/abc', Buffer.alloc(50_000, 0x61), 1, 4242);
    const after = publishPacket('dm/abc', Buffer.from('small'), 1, 4243);
    const seen: OversizedPacket[] = [];
    const out = feed(new PacketSizeFilter(1000, (p) => seen.push(p)), Buffer.concat([big, after]), 333);
    expect(seen).toEqual([{ bytes: big.length, messageId: 4242 }]);
    expect(out.equals(Buffer.concat([publishPacket('dm/abc', Buffer.alloc(0), 1, 4242), after]))).toBe(true);
  });

  it('drops an oversized QoS 0 publish outright', () => {
    const seen: OversizedPacket[] = [];
    const ping = PINGRESP;
    const out = feed(new PacketSizeFilter(1000, (p) => seen.push(p)), Buffer.concat([publishPacket('t', Buffer.alloc(5000), 0), ping]), 100);
    expect(seen).toEqual([{ bytes: 5000 + 2 + 1 + 3 }]);
    expect(out.equals(ping)).toBe(true);
  });

  it('never holds a huge packet: a 256 MiB publish announced, 8 MiB of it sent, nothing kept or passed on', () => {
    const seen: OversizedPacket[] = [];
    const filter = new PacketSizeFilter(70_000, (p) => seen.push(p));
    const header = publishPacket('dm/abc', Buffer.alloc(0), 1, 9);
    // The header of a publish whose payload is 268,000,000 bytes: only the remaining length differs.
    const remaining = 268_000_000 + header.length - 2;
    const announced = Buffer.concat([Buffer.from([header[0]!, ...varint(remaining)]), header.subarray(2)]);
    const out = filter.push(announced);
    expect(seen).toEqual([{ bytes: 1 + 4 + remaining, messageId: 9 }]);
    const chunk = Buffer.alloc(64 * 1024);
    for (let i = 0; i < 128; i++) expect(filter.push(chunk)).toEqual([]);
    expect(Buffer.concat(out).length).toBeLessThan(100); // the stub: header, topic, packet id
  });

  it('ends the connection for an oversized packet that is not a publish, and for a malformed length', () => {
    const filter = new PacketSizeFilter(100, () => undefined);
    expect(() => filter.push(suback(3, new Array<number>(200).fill(1)))).toThrow(PacketTooLargeError);
    expect(() => new PacketSizeFilter(100, () => undefined).push(Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff]))).toThrow(/malformed/);
  });
});

function varint(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
  return out;
}

describe('MQTT transport against a real broker', () => {
  let brokers: TestBroker[] = [];
  beforeAll(async () => {
    brokers = await startMosquittos(1);
  });
  afterAll(async () => {
    await Promise.all(brokers.map((b) => b.stop()));
  });

  const MAX_MESSAGE = 4096;
  const FAST = { connectTimeoutMs: 2000, sendTimeoutMs: 2000, reconnectMinMs: 100, reconnectMaxMs: 1000 };

  async function listening(me: Identity) {
    const ctx = testContext(me, MAX_MESSAGE);
    const t = new MqttTransport(MqttConfigSchema.parse({ brokers: [brokers[0]!.url], ...FAST }), ctx);
    const got: InboundEnvelope[] = [];
    await t.start(async (e) => void got.push(e));
    return { t, ctx, got };
  }

  function signed(from: Identity, to: Identity, text: string): string {
    return buildSignedEnvelope(from, to.xOnly, serializeChatMessage(newMessage(encodeMagnet(from), text)), Date.now(), true);
  }

  it('turns Nagle’s algorithm off on its broker sockets (small packets, each publish waits for a PUBACK)', async () => {
    const noDelay = vi.spyOn(Socket.prototype, 'setNoDelay');
    try {
      const node = await listening(generateIdentity());
      await node.t.stop();
      expect(noDelay).toHaveBeenCalledWith(true);
    } finally {
      noDelay.mockRestore();
    }
  });

  it('refuses an oversized payload unread, counts it, keeps working, and is not sent it again after a restart', async () => {
    const me = generateIdentity();
    const peer = generateIdentity();
    const topic = `dm/${me.xOnly}`;
    let node = await listening(me);
    try {
      const limit = maxPacketBytes(MAX_MESSAGE);
      await publishRaw(brokers[0]!.url, topic, Buffer.alloc(5 * 1024 * 1024, 0x7b), { qos: 1 });
      await publishRaw(brokers[0]!.url, topic, signed(peer, me, 'after the big one'), { qos: 1 });
      await waitFor(() => node.got.length === 1, 'the message after the oversized one');
      expect(node.ctx.rejections.map((r) => [r.rejection.code, r.rejection.detail])).toEqual([
        ['oversized', `an MQTT packet larger than ${limit} bytes was refused unread`],
      ]);
      expect(node.t.status()[0]?.connected).toBe(true);

      // Same identity, same persistent session: the refused packet was acknowledged, so it does not come back.
      await node.t.stop();
      node = await listening(me);
      await publishRaw(brokers[0]!.url, topic, signed(peer, me, 'after the restart'), { qos: 1 });
      await waitFor(() => node.got.length === 1, 'a message after the restart');
      expect(node.ctx.rejections).toEqual([]);
    } finally {
      await node.t.stop();
    }
  });

  it('still takes the largest envelope a peer may send', async () => {
    const me = generateIdentity();
    const peer = generateIdentity();
    const node = await listening(me);
    try {
      // ChatMessage JSON of maxMessageBytes (less one byte at most), NIP-44 encrypted.
      const base = Buffer.byteLength(serializeChatMessage(newMessage(encodeMagnet(peer), '')));
      const text = 'é'.repeat(Math.floor((MAX_MESSAGE - base) / 2));
      await publishRaw(brokers[0]!.url, `dm/${me.xOnly}`, signed(peer, me, text), { qos: 1 });
      await waitFor(() => node.got.length === 1, 'the large envelope');
      expect(node.ctx.rejections).toEqual([]);
    } finally {
      await node.t.stop();
    }
  });
});
