import { afterEach, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { openStore } from '../../src/store/index.js';
import { FLAVOURS, freshUrl, inbound, openFresh, xOnly } from './helpers.js';
import type { Opened } from './helpers.js';
import type { ProtocolId } from '../../src/protocol/chat-message.js';

const PROTOCOLS: readonly ProtocolId[] = ['nostr', 'mqtt', 'xmtp'];

const opened: Opened[] = [];
afterEach(async () => {
  for (const o of opened.splice(0)) await o.dispose();
});
async function fresh(flavour: (typeof FLAVOURS)[number]) {
  const o = await openFresh(flavour);
  opened.push(o);
  return o.store;
}

describe.each(FLAVOURS)('inbound messages (%s)', (flavour) => {
  it('stores the first copy, reports later copies as duplicates, and keeps a receipt for each', async () => {
    const store = await fresh(flavour);
    const owner = xOnly();
    const peer = xOnly();
    const first = inbound({ owner, peer, protocol: 'mqtt', endpoint: 'mqtt://a', timestamp: 1000, receivedAt: 1150, verified: false });
    expect(await store.recordInbound(first)).toEqual({ first: true, latencyMs: 150 });
    const copy = { ...first, protocol: 'nostr' as const, endpoint: 'wss://r', receivedAt: 1400, content: 'tampered', verified: true };
    expect(await store.recordInbound(copy)).toEqual({ first: false, latencyMs: 400 });

    const msg = await store.getMessage(owner, first.uuid);
    // The first copy's fields stand; later copies never rewrite them. Outbound-only fields are absent, not undefined/null.
    expect(msg).toStrictEqual({
      owner,
      uuid: first.uuid,
      direction: 'in',
      peer,
      fromMagnetLink: first.fromMagnetLink,
      content: 'hello',
      timestamp: 1000,
      state: 'received',
      firstVia: 'mqtt',
      receivedAt: 1150,
      verified: false,
    });
    expect(await store.getReceipts(owner, first.uuid)).toStrictEqual([
      { owner, peer, uuid: first.uuid, kind: 'message', protocol: 'mqtt', endpoint: 'mqtt://a', receivedAt: 1150, latencyMs: 150 },
      { owner, peer, uuid: first.uuid, kind: 'message', protocol: 'nostr', endpoint: 'wss://r', receivedAt: 1400, latencyMs: 400 },
    ]);
  });

  it('clamps latency at 0 when the sender clock is ahead', async () => {
    const store = await fresh(flavour);
    const r = inbound({ owner: xOnly(), peer: xOnly(), timestamp: 5000, receivedAt: 4000 });
    expect(await store.recordInbound(r)).toEqual({ first: true, latencyMs: 0 });
    expect((await store.getReceipts(r.owner, r.uuid))[0]?.latencyMs).toBe(0);
  });

  it('scopes de-duplication by owner: two local identities both get their first copy', async () => {
    const store = await fresh(flavour);
    const uuid = randomUUID();
    const peer = xOnly();
    const [a, b] = [xOnly(), xOnly()];
    expect((await store.recordInbound(inbound({ owner: a, peer, uuid }))).first).toBe(true);
    expect((await store.recordInbound(inbound({ owner: b, peer, uuid }))).first).toBe(true);
    expect(await store.getReceipts(a, uuid)).toHaveLength(1);
    expect(await store.getMessage(b, uuid)).toMatchObject({ owner: b });
    expect(await store.getMessage(xOnly(), uuid)).toBeUndefined();
  });

  it('returns first = true exactly once for 50 concurrent copies of one message', async () => {
    const store = await fresh(flavour);
    const owner = xOnly();
    const base = inbound({ owner, peer: xOnly() });
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        store.recordInbound({ ...base, protocol: PROTOCOLS[i % 3] ?? 'nostr', endpoint: `ep-${i}`, receivedAt: base.receivedAt + i }),
      ),
    );
    expect(results.filter((r) => r.first)).toHaveLength(1);
    expect(await store.getReceipts(owner, base.uuid)).toHaveLength(50);
  });

  it('lists messages newest first, limited, per owner', async () => {
    const store = await fresh(flavour);
    const owner = xOnly();
    const peer = xOnly();
    const uuids: string[] = [];
    for (const t of [3000, 1000, 2000, 2000]) {
      const r = inbound({ owner, peer, timestamp: t, receivedAt: t + 10 });
      uuids.push(r.uuid);
      await store.recordInbound(r);
    }
    await store.recordInbound(inbound({ owner: xOnly(), peer, timestamp: 9999 }));
    const all = await store.listMessages(owner, 10);
    // 3000, then the two 2000s newest-stored first, then 1000
    expect(all.map((m) => m.uuid)).toEqual([uuids[0], uuids[3], uuids[2], uuids[1]]);
    expect((await store.listMessages(owner, 2)).map((m) => m.timestamp)).toEqual([3000, 2000]);
    expect(await store.listMessages(owner, 0)).toEqual([]);
    expect(await store.listMessages(owner, -5)).toEqual([]);
    expect(await store.listMessages(owner, Number.POSITIVE_INFINITY)).toHaveLength(4);
  });

  it('returns nothing for unknown messages', async () => {
    const store = await fresh(flavour);
    expect(await store.getMessage(xOnly(), randomUUID())).toBeUndefined();
    expect(await store.getReceipts(xOnly(), randomUUID())).toEqual([]);
  });
});

describe('inbound de-duplication on a file database', () => {
  it('survives close and reopen (retained MQTT copies after a restart are not first)', async () => {
    const { url, cleanup } = freshUrl('file');
    try {
      const r = inbound({ owner: xOnly(), peer: xOnly() });
      const s1 = await openStore({ url });
      expect((await s1.recordInbound(r)).first).toBe(true);
      await s1.close();
      const s2 = await openStore({ url });
      expect((await s2.recordInbound({ ...r, receivedAt: r.receivedAt + 60_000 })).first).toBe(false);
      expect(await s2.getReceipts(r.owner, r.uuid)).toHaveLength(2);
      await s2.close();
    } finally {
      cleanup();
    }
  });

  it('holds with two stores (two connections) on the same file racing for the same uuid', async () => {
    const { url, cleanup } = freshUrl('file');
    const [s1, s2] = [await openStore({ url }), await openStore({ url })];
    try {
      const r = inbound({ owner: xOnly(), peer: xOnly() });
      const results = await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 ? s1 : s2).recordInbound({ ...r, endpoint: `ep-${i}` })));
      expect(results.filter((x) => x.first)).toHaveLength(1);
      expect(await s1.getReceipts(r.owner, r.uuid)).toHaveLength(40);
    } finally {
      await s1.close();
      await s2.close();
      cleanup();
    }
  });
});
