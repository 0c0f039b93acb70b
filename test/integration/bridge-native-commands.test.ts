/**
 * Commands run through a platform's own command interface (Discord's slash
 * commands; here the memory platform's `command`), and bursts from the
 * networks into a room whose write budget is small (Discord's 5 per 5 s):
 * real queues and networks, a roomcast peer.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateIdentity } from '../../src/identity/keys.js';
import { decodeMagnet, encodeMagnet } from '../../src/identity/magnet.js';
import { MemoryPlatform } from '../../src/platforms/memory/memory-platform.js';
import { startTestBridge } from '../support/bridge.js';
import type { TestBridge } from '../support/bridge.js';
import { openTestNode, startNetwork } from '../support/network.js';
import type { TestNetwork, TestNode } from '../support/network.js';
import { waitForPost, waitForRoom } from '../support/room-waits.js';

const MOD = { id: '@mod', displayName: 'Mod', level: 'moderator' as const };
const BOB = { id: '@bob', displayName: 'Bob' };

let net: TestNetwork;
let b: TestBridge;
let peer: TestNode;

beforeAll(async () => {
  net = await startNetwork(1, 1);
  b = await startTestBridge({ net, platform: new MemoryPlatform({ capabilities: { rateLimit: { posts: 5, perMs: 5000 } } }) });
  peer = await openTestNode(net);
  await peer.broadcaster.start();
}, 30_000);

afterAll(async () => {
  await peer?.close();
  await b?.stop();
  await net?.stop();
});

describe('native commands', () => {
  it('answers reads and refusals privately, and a moderator’s change to the whole room', async () => {
    const room = b.platform.room('#native');
    const who = await b.platform.command(room, BOB, 'whoami');
    expect(who.private).toBe(true);
    expect(who.text).toMatch(/magnet:\?xt=/);

    const refused = await b.platform.command(room, BOB, `contact add eve ${encodeMagnet(generateIdentity())}`);
    expect(refused.private).toBe(true);
    expect(refused.text).toContain('Only room moderators');

    const bad = await b.platform.command(room, MOD, 'contact add eve not-a-link');
    expect(bad.private).toBe(true);
    expect(bad.text).toContain('Usage: !roomcast contact add');

    const added = await b.platform.command(room, MOD, `contact add carol ${encodeMagnet(peer.identity)}`);
    expect(added.private).toBe(false);
    expect(added.text).toContain('carol');
    // Only the shared answer is in the room; private ones were never posted.
    expect(b.platform.botPosts(room).map((p) => p.text)).toEqual([added.text]);
    const owner = decodeMagnet(/magnet:\?\S+/.exec(who.text)![0]).xOnly;
    expect((await b.store.listContacts(owner)).map((c) => c.name)).toEqual(['carol']);
  });
});

describe('bursts into a paced room', () => {
  it('30 messages from a contact in a burst arrive in order, in fewer posts, with no write refused for pace', async () => {
    const room = b.platform.room('#burst');
    const who = await b.platform.command(room, BOB, 'whoami');
    const magnet = /magnet:\?\S+/.exec(who.text)![0];
    await b.platform.command(room, MOD, `contact add carol ${encodeMagnet(peer.identity)}`);
    const lines = Array.from({ length: 30 }, (_, i) => `line ${String(i + 1).padStart(2, '0')}`);
    for (const line of lines) await peer.broadcaster.send(decodeMagnet(magnet), line);

    const shown = () =>
      b.platform
        .botPosts(room)
        .filter((p) => p.author === 'carol')
        .flatMap((p) => p.text.slice('carol: '.length).split('\n'));
    await waitForRoom(b.platform, () => shown().length >= 30, 'every line in the room', 60_000);
    expect(shown()).toEqual(lines);
    const posts = b.platform.botPosts(room).filter((p) => p.author === 'carol');
    expect(posts.length).toBeLessThan(30);
    expect(b.platform.rateLimitedWrites).toBe(0);
    await waitForPost(b.platform, room, (p) => p.text.includes('line 30'));
  });
});
