/**
 * Long room messages: cut into parts that a receiving roomcast accepts,
 * marked and in order; one that would take too many parts is refused with a
 * notice, never retried, and the room's next message goes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { roomMessageUuid } from '../../src/bridge/bridge.js';
import { encodeMagnet } from '../../src/identity/magnet.js';
import { startTestBridge } from '../support/bridge.js';
import { openTestNode, startNetwork } from '../support/network.js';
import type { TestNetwork } from '../support/network.js';
import { sleep, waitFor } from '../support/wait.js';
import { waitForPost, waitForRoom } from '../support/room-waits.js';

const MOD = { id: '@mod:memory', displayName: 'Mod', level: 'moderator' as const };
const BOB = { id: '@bob', displayName: 'Bob' };

let net: TestNetwork;
beforeAll(async () => {
  net = await startNetwork(1, 1);
});
afterAll(async () => {
  await net?.stop();
});

/** A text of `n` characters made of numbered words, so order and loss show. */
function words(n: number): string {
  const out: string[] = [];
  let len = 0;
  for (let i = 0; len < n; i++) {
    const w = `w${i}`;
    out.push(w);
    len += w.length + 1;
  }
  return out.join(' ').slice(0, n).trimEnd();
}

describe('long room messages', () => {
  it('a 10,000-character message reaches a roomcast contact in marked parts, in order, and nothing is lost', async () => {
    const b = await startTestBridge({ net, queueConfig: { attempts: 3 } });
    const peer = await openTestNode(net); // default limits: 8,192 characters per message
    const shown: string[] = [];
    peer.broadcaster.on('message', (e) => shown.push(e.message.content));
    await peer.broadcaster.start();
    const room = b.platform.room('!long');
    try {
      await b.platform.say(room, MOD, `!roomcast contact add alice ${encodeMagnet(peer.identity)}`);
      await waitForPost(b.platform, room, (e) => e.text.includes('alice'));
      const text = words(10_000);
      const id = await b.platform.say(room, BOB, text);
      await waitFor(() => shown.length >= 2, 'two parts at the peer', 20_000);
      await sleep(300);
      expect(shown).toHaveLength(2);
      expect(shown[0]).toMatch(/^Bob: \(1\/2\) w0 w1 /);
      expect(shown[1]).toMatch(/^Bob: \(2\/2\) /);
      expect(shown.map((s) => s.replace(/^Bob: \(\d\/2\) /, '')).join(' ')).toBe(text);
      await waitForRoom(b.platform, () => b.platform.reactions(room, id).length > 0, 'the delivered reaction', 10_000);
      expect((await b.store.rooms.getOutbox(roomMessageUuid({ room, id })))?.state).toBe('done');
    } finally {
      await peer.close();
      await b.stop();
    }
  }, 60_000);

  it('a message that would take more than maxParts is refused with a notice, at once, and the room goes on', async () => {
    const b = await startTestBridge({ net, bridge: { maxParts: 3 }, queueConfig: { attempts: 8, backoffMs: 2000 } });
    const peer = await openTestNode(net);
    const shown: string[] = [];
    peer.broadcaster.on('message', (e) => shown.push(e.message.content));
    await peer.broadcaster.start();
    const room = b.platform.room('!huge');
    try {
      await b.platform.say(room, MOD, `!roomcast contact add alice ${encodeMagnet(peer.identity)}`);
      await waitForPost(b.platform, room, (e) => e.text.includes('alice'));
      const id = await b.platform.say(room, BOB, words(40_000));
      const notice = await waitForPost(b.platform, room, (e) => e.text.startsWith('✗ Not sent'), 10_000);
      expect(notice.notice).toBe(true);
      expect(notice.text).toMatch(/it would take 5 messages; at most 3 are sent for one \(8192 characters each\)/);
      const uuid = roomMessageUuid({ room, id });
      expect((await b.store.rooms.getOutbox(uuid))?.state).toBe('failed');
      await b.platform.say(room, BOB, 'and a short one');
      await waitFor(() => shown.includes('Bob: and a short one'), 'the next message at the peer', 20_000);
      expect(shown).toEqual(['Bob: and a short one']);
      const job = await b.queue.queue(b.queueNames.outbound).getJob(uuid);
      expect(await job?.getState()).toBe('completed');
      expect(job?.attemptsMade).toBe(1); // never retried
    } finally {
      await peer.close();
      await b.stop();
    }
  }, 60_000);
});
