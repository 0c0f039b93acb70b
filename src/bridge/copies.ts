/**
 * A room message goes to each contact as its own ChatMessage. Its uuid is
 * derived from the room message's uuid and the contact's key, so every retry,
 * by any worker, sends the same uuid and the peer shows the message once.
 */
import { createHash } from 'node:crypto';
import type { PlainMessage } from '../protocol/chat-message.js';

/** A name-based UUID (version 5 layout, SHA-256): the same parts always give the same uuid. */
export function nameBasedUuid(...parts: string[]): string {
  const h = createHash('sha256').update(parts.join('|')).digest();
  h[6] = (h[6]! & 0x0f) | 0x50;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const hex = h.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** The uuid of a contact's copy of a room message. */
export function contactCopyUuid(roomUuid: string, contactXOnly: string): string {
  return nameBasedUuid('roomcast-copy', roomUuid, contactXOnly);
}

/** What a contact receives for one room message: the writer's name, then the text (a room has many writers). */
export function contactCopy(room: { magnetLink: string }, entry: { uuid: string; senderName: string; text: string; createdAt: number }, contactXOnly: string): PlainMessage {
  return {
    uuid: contactCopyUuid(entry.uuid, contactXOnly),
    type: 'message',
    content: `${entry.senderName}: ${entry.text}`,
    timestamp: entry.createdAt,
    fromMagnetLink: room.magnetLink,
  };
}
