/**
 * Text rules of Discord that the bridge must honour on every write: no
 * mention may work (whatever the server does with `allowed_mentions`), names
 * shown through a webhook follow Discord's username rules, and a post's
 * idempotency key becomes a nonce Discord accepts.
 */
import { createHash } from 'node:crypto';

/** Zero-width joiner: after an '@' it breaks `@everyone`, `@here`, `<@id>` and `<@&id>` without changing what people read. */
const ZWJ = '\u200d';

/**
 * Neutralises every mention in text from the networks or the bot: a
 * zero-width joiner after each '@'. Sent together with
 * `allowed_mentions: { parse: [] }`; the text rule alone holds on servers
 * that ignore `allowed_mentions` (some Discord-compatible ones do).
 */
export function neutraliseMentions(text: string): string {
  return text.replaceAll('@', `@${ZWJ}`);
}

/** What every write sends: no mention notifies anyone, replies included. */
export const NO_MENTIONS = { parse: [] as string[], replied_user: false };

const MAX_NAME = 80;

/**
 * A contact's name as a webhook username: 1-80 characters; Discord refuses
 * names containing "discord" or "clyde" (any case), so those words get a
 * look-alike digit ("disc0rd", "c1yde") and stay readable.
 */
export function webhookName(name: string): string {
  const cleaned = name
    .replace(/[\r\n\t]+/g, ' ')
    .trim()
    .replace(/discord/gi, (w) => w.replace(/o/i, '0'))
    .replace(/clyde/gi, (w) => w.replace(/l/i, '1'));
  const chars = [...cleaned];
  const fitted = chars.length > MAX_NAME ? `${chars.slice(0, MAX_NAME - 1).join('')}…` : cleaned;
  return fitted === '' ? 'contact' : fitted;
}

/** A post's idempotency key as a nonce (Discord takes at most 25 characters). */
export function nonceOf(key: string): string {
  return createHash('sha256').update(key).digest('base64url').slice(0, 25);
}

/** Markdown emphasis characters escaped, for a name shown in bold. */
export function escapeMarkdown(text: string): string {
  return text.replace(/([\\*_~`|>])/g, '\\$1');
}

/**
 * A person's message as contacts should read it: custom emoji `<:name:id>`
 * as `:name:`. Mentions are already names (discord.js's cleanContent).
 */
export function readableText(cleanContent: string): string {
  return cleanContent.replace(/<a?(:[A-Za-z0-9_~]{1,32}:)\d{1,20}>/g, '$1');
}
