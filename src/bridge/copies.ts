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

/** The uuid of part `index` (0-based) of `count` of a contact's copy; a message in one part keeps contactCopyUuid. */
export function contactPartUuid(roomUuid: string, contactXOnly: string, index: number, count: number): string {
  return count === 1 ? contactCopyUuid(roomUuid, contactXOnly) : nameBasedUuid('roomcast-copy', roomUuid, contactXOnly, `${index + 1}/${count}`);
}

/**
 * What a contact receives for one room message, in order: one ChatMessage
 * per part of `contents` (see parts.ts: the writer's name, then the text;
 * a room has many writers).
 */
export function contactCopies(
  room: { magnetLink: string },
  entry: { uuid: string; createdAt: number },
  contactXOnly: string,
  contents: readonly string[],
): PlainMessage[] {
  return contents.map((content, i) => ({
    uuid: contactPartUuid(entry.uuid, contactXOnly, i, contents.length),
    type: 'message',
    content,
    timestamp: entry.createdAt,
    fromMagnetLink: room.magnetLink,
  }));
}
