/**
 * Application command registration (guild and global, bulk overwrite, one by
 * one) and the interaction routes: POST /interactions for people and the
 * callback route the bot answers on (authenticated by the interaction token
 * in the path, like Discord — discord.js sends no Authorization header).
 * People in a guild may list its commands, since they need a command's id
 * and version to invoke it.
 */
import type { RequestContext, Route } from './router.js';
import { noContent, ok } from './router.js';
import type { JsonObject } from './types.js';
import { DiscordApiError, missingAccess } from './types.js';
import type { UserRecord } from './world.js';

function requireApp(ctx: RequestContext): { me: UserRecord; appId: string; guildId: string | undefined } {
  const me = ctx.me();
  const appId = ctx.params['appId'] ?? '';
  const guildId = ctx.params['guildId'];
  if (guildId !== undefined) ctx.core.world.guild(guildId);
  return { me, appId, guildId };
}

/** Writes: only the application's own bot. */
function owner(ctx: RequestContext): { appId: string; guildId: string | undefined } {
  const { me, appId, guildId } = requireApp(ctx);
  if (me.applicationId !== appId) throw missingAccess();
  return { appId, guildId };
}

/** Reads: the bot, or (guild lists) a member of the guild, or (global lists) anyone. */
function reader(ctx: RequestContext): { appId: string; guildId: string | undefined } {
  const { me, appId, guildId } = requireApp(ctx);
  if (me.applicationId !== appId && guildId !== undefined) ctx.core.world.guildOf(guildId, me.id);
  return { appId, guildId };
}

function one(ctx: RequestContext, list: JsonObject[]): JsonObject {
  const c = list.find((x) => x['id'] === ctx.params['commandId']);
  if (!c) throw new DiscordApiError(404, 10063, 'Unknown application command');
  return c;
}

function commandRoutes(base: string): Route[] {
  return [
    {
      method: 'GET',
      path: base,
      auth: 'token',
      handle: (ctx) => {
        const { appId, guildId } = reader(ctx);
        return ok(ctx.core.interactions.list(appId, guildId));
      },
    },
    {
      method: 'PUT',
      path: base,
      auth: 'token',
      handle: (ctx) => {
        const { appId, guildId } = owner(ctx);
        return ok(ctx.core.interactions.overwrite(appId, guildId, ctx.body ?? []));
      },
    },
    {
      method: 'POST',
      path: base,
      auth: 'token',
      handle: (ctx) => {
        const { appId, guildId } = owner(ctx);
        const r = ctx.core.interactions.upsert(appId, guildId, ctx.body);
        return ok(r.json, r.created ? 201 : 200);
      },
    },
    {
      method: 'GET',
      path: `${base}/{commandId}`,
      auth: 'token',
      handle: (ctx) => {
        const { appId, guildId } = reader(ctx);
        return ok(one(ctx, ctx.core.interactions.list(appId, guildId)));
      },
    },
    {
      method: 'PATCH',
      path: `${base}/{commandId}`,
      auth: 'token',
      handle: (ctx) => {
        const { appId, guildId } = owner(ctx);
        const current = one(ctx, ctx.core.interactions.list(appId, guildId));
        ctx.core.interactions.remove(appId, guildId, String(current['id']));
        return ok(ctx.core.interactions.upsert(appId, guildId, { ...current, ...ctx.json() }).json);
      },
    },
    {
      method: 'DELETE',
      path: `${base}/{commandId}`,
      auth: 'token',
      handle: (ctx) => {
        const { appId, guildId } = owner(ctx);
        ctx.core.interactions.remove(appId, guildId, ctx.params['commandId'] ?? '');
        return noContent();
      },
    },
  ];
}

export const interactionRoutes: readonly Route[] = [
  {
    method: 'GET',
    path: '/applications/@me',
    auth: 'token',
    handle: (ctx) => {
      const me = ctx.me();
      if (me.applicationId === undefined) throw missingAccess();
      return ok({ id: me.applicationId, name: me.username, description: '', icon: null, bot_public: true, bot_require_code_grant: false, flags: 0, bot: { id: me.id, username: me.username } });
    },
  },
  ...commandRoutes('/applications/{appId}/guilds/{guildId}/commands'),
  ...commandRoutes('/applications/{appId}/commands'),
  {
    method: 'POST',
    path: '/interactions',
    auth: 'token',
    handle: (ctx) => {
      ctx.core.interactions.invoke(ctx.me(), ctx.json());
      return noContent();
    },
  },
  {
    method: 'POST',
    path: '/interactions/{interactionId}/{token}/callback',
    auth: 'none',
    handle: (ctx) => {
      const r = ctx.core.interactions.callback(ctx.params['interactionId'] ?? '', ctx.params['token'] ?? '', ctx.json(), ctx.files, ctx.query.get('with_response') === 'true');
      return r ? ok(r) : noContent();
    },
  },
];
