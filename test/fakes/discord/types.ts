/**
 * Shared vocabulary of the fake Discord server: JSON values, the wire shapes
 * the fake hands out (users, messages, webhooks, ...), the error type every
 * handler throws, permission and intent bits. Nothing here knows about HTTP
 * or WebSockets.
 */

export type Json = null | boolean | number | string | Json[] | JsonObject;
export type JsonObject = { [key: string]: Json };

/** A user as Discord serialises it inside messages, members and READY. */
export interface UserJson {
  id: string;
  username: string;
  discriminator: string;
  global_name: string | null;
  avatar: string | null;
  bot?: boolean;
  flags?: number;
  public_flags?: number;
}

export interface AttachmentJson {
  id: string;
  filename: string;
  size: number;
  url: string;
  proxy_url: string;
  content_type: string;
}

/**
 * A message exactly as the fake stores and serves it (REST answers and the
 * MESSAGE_CREATE payload minus `member`). Optional fields are absent, not
 * null, when they do not apply.
 */
export interface FakeMessage {
  id: string;
  channel_id: string;
  guild_id?: string;
  author: UserJson;
  content: string;
  timestamp: string;
  edited_timestamp: string | null;
  tts: boolean;
  mention_everyone: boolean;
  mentions: UserJson[];
  mention_roles: string[];
  attachments: AttachmentJson[];
  embeds: Json[];
  components: Json[];
  pinned: boolean;
  type: number;
  flags: number;
  nonce?: string | number;
  webhook_id?: string;
  application_id?: string;
  message_reference?: { type: 0; message_id: string; channel_id: string; guild_id?: string };
  referenced_message?: FakeMessage | null;
  interaction_metadata?: JsonObject;
  position?: number;
}

export interface WebhookJson {
  id: string;
  type: 1;
  guild_id: string;
  channel_id: string;
  name: string;
  avatar: null;
  token: string;
  application_id: string | null;
  user: UserJson;
}

/** One request the fake answered; tokens are never kept. */
export interface RecordedRequest {
  readonly method: string;
  /** The path without `/api/vN` (and without the query), e.g. `/channels/123/messages`; a token in the path reads `{token}` (`/webhooks/123/{token}`). */
  readonly path: string;
  readonly query: Readonly<Record<string, string>>;
  /** The parsed JSON body, `payload_json` of a multipart body, or undefined. */
  readonly body: unknown;
  readonly auth: 'bot' | 'user' | 'webhook' | 'none';
  readonly status: number;
  /** `Date.now()` when the request arrived. */
  readonly at: number;
}

/**
 * A Discord error response. Handlers throw it; the HTTP layer turns it into
 * `{message, code, ...extra}` with `status`, the shape discord.js parses into
 * `DiscordAPIError`.
 */
export class DiscordApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: number,
    message: string,
    readonly extra: JsonObject = {},
  ) {
    super(message);
  }

  body(): JsonObject {
    return { message: this.message, code: this.code, ...this.extra };
  }
}

export const unknownChannel = (): DiscordApiError => new DiscordApiError(404, 10003, 'Unknown Channel');
export const unknownMessage = (): DiscordApiError => new DiscordApiError(404, 10008, 'Unknown Message');
export const unknownWebhook = (): DiscordApiError => new DiscordApiError(404, 10015, 'Unknown Webhook');
export const unknownGuild = (): DiscordApiError => new DiscordApiError(404, 10004, 'Unknown Guild');
export const unknownUser = (): DiscordApiError => new DiscordApiError(404, 10013, 'Unknown User');
export const unknownMember = (): DiscordApiError => new DiscordApiError(404, 10007, 'Unknown Member');
export const missingPermissions = (): DiscordApiError => new DiscordApiError(403, 50013, 'Missing Permissions');
export const missingAccess = (): DiscordApiError => new DiscordApiError(403, 50001, 'Missing Access');
export const unauthorized = (): DiscordApiError => new DiscordApiError(401, 0, '401: Unauthorized');

/** 400 50035 with Discord's nested `errors` object for one field. */
export function invalidForm(field: string, code: string, message: string): DiscordApiError {
  const errors: JsonObject = {};
  let node = errors;
  const parts = field.split('.');
  parts.forEach((p, i) => {
    const next: JsonObject = i === parts.length - 1 ? { _errors: [{ code, message }] } : {};
    node[p] = next;
    node = next;
  });
  return new DiscordApiError(400, 50035, 'Invalid Form Body', { errors });
}

export function isJsonObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** `o[key]` as a string (numbers are stringified, as snowflakes may come as either), else undefined. */
export function str(o: JsonObject, key: string): string | undefined {
  const v = o[key];
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return String(v);
  return undefined;
}

/** Permission bits the fake evaluates (Discord's values). */
export const Perm = {
  CREATE_INSTANT_INVITE: 1n << 0n,
  ADMINISTRATOR: 1n << 3n,
  MANAGE_CHANNELS: 1n << 4n,
  ADD_REACTIONS: 1n << 6n,
  VIEW_CHANNEL: 1n << 10n,
  SEND_MESSAGES: 1n << 11n,
  MANAGE_MESSAGES: 1n << 13n,
  EMBED_LINKS: 1n << 14n,
  ATTACH_FILES: 1n << 15n,
  READ_MESSAGE_HISTORY: 1n << 16n,
  MENTION_EVERYONE: 1n << 17n,
  USE_EXTERNAL_EMOJIS: 1n << 18n,
  CHANGE_NICKNAME: 1n << 26n,
  MANAGE_WEBHOOKS: 1n << 29n,
  USE_APPLICATION_COMMANDS: 1n << 31n,
  CREATE_PUBLIC_THREADS: 1n << 35n,
  CREATE_PRIVATE_THREADS: 1n << 36n,
  SEND_MESSAGES_IN_THREADS: 1n << 38n,
} as const;

/** Every permission bit Discord defines today (what ADMINISTRATOR and ownership grant). */
export const ALL_PERMISSIONS = (1n << 51n) - 1n;

/** What @everyone may do in a fresh guild (close to Discord's default role). */
export const DEFAULT_EVERYONE_PERMISSIONS =
  Perm.CREATE_INSTANT_INVITE | Perm.ADD_REACTIONS | Perm.VIEW_CHANNEL | Perm.SEND_MESSAGES | Perm.EMBED_LINKS |
  Perm.ATTACH_FILES | Perm.READ_MESSAGE_HISTORY | Perm.MENTION_EVERYONE | Perm.USE_EXTERNAL_EMOJIS |
  Perm.CHANGE_NICKNAME | Perm.USE_APPLICATION_COMMANDS | Perm.CREATE_PUBLIC_THREADS | Perm.CREATE_PRIVATE_THREADS |
  Perm.SEND_MESSAGES_IN_THREADS;

/** Gateway intent bits the fake filters dispatches by. */
export const Intent = {
  GUILDS: 1 << 0,
  GUILD_MEMBERS: 1 << 1,
  GUILD_WEBHOOKS: 1 << 5,
  GUILD_MESSAGES: 1 << 9,
  GUILD_MESSAGE_REACTIONS: 1 << 10,
  MESSAGE_CONTENT: 1 << 15,
} as const;
