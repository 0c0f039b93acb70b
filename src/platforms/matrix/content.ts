/**
 * What roomcast writes into Matrix rooms. Contacts' messages are `m.text`
 * with the name in bold; everything the bot says of itself is `m.notice`, so
 * other bots do not answer it. Text from the networks is escaped, so it can
 * inject no HTML, and mentions are neutralised in both bodies (a word joiner
 * after '@'), with an empty `m.mentions`, so no one is pinged — not even by
 * "@room".
 */
import { createHash, randomUUID } from 'node:crypto';
import type { RoomPost } from '../platform.js';

export type MatrixContent = Record<string, unknown>;

/** U+2060 WORD JOINER: invisible, and breaks "@room" and "@user:server" as mention patterns. */
const JOINER = '\u2060';

/** Inserts a word joiner after every '@' that starts a word, so no text mentions anyone. */
export function neutraliseMentions(text: string): string {
  return text.replace(/@(?=[\p{L}\p{N}_])/gu, `@${JOINER}`);
}

/** HTML-escapes text for `formatted_body`, line breaks as <br>. */
export function escapeHtml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;')
    .replace(/\n/g, '<br>');
}

/** The content of a post: plain `body`, HTML `formatted_body`. */
export function messageContent(post: RoomPost): MatrixContent {
  const text = neutraliseMentions(post.text);
  const author = post.author === undefined ? undefined : neutraliseMentions(post.author);
  return {
    msgtype: post.notice ? 'm.notice' : 'm.text',
    body: author === undefined ? text : `${author}: ${text}`,
    format: 'org.matrix.custom.html',
    formatted_body: author === undefined ? escapeHtml(text) : `<b>${escapeHtml(author)}</b>: ${escapeHtml(text)}`,
    'm.mentions': {},
  };
}

/** An edit of one of the bot's posts: the new content, with the "* " fallback for clients without edits. */
export function editContent(target: string, post: RoomPost): MatrixContent {
  const fresh = messageContent(post);
  return {
    msgtype: fresh.msgtype,
    body: `* ${String(fresh.body)}`,
    format: 'org.matrix.custom.html',
    formatted_body: `* ${String(fresh.formatted_body)}`,
    'm.new_content': fresh,
    'm.relates_to': { rel_type: 'm.replace', event_id: target },
    'm.mentions': {},
  };
}

export function reactionContent(target: string, emoji: string): MatrixContent {
  return { 'm.relates_to': { rel_type: 'm.annotation', event_id: target, key: emoji } };
}

/**
 * A transaction id. The same key gives the same id, so the homeserver turns
 * a repeated send into the first event (Matrix's txnId idempotency); no key
 * gives a fresh one.
 */
export function txnIdFor(key?: string): string {
  return key === undefined ? `rc-${randomUUID()}` : `rc-${createHash('sha256').update(key).digest('hex').slice(0, 40)}`;
}

/** Bytes the content takes on the wire (Matrix refuses events over 64 KiB). */
export function contentBytes(content: MatrixContent): number {
  return Buffer.byteLength(JSON.stringify(content));
}
