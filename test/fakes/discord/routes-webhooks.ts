/**
 * Webhooks: creation and listing (MANAGE_WEBHOOKS, computed with the
 * channel's overwrites; threads have none — their parent owns the webhooks),
 * execution (`?wait`, `?thread_id`, custom `username`) and the webhook
 * message routes. Token routes authenticate by the token in the path; the
 * same paths with an application id and an interaction token reach the
 * interaction's answer (`@original`) and follow-ups, as on Discord.
 * Names follow Discord's rule: 1-80 characters, never containing "discord"
 * or "clyde".
 */
import type { RequestContext, Route } from './router.js';
import { noContent, ok } from './router.js';
import { snowflake } from './snowflake.js';
import type { FakeMessage, WebhookJson } from './types.js';
import { DiscordApiError, Intent, Perm, invalidForm, unknownChannel, unknownMessage, unknownWebhook } from './types.js';
import { userJson } from './wire.js';
import type { ChannelRecord, WebhookRecord } from './world.js';
import { World, isThread } from './world.js';

const MAX_WEBHOOKS_PER_CHANNEL = 15;

/** Throws 400 50035 unless `name` is an acceptable webhook (user)name. */
export function checkWebhookName(field: string, name: unknown): string {
  if (typeof name !== 'string' || name.length < 1 || name.length > 80) throw invalidForm(field, 'BASE_TYPE_BAD_LENGTH', 'Must be between 1 and 80 in length.');
  const banned = /discord|clyde/i.exec(name);
  if (banned) throw invalidForm(field, 'USERNAME_INVALID_CONTAINS', `Username cannot contain "${banned[0].toLowerCase()}"`);
  return name;
}

function webhookChannel(ctx: RequestContext): ChannelRecord {
  const c = ctx.core.world.channel(ctx.params['channelId'] ?? '');
  ctx.core.world.requirePermission(c, ctx.me().id, Perm.MANAGE_WEBHOOKS);
  if (isThread(c)) throw new DiscordApiError(400, 50024, 'Cannot execute action on this channel type');
  return c;
}

function byToken(ctx: RequestContext): WebhookRecord | undefined {
  const w = ctx.core.world.webhooks.get(ctx.params['webhookId'] ?? '');
  return w && w.json.token === ctx.params['token'] ? w : undefined;
}

function interaction(ctx: RequestContext): NonNullable<ReturnType<RequestContext['core']['interactions']['byToken']>> {
  const rec = ctx.core.interactions.byToken(ctx.params['webhookId'] ?? '', ctx.params['token'] ?? '');
  if (!rec) throw unknownWebhook();
  return rec;
}

/** The channel a webhook writes into: its own, or `?thread_id` when that is one of its threads. */
function target(ctx: RequestContext, w: WebhookRecord): ChannelRecord {
  const threadId = ctx.query.get('thread_id');
  if (threadId === null) return ctx.core.world.channel(w.json.channel_id);
  const thread = ctx.core.world.channels.get(threadId);
  if (!thread) throw unknownChannel();
  if (thread.parentId !== w.json.channel_id) throw invalidForm('thread_id', 'THREAD_INVALID_PARENT', 'The thread does not belong to the webhook channel.');
  return thread;
}

function webhookMessage(ctx: RequestContext, w: WebhookRecord): { channel: ChannelRecord; message: FakeMessage } {
  const channel = target(ctx, w);
  const message = channel.messages.find((m) => m.id === ctx.params['messageId'] && m.webhook_id === w.json.id);
  if (!message) throw unknownMessage();
  return { channel, message };
}

export const webhookRoutes: readonly Route[] = [
  {
    method: 'GET',
    path: '/channels/{channelId}/webhooks',
    auth: 'token',
    handle: (ctx) => {
      const c = webhookChannel(ctx);
      return ok([...ctx.core.world.webhooks.values()].filter((w) => w.json.channel_id === c.id).map((w) => w.json));
    },
  },
  {
    method: 'POST',
    path: '/channels/{channelId}/webhooks',
    auth: 'token',
    handle: (ctx) => {
      const { world, gateway } = ctx.core;
      const me = ctx.me();
      const c = webhookChannel(ctx);
      const name = checkWebhookName('name', ctx.json()['name']);
      if ([...world.webhooks.values()].filter((w) => w.json.channel_id === c.id).length >= MAX_WEBHOOKS_PER_CHANNEL) {
        throw new DiscordApiError(400, 30007, 'Maximum number of webhooks reached (15)');
      }
      const json: WebhookJson = {
        id: snowflake(),
        type: 1,
        guild_id: c.guildId,
        channel_id: c.id,
        name,
        avatar: null,
        token: World.token(),
        application_id: me.applicationId ?? null,
        user: userJson(me),
      };
      world.webhooks.set(json.id, { json, creatorId: me.id });
      gateway.dispatch('WEBHOOKS_UPDATE', { guild_id: c.guildId, channel_id: c.id }, { guildId: c.guildId, intent: Intent.GUILD_WEBHOOKS });
      return ok(json);
    },
  },
  {
    method: 'GET',
    path: '/webhooks/{webhookId}',
    auth: 'token',
    handle: (ctx) => {
      const w = ctx.core.world.webhooks.get(ctx.params['webhookId'] ?? '');
      if (!w) throw unknownWebhook();
      ctx.core.world.requirePermission(ctx.core.world.channel(w.json.channel_id), ctx.me().id, Perm.MANAGE_WEBHOOKS);
      return ok(w.json);
    },
  },
  {
    method: 'DELETE',
    path: '/webhooks/{webhookId}',
    auth: 'token',
    handle: (ctx) => {
      const { world, gateway } = ctx.core;
      const w = world.webhooks.get(ctx.params['webhookId'] ?? '');
      if (!w) throw unknownWebhook();
      world.requirePermission(world.channel(w.json.channel_id), ctx.me().id, Perm.MANAGE_WEBHOOKS);
      world.webhooks.delete(w.json.id);
      gateway.dispatch('WEBHOOKS_UPDATE', { guild_id: w.json.guild_id, channel_id: w.json.channel_id }, { guildId: w.json.guild_id, intent: Intent.GUILD_WEBHOOKS });
      return noContent();
    },
  },
  {
    method: 'GET',
    path: '/webhooks/{webhookId}/{token}',
    auth: 'none',
    handle: (ctx) => {
      const w = byToken(ctx);
      if (!w) throw unknownWebhook();
      const { user: _user, ...rest } = w.json; // Discord omits the creator on token-authenticated reads
      return ok(rest);
    },
  },
  {
    method: 'POST',
    path: '/webhooks/{webhookId}/{token}',
    auth: 'none',
    handle: (ctx) => {
      const w = byToken(ctx);
      if (!w) return ok(ctx.core.interactions.followUp(interaction(ctx), ctx.json(), ctx.files));
      const { messages } = ctx.core;
      const body = ctx.json();
      const username = body['username'] === undefined || body['username'] === null ? w.json.name : checkWebhookName('username', body['username']);
      const channel = target(ctx, w);
      const fields = messages.parse(channel.id, body, ctx.files);
      messages.checkRate(channel.id);
      const message = messages.create(channel, {
        ...fields,
        replyTo: undefined,
        nonce: undefined,
        enforceNonce: false,
        author: { id: w.json.id, username, discriminator: '0000', global_name: null, avatar: null, bot: true },
        webhookId: w.json.id,
        ...(w.json.application_id !== null ? { applicationId: w.json.application_id } : {}),
      });
      return ctx.query.get('wait') === 'true' ? ok(message) : noContent();
    },
  },
  {
    method: 'GET',
    path: '/webhooks/{webhookId}/{token}/messages/{messageId}',
    auth: 'none',
    handle: (ctx) => {
      const w = byToken(ctx);
      if (!w) return ok(ctx.core.interactions.getOriginal(interaction(ctx), ctx.params['messageId'] ?? ''));
      return ok(webhookMessage(ctx, w).message);
    },
  },
  {
    method: 'PATCH',
    path: '/webhooks/{webhookId}/{token}/messages/{messageId}',
    auth: 'none',
    handle: (ctx) => {
      const w = byToken(ctx);
      if (!w) return ok(ctx.core.interactions.editOriginal(interaction(ctx), ctx.params['messageId'] ?? '', ctx.json(), ctx.files));
      const { channel, message } = webhookMessage(ctx, w);
      return ok(ctx.core.messages.edit(channel, message, ctx.json()));
    },
  },
  {
    method: 'DELETE',
    path: '/webhooks/{webhookId}/{token}/messages/{messageId}',
    auth: 'none',
    handle: (ctx) => {
      const w = byToken(ctx);
      if (!w) {
        ctx.core.interactions.deleteOriginal(interaction(ctx), ctx.params['messageId'] ?? '');
        return noContent();
      }
      const { channel, message } = webhookMessage(ctx, w);
      ctx.core.messages.delete(channel, message);
      return noContent();
    },
  },
];
