import { afterEach, describe, expect, it } from 'vitest';
import { FLAVOURS, failedEndpoint, inbound, okEndpoint, openFresh, outbound, report, xOnly } from './helpers.js';
import type { Opened } from './helpers.js';

const opened: Opened[] = [];
afterEach(async () => {
  for (const o of opened.splice(0)) await o.dispose();
});

describe.each(FLAVOURS)('outbound messages (%s)', (flavour) => {
  let clock = 10_000;
  async function fresh() {
    clock = 10_000;
    const o = await openFresh(flavour, () => clock);
    opened.push(o);
    return o.store;
  }

  it('stores a delivered send as sent, one send result per transport × endpoint', async () => {
    const store = await fresh();
    const m = outbound(xOnly(), xOnly());
    await store.recordOutbound(m, [
      report('nostr', [okEndpoint('wss://a', 120), failedEndpoint('wss://b', 5000, 'timed out')]),
      report('mqtt', [failedEndpoint('mqtt://c', 300)]),
    ]);
    expect(await store.getMessage(m.owner, m.uuid)).toStrictEqual({
      owner: m.owner,
      uuid: m.uuid,
      direction: 'out',
      peer: m.peer,
      fromMagnetLink: m.fromMagnetLink,
      content: m.content,
      timestamp: m.timestamp,
      state: 'sent',
      verified: true,
    });
    expect(await store.getSendResults(m.owner, m.uuid)).toStrictEqual([
      { owner: m.owner, uuid: m.uuid, protocol: 'nostr', endpoint: 'wss://a', ok: true, latencyMs: 120, at: 10_000 },
      { owner: m.owner, uuid: m.uuid, protocol: 'nostr', endpoint: 'wss://b', ok: false, latencyMs: 5000, reason: 'unreachable', error: 'timed out', at: 10_000 },
      { owner: m.owner, uuid: m.uuid, protocol: 'mqtt', endpoint: 'mqtt://c', ok: false, latencyMs: 300, reason: 'unreachable', error: 'connection refused', at: 10_000 },
    ]);
  });

  it('stores an undelivered send as failed', async () => {
    const store = await fresh();
    const m = outbound(xOnly(), xOnly());
    await store.recordOutbound(m, [report('mqtt', [failedEndpoint('mqtt://c', 300)])]);
    expect((await store.getMessage(m.owner, m.uuid))?.state).toBe('failed');
  });

  it('records a message as pending before it is sent, then moves it on with the reports', async () => {
    const store = await fresh();
    const n = outbound(xOnly(), xOnly());
    await store.recordOutbound(n, []);
    expect((await store.getMessage(n.owner, n.uuid))?.state).toBe('pending');
    expect(await store.getSendResults(n.owner, n.uuid)).toEqual([]);
    await store.recordOutbound(n, [report('mqtt', [failedEndpoint('mqtt://c', 300)])]);
    expect((await store.getMessage(n.owner, n.uuid))?.state).toBe('failed');
    await store.recordOutbound(n, []);
    expect((await store.getMessage(n.owner, n.uuid))?.state).toBe('failed');

    // An ack that overtakes the send reports is kept: acked is never downgraded.
    const p = outbound(xOnly(), xOnly());
    await store.recordOutbound(p, []);
    const ack = await store.recordAck({ owner: p.owner, originalUuid: p.uuid, peer: p.peer, protocol: 'mqtt', endpoint: 'mqtt://a', receivedAt: p.timestamp + 50 });
    expect(ack.known).toBe(true);
    await store.recordOutbound(p, [report('mqtt', [okEndpoint('mqtt://a', 10)])]);
    expect((await store.getMessage(p.owner, p.uuid))?.state).toBe('acked');
  });

  it('accumulates endpoint performance: counts, mean latency of successes, last ok and last error', async () => {
    const store = await fresh();
    const [owner, peer] = [xOnly(), xOnly()];
    clock = 1_000;
    await store.recordOutbound(outbound(owner, peer), [report('nostr', [okEndpoint('wss://a', 100), failedEndpoint('wss://b', 5000, 'timed out')])]);
    clock = 2_000;
    await store.recordOutbound(outbound(owner, peer), [report('nostr', [okEndpoint('wss://a', 300), okEndpoint('wss://b', 50)])]);
    clock = 3_000;
    await store.recordOutbound(outbound(owner, peer), [report('nostr', [failedEndpoint('wss://a', 10, 'refused'), okEndpoint('wss://b', 70)])]);
    await store.recordOutbound(outbound(owner, peer), [report('mqtt', [okEndpoint('mqtt://c', 0.5)])]);
    expect(await store.getPerformance()).toStrictEqual([
      { protocol: 'mqtt', endpoint: 'mqtt://c', sends: 1, successes: 1, failures: 0, avgLatencyMs: 0.5, lastOkAt: 3_000 },
      { protocol: 'nostr', endpoint: 'wss://a', sends: 3, successes: 2, failures: 1, avgLatencyMs: 200, lastOkAt: 2_000, lastError: 'refused' },
      { protocol: 'nostr', endpoint: 'wss://b', sends: 3, successes: 2, failures: 1, avgLatencyMs: 60, lastOkAt: 3_000, lastError: 'timed out' },
    ]);
  });

  it('omits the mean for an endpoint that never succeeded', async () => {
    const store = await fresh();
    await store.recordOutbound(outbound(xOnly(), xOnly()), [report('xmtp', [failedEndpoint('xmtp:production', 9000)])]);
    expect(await store.getPerformance()).toStrictEqual([
      { protocol: 'xmtp', endpoint: 'xmtp:production', sends: 1, successes: 0, failures: 1, lastError: 'connection refused' },
    ]);
  });

  it('records a retry: failed becomes sent, the new results are added, content is not rewritten', async () => {
    const store = await fresh();
    const m = outbound(xOnly(), xOnly());
    clock = 1_000;
    await store.recordOutbound(m, [report('mqtt', [failedEndpoint('mqtt://c', 300)])]);
    clock = 2_000;
    await store.recordOutbound({ ...m, content: 'changed' }, [report('mqtt', [okEndpoint('mqtt://c', 80)])]);
    const msg = await store.getMessage(m.owner, m.uuid);
    expect(msg).toMatchObject({ state: 'sent', content: m.content });
    expect((await store.getSendResults(m.owner, m.uuid)).map((r) => [r.ok, r.at])).toEqual([
      [false, 1_000],
      [true, 2_000],
    ]);
    expect((await store.getPerformance())[0]).toMatchObject({ sends: 2, successes: 1, failures: 1 });
  });

  it('never downgrades: a failed retry keeps sent, and acked stays acked', async () => {
    const store = await fresh();
    const m = outbound(xOnly(), xOnly(), { timestamp: 1_000 });
    await store.recordOutbound(m, [report('mqtt', [okEndpoint('mqtt://c', 80)])]);
    await store.recordOutbound(m, [report('mqtt', [failedEndpoint('mqtt://c', 300)])]);
    expect((await store.getMessage(m.owner, m.uuid))?.state).toBe('sent');

    await store.recordAck({ owner: m.owner, originalUuid: m.uuid, peer: m.peer, protocol: 'mqtt', endpoint: 'mqtt://c', receivedAt: 1_200 });
    await store.recordOutbound(m, [report('mqtt', [failedEndpoint('mqtt://c', 300)])]);
    await store.recordOutbound(m, [report('mqtt', [okEndpoint('mqtt://c', 80)])]);
    expect(await store.getMessage(m.owner, m.uuid)).toMatchObject({ state: 'acked', ackedAt: 1_200, ackedVia: 'mqtt' });
    expect(await store.getSendResults(m.owner, m.uuid)).toHaveLength(4);
  });

  it('refuses to record a send under the uuid of an inbound message, writing nothing', async () => {
    const store = await fresh();
    const r = inbound({ owner: xOnly(), peer: xOnly() });
    await store.recordInbound(r);
    await expect(
      store.recordOutbound(outbound(r.owner, r.peer, { uuid: r.uuid }), [report('mqtt', [okEndpoint('mqtt://c', 1)])]),
    ).rejects.toThrow(/inbound message/);
    expect((await store.getMessage(r.owner, r.uuid))?.direction).toBe('in');
    expect(await store.getSendResults(r.owner, r.uuid)).toEqual([]);
    expect(await store.getPerformance()).toEqual([]);
  });
});

describe.each(FLAVOURS)("a network that requires a newer client (%s)", (flavour) => {
  it("records and reads back a send that failed with 'upgrade-required'", async () => {
    const o = await openFresh(flavour, () => 5);
    opened.push(o);
    const m = outbound(xOnly(), xOnly());
    await o.store.recordOutbound(m, [
      report('xmtp', [{ endpoint: 'xmtp:dev', ok: false, latencyMs: 0, reason: 'upgrade-required', error: 'upgrade required' }]),
    ]);
    expect(await o.store.getSendResults(m.owner, m.uuid)).toStrictEqual([
      { owner: m.owner, uuid: m.uuid, protocol: 'xmtp', endpoint: 'xmtp:dev', ok: false, latencyMs: 0, reason: 'upgrade-required', error: 'upgrade required', at: 5 },
    ]);
  });
});
