/**
 * Two roomcast nodes over 3 real Mosquitto brokers and 3 real Nostr relays:
 * the prototype's whole system, end to end.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AckEvent, MessageEvent } from '../../src/broadcaster/events.js';
import { publicPart } from '../../src/identity/keys.js';
import type { Delivery } from '../../src/broadcaster/broadcaster.js';
import { startNetwork, openTestNode } from '../support/network.js';
import type { TestNetwork, TestNode } from '../support/network.js';
import { waitFor } from '../support/wait.js';

let net: TestNetwork;
beforeAll(async () => {
  net = await startNetwork(3, 3);
});
afterAll(async () => {
  await net?.stop();
});

function record(node: TestNode) {
  const messages: MessageEvent[] = [];
  const acks: AckEvent[] = [];
  node.broadcaster.on('message', (e) => messages.push(e));
  node.broadcaster.on('ack', (e) => acks.push(e));
  return { messages, acks };
}

describe('broadcaster over real brokers and relays', () => {
  it('exchanges 100 messages each way: each shown once, each acked, receipts for every transport × endpoint', async () => {
    const a = await openTestNode(net);
    const b = await openTestNode(net);
    const ra = record(a);
    const rb = record(b);
    try {
      await Promise.all([a.broadcaster.start(), b.broadcaster.start()]);
      const toB = publicPart(b.identity);
      const toA = publicPart(a.identity);
      const sends: Array<Promise<Delivery>> = [];
      for (let i = 0; i < 100; i++) {
        sends.push(a.broadcaster.send(toB, `a→b ${i}`));
        sends.push(b.broadcaster.send(toA, `b→a ${i}`));
      }
      const deliveries = await Promise.all(sends);
      for (const d of deliveries) {
        expect(d.ok).toBe(true);
        for (const r of d.reports) expect(r.endpoints.filter((e) => e.ok), JSON.stringify(r)).toHaveLength(3);
      }
      const fromA = deliveries.filter((_, i) => i % 2 === 0).map((d) => d.uuid);
      const fromB = deliveries.filter((_, i) => i % 2 === 1).map((d) => d.uuid);

      await waitFor(() => rb.messages.length >= 100 && ra.messages.length >= 100, '100 messages each way', 60_000);
      await waitFor(
        () => new Set(ra.acks.filter((x) => x.firstAck).map((x) => x.originalUuid)).size === 100 && new Set(rb.acks.filter((x) => x.firstAck).map((x) => x.originalUuid)).size === 100,
        'an ack for every message',
        60_000,
      );
      // Every copy from every endpoint, of messages and of acks.
      await waitFor(
        async () => {
          for (const uuid of fromA) if ((await b.store.getReceipts(b.identity.xOnly, uuid)).length < 6) return false;
          for (const uuid of fromA) if ((await a.store.getReceipts(a.identity.xOnly, uuid)).filter((r) => r.kind === 'ack').length < 6) return false;
          return true;
        },
        'receipts from 2 transports × 3 endpoints',
        60_000,
      );

      expect(rb.messages.map((m) => m.message.uuid).sort()).toEqual([...fromA].sort());
      expect(ra.messages.map((m) => m.message.uuid).sort()).toEqual([...fromB].sort());
      expect(new Set(rb.messages.map((m) => m.message.content)).size).toBe(100);

      const receipts = await b.store.getReceipts(b.identity.xOnly, fromA[0]!);
      const combos = new Set(receipts.filter((r) => r.kind === 'message').map((r) => `${r.protocol}|${r.endpoint}`));
      expect(combos.size).toBe(6);
      expect(new Set(receipts.map((r) => r.protocol))).toEqual(new Set(['mqtt', 'nostr']));

      for (const uuid of fromA) expect((await a.store.getMessage(a.identity.xOnly, uuid))?.state).toBe('acked');
      const prefs = await a.store.getChannelPreferences(a.identity.xOnly, b.identity.xOnly);
      // b's acks say it runs no XMTP transport: that row is marked unusable and ranked last.
      expect(prefs.map((p) => p.protocol).sort()).toEqual(['mqtt', 'nostr', 'xmtp']);
      const working = prefs.filter((p) => p.protocol !== 'xmtp');
      for (const p of working) {
        expect(p.working).toBe(true);
        expect(p.cannotUse).toBe(false);
        expect(p.samples).toBe(100);
        expect(p.avgLatencyMs).toBeGreaterThanOrEqual(0);
      }
      expect(prefs.find((p) => p.protocol === 'xmtp')).toMatchObject({ cannotUse: true, preferenceOrder: 3 });
      expect(working.map((p) => p.preferenceOrder).sort()).toEqual([1, 2]);
      // No message was acked twice, and acks were never acked: each node sent
      // exactly one ack per message it received (visible as ≤ 6 ack receipts).
      for (const uuid of fromA) expect((await a.store.getReceipts(a.identity.xOnly, uuid)).filter((r) => r.kind === 'ack')).toHaveLength(6);
      expect(await b.store.listMessages(b.identity.xOnly, 1000)).toHaveLength(200);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('keeps delivering when a broker and a relay die mid-run, reporting 2/3', async () => {
    const a = await openTestNode(net);
    const b = await openTestNode(net);
    const rb = record(b);
    try {
      await Promise.all([a.broadcaster.start(), b.broadcaster.start()]);
      const toB = publicPart(b.identity);
      const before = await Promise.all(Array.from({ length: 10 }, (_, i) => a.broadcaster.send(toB, `before ${i}`)));
      expect(before.every((d) => d.reports.every((r) => r.endpoints.filter((e) => e.ok).length === 3))).toBe(true);

      await Promise.all([net.brokers[0]!.kill(), net.relays[0]!.kill()]);
      const after: Delivery[] = [];
      for (let i = 0; i < 20; i++) after.push(await a.broadcaster.send(toB, `after ${i}`));
      for (const d of after.slice(2)) {
        expect(d.ok).toBe(true);
        for (const r of d.reports) {
          expect(r.ok).toBe(true);
          expect(r.endpoints.filter((e) => e.ok)).toHaveLength(2);
          expect(r.endpoints[0]!.ok).toBe(false);
          expect(['unreachable', 'timeout', 'error']).toContain(r.endpoints[0]!.reason);
        }
      }
      await waitFor(() => rb.messages.length === 30, 'all 30 messages', 30_000);
      expect(new Set(rb.messages.map((m) => m.message.uuid)).size).toBe(30);
    } finally {
      await Promise.all([net.brokers[0]!.restart(), net.relays[0]!.restart()]);
      await Promise.all([a.close(), b.close()]);
    }
  });
});
