/**
 * The contract every Platform must pass (DESIGN.md: one shared suite per
 * seam). Each adapter's test file calls runPlatformContract with a harness
 * that builds the platform against its real service or wire-level fake and
 * knows how a person writes into a room there.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { MessageTooLongError, RateLimitedError } from '../../src/platforms/platform.js';
import type { Platform, RoomEvent, RoomMessageEvent, RoomRef, RoomSender } from '../../src/platforms/platform.js';
import { sleep, waitFor } from '../support/wait.js';
import { onlyMessages } from '../support/room-waits.js';

export interface PlatformHarness {
  /**
   * A platform, not started. Its `capabilities.rateLimit` must be small
   * enough to exceed in a test, and allow at least 3 writes (3-5 per minute
   * is ideal): no other test here writes more than 3 times.
   */
  readonly platform: Platform;
  /** A room the bot has joined and may write in. */
  readonly room: RoomRef;
  /** A person (or, with `notice`, another bot) writes into the room; resolves once the platform has it. */
  say(sender: RoomSender, text: string, opts?: { notice?: boolean }): Promise<void>;
  /** The room's texts, oldest first, edits applied, as the platform stores them. */
  texts(): Promise<string[]>;
  dispose?(): Promise<void>;
}

const alice: RoomSender = { id: '@alice:example.org', displayName: 'Alice', level: 'moderator' };
const bob: RoomSender = { id: '@bob:example.org', displayName: 'Bob', level: 'member' };

export function runPlatformContract(name: string, harness: () => PlatformHarness | Promise<PlatformHarness>): void {
  describe(`${name} platform contract`, () => {
    const open: PlatformHarness[] = [];
    afterEach(async () => {
      for (const h of open.splice(0)) {
        await h.platform.stop();
        await h.dispose?.();
      }
    });

    async function started(onEvent: (e: RoomEvent) => Promise<void> = async () => undefined): Promise<PlatformHarness> {
      const h = await harness();
      open.push(h);
      await h.platform.start(onEvent);
      return h;
    }

    it('delivers room messages in order, one at a time, awaited, with sender and flags', async () => {
      const events: RoomMessageEvent[] = [];
      let inside = 0;
      let overlapped = false;
      const h = await started(onlyMessages(async (e) => {
        inside++;
        if (inside > 1) overlapped = true;
        await sleep(5);
        events.push(e);
        inside--;
      }));
      for (let i = 0; i < 5; i++) await h.say(i % 2 === 0 ? alice : bob, `hello ${i}`);
      await waitFor(() => events.length === 5, 'five events');
      expect(overlapped).toBe(false);
      expect(events.map((e) => e.text)).toEqual(['hello 0', 'hello 1', 'hello 2', 'hello 3', 'hello 4']);
      const [first, second] = events;
      expect(first).toMatchObject({ kind: 'message', room: h.room, fromSelf: false, notice: false, sender: alice });
      expect(second?.sender).toEqual(bob);
      expect(new Set(events.map((e) => e.id)).size).toBe(5);
      expect(events.every((e, i) => i === 0 || e.at >= (events[i - 1]?.at ?? 0))).toBe(true);
    });

    it("delivers the bot's own posts flagged fromSelf, and notices flagged notice", async () => {
      const events: RoomMessageEvent[] = [];
      const h = await started(onlyMessages(async (e) => void events.push(e)));
      const id = await h.platform.post(h.room, { text: 'from the bot' });
      await h.platform.post(h.room, { text: 'bot notice', notice: true });
      await h.say(bob, 'a notice from another bot', { notice: true });
      await waitFor(() => events.length === 3, 'three events');
      expect(events[0]).toMatchObject({ id, text: 'from the bot', fromSelf: true, notice: false });
      expect(events[1]).toMatchObject({ text: 'bot notice', fromSelf: true, notice: true });
      expect(events[2]).toMatchObject({ text: 'a notice from another bot', fromSelf: false, notice: true });
      expect(await h.texts()).toEqual(['from the bot', 'bot notice', 'a notice from another bot']);
    });

    it('lets the handler post while handling an event (no deadlock)', async () => {
      let platform: Platform | undefined;
      const h = await started(onlyMessages(async (e) => {
        if (!e.fromSelf && !e.notice) await platform?.post(e.room, { text: `echo: ${e.text}`, notice: true });
      }));
      platform = h.platform;
      await h.say(alice, 'ping');
      await waitFor(async () => (await h.texts()).includes('echo: ping'), 'the reply');
      await sleep(20);
      expect(await h.texts()).toEqual(['ping', 'echo: ping']);
    });

    it('refuses text over maxMessageChars and writes nothing (it never splits)', async () => {
      const h = await started();
      const max = h.platform.capabilities.maxMessageChars;
      await expect(h.platform.post(h.room, { text: 'x'.repeat(max + 1) })).rejects.toBeInstanceOf(MessageTooLongError);
      await h.platform.post(h.room, { text: 'y'.repeat(max) });
      expect(await h.texts()).toEqual(['y'.repeat(max)]);
    });

    it('has react and edit exactly when its capabilities say so', async () => {
      const h = await started();
      const { reactions, edits } = h.platform.capabilities;
      expect(typeof h.platform.react === 'function').toBe(reactions);
      expect(typeof h.platform.edit === 'function').toBe(edits);
      const id = await h.platform.post(h.room, { text: 'before' });
      if (h.platform.react) await h.platform.react(h.room, id, '✓');
      if (h.platform.edit) {
        await h.platform.edit(h.room, id, { text: 'after' });
        expect(await h.texts()).toEqual(['after']);
      }
    });

    it('refuses writes beyond its declared rate limit with RateLimitedError', async () => {
      const h = await started();
      const { posts, perMs } = h.platform.capabilities.rateLimit;
      for (let i = 0; i < posts; i++) await h.platform.post(h.room, { text: `post ${i}` });
      const refused = await h.platform.post(h.room, { text: 'one too many' }).then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(refused).toBeInstanceOf(RateLimitedError);
      const err = refused as RateLimitedError;
      expect(err.retryAfterMs).toBeGreaterThan(0);
      expect(err.retryAfterMs).toBeLessThanOrEqual(perMs);
      expect(err.room).toEqual(h.room);
      expect(await h.texts()).not.toContain('one too many');
    });

    it('refuses to post before start and after stop; stop is idempotent', async () => {
      const h = await harness();
      open.push(h);
      await expect(h.platform.post(h.room, { text: 'too early' })).rejects.toThrow();
      await h.platform.start(async () => undefined);
      await h.platform.stop();
      await h.platform.stop();
      await expect(h.platform.post(h.room, { text: 'too late' })).rejects.toThrow();
      expect(await h.texts()).toEqual([]);
    });
  });
}
