/**
 * XMTP clients only where needed (transports.xmtp.rooms: 'reachable'): a room
 * gets its client (one installation and one stream each) only while one of
 * its contacts has an XMTP inbox; lookups are batched per process and the
 * client closes when no contact is left on XMTP. In-memory XMTP network.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { generateIdentity, publicPart } from '../../src/identity/keys.js';
import type { Identity, PublicIdentity } from '../../src/identity/keys.js';
import { encodeMagnet } from '../../src/identity/magnet.js';
import { newMessage, serializeChatMessage } from '../../src/protocol/chat-message.js';
import { ConnectionPool } from '../../src/transports/connection-pool.js';
import { XmtpConfigSchema, XmtpTransport } from '../../src/transports/xmtp/index.js';
import type { XmtpConfigInput } from '../../src/transports/xmtp/index.js';
import { testContext } from '../support/context.js';
import { sleep, waitFor } from '../support/wait.js';
import { MemoryXmtpNetwork } from '../support/xmtp-memory-network.js';

const FAST = { createTimeoutMs: 2000, sendTimeoutMs: 2000, retryMinMs: 20, retryMaxMs: 200 } satisfies XmtpConfigInput;

function payload(from: Identity, text: string) {
  const m = newMessage(encodeMagnet(from), text);
  return { uuid: m.uuid, json: serializeChatMessage(m) };
}

/** An identity with an inbox on `net` (a client was made for it). */
async function registered(net: MemoryXmtpNetwork): Promise<Identity> {
  const id = generateIdentity();
  const s = await net.create({ privateKey: id.secp256k1PrivateKey, address: id.ethAddress, dbPath: ':memory:', dbEncryptionKey: new Uint8Array(32), env: 'dev' });
  await s.close();
  return id;
}

describe('XMTP clients only for rooms with a contact on XMTP', () => {
  const stops: Array<() => Promise<void>> = [];
  afterEach(async () => {
    await Promise.all(stops.splice(0).map((s) => s()));
  });

  function room(net: MemoryXmtpNetwork, peers: () => PublicIdentity[], extra: XmtpConfigInput = {}, pool?: ConnectionPool) {
    const id = generateIdentity();
    const ctx = { ...testContext(id), peers: async () => peers(), ...(pool ? { pool } : {}) };
    const t = new XmtpTransport(XmtpConfigSchema.parse({ dbDir: mkdtempSync(join(tmpdir(), 'rc-xmtp-d-')), ...FAST, ...extra }), ctx, net);
    stops.push(() => t.stop());
    return { id, t };
  }

  const createdFor = (net: MemoryXmtpNetwork, id: Identity) => net.creates.filter((c) => c.address === id.ethAddress).length;

  it('makes no client for a room whose contacts have no inbox, and refuses sends to them without one', async () => {
    const net = new MemoryXmtpNetwork();
    const stranger = generateIdentity();
    const { id, t } = await Promise.resolve(room(net, () => [publicPart(stranger)]));
    await t.start(async () => undefined);
    await sleep(100);
    expect(createdFor(net, id)).toBe(0);
    expect(t.status()[0]).toMatchObject({ connected: false, lastError: expect.stringMatching(/^idle/) });
    const report = await t.send({ identity: publicPart(stranger) }, payload(id, 'hello?'));
    expect(report).toMatchObject({ ok: false, reason: 'rejected' });
    expect(report.error).toMatch(/has no XMTP inbox/);
    expect(createdFor(net, id)).toBe(0);
  });

  it('makes the client for a room with a contact on XMTP, and for every room with rooms: all', async () => {
    const net = new MemoryXmtpNetwork();
    const alice = await registered(net);
    const a = room(net, () => [publicPart(generateIdentity()), publicPart(alice)]);
    const b = room(net, () => [], { rooms: 'all' });
    await a.t.start(async () => undefined);
    await b.t.start(async () => undefined);
    await waitFor(() => a.t.status()[0]!.connected && b.t.status()[0]!.connected, 'both clients ready');
    const report = await a.t.send({ identity: publicPart(alice) }, payload(a.id, 'hi alice'));
    expect(report.ok).toBe(true);
  });

  it('an idle room wakes for a send to a contact that has an inbox, and closes again once none is left', async () => {
    const net = new MemoryXmtpNetwork();
    let peers: PublicIdentity[] = [];
    const { id, t } = room(net, () => peers, { reachableCheckMs: 1000 });
    await t.start(async () => undefined);
    await sleep(100);
    expect(createdFor(net, id)).toBe(0);

    const alice = await registered(net);
    peers = [publicPart(alice)];
    const report = await t.send({ identity: publicPart(alice) }, payload(id, 'wake up'));
    expect(report.ok).toBe(true);
    expect(createdFor(net, id)).toBe(1);
    expect(net.streamCount(id.ethAddress)).toBe(1);

    peers = [];
    await waitFor(() => net.streamCount(id.ethAddress) === 0 && !t.status()[0]!.connected, 'the client closed', 5000);
    expect(t.status()[0]!.lastError).toMatch(/^idle/);
  });

  it('rooms starting together ask the network once', async () => {
    const net = new MemoryXmtpNetwork();
    const pool = new ConnectionPool({ owner: generateIdentity() });
    const alice = await registered(net);
    const rooms = Array.from({ length: 20 }, (_, i) => room(net, () => [publicPart(i % 2 ? alice : generateIdentity())], {}, pool));
    await Promise.all(rooms.map((r) => r.t.start(async () => undefined)));
    await waitFor(() => rooms.filter((r) => r.t.status()[0]!.connected).length === 10, 'the ten rooms with alice ready');
    expect(net.reachabilityChecks).toBe(1);
    expect(rooms.filter((r) => createdFor(net, r.id) > 0)).toHaveLength(10);
  });
});
