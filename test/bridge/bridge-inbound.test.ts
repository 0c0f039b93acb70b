/**
 * Posting into rooms survives a worker that dies after posting but before
 * recording it: the next attempt posts nothing twice (idempotency keys).
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { processInbound, split } from '../../src/bridge/inbound.js';
import { RoomWriter } from '../../src/bridge/room-writer.js';
import { generateIdentity } from '../../src/identity/keys.js';
import { encodeMagnet } from '../../src/identity/magnet.js';
import { silentLogger } from '../../src/observability/logger.js';
import { MemoryPlatform } from '../../src/platforms/memory/memory-platform.js';
import { openStore } from '../../src/store/index.js';

describe('inbound posting', () => {
  it('posts once even when run again after a crash between posting and recording', async () => {
    const store = await openStore({ url: ':memory:' });
    const platform = new MemoryPlatform({ capabilities: { maxMessageChars: 50 } });
    await platform.start(async () => undefined);
    const room = platform.room('!r');
    const writer = new RoomWriter(new Map([[platform.id, platform]]), silentLogger());
    const owner = generateIdentity();
    const alice = generateIdentity();
    await store.addContact({ owner: owner.xOnly, name: 'alice', magnetLink: encodeMagnet(alice), xOnly: alice.xOnly, ethAddress: alice.ethAddress });
    const uuid = randomUUID();
    const long = 'word '.repeat(30).trim();
    await store.recordInbound({ owner: owner.xOnly, uuid, peer: alice.xOnly, fromMagnetLink: encodeMagnet(alice), content: long, timestamp: 1, verified: true, protocol: 'mqtt', endpoint: 'm', receivedAt: 2 });
    await store.rooms.enqueueInbox({ platform: 'memory', roomId: '!r', owner: owner.xOnly, uuid });

    await processInbound(owner.xOnly, uuid, { store, writer });
    const posts = platform.botPosts(room).map((p) => p.text);
    expect(posts.length).toBeGreaterThan(1); // split at word breaks, nothing cut off
    // Each post carries its author (shown by the platform: here as "alice: "), and none is cut off.
    expect(posts.every((p) => p.startsWith('alice: '))).toBe(true);
    expect(posts.map((p) => p.slice('alice: '.length)).join(' ')).toBe(long);

    await store.rooms.setInboxState(owner.xOnly, uuid, 'queued'); // as if the worker died before recording
    await processInbound(owner.xOnly, uuid, { store, writer });
    expect(platform.botPosts(room).map((p) => p.text)).toEqual(posts);
    expect((await store.rooms.getInbox(owner.xOnly, uuid))?.state).toBe('posted');
    await platform.stop();
    await store.close();
  });

  it('gathers what queued up behind a post that had to wait, and a retry after a crash posts that same group once', async () => {
    const store = await openStore({ url: ':memory:' });
    // One write per 300 ms: the second post in a row has to wait for its slot.
    const platform = new MemoryPlatform({ capabilities: { rateLimit: { posts: 1, perMs: 300 } } });
    await platform.start(async () => undefined);
    const room = platform.room('!g');
    const writer = new RoomWriter(new Map([[platform.id, platform]]), silentLogger());
    const owner = generateIdentity();
    const alice = generateIdentity();
    await store.addContact({ owner: owner.xOnly, name: 'alice', magnetLink: encodeMagnet(alice), xOnly: alice.xOnly, ethAddress: alice.ethAddress });
    const uuids: string[] = [];
    for (const [i, text] of ['one', 'two', 'three', 'four'].entries()) {
      const uuid = randomUUID();
      uuids.push(uuid);
      await store.recordInbound({ owner: owner.xOnly, uuid, peer: alice.xOnly, fromMagnetLink: encodeMagnet(alice), content: text, timestamp: i, verified: true, protocol: 'mqtt', endpoint: 'm', receivedAt: i });
      await store.rooms.enqueueInbox({ platform: 'memory', roomId: '!g', owner: owner.xOnly, uuid });
    }
    const d = { store, writer };
    await processInbound(owner.xOnly, uuids[0]!, d); // budget free: alone
    await processInbound(owner.xOnly, uuids[1]!, d); // waits: takes 'three' and 'four' along
    const posts = platform.botPosts(room).map((p) => p.text);
    expect(posts).toEqual(['alice: one', 'alice: two\nthree\nfour']);
    for (const u of uuids.slice(1)) expect((await store.rooms.getInbox(owner.xOnly, u))?.state).toBe('posted');

    // As if the worker died after posting the group but before recording it: the retry finds the recorded group.
    // By then the budget is free again: only the record makes the retry carry the same group.
    for (const u of uuids.slice(1)) await store.rooms.setInboxState(owner.xOnly, u, 'queued');
    await new Promise((r) => setTimeout(r, 350));
    await processInbound(owner.xOnly, uuids[1]!, d);
    for (const u of uuids.slice(2)) await processInbound(owner.xOnly, u, d);
    expect(platform.botPosts(room).map((p) => p.text)).toEqual(posts);
    expect(platform.rateLimitedWrites).toBe(0);
    await platform.stop();
    await store.close();
  });

  it('splits long text at breaks and never loses characters', () => {
    expect(split('abc def ghi', 7)).toEqual(['abc def', 'ghi']);
    expect(split('x'.repeat(10), 4)).toEqual(['xxxx', 'xxxx', 'xx']);
    expect(split('short', 100)).toEqual(['short']);
  });
});

describe('memory platform idempotency', () => {
  it('posts once per key and room', async () => {
    const platform = new MemoryPlatform();
    await platform.start(async () => undefined);
    const [a, b] = [platform.room('!a'), platform.room('!b')];
    const first = await platform.post(a, { text: 'hi', idempotencyKey: 'k1' });
    expect(await platform.post(a, { text: 'hi again', idempotencyKey: 'k1' })).toBe(first);
    await platform.post(b, { text: 'hi', idempotencyKey: 'k1' });
    await platform.post(a, { text: 'no key' });
    await platform.post(a, { text: 'no key' });
    expect(platform.botPosts(a).map((p) => p.text)).toEqual(['hi', 'no key', 'no key']);
    expect(platform.botPosts(b)).toHaveLength(1);
    await platform.stop();
  });
});
