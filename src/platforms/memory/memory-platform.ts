/**
 * A real chat platform that lives in the process: rooms with ordered
 * timelines, people who write into them (`say`), and a bot that posts, reacts
 * and edits through the Platform seam. For tests and local demos.
 *
 * It behaves as Matrix and Discord do where the bridge could get it wrong:
 * the bot's own posts and notices come back as events (flagged, so the bridge
 * must skip them); events are delivered one at a time, in order, awaited;
 * events written while the bridge is stopped wait and are delivered on the
 * next start (a sync token / gateway resume); writes beyond the declared rate
 * limit are refused with RateLimitedError, and text over the declared length
 * with MessageTooLongError — it never queues, splits or clamps for the caller.
 */
import {
  limitFor,
  MessageTooLongError,
  PlatformCapabilitiesSchema,
  platformId,
  platformMessageId,
  RateLimitedError,
  roomKey,
} from '../platform.js';
import type { Platform, PlatformCapabilities, PlatformId, PlatformMessageId, RoomAttachment, RoomEvent, RoomPost, RoomRef, RoomSender, WriteKind } from '../platform.js';
import { EventQueue } from './event-queue.js';
import { snapshot, toEvent, toSender } from './timeline.js';
import type { Entry, Reaction, SayOptions, SenderInput, TimelineEntry } from './timeline.js';

export type { Reaction, SayOptions, SenderInput, TimelineEntry } from './timeline.js';

/** Discord-like length, Matrix-like generosity in pace: tests that need a strict pace say so. */
export const DEFAULT_MEMORY_CAPABILITIES: PlatformCapabilities = {
  reactions: true,
  edits: true,
  maxMessageChars: 2000,
  rateLimit: { posts: 100, perMs: 1000 },
};

export interface MemoryPlatformOptions {
  /** Default 'memory'. */
  readonly id?: string;
  /** Overrides of DEFAULT_MEMORY_CAPABILITIES; with `reactions`/`edits` false, `react`/`edit` are absent. */
  readonly capabilities?: Partial<PlatformCapabilities>;
  /** The bot's account. Default { id: '@roomcast:memory', displayName: 'roomcast' }. */
  readonly bot?: { readonly id: string; readonly displayName: string };
  readonly now?: () => number;
  /**
   * At most this many messages are kept per room; the oldest are forgotten,
   * with their idempotency keys (a reaction or edit to one then fails as to an
   * unknown message). For a harness that runs for hours (the soak bench), so
   * the platform's memory stays flat. Default: all (tests read whole timelines).
   */
  readonly keep?: number;
}

export class MemoryPlatform implements Platform {
  readonly id: PlatformId;
  readonly capabilities: PlatformCapabilities;
  readonly react?: (room: RoomRef, target: PlatformMessageId, emoji: string) => Promise<void>;
  readonly edit?: (room: RoomRef, target: PlatformMessageId, msg: RoomPost) => Promise<void>;
  /** The bot's account, as the sender of its own posts. */
  readonly bot: RoomSender;
  /** Errors thrown by the bridge's onEvent, in order (say() also rejects with its event's error). */
  readonly handlerErrors: unknown[];
  /** Writes refused with RateLimitedError: a caller that respects the rate limit keeps this at 0. */
  rateLimitedWrites = 0;

  private readonly now: () => number;
  private readonly rooms = new Map<string, Entry[]>();
  private readonly writes = new Map<string, number[]>();
  /** Idempotency keys already posted (room + key → post id). */
  private readonly posted = new Map<string, PlatformMessageId>();
  private readonly byId = new Map<PlatformMessageId, Entry>();
  private readonly keep: number;
  private readonly listeners = new Set<() => void>();
  private readonly events: EventQueue;
  private nextId = 1;

  constructor(opts: MemoryPlatformOptions = {}) {
    this.id = platformId(opts.id ?? 'memory');
    this.capabilities = Object.freeze(PlatformCapabilitiesSchema.parse({ ...DEFAULT_MEMORY_CAPABILITIES, ...opts.capabilities }));
    this.now = opts.now ?? (() => Date.now());
    this.keep = opts.keep ?? Infinity;
    const bot = opts.bot ?? { id: '@roomcast:memory', displayName: 'roomcast' };
    this.bot = { ...bot, level: 'member' };
    this.events = new EventQueue(() => this.changed());
    this.handlerErrors = this.events.handlerErrors;
    if (this.capabilities.reactions) this.react = (room, target, emoji) => this.addReaction(room, target, emoji);
    if (this.capabilities.edits) this.edit = (room, target, msg) => this.replaceText(room, target, msg);
  }

  // ---- the seam ----

  async start(onEvent: (e: RoomEvent) => Promise<void>): Promise<void> {
    if (this.events.started) throw new Error('memory platform is already started');
    this.events.start(onEvent);
  }

  async post(room: RoomRef, msg: RoomPost): Promise<PlatformMessageId> {
    const key = msg.idempotencyKey === undefined ? undefined : `${roomKey(room)}\u0000${msg.idempotencyKey}`;
    const earlier = key === undefined ? undefined : this.posted.get(key);
    if (earlier) return earlier;
    const text = msg.author === undefined ? msg.text : `${msg.author}: ${msg.text}`;
    const timeline = this.writable(room, text);
    const entry = this.append(timeline, room, this.bot, text, {
      notice: msg.notice ?? false,
      fromSelf: true,
      ...(msg.author === undefined ? {} : { author: msg.author }),
      ...(msg.replyTo === undefined ? {} : { replyTo: msg.replyTo }),
      ...(key === undefined ? {} : { postedKey: key }),
    });
    if (key !== undefined) this.posted.set(key, entry.id);
    this.events.push(toEvent(entry));
    return entry.id;
  }

  async stop(): Promise<void> {
    await this.events.stop();
  }

  // ---- driving it from a test ----

  /** The room with this id, created empty on first use. */
  room(roomId: string): RoomRef {
    const ref: RoomRef = { platform: this.id, roomId };
    if (!this.rooms.has(roomKey(ref))) this.rooms.set(roomKey(ref), []);
    return ref;
  }

  /**
   * A person writes into a room. While the platform is started, resolves once
   * the bridge's onEvent has handled this message (after every earlier event),
   * and rejects with onEvent's error if it threw. While stopped, resolves at
   * once: the message waits and is delivered on the next start. (Stopped
   * while this message waits its turn, it resolves after the next start.)
   */
  async say(room: RoomRef, sender: SenderInput, text: string, opts: SayOptions = {}): Promise<PlatformMessageId> {
    const timeline = this.timelineOf(room);
    const entry = this.append(timeline, room, toSender(sender), text, {
      notice: opts.notice ?? false,
      fromSelf: false,
      ...(opts.attachments ? { attachments: opts.attachments } : {}),
      ...(opts.replyTo ? { replyTo: opts.replyTo } : {}),
    });
    const answered = opts.replyTo === undefined ? undefined : snapshot(this.entry(room, opts.replyTo));
    await this.deliver(toEvent(entry, answered?.text));
    return entry.id;
  }

  /** A person edits their message `target`: the timeline shows the new text, and an edit event is delivered (same promise rules as `say`). */
  async editBy(room: RoomRef, sender: SenderInput, target: PlatformMessageId, text: string): Promise<PlatformMessageId> {
    const entry = this.entry(room, target);
    const who = toSender(sender);
    if (entry.sender.id !== who.id) throw new Error(`${who.id} cannot edit ${target}: only its sender can`);
    entry.versions.push(text);
    const id = this.newId();
    this.changed();
    await this.deliver({ kind: 'edit', room, id, target, sender: who, text, notice: entry.notice, fromSelf: false, at: this.now() });
    return id;
  }

  /** A person reacts to (or, with added false, takes back a reaction to) message `target`. */
  async reactBy(room: RoomRef, sender: SenderInput, target: PlatformMessageId, emoji: string, added = true): Promise<PlatformMessageId> {
    const entry = this.entry(room, target);
    const who = toSender(sender);
    const at = entry.reactions.findIndex((r) => r.emoji === emoji && r.by === who.id);
    if (added && at < 0) entry.reactions.push({ emoji, by: who.id });
    if (!added && at >= 0) entry.reactions.splice(at, 1);
    const id = this.newId();
    this.changed();
    await this.deliver({ kind: 'reaction', room, id, target, sender: who, emoji, added, fromSelf: false, at: this.now() });
    return id;
  }

  /** A person (a moderator, or the sender) removes message `target`. */
  async redactBy(room: RoomRef, sender: SenderInput, target: PlatformMessageId): Promise<PlatformMessageId> {
    const entry = this.entry(room, target);
    entry.redacted = true;
    const id = this.newId();
    this.changed();
    await this.deliver({ kind: 'redaction', room, id, target, sender: toSender(sender), fromSelf: false, at: this.now() });
    return id;
  }

  /**
   * A person runs a bot command natively (as Discord's slash commands do);
   * `text` is the line after the prefix. Resolves with the bot's answer: a
   * private one is seen by that person only, a shared one is also shown in
   * the room (an answer, not a write: it does not count against the rate limit).
   */
  async command(room: RoomRef, sender: SenderInput, text: string): Promise<{ text: string; private: boolean }> {
    this.timelineOf(room);
    let answer: { text: string; private: boolean } | undefined;
    const respond = async (reply: string, opts: { private: boolean }) => {
      if (answer) throw new Error('a command is answered once');
      // Shown to the room as the answer to the command, like Discord's: not a channel write, so not paced.
      if (!opts.private) this.events.push(toEvent(this.append(this.timelineOf(room), room, this.bot, reply, { notice: true, fromSelf: true })));
      answer = { text: reply, private: opts.private };
    };
    await this.deliver({ kind: 'command', room, id: this.newId(), sender: toSender(sender), text, respond, fromSelf: false, at: this.now() });
    if (!answer) throw new Error(`the command "${text}" was not answered`);
    return answer;
  }

  /** The bot is invited into (joined) or removed from (kicked, banned) a room by `by`. */
  async membership(room: RoomRef, joined: boolean, reason: 'invited' | 'kicked' | 'banned' | 'left', by?: string): Promise<void> {
    this.timelineOf(room);
    await this.deliver({ kind: 'membership', room, joined, reason, ...(by === undefined ? {} : { by }), at: this.now() });
  }

  /** Resolves when every event written so far has been handled (or the platform is stopped). */
  async idle(): Promise<void> {
    await this.events.idle();
  }

  /** Queues an event; while started, resolves once onEvent handled it (rejects with its error); while stopped, at once. */
  private deliver(event: RoomEvent): Promise<void> {
    return this.events.deliver(event);
  }

  private newId(): PlatformMessageId {
    return platformMessageId(`m${this.nextId++}`);
  }

  // ---- assertions ----

  timeline(room: RoomRef): TimelineEntry[] {
    return this.timelineOf(room).map(snapshot);
  }

  /** The bot's posts in a room, oldest first. */
  botPosts(room: RoomRef): TimelineEntry[] {
    return this.timeline(room).filter((e) => e.fromSelf);
  }

  message(room: RoomRef, id: PlatformMessageId): TimelineEntry {
    return snapshot(this.entry(room, id));
  }

  reactions(room: RoomRef, id: PlatformMessageId): Reaction[] {
    return [...this.entry(room, id).reactions];
  }

  /** Every text of a message, oldest first (one element when never edited). */
  versions(room: RoomRef, id: PlatformMessageId): string[] {
    return [...this.entry(room, id).versions];
  }

  /**
   * Calls `listener` after every change to any room (a post, an edit, a
   * reaction, a message said); returns the function that stops it. Tests wait
   * on it (test/support/room-waits.ts) instead of polling.
   */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  // ---- internals ----

  private async addReaction(room: RoomRef, target: PlatformMessageId, emoji: string): Promise<void> {
    this.writable(room, '', 'react');
    const entry = this.entry(room, target);
    if (!entry.reactions.some((r) => r.emoji === emoji && r.by === this.bot.id)) entry.reactions.push({ emoji, by: this.bot.id });
    this.changed();
  }

  private async replaceText(room: RoomRef, target: PlatformMessageId, msg: RoomPost): Promise<void> {
    this.writable(room, msg.text, 'edit');
    const entry = this.entry(room, target);
    if (!entry.fromSelf) throw new Error(`cannot edit ${target}: the bot can only edit its own posts`);
    entry.versions.push(msg.text);
    this.changed();
  }

  /** Checks a write as a real platform would, and counts it against the room's budget for its kind. */
  private writable(room: RoomRef, text: string, kind: WriteKind = 'post'): Entry[] {
    if (!this.events.started) throw new Error('memory platform is not started');
    const timeline = this.timelineOf(room);
    if (text.length > this.capabilities.maxMessageChars) throw new MessageTooLongError(text.length, this.capabilities.maxMessageChars);
    const { limit, bucket } = limitFor(this.capabilities, kind);
    const { posts, perMs } = limit;
    const now = this.now();
    const key = `${roomKey(room)}|${bucket}`;
    const recent = (this.writes.get(key) ?? []).filter((t) => t > now - perMs);
    if (recent.length >= posts) {
      this.writes.set(key, recent);
      this.rateLimitedWrites++;
      throw new RateLimitedError(Math.min(...recent) + perMs - now, room);
    }
    recent.push(now);
    this.writes.set(key, recent);
    return timeline;
  }

  private timelineOf(room: RoomRef): Entry[] {
    if (room.platform !== this.id) throw new Error(`room ${roomKey(room)} is not on platform ${this.id}`);
    const timeline = this.rooms.get(roomKey(room));
    if (!timeline) throw new Error(`unknown room ${roomKey(room)} (create it with room())`);
    return timeline;
  }

  private entry(room: RoomRef, id: PlatformMessageId): Entry {
    this.timelineOf(room);
    const entry = this.byId.get(id);
    if (!entry || roomKey(entry.room) !== roomKey(room)) throw new Error(`unknown message ${id} in ${roomKey(room)}`);
    return entry;
  }

  private append(
    timeline: Entry[],
    room: RoomRef,
    sender: RoomSender,
    text: string,
    flags: { notice: boolean; fromSelf: boolean; author?: string; attachments?: readonly RoomAttachment[]; replyTo?: PlatformMessageId; postedKey?: string },
  ): Entry {
    const entry: Entry = {
      id: this.newId(),
      room,
      sender,
      ...(flags.author === undefined ? {} : { author: flags.author }),
      attachments: flags.attachments ?? [],
      ...(flags.replyTo === undefined ? {} : { replyTo: flags.replyTo }),
      redacted: false,
      versions: [text],
      notice: flags.notice,
      fromSelf: flags.fromSelf,
      at: this.now(),
      reactions: [],
      ...(flags.postedKey === undefined ? {} : { postedKey: flags.postedKey }),
    };
    timeline.push(entry);
    this.byId.set(entry.id, entry);
    while (timeline.length > this.keep) {
      const old = timeline.shift()!;
      this.byId.delete(old.id);
      if (old.postedKey !== undefined) this.posted.delete(old.postedKey);
    }
    this.changed();
    return entry;
  }

  private changed(): void {
    for (const listener of [...this.listeners]) listener();
  }
}
