/**
 * Channel message routes: history (newest first, `limit`/`before`/`after`/
 * `around`), create (JSON or multipart, replies, nonce dedupe, the write
 * limit), edit by the author only, delete, reactions, and threads (from
 * scratch or from a message, whose id the thread then shares, as on Discord).
 */
import type { Reply, RequestContext, Route } from './router.js';
import { noContent, ok } from './router.js';
import { compareSnowflakes } from './snowflake.js';
import type { FakeMessage, JsonObject } from './types.js';
import { DiscordApiError, Intent, Perm, invalidForm, missingPermissions } from './types.js';
import { channelJson, memberJson, userJson } from './wire.js';
import type { ChannelRecord } from './world.js';
import { isThread } from './world.js';

function channelOf(ctx: RequestContext, needed: bigint): ChannelRecord {
  const c = ctx.core.world.channel(ctx.params['channelId'] ?? '');
  ctx.core.world.requirePermission(c, ctx.me().id, Perm.VIEW_CHANNEL | needed);
  return c;
}

function emojiJson(raw: string): JsonObject {
  const custom = /^(?:a:)?([\w-]+):(\d+)$/.exec(raw);
  return custom ? { id: custom[2] ?? null, name: custom[1] ?? null } : { id: null, name: raw };
}

function history(ctx: RequestContext): FakeMessage[] {
  const c = channelOf(ctx, Perm.READ_MESSAGE_HISTORY);
  const limit = Math.min(100, Math.max(1, Number(ctx.query.get('limit') ?? 50) || 50));
  const before = ctx.query.get('before');
  const after = ctx.query.get('after');
  const around = ctx.query.get('around');
  let picked = c.messages;
  if (before) picked = picked.filter((m) => compareSnowflakes(m.id, before) < 0).slice(-limit);
  else if (after) picked = picked.filter((m) => compareSnowflakes(m.id, after) > 0).slice(0, limit);
  else if (around) {
    const i = picked.findIndex((m) => compareSnowflakes(m.id, around) >= 0);
    const start = Math.max(0, (i < 0 ? picked.length : i) - Math.floor(limit / 2));
    picked = picked.slice(start, start + limit);
  } else picked = picked.slice(-limit);
  return [...picked].reverse();
}

function react(ctx: RequestContext, add: boolean): Reply {
  const { world, gateway } = ctx.core;
  const me = ctx.me();
  const c = channelOf(ctx, add ? Perm.READ_MESSAGE_HISTORY : 0n);
  const m = world.message(c, ctx.params['messageId'] ?? '');
  const emoji = ctx.params['emoji'] ?? '';
  const byEmoji = world.reactions.get(m.id) ?? new Map<string, string[]>();
  world.reactions.set(m.id, byEmoji);
  const users = byEmoji.get(emoji) ?? [];
  if (add) {
    if (users.length === 0) world.requirePermission(c, me.id, Perm.ADD_REACTIONS);
    if (users.includes(me.id)) return noContent();
    byEmoji.set(emoji, [...users, me.id]);
  } else {
    if (!users.includes(me.id)) return noContent();
    const rest = users.filter((u) => u !== me.id);
    if (rest.length === 0) byEmoji.delete(emoji);
    else byEmoji.set(emoji, rest);
  }
  const member = world.guild(c.guildId).members.get(me.id);
  const d: JsonObject = {
    user_id: me.id,
    channel_id: c.id,
    message_id: m.id,
    guild_id: c.guildId,
    emoji: emojiJson(emoji),
    burst: false,
    type: 0,
    ...(add ? { message_author_id: m.author.id, burst_colors: [], ...(member ? { member: memberJson(world, member) } : {}) } : {}),
  };
  gateway.dispatch(add ? 'MESSAGE_REACTION_ADD' : 'MESSAGE_REACTION_REMOVE', d, { guildId: c.guildId, intent: Intent.GUILD_MESSAGE_REACTIONS });
  return noContent();
}

function createThread(ctx: RequestContext, fromMessage: boolean): JsonObject {
  const { world, gateway } = ctx.core;
  const body = ctx.json();
  const type = fromMessage ? 11 : body['type'] === 11 || body['type'] === 12 ? body['type'] : 12;
  const parent = channelOf(ctx, type === 11 ? Perm.CREATE_PUBLIC_THREADS : Perm.CREATE_PRIVATE_THREADS);
  if (isThread(parent)) throw new DiscordApiError(400, 50024, 'Cannot execute action on this channel type');
  const name = typeof body['name'] === 'string' ? body['name'] : '';
  if (name.length < 1 || name.length > 100) throw invalidForm('name', 'BASE_TYPE_BAD_LENGTH', 'Must be between 1 and 100 in length.');
  let id: string | undefined;
  if (fromMessage) {
    const m = world.message(parent, ctx.params['messageId'] ?? '');
    if (world.channels.has(m.id)) throw new DiscordApiError(400, 160004, 'A thread has already been created for this message');
    m.flags |= 32; // HAS_THREAD
    id = m.id;
  }
  const now = new Date().toISOString();
  const duration = typeof body['auto_archive_duration'] === 'number' ? body['auto_archive_duration'] : 4320;
  const thread = world.addChannel(parent.guildId, {
    ...(id !== undefined ? { id } : {}),
    name,
    type,
    parentId: parent.id,
    ownerId: ctx.me().id,
    thread: { archived: false, autoArchiveDuration: duration, locked: false, archiveTimestamp: now, createTimestamp: now },
  });
  gateway.dispatch('THREAD_CREATE', { ...channelJson(thread), newly_created: true }, { guildId: parent.guildId, intent: Intent.GUILDS });
  return channelJson(thread);
}

export const messageRoutes: readonly Route[] = [
  { method: 'GET', path: '/channels/{channelId}/messages', auth: 'token', handle: (ctx) => ok(history(ctx)) },
  {
    method: 'POST',
    path: '/channels/{channelId}/messages',
    auth: 'token',
    handle: (ctx) => {
      const { world, messages } = ctx.core;
      const me = ctx.me();
      const c = world.channel(ctx.params['channelId'] ?? '');
      world.requirePermission(c, me.id, isThread(c) ? Perm.SEND_MESSAGES_IN_THREADS : Perm.SEND_MESSAGES);
      const fields = messages.parse(c.id, ctx.json(), ctx.files);
      const existing = messages.deduplicated(c, me.id, fields);
      if (existing) return ok(existing);
      messages.checkRate(c.id);
      const m = messages.create(c, { ...fields, author: userJson(me), authorUserId: me.id });
      return ok(m);
    },
  },
  {
    method: 'GET',
    path: '/channels/{channelId}/messages/{messageId}',
    auth: 'token',
    handle: (ctx) => ok(ctx.core.world.message(channelOf(ctx, Perm.READ_MESSAGE_HISTORY), ctx.params['messageId'] ?? '')),
  },
  {
    method: 'PATCH',
    path: '/channels/{channelId}/messages/{messageId}',
    auth: 'token',
    handle: (ctx) => {
      const c = channelOf(ctx, 0n);
      const m = ctx.core.world.message(c, ctx.params['messageId'] ?? '');
      if (m.author.id !== ctx.me().id || m.webhook_id !== undefined) throw new DiscordApiError(403, 50005, 'Cannot edit a message authored by another user');
      return ok(ctx.core.messages.edit(c, m, ctx.json()));
    },
  },
  {
    method: 'DELETE',
    path: '/channels/{channelId}/messages/{messageId}',
    auth: 'token',
    handle: (ctx) => {
      const { world } = ctx.core;
      const me = ctx.me();
      const c = channelOf(ctx, 0n);
      const m = world.message(c, ctx.params['messageId'] ?? '');
      if (m.author.id !== me.id && (world.channelPermissions(c, me.id) & Perm.MANAGE_MESSAGES) === 0n) throw missingPermissions();
      ctx.core.messages.delete(c, m);
      return noContent();
    },
  },
  { method: 'PUT', path: '/channels/{channelId}/messages/{messageId}/reactions/{emoji}/@me', auth: 'token', handle: (ctx) => react(ctx, true) },
  { method: 'DELETE', path: '/channels/{channelId}/messages/{messageId}/reactions/{emoji}/@me', auth: 'token', handle: (ctx) => react(ctx, false) },
  {
    method: 'GET',
    path: '/channels/{channelId}/messages/{messageId}/reactions/{emoji}',
    auth: 'token',
    handle: (ctx) => {
      const { world } = ctx.core;
      const m = world.message(channelOf(ctx, Perm.READ_MESSAGE_HISTORY), ctx.params['messageId'] ?? '');
      const ids = world.reactions.get(m.id)?.get(ctx.params['emoji'] ?? '') ?? [];
      return ok(ids.map((id) => ({ ...userJson(world.user(id)) })));
    },
  },
  { method: 'POST', path: '/channels/{channelId}/threads', auth: 'token', handle: (ctx) => ok(createThread(ctx, false), 201) },
  { method: 'POST', path: '/channels/{channelId}/messages/{messageId}/threads', auth: 'token', handle: (ctx) => ok(createThread(ctx, true), 201) },
];
