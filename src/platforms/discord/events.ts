/**
 * Discord messages as room events. What counts: messages people write in
 * text channels, announcement channels and threads (types Default and
 * Reply); system messages (joins, pins, thread starters) do not. Bots' and
 * webhooks' messages are notices (never bridged, so bridges cannot loop).
 *
 * Edits come from the raw MESSAGE_UPDATE, checked here: only one that
 * carries an `edited_timestamp` is an edit. Discord sends updates without it
 * for link previews, and some Discord-compatible servers after every message.
 */
import { ChannelType, MessageReferenceType, MessageType } from 'discord.js';
import type { Channel, Message, PartialMessage } from 'discord.js';
import { z } from 'zod';
import { platformMessageId } from '../platform.js';
import type { PlatformId, RoomAttachment, RoomEditEvent, RoomMessageEvent, RoomRef, RoomSender } from '../platform.js';
import { readableText } from './text.js';

/** Channels that are rooms: text and announcement channels, and threads (each its own room). */
const ROOM_TYPES: ReadonlySet<ChannelType> = new Set([
  ChannelType.GuildText,
  ChannelType.GuildAnnouncement,
  ChannelType.PublicThread,
  ChannelType.PrivateThread,
  ChannelType.AnnouncementThread,
]);

export function isRoomChannel(channel: Pick<Channel, 'type'> | null | undefined): boolean {
  return channel !== null && channel !== undefined && ROOM_TYPES.has(channel.type);
}

/** Message types people write: plain messages and replies. */
const PERSON_TYPES: ReadonlySet<MessageType> = new Set([MessageType.Default, MessageType.Reply]);

/** Who the bot is: its user id and its webhooks' ids (their messages are its own too). */
export interface Self {
  readonly userId: string;
  readonly applicationId: string | undefined;
  readonly webhookIds: ReadonlySet<string>;
}

export function isFromSelf(m: Pick<Message, 'author' | 'webhookId' | 'applicationId'>, self: Self): boolean {
  return m.author?.id === self.userId || (m.webhookId !== null && self.webhookIds.has(m.webhookId)) || (self.applicationId !== undefined && m.applicationId === self.applicationId);
}

/** A message written in a room, or undefined for what is not one (system messages, empty messages). */
export function messageEvent(m: Message, platform: PlatformId, sender: RoomSender, self: Self): RoomMessageEvent | undefined {
  if (!PERSON_TYPES.has(m.type)) return undefined;
  const attachments: RoomAttachment[] = [...m.attachments.values()].map((a) => ({
    name: a.name,
    url: a.url,
    ...(a.size ? { size: a.size } : {}),
    ...(a.contentType ? { mimeType: a.contentType } : {}),
  }));
  const text = readableText(m.cleanContent);
  if (text.trim() === '' && attachments.length === 0) return undefined;
  const ref = m.reference;
  const answered = ref?.messageId && (ref.type ?? MessageReferenceType.Default) === MessageReferenceType.Default ? ref.messageId : undefined;
  const excerpt = answered ? m.channel.messages.cache.get(answered)?.cleanContent : undefined;
  return {
    kind: 'message',
    room: { platform, roomId: m.channelId },
    id: platformMessageId(m.id),
    sender,
    text,
    notice: m.author.bot || m.webhookId !== null,
    fromSelf: isFromSelf(m, self),
    at: m.createdTimestamp,
    ...(attachments.length > 0 ? { attachments } : {}),
    ...(answered ? { replyTo: { id: platformMessageId(answered), ...(excerpt ? { excerpt: readableText(excerpt) } : {}) } } : {}),
  };
}

/** The fields of a raw MESSAGE_UPDATE an edit needs. */
export const RawUpdateSchema = z.object({
  id: z.string().regex(/^\d{1,20}$/),
  channel_id: z.string().regex(/^\d{1,20}$/),
  edited_timestamp: z.string().nullish(),
  content: z.string().optional(),
});
export type RawUpdate = z.output<typeof RawUpdateSchema>;

/**
 * An edit, from a MESSAGE_UPDATE that carries edited_timestamp and content,
 * once discord.js has applied it to `m`. Its id names the edit (message id
 * and edit time), so a redelivered update is the same edit.
 */
export function editEvent(raw: RawUpdate, m: Message | PartialMessage, room: RoomRef, sender: RoomSender, self: Self): RoomEditEvent | undefined {
  if (!raw.edited_timestamp || raw.content === undefined || m.partial) return undefined;
  if (!PERSON_TYPES.has(m.type)) return undefined;
  return {
    kind: 'edit',
    room,
    id: platformMessageId(`${raw.id}@${Date.parse(raw.edited_timestamp) || raw.edited_timestamp}`),
    target: platformMessageId(raw.id),
    sender,
    text: readableText(m.cleanContent),
    notice: m.author.bot || m.webhookId !== null,
    fromSelf: isFromSelf(m, self),
    at: Date.parse(raw.edited_timestamp) || Date.now(),
  };
}
