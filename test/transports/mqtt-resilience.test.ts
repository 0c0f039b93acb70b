import { createServer } from 'node:net';
import type { Socket } from 'node:net';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import type { Logger } from '../../src/observability/logger.js';
import { generateIdentity, publicPart } from '../../src/identity/keys.js';
import type { Identity } from '../../src/identity/keys.js';
import { encodeMagnet } from '../../src/identity/magnet.js';
import { newMessage, serializeChatMessage } from '../../src/protocol/chat-message.js';
import type { InboundEnvelope, OutboundPayload, SendReport, TransportContext } from '../../src/transports/transport.js';
import { MqttConfigSchema } from '../../src/transports/mqtt/config.js';
import type { MqttConfigInput } from '../../src/transports/mqtt/config.js';
import { MqttTransport, mqttClientId } from '../../src/transports/mqtt/mqtt-transport.js';
import { testContext } from '../support/context.js';
import { sleep, waitFor } from '../support/wait.js';
import { freePort, startMosquitto, startMosquittos } from '../support/mosquitto.js';
import type { MosquittoBroker } from '../support/mosquitto.js';
import { startAedes } from '../support/aedes-broker.js';

const FAST = { connectTimeoutMs: 2000, sendTimeoutMs: 1500, reconnectMinMs: 100, reconnectMaxMs: 1000 };

function payload(from: Identity, text: string): OutboundPayload {
  const m = newMessage(encodeMagnet(from), text);
  return { uuid: m.uuid, json: serializeChatMessage(m) };
}

function logCapture(): { lines: string[]; log: Logger } {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(chunk.toString());
      cb();
    },
  });
  return { lines, log: pino({ level: 'debug' }, sink) };
}

describe('mqtt transport resilience', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    // Transports first, then brokers.
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  async function brokers(n: number): Promise<MosquittoBroker[]> {
    const list = await startMosquittos(n);
    cleanups.push(async () => void (await Promise.all(list.map((b) => b.stop()))));
    return list;
  }

  function transport(id: Identity, urls: string[], extra: Partial<MqttConfigInput> = {}, ctx: TransportContext = testContext(id)) {
    const t = new MqttTransport(MqttConfigSchema.parse({ brokers: urls, ...FAST, ...extra }), ctx);
    cleanups.push(() => t.stop());
    return t;
  }

  async function listening(id: Identity, urls: string[], extra: Partial<MqttConfigInput> = {}) {
    const t = transport(id, urls, extra);
    const inbox: InboundEnvelope[] = [];
    await t.start(async (e) => void inbox.push(e));
    return { t, inbox };
  }

  it('keeps delivering while one of three brokers is killed, then uses it again after it restarts', async () => {
    const bs = await brokers(3);
    const urls = bs.map((b) => b.url);
    const alice = generateIdentity();
    const bob = generateIdentity();
    const { t: b, inbox } = await listening(bob, urls);
    const { t: a } = await listening(alice, urls);
    await waitFor(() => a.status().every((s) => s.connected), 'alice connected to all three');

    const sent: OutboundPayload[] = [];
    const reports: SendReport[] = [];
    for (let i = 0; i < 20; i++) {
      if (i === 5) await bs[1]!.kill();
      const p = payload(alice, `resilient ${i}`);
      sent.push(p);
      reports.push(await a.send({ identity: publicPart(bob) }, p));
    }
    await waitFor(() => sent.every((p) => inbox.some((e) => e.body === p.json)), 'all 20 messages at bob');
    expect(reports.every((r) => r.ok)).toBe(true);
    expect(reports.slice(0, 5).every((r) => r.endpoints.every((e) => e.ok))).toBe(true);
    for (const r of reports.slice(5)) {
      expect(r.endpoints.map((e) => e.ok)).toEqual([true, false, true]);
      expect(['unreachable', 'timeout']).toContain(r.endpoints[1]!.reason);
    }
    expect(a.status()[1]).toMatchObject({ endpoint: urls[1], connected: false });
    expect(a.status()[1]!.lastError).toBeDefined();

    await bs[1]!.restart();
    await waitFor(() => a.status().every((s) => s.connected), 'alice reconnected to the restarted broker');
    // bob re-subscribes on his own (the restarted broker lost his session); connected = subscribed again.
    await waitFor(() => b.status().every((s) => s.connected), 'bob listening on the restarted broker');
    expect(b.status()[1]!.connected).toBe(true);
    const p = payload(alice, 'after restart');
    const report = await a.send({ identity: publicPart(bob) }, p);
    expect(report.endpoints.map((e) => e.ok)).toEqual([true, true, true]);
    await waitFor(() => inbox.some((e) => e.body === p.json && e.endpoint === urls[1]), 'a copy via the restarted broker');
  });

  it('gives up on a broker that stopped answering with its socket open after one send timeout: later sends fail at once; back when it answers again', async () => {
    const bs = await brokers(3);
    const urls = bs.map((b) => b.url);
    const alice = generateIdentity();
    const bob = generateIdentity();
    const { inbox } = await listening(bob, urls);
    const { t: a } = await listening(alice, urls);
    await waitFor(() => a.status().every((s) => s.connected), 'alice connected to all three');
    bs[1]!.freeze();
    try {
      const first = await a.send({ identity: publicPart(bob) }, payload(alice, 'into the silence'));
      expect(first.endpoints.map((e) => e.ok)).toEqual([true, false, true]);
      expect(first.endpoints[1]!.reason).toBe('timeout');
      // Without this, mqtt.js would notice only after 1.5 × its 30 s keepalive, every send waiting its timeout meanwhile.
      await waitFor(() => !a.status()[1]!.connected && /no answer from the broker for 1500 ms/.test(a.status()[1]!.lastError ?? ''), 'the silent broker given up');
      const next = await a.send({ identity: publicPart(bob) }, payload(alice, 'without waiting'));
      expect(next.endpoints.map((e) => e.ok)).toEqual([true, false, true]);
      expect(next.endpoints[1]!.reason).toBe('unreachable');
    } finally {
      bs[1]!.thaw();
    }
    await waitFor(() => a.status().every((s) => s.connected), 'alice back on the broker once it answers', 20_000);
    const p = payload(alice, 'after the thaw');
    expect((await a.send({ identity: publicPart(bob) }, p)).endpoints.every((e) => e.ok)).toBe(true);
    await waitFor(() => inbox.some((e) => e.body === p.json && e.endpoint === urls[1]), 'a copy via that broker');
  });

  it('connects later to a broker that was down at start, without a restart', async () => {
    const [up] = await brokers(1);
    const port = await freePort();
    const lateUrl = `mqtt://127.0.0.1:${port}`;
    const urls = [up!.url, lateUrl];
    const alice = generateIdentity();
    const bob = generateIdentity();
    const t0 = Date.now();
    const { t: b, inbox } = await listening(bob, urls);
    const { t: a } = await listening(alice, urls);
    expect(Date.now() - t0).toBeLessThan(2 * FAST.connectTimeoutMs + 1000);
    expect(a.status().map((s) => s.connected)).toEqual([true, false]);
    const first = await a.send({ identity: publicPart(bob) }, payload(alice, 'while down'));
    expect(first.ok).toBe(true);
    expect(first.endpoints[1]).toMatchObject({ ok: false, reason: 'unreachable' });

    const late = await startMosquitto({ port });
    cleanups.splice(0, 0, () => late.stop()); // stopped after the transports
    await waitFor(() => a.status()[1]!.connected && b.status()[1]!.connected, 'both connected to the late broker');
    const p = payload(alice, 'after it came up');
    const report = await a.send({ identity: publicPart(bob) }, p);
    expect(report.endpoints.map((e) => e.ok)).toEqual([true, true]);
    await waitFor(() => inbox.some((e) => e.body === p.json && e.endpoint === lateUrl), 'a copy via the late broker');
  });

  it('resumes the persistent session: messages sent while the receiver was down arrive after it restarts, per broker', async () => {
    const [mosq] = await brokers(1);
    const aedes = await startAedes();
    cleanups.push(() => aedes.stop());
    const urls = [mosq!.url, aedes.url];
    const alice = generateIdentity();
    const bob = generateIdentity();

    const first = await listening(bob, urls);
    await waitFor(() => first.t.status().every((s) => s.connected), 'bob subscribed on both');
    await first.t.stop();

    const { t: a } = await listening(alice, urls);
    const sent = Array.from({ length: 5 }, (_, i) => payload(alice, `offline ${i}`));
    for (const p of sent) expect((await a.send({ identity: publicPart(bob) }, p)).endpoints.every((e) => e.ok)).toBe(true);

    const { inbox } = await listening(bob, urls);
    await waitFor(
      () => urls.every((u) => sent.every((p) => inbox.some((e) => e.endpoint === u && e.body === p.json))),
      'all 5 queued messages from each broker',
    );

    // Same client id for the same identity and broker, across both runs; different otherwise.
    const bobId = mqttClientId(bob.xOnly, aedes.url);
    expect(aedes.clientIds.filter((id) => id === bobId)).toHaveLength(2);
    expect(aedes.clientIds).toContain(mqttClientId(alice.xOnly, aedes.url));
    expect(mqttClientId(bob.xOnly, aedes.url)).toBe(bobId);
    expect(mqttClientId(bob.xOnly, mosq!.url)).not.toBe(bobId);
    expect(mqttClientId(alice.xOnly, aedes.url)).not.toBe(bobId);
  });

  it('does not acknowledge a copy whose handler threw: the broker redelivers it on the next session', async () => {
    const [mosq] = await brokers(1);
    const aedes = await startAedes();
    cleanups.push(() => aedes.stop());
    const urls = [mosq!.url, aedes.url];
    const alice = generateIdentity();
    const bob = generateIdentity();
    const failing = transport(bob, urls);
    let attempts = 0;
    await failing.start(async () => {
      attempts += 1;
      throw new Error('store unavailable');
    });
    const { t: a } = await listening(alice, urls);
    const p = payload(alice, 'handle me later');
    expect((await a.send({ identity: publicPart(bob) }, p)).endpoints.every((e) => e.ok)).toBe(true);
    await waitFor(() => attempts >= 2, 'the failing handler ran for both copies');
    await failing.stop();

    const { inbox } = await listening(bob, urls);
    await waitFor(() => urls.every((u) => inbox.some((e) => e.endpoint === u && e.body === p.json)), 'the redelivered copies');
  });

  it('redelivers a copy whose handler threw, within the same run, once the handler recovers', async () => {
    const [mosq] = await brokers(1);
    const alice = generateIdentity();
    const bob = generateIdentity();
    const b = transport(bob, [mosq!.url]);
    let failures = 0;
    const inbox: InboundEnvelope[] = [];
    await b.start(async (e) => {
      if (failures < 1) {
        failures += 1;
        throw new Error('temporarily unavailable');
      }
      inbox.push(e);
    });
    const { t: a } = await listening(alice, [mosq!.url]);
    const p = payload(alice, 'try again');
    expect((await a.send({ identity: publicPart(bob) }, p)).ok).toBe(true);
    await waitFor(() => inbox.some((e) => e.body === p.json), 'the redelivered copy');
    expect(failures).toBe(1);
  });

  it('backs off exponentially against a broker that keeps failing, logs it once, and stops retrying after stop()', async () => {
    let attempts = 0;
    const sockets = new Set<Socket>();
    // Accepts TCP and hangs up at once: every MQTT connect attempt fails.
    const server = createServer((s) => {
      attempts += 1;
      sockets.add(s);
      s.destroy();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const port = (server.address() as { port: number }).port;
    const alice = generateIdentity();
    const { lines, log } = logCapture();
    const t = transport(alice, [`mqtt://127.0.0.1:${port}`], { reconnectMinMs: 50, reconnectMaxMs: 400 }, { ...testContext(alice), log });
    const t0 = Date.now();
    await t.start(async () => undefined);
    expect(Date.now() - t0).toBeLessThan(FAST.connectTimeoutMs);
    await sleep(1600);
    // A fixed 50 ms period would make ~30 attempts; 50, 100, 200, 400, 400 … makes about 7.
    expect(attempts).toBeGreaterThanOrEqual(3);
    expect(attempts).toBeLessThanOrEqual(12);
    const warnings = lines.filter((l) => l.includes('unreachable'));
    expect(warnings).toHaveLength(1);
    expect(t.status()[0]).toMatchObject({ connected: false });

    await t.stop();
    const after = attempts;
    await sleep(600);
    expect(attempts).toBe(after);
    const report = await t.send({ identity: publicPart(generateIdentity()) }, payload(alice, 'stopped'));
    expect(report.ok).toBe(false);
  });
});
