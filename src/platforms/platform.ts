/**
 * The platform seam: one chat network (Matrix, Discord, the in-memory one for
 * tests) whose rooms roomcast bridges. The bridge talks to every platform
 * through this interface only; what differs between networks is data
 * (`capabilities`) and optional members, never a check of `id` in shared code.
 */
import { z } from 'zod';

declare const platformIdBrand: unique symbol;
declare const messageIdBrand: unique symbol;

/** Opaque id of a platform instance, e.g. 'matrix', 'discord', 'memory'. Built with `platformId`. */
export type PlatformId = string & { readonly [platformIdBrand]: true };
/** Opaque id of one message on a platform (a Matrix event id, a Discord snowflake). */
export type PlatformMessageId = string & { readonly [messageIdBrand]: true };

const PLATFORM_ID = /^[a-z][a-z0-9-]{0,31}$/;

/**
 * Checks and brands a platform id: lower-case letters, digits and '-', 1-32
 * characters, starting with a letter. It never contains ':', so `roomKey` is
 * unambiguous whatever a room id contains.
 */
export function platformId(id: string): PlatformId {
  if (!PLATFORM_ID.test(id)) {
    throw new Error(`platform id must be 1-32 lower-case letters, digits or '-', starting with a letter; got "${id}"`);
  }
  return id as PlatformId;
}

/** Brands a platform's message id (any non-empty string the platform gave us). */
export function platformMessageId(id: string): PlatformMessageId {
  if (id.length === 0) throw new Error('platform message id must not be empty');
  return id as PlatformMessageId;
}

/** One room (Matrix room, Discord channel) on one platform. */
export interface RoomRef {
  readonly platform: PlatformId;
  /** The platform's own id of the room, as the platform spells it. */
  readonly roomId: string;
}

/**
 * A stable string key for a room: `<platform>:<roomId>`. Two platforms never
 * collide (the platform id has no ':'), so it can key stores, queues and
 * rate limiters.
 */
export function roomKey(room: RoomRef): string {
  return `${room.platform}:${room.roomId}`;
}

/** What a sender may do in a room, as the platform adapter maps its own power levels / permissions. */
export type SenderLevel = 'moderator' | 'member';

export interface RoomSender {
  /** The platform's user id (Matrix user id, Discord user id). */
  readonly id: string;
  readonly displayName: string;
  readonly level: SenderLevel;
}

/** A file sent into a room: relayed to contacts as its link, name and size. */
export interface RoomAttachment {
  /** The file's name as the sender gave it. */
  readonly name: string;
  /** Bytes, when the platform says. */
  readonly size?: number;
  readonly mimeType?: string;
  /** Where anyone may download it (Matrix: the homeserver's media URL; Discord: the CDN URL). */
  readonly url: string;
}

/** The message a message answers. */
export interface ReplyRef {
  readonly id: PlatformMessageId;
  /**
   * What the platform itself quotes of the answered message (Matrix's reply
   * fallback), for when the bridge does not know that message; may be absent.
   */
  readonly excerpt?: string;
}

/** What every event written by someone in a room carries. */
interface AuthoredEvent {
  readonly room: RoomRef;
  /** The event's own id on the platform. */
  readonly id: PlatformMessageId;
  readonly sender: RoomSender;
  /**
   * True for the bot's own events and its webhook's. The platform still
   * delivers them (real platforms echo them back); the bridge must ignore them.
   */
  readonly fromSelf: boolean;
  /** When the platform says it happened (ms). */
  readonly at: number;
}

/** A message written in a room (by a person, another bot, or us). */
export interface RoomMessageEvent extends AuthoredEvent {
  readonly kind: 'message';
  /** The text, without any quoted reply fallback; may be empty when the message is only attachments. */
  readonly text: string;
  /**
   * True for notices (Matrix `m.notice`, a message flagged as from a bot).
   * Never bridged and never answered automatically: that is how bots avoid loops.
   */
  readonly notice: boolean;
  /** Files sent with (or as) the message. */
  readonly attachments?: readonly RoomAttachment[];
  /** Present when the message answers another. */
  readonly replyTo?: ReplyRef;
}

/** An earlier message was changed: `text` is its whole new text. Relayed once, as a correction. */
export interface RoomEditEvent extends AuthoredEvent {
  readonly kind: 'edit';
  /** The message that was edited (the original, never an earlier edit). */
  readonly target: PlatformMessageId;
  readonly text: string;
  /** The edited message is a notice (see RoomMessageEvent.notice). */
  readonly notice: boolean;
}

/** Someone added (or took back) a reaction to a message. Not relayed to contacts. */
export interface RoomReactionEvent extends AuthoredEvent {
  readonly kind: 'reaction';
  readonly target: PlatformMessageId;
  readonly emoji: string;
  /** False when the reaction was taken back (where the platform says so; Matrix reports a redaction instead). */
  readonly added: boolean;
}

/** Someone removed a message (or a reaction). Not relayed to contacts. */
export interface RoomRedactionEvent extends AuthoredEvent {
  readonly kind: 'redaction';
  readonly target: PlatformMessageId;
}

/**
 * The bot's own membership of a room changed. `joined: false` means the room
 * can no longer be written to: kicked, banned, or left.
 */
export interface RoomMembershipEvent {
  readonly kind: 'membership';
  readonly room: RoomRef;
  readonly joined: boolean;
  /** Why the bot is out ('kicked', 'banned', 'left'), or in ('invited'). */
  readonly reason: 'invited' | 'kicked' | 'banned' | 'left';
  /** Who did it (a user id), when the platform says. */
  readonly by?: string;
  readonly at: number;
}

/**
 * A person ran one of the bot's commands through the platform's own command
 * interface (Discord's slash commands), not by writing a message. The bridge
 * runs it as it runs `<prefix> <text>` and answers through `respond`.
 */
export interface RoomCommandEvent extends AuthoredEvent {
  readonly kind: 'command';
  /** The command line as a person would type it after the prefix: 'contact add carol magnet:?…'. */
  readonly text: string;
  /**
   * Answers the person who ran the command; call it once. `private`: only
   * that person sees the answer, where the platform can show it so (Discord's
   * ephemeral replies); elsewhere it is posted in the room. Never mentions
   * anyone. Rejects when the platform can no longer answer.
   */
  respond(text: string, opts: { readonly private: boolean }): Promise<void>;
}

/** Everything a platform reports from its rooms: a union on `kind`. */
export type RoomEvent = RoomMessageEvent | RoomEditEvent | RoomReactionEvent | RoomRedactionEvent | RoomMembershipEvent | RoomCommandEvent;

/**
 * One bot command, as platforms with a native command interface declare it
 * (Discord registers slash commands from these). The usage grammar is the
 * text commands' own: words, then `<required>` and `[optional]` arguments,
 * e.g. 'contact add <name> <magnet>' or 'receipts [n]'.
 */
export interface CommandDeclaration {
  readonly usage: string;
  readonly description: string;
}

/** What the bridge tells a platform when it starts it. */
export interface PlatformStartOptions {
  /** The bot's commands, for platforms that register them natively; others ignore them. */
  readonly commands?: readonly CommandDeclaration[];
}

/** What the bot writes into a room. */
export interface RoomPost {
  readonly text: string;
  /**
   * Who speaks (a contact's name), when the bot relays someone else's words.
   * Platforms show it natively (Matrix: the name in bold before the text;
   * Discord: a webhook post under that name). Absent: the bot speaks.
   */
  readonly author?: string;
  /** Post as a notice (Matrix `m.notice`; other bots must not answer it). Default false. */
  readonly notice?: boolean;
  /**
   * The message this post is about (a receipt's notice is about the person's
   * message): shown as a reply where the platform has replies, ignored where
   * it has not.
   */
  readonly replyTo?: PlatformMessageId;
  /**
   * Posts at most once per key and room: posting again with the same key (a
   * worker that crashed after posting, a retry) writes nothing and resolves
   * with the first post's id. Matrix: the transaction id; Discord: the nonce
   * with `enforce_nonce`.
   */
  readonly idempotencyKey?: string;
}

/** How many writes (posts, reactions, edits) one room accepts from the bot per window. */
export interface RateLimit {
  readonly posts: number;
  readonly perMs: number;
}

/** What a platform can do, as data: shared code reads this, never the platform's id. */
export interface PlatformCapabilities {
  /** True exactly when `react` is implemented. */
  readonly reactions: boolean;
  /** True exactly when `edit` is implemented. */
  readonly edits: boolean;
  /** Longest text `post` and `edit` accept, in characters (Discord: 2,000). */
  readonly maxMessageChars: number;
  /**
   * Writes per room the platform accepts before it answers "rate limited"
   * (Discord about 5 per 5 s per channel; Matrix is generous). Every write
   * counts (post, react and edit) unless `ownLimits` gives a kind a budget of
   * its own. Callers pace themselves with it (see rate-limit.ts); the
   * platform does not queue for them.
   */
  readonly rateLimit: RateLimit;
  /**
   * Kinds of write the platform counts apart from posts, each with its own
   * budget per room (Discord: reactions 1 per 250 ms, edits their own 5 per
   * 5 s). A kind not named here shares `rateLimit`.
   */
  readonly ownLimits?: { readonly react?: RateLimit; readonly edit?: RateLimit };
}

/** The kinds of write a platform may pace apart. */
export type WriteKind = 'post' | 'react' | 'edit';

/** The budget a kind of write counts against: its own where the platform declares one, else `rateLimit`. */
export function limitFor(c: PlatformCapabilities, kind: WriteKind): { readonly limit: RateLimit; readonly bucket: WriteKind } {
  const own = kind === 'post' ? undefined : c.ownLimits?.[kind];
  return own ? { limit: own, bucket: kind } : { limit: c.rateLimit, bucket: 'post' };
}

const RateLimitSchema = z.object({ posts: z.number().int().min(1), perMs: z.number().int().min(1) }).strict();

/** For adapters and config: capabilities are checked once, where they are declared. */
export const PlatformCapabilitiesSchema = z
  .object({
    reactions: z.boolean(),
    edits: z.boolean(),
    maxMessageChars: z.number().int().min(1),
    rateLimit: RateLimitSchema,
    ownLimits: z.object({ react: RateLimitSchema.optional(), edit: RateLimitSchema.optional() }).strict().optional(),
  })
  .strict();

/**
 * The platform refused a write because the bot wrote too much too fast
 * (Discord HTTP 429, Matrix `M_LIMIT_EXCEEDED`). Nothing was written; the
 * same write may be retried after `retryAfterMs`.
 */
export class RateLimitedError extends Error {
  constructor(
    readonly retryAfterMs: number,
    readonly room: RoomRef,
  ) {
    super(`rate limited in ${roomKey(room)}: retry after ${Math.ceil(retryAfterMs)} ms`);
    this.name = 'RateLimitedError';
  }
}

/** A post or edit longer than `capabilities.maxMessageChars`; nothing was written. Callers shorten, the platform never splits. */
export class MessageTooLongError extends Error {
  constructor(
    readonly length: number,
    readonly maxChars: number,
  ) {
    super(`message of ${length} characters is longer than the platform's ${maxChars}`);
    this.name = 'MessageTooLongError';
  }
}

/** How a platform's connection stands, for `!roomcast status` and operators. */
export interface PlatformStatus {
  readonly connected: boolean;
  /** Since when it is in this state (ms). */
  readonly since: number;
  /** One line: what it is connected to, or what it is waiting for. */
  readonly detail: string;
  readonly lastError?: { readonly message: string; readonly at: number };
}

/**
 * Small durable key-value state a platform keeps in roomcast's store (Matrix:
 * its sync position), so a restart resumes where the last run stopped.
 * Values are strings; `set` is durable when it resolves.
 */
export interface PlatformStateStore {
  get(key: string): Promise<string | undefined>;
  set(key: string, value: string): Promise<void>;
}

export interface Platform {
  readonly id: PlatformId;
  readonly capabilities: PlatformCapabilities;
  /**
   * Connects and starts delivering room events. Resolves once events flow.
   * `onEvent` is awaited, and events of one room are delivered one at a time
   * in the platform's order, so the bridge keeps per-room order by simply
   * awaiting its work. Every event is delivered, the bot's own posts and
   * notices included (flagged `fromSelf` / `notice`): filtering is the
   * bridge's job, in one place for every platform. An `onEvent` that throws
   * is logged by the adapter; it does not stop delivery.
   */
  start(onEvent: (e: RoomEvent) => Promise<void>, opts?: PlatformStartOptions): Promise<void>;
  /**
   * Writes one message into a room and resolves with its id. Must not split,
   * queue or wait for a rate limit: text over `maxMessageChars` rejects with
   * MessageTooLongError, and a platform refusal for pace rejects with
   * RateLimitedError (nothing written) — the caller paces with
   * `capabilities.rateLimit` and retries. Must not mention anyone (no
   * `@everyone`, no pings). Rejects after `stop`; a platform that can write
   * without taking events works before `start` too (worker processes write
   * into rooms but never start platforms), others reject then.
   */
  post(room: RoomRef, msg: RoomPost): Promise<PlatformMessageId>;
  /**
   * Adds the bot's reaction to a message; present exactly when
   * `capabilities.reactions`. Idempotent for the same emoji. Same rate-limit
   * contract as `post`.
   */
  react?(room: RoomRef, target: PlatformMessageId, emoji: string): Promise<void>;
  /**
   * Replaces the text of one of the bot's own posts; present exactly when
   * `capabilities.edits`. Same length and rate-limit contract as `post`.
   */
  edit?(room: RoomRef, target: PlatformMessageId, msg: RoomPost): Promise<void>;
  /** The connection's state; absent where there is no connection to speak of. Never throws. */
  status?(): PlatformStatus;
  /** Stops delivering events (after the one being handled) and disconnects; idempotent. */
  stop(): Promise<void>;
}
