/**
 * Everything the bot writes into Discord, over REST only (so a worker
 * process writes without a gateway session): posts, reactions, edits.
 *
 * - No write mentions anyone: `allowed_mentions: { parse: [] }` and the text
 *   neutralised (text.ts), whatever the server makes of the first.
 * - A post with an author goes through the channel's webhook under that
 *   name; without the Manage Webhooks permission, as the bot with the name
 *   in bold, and the room is told why once.
 * - Idempotent: bot posts carry a nonce with `enforce_nonce`; webhook posts,
 *   which take no nonce, are remembered per channel in the platform's state.
 * - A 429 (or discord.js's own pre-emptive limit) is RateLimitedError with
 *   the delay; nothing is retried or queued here.
 */
import { DiscordAPIError, MessageFlags, RateLimitError, Routes } from 'discord.js';
import type { REST } from 'discord.js';
import { z } from 'zod';
import { platformMessageId, RateLimitedError } from '../platform.js';
import type { PlatformMessageId, PlatformStateStore, RoomPost, RoomRef } from '../platform.js';
import { escapeMarkdown, neutraliseMentions, NO_MENTIONS, nonceOf, webhookName } from './text.js';
import { ChannelWebhooks } from './webhooks.js';

const MessageIdSchema = z.object({ id: z.string().min(1) });
const ChannelSchema = z.object({ id: z.string(), type: z.number(), parent_id: z.string().nullish() });
/** Thread channel types: they post through the parent's webhook. */
const THREAD_TYPES = new Set([10, 11, 12]);
/** Webhook posts remembered per channel for idempotency. */
const REMEMBERED_POSTS = 200;
/** Said once per channel where contacts cannot appear under their names. */
export const NO_WEBHOOK_NOTICE =
  'Contacts’ messages appear here as roomcast’s own, with the name in bold: roomcast lacks the Manage Webhooks permission in this channel. Give it that permission to see each contact under their own name.';

export interface DiscordWriterDeps {
  readonly rest: REST;
  readonly state: PlatformStateStore;
  readonly botUserId: () => Promise<string>;
  /** What the gateway already knows of a channel (type, parent); a REST lookup otherwise. */
  readonly cachedChannel: (id: string) => { type: number; parentId: string | null } | undefined;
  readonly warn: (fields: Record<string, unknown>, message: string) => void;
}

export class DiscordWriter {
  readonly webhooks: ChannelWebhooks;
  private readonly channels = new Map<string, { type: number; parentId: string | null }>();
  /** Per channel: read-modify-write of remembered webhook posts, one at a time. */
  private readonly memory = new Map<string, Promise<unknown>>();

  constructor(private readonly d: DiscordWriterDeps) {
    this.webhooks = new ChannelWebhooks(d.rest, d.botUserId);
  }

  async post(room: RoomRef, msg: RoomPost): Promise<PlatformMessageId> {
    const text = neutraliseMentions(msg.text);
    if (msg.author === undefined) return this.botPost(room, text, msg);
    const channel = await this.channel(room.roomId);
    const parent = THREAD_TYPES.has(channel.type) && channel.parentId ? channel.parentId : room.roomId;
    const hook = await this.guard(room, () => this.webhooks.get(parent));
    if (!hook) {
      await this.sayNoWebhookOnce(room, parent);
      return this.botPost(room, `**${escapeMarkdown(neutraliseMentions(msg.author))}**: ${text}`, msg);
    }
    const key = msg.idempotencyKey;
    const earlier = key === undefined ? undefined : await this.remembered(room.roomId, key);
    if (earlier) return earlier;
    const query = new URLSearchParams({ wait: 'true', ...(parent !== room.roomId ? { thread_id: room.roomId } : {}) });
    const body = { content: text, username: webhookName(neutraliseMentions(msg.author)), allowed_mentions: NO_MENTIONS };
    let response: unknown;
    try {
      response = await this.guard(room, () => this.d.rest.post(Routes.webhook(hook.id, hook.token), { body, query, auth: false }));
    } catch (err) {
      if (!(err instanceof DiscordAPIError && err.code === 10015)) throw err;
      this.webhooks.forget(parent); // deleted by someone: the retry finds or makes another
      throw new Error(`the channel's webhook was deleted; posting again with a new one`);
    }
    const id = platformMessageId(MessageIdSchema.parse(response).id);
    if (key !== undefined) await this.remember(room.roomId, key, id);
    return id;
  }

  async react(room: RoomRef, target: PlatformMessageId, emoji: string): Promise<void> {
    await this.guard(room, () => this.d.rest.put(Routes.channelMessageOwnReaction(room.roomId, target, encodeURIComponent(emoji))));
  }

  async edit(room: RoomRef, target: PlatformMessageId, msg: RoomPost): Promise<void> {
    const content = neutraliseMentions(msg.author === undefined ? msg.text : `**${escapeMarkdown(msg.author)}**: ${msg.text}`);
    await this.guard(room, () => this.d.rest.patch(Routes.channelMessage(room.roomId, target), { body: { content, allowed_mentions: NO_MENTIONS } }));
  }

  private async botPost(room: RoomRef, content: string, msg: RoomPost): Promise<PlatformMessageId> {
    const body = {
      content,
      allowed_mentions: NO_MENTIONS,
      // Notices are silent: no push notification for receipts and answers.
      ...(msg.notice ? { flags: MessageFlags.SuppressNotifications } : {}),
      ...(msg.idempotencyKey !== undefined ? { nonce: nonceOf(`${room.roomId}|${msg.idempotencyKey}`), enforce_nonce: true } : {}),
      ...(msg.replyTo !== undefined ? { message_reference: { message_id: msg.replyTo, fail_if_not_exists: false } } : {}),
    };
    const response = await this.guard(room, () => this.d.rest.post(Routes.channelMessages(room.roomId), { body }));
    return platformMessageId(MessageIdSchema.parse(response).id);
  }

  /** Runs one REST call; a rate limit becomes RateLimitedError with Discord's delay. */
  private async guard<T>(room: RoomRef, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (err) {
      if (err instanceof RateLimitError) throw new RateLimitedError(Math.max(err.retryAfter, err.timeToReset, 250), room);
      if (err instanceof DiscordAPIError && err.status === 429) throw new RateLimitedError(1000, room);
      throw err;
    }
  }

  private async channel(id: string): Promise<{ type: number; parentId: string | null }> {
    const known = this.d.cachedChannel(id) ?? this.channels.get(id);
    if (known) return known;
    const raw = ChannelSchema.parse(await this.d.rest.get(Routes.channel(id)));
    const found = { type: raw.type, parentId: raw.parent_id ?? null };
    this.channels.set(id, found);
    return found;
  }

  private async sayNoWebhookOnce(room: RoomRef, parent: string): Promise<void> {
    const key = `no-webhook-notice:${parent}`;
    if (await this.d.state.get(key)) return;
    await this.d.state.set(key, String(Date.now()));
    this.d.warn({ channel: parent }, 'Discord: no Manage Webhooks permission in a channel; contacts are shown as the bot with their name in bold');
    await this.botPost(room, NO_WEBHOOK_NOTICE, { text: NO_WEBHOOK_NOTICE, notice: true, idempotencyKey: key }).catch(() => undefined);
  }

  private async remembered(channelId: string, key: string): Promise<PlatformMessageId | undefined> {
    const list = await this.readMemory(channelId);
    const hit = list.find(([k]) => k === key);
    return hit ? platformMessageId(hit[1]) : undefined;
  }

  private remember(channelId: string, key: string, id: string): Promise<void> {
    const run = (this.memory.get(channelId) ?? Promise.resolve()).then(async () => {
      const list = (await this.readMemory(channelId)).filter(([k]) => k !== key);
      list.push([key, id]);
      await this.d.state.set(`webhook-posts:${channelId}`, JSON.stringify(list.slice(-REMEMBERED_POSTS)));
    });
    this.memory.set(channelId, run.catch(() => undefined));
    return run;
  }

  private async readMemory(channelId: string): Promise<Array<[string, string]>> {
    const raw = await this.d.state.get(`webhook-posts:${channelId}`);
    const parsed = z.array(z.tuple([z.string(), z.string()])).safeParse(raw === undefined ? [] : safeJson(raw));
    return parsed.success ? parsed.data : [];
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
