/**
 * "Writes that belong together happen in one transaction": in each case the
 * first write of a method succeeds and a later one violates a constraint
 * (a value cast past the type system), and the first must not persist.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { FailureReason } from '../../src/common/delivery.js';
import type { ProtocolId } from '../../src/protocol/chat-message.js';
import { FLAVOURS, inbound, okEndpoint, openFresh, outbound, report, xOnly } from './helpers.js';
import type { Opened } from './helpers.js';

const opened: Opened[] = [];
afterEach(async () => {
  for (const o of opened.splice(0)) await o.dispose();
});

/** No protocol at all: the columns are NOT NULL (which network it was is not constrained by the schema since migration 5). */
const MISSING = null as unknown as ProtocolId;

describe.each(FLAVOURS)('transaction atomicity (%s)', (flavour) => {
  async function fresh() {
    const o = await openFresh(flavour);
    opened.push(o);
    return o.store;
  }

  it('recordInbound (batch): a failing receipt insert leaves no message behind, and the next copy is first', async () => {
    const store = await fresh();
    const r = inbound({ owner: xOnly(), peer: xOnly() });
    // messages has no endpoint column, so the message insert succeeds; receipts.endpoint is NOT NULL.
    await expect(store.recordInbound({ ...r, endpoint: null as unknown as string })).rejects.toThrow(/NOT NULL/);
    expect(await store.getMessage(r.owner, r.uuid)).toBeUndefined();
    expect((await store.recordInbound(r)).first).toBe(true);
  });

  it('recordOutbound (batch): a send result with an invalid reason undoes the message, earlier results and performance', async () => {
    const store = await fresh();
    const m = outbound(xOnly(), xOnly());
    const bogus = { endpoint: 'coo://b', ok: false, latencyMs: 10, reason: 'carrier-pigeon-lost' as unknown as FailureReason };
    await expect(store.recordOutbound(m, [report('mqtt', [okEndpoint('mqtt://a', 10)]), report('nostr', [bogus])])).rejects.toThrow(/CHECK constraint/);
    expect(await store.getMessage(m.owner, m.uuid)).toBeUndefined();
    expect(await store.getSendResults(m.owner, m.uuid)).toEqual([]);
    expect(await store.getPerformance()).toEqual([]);
  });

  it('recordAck (interactive transaction): a failing write after the acked state undoes it', async () => {
    const store = await fresh();
    const m = outbound(xOnly(), xOnly());
    await store.recordOutbound(m, [report('mqtt', [okEndpoint('mqtt://a', 10)])]);
    // The message update succeeds; the receipt's endpoint is NOT NULL.
    const ack = { owner: m.owner, originalUuid: m.uuid, peer: m.peer, protocol: 'mqtt' as const, endpoint: 'mqtt://a', receivedAt: m.timestamp + 100 };
    await expect(store.recordAck({ ...ack, endpoint: null as unknown as string })).rejects.toThrow(/NOT NULL/);
    expect(await store.getMessage(m.owner, m.uuid)).toMatchObject({ state: 'sent' });
    expect((await store.getMessage(m.owner, m.uuid))?.ackedAt).toBeUndefined();
    expect(await store.getReceipts(m.owner, m.uuid)).toEqual([]);
    // the store stays usable, and the real ack is still the first
    expect(await store.recordAck(ack)).toMatchObject({ known: true, firstAck: true, firstOnProtocol: true });
  });

  it('applyStatedPreferences: an entry without a protocol undoes the valid entries before it', async () => {
    const store = await fresh();
    const [owner, peer] = [xOnly(), xOnly()];
    await expect(
      store.applyStatedPreferences(owner, peer, [
        { protocol: 'mqtt', cannotUse: true },
        { protocol: MISSING, cannotUse: false },
      ]),
    ).rejects.toThrow(/NOT NULL/);
    expect(await store.getChannelPreferences(owner, peer)).toEqual([]);
  });

  it('a failed write does not block the writes queued behind it', async () => {
    const store = await fresh();
    const good = inbound({ owner: xOnly(), peer: xOnly() });
    const [bad, ok] = await Promise.allSettled([
      store.recordInbound({ ...inbound({ owner: good.owner, peer: good.peer }), protocol: MISSING }),
      store.recordInbound(good),
    ]);
    expect(bad.status).toBe('rejected');
    expect(ok).toEqual({ status: 'fulfilled', value: { first: true, latencyMs: 250 } });
  });
});
