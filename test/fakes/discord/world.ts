/**
 * The fake's world: users (people and bots), applications, guilds with roles
 * and members, channels (threads included) with their messages, webhooks and
 * reactions. Plain in-memory records plus the lookups every route needs
 * (each throwing Discord's error for an unknown id) and the permission
 * computation Discord documents: base permissions from @everyone and the
 * member's roles, ADMINISTRATOR and ownership granting everything, then the
 * channel's overwrites (@everyone, roles, member) — threads use their parent's.
 */
import { randomBytes } from 'node:crypto';
import { snowflake } from './snowflake.js';
import type { FakeMessage, WebhookJson } from './types.js';
import {
  ALL_PERMISSIONS,
  DEFAULT_EVERYONE_PERMISSIONS,
  Perm,
  missingAccess,
  missingPermissions,
  unknownChannel,
  unknownGuild,
  unknownMessage,
  unknownUser,
} from './types.js';

export interface UserRecord {
  readonly id: string;
  readonly username: string;
  readonly token: string;
  readonly bot: boolean;
  /** For bots: the application the bot user belongs to. */
  readonly applicationId?: string;
}

export interface RoleRecord {
  readonly id: string;
  readonly guildId: string;
  readonly name: string;
  permissions: bigint;
  readonly position: number;
}

export interface MemberRecord {
  readonly userId: string;
  roleIds: string[];
  readonly joinedAt: string;
}

export interface Overwrite {
  readonly id: string;
  /** 0: role, 1: member. */
  readonly type: 0 | 1;
  allow: bigint;
  deny: bigint;
}

export interface ThreadMeta {
  archived: boolean;
  autoArchiveDuration: number;
  locked: boolean;
  archiveTimestamp: string;
  readonly createTimestamp: string;
}

export interface ChannelRecord {
  readonly id: string;
  readonly guildId: string;
  name: string;
  /** 0 text, 5 announcement, 11 public thread, 12 private thread. */
  readonly type: 0 | 5 | 11 | 12;
  readonly parentId: string | null;
  readonly position: number;
  readonly overwrites: Overwrite[];
  lastMessageId: string | null;
  /** Oldest first. */
  readonly messages: FakeMessage[];
  readonly ownerId?: string;
  readonly thread?: ThreadMeta;
  totalMessagesSent: number;
}

export interface GuildRecord {
  readonly id: string;
  readonly name: string;
  readonly ownerId: string;
  readonly roles: Map<string, RoleRecord>;
  readonly members: Map<string, MemberRecord>;
  /** Channel ids in creation order (threads included). */
  readonly channelIds: string[];
}

export interface WebhookRecord {
  readonly json: WebhookJson;
  readonly creatorId: string;
}

export function isThread(c: ChannelRecord): boolean {
  return c.type === 11 || c.type === 12;
}

export class World {
  readonly users = new Map<string, UserRecord>();
  readonly guilds = new Map<string, GuildRecord>();
  readonly channels = new Map<string, ChannelRecord>();
  readonly webhooks = new Map<string, WebhookRecord>();
  /** messageId → emoji (wire form, `name` or `name:id`) → user ids in reaction order. */
  readonly reactions = new Map<string, Map<string, string[]>>();
  private readonly byToken = new Map<string, UserRecord>();

  addUser(username: string, bot: boolean): UserRecord {
    const id = snowflake();
    const secret = randomBytes(20).toString('base64url');
    // Bot tokens look like Discord's (base64 id . timestamp . hmac); user tokens are opaque.
    const token = bot ? `${Buffer.from(id).toString('base64url')}.${randomBytes(4).toString('base64url')}.${secret}` : `u.${secret}`;
    const user: UserRecord = bot ? { id, username, token, bot, applicationId: snowflake() } : { id, username, token, bot };
    this.users.set(id, user);
    this.byToken.set(token, user);
    return user;
  }

  userByToken(token: string): UserRecord | undefined {
    return this.byToken.get(token);
  }

  /** The bot user of an application. */
  botOfApplication(applicationId: string): UserRecord | undefined {
    for (const u of this.users.values()) if (u.applicationId === applicationId) return u;
    return undefined;
  }

  addGuild(name: string, ownerId: string): GuildRecord {
    this.user(ownerId);
    const id = snowflake();
    const guild: GuildRecord = { id, name, ownerId, roles: new Map(), members: new Map(), channelIds: [] };
    guild.roles.set(id, { id, guildId: id, name: '@everyone', permissions: DEFAULT_EVERYONE_PERMISSIONS, position: 0 });
    this.guilds.set(id, guild);
    guild.members.set(ownerId, { userId: ownerId, roleIds: [], joinedAt: new Date().toISOString() });
    return guild;
  }

  addRole(guildId: string, name: string, permissions: bigint): RoleRecord {
    const guild = this.guild(guildId);
    const role: RoleRecord = { id: snowflake(), guildId, name, permissions, position: guild.roles.size };
    guild.roles.set(role.id, role);
    return role;
  }

  addChannel(guildId: string, fields: { name: string; type: ChannelRecord['type']; parentId?: string; ownerId?: string; thread?: ThreadMeta; id?: string }): ChannelRecord {
    const guild = this.guild(guildId);
    const channel: ChannelRecord = {
      id: fields.id ?? snowflake(),
      guildId,
      name: fields.name,
      type: fields.type,
      parentId: fields.parentId ?? null,
      position: guild.channelIds.length,
      overwrites: [],
      lastMessageId: null,
      messages: [],
      totalMessagesSent: 0,
      ...(fields.ownerId !== undefined ? { ownerId: fields.ownerId } : {}),
      ...(fields.thread ? { thread: fields.thread } : {}),
    };
    this.channels.set(channel.id, channel);
    guild.channelIds.push(channel.id);
    return channel;
  }

  user(id: string): UserRecord {
    const u = this.users.get(id);
    if (!u) throw unknownUser();
    return u;
  }

  guild(id: string): GuildRecord {
    const g = this.guilds.get(id);
    if (!g) throw unknownGuild();
    return g;
  }

  channel(id: string): ChannelRecord {
    const c = this.channels.get(id);
    if (!c) throw unknownChannel();
    return c;
  }

  message(channel: ChannelRecord, messageId: string): FakeMessage {
    const m = channel.messages.find((x) => x.id === messageId);
    if (!m) throw unknownMessage();
    return m;
  }

  /** The guild when `userId` is a member; 403 Missing Access otherwise (404 for unknown guilds). */
  guildOf(guildId: string, userId: string): GuildRecord {
    const guild = this.guild(guildId);
    if (!guild.members.has(userId)) throw missingAccess();
    return guild;
  }

  /** Guild ids the user belongs to, in creation order. */
  guildIdsOf(userId: string): string[] {
    return [...this.guilds.values()].filter((g) => g.members.has(userId)).map((g) => g.id);
  }

  /** The member's guild-wide permissions (roles only, no channel overwrites). */
  basePermissions(guild: GuildRecord, userId: string): bigint {
    if (guild.ownerId === userId) return ALL_PERMISSIONS;
    const member = guild.members.get(userId);
    if (!member) return 0n;
    let perms = guild.roles.get(guild.id)?.permissions ?? 0n;
    for (const roleId of member.roleIds) perms |= guild.roles.get(roleId)?.permissions ?? 0n;
    return (perms & Perm.ADMINISTRATOR) !== 0n ? ALL_PERMISSIONS : perms;
  }

  /** The member's permissions in a channel (threads: their parent's), after overwrites. */
  channelPermissions(channel: ChannelRecord, userId: string): bigint {
    const guild = this.guild(channel.guildId);
    let perms = this.basePermissions(guild, userId);
    if (perms === ALL_PERMISSIONS) return perms;
    const source = channel.parentId !== null && isThread(channel) ? this.channel(channel.parentId) : channel;
    const member = guild.members.get(userId);
    if (!member) return 0n;
    const apply = (o: Overwrite | undefined): void => {
      if (o) perms = (perms & ~o.deny) | o.allow;
    };
    apply(source.overwrites.find((o) => o.type === 0 && o.id === guild.id));
    let allow = 0n;
    let deny = 0n;
    for (const o of source.overwrites) {
      if (o.type === 0 && member.roleIds.includes(o.id)) {
        allow |= o.allow;
        deny |= o.deny;
      }
    }
    perms = (perms & ~deny) | allow;
    apply(source.overwrites.find((o) => o.type === 1 && o.id === userId));
    return perms;
  }

  /** Throws 403 50013 unless `userId` has every bit of `needed` in the channel (404 10003 when it cannot even see it). */
  requirePermission(channel: ChannelRecord, userId: string, needed: bigint): void {
    const guild = this.guild(channel.guildId);
    if (!guild.members.has(userId)) throw missingAccess();
    const perms = this.channelPermissions(channel, userId);
    if ((perms & Perm.VIEW_CHANNEL) === 0n) throw missingAccess();
    if ((perms & needed) !== needed) throw missingPermissions();
  }

  /** A fresh opaque token (webhooks, interactions). */
  static token(): string {
    return randomBytes(32).toString('base64url');
  }
}
