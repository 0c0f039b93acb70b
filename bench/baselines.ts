/**
 * What the bridge path is measured against, in the same run: a raw mqtt.js
 * QoS 1 round trip on one broker, a raw relay EVENT → OK, a BullMQ job on
 * Redis, and the crypto floor (the signatures, verifications and encryptions
 * one MQTT message and its ack need).
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Queue, QueueEvents, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { connectAsync } from 'mqtt';
import { finalizeEvent, generateSecretKey } from 'nostr-tools/pure';
import WebSocket from 'ws';
import { generateIdentity, publicPart } from '../src/identity/keys.js';
import { encodeMagnet } from '../src/identity/magnet.js';
import { newAck, newMessage, serializeChatMessage } from '../src/protocol/chat-message.js';
import { buildEnvelope, parseEnvelope } from '../src/transports/mqtt/envelope.js';

export const pct = (xs: readonly number[], p: number): number => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return Math.round(s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))]! * 100) / 100;
};

export async function mqttRtt(url: string, n = 200): Promise<number> {
  const topic = `bench/${randomUUID()}`;
  const sub = await connectAsync(url, { protocolVersion: 4, clean: true, reconnectPeriod: 0 });
  const pub = await connectAsync(url, { protocolVersion: 4, clean: true, reconnectPeriod: 0 });
  await sub.subscribeAsync(topic, { qos: 1 });
  const samples: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const got = new Promise<void>((resolve) => sub.once('message', () => resolve()));
    await pub.publishAsync(topic, `m${i}`, { qos: 1 });
    await got;
    samples.push(performance.now() - t0);
  }
  await Promise.all([sub.endAsync(), pub.endAsync()]);
  return pct(samples, 0.5);
}

export async function relayRtt(url: string, n = 200): Promise<number> {
  const ws = new WebSocket(url);
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  const sk = generateSecretKey();
  const samples: number[] = [];
  for (let i = 0; i < n; i++) {
    const event = finalizeEvent({ kind: 1, created_at: Math.floor(Date.now() / 1000), tags: [], content: `bench ${i} ${randomUUID()}` }, sk);
    const t0 = performance.now();
    const ok = new Promise<void>((resolve) => {
      const onMessage = (data: WebSocket.RawData) => {
        const msg = JSON.parse(data.toString()) as unknown[];
        if (msg[0] === 'OK' && msg[1] === event.id) {
          ws.off('message', onMessage);
          resolve();
        }
      };
      ws.on('message', onMessage);
    });
    ws.send(JSON.stringify(['EVENT', event]));
    await ok;
    samples.push(performance.now() - t0);
  }
  ws.close();
  return pct(samples, 0.5);
}

export async function bullmqJob(redisUrl: string, n = 200): Promise<number> {
  const name = `bench-${randomUUID()}`;
  // BullMQ leaves connections it was handed open: they are closed here, or the bench would not exit.
  const opened: Redis[] = [];
  const connection = () => {
    const c = new Redis(redisUrl, { maxRetriesPerRequest: null });
    opened.push(c);
    return c;
  };
  const queue = new Queue(name, { connection: connection() });
  const events = new QueueEvents(name, { connection: connection() });
  const worker = new Worker(name, async () => undefined, { connection: connection() });
  await Promise.all([queue.waitUntilReady(), events.waitUntilReady(), worker.waitUntilReady()]);
  const samples: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const job = await queue.add('j', { i });
    await job.waitUntilFinished(events);
    samples.push(performance.now() - t0);
  }
  await worker.close();
  await events.close();
  await queue.obliterate({ force: true });
  await queue.close();
  await Promise.all(opened.map((c) => c.quit()));
  return pct(samples, 0.5);
}

/** One MQTT message out (sign + NIP-44) and its ack in (verify + decrypt), in ms. */
export function cryptoFloorMs(n = 500): number {
  const a = generateIdentity();
  const b = generateIdentity();
  const original = newMessage(encodeMagnet(a), 'Mod: a room message of ordinary length, about one line of chat');
  const msg = serializeChatMessage(original);
  const ack = serializeChatMessage(newAck(encodeMagnet(b), original, 'mqtt', Date.now()));
  const acks = Array.from({ length: n }, () => buildEnvelope(b, publicPart(a), ack, Date.now()));
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    buildEnvelope(a, publicPart(b), msg, Date.now());
    parseEnvelope(new TextEncoder().encode(acks[i]!), a, { acceptUnsigned: false, maxMessageBytes: 65536, maxClockSkewMs: 600_000 });
  }
  return (performance.now() - t0) / n;
}
