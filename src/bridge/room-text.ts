/**
 * What contacts on the networks receive for what people do in a room, as
 * plain text (the wire carries text only, PROTOCOL.md): a reply quotes what
 * it answers in one short line, an attachment is its link with name and
 * size, an edit is a correction marked ✎. Reactions and redactions are not
 * relayed at all.
 */
import type { RoomAttachment, RoomMessageEvent } from '../platforms/platform.js';

/** Longest quote of an answered message, in characters (one short line). */
export const REPLY_QUOTE_CHARS = 60;

/** Marks a correction: the edited message's whole new text follows. */
export const CORRECTION_MARK = '✎';

/** The message a reply answers, as far as the bridge knows it. */
export interface Quoted {
  /** Who wrote it, when known. */
  readonly who?: string;
  readonly text: string;
}

/**
 * A room message as contacts read it (the writer's name is added by parts.ts):
 * "↪ Alice: what was answered…" on its own line, the text, then one line per attachment.
 */
export function relayedText(e: Pick<RoomMessageEvent, 'text' | 'attachments'>, quoted?: Quoted): string {
  const lines: string[] = [];
  if (quoted) lines.push(`↪ ${quoted.who ? `${oneLine(quoted.who, 40)}: ` : ''}${oneLine(quoted.text, REPLY_QUOTE_CHARS)}`);
  if (e.text.trim() !== '') lines.push(e.text);
  for (const a of e.attachments ?? []) lines.push(attachmentLine(a));
  return lines.join('\n');
}

/** An edit as contacts read it: "✎ new text". */
export function correctionText(text: string): string {
  return `${CORRECTION_MARK} ${text}`;
}

/** "📎 photo.png (1.2 MB, image/png) https://…" */
export function attachmentLine(a: RoomAttachment): string {
  const about = [a.size === undefined ? undefined : formatBytes(a.size), a.mimeType].filter((x): x is string => x !== undefined && x !== '');
  return `📎 ${oneLine(a.name, 200)}${about.length > 0 ? ` (${about.join(', ')})` : ''} ${a.url}`;
}

/** 999 B, 1.5 KB, 12 MB (powers of 1024, as file managers show). */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v >= 10 ? Math.round(v) : Math.round(v * 10) / 10} ${units[i]}`;
}

/** Whitespace collapsed to single spaces, cut at `max` characters with "…". */
function oneLine(text: string, max: number): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max)}…` : flat;
}
