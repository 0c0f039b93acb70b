/**
 * Serialisers from the world's records to Discord's wire JSON. Field sets
 * follow what discord.js 14 reads in its `_patch` methods (Guild, Role,
 * GuildChannel, ThreadChannel, GuildMember, User): a field discord.js checks
 * with `'x' in data` is always present here, so cached structures are complete.
 */
import type { ChannelRecord, GuildRecord, MemberRecord, RoleRecord, UserRecord, World } from './world.js';
import { isThread } from './world.js';
import type { JsonObject, UserJson } from './types.js';

export function userJson(u: UserRecord): UserJson {
  return {
    id: u.id,
    username: u.username,
    // Discord migrated people to unique usernames ("0"); bots keep a 4-digit tag.
    discriminator: u.bot ? '0000' : '0',
    global_name: u.bot ? null : u.username,
    avatar: null,
    ...(u.bot ? { bot: true } : {}),
    public_flags: 0,
  };
}

/** GET /users/@me and READY's `user`. */
export function selfJson(u: UserRecord): JsonObject {
  return {
    ...userJson(u),
    discriminator: '0',
    bot: u.bot,
    verified: true,
    flags: 0,
    mfa_enabled: false,
    locale: 'en-US',
    email: null,
    banner: null,
    accent_color: null,
  };
}

export function roleJson(r: RoleRecord): JsonObject {
  return {
    id: r.id,
    name: r.name,
    permissions: r.permissions.toString(),
    position: r.position,
    color: 0,
    colors: { primary_color: 0, secondary_color: null, tertiary_color: null },
    hoist: false,
    managed: false,
    mentionable: false,
    icon: null,
    unicode_emoji: null,
    flags: 0,
  };
}

/** A member; `withUser` false for MESSAGE_CREATE/reaction payloads, where Discord omits `user`. */
export function memberJson(world: World, m: MemberRecord, withUser = true): JsonObject {
  return {
    ...(withUser ? { user: { ...userJson(world.user(m.userId)) } } : {}),
    roles: [...m.roleIds],
    joined_at: m.joinedAt,
    nick: null,
    avatar: null,
    banner: null,
    premium_since: null,
    communication_disabled_until: null,
    deaf: false,
    mute: false,
    flags: 0,
    pending: false,
  };
}

export function channelJson(c: ChannelRecord): JsonObject {
  const base: JsonObject = {
    id: c.id,
    type: c.type,
    name: c.name,
    guild_id: c.guildId,
    parent_id: c.parentId,
    last_message_id: c.lastMessageId,
    rate_limit_per_user: 0,
    flags: 0,
  };
  if (isThread(c) && c.thread) {
    return {
      ...base,
      owner_id: c.ownerId ?? null,
      member_count: 1,
      message_count: c.messages.length,
      total_message_sent: c.totalMessagesSent,
      thread_metadata: {
        archived: c.thread.archived,
        auto_archive_duration: c.thread.autoArchiveDuration,
        archive_timestamp: c.thread.archiveTimestamp,
        locked: c.thread.locked,
        create_timestamp: c.thread.createTimestamp,
      },
    };
  }
  return {
    ...base,
    position: c.position,
    permission_overwrites: c.overwrites.map((o) => ({ id: o.id, type: o.type, allow: o.allow.toString(), deny: o.deny.toString() })),
    topic: null,
    nsfw: false,
  };
}

/** The guild object of GET /guilds/:id (no channels or members, like Discord). */
export function guildJson(g: GuildRecord): JsonObject {
  return {
    id: g.id,
    name: g.name,
    icon: null,
    splash: null,
    discovery_splash: null,
    banner: null,
    description: null,
    owner_id: g.ownerId,
    roles: [...g.roles.values()].map(roleJson),
    emojis: [],
    stickers: [],
    features: [],
    afk_channel_id: null,
    afk_timeout: 300,
    system_channel_id: null,
    system_channel_flags: 0,
    rules_channel_id: null,
    public_updates_channel_id: null,
    safety_alerts_channel_id: null,
    widget_enabled: false,
    widget_channel_id: null,
    verification_level: 0,
    default_message_notifications: 0,
    explicit_content_filter: 0,
    mfa_level: 0,
    nsfw_level: 0,
    premium_tier: 0,
    premium_subscription_count: 0,
    premium_progress_bar_enabled: false,
    preferred_locale: 'en-US',
    vanity_url_code: null,
    application_id: null,
    max_members: 500000,
    max_presences: null,
    max_video_channel_users: 25,
    max_stage_video_channel_users: 50,
    incidents_data: null,
  };
}

/**
 * The GUILD_CREATE payload for one bot: the guild plus channels, active
 * threads, members (all of them with the GUILD_MEMBERS intent, else only the
 * bot's own — as Discord does without presences) and the empty collections
 * discord.js iterates.
 */
export function guildCreateJson(world: World, g: GuildRecord, forUserId: string, allMembers: boolean): JsonObject {
  const channels = g.channelIds.map((id) => world.channel(id));
  const members = [...g.members.values()].filter((m) => allMembers || m.userId === forUserId);
  const me = g.members.get(forUserId);
  return {
    ...guildJson(g),
    channels: channels.filter((c) => !isThread(c)).map(channelJson),
    threads: channels.filter((c) => isThread(c) && c.thread?.archived !== true).map(channelJson),
    members: members.map((m) => memberJson(world, m)),
    member_count: g.members.size,
    large: false,
    unavailable: false,
    joined_at: me?.joinedAt ?? new Date().toISOString(),
    presences: [],
    voice_states: [],
    stage_instances: [],
    guild_scheduled_events: [],
    soundboard_sounds: [],
    embedded_activities: [],
    lazy: true,
  };
}
