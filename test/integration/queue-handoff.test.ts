/**
 * The hand-off from the store to the queue (issue: nothing lost, no room
 * stalled). A room message is written to the outbox (or a contact's message
 * to the inbox) and then queued as a job; when the queue refuses, Redis is
 * away, or the process dies between the two, the recovery sweep hands the
 * row to the queue again. In each case the message is sent (or posted)
 * exactly once, and the room's later messages flow.
 */
import { spawn } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { roomMessageUuid } from '../../src/bridge/bridge.js';
import { generateIdentity } from '../../src/identity/keys.js';
import { saveIdentity } from '../../src/identity/key-file.js';
import { encodeMagnet } from '../../src/identity/magnet.js';
import { silentLogger } from '../../src/observability/logger.js';
import { openQueueBackend } from '../../src/queue/index.js';
import { startTestBridge, TEST_REDIS_URL } from '../support/bridge.js';
import type { TestBridge } from '../support/bridge.js';
import { faultyAdds } from '../support/faulty-queue.js';
import { openTestNode, startNetwork } from '../support/network.js';
import type { TestNetwork, TestNode } from '../support/network.js';
import { startRedis } from '../support/redis-server.js';
import { sleep, waitFor } from '../support/wait.js';
import { waitForPost, waitForRoom } from '../support/room-waits.js';

const MOD = { id: '@mod:memory', displayName: 'Mod', level: 'moderator' as const };
const BOB = { id: '@bob', displayName: 'Bob' };
const FIXTURE = new URL('../fixtures/bridge-crash-on-enqueue.ts', import.meta.url).pathname;
/** Short, so the tests do not wait long for the sweep that rescues them. */
const SWEEP = { sweepMs: 300 };

let net: TestNetwork;
beforeAll(async () => {
  net = await startNetwork(1, 1);
});
afterAll(async () => {
  await net?.stop();
});

async function peerNode(): Promise<{ node: TestNode; shown: string[] }> {
  const node = await openTestNode(net);
  const shown: string[] = [];
  node.broadcaster.on('message', (e) => shown.push(e.message.content));
  await node.broadcaster.start();
  return { node, shown };
}

async function addContact(b: TestBridge, roomId: string, peer: TestNode) {
  const room = b.platform.room(roomId);
  await b.platform.say(room, MOD, `!roomcast contact add alice ${encodeMagnet(peer.identity)}`);
  await waitForPost(b.platform, room, (e) => e.text.includes('alice'));
  return room;
}

/** Waits until `texts` were shown in this order, then a little longer, and checks none came twice. */
async function expectShownOnce(shown: string[], texts: string[]) {
  await waitFor(() => texts.every((t) => shown.includes(t)), `the peer to show ${texts.join(', ')}`, 30_000);
  await sleep(500); // a duplicate would arrive within this
  for (const t of texts) expect(shown.filter((s) => s === t), t).toHaveLength(1);
  expect(shown.filter((s) => texts.includes(s))).toEqual(texts);
}

describe('the hand-off to the queue', () => {
  it('a queue whose add fails once: the sweep queues the message again, once, and the room flows (outbound and inbound)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rc-handoff-'));
    const queueNames = { outbound: `test-out-${randomUUID()}`, inbound: `test-in-${randomUUID()}` };
    const real = await openQueueBackend({ redisUrl: TEST_REDIS_URL, dataDir: dir, log: silentLogger() });
    const outFault = faultyAdds(real, queueNames.outbound, 'throw');
    const queue = faultyAdds(outFault, queueNames.inbound, 'throw');
    const b = await startTestBridge({ net, queue, queueNames, queueConfig: SWEEP });
    const peer = await peerNode();
    try {
      const room = await addContact(b, '!refused', peer.node);
      await b.platform.say(room, BOB, 'refused once'); // recorded; the room is not held up by the failed hand-off
      await waitFor(() => outFault.faults() === 1, 'the outbound add to fail');
      const second = await b.platform.say(room, BOB, 'right after');
      await expectShownOnce(peer.shown, ['Bob: refused once', 'Bob: right after']);
      await waitFor(async () => (await b.store.rooms.getOutbox(roomMessageUuid({ room, id: second })))?.state === 'done', 'the second message done');

      const roomIdentity = (await b.rt.directory.room('memory', '!refused')).identity;
      await peer.node.broadcaster.send(roomIdentity, 'reply refused once');
      await waitFor(() => queue.faults() === 1, 'the inbound add to fail');
      await peer.node.broadcaster.send(roomIdentity, 'reply right after');
      await waitForRoom(b.platform, () => b.platform.timeline(room).some((e) => e.text === 'alice: reply right after'), 'both replies posted', 30_000);
      await sleep(500);
      const posted = b.platform.timeline(room).filter((e) => e.text.startsWith('alice: reply')).map((e) => e.text);
      expect(posted).toEqual(['alice: reply refused once', 'alice: reply right after']);
    } finally {
      await peer.node.close();
      await b.stop();
      await real.close();
    }
  }, 60_000);

  it('Redis stops between recording a message and queueing it, and comes back empty: the message goes once, and the room flows', async () => {
    const redis = await startRedis();
    const dir = await mkdtemp(join(tmpdir(), 'rc-handoff-'));
    const queue = await openQueueBackend({ redisUrl: redis.url, dataDir: dir, log: silentLogger() });
    const b = await startTestBridge({ net, queue, queueConfig: SWEEP });
    const peer = await peerNode();
    try {
      const room = await addContact(b, '!redis', peer.node);
      await b.platform.say(room, BOB, 'before');
      await expectShownOnce(peer.shown, ['Bob: before']);
      await redis.kill();
      // The outbox row is written and the platform's handler returns; the hand-off waits on the dead server.
      await b.platform.say(room, BOB, 'while redis was away');
      const stranded = (await b.store.rooms.listQueuedOutbox(10)).map((e) => e.text);
      expect(stranded).toEqual(['while redis was away']);
      await redis.restart(); // empty: whatever the queue held is gone
      await b.platform.say(room, BOB, 'after');
      await expectShownOnce(peer.shown, ['Bob: before', 'Bob: while redis was away', 'Bob: after']);
    } finally {
      await peer.node.close();
      await b.stop();
      await queue.close();
      await redis.stop();
    }
  }, 90_000);

  it('a process SIGKILLed between writing a message and queueing it: the next start sends it once, and the room flows', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rc-crash-'));
    const storeUrl = `file:${join(dir, 'roomcast.db')}`;
    const service = generateIdentity();
    const serviceFile = join(dir, 'service.json');
    await saveIdentity(serviceFile, service);
    const queueNames = { outbound: `test-out-${randomUUID()}`, inbound: `test-in-${randomUUID()}` };
    const peer = await peerNode();
    let b: TestBridge | undefined;
    try {
      const child = spawn(
        process.execPath,
        [
          '--import',
          'tsx',
          FIXTURE,
          JSON.stringify({
            storeUrl,
            dataDir: dir,
            serviceFile,
            queueNames,
            brokers: net.brokers.map((x) => x.url),
            relays: net.relays.map((x) => x.url),
            roomId: '!crash',
            contactMagnet: encodeMagnet(peer.node.identity),
            text: 'written, then the process died',
          }),
        ],
        { stdio: ['ignore', 'pipe', 'inherit'] },
      );
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      const signal = await new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, sig) => resolve(sig)));
      expect(signal).toBe('SIGKILL');
      expect(out).toContain('contact added');
      expect(out).not.toContain('still alive');

      b = await startTestBridge({ net, storeUrl, service, queueNames, queueConfig: SWEEP });
      const room = b.platform.room('!crash');
      await b.platform.say(room, BOB, 'after the restart');
      await expectShownOnce(peer.shown, ['Bob: written, then the process died', 'Bob: after the restart']);
      await waitFor(async () => (await b!.store.rooms.listQueuedOutbox(10)).length === 0, 'nothing left queued');
    } finally {
      await peer.node.close();
      await b?.stop();
    }
  }, 60_000);
});
