/**
 * Matrix events as the bridge sees them. Every event from /sync is checked
 * (zod) before use; what does not fit is rejected with a reason, never
 * half-read. Mapping is pure: senders' names and levels are looked up by the
 * platform and passed in.
 */
import { z } from 'zod';
import { platformMessageId } from '../platform.js';
import type { RoomAttachment, RoomEvent, RoomRef, RoomSender } from '../platform.js';

/** The longest text we accept in one event (Matrix events are at most 64 KiB). */
const MAX_TEXT = 65_536;

export const RawEventSchema = z.object({
  /** Absent on stripped invite-state events (a real Synapse quirk). */
  event_id: z.string().min(1).max(255).optional(),
  type: z.string().min(1).max(255),
  sender: z.string().min(1).max(255),
  content: z.record(z.string(), z.unknown()),
  origin_server_ts: z.number().optional(),
  state_key: z.string().optional(),
  redacts: z.string().optional(),
  unsigned: z.record(z.string(), z.unknown()).optional(),
});
export type RawEvent = z.output<typeof RawEventSchema>;

const RelatesTo = z
  .object({
    rel_type: z.string().optional(),
    event_id: z.string().min(1).optional(),
    key: z.string().optional(),
    'm.in_reply_to': z.object({ event_id: z.string().min(1) }).optional(),
  })
  .optional();

const MessageContent = z.object({
  msgtype: z.string().min(1),
  body: z.string().max(MAX_TEXT),
  url: z.string().optional(),
  filename: z.string().max(1024).optional(),
  info: z.object({ size: z.number().int().nonnegative().optional(), mimetype: z.string().max(255).optional() }).optional(),
  'm.relates_to': RelatesTo,
  'm.new_content': z.object({ msgtype: z.string().optional(), body: z.string().max(MAX_TEXT) }).optional(),
});

const ReactionContent = z.object({
  'm.relates_to': z.object({ rel_type: z.literal('m.annotation'), event_id: z.string().min(1), key: z.string().min(1).max(255) }),
});

const MemberContent = z.object({ membership: z.string(), displayname: z.string().max(256).nullish() });
const PowerLevelsContent = z.object({
  users: z.record(z.string(), z.number()).optional(),
  users_default: z.number().optional(),
});

/** A room's power levels, as far as the bridge reads them. */
export type PowerLevels = z.output<typeof PowerLevelsContent>;

export function parsePowerLevels(content: unknown): PowerLevels | undefined {
  const r = PowerLevelsContent.safeParse(content);
  return r.success ? r.data : undefined;
}

export function parseMember(content: unknown): z.output<typeof MemberContent> | undefined {
  const r = MemberContent.safeParse(content);
  return r.success ? r.data : undefined;
}

/** A user's power level in a room with these power levels. */
export function powerOf(levels: PowerLevels | undefined, userId: string): number {
  return levels?.users?.[userId] ?? levels?.users_default ?? 0;
}

export interface MappingContext {
  readonly room: RoomRef;
  readonly botUserId: string;
  /** The homeserver's download URL for an mxc:// URI; undefined when it is not one. */
  mediaUrl(mxc: string): string | undefined;
}

/** What a timeline event is to the bridge, before its sender is looked up; `ignore` for events the bridge has no use for. */
export type Draft =
  | { readonly kind: 'event'; readonly senderId: string; build(sender: RoomSender): RoomEvent }
  | { readonly kind: 'ignore' }
  | { readonly kind: 'reject'; readonly reason: string };

/**
 * Maps one timeline event. `m.room.message` (text, emote, notice, image,
 * file, audio, video) becomes a message, or an edit when it is an
 * `m.replace`; `m.reaction` a reaction; `m.room.redaction` a redaction.
 */
export function draftOf(raw: RawEvent, ctx: MappingContext): Draft {
  if (raw.event_id === undefined) return { kind: 'ignore' };
  const id = platformMessageId(raw.event_id);
  const base = { room: ctx.room, id, fromSelf: raw.sender === ctx.botUserId, at: raw.origin_server_ts ?? Date.now() };
  switch (raw.type) {
    case 'm.room.message': {
      const c = MessageContent.safeParse(raw.content);
      if (!c.success) return { kind: 'reject', reason: 'malformed m.room.message' };
      const content = c.data;
      const rel = content['m.relates_to'];
      if (rel?.rel_type === 'm.replace') {
        if (!rel.event_id) return { kind: 'reject', reason: 'm.replace without event_id' };
        const target = platformMessageId(rel.event_id);
        const fresh = content['m.new_content'];
        const text = fresh ? fresh.body : content.body.replace(/^\* /, '');
        const notice = (fresh?.msgtype ?? content.msgtype) === 'm.notice';
        return { kind: 'event', senderId: raw.sender, build: (sender) => ({ kind: 'edit', ...base, sender, target, text, notice }) };
      }
      const replyId = rel?.['m.in_reply_to']?.event_id;
      const { text, excerpt } = replyId ? stripReplyFallback(content.body) : { text: content.body, excerpt: undefined };
      const attachment = attachmentOf(content, ctx);
      if (attachment === 'reject') return { kind: 'reject', reason: `${content.msgtype} without a readable mxc:// url` };
      const shown = attachment ? captionOf(content) : content.msgtype === 'm.emote' ? `* ${text}` : text;
      return {
        kind: 'event',
        senderId: raw.sender,
        build: (sender) => ({
          kind: 'message',
          ...base,
          sender,
          text: shown,
          notice: content.msgtype === 'm.notice',
          ...(attachment ? { attachments: [attachment] } : {}),
          ...(replyId ? { replyTo: { id: platformMessageId(replyId), ...(excerpt ? { excerpt } : {}) } } : {}),
        }),
      };
    }
    case 'm.reaction': {
      const c = ReactionContent.safeParse(raw.content);
      if (!c.success) return { kind: 'reject', reason: 'malformed m.reaction' };
      const rel = c.data['m.relates_to'];
      return { kind: 'event', senderId: raw.sender, build: (sender) => ({ kind: 'reaction', ...base, sender, target: platformMessageId(rel.event_id), emoji: rel.key, added: true }) };
    }
    case 'm.room.redaction': {
      const target = raw.redacts ?? (typeof raw.content.redacts === 'string' ? raw.content.redacts : undefined);
      if (!target) return { kind: 'reject', reason: 'm.room.redaction without redacts' };
      return { kind: 'event', senderId: raw.sender, build: (sender) => ({ kind: 'redaction', ...base, sender, target: platformMessageId(target) }) };
    }
    default:
      return { kind: 'ignore' };
  }
}

const FILE_TYPES = new Set(['m.image', 'm.file', 'm.audio', 'm.video']);

function attachmentOf(c: z.output<typeof MessageContent>, ctx: MappingContext): RoomAttachment | 'reject' | undefined {
  if (!FILE_TYPES.has(c.msgtype)) return undefined;
  const url = c.url === undefined ? undefined : ctx.mediaUrl(c.url);
  if (!url) return 'reject';
  return {
    name: c.filename ?? c.body,
    url,
    ...(c.info?.size === undefined ? {} : { size: c.info.size }),
    ...(c.info?.mimetype === undefined ? {} : { mimeType: c.info.mimetype }),
  };
}

/** A file's caption: the body, when a separate `filename` makes the body a caption (Matrix 1.10); else none. */
function captionOf(c: z.output<typeof MessageContent>): string {
  return c.filename !== undefined && c.filename !== c.body ? c.body : '';
}

/**
 * Replies carry a quoted fallback ("> <@alice:hs> what was said\n\nthe reply");
 * the bridge relays the reply alone and quotes the answered message itself.
 * The fallback's text (without the sender) is the excerpt.
 */
export function stripReplyFallback(body: string): { text: string; excerpt?: string } {
  const lines = body.split('\n');
  let i = 0;
  while (i < lines.length && lines[i]!.startsWith('>')) i++;
  if (i === 0) return { text: body };
  const quoted = lines
    .slice(0, i)
    .map((l) => l.replace(/^> ?/, ''))
    .join(' ')
    .replace(/^\* ?/, '')
    .replace(/^<[^>]+>\s*/, '')
    .trim();
  const rest = lines.slice(lines[i] === '' ? i + 1 : i).join('\n');
  return quoted === '' ? { text: rest } : { text: rest, excerpt: quoted };
}

/** mxc://server/media → the homeserver's (unauthenticated) download URL; undefined when `mxc` is not one. */
export function downloadUrl(homeserverUrl: string, mxc: string): string | undefined {
  const m = /^mxc:\/\/([A-Za-z0-9.:-]+)\/([A-Za-z0-9_-]+)$/.exec(mxc);
  if (!m) return undefined;
  return `${homeserverUrl.replace(/\/$/, '')}/_matrix/media/v3/download/${encodeURIComponent(m[1]!)}/${encodeURIComponent(m[2]!)}`;
}
