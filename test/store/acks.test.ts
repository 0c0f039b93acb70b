import { afterEach, describe, expect, it, vi } from 'vitest';
import { randomUUID } from 'node:crypto';
import type { ProtocolId } from '../../src/protocol/chat-message.js';
import { Db } from '../../src/store/db.js';
import type { Store } from '../../src/store/index.js';
import { FLAVOURS, inbound, okEndpoint, openFresh, outbound, report, xOnly } from './helpers.js';
import type { Opened } from './helpers.js';

const opened: Opened[] = [];
afterEach(async () => {
  for (const o of opened.splice(0)) await o.dispose();
});

describe.each(FLAVOURS)('acks and channel preferences (%s)', (flavour) => {
  async function fresh() {
    const o = await openFresh(flavour);
    opened.push(o);
    return o.store;
  }

  /** Sends a message at `timestamp` and returns an ack factory for it. */
  async function sent(store: Store, owner: string, peer: string, timestamp = 1_000) {
    const m = outbound(owner, peer, { timestamp });
    await store.recordOutbound(m, [report('nostr', [okEndpoint('wss://a', 50)])]);
    return (protocol: ProtocolId, latency: number, endpoint = `${protocol}://x`) =>
      store.recordAck({ owner, originalUuid: m.uuid, peer, protocol, endpoint, receivedAt: timestamp + latency });
  }

  const prefs = async (store: Store, owner: string, peer: string) =>
    (await store.getChannelPreferences(owner, peer)).map((p) => ({
      protocol: p.protocol,
      order: p.preferenceOrder,
      working: p.working,
      avg: p.avgLatencyMs,
      samples: p.samples,
      cannotUse: p.cannotUse,
    }));

  it('ignores an ack for a message we never sent, writing nothing', async () => {
    const store = await fresh();
    const [owner, peer] = [xOnly(), xOnly()];
    const uuid = randomUUID();
    const outcome = await store.recordAck({ owner, originalUuid: uuid, peer, protocol: 'mqtt', endpoint: 'mqtt://c', receivedAt: 5 });
    expect(outcome).toEqual({ known: false, firstAck: false, firstOnProtocol: false, latencyMs: 0 });
    expect(await store.getReceipts(owner, uuid)).toEqual([]);
    expect(await store.getChannelPreferences(owner, peer)).toEqual([]);
  });

  it('ignores an ack whose uuid is an inbound message, or another owner’s outbound message', async () => {
    const store = await fresh();
    const r = inbound({ owner: xOnly(), peer: xOnly() });
    await store.recordInbound(r);
    expect((await store.recordAck({ owner: r.owner, originalUuid: r.uuid, peer: r.peer, protocol: 'mqtt', endpoint: 'm', receivedAt: 1 })).known).toBe(false);
    const m = outbound(xOnly(), xOnly());
    await store.recordOutbound(m, []);
    expect((await store.recordAck({ owner: xOnly(), originalUuid: m.uuid, peer: m.peer, protocol: 'mqtt', endpoint: 'm', receivedAt: 1 })).known).toBe(false);
    expect(await store.getReceipts(r.owner, r.uuid)).toHaveLength(1); // just the inbound copy
    expect(await store.getReceipts(m.owner, m.uuid)).toEqual([]);
  });

  it('marks the message acked on the first ack only, and reports first-per-protocol', async () => {
    const store = await fresh();
    const [owner, peer] = [xOnly(), xOnly()];
    const ack = await sent(store, owner, peer, 1_000);
    expect(await ack('mqtt', 150, 'mqtt://a')).toEqual({ known: true, firstAck: true, firstOnProtocol: true, latencyMs: 150 });
    expect(await ack('mqtt', 180, 'mqtt://b')).toEqual({ known: true, firstAck: false, firstOnProtocol: false, latencyMs: 180 });
    expect(await ack('nostr', 400)).toEqual({ known: true, firstAck: false, firstOnProtocol: true, latencyMs: 400 });
    expect(await ack('xmtp', -50)).toEqual({ known: true, firstAck: false, firstOnProtocol: true, latencyMs: 0 });

    const uuid = (await store.listMessages(owner, 1))[0]?.uuid ?? '';
    expect(await store.getMessage(owner, uuid)).toMatchObject({ state: 'acked', ackedAt: 1_150, ackedVia: 'mqtt' });
    expect((await store.getReceipts(owner, uuid)).map((r) => [r.kind, r.protocol, r.endpoint, r.latencyMs])).toEqual([
      ['ack', 'xmtp', 'xmtp://x', 0],
      ['ack', 'mqtt', 'mqtt://a', 150],
      ['ack', 'mqtt', 'mqtt://b', 180],
      ['ack', 'nostr', 'nostr://x', 400],
    ]);
  });

  it('keeps a true running mean per protocol: 100, 200, 600 → 300; repeated copies change nothing', async () => {
    const store = await fresh();
    const [owner, peer] = [xOnly(), xOnly()];
    for (const latency of [100, 200, 600]) {
      const ack = await sent(store, owner, peer);
      await ack('nostr', latency, 'wss://one');
      // the same ack arriving again from other relays of the same protocol, later
      await ack('nostr', latency + 5_000, 'wss://two');
      await ack('nostr', latency + 9_000, 'wss://three');
    }
    const [row] = await store.getChannelPreferences(owner, peer);
    expect(row).toMatchObject({ protocol: 'nostr', working: true, samples: 3, avgLatencyMs: 300, preferenceOrder: 1, cannotUse: false });
    expect(row?.lastAckAt).toBe(1_000 + 600 + 9_000);
  });

  it('ranks working protocols by mean ack latency and re-ranks after every ack', async () => {
    const store = await fresh();
    const [owner, peer] = [xOnly(), xOnly()];
    const a1 = await sent(store, owner, peer);
    await a1('nostr', 300);
    await a1('xmtp', 1_500);
    expect((await prefs(store, owner, peer)).map((p) => [p.protocol, p.order])).toEqual([
      ['nostr', 1],
      ['xmtp', 2],
    ]);
    await a1('mqtt', 150);
    expect((await prefs(store, owner, peer)).map((p) => [p.protocol, p.order])).toEqual([
      ['mqtt', 1],
      ['nostr', 2],
      ['xmtp', 3],
    ]);
    // mqtt gets slow: (150 + 2850) / 2 = 1500 > nostr (300), ties xmtp (1500) and wins the tie by name
    const a2 = await sent(store, owner, peer);
    await a2('mqtt', 2_850);
    expect(await prefs(store, owner, peer)).toEqual([
      { protocol: 'nostr', order: 1, working: true, avg: 300, samples: 1, cannotUse: false },
      { protocol: 'mqtt', order: 2, working: true, avg: 1_500, samples: 2, cannotUse: false },
      { protocol: 'xmtp', order: 3, working: true, avg: 1_500, samples: 1, cannotUse: false },
    ]);
  });

  it('keeps preferences per (owner, peer)', async () => {
    const store = await fresh();
    const [owner, p1, p2] = [xOnly(), xOnly(), xOnly()];
    await (await sent(store, owner, p1))('mqtt', 100);
    await (await sent(store, owner, p2))('nostr', 100);
    expect((await prefs(store, owner, p1)).map((p) => p.protocol)).toEqual(['mqtt']);
    expect((await prefs(store, owner, p2)).map((p) => p.protocol)).toEqual(['nostr']);
    expect(await store.getChannelPreferences(xOnly(), p1)).toEqual([]);
  });

  it('applies stated cannotUse flags: creates rows, moves unusable protocols last, and can lift the flag', async () => {
    const store = await fresh();
    const [owner, peer] = [xOnly(), xOnly()];
    const ack = await sent(store, owner, peer);
    await ack('mqtt', 100);
    await ack('nostr', 200);
    await store.applyStatedPreferences(owner, peer, [
      { protocol: 'mqtt', cannotUse: true },
      { protocol: 'xmtp', cannotUse: false },
    ]);
    expect(await prefs(store, owner, peer)).toEqual([
      { protocol: 'nostr', order: 1, working: true, avg: 200, samples: 1, cannotUse: false },
      { protocol: 'xmtp', order: 2, working: false, avg: undefined, samples: 0, cannotUse: false },
      { protocol: 'mqtt', order: 3, working: true, avg: 100, samples: 1, cannotUse: true },
    ]);
    // rows have no null/undefined keys for unknown values
    const xmtp = (await store.getChannelPreferences(owner, peer)).find((p) => p.protocol === 'xmtp');
    expect(xmtp).toStrictEqual({ owner, peer, protocol: 'xmtp', working: false, samples: 0, preferenceOrder: 2, cannotUse: false });

    await store.applyStatedPreferences(owner, peer, [{ protocol: 'mqtt', cannotUse: false }]);
    expect((await prefs(store, owner, peer)).map((p) => [p.protocol, p.order, p.cannotUse])).toEqual([
      ['mqtt', 1, false],
      ['nostr', 2, false],
      ['xmtp', 3, false],
    ]);
  });

  it('a stated preference that changes nothing is not written again (peers state them with every message)', async () => {
    const store = await fresh();
    const [owner, peer] = [xOnly(), xOnly()];
    const stated = [
      { protocol: 'mqtt' as const, cannotUse: false },
      { protocol: 'xmtp' as const, cannotUse: true },
    ];
    await store.applyStatedPreferences(owner, peer, stated);
    const writes = vi.spyOn(Db.prototype, 'write');
    try {
      await store.applyStatedPreferences(owner, peer, stated);
      expect(writes).not.toHaveBeenCalled();
      await store.applyStatedPreferences(owner, peer, [{ protocol: 'xmtp', cannotUse: false }]);
      expect(writes).toHaveBeenCalledTimes(1);
    } finally {
      writes.mockRestore();
    }
    expect((await prefs(store, owner, peer)).map((p) => [p.protocol, p.cannotUse])).toEqual([
      ['mqtt', false],
      ['xmtp', false],
    ]);
  });

  it('applies stated preferences for a peer with no rows yet', async () => {
    const store = await fresh();
    const [owner, peer] = [xOnly(), xOnly()];
    await store.applyStatedPreferences(owner, peer, [
      { protocol: 'xmtp', cannotUse: true },
      { protocol: 'nostr', cannotUse: false },
      { protocol: 'mqtt', cannotUse: false },
    ]);
    expect((await prefs(store, owner, peer)).map((p) => [p.protocol, p.order])).toEqual([
      ['mqtt', 1],
      ['nostr', 2],
      ['xmtp', 3],
    ]);
  });

  it('markNotWorking demotes a protocol until the next ack sets it working again', async () => {
    const store = await fresh();
    const [owner, peer] = [xOnly(), xOnly()];
    const ack = await sent(store, owner, peer);
    await ack('mqtt', 100);
    await ack('nostr', 300);
    await store.markNotWorking(owner, peer, 'mqtt');
    expect((await prefs(store, owner, peer)).map((p) => [p.protocol, p.order, p.working])).toEqual([
      ['nostr', 1, true],
      ['mqtt', 2, false],
    ]);
    // a repeated ack copy (no new sample) still proves the channel works
    await ack('mqtt', 120);
    expect((await prefs(store, owner, peer)).map((p) => [p.protocol, p.order, p.working, p.samples])).toEqual([
      ['mqtt', 1, true, 1],
      ['nostr', 2, true, 1],
    ]);
  });

  it('markNotWorking creates a row for a protocol never seen', async () => {
    const store = await fresh();
    const [owner, peer] = [xOnly(), xOnly()];
    await store.markNotWorking(owner, peer, 'xmtp');
    expect(await store.getChannelPreferences(owner, peer)).toStrictEqual([
      { owner, peer, protocol: 'xmtp', working: false, samples: 0, preferenceOrder: 1, cannotUse: false },
    ]);
  });

  it('counts each protocol once per message even with concurrent copies', async () => {
    const store = await fresh();
    const [owner, peer] = [xOnly(), xOnly()];
    const ack = await sent(store, owner, peer);
    const outcomes = await Promise.all(Array.from({ length: 20 }, (_, i) => ack(i % 2 ? 'mqtt' : 'nostr', 100 + i, `ep-${i}`)));
    expect(outcomes.filter((o) => o.firstAck)).toHaveLength(1);
    expect(outcomes.filter((o) => o.firstOnProtocol)).toHaveLength(2);
    expect((await prefs(store, owner, peer)).map((p) => p.samples)).toEqual([1, 1]);
  });
});
