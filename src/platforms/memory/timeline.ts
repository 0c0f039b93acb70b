/**
 * The memory platform's timelines: what a room's messages are (Entry, kept
 * mutable inside the platform), what tests see of them (TimelineEntry, a
 * snapshot), and the events the bridge gets for them.
 */
import type { PlatformMessageId, RoomAttachment, RoomEvent, RoomRef, RoomSender, SenderLevel } from '../platform.js';

/** What a person's message carries besides text. */
export interface SayOptions {
  readonly notice?: boolean;
  readonly attachments?: readonly RoomAttachment[];
  /** The message this one answers (its excerpt is the answered message's current text). */
  readonly replyTo?: PlatformMessageId;
}

/** A person (or another bot) writing with `say`: a bare string is a member with that id and name. */
export type SenderInput = string | { readonly id: string; readonly displayName?: string; readonly level?: SenderLevel };

export interface Reaction {
  readonly emoji: string;
  /** User id of who reacted. */
  readonly by: string;
}

/** One message in a room's timeline, as it stands now. */
export interface TimelineEntry {
  readonly id: PlatformMessageId;
  readonly room: RoomRef;
  readonly sender: RoomSender;
  /** For the bot's posts that relay someone (RoomPost.author): who; the text then reads "author: text". */
  readonly author?: string;
  readonly attachments: readonly RoomAttachment[];
  readonly replyTo?: PlatformMessageId;
  /** Removed by a redaction (its text is then empty). */
  readonly redacted: boolean;
  /** The current text (after any edits). */
  readonly text: string;
  /** Every text the message has had, oldest first: versions[0] is the original. */
  readonly versions: readonly string[];
  readonly notice: boolean;
  /** Written by the bot through the seam. */
  readonly fromSelf: boolean;
  readonly at: number;
  readonly reactions: readonly Reaction[];
}

/** A message as the platform keeps it: what a snapshot shows but its current text, with the parts that change kept mutable. */
export interface Entry extends Omit<TimelineEntry, 'text' | 'redacted' | 'versions' | 'reactions'> {
  redacted: boolean;
  readonly versions: string[];
  readonly reactions: Reaction[];
  /** Its key in `posted`, when the bot posted it with an idempotency key. */
  readonly postedKey?: string;
}

export function toSender(s: SenderInput): RoomSender {
  if (typeof s === 'string') return { id: s, displayName: s, level: 'member' };
  return { id: s.id, displayName: s.displayName ?? s.id, level: s.level ?? 'member' };
}

export function toEvent(e: Entry, excerpt?: string): RoomEvent {
  return {
    kind: 'message',
    room: e.room,
    id: e.id,
    sender: e.sender,
    text: e.versions[0] ?? '',
    fromSelf: e.fromSelf,
    notice: e.notice,
    at: e.at,
    ...(e.attachments.length > 0 ? { attachments: e.attachments } : {}),
    ...(e.replyTo === undefined ? {} : { replyTo: { id: e.replyTo, ...(excerpt === undefined ? {} : { excerpt }) } }),
  };
}

export function snapshot(e: Entry): TimelineEntry {
  return {
    id: e.id,
    room: e.room,
    sender: e.sender,
    ...(e.author === undefined ? {} : { author: e.author }),
    attachments: e.attachments,
    ...(e.replyTo === undefined ? {} : { replyTo: e.replyTo }),
    redacted: e.redacted,
    text: e.redacted ? '' : (e.versions[e.versions.length - 1] ?? ''),
    versions: [...e.versions],
    notice: e.notice,
    fromSelf: e.fromSelf,
    at: e.at,
    reactions: [...e.reactions],
  };
}
