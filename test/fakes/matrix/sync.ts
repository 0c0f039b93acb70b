/**
 * GET /sync, shaped like Synapse 1.67's response:
 *
 * - Top-level keys that would be empty (account_data, presence, to_device,
 *   device_lists, rooms and each of rooms.join/invite/leave) are left out —
 *   on initial syncs too, as Synapse's `encode_response` does. An initial sync
 *   always has account_data, because Synapse always sends `m.push_rules` then.
 *   `device_one_time_keys_count` and the fallback-key lists are always present.
 * - Joined rooms carry timeline/state/ephemeral/account_data/unread_notifications/summary;
 *   a room appears in an incremental sync only if something in it changed.
 * - A room joined since `since` comes with full state and the room's recent
 *   history from *before* the join (up to the timeline limit), always
 *   `limited: true` (Synapse's `newly_joined_room`).
 * - `state` is Synapse's `_calculate_state`: state at the start and end of the
 *   timeline, minus what the previous sync already had, minus the timeline.
 * - Invites carry stripped state plus the full invite event; leaves carry the
 *   timeline up to the leave/kick/ban event (only new ones in incremental syncs;
 *   on initial syncs only with the filter's `include_leave`).
 *
 * Long-polling: an incremental sync with nothing new waits up to `timeout` ms
 * for a change that concerns the user; initial syncs answer at once.
 */
import type { User } from './accounts.js';
import { formatEvent, strippedEvent } from './events.js';
import type { FormatOptions } from './events.js';
import type { HomeserverState } from './homeserver-state.js';
import { parseStreamToken, streamToken } from './ids.js';
import type { Room, StoredEvent } from './rooms.js';
import { membershipOf } from './rooms.js';
import type { Reply, RequestContext, Route } from './router.js';
import { ok } from './router.js';
import type { JsonObject, Requester } from './types.js';
import { MatrixApiError, invalidParam, isJsonObject } from './types.js';

const DEFAULT_TIMELINE_LIMIT = 10;
/** Synapse's server-side default state types shown to invitees (room_prejoin_state). */
const PREJOIN_STATE_TYPES = ['m.room.join_rules', 'm.room.canonical_alias', 'm.room.avatar', 'm.room.encryption', 'm.room.name', 'm.room.create'];

export interface SyncRequest {
  /** Stream position of the `since` token; null for an initial sync. */
  readonly since: number | null;
  readonly timeoutMs: number;
  readonly fullState: boolean;
  readonly timelineLimit: number;
  readonly includeLeave: boolean;
}

function parseSyncRequest(hs: HomeserverState, user: User, query: URLSearchParams): SyncRequest {
  const sinceRaw = query.get('since');
  let since: number | null = null;
  if (sinceRaw !== null && sinceRaw !== '') {
    const pos = parseStreamToken(sinceRaw);
    if (pos === undefined) throw new MatrixApiError(400, 'M_UNKNOWN', 'Invalid stream token');
    since = Math.min(pos, hs.streamPosition);
  }
  const timeoutRaw = query.get('timeout') ?? '0';
  if (!/^\d+$/.test(timeoutRaw)) throw invalidParam("Query parameter 'timeout' must be an integer");
  const fullState = query.get('full_state') === 'true';
  let filter: JsonObject = {};
  const filterRaw = query.get('filter');
  if (filterRaw !== null && filterRaw !== '') {
    if (filterRaw.startsWith('{')) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(filterRaw);
      } catch {
        throw new MatrixApiError(400, 'M_NOT_JSON', 'Invalid filter JSON');
      }
      if (!isJsonObject(parsed)) throw new MatrixApiError(400, 'M_NOT_JSON', 'Invalid filter JSON');
      filter = parsed;
    } else {
      const stored = hs.accounts.filter(user, filterRaw);
      if (!stored) throw invalidParam('No such filter');
      filter = stored;
    }
  }
  const room = isJsonObject(filter['room']) ? filter['room'] : {};
  const timeline = isJsonObject(room['timeline']) ? room['timeline'] : {};
  const limit = timeline['limit'];
  return {
    since,
    timeoutMs: Number(timeoutRaw),
    fullState,
    timelineLimit: typeof limit === 'number' && Number.isInteger(limit) && limit >= 0 ? limit : DEFAULT_TIMELINE_LIMIT,
    includeLeave: room['include_leave'] === true,
  };
}


interface RoomWindow {
  readonly room: Room;
  /** Timeline events strictly after this position (null: no lower bound). */
  readonly after: number | null;
  /** ... and at or before this one. */
  readonly upTo: number;
  /** State the client already has (null: none — send full state). */
  readonly previous: number | null;
  readonly newlyJoined: boolean;
}

class SyncBuilder {
  private readonly fmt: FormatOptions;

  constructor(
    private readonly hs: HomeserverState,
    private readonly requester: Requester,
    private readonly req: SyncRequest,
    private readonly now: number,
  ) {
    this.fmt = { now: Date.now(), shape: 'sync', viewerToken: requester.token };
  }

  /** The timeline/state part shared by joined and left rooms. */
  private roomBody(w: RoomWindow): JsonObject {
    const { room } = w;
    const userId = this.requester.userId;
    // Like Synapse, current state events are always visible (`always_include_ids`).
    const current = new Set(room.state.values());
    const candidates = room.events.filter(
      (e) => (w.after === null || e.pos > w.after) && e.pos <= w.upTo && (current.has(e) || room.visibleTo(userId, e)),
    );
    const limit = this.req.timelineLimit;
    const timeline = limit === 0 ? [] : candidates.slice(-limit);
    const limited = candidates.length > timeline.length || w.newlyJoined;
    const first = timeline[0];
    const prevBatch = streamToken(first ? first.pos - 1 : w.upTo);

    let state: StoredEvent[] = [];
    if (w.previous === null || limited) {
      const start = first ? first.stateBefore : room.stateAt(w.upTo);
      const chosen = new Set([...start.values(), ...room.stateAt(w.upTo).values()]);
      if (w.previous !== null) for (const e of room.stateAt(w.previous).values()) chosen.delete(e);
      for (const e of timeline) chosen.delete(e);
      state = [...chosen].sort((a, b) => a.pos - b.pos);
    }
    const user = this.hs.user(userId);
    const roomData = [...(user.roomAccountData.get(room.roomId)?.values() ?? [])].filter(
      (d) => (this.req.since === null || d.pos > this.req.since) && d.pos <= this.now,
    );
    return {
      timeline: { events: timeline.map((e) => formatEvent(e, this.fmt)), prev_batch: prevBatch, limited },
      state: { events: state.map((e) => formatEvent(e, this.fmt)) },
      account_data: { events: roomData.map((d) => ({ type: d.type, content: d.content })) },
    };
  }

  private static isEmpty(body: JsonObject): boolean {
    const count = (k: string): number => {
      const part = body[k];
      const events = isJsonObject(part) ? part['events'] : undefined;
      return Array.isArray(events) ? events.length : 0;
    };
    return count('timeline') + count('state') + count('account_data') === 0;
  }

  private inviteBody(room: Room, invite: StoredEvent): JsonObject {
    const stripped: JsonObject[] = [];
    for (const type of PREJOIN_STATE_TYPES) {
      const e = room.stateEvent(type, '', invite.stateBefore);
      if (e) stripped.push(strippedEvent(e));
    }
    const inviterMember = room.stateEvent('m.room.member', invite.sender, invite.stateBefore);
    if (inviterMember) stripped.push(strippedEvent(inviterMember));
    return { invite_state: { events: [...stripped, formatEvent(invite, this.fmt)] } };
  }

  private joinedBetween(room: Room, after: number, upTo: number): boolean {
    const userId = this.requester.userId;
    return room.events.some(
      (e) => e.pos > after && e.pos <= upTo && e.type === 'm.room.member' && e.stateKey === userId && membershipOf(e) === 'join',
    );
  }

  build(): { body: JsonObject; hasUpdates: boolean } {
    const { since, fullState } = this.req;
    const userId = this.requester.userId;
    const join: JsonObject = {};
    const invite: JsonObject = {};
    const leave: JsonObject = {};
    for (const room of this.hs.rooms.values()) {
      const member = room.stateEvent('m.room.member', userId, room.stateAt(this.now));
      const membership = membershipOf(member);
      if (!member || membership === undefined) continue;
      const changedSince = since === null || member.pos > since;
      const wasJoined = since !== null && room.membership(userId, room.stateAt(since)) === 'join';
      if (membership === 'join') {
        const newlyJoined = since !== null && !wasJoined;
        const fresh = since === null || fullState || newlyJoined;
        const body = this.roomBody({
          room,
          after: since === null || newlyJoined ? null : since,
          upTo: this.now,
          previous: fresh ? null : since,
          newlyJoined,
        });
        if (!SyncBuilder.isEmpty(body)) {
          join[room.roomId] = { ...body, ephemeral: { events: [] }, unread_notifications: { notification_count: 0, highlight_count: 0 }, summary: {} };
        }
      } else if (membership === 'invite') {
        if (changedSince || fullState) invite[room.roomId] = this.inviteBody(room, member);
      } else if (membership === 'leave' || membership === 'ban') {
        if (since === null ? !this.req.includeLeave : !changedSince) continue;
        // Joined and left again since the last sync: sent like a newly joined room, cut at the leave.
        const newlyJoined = since !== null && !wasJoined && this.joinedBetween(room, since, member.pos);
        const fresh = since === null || newlyJoined;
        leave[room.roomId] = this.roomBody({ room, after: fresh ? null : since, upTo: member.pos, previous: fresh ? null : since, newlyJoined });
      }
    }

    const user = this.hs.user(userId);
    const accountData: JsonObject[] = [...user.accountData.values()]
      .filter((d) => (since === null || d.pos > since) && d.pos <= this.now)
      .map((d) => ({ type: d.type, content: d.content }));
    // Synapse always sends the push rules on initial sync; the fake has none configured.
    if (since === null) accountData.push({ type: 'm.push_rules', content: { global: { override: [], content: [], room: [], sender: [], underride: [] } } });

    const body: JsonObject = { next_batch: streamToken(this.now) };
    if (accountData.length > 0) body['account_data'] = { events: accountData };
    body['device_one_time_keys_count'] = { signed_curve25519: 0 };
    body['org.matrix.msc2732.device_unused_fallback_key_types'] = [];
    body['device_unused_fallback_key_types'] = [];
    const rooms: JsonObject = {};
    if (Object.keys(join).length > 0) rooms['join'] = join;
    if (Object.keys(invite).length > 0) rooms['invite'] = invite;
    if (Object.keys(leave).length > 0) rooms['leave'] = leave;
    if (Object.keys(rooms).length > 0) body['rooms'] = rooms;
    const hasUpdates = Object.keys(rooms).length > 0 || (since !== null && accountData.length > 0);
    return { body, hasUpdates };
  }
}

/** The sync response for `requester` as of now. */
export function buildSync(hs: HomeserverState, requester: Requester, req: SyncRequest): { body: JsonObject; hasUpdates: boolean } {
  return new SyncBuilder(hs, requester, req, hs.streamPosition).build();
}

/**
 * Synapse answers a sync identical to one of the last two minutes (same
 * device, since, timeout, filter and full_state) from its response cache
 * (sync_response_cache_duration): a repeated token-less sync gets the first
 * one's stale body and position. Mirrored, because it decides what a client
 * that starts from no token sees. Dropped entries are not pruned: a fake
 * lives for one test file.
 */
const SYNC_CACHE_MS = 120_000;
const syncCaches = new WeakMap<HomeserverState, Map<string, { at: number; body: JsonObject }>>();

async function handleSync(ctx: RequestContext): Promise<Reply> {
  const me = ctx.me();
  const key = [me.deviceId, ...['since', 'timeout', 'filter', 'full_state'].map((k) => ctx.query.get(k) ?? '')].join('\u0000');
  let cache = syncCaches.get(ctx.hs);
  if (!cache) syncCaches.set(ctx.hs, (cache = new Map()));
  const cached = cache.get(key);
  if (cached && Date.now() - cached.at < SYNC_CACHE_MS) return ok(cached.body);
  const reply = await answerSync(ctx, me);
  // Like Synapse (#8518): a sync that found nothing (next_batch == since) is not cached, so a client coming back with the same token waits again.
  if (reply.body['next_batch'] !== (ctx.query.get('since') ?? null)) cache.set(key, { at: Date.now(), body: reply.body });
  return ok(reply.body);
}

async function answerSync(ctx: RequestContext, me: Requester): Promise<{ body: JsonObject }> {
  const req = parseSyncRequest(ctx.hs, ctx.hs.user(me.userId), ctx.query);
  const deadline = Date.now() + req.timeoutMs;
  let gone = false;
  void ctx.aborted.then(() => (gone = true));
  for (;;) {
    const result = buildSync(ctx.hs, me, req);
    const remaining = deadline - Date.now();
    if (result.hasUpdates || req.since === null || req.fullState || remaining <= 0 || ctx.hs.isClosed || gone) {
      return { body: result.body };
    }
    await Promise.race([ctx.hs.waitForChange(remaining), ctx.aborted]);
  }
}

export const syncRoutes: readonly Route[] = [{ method: 'GET', family: 'client', path: '/sync', auth: true, handle: handleSync }];
