/**
 * Delivery guarantees of the bridge: retries that resend only what failed,
 * and per-room order with two workers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CopyEvent, MessageEvent } from '../../src/broadcaster/events.js';
import { roomMessageUuid } from '../../src/bridge/bridge.js';
import { contactCopyUuid } from '../../src/bridge/copies.js';
import { generateIdentity } from '../../src/identity/keys.js';
import { encodeMagnet } from '../../src/identity/magnet.js';
import { startTestBridge } from '../support/bridge.js';
import { openTestNode, startNetwork } from '../support/network.js';
import type { TestNetwork } from '../support/network.js';
import { waitFor } from '../support/wait.js';
import { waitForPost, waitForRoom } from '../support/room-waits.js';

const MOD = { id: '@mod:memory', displayName: 'Mod', level: 'moderator' as const };

let net: TestNetwork;
beforeAll(async () => {
  net = await startNetwork(1, 1);
});
afterAll(async () => {
  await net?.stop();
});

describe('bridge delivery', () => {
  it('retries only the transport that failed, and the peer shows the message once', async () => {
    const b = await startTestBridge({ net, queueConfig: { attempts: 8, backoffMs: 300 } });
    const peer = await openTestNode(net);
    const shown: MessageEvent[] = [];
    const copies: CopyEvent[] = [];
    peer.broadcaster.on('message', (e) => shown.push(e));
    peer.broadcaster.on('copy', (e) => copies.push(e));
    await peer.broadcaster.start();
    const room = b.platform.room('!retry');
    try {
      await b.platform.say(room, MOD, `!roomcast contact add alice ${encodeMagnet(peer.identity)}`);
      await waitForPost(b.platform, room, (e) => e.text.includes('alice'));
      const roomIdentity = (await b.rt.directory.room('memory', '!retry')).identity;

      await net.brokers[0]!.kill();
      const id = await b.platform.say(room, { id: '@bob', displayName: 'Bob' }, 'through the outage');
      await waitFor(() => shown.length === 1, 'the message via nostr', 20_000);
      expect(shown[0]!.via).toBe('nostr');
      const roomUuid = roomMessageUuid({ room, id });
      const entry = (await b.store.rooms.listOutboxCopies(roomUuid))[0]!;
      expect(entry.uuid).toBe(contactCopyUuid(entry.roomUuid, peer.identity.xOnly));
      await waitFor(async () => (await b.store.getSendResults(roomIdentity.xOnly, entry.uuid)).filter((r) => r.protocol === 'mqtt' && !r.ok).length >= 2, 'MQTT retries failing', 20_000);

      await net.brokers[0]!.restart();
      await waitFor(async () => (await b.store.getSendResults(roomIdentity.xOnly, entry.uuid)).some((r) => r.protocol === 'mqtt' && r.ok), 'MQTT to recover', 30_000);
      await waitFor(() => copies.some((c) => c.via === 'mqtt'), 'the MQTT copy at the peer', 20_000);

      const results = await b.store.getSendResults(roomIdentity.xOnly, entry.uuid);
      expect(results.filter((r) => r.protocol === 'nostr')).toHaveLength(1); // sent once, never again
      expect(results.filter((r) => r.protocol === 'mqtt').length).toBeGreaterThanOrEqual(3);
      expect(shown).toHaveLength(1);
      const notice = await waitForPost(b.platform, room, (e) => e.notice && e.text.includes('through the outage'));
      await waitForRoom(b.platform, () => /✓ MQTT 1\/1/.test(b.platform.message(room, notice.id).text), 'the receipt to show MQTT recovered', 10_000);
    } finally {
      await peer.close();
      await b.stop();
    }
  });

  it('keeps a room in order with two workers: 200 quick messages arrive in the order written', async () => {
    const first = await startTestBridge({ net, queueConfig: { concurrency: 4 } });
    const second = await startTestBridge({
      net,
      role: 'worker',
      store: first.store,
      service: first.service,
      platform: first.platform,
      queueNames: first.queueNames,
      queueConfig: { concurrency: 4 },
    });
    const peer = await openTestNode(net);
    const shown: string[] = [];
    peer.broadcaster.on('message', (e) => shown.push(e.message.content));
    await peer.broadcaster.start();
    const room = first.platform.room('!order');
    try {
      await first.platform.say(room, MOD, `!roomcast contact add alice ${encodeMagnet(peer.identity)}`);
      await waitForPost(first.platform, room, (e) => e.text.includes('alice'));
      const texts = Array.from({ length: 200 }, (_, i) => `message ${String(i).padStart(3, '0')}`);
      for (const t of texts) await first.platform.say(room, { id: '@bob', displayName: 'Bob' }, t);
      await waitFor(() => shown.length >= 200, '200 messages at the peer', 120_000, 100);
      expect(shown).toEqual(texts.map((t) => `Bob: ${t}`));
      const [a, b] = [first.rt.workers[0]!, second.rt.workers[0]!];
      expect(a).not.toBe(b);
    } finally {
      await peer.close();
      await second.stop();
      await first.stop();
    }
    // Two workers taking turns on one room's order: 40-55 s alone, more beside the rest of the suite.
  }, 150_000);
});


describe('bridge failures', () => {
  it('tells the room what was not delivered after the last attempt, and keeps the failed job', async () => {
    const own = await startNetwork(1, 1);
    const b = await startTestBridge({ net: own, queueConfig: { attempts: 2, backoffMs: 100 } });
    const peer = generateIdentity();
    const room = b.platform.room('!lost');
    try {
      await b.platform.say(room, MOD, `!roomcast contact add alice ${encodeMagnet(peer)}`);
      await waitForPost(b.platform, room, (e) => e.text.includes('alice'));
      await Promise.all([own.brokers[0]!.kill(), own.relays[0]!.kill()]);
      const id = await b.platform.say(room, { id: '@bob', displayName: 'Bob' }, 'into the void');
      const told = await waitForPost(b.platform, room, (e) => e.text.startsWith('✗ Not delivered to alice'), 30_000);
      expect(told.notice).toBe(true);
      expect(told.text).toContain('into the void');
      expect(told.text).toMatch(/✗ nostr (unreachable|timeout)/);
      expect(told.text).toMatch(/✗ MQTT (unreachable|timeout)/);
      expect(b.platform.reactions(room, id)).toHaveLength(0);
      const failed = await b.queue.queue(b.queueNames.outbound).getFailed();
      expect(failed.map((j) => j.id)).toContain(roomMessageUuid({ room, id }));
      expect(failed[0]!.attemptsMade).toBe(2);
      expect(failed[0]!.failedReason).toMatch(/not delivered yet: alice/);
      expect((await b.store.rooms.getOutbox(roomMessageUuid({ room, id })))?.state).toBe('failed');
    } finally {
      await b.stop();
      await own.stop();
    }
  });
});
