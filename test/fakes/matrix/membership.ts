/**
 * Membership changes (join, invite, leave, kick, ban, unban) as Synapse 1.67
 * performs them: `update_membership`'s pre-checks and duplicate detection,
 * then the room-version-9 event auth rules for `m.room.member`, then the
 * target's profile copied into join and invite events.
 */
import { contentString } from './events.js';
import type { HomeserverState } from './homeserver-state.js';
import type { Room } from './rooms.js';
import { membershipOf } from './rooms.js';
import type { JsonObject, Requester } from './types.js';
import { MatrixApiError, canonicalJson, forbidden } from './types.js';

export type MembershipAction = 'join' | 'invite' | 'leave' | 'kick' | 'ban' | 'unban';

export interface MembershipOptions {
  readonly reason?: string;
  /** Only for invites: marks the room as a DM (`content.is_direct`). */
  readonly isDirect?: boolean;
}

/**
 * Applies `action` by `requester` to `target` in `roomId`, returning the
 * member event's ID. A request that would repeat the target's current member
 * event (same sender, membership and content) returns that event instead of
 * a new one. Joins and invites always produce a new event: their content
 * gains the profile, so it never equals the request's.
 */
export function changeMembership(
  hs: HomeserverState,
  requester: Requester,
  roomId: string,
  target: string,
  action: MembershipAction,
  opts: MembershipOptions = {},
): string {
  const sender = requester.userId;
  const room = hs.rooms.get(roomId);
  if (!room) {
    if (action === 'join') throw new MatrixApiError(404, 'M_UNKNOWN', 'No known servers');
    throw forbidden(`${sender} not in room ${roomId}.`);
  }
  const membership = action === 'kick' || action === 'unban' ? 'leave' : action;
  const content: JsonObject = { membership };
  if (opts.reason !== undefined) content['reason'] = opts.reason;
  if (opts.isDirect === true && membership === 'invite') content['is_direct'] = true;

  const old = room.stateEvent('m.room.member', target);
  const oldMembership = membershipOf(old);
  if (action === 'unban' && oldMembership !== 'ban') {
    throw new MatrixApiError(403, 'M_BAD_STATE', `Cannot unban user who was not banned (membership=${oldMembership ?? 'None'})`);
  }
  if (oldMembership === 'ban' && action !== 'ban' && action !== 'unban' && action !== 'leave') {
    throw new MatrixApiError(403, 'M_BAD_STATE', `Cannot ${action} user who was banned`);
  }
  if (old && old.sender === sender && oldMembership === membership && canonicalJson(old.content) === canonicalJson(content)) {
    return old.eventId;
  }
  if (action === 'kick' && (oldMembership === undefined || oldMembership === 'ban' || oldMembership === 'leave')) {
    throw forbidden('The target user is not in the room');
  }
  checkMembershipAuth(room, sender, target, membership);

  if (membership === 'join' || membership === 'invite') {
    const profile = hs.accounts.user(target);
    if (profile?.displayname != null) content['displayname'] = profile.displayname;
    if (profile?.avatarUrl != null) content['avatar_url'] = profile.avatarUrl;
  }
  return hs.appendEvent(room, { sender, type: 'm.room.member', stateKey: target, content }).eventId;
}

/** Room-version-9 auth rules for a membership event (Synapse's `_is_membership_change_allowed`). */
function checkMembershipAuth(room: Room, sender: string, target: string, membership: 'join' | 'invite' | 'leave' | 'ban'): void {
  const callerMembership = room.membership(sender);
  const callerInRoom = callerMembership === 'join';
  const callerInvited = callerMembership === 'invite';
  const targetMembership = room.membership(target);
  const pl = room.powerLevels();
  const userLevel = pl.userLevel(sender);
  const targetLevel = pl.userLevel(target);

  if (membership !== 'join') {
    if (callerInvited && membership === 'leave' && target === sender) return; // rejecting an invite
    if (!callerInRoom) throw forbidden(`${sender} not in room ${room.roomId}.`);
  }
  switch (membership) {
    case 'invite':
      if (targetMembership === 'ban') throw forbidden(`${target} is banned from the room`);
      if (targetMembership === 'join') throw forbidden(`${target} is already in the room.`);
      if (userLevel < pl.actionLevel('invite')) throw forbidden("You don't have permission to invite users");
      return;
    case 'join': {
      if (sender !== target) throw forbidden('Cannot force another user to join.');
      if (targetMembership === 'ban') throw forbidden('You are banned from this room');
      const rule = contentString(room.stateEvent('m.room.join_rules')?.content, 'join_rule') ?? 'invite';
      if (rule === 'public') return;
      if (callerInRoom || callerInvited) return;
      throw forbidden('You are not invited to this room.');
    }
    case 'leave':
      if (targetMembership === 'ban') {
        if (userLevel < pl.actionLevel('ban')) throw forbidden(`You cannot unban user ${target}.`);
      } else if (target !== sender && (userLevel < pl.actionLevel('kick') || userLevel <= targetLevel)) {
        throw forbidden(`You cannot kick user ${target}.`);
      }
      return;
    case 'ban':
      if (userLevel < pl.actionLevel('ban') || userLevel <= targetLevel) throw forbidden("You don't have permission to ban");
      return;
  }
}

/**
 * After a profile change: a fresh join event (with the new profile) in every
 * room the user is joined to, as Synapse's `_update_join_states` does.
 */
export function propagateProfile(hs: HomeserverState, requester: Requester): void {
  for (const room of hs.rooms.values()) {
    if (room.membership(requester.userId) === 'join') {
      changeMembership(hs, requester, room.roomId, requester.userId, 'join');
    }
  }
}
