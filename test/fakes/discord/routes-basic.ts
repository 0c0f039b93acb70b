/**
 * Read-only routes discord.js and people use to find their way: gateway
 * discovery, users, guilds (roles, channels, members, webhooks) and channels.
 * Guild routes require membership (403 50001 otherwise), channel routes
 * VIEW_CHANNEL, like Discord.
 */
import type { Route } from './router.js';
import { ok } from './router.js';
import { Perm, missingPermissions, unknownMember } from './types.js';
import { channelJson, guildJson, memberJson, roleJson, selfJson, userJson } from './wire.js';
import { isThread } from './world.js';

const gateway = (withLimits: boolean): Route['handle'] => (ctx) => {
  const url = ctx.core.baseUrl().replace(/^http/, 'ws');
  return ok(withLimits ? { url, shards: 1, session_start_limit: { total: 1000, remaining: 1000, reset_after: 0, max_concurrency: 1 } } : { url });
};

export const basicRoutes: readonly Route[] = [
  { method: 'GET', path: '/gateway', auth: 'none', handle: gateway(true) },
  { method: 'GET', path: '/gateway/bot', auth: 'token', handle: gateway(true) },

  { method: 'GET', path: '/users/@me', auth: 'token', handle: (ctx) => ok(selfJson(ctx.me())) },
  {
    method: 'GET',
    path: '/users/@me/guilds',
    auth: 'token',
    handle: (ctx) => {
      const me = ctx.me();
      const { world } = ctx.core;
      return ok(
        world.guildIdsOf(me.id).map((id) => {
          const g = world.guild(id);
          return { id, name: g.name, icon: null, banner: null, owner: g.ownerId === me.id, permissions: world.basePermissions(g, me.id).toString(), features: [] };
        }),
      );
    },
  },
  {
    method: 'GET',
    path: '/users/{userId}',
    auth: 'token',
    handle: (ctx) => ok({ ...userJson(ctx.core.world.user(ctx.params['userId'] ?? '')) }),
  },

  {
    method: 'GET',
    path: '/guilds/{guildId}',
    auth: 'token',
    handle: (ctx) => {
      const g = ctx.core.world.guildOf(ctx.params['guildId'] ?? '', ctx.me().id);
      const counts = ctx.query.get('with_counts') === 'true' ? { approximate_member_count: g.members.size, approximate_presence_count: 0 } : {};
      return ok({ ...guildJson(g), ...counts });
    },
  },
  {
    method: 'GET',
    path: '/guilds/{guildId}/channels',
    auth: 'token',
    handle: (ctx) => {
      const { world } = ctx.core;
      const g = world.guildOf(ctx.params['guildId'] ?? '', ctx.me().id);
      return ok(g.channelIds.map((id) => world.channel(id)).filter((c) => !isThread(c)).map(channelJson));
    },
  },
  {
    method: 'GET',
    path: '/guilds/{guildId}/roles',
    auth: 'token',
    handle: (ctx) => ok([...ctx.core.world.guildOf(ctx.params['guildId'] ?? '', ctx.me().id).roles.values()].map(roleJson)),
  },
  {
    method: 'GET',
    path: '/guilds/{guildId}/members/{userId}',
    auth: 'token',
    handle: (ctx) => {
      const { world } = ctx.core;
      const g = world.guildOf(ctx.params['guildId'] ?? '', ctx.me().id);
      const m = g.members.get(ctx.params['userId'] === '@me' ? ctx.me().id : (ctx.params['userId'] ?? ''));
      if (!m) throw unknownMember();
      return ok(memberJson(world, m));
    },
  },
  {
    method: 'GET',
    path: '/guilds/{guildId}/webhooks',
    auth: 'token',
    handle: (ctx) => {
      const { world } = ctx.core;
      const me = ctx.me();
      const g = world.guildOf(ctx.params['guildId'] ?? '', me.id);
      if ((world.basePermissions(g, me.id) & Perm.MANAGE_WEBHOOKS) === 0n) throw missingPermissions();
      return ok([...world.webhooks.values()].filter((w) => w.json.guild_id === g.id).map((w) => w.json));
    },
  },

  {
    method: 'GET',
    path: '/channels/{channelId}',
    auth: 'token',
    handle: (ctx) => {
      const { world } = ctx.core;
      const c = world.channel(ctx.params['channelId'] ?? '');
      world.requirePermission(c, ctx.me().id, Perm.VIEW_CHANNEL);
      return ok(channelJson(c));
    },
  },
];
