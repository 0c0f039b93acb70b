/**
 * Message life cycle shared by the channel, webhook and interaction routes:
 * body validation (Discord's limits and error codes), the per-channel write
 * limit, nonce deduplication, mentions under `allowed_mentions` (and the
 * pings they cause), storage, and the MESSAGE_CREATE / UPDATE / DELETE
 * dispatches — with content emptied for sessions lacking MESSAGE_CONTENT,
 * and the optional quirk update after each create.
 */
import type { Gateway, Payload } from './gateway.js';
import { computeMentions } from './mentions.js';
import type { ResolvedOptions, Upload } from './router.js';
import { snowflake } from './snowflake.js';
import type { AttachmentJson, FakeMessage, Json, JsonObject, UserJson } from './types.js';
import { DiscordApiError, Intent, invalidForm, isJsonObject, str } from './types.js';
import { memberJson, userJson } from './wire.js';
import type { ChannelRecord, World } from './world.js';

const NONCE_WINDOW_MS = 120_000;
const MAX_CONTENT = 2000;

/** A 429 from the fake's own limiter or an injected fault: Discord's body plus `retry-after`. */
export class RateLimitedError extends DiscordApiError {
  constructor(readonly retryAfterSec: number) {
    super(429, 0, 'You are being rate limited.');
  }

  override body(): JsonObject {
    return { message: this.message, retry_after: this.retryAfterSec, global: false };
  }
}

/** The parts of a message-create body every sender shares. */
export interface MessageFields {
  content: string;
  embeds: Json[];
  attachments: AttachmentJson[];
  allowedMentions: JsonObject | undefined;
  replyTo: string | undefined;
  nonce: string | number | undefined;
  enforceNonce: boolean;
  flags: number;
}

export interface NewMessage extends MessageFields {
  readonly author: UserJson;
  /** The real user behind the author (absent for webhooks): their membership and permissions apply. */
  readonly authorUserId?: string;
  readonly type?: number;
  readonly webhookId?: string;
  readonly applicationId?: string;
  readonly interactionMetadata?: JsonObject;
}

export interface PingRecord {
  readonly messageId: string;
  readonly channelId: string;
  readonly userIds: string[];
}

export class MessageService {
  readonly pings: PingRecord[] = [];
  rateLimitHits = 0;
  private readonly windows = new Map<string, number[]>();
  private readonly nonces = new Map<string, { messageId: string; at: number }>();

  constructor(
    private readonly world: World,
    private readonly gateway: Gateway,
    private readonly options: ResolvedOptions,
    private readonly storeFile: (channelId: string, upload: Upload) => AttachmentJson,
  ) {}

  /**
   * Validates a create body (`content` ≤ 2000, not empty, `username` checked
   * by the webhook route) and stores its uploads. Throws 400 50035 / 50006.
   */
  parse(channelId: string, body: JsonObject, uploads: readonly Upload[], requireSomething = true): MessageFields {
    const content = typeof body['content'] === 'string' ? body['content'] : '';
    if (content.length > MAX_CONTENT) throw invalidForm('content', 'BASE_TYPE_MAX_LENGTH', `Must be ${MAX_CONTENT} or fewer in length.`);
    const embeds = Array.isArray(body['embeds']) ? body['embeds'] : [];
    const stubs = Array.isArray(body['attachments']) ? body['attachments'].filter(isJsonObject) : [];
    const attachments = uploads
      .filter((u) => /^files\[\d+\]$|^file\d*$/.test(u.field))
      .map((u) => {
        const index = /\d+/.exec(u.field)?.[0];
        const stub = stubs.find((s) => index !== undefined && str(s, 'id') === index);
        const filename = (stub && str(stub, 'filename')) ?? u.filename;
        return this.storeFile(channelId, { ...u, filename });
      });
    if (requireSomething && content === '' && embeds.length === 0 && attachments.length === 0) {
      throw new DiscordApiError(400, 50006, 'Cannot send an empty message');
    }
    const ref = isJsonObject(body['message_reference']) ? body['message_reference'] : undefined;
    const nonce = body['nonce'];
    return {
      content,
      embeds,
      attachments,
      allowedMentions: isJsonObject(body['allowed_mentions']) ? body['allowed_mentions'] : undefined,
      replyTo: ref ? str(ref, 'message_id') : undefined,
      nonce: typeof nonce === 'string' || typeof nonce === 'number' ? nonce : undefined,
      enforceNonce: body['enforce_nonce'] === true,
      flags: typeof body['flags'] === 'number' ? body['flags'] : 0,
    };
  }

  /** Counts one write into `channelId`; 429 when the channel's window is full. */
  checkRate(channelId: string): void {
    const limit = this.options.rateLimit;
    if (!limit) return;
    const now = Date.now();
    const window = (this.windows.get(channelId) ?? []).filter((t) => t > now - limit.perMs);
    if (window.length >= limit.posts) {
      this.windows.set(channelId, window);
      this.rateLimitHits++;
      const oldest = window[0] ?? now;
      throw new RateLimitedError(Math.max(0.001, (oldest + limit.perMs - now) / 1000));
    }
    window.push(now);
    this.windows.set(channelId, window);
  }

  /** The message an earlier create with the same nonce made (same author and channel, 2 minutes), if `enforce_nonce`. */
  deduplicated(channel: ChannelRecord, authorId: string, fields: MessageFields): FakeMessage | undefined {
    if (!fields.enforceNonce || fields.nonce === undefined) return undefined;
    const hit = this.nonces.get(`${channel.id}:${authorId}:${fields.nonce}`);
    if (!hit || Date.now() - hit.at > NONCE_WINDOW_MS) return undefined;
    return channel.messages.find((m) => m.id === hit.messageId);
  }

  create(channel: ChannelRecord, input: NewMessage): FakeMessage {
    const guild = this.world.guild(channel.guildId);
    let referenced: FakeMessage | undefined;
    if (input.replyTo !== undefined) {
      referenced = channel.messages.find((m) => m.id === input.replyTo);
      if (!referenced) throw invalidForm('message_reference', 'REPLIES_UNKNOWN_MESSAGE', 'Unknown message');
    }
    const mentions = computeMentions(this.world, channel, {
      content: input.content,
      authorUserId: input.authorUserId,
      allowed: input.allowedMentions,
      repliedUserId: referenced && !referenced.webhook_id ? referenced.author.id : undefined,
    });
    const id = snowflake();
    const message: FakeMessage = {
      id,
      channel_id: channel.id,
      guild_id: guild.id,
      author: input.author,
      content: input.content,
      timestamp: new Date().toISOString(),
      edited_timestamp: null,
      tts: false,
      mention_everyone: mentions.everyone,
      mentions: mentions.users.map((u) => this.mentionJson(u)),
      mention_roles: mentions.roles,
      attachments: input.attachments,
      embeds: input.embeds,
      components: [],
      pinned: false,
      type: input.type ?? (referenced ? 19 : 0),
      flags: input.flags,
      ...(input.nonce !== undefined ? { nonce: input.nonce } : {}),
      ...(input.webhookId !== undefined ? { webhook_id: input.webhookId } : {}),
      ...(input.applicationId !== undefined ? { application_id: input.applicationId } : {}),
      ...(input.interactionMetadata ? { interaction_metadata: input.interactionMetadata } : {}),
      ...(referenced
        ? {
            message_reference: { type: 0, message_id: referenced.id, channel_id: channel.id, guild_id: guild.id },
            referenced_message: withoutReference(referenced),
          }
        : {}),
      ...(channel.type === 11 || channel.type === 12 ? { position: channel.totalMessagesSent } : {}),
    };
    channel.messages.push(message);
    channel.lastMessageId = id;
    channel.totalMessagesSent++;
    if (input.nonce !== undefined && input.authorUserId !== undefined) {
      this.nonces.set(`${channel.id}:${input.authorUserId}:${input.nonce}`, { messageId: id, at: Date.now() });
    }
    if (mentions.pinged.length > 0) this.pings.push({ messageId: id, channelId: channel.id, userIds: mentions.pinged });
    this.gateway.dispatch('MESSAGE_CREATE', this.payload(message, true), { guildId: guild.id, intent: Intent.GUILD_MESSAGES });
    if (this.options.updateAfterCreate) {
      // Real Discord (embed unfurls) and Spacebar send a non-edit update right after a create.
      this.gateway.dispatch('MESSAGE_UPDATE', this.payload(message, false), { guildId: guild.id, intent: Intent.GUILD_MESSAGES });
    }
    return message;
  }

  /** Applies an edit (content / embeds / allowed_mentions) and dispatches MESSAGE_UPDATE with `edited_timestamp`. */
  edit(channel: ChannelRecord, message: FakeMessage, body: JsonObject): FakeMessage {
    if (typeof body['content'] === 'string') {
      if (body['content'].length > MAX_CONTENT) throw invalidForm('content', 'BASE_TYPE_MAX_LENGTH', `Must be ${MAX_CONTENT} or fewer in length.`);
      message.content = body['content'];
      const mentions = computeMentions(this.world, channel, {
        content: message.content,
        authorUserId: message.webhook_id ? undefined : message.author.id,
        allowed: isJsonObject(body['allowed_mentions']) ? body['allowed_mentions'] : undefined,
        repliedUserId: undefined,
      });
      message.mention_everyone = mentions.everyone;
      message.mentions = mentions.users.map((u) => this.mentionJson(u));
      message.mention_roles = mentions.roles;
    }
    if (Array.isArray(body['embeds'])) message.embeds = body['embeds'];
    message.edited_timestamp = new Date().toISOString();
    this.gateway.dispatch('MESSAGE_UPDATE', this.payload(message, true), { guildId: channel.guildId, intent: Intent.GUILD_MESSAGES });
    return message;
  }

  delete(channel: ChannelRecord, message: FakeMessage): void {
    const i = channel.messages.indexOf(message);
    if (i >= 0) channel.messages.splice(i, 1);
    this.world.reactions.delete(message.id);
    this.gateway.dispatch('MESSAGE_DELETE', { id: message.id, channel_id: channel.id, guild_id: channel.guildId }, { guildId: channel.guildId, intent: Intent.GUILD_MESSAGES });
  }

  /**
   * The per-session message payload: with `member` for guild members'
   * messages, and content/embeds/attachments emptied for a session without
   * MESSAGE_CONTENT unless the message is its bot's own or mentions it.
   * `withEdited` false drops `edited_timestamp` (the quirk update).
   */
  private payload(message: FakeMessage, withEdited: boolean): Payload {
    const member = message.webhook_id ? undefined : this.world.guilds.get(message.guild_id ?? '')?.members.get(message.author.id);
    const full: JsonObject = JSON.parse(JSON.stringify({ ...message, ...(member ? { member: memberJson(this.world, member, false) } : {}) })) as JsonObject;
    if (!withEdited) delete full['edited_timestamp'];
    return (r) => {
      if ((r.intents & Intent.MESSAGE_CONTENT) !== 0) return full;
      if (message.author.id === r.userId || message.mentions.some((u) => u.id === r.userId)) return full;
      return { ...full, content: '', embeds: [], attachments: [], components: [] };
    };
  }

  private mentionJson(userId: string): UserJson {
    return userJson(this.world.user(userId));
  }
}

/** A referenced message as Discord nests it: one level deep. */
function withoutReference(m: FakeMessage): FakeMessage {
  const copy: FakeMessage = JSON.parse(JSON.stringify(m)) as FakeMessage;
  delete copy.referenced_message;
  return copy;
}
