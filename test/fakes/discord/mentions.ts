/**
 * Who a message mentions and notifies, the way Discord decides it:
 * `@everyone` / `@here` (only for authors with MENTION_EVERYONE; webhooks may),
 * `<@id>` / `<@!id>` users and `<@&id>` roles found in the content, and the
 * replied-to author. With `allowed_mentions` present only what its `parse`
 * (`everyone`, `users`, `roles`), `users`, `roles` and `replied_user` allow
 * counts; absent, everything found counts. Notified users exclude the author
 * and members who cannot see the channel.
 */
import type { JsonObject } from './types.js';
import { Perm } from './types.js';
import type { ChannelRecord, World } from './world.js';

export interface Mentions {
  readonly everyone: boolean;
  /** Users listed in the message's `mentions`. */
  readonly users: string[];
  readonly roles: string[];
  /** Users notified. */
  readonly pinged: string[];
}

export function computeMentions(
  world: World,
  channel: ChannelRecord,
  m: { content: string; authorUserId: string | undefined; allowed: JsonObject | undefined; repliedUserId: string | undefined },
): Mentions {
  const guild = world.guild(channel.guildId);
  const parse = m.allowed && Array.isArray(m.allowed['parse']) ? m.allowed['parse'].filter((x): x is string => typeof x === 'string') : [];
  const listed = (key: string): string[] => {
    const v = m.allowed?.[key];
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
  };
  const foundUsers = unique([...m.content.matchAll(/<@!?(\d+)>/g)].map((x) => x[1] ?? '')).filter((id) => world.users.has(id));
  const foundRoles = unique([...m.content.matchAll(/<@&(\d+)>/g)].map((x) => x[1] ?? '')).filter((id) => guild.roles.has(id) && id !== guild.id);
  const mayEveryone = m.authorUserId === undefined || (world.channelPermissions(channel, m.authorUserId) & Perm.MENTION_EVERYONE) !== 0n;
  const wroteEveryone = /@(everyone|here)\b/.test(m.content);

  let everyone: boolean;
  let users: string[];
  let roles: string[];
  let replied: boolean;
  if (!m.allowed) {
    everyone = wroteEveryone && mayEveryone;
    users = foundUsers;
    roles = foundRoles;
    replied = true;
  } else {
    everyone = wroteEveryone && mayEveryone && parse.includes('everyone');
    users = parse.includes('users') ? foundUsers : foundUsers.filter((id) => listed('users').includes(id));
    roles = parse.includes('roles') ? foundRoles : foundRoles.filter((id) => listed('roles').includes(id));
    replied = m.allowed['replied_user'] === true;
  }
  if (replied && m.repliedUserId !== undefined && !users.includes(m.repliedUserId)) users = [...users, m.repliedUserId];

  const canSee = (userId: string): boolean =>
    guild.members.has(userId) && (world.channelPermissions(channel, userId) & Perm.VIEW_CHANNEL) !== 0n;
  const pinged = new Set<string>();
  if (everyone) for (const id of guild.members.keys()) pinged.add(id);
  for (const id of users) pinged.add(id);
  for (const member of guild.members.values()) if (member.roleIds.some((r) => roles.includes(r))) pinged.add(member.userId);
  if (m.authorUserId !== undefined) pinged.delete(m.authorUserId);
  return { everyone, users, roles, pinged: [...pinged].filter(canSee) };
}

function unique(xs: string[]): string[] {
  return [...new Set(xs)];
}
