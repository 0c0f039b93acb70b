import { Writable } from 'node:stream';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { pino } from 'pino';
import { generateIdentity, identityFromPrivateKeys, publicPart } from '../../src/identity/keys.js';
import type { Identity } from '../../src/identity/keys.js';
import { nip44Decrypt } from '../../src/identity/crypto.js';
import { encodeMagnet } from '../../src/identity/magnet.js';
import { newMessage, serializeChatMessage } from '../../src/protocol/chat-message.js';
import type { RejectionCode } from '../../src/protocol/chat-message.js';
import type { InboundEnvelope, OutboundPayload, TransportContext } from '../../src/transports/transport.js';
import { MqttConfigSchema } from '../../src/transports/mqtt/config.js';
import type { MqttConfigInput } from '../../src/transports/mqtt/config.js';
import { buildSignedEnvelope, parseEnvelope } from '../../src/transports/mqtt/envelope.js';
import { MqttTransport, mqttClientId } from '../../src/transports/mqtt/mqtt-transport.js';
import { runTransportContract } from './contract.js';
import type { ContractHarness, InjectKind } from './contract.js';
import { testContext } from '../support/context.js';
import { sleep, waitFor } from '../support/wait.js';
import { freePort, publishRaw, startMosquittos, watchRaw } from '../support/mosquitto.js';
import type { TestBroker } from '../support/mosquitto.js';
import { startAedes } from '../support/aedes-broker.js';
import type { AedesTestBroker } from '../support/aedes-broker.js';

// Pass-through spy: lets a test count how often envelopes are parsed (verified).
vi.mock('../../src/transports/mqtt/envelope.js', async (importOriginal) => {
  const actual = await importOriginal<typeof import('../../src/transports/mqtt/envelope.js')>();
  return { ...actual, parseEnvelope: vi.fn(actual.parseEnvelope) };
});

const MAX = 64 * 1024;
const FAST = { connectTimeoutMs: 2000, sendTimeoutMs: 2000, reconnectMinMs: 100, reconnectMaxMs: 1000 };

function config(brokers: string[], extra: Partial<MqttConfigInput> = {}) {
  return MqttConfigSchema.parse({ brokers, ...FAST, ...extra });
}

function payload(from: Identity, text: string): OutboundPayload {
  const m = newMessage(encodeMagnet(from), text);
  return { uuid: m.uuid, json: serializeChatMessage(m) };
}

/** Raw bad input for the contract, published straight to dm/<recipient x-only> on one broker. */
async function inject(url: string, kind: InjectKind, from: Identity, to: Identity): Promise<readonly RejectionCode[]> {
  const topic = `dm/${to.xOnly}`;
  const json = payload(from, `injected ${kind}`).json;
  switch (kind) {
    case 'malformed':
      await publishRaw(url, topic, '{"from": "04ab", "content": ');
      return ['malformed-json'];
    case 'oversized':
      await publishRaw(url, topic, `{"from":"${from.secp256k1PublicKey}","content":"${'x'.repeat(MAX * 2 + 4096)}","timestamp":1}`);
      return ['oversized'];
    case 'forged-signature': {
      const env = JSON.parse(buildSignedEnvelope(from, to.xOnly, json, Date.now(), true)) as { sig: string };
      const sig = `${env.sig.slice(0, 20)}${env.sig[20] === 'a' ? 'b' : 'a'}${env.sig.slice(21)}`;
      await publishRaw(url, topic, JSON.stringify({ ...env, sig }));
      return ['bad-signature'];
    }
    case 'sender-mismatch': {
      // Mallory signs correctly with her own key but names `from` as the sender.
      const mallory = generateIdentity();
      const env = JSON.parse(buildSignedEnvelope(mallory, to.xOnly, json, Date.now(), false)) as Record<string, unknown>;
      await publishRaw(url, topic, JSON.stringify({ ...env, from: from.secp256k1PublicKey }));
      return ['bad-signature', 'sender-mismatch'];
    }
  }
}

function harnessFor(brokers: () => readonly TestBroker[]): () => ContractHarness {
  return () => ({
    endpointCount: brokers().length,
    // acceptUnsigned: the contract's seed-peer case delivers an unsigned seed envelope to a roomcast receiver.
    make: (ctx: TransportContext) => new MqttTransport(config(brokers().map((b) => b.url), { acceptUnsigned: true }), ctx),
    makeUnreachable: async (ctx: TransportContext) => {
      const ports = await Promise.all(brokers().map(() => freePort()));
      return new MqttTransport(config(ports.map((p) => `mqtt://127.0.0.1:${p}`)), ctx);
    },
    inject: (kind, from, to) => inject(brokers()[0]!.url, kind, from, to),
    unreachableBoundMs: FAST.connectTimeoutMs + 1500,
    pooled: true,
  });
}

describe('mqtt over 3 mosquitto brokers', () => {
  let brokers: TestBroker[] = [];
  beforeAll(async () => {
    brokers = await startMosquittos(3);
  });
  afterAll(async () => {
    await Promise.all(brokers.map((b) => b.stop()));
  });
  runTransportContract('mqtt (3 mosquitto)', harnessFor(() => brokers));
});

describe('mqtt over aedes', () => {
  let aedes: AedesTestBroker;
  let mosquittos: TestBroker[] = [];
  const started: MqttTransport[] = [];
  const closers: Array<() => Promise<void>> = [];
  beforeAll(async () => {
    [aedes, mosquittos] = await Promise.all([startAedes(), startMosquittos(2)]);
  });
  afterAll(async () => {
    await Promise.all([aedes.stop(), ...mosquittos.map((b) => b.stop())]);
  });
  afterEach(async () => {
    await Promise.all(started.splice(0).map((t) => t.stop()));
    await Promise.all(closers.splice(0).map((c) => c()));
  });

  runTransportContract('mqtt (aedes)', harnessFor(() => [aedes]));

  async function node(id: Identity, brokers: string[], extra: Partial<MqttConfigInput> = {}, ctx = testContext(id)) {
    const t = new MqttTransport(config(brokers, extra), ctx);
    started.push(t);
    const inbox: InboundEnvelope[] = [];
    await t.start(async (e) => void inbox.push(e));
    return { t, inbox, ctx };
  }

  describe('seed compatibility', () => {
    function seedEnvelope(from: Identity, json: string): string {
      // Exactly what the seed client publishes (PROTOCOL.md §3), built by hand.
      return JSON.stringify({ from: from.secp256k1PublicKey, content: json, timestamp: Date.now() });
    }

    it('delivers a retained seed envelope (published before we subscribed) as unverified when acceptUnsigned', async () => {
      const seedAlice = identityFromPrivateKeys(generateIdentity().secp256k1PrivateKey, generateIdentity().ed25519PrivateKey, []);
      const bob = generateIdentity();
      const json = payload(seedAlice, 'hi from the seed client').json;
      await publishRaw(aedes.url, `dm/${bob.xOnly}`, seedEnvelope(seedAlice, json), { retain: true });
      const { inbox, ctx } = await node(bob, [aedes.url], { acceptUnsigned: true });
      await waitFor(() => inbox.length >= 1, 'the retained seed message');
      expect(inbox[0]).toMatchObject({
        transport: 'mqtt',
        endpoint: aedes.url,
        sender: { kind: 'xonly', key: seedAlice.xOnly },
        verified: false,
        body: json,
      });
      expect(ctx.rejections).toHaveLength(0);
    });

    it('rejects a seed envelope with code "unsigned" when acceptUnsigned is off', async () => {
      const seedAlice = generateIdentity();
      const bob = generateIdentity();
      await publishRaw(aedes.url, `dm/${bob.xOnly}`, seedEnvelope(seedAlice, payload(seedAlice, 'unsigned').json), { retain: true });
      const { inbox, ctx } = await node(bob, [aedes.url], { acceptUnsigned: false });
      await waitFor(() => ctx.rejections.length >= 1, 'a rejection');
      expect(ctx.rejections[0]).toMatchObject({ transport: 'mqtt', endpoint: aedes.url, rejection: { code: 'unsigned' } });
      await sleep(100);
      expect(inbox).toHaveLength(0);
    });

    it('sends a seed peer exactly {from, content, timestamp}, with our uncompressed key and the ChatMessage verbatim', async () => {
      const alice = generateIdentity();
      const seedBob = identityFromPrivateKeys(generateIdentity().secp256k1PrivateKey, generateIdentity().ed25519PrivateKey, []);
      const watch = await watchRaw(aedes.url, `dm/${seedBob.xOnly}`);
      closers.push(watch.close);
      const { t } = await node(alice, [aedes.url]);
      const p = payload(alice, 'hello seed client');
      const before = Date.now();
      expect((await t.send({ identity: publicPart(seedBob) }, p)).ok).toBe(true);
      await waitFor(() => watch.messages.length >= 1, 'the published envelope');
      const env = JSON.parse(watch.messages[0]!.payload.toString('utf8')) as Record<string, unknown>;
      expect(Object.keys(env)).toEqual(['from', 'content', 'timestamp']);
      expect(env.from).toBe(alice.secp256k1PublicKey);
      expect(env.content).toBe(p.json);
      expect(env.timestamp).toBeGreaterThanOrEqual(before);
    });

    it('sends a roomcast peer a signed, NIP-44 encrypted envelope, not retained', async () => {
      const alice = generateIdentity();
      const bob = generateIdentity();
      const topic = `dm/${bob.xOnly}`;
      const watch = await watchRaw(aedes.url, topic);
      closers.push(watch.close);
      const { t } = await node(alice, [aedes.url]);
      const p = payload(alice, 'confidential words');
      expect((await t.send({ identity: publicPart(bob) }, p)).ok).toBe(true);
      await waitFor(() => watch.messages.length >= 1, 'the published envelope');
      const raw = watch.messages[0]!.payload.toString('utf8');
      const env = JSON.parse(raw) as Record<string, unknown>;
      expect(env).toMatchObject({ from: alice.secp256k1PublicKey, v: 1, to: bob.xOnly, enc: 'nip44' });
      expect(env.sig).toMatch(/^[0-9a-f]{128}$/);
      expect(env.content).not.toBe(p.json);
      expect(raw).not.toContain('confidential words');
      expect(nip44Decrypt(bob.secp256k1PrivateKey, alice.xOnly, env.content as string)).toBe(p.json);
      // retain: false — a subscriber arriving later gets nothing.
      const late = await watchRaw(aedes.url, topic);
      closers.push(late.close);
      await sleep(200);
      expect(late.messages).toHaveLength(0);
    });
  });

  it('listens on dm/<uncompressed key> as well as dm/<x-only key>', async () => {
    const alice = generateIdentity();
    const bob = generateIdentity();
    const { inbox } = await node(bob, [aedes.url]);
    const p = payload(alice, 'to the long topic');
    await publishRaw(aedes.url, `dm/${bob.secp256k1PublicKey}`, buildSignedEnvelope(alice, bob.xOnly, p.json, Date.now(), true));
    await waitFor(() => inbox.length >= 1, 'a copy via dm/<uncompressed>');
    expect(inbox[0]).toMatchObject({ body: p.json, verified: true, sender: { kind: 'xonly', key: alice.xOnly } });
  });

  it('verifies identical copies from several brokers once, and still delivers each copy', async () => {
    const alice = generateIdentity();
    const bob = generateIdentity();
    const urls = mosquittos.map((b) => b.url);
    const { inbox } = await node(bob, urls);
    const { t } = await node(alice, urls);
    const spy = vi.mocked(parseEnvelope);
    const callsBefore = spy.mock.calls.length;
    const p = payload(alice, 'verify me once');
    expect((await t.send({ identity: publicPart(bob) }, p)).endpoints.filter((e) => e.ok)).toHaveLength(2);
    await waitFor(() => inbox.length >= 2, 'a copy from both brokers');
    expect(new Set(inbox.map((e) => e.endpoint))).toEqual(new Set(urls));
    expect(spy.mock.calls.length - callsBefore).toBe(1);
  });

  it('reports a message larger than maxMessageBytes as rejected on every broker, and publishes nothing', async () => {
    const alice = generateIdentity();
    const bob = generateIdentity();
    const watch = await watchRaw(aedes.url, `dm/${bob.xOnly}`);
    closers.push(watch.close);
    const urls = [aedes.url, ...mosquittos.map((b) => b.url)];
    const { t } = await node(alice, urls, {}, testContext(alice, 2048));
    expect(t.capabilities.maxBytes).toBe(2048);
    const report = await t.send({ identity: publicPart(bob) }, payload(alice, 'z'.repeat(3000)));
    expect(report.ok).toBe(false);
    expect(report.reason).toBe('rejected');
    expect(report.endpoints.map((e) => e.endpoint)).toEqual(urls);
    expect(report.endpoints.every((e) => !e.ok && e.reason === 'rejected')).toBe(true);
    expect((await t.send({ identity: publicPart(bob) }, payload(alice, 'small'))).ok).toBe(true);
    await waitFor(() => watch.messages.length >= 1, 'the small message');
    await sleep(100);
    expect(watch.messages).toHaveLength(1);
  });

  it('reports every broker unreachable before start, and mixes per-broker results in config order', async () => {
    const alice = generateIdentity();
    const bob = generateIdentity();
    const closed = `mqtt://127.0.0.1:${await freePort()}`;
    const t = new MqttTransport(config([aedes.url, closed]), testContext(alice));
    started.push(t);
    const early = await t.send({ identity: publicPart(bob) }, payload(alice, 'too early'));
    expect(early.ok).toBe(false);
    expect(early.endpoints.map((e) => e.reason)).toEqual(['unreachable', 'unreachable']);
    await t.start(async () => undefined);
    const report = await t.send({ identity: publicPart(bob) }, payload(alice, 'mixed'));
    expect(report.ok).toBe(true);
    expect(report.endpoints.map((e) => [e.endpoint, e.ok, e.reason])).toEqual([
      [aedes.url, true, undefined],
      [closed, false, 'unreachable'],
    ]);
    const [up, down] = t.status();
    expect(up).toMatchObject({ endpoint: aedes.url, connected: true });
    expect(down).toMatchObject({ endpoint: closed, connected: false });
    expect(down!.lastError).toMatch(/ECONNREFUSED/);
  });

  it('uses the stable client id and the URL credentials, but never shows the credentials', async () => {
    const seen: Array<{ id: string; username: string | undefined; password: string | undefined }> = [];
    aedes.broker.authenticate = (client, username, password, done) => {
      seen.push({ id: client.id, username, password: password?.toString() });
      done(null, true);
    };
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        lines.push(chunk.toString());
        cb();
      },
    });
    const alice = generateIdentity();
    const url = `mqtt://roomcast:s3cr3t-pw@127.0.0.1:${aedes.port}`;
    const ctx = { ...testContext(alice), log: pino({ level: 'debug' }, sink) };
    try {
      const { t } = await node(alice, [url], {}, ctx);
      await waitFor(() => t.status()[0]!.connected, 'connected');
      const report = await t.send({ identity: publicPart(generateIdentity()) }, payload(alice, 'x'));
      expect(seen).toContainEqual({ id: mqttClientId(alice.xOnly, url), username: 'roomcast', password: 's3cr3t-pw' });
      const visible = JSON.stringify([t.capabilities, t.status(), report, lines]);
      expect(t.capabilities.endpoints).toEqual([`mqtt://127.0.0.1:${aedes.port}`]);
      expect(lines.some((l) => l.includes('mqtt broker connected'))).toBe(true);
      expect(visible).not.toContain('s3cr3t-pw');
      expect(visible).not.toContain('roomcast:');
    } finally {
      aedes.broker.authenticate = (_c, _u, _p, done) => done(null, true);
    }
  });
});
