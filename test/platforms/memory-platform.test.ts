import { afterEach, describe, expect, it } from 'vitest';
import { MemoryPlatform } from '../../src/platforms/memory/memory-platform.js';
import type { MemoryPlatformOptions } from '../../src/platforms/memory/memory-platform.js';
import { MessageTooLongError, RateLimitedError, roomKey } from '../../src/platforms/platform.js';
import type { RoomMessageEvent } from '../../src/platforms/platform.js';
import { runPlatformContract } from './contract.js';
import type { PlatformHarness } from './contract.js';
import { onlyMessages, waitForPost, waitForRoom } from '../support/room-waits.js';

function memoryHarness(opts: MemoryPlatformOptions): () => PlatformHarness {
  return () => {
    const platform = new MemoryPlatform(opts);
    const room = platform.room('!general:memory');
    return {
      platform,
      room,
      people: { alice: { id: '@alice:example.org', displayName: 'Alice', level: 'moderator' }, bob: { id: '@bob:example.org', displayName: 'Bob', level: 'member' } },
      say: (sender, text, o) => platform.say(room, sender, text, o),
      // The memory platform has no file server: a data: URL serves the bytes.
      sendFile: (sender, f) =>
        platform.say(room, sender, '', { attachments: [{ name: f.name, size: f.bytes.length, mimeType: f.mimeType, url: `data:${f.mimeType};base64,${f.bytes.toString('base64')}` }] }),
      edit: async (sender, target, text) => void (await platform.editBy(room, sender, target, text)),
      react: async (sender, target, emoji) => void (await platform.reactBy(room, sender, target, emoji)),
      redact: async (sender, target) => void (await platform.redactBy(room, sender, target)),
      texts: async () => platform.timeline(room).filter((e) => !e.redacted).map((e) => e.text),
      writesBeforeStart: false,
    };
  };
}

runPlatformContract('memory (reactions, edits)', memoryHarness({ capabilities: { rateLimit: { posts: 3, perMs: 60_000 } } }));
runPlatformContract(
  'memory (no reactions, no edits, 500 chars)',
  memoryHarness({ id: 'plain', capabilities: { reactions: false, edits: false, maxMessageChars: 500, rateLimit: { posts: 4, perMs: 60_000 } } }),
);

describe('memory platform', () => {
  const platforms: MemoryPlatform[] = [];
  afterEach(async () => {
    for (const p of platforms.splice(0)) await p.stop();
  });

  function make(opts: MemoryPlatformOptions = {}): MemoryPlatform {
    const p = new MemoryPlatform(opts);
    platforms.push(p);
    return p;
  }

  it('say() resolves after the bridge handled the message, and rejects with its error', async () => {
    const p = make();
    const room = p.room('r');
    const handled: string[] = [];
    await p.start(onlyMessages(async (e) => {
      await new Promise((resolve) => setTimeout(resolve, 10));
      if (e.text === 'boom') throw new Error('handler failed');
      handled.push(e.text);
    }));
    const id = await p.say(room, 'alice', 'one');
    expect(handled).toEqual(['one']);
    expect(p.message(room, id)).toMatchObject({ text: 'one', sender: { id: 'alice', displayName: 'alice', level: 'member' }, fromSelf: false });
    await expect(p.say(room, { id: '@mo', displayName: 'Mo', level: 'moderator' }, 'boom')).rejects.toThrow('handler failed');
    await p.say(room, 'alice', 'two');
    expect(handled).toEqual(['one', 'two']);
    expect(p.handlerErrors).toHaveLength(1);
  });

  it('keeps order across rooms and concurrent writers', async () => {
    const p = make();
    const [a, b] = [p.room('a'), p.room('b')];
    const seen: string[] = [];
    await p.start(onlyMessages(async (e) => void seen.push(`${e.room.roomId}:${e.text}`)));
    await Promise.all([p.say(a, 'x', '1'), p.say(b, 'y', '1'), p.say(a, 'x', '2'), p.say(b, 'y', '2')]);
    expect(seen).toEqual(['a:1', 'b:1', 'a:2', 'b:2']);
    expect(p.timeline(a).map((e) => e.text)).toEqual(['1', '2']);
  });

  it('a bridge that ignores fromSelf and notices does not loop; one that does not, would', async () => {
    const p = make();
    const room = p.room('r');
    await p.start(onlyMessages(async (e) => {
      if (e.fromSelf || e.notice) return;
      await p.post(e.room, { text: `alice said ${e.text}` });
    }));
    await p.say(room, 'alice', 'hi');
    await p.idle();
    expect(p.botPosts(room).map((e) => e.text)).toEqual(['alice said hi']);

    // The same bot without the filter answers its own echo: the platform really does deliver it.
    const naive = make({ id: 'naive' });
    const nroom = naive.room('r');
    await naive.start(onlyMessages(async (e) => {
      if (e.text.length < 60) await naive.post(e.room, { text: `echo ${e.text}` });
    }));
    await naive.say(nroom, 'alice', 'hi');
    await naive.idle();
    expect(naive.botPosts(nroom).length).toBeGreaterThan(5);
  });

  it('messages written while stopped are delivered, in order, on the next start', async () => {
    const p = make();
    const room = p.room('r');
    const seen: string[] = [];
    await p.say(room, 'alice', 'while down 1');
    await p.say(room, 'bob', 'while down 2');
    await p.start(onlyMessages(async (e) => void seen.push(e.text)));
    await p.idle();
    expect(seen).toEqual(['while down 1', 'while down 2']);
    await p.stop();
    await p.say(room, 'alice', 'later');
    expect(seen).toHaveLength(2);
    await p.start(onlyMessages(async (e) => void seen.push(e.text)));
    await p.idle();
    expect(seen).toEqual(['while down 1', 'while down 2', 'later']);
    await expect(p.start(async () => undefined)).rejects.toThrow('already started');
  });

  it('stop() waits for the event being handled', async () => {
    const p = make();
    const room = p.room('r');
    let finished = false;
    await p.start(async () => {
      await new Promise((resolve) => setTimeout(resolve, 30));
      finished = true;
    });
    const said = p.say(room, 'alice', 'slow');
    await new Promise((resolve) => setTimeout(resolve, 5));
    await p.stop();
    expect(finished).toBe(true);
    await said;
  });

  it('enforces its rate limit per room, counting posts, reactions and edits, and recovers after the window', async () => {
    let clock = 1_000;
    const p = make({ now: () => clock, capabilities: { rateLimit: { posts: 3, perMs: 5_000 } } });
    const [a, b] = [p.room('a'), p.room('b')];
    await p.start(async () => undefined);
    const id = await p.post(a, { text: 'one' });
    clock = 2_000;
    await p.react?.(a, id, '✓');
    clock = 3_000;
    await p.edit?.(a, id, { text: 'one, edited' });
    await p.post(b, { text: 'other room is not affected' });
    const err = await p.post(a, { text: 'too fast' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RateLimitedError);
    expect((err as RateLimitedError).retryAfterMs).toBe(3_000); // the first write (at 1,000) leaves the window at 6,000
    expect((err as RateLimitedError).message).toBe(`rate limited in ${roomKey(a)}: retry after 3000 ms`);
    expect(p.rateLimitedWrites).toBe(1);
    clock = 5_999;
    await expect(p.post(a, { text: 'still too fast' })).rejects.toBeInstanceOf(RateLimitedError);
    clock = 6_000;
    await p.post(a, { text: 'in time' });
    expect(p.botPosts(a).map((e) => e.text)).toEqual(['one, edited', 'in time']);
    expect(p.rateLimitedWrites).toBe(2);
  });

  it('refuses overlong text with MessageTooLongError', async () => {
    const p = make({ capabilities: { maxMessageChars: 10 } });
    const room = p.room('r');
    await p.start(async () => undefined);
    const err = await p.post(room, { text: '12345678901' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MessageTooLongError);
    expect(err).toMatchObject({ length: 11, maxChars: 10 });
    const id = await p.post(room, { text: '1234567890' });
    await expect(p.edit?.(room, id, { text: '12345678901' })).rejects.toBeInstanceOf(MessageTooLongError);
    expect(p.versions(room, id)).toEqual(['1234567890']);
  });

  it('records reactions (idempotent) and edit history; the bot edits only its own posts', async () => {
    const p = make();
    const room = p.room('r');
    await p.start(async () => undefined);
    const human = await p.say(room, 'alice', 'hello');
    const notice = await p.post(room, { text: 'Delivery status: pending', notice: true });
    await p.react?.(room, human, '✓');
    await p.react?.(room, human, '✓');
    await p.react?.(room, human, '📨');
    expect(p.reactions(room, human)).toEqual([
      { emoji: '✓', by: '@roomcast:memory' },
      { emoji: '📨', by: '@roomcast:memory' },
    ]);
    await p.edit?.(room, notice, { text: 'Delivery status: ✓ nostr' });
    await p.edit?.(room, notice, { text: 'Delivery status: ✓ nostr — acked' });
    expect(p.versions(room, notice)).toEqual(['Delivery status: pending', 'Delivery status: ✓ nostr', 'Delivery status: ✓ nostr — acked']);
    expect(p.message(room, notice)).toMatchObject({ text: 'Delivery status: ✓ nostr — acked', notice: true, fromSelf: true });
    await expect(p.edit?.(room, human, { text: 'forged' })).rejects.toThrow('only edit its own posts');
    await expect(p.react?.(room, 'm999' as never, '✓')).rejects.toThrow('unknown message m999');
  });

  it('with keep, forgets a room’s oldest messages and their idempotency keys; other rooms keep theirs', async () => {
    const p = make({ keep: 2 });
    const [room, other] = [p.room('r'), p.room('o')];
    await p.start(async () => undefined);
    const first = await p.post(room, { text: 'one', idempotencyKey: 'k1' });
    const kept = await p.say(other, 'alice', 'elsewhere');
    await p.say(room, 'alice', 'two');
    expect(await p.post(room, { text: 'one again', idempotencyKey: 'k1' })).toBe(first); // still remembered: not posted twice
    await p.say(room, 'alice', 'three');
    expect(p.timeline(room).map((e) => e.text)).toEqual(['two', 'three']);
    await expect(p.react?.(room, first, '✓')).rejects.toThrow(`unknown message ${first}`);
    expect(await p.post(room, { text: 'one anew', idempotencyKey: 'k1' })).not.toBe(first); // its key went with it
    expect(p.message(other, kept).text).toBe('elsewhere');
    await expect(p.react?.(room, kept, '✓')).rejects.toThrow('unknown message'); // a message of another room
  });

  it('has no react or edit when its capabilities say so', () => {
    const p = make({ capabilities: { reactions: false, edits: false } });
    expect(p.react).toBeUndefined();
    expect(p.edit).toBeUndefined();
    expect(p.capabilities).toMatchObject({ reactions: false, edits: false, maxMessageChars: 2000, rateLimit: { posts: 100, perMs: 1000 } });
    expect(() => make({ capabilities: { rateLimit: { posts: 0, perMs: 1000 } } })).toThrow();
    expect(() => make({ id: 'Not An Id' })).toThrow(/platform id/);
  });

  it('refuses unknown rooms and rooms of other platforms', async () => {
    const p = make();
    const other = make({ id: 'other' });
    await p.start(async () => undefined);
    await expect(p.post({ platform: p.id, roomId: 'nowhere' }, { text: 'x' })).rejects.toThrow('unknown room memory:nowhere');
    await expect(p.say(other.room('r'), 'alice', 'x')).rejects.toThrow('is not on platform memory');
  });

  it('waitFor and waitForPost resolve on the change they wait for, and time out naming it', async () => {
    const p = make();
    const room = p.room('r');
    const events: RoomMessageEvent[] = [];
    await p.start(onlyMessages(async (e) => void events.push(e)));
    const waiting = waitForPost(p, room, /status/);
    setTimeout(() => void p.post(room, { text: 'the status is fine' }), 10);
    expect((await waiting).text).toBe('the status is fine');
    expect(await waitForRoom(p, () => events.find((e) => e.fromSelf), 'the echo')).toMatchObject({ fromSelf: true });
    await expect(waitForPost(p, room, 'never', 50)).rejects.toThrow('timed out after 50 ms waiting for a bot post matching never in memory:r');
  });
});
