/**
 * Hand-offs (bridge/hand-off-queue.ts) through real Redis: a send-only
 * worker's XMTP send is made by the listening process's client (XMTP on an
 * in-memory network), a listener that is down makes it a timeout that is
 * never sent late, and bad hand-offs are refused. Then the runtime: a worker
 * process and a bridge process, the worker's XMTP copy sent by the bridge.
 */
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Broadcaster } from '../../src/broadcaster/broadcaster.js';
import { roomMessageUuid } from '../../src/bridge/bridge.js';
import { handOffSender, handOffWorker } from '../../src/bridge/hand-off-queue.js';
import { generateIdentity, publicPart } from '../../src/identity/keys.js';
import type { Identity } from '../../src/identity/keys.js';
import { encodeMagnet } from '../../src/identity/magnet.js';
import { silentLogger } from '../../src/observability/logger.js';
import { createMetrics } from '../../src/observability/metrics.js';
import { DEFAULT_PARSE_LIMITS, newMessage, serializeChatMessage } from '../../src/protocol/chat-message.js';
import { openQueueBackend } from '../../src/queue/index.js';
import type { QueueBackend } from '../../src/queue/index.js';
import { openStore } from '../../src/store/index.js';
import type { SendResult } from '../../src/store/store.js';
import { HandOffTransport } from '../../src/transports/hand-off.js';
import { NETWORK_LABELS } from '../../src/transports/registry.js';
import { XmtpConfigSchema, XmtpTransport } from '../../src/transports/xmtp/index.js';
import type { XmtpInboundDm } from '../../src/transports/xmtp/seam.js';
import { startTestBridge, TEST_REDIS_URL } from '../support/bridge.js';
import { testContext } from '../support/context.js';
import { startNetwork } from '../support/network.js';
import type { TestNetwork } from '../support/network.js';
import { waitForPost } from '../support/room-waits.js';
import { waitFor, sleep } from '../support/wait.js';
import { MemoryXmtpNetwork } from '../support/xmtp-memory-network.js';

const log = silentLogger();
const MOD = { id: '@mod:memory', displayName: 'Mod', level: 'moderator' as const };

function payload(from: Identity, text: string) {
  const m = newMessage(encodeMagnet(from), text);
  return { uuid: m.uuid, json: serializeChatMessage(m) };
}

describe('hand-offs through the queue', () => {
  let queue: QueueBackend;
  const closing: Array<() => Promise<unknown>> = [];
  beforeAll(async () => {
    queue = await openQueueBackend({ redisUrl: TEST_REDIS_URL, dataDir: mkdtempSync(join(tmpdir(), 'rc-hand-off-')), log });
  });
  afterEach(async () => {
    for (const c of closing.splice(0).reverse()) await c();
  });
  afterAll(async () => {
    await queue?.close();
  });

  /** The listening process: a room's broadcaster with XMTP on `net`, taking hand-offs from `name`. */
  async function listener(name: string, room: Identity, net: MemoryXmtpNetwork) {
    const dir = mkdtempSync(join(tmpdir(), 'rc-hand-off-l-'));
    const ctx = testContext(room);
    const xmtp = new XmtpTransport(XmtpConfigSchema.parse({ dbDir: join(dir, 'xmtp'), createTimeoutMs: 2000, sendTimeoutMs: 2000, retryMinMs: 20, retryMaxMs: 200 }), ctx, net);
    const store = await openStore({ url: `file:${join(dir, 'roomcast.db')}` });
    const b = new Broadcaster({ identity: room, transports: [xmtp], store, log, metrics: createMetrics(), reject: ctx.reject, limits: DEFAULT_PARSE_LIMITS, maxConcurrentSends: 4, networks: NETWORK_LABELS });
    await b.start();
    const worker = handOffWorker(queue, name, async (owner) => (owner === room.xOnly ? b : undefined), log);
    closing.push(async () => {
      await worker.close();
      await b.stop();
      await store.close();
    });
    return b;
  }

  /** What `to` receives on the in-memory XMTP network. */
  async function inbox(net: MemoryXmtpNetwork, to: Identity): Promise<XmtpInboundDm[]> {
    const got: XmtpInboundDm[] = [];
    const session = await net.create({ privateKey: to.secp256k1PrivateKey, address: to.ethAddress, dbPath: ':memory:', dbEncryptionKey: new Uint8Array(32), env: 'local' });
    await session.streamDms((m) => got.push(m));
    closing.push(() => session.close());
    return got;
  }

  function sender(name: string, room: Identity, waitMs: number) {
    const s = handOffSender(queue, name, waitMs, log);
    closing.push(() => s.close());
    const shape = new XmtpTransport(XmtpConfigSchema.parse({}), testContext(room), new MemoryXmtpNetwork());
    return new HandOffTransport(shape, room, s.handOff);
  }

  it('a worker’s XMTP send is made by the listener’s client, and its report comes back', async () => {
    const name = `hand-off-${Date.now()}`;
    const net = new MemoryXmtpNetwork();
    const room = generateIdentity();
    const alice = generateIdentity();
    const got = await inbox(net, alice);
    await listener(name, room, net);
    const t = sender(name, room, 10_000);
    const p = payload(room, 'handed off');
    const report = await t.send({ identity: publicPart(alice) }, p);
    expect(report).toMatchObject({ transport: 'xmtp', ok: true });
    expect(report.endpoints.map((e) => e.endpoint)).toEqual(['xmtp:dev']);
    await waitFor(() => got.some((m) => m.text === p.json), 'the DM at alice');
    expect(got.find((m) => m.text === p.json)!.senderAddresses).toContain(room.ethAddress.toLowerCase());
    expect(t.status()[0]).toMatchObject({ connected: true });
  });

  it('with no listener it is a timeout, and a listener that comes later does not send it', async () => {
    const name = `hand-off-late-${Date.now()}`;
    const net = new MemoryXmtpNetwork();
    const room = generateIdentity();
    const alice = generateIdentity();
    const got = await inbox(net, alice);
    const t = sender(name, room, 800);
    const t0 = Date.now();
    const report = await t.send({ identity: publicPart(alice) }, payload(room, 'nobody listens'));
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(report).toMatchObject({ ok: false, reason: 'timeout' });
    expect(report.error).toMatch(/did not send it within 800 ms/);

    await listener(name, room, net);
    await sleep(1500);
    expect(net.sendAttempts).toBe(0);
    expect(got).toHaveLength(0);
  });

  it('refuses a malformed hand-off and one for a room it does not listen as', async () => {
    const name = `hand-off-bad-${Date.now()}`;
    const net = new MemoryXmtpNetwork();
    const room = generateIdentity();
    await listener(name, room, net);
    const stranger = generateIdentity();
    const report = await sender(name, stranger, 10_000).send({ identity: publicPart(generateIdentity()) }, payload(stranger, 'not a room here'));
    expect(report).toMatchObject({ ok: false, reason: 'unreachable' });
    const raw = queue.queue(name);
    const job = await raw.add('send', { network: 'xmtp', from: 'zz', to: 'magnet:?', uuid: 'x', json: '{}', deadline: Date.now() + 10_000, extra: true });
    const events = queue.events(name);
    await events.waitUntilReady();
    const answer = (await job.waitUntilFinished(events, 10_000)) as { ok: boolean; reason: string };
    await events.close();
    expect(answer).toMatchObject({ ok: false, reason: 'rejected' });
    expect(net.sendAttempts).toBe(0);
  });
});

describe('hand-offs in the runtime', () => {
  let net: TestNetwork;
  beforeAll(async () => {
    net = await startNetwork(1, 1);
  });
  afterAll(async () => {
    await net?.stop();
  });

  it('a worker process hands its XMTP copies to the bridge process, which holds the only XMTP client', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rc-hand-off-rt-'));
    // XMTP on the real SDK, pointed at a local node that is not there: the listener's client fails fast with its own reason.
    const xmtp = { enabled: true, env: 'local', createTimeoutMs: 3000, sendTimeoutMs: 3000, retryMinMs: 200, retryMaxMs: 1000 };
    const first = await startTestBridge({ net, role: 'bridge', transports: { xmtp: { ...xmtp, dbDir: join(dir, 'bridge') } } });
    const second = await startTestBridge({
      net,
      role: 'worker',
      store: first.store,
      service: first.service,
      platform: first.platform,
      queue: first.queue,
      queueNames: first.queueNames,
      transports: { xmtp: { ...xmtp, dbDir: join(dir, 'worker') } },
    });
    const room = first.platform.room('!hand-off');
    try {
      await first.platform.say(room, MOD, `!roomcast contact add alice ${encodeMagnet(generateIdentity())}`);
      await waitForPost(first.platform, room, (e) => e.text.includes('alice'));
      const owner = (await first.rt.directory.room('memory', '!hand-off')).identity.xOnly;
      const id = await first.platform.say(room, { id: '@bob', displayName: 'Bob' }, 'over every network');
      const roomUuid = roomMessageUuid({ room, id });
      let copy: string | undefined;
      await waitFor(async () => (copy = (await first.store.rooms.listOutboxCopies(roomUuid))[0]?.uuid) !== undefined, 'the copy on record', 20_000);
      let xmtpResult: SendResult | undefined;
      await waitFor(async () => (xmtpResult = (await first.store.getSendResults(owner, copy!)).find((r) => r.protocol === 'xmtp')) !== undefined, 'an XMTP result', 30_000);
      if (!xmtpResult) throw new Error('unreachable');
      // Answered by the bridge process's XMTP client (its failure), not a hand-off nobody took.
      expect(xmtpResult.ok).toBe(false);
      expect(xmtpResult.error ?? '').not.toMatch(/did not send it within/);
      // The bridge process's client failing, or still being made (its own words, not the hand-off's).
      expect(['unreachable', 'timeout']).toContain(xmtpResult.reason);
      expect(xmtpResult.error ?? '').toMatch(/xmtp/i);
      // Only the bridge process ever made an XMTP client (each attempt creates its database folder).
      expect(existsSync(join(dir, 'bridge'))).toBe(true);
      expect(existsSync(join(dir, 'worker'))).toBe(false);
    } finally {
      await second.stop();
      await first.stop();
    }
  }, 90_000);
});
