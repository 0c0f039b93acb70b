/**
 * The contract every Platform must pass (DESIGN.md: one shared suite per
 * seam). Each adapter's test file calls runPlatformContract with a harness
 * that builds the platform against its real service or wire-level fake and
 * knows how a person writes into a room there.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { MessageTooLongError, RateLimitedError } from '../../src/platforms/platform.js';
import type { Platform, PlatformMessageId, RoomAttachment, RoomEvent, RoomMessageEvent, RoomRef, RoomSender } from '../../src/platforms/platform.js';
import { sleep, waitFor } from '../support/wait.js';
import { onlyMessages } from '../support/room-waits.js';

export interface PlatformHarness {
  /**
   * A platform, not started. Its `capabilities.rateLimit` must be small
   * enough to exceed in a test, and allow at least 3 writes (3-5 per minute
   * is ideal): no other test here writes more than 3 times.
   */
  readonly platform: Platform;
  /** A room the bot has joined and may write in, with nothing in it yet. */
  readonly room: RoomRef;
  /** Two people of the room, as the platform reports them: a moderator and a member. */
  readonly people: { readonly alice: RoomSender; readonly bob: RoomSender };
  /** A person (or, with `notice`, another bot) writes into the room; resolves with its id once the platform has it. */
  say(sender: RoomSender, text: string, opts?: { notice?: boolean; replyTo?: PlatformMessageId }): Promise<PlatformMessageId>;
  /** A person sends a file (with an optional caption); `url` of the delivered attachment must serve `bytes`. */
  sendFile(sender: RoomSender, file: { name: string; bytes: Buffer; mimeType: string }): Promise<PlatformMessageId>;
  /** A person edits their own message. */
  edit(sender: RoomSender, target: PlatformMessageId, text: string): Promise<void>;
  react(sender: RoomSender, target: PlatformMessageId, emoji: string): Promise<void>;
  redact(sender: RoomSender, target: PlatformMessageId): Promise<void>;
  /** The room's texts, oldest first, edits applied, as the platform stores them. */
  texts(): Promise<string[]>;
  /**
   * Where the server, not the platform, enforces the pace (Matrix): makes the
   * server refuse the next write for pace. Absent: the platform refuses writes
   * beyond its declared `rateLimit` itself.
   */
  refuseNextWrite?(retryAfterMs: number): void;
  /** True where the platform writes without being started (worker processes); false where it rejects then. */
  readonly writesBeforeStart: boolean;
  dispose?(): Promise<void>;
}

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

    /** Events of the test's room that people wrote (not the bot). */
    function collect(): { events: RoomEvent[]; onEvent: (e: RoomEvent) => Promise<void> } {
      const events: RoomEvent[] = [];
      return { events, onEvent: async (e) => void (e.kind !== 'membership' && !e.fromSelf && events.push(e)) };
    }

    it('delivers room messages in order, one at a time, awaited, with sender and flags', async () => {
      const events: RoomMessageEvent[] = [];
      let inside = 0;
      let overlapped = false;
      const h = await started(
        onlyMessages(async (e) => {
          inside++;
          if (inside > 1) overlapped = true;
          await sleep(5);
          events.push(e);
          inside--;
        }),
      );
      const { alice, bob } = h.people;
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
      await h.say(h.people.bob, 'a notice from another bot', { notice: true });
      await waitFor(() => events.length === 3, 'three events');
      expect(events[0]).toMatchObject({ id, text: 'from the bot', fromSelf: true, notice: false });
      expect(events[1]).toMatchObject({ text: 'bot notice', fromSelf: true, notice: true });
      expect(events[2]).toMatchObject({ text: 'a notice from another bot', fromSelf: false, notice: true });
      expect(await h.texts()).toEqual(['from the bot', 'bot notice', 'a notice from another bot']);
    });

    it("shows a relayed post under its author's name", async () => {
      const h = await started();
      await h.platform.post(h.room, { text: 'hello from afar', author: 'Carol' });
      const [text] = await h.texts();
      expect(text).toContain('Carol');
      expect(text).toContain('hello from afar');
    });

    it('delivers an edit as an edit of the original, never as a new message', async () => {
      const { events, onEvent } = collect();
      const h = await started(onEvent);
      const id = await h.say(h.people.bob, 'draft');
      await h.edit(h.people.bob, id, 'final');
      await waitFor(() => events.length === 2, 'the message and its edit');
      expect(events[1]).toMatchObject({ kind: 'edit', target: id, text: 'final', notice: false, sender: h.people.bob });
      expect(events.filter((e) => e.kind === 'message')).toHaveLength(1);
    });

    it('delivers replies with what they answer, and files as attachments whose URL serves them', async () => {
      const { events, onEvent } = collect();
      const h = await started(onEvent);
      const asked = await h.say(h.people.alice, 'the question');
      await h.say(h.people.bob, 'the answer', { replyTo: asked });
      const bytes = Buffer.from('roomcast attachment');
      await h.sendFile(h.people.bob, { name: 'notes.txt', bytes, mimeType: 'text/plain' });
      await waitFor(() => events.length === 3, 'three events');
      expect(events[1]).toMatchObject({ kind: 'message', text: 'the answer', replyTo: { id: asked } });
      const reply = events[1] as RoomMessageEvent;
      if (reply.replyTo?.excerpt !== undefined) expect(reply.replyTo.excerpt).toContain('the question');
      const file = events[2] as RoomMessageEvent;
      expect(file.attachments).toHaveLength(1);
      const a: RoomAttachment = file.attachments![0]!;
      expect(a).toMatchObject({ name: 'notes.txt', size: bytes.length, mimeType: 'text/plain' });
      expect(Buffer.from(await (await fetch(a.url)).arrayBuffer())).toEqual(bytes);
    });

    it('delivers reactions and redactions as their own events', async () => {
      const { events, onEvent } = collect();
      const h = await started(onEvent);
      const id = await h.say(h.people.bob, 'react to me');
      await h.react(h.people.alice, id, '👍');
      await h.redact(h.people.bob, id);
      await waitFor(() => events.length === 3, 'three events');
      expect(events[1]).toMatchObject({ kind: 'reaction', target: id, emoji: '👍', added: true, sender: h.people.alice });
      expect(events[2]).toMatchObject({ kind: 'redaction', target: id, sender: h.people.bob });
    });

    it('lets the handler post while handling an event (no deadlock)', async () => {
      let platform: Platform | undefined;
      const h = await started(
        onlyMessages(async (e) => {
          if (!e.fromSelf && !e.notice) await platform?.post(e.room, { text: `echo: ${e.text}`, notice: true });
        }),
      );
      platform = h.platform;
      await h.say(h.people.alice, 'ping');
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

    it('refuses a write for pace with RateLimitedError, writing nothing', async () => {
      const h = await started();
      const { posts, perMs } = h.platform.capabilities.rateLimit;
      if (h.refuseNextWrite) h.refuseNextWrite(700);
      else for (let i = 0; i < posts; i++) await h.platform.post(h.room, { text: `post ${i}` });
      const refused = await h.platform.post(h.room, { text: 'one too many' }).then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(refused).toBeInstanceOf(RateLimitedError);
      const err = refused as RateLimitedError;
      expect(err.retryAfterMs).toBeGreaterThan(0);
      if (h.refuseNextWrite) expect(err.retryAfterMs).toBe(700);
      else expect(err.retryAfterMs).toBeLessThanOrEqual(perMs);
      expect(err.room).toEqual(h.room);
      expect(await h.texts()).not.toContain('one too many');
    });

    it('writes before start only where it says so, never after stop; stop is idempotent', async () => {
      const h = await harness();
      open.push(h);
      const early = h.platform.post(h.room, { text: 'before start' });
      if (h.writesBeforeStart) await early;
      else await expect(early).rejects.toThrow();
      await h.platform.start(async () => undefined);
      await h.platform.stop();
      await h.platform.stop();
      await expect(h.platform.post(h.room, { text: 'too late' })).rejects.toThrow();
      expect(await h.texts()).toEqual(h.writesBeforeStart ? ['before start'] : []);
    });
  });
}
