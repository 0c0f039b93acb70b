/**
 * One relay socket per process, shared by every identity (ConnectionPool),
 * against real in-process relays: `#p` in chunks, routing by `p` tag, a
 * resume after the relay restarts, identities joining and leaving, and a
 * relay that asks for AUTH.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { generateIdentity, identityFromPrivateKeys, publicPart } from '../../src/identity/keys.js';
import type { Identity } from '../../src/identity/keys.js';
import { encodeMagnet } from '../../src/identity/magnet.js';
import { newMessage, serializeChatMessage } from '../../src/protocol/chat-message.js';
import { ConnectionPool } from '../../src/transports/connection-pool.js';
import { NostrTransport } from '../../src/transports/nostr/index.js';
import { OPENED_MEMORY_KEY } from '../../src/transports/nostr/inbound.js';
import type { OpenedMemory } from '../../src/transports/nostr/inbound.js';
import { P_CHUNK } from '../../src/transports/nostr/shared-relay.js';
import type { InboundEnvelope, OutboundPayload } from '../../src/transports/transport.js';
import { testContext } from '../support/context.js';
import { startRelay } from '../support/nostr-relay.js';
import type { TestRelay } from '../support/nostr-relay.js';
import { sleep, waitFor } from '../support/wait.js';

const FAST = { publishTimeoutMs: 4000, connectTimeoutMs: 2000, reconnectMinMs: 100, reconnectMaxMs: 500 };

function payload(from: Identity, text: string): OutboundPayload {
  const m = newMessage(encodeMagnet(from), text);
  return { uuid: m.uuid, json: serializeChatMessage(m) };
}

/** The seed (kind 4) form of an identity: a peer that advertises nothing. */
function seed(id: Identity): Identity {
  return identityFromPrivateKeys(id.secp256k1PrivateKey, id.ed25519PrivateKey, []);
}

describe('Nostr sockets shared by the identities of one process', () => {
  const cleanups: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  async function relay(auth = false): Promise<TestRelay> {
    const r = await startRelay({ auth });
    cleanups.push(() => r.stop());
    return r;
  }

  function member(id: Identity, pool: ConnectionPool | undefined, urls: string[], cursors = testContext(id)) {
    const t = new NostrTransport({ relays: urls, ...FAST }, { ...cursors, ...(pool ? { pool } : {}) });
    const inbox: InboundEnvelope[] = [];
    cleanups.push(() => t.stop());
    return { id, t, inbox, ctx: cursors, start: () => t.start(async (e) => void inbox.push(e)) };
  }

  it(`listens as ${P_CHUNK * 2 + 50} identities on one socket per relay, each receiving only its own`, async () => {
    const [r1, r2] = [await relay(), await relay()];
    const urls = [r1.url, r2.url];
    const service = generateIdentity();
    const pool = new ConnectionPool({ owner: service });
    const rooms = Array.from({ length: P_CHUNK * 2 + 50 }, () => member(generateIdentity(), pool, urls));
    await Promise.all(rooms.map((m) => m.start()));
    const carol = member(generateIdentity(), undefined, urls);
    await carol.start();
    expect(r1.connections()).toBe(2); // the pool's and carol's
    expect(r2.connections()).toBe(2);

    // One message to a room in each chunk (and the last), one in the NIP-17 form and the others as kind 4.
    const picked = [0, P_CHUNK + 1, rooms.length - 1].map((i) => rooms[i]!);
    const sent = await Promise.all(
      picked.map(async (m, i) => {
        const p = payload(carol.id, `for room ${i}`);
        expect((await carol.t.send({ identity: publicPart(i === 0 ? m.id : seed(m.id)) }, p)).ok).toBe(true);
        return p;
      }),
    );
    await waitFor(() => picked.every((m, i) => m.inbox.filter((e) => e.body === sent[i]!.json).length === 2), `each picked room its message from both relays (${picked.map((m) => m.inbox.length).join(",")})`);
    await sleep(300);
    const others = rooms.filter((m) => !picked.includes(m));
    expect(others.every((m) => m.inbox.length === 0)).toBe(true);
    expect(picked.every((m) => m.inbox.length === 2)).toBe(true);
    expect(rooms.every((m) => m.ctx.rejections.length === 0)).toBe(true);
    // The rooms share one memory of opened events: each event once, whichever relay brought it.
    expect(pool.shared<OpenedMemory | undefined>(OPENED_MEMORY_KEY, () => undefined)?.size).toBe(picked.length);
  });

  it('joins and leaves while running: a newcomer gets its messages, one that left gets none, the socket stays one', async () => {
    const r = await relay();
    const service = generateIdentity();
    const pool = new ConnectionPool({ owner: service });
    const first = member(generateIdentity(), pool, [r.url]);
    await first.start();
    const carol = member(generateIdentity(), undefined, [r.url]);
    await carol.start();

    const late = member(generateIdentity(), pool, [r.url]);
    await late.start();
    const toLate = payload(carol.id, 'welcome');
    await carol.t.send({ identity: publicPart(late.id) }, toLate);
    await waitFor(() => late.inbox.some((e) => e.body === toLate.json), 'the newcomer’s message');

    await first.t.stop();
    await carol.t.send({ identity: publicPart(first.id) }, payload(carol.id, 'after leaving'));
    const again = payload(carol.id, 'still here');
    await carol.t.send({ identity: publicPart(late.id) }, again);
    await waitFor(() => late.inbox.some((e) => e.body === again.json), 'the remaining one’s message');
    expect(first.inbox).toHaveLength(0);
    expect(r.connections()).toBe(2);
    await late.t.stop();
    await waitFor(() => r.connections() === 1, 'the pool’s socket closed with its last user');
  });

  it('identities joining one by one get subscriptions of their own, merged once there are several; each gets its message once per relay', async () => {
    const r = await relay();
    const pool = new ConnectionPool({ owner: generateIdentity() });
    const rooms = Array.from({ length: 12 }, () => member(generateIdentity(), pool, [r.url]));
    for (const m of rooms) await m.start();
    const carol = member(generateIdentity(), undefined, [r.url]);
    await carol.start();
    const sent = await Promise.all(rooms.map(async (m, i) => {
      const p = payload(carol.id, `one by one ${i}`);
      await carol.t.send({ identity: publicPart(m.id) }, p);
      return p;
    }));
    await waitFor(() => rooms.every((m, i) => m.inbox.some((e) => e.body === sent[i]!.json)), 'every room its message');
    await sleep(300);
    expect(rooms.map((m) => m.inbox.length)).toEqual(rooms.map(() => 1));
    expect(r.connections()).toBe(2);
  });

  it('resumes every identity from its own cursor after the relay restarts', async () => {
    const r = await relay();
    const service = generateIdentity();
    const pool = new ConnectionPool({ owner: service });
    const rooms = [member(generateIdentity(), pool, [r.url]), member(generateIdentity(), pool, [r.url])];
    for (const m of rooms) await m.start();
    await r.kill();
    const carol = generateIdentity();
    // Sent while our socket is down (straight into the relay's store once it is back).
    await r.restart();
    const sender = member(carol, undefined, [r.url]);
    await sender.start();
    const sent = await Promise.all(rooms.map(async (m, i) => {
      const p = payload(carol, `during the outage ${i}`);
      await sender.t.send({ identity: publicPart(m.id) }, p);
      return p;
    }));
    await waitFor(() => rooms.every((m, i) => m.inbox.some((e) => e.body === sent[i]!.json)), 'both rooms caught up');
    expect(rooms.every((m) => m.inbox.length === 1)).toBe(true);
  });

  it('a relay that asks for AUTH gets a socket per identity, each authenticated as itself', async () => {
    const r = await relay(true);
    const service = generateIdentity();
    const pool = new ConnectionPool({ owner: service });
    const rooms = [member(generateIdentity(), pool, [r.url]), member(generateIdentity(), pool, [r.url])];
    for (const m of rooms) await m.start();
    const carol = member(generateIdentity(), undefined, [r.url]);
    await carol.start();
    // Kind 4 is what this relay serves only to the key a socket authenticated as.
    const sent = await Promise.all(rooms.map(async (m, i) => {
      const p = payload(carol.id, `behind auth ${i}`);
      expect((await carol.t.send({ identity: publicPart(seed(m.id)) }, p)).ok).toBe(true);
      return p;
    }));
    await waitFor(() => rooms.every((m, i) => m.inbox.some((e) => e.body === sent[i]!.json)), 'each room its DM through the AUTH relay');
    expect(r.connections()).toBe(4); // the shared socket, one per room, carol's
  });
});
