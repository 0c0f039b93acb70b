/**
 * Room endpoints: creation, membership, sending, state, redaction and the
 * read APIs (/event, /messages, /state, /members, /joined_members).
 *
 * Reading follows Synapse 1.67's `check_user_in_room_or_world_readable` with
 * departed users allowed: joined users read the room as it is now, users who
 * left (and did not forget the room) read it as it was at their leave;
 * banned, invited and never-joined users get 403.
 */
import { createRoom } from './create-room.js';
import { formatEvent } from './events.js';
import type { HomeserverState } from './homeserver-state.js';
import { parseStreamToken, streamToken } from './ids.js';
import type { MembershipAction } from './membership.js';
import { changeMembership } from './membership.js';
import type { Membership, Room, StateMap, StoredEvent } from './rooms.js';
import { membershipOf } from './rooms.js';
import type { Reply, RequestContext, Route } from './router.js';
import { ok } from './router.js';
import type { Requester } from './types.js';
import { MatrixApiError, forbidden, invalidParam, isUserId, notFound, optionalString, requireString } from './types.js';

interface ReadAccess {
  readonly room: Room;
  /** Last readable stream position. */
  readonly upTo: number;
  readonly state: StateMap;
}

function readAccess(hs: HomeserverState, me: Requester, roomId: string): ReadAccess {
  const room = hs.rooms.get(roomId);
  const member = room?.stateEvent('m.room.member', me.userId);
  const membership = membershipOf(member);
  if (room && member && membership === 'join') return { room, upTo: hs.streamPosition, state: room.state };
  if (room && member && membership === 'leave' && room.forgotten.get(me.userId) !== member.eventId) {
    return { room, upTo: member.pos, state: member.stateAfter };
  }
  throw forbidden(`User ${me.userId} not in room ${roomId}, and room previews are disabled`);
}

const legacy = (ctx: RequestContext, e: StoredEvent): ReturnType<typeof formatEvent> =>
  formatEvent(e, { now: Date.now(), shape: 'legacy', viewerToken: ctx.me().token });

/** POST /rooms/{roomId}/{invite|kick|ban|unban}: `user_id` names the target. */
function membershipAgainst(action: MembershipAction) {
  return (ctx: RequestContext): Reply => {
    const body = ctx.json();
    const target = requireString(body, 'user_id');
    if (!isUserId(target)) throw invalidParam('Invalid user id');
    changeMembership(ctx.hs, ctx.me(), ctx.params['roomId'] ?? '', target, action, { reason: optionalString(body, 'reason') });
    return ok({});
  };
}

function join(ctx: RequestContext): Reply {
  const idOrAlias = ctx.params['roomIdOrAlias'] ?? ctx.params['roomId'] ?? '';
  let roomId = idOrAlias;
  if (idOrAlias.startsWith('#')) {
    const found = ctx.hs.aliases.get(idOrAlias);
    if (found === undefined) throw notFound(`Room alias ${idOrAlias} not found`);
    roomId = found;
  } else if (!/^![^:]+:.+$/.test(idOrAlias)) {
    throw new MatrixApiError(400, 'M_UNKNOWN', `${idOrAlias} was not legal room ID or room alias`);
  }
  const body = ctx.json({ allowEmpty: true });
  const me = ctx.me();
  changeMembership(ctx.hs, me, roomId, me.userId, 'join', { reason: optionalString(body, 'reason') });
  return ok({ room_id: roomId });
}

/** PUT /state/m.room.member/{userId} is a membership change, as in Synapse. */
function putState(ctx: RequestContext): Reply {
  const roomId = ctx.params['roomId'] ?? '';
  const type = ctx.params['eventType'] ?? '';
  const stateKey = ctx.params['stateKey'] ?? '';
  const content = ctx.json();
  const me = ctx.me();
  if (type !== 'm.room.member') return ok({ event_id: ctx.hs.setState(me, roomId, type, stateKey, content) });
  const membership = content['membership'];
  if (membership !== 'join' && membership !== 'invite' && membership !== 'leave' && membership !== 'ban') {
    throw new MatrixApiError(400, 'M_BAD_JSON', 'Invalid membership');
  }
  if (!isUserId(stateKey)) throw invalidParam('Invalid user id');
  return ok({ event_id: changeMembership(ctx.hs, me, roomId, stateKey, membership, { reason: optionalString(content, 'reason') }) });
}

function getStateEvent(ctx: RequestContext): Reply {
  const { room, state } = readAccess(ctx.hs, ctx.me(), ctx.params['roomId'] ?? '');
  const e = room.stateEvent(ctx.params['eventType'] ?? '', ctx.params['stateKey'] ?? '', state);
  if (!e) throw notFound('Event not found.');
  return ok(e.content);
}

function getEvent(ctx: RequestContext): Reply {
  const me = ctx.me();
  const eventId = ctx.params['eventId'] ?? '';
  const room = ctx.hs.rooms.get(ctx.params['roomId'] ?? '');
  const e = room?.event(eventId);
  if (!room || !e) throw notFound(`Event ${eventId} not found.`);
  // Synapse checks visibility only, treating anyone not joined now as peeking.
  if (!room.visibleTo(me.userId, e, room.membership(me.userId) !== 'join')) throw notFound('Event not found.');
  return ok(legacy(ctx, e));
}

function tokenParam(ctx: RequestContext, name: string): number | undefined {
  const raw = ctx.query.get(name);
  if (raw === null || raw === '') return undefined;
  const pos = parseStreamToken(raw);
  if (pos === undefined) throw new MatrixApiError(400, 'M_UNKNOWN', `Invalid token '${raw}'`);
  return pos;
}

/**
 * GET /messages. Pages over raw events, then drops what the user may not
 * see (so a page can be shorter than `limit`); `end` is omitted once no raw
 * events are left, as in Synapse 1.67. Departed users are bounded by their leave.
 */
function messages(ctx: RequestContext): Reply {
  const me = ctx.me();
  const { room, upTo } = readAccess(ctx.hs, me, ctx.params['roomId'] ?? '');
  const dir = ctx.query.get('dir') ?? 'f';
  if (dir !== 'b' && dir !== 'f') throw invalidParam("Query parameter 'dir' must be one of ['b', 'f']");
  const limitRaw = ctx.query.get('limit') ?? '10';
  if (!/^\d+$/.test(limitRaw)) throw invalidParam("Query parameter 'limit' must be an integer");
  const limit = Math.min(Number(limitRaw), 1000);
  const to = tokenParam(ctx, 'to');
  const from = tokenParam(ctx, 'from') ?? (dir === 'b' ? upTo : 0);
  const raw =
    dir === 'b'
      ? room.events.filter((e) => e.pos <= Math.min(from, upTo) && (to === undefined || e.pos > to)).reverse().slice(0, limit)
      : room.events.filter((e) => e.pos > from && e.pos <= upTo && (to === undefined || e.pos <= to)).slice(0, limit);
  const last = raw.at(-1);
  if (!last) return ok({ chunk: [], start: streamToken(from) });
  const chunk = raw.filter((e) => room.visibleTo(me.userId, e)).map((e) => legacy(ctx, e));
  return ok({ chunk, start: streamToken(from), end: streamToken(dir === 'b' ? last.pos - 1 : last.pos) });
}

function members(ctx: RequestContext): Reply {
  const { room, upTo, state } = readAccess(ctx.hs, ctx.me(), ctx.params['roomId'] ?? '');
  const at = tokenParam(ctx, 'at');
  const atState = at === undefined ? state : room.stateAt(Math.min(at, upTo));
  const only = ctx.query.get('membership');
  const not = ctx.query.get('not_membership');
  const chunk = [...atState.values()]
    .filter((e) => e.type === 'm.room.member')
    .filter((e) => (only === null || membershipOf(e) === only) && (not === null || membershipOf(e) !== not))
    .sort((a, b) => a.pos - b.pos)
    .map((e) => legacy(ctx, e));
  return ok({ chunk });
}

function joinedMembers(ctx: RequestContext): Reply {
  const me = ctx.me();
  const { room } = readAccess(ctx.hs, me, ctx.params['roomId'] ?? '');
  if (room.membership(me.userId) !== 'join') {
    // Synapse 1.67 raises NotImplementedError("Getting joined members after leaving is not implemented").
    throw new MatrixApiError(500, 'M_UNKNOWN', 'Internal server error');
  }
  const joined: Record<string, { display_name: string | null; avatar_url: string | null }> = {};
  for (const userId of room.members('join')) {
    const content = room.stateEvent('m.room.member', userId)?.content;
    const dn = content?.['displayname'];
    const av = content?.['avatar_url'];
    joined[userId] = { display_name: typeof dn === 'string' ? dn : null, avatar_url: typeof av === 'string' ? av : null };
  }
  return ok({ joined });
}

function joinedRooms(ctx: RequestContext): Reply {
  const me = ctx.me();
  const ids = [...ctx.hs.rooms.values()].filter((r) => r.membership(me.userId) === 'join').map((r) => r.roomId);
  return ok({ joined_rooms: ids });
}

function forget(ctx: RequestContext): Reply {
  const me = ctx.me();
  const room = ctx.hs.rooms.get(ctx.params['roomId'] ?? '');
  const member = room?.stateEvent('m.room.member', me.userId);
  const m: Membership | undefined = membershipOf(member);
  if (m === 'join') throw new MatrixApiError(400, 'M_UNKNOWN', `User ${me.userId} is in room ${ctx.params['roomId'] ?? ''}`);
  if (room && member) room.forgotten.set(me.userId, member.eventId);
  return ok({});
}

function typing(ctx: RequestContext): Reply {
  const me = ctx.me();
  if (ctx.params['userId'] !== me.userId) throw forbidden('Cannot set typing state for other users');
  const room = ctx.hs.roomFor(me, ctx.params['roomId'] ?? '');
  if (room.membership(me.userId) !== 'join') throw forbidden(`User ${me.userId} not in room ${room.roomId}`);
  const body = ctx.json();
  if (typeof body['typing'] !== 'boolean') throw new MatrixApiError(400, 'M_BAD_JSON', "Missing or invalid 'typing'");
  return ok({});
}

const client = (method: Route['method'], path: string, handle: Route['handle']): Route => ({ method, family: 'client', path, auth: true, handle });

export const roomRoutes: readonly Route[] = [
  client('POST', '/createRoom', (ctx) => ok(createRoom(ctx.hs, ctx.me(), ctx.json()))),
  client('POST', '/join/{roomIdOrAlias}', join),
  client('POST', '/rooms/{roomId}/join', join),
  client('POST', '/rooms/{roomId}/leave', (ctx) => {
    const me = ctx.me();
    const body = ctx.json({ allowEmpty: true });
    changeMembership(ctx.hs, me, ctx.params['roomId'] ?? '', me.userId, 'leave', { reason: optionalString(body, 'reason') });
    return ok({});
  }),
  client('POST', '/rooms/{roomId}/forget', forget),
  client('POST', '/rooms/{roomId}/invite', membershipAgainst('invite')),
  client('POST', '/rooms/{roomId}/kick', membershipAgainst('kick')),
  client('POST', '/rooms/{roomId}/ban', membershipAgainst('ban')),
  client('POST', '/rooms/{roomId}/unban', membershipAgainst('unban')),
  client('PUT', '/rooms/{roomId}/send/{eventType}/{txnId}', (ctx) => {
    const p = ctx.params;
    return ok({ event_id: ctx.hs.sendEvent(ctx.me(), p['roomId'] ?? '', p['eventType'] ?? '', ctx.json(), p['txnId'] ?? '') });
  }),
  client('PUT', '/rooms/{roomId}/redact/{eventId}/{txnId}', (ctx) => {
    const p = ctx.params;
    return ok({ event_id: ctx.hs.redact(ctx.me(), p['roomId'] ?? '', p['eventId'] ?? '', ctx.json({ allowEmpty: true }), p['txnId'] ?? '') });
  }),
  client('GET', '/rooms/{roomId}/state', (ctx) => {
    const { state } = readAccess(ctx.hs, ctx.me(), ctx.params['roomId'] ?? '');
    return ok([...state.values()].sort((a, b) => a.pos - b.pos).map((e) => legacy(ctx, e)));
  }),
  client('GET', '/rooms/{roomId}/state/{eventType}/{stateKey?}', getStateEvent),
  client('PUT', '/rooms/{roomId}/state/{eventType}/{stateKey?}', putState),
  client('GET', '/rooms/{roomId}/event/{eventId}', getEvent),
  client('GET', '/rooms/{roomId}/messages', messages),
  client('GET', '/rooms/{roomId}/members', members),
  client('GET', '/rooms/{roomId}/joined_members', joinedMembers),
  client('GET', '/joined_rooms', joinedRooms),
  client('PUT', '/rooms/{roomId}/typing/{userId}', typing),
  client('POST', '/rooms/{roomId}/receipt/{receiptType}/{eventId}', (ctx) => {
    const t = ctx.params['receiptType'] ?? '';
    if (!['m.read', 'm.read.private', 'm.fully_read'].includes(t)) {
      throw invalidParam("Receipt type must be 'm.read', 'm.read.private' or 'm.fully_read'");
    }
    return ok({});
  }),
  client('POST', '/rooms/{roomId}/read_markers', () => ok({})),
  {
    method: 'GET',
    family: 'client',
    path: '/directory/room/{roomAlias}',
    auth: false,
    handle: (ctx) => {
      const alias = ctx.params['roomAlias'] ?? '';
      if (!/^#[^:]+:.+$/.test(alias)) throw invalidParam('Invalid room alias');
      const roomId = ctx.hs.aliases.get(alias);
      if (roomId === undefined) throw notFound(`Room alias ${alias} not found`);
      return ok({ room_id: roomId, servers: [ctx.hs.serverName] });
    },
  },
];
