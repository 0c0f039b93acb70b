/**
 * The room model: an append-only list of events, each remembering the room
 * state before and after it, so that "state at position N", "membership at
 * that event" and Synapse's history-visibility rules are simple look-ups.
 *
 * There is no DAG: the fake is the only server, so a room's events are totally
 * ordered by the global stream position they were given.
 */
import { contentObject, contentString, redactedContent } from './events.js';
import type { JsonObject, MatrixEvent } from './types.js';
import { cloneJson } from './types.js';

/** Room state: `(type, state_key)` → the event that set it. */
export type StateMap = ReadonlyMap<string, StoredEvent>;

export function stateMapKey(type: string, stateKey: string): string {
  return `${type}\u0000${stateKey}`;
}

export interface StoredEvent {
  /** Global stream position (shared by all rooms and account data). */
  readonly pos: number;
  readonly eventId: string;
  readonly roomId: string;
  readonly sender: string;
  readonly type: string;
  readonly stateKey: string | undefined;
  readonly redacts: string | undefined;
  readonly ts: number;
  /** Content as clients see it now: replaced by the redacted form once redacted. */
  content: JsonObject;
  redactedBy: StoredEvent | undefined;
  readonly stateBefore: StateMap;
  readonly stateAfter: StateMap;
  /** The state event this one replaced (same type and state key), if any. */
  readonly replaces: StoredEvent | undefined;
  /** Which access token sent it under which txnId (for `unsigned.transaction_id`). */
  readonly txn: { readonly token: string; readonly txnId: string } | undefined;
}

export interface NewEvent {
  readonly sender: string;
  readonly type: string;
  readonly content: JsonObject;
  readonly stateKey?: string;
  readonly redacts?: string;
  readonly txn?: { readonly token: string; readonly txnId: string };
}

export type Membership = 'join' | 'invite' | 'leave' | 'ban' | 'knock';
const MEMBERSHIPS: readonly Membership[] = ['join', 'invite', 'knock', 'leave', 'ban']; // Synapse's MEMBERSHIP_PRIORITY
const VISIBILITIES = ['world_readable', 'shared', 'invited', 'joined'] as const; // Synapse's VISIBILITY_PRIORITY
type Visibility = (typeof VISIBILITIES)[number];

const EMPTY_STATE: StateMap = new Map();

export function membershipOf(e: StoredEvent | undefined): Membership | undefined {
  const m = contentString(e?.content, 'membership');
  return MEMBERSHIPS.find((x) => x === m);
}

function visibilityOf(e: StoredEvent | undefined): Visibility {
  const v = contentString(e?.content, 'history_visibility');
  return VISIBILITIES.find((x) => x === v) ?? 'shared';
}

function level(v: unknown, fallback: number): number {
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  if (typeof v === 'string' && /^-?\d+$/.test(v.trim())) return Number(v); // old rooms allowed strings
  return fallback;
}

/** Reads an `m.room.power_levels` content with the spec's defaults. */
export class PowerLevels {
  /** `content` undefined means the room has no power levels event (yet). */
  constructor(
    private readonly content: JsonObject | undefined,
    private readonly creator: string,
  ) {}

  userLevel(userId: string): number {
    if (!this.content) return userId === this.creator ? 100 : 0;
    return level(contentObject(this.content, 'users')?.[userId], level(this.content['users_default'], 0));
  }

  /** Level needed to send an event of `type` (state or not). */
  eventLevel(type: string, isState: boolean): number {
    if (!this.content) return 0;
    const explicit = contentObject(this.content, 'events')?.[type];
    const dflt = isState ? level(this.content['state_default'], 50) : level(this.content['events_default'], 0);
    return level(explicit, dflt);
  }

  /** Level needed for kick/ban/redact (default 50) or invite (default 0). */
  actionLevel(action: 'kick' | 'ban' | 'redact' | 'invite'): number {
    const dflt = action === 'invite' ? 0 : 50;
    return this.content ? level(this.content[action], dflt) : dflt;
  }
}

export class Room {
  readonly events: StoredEvent[] = [];
  private readonly byId = new Map<string, StoredEvent>();
  /** Local aliases pointing here (for the directory), e.g. `#name:server`. */
  readonly aliases = new Set<string>();
  /**
   * POST /forget: user → the member event they forgot the room at. It counts
   * only while that is still their latest membership (as Synapse's flag).
   */
  readonly forgotten = new Map<string, string>();

  constructor(
    readonly roomId: string,
    readonly version: string,
  ) {}

  /** Appends an event at global position `pos` and returns it. Callers check auth first. */
  append(e: NewEvent, pos: number, ts: number, eventId: string): StoredEvent {
    const stateBefore = this.state;
    let stateAfter = stateBefore;
    let replaces: StoredEvent | undefined;
    const stored: StoredEvent = {
      pos,
      eventId,
      roomId: this.roomId,
      sender: e.sender,
      type: e.type,
      stateKey: e.stateKey,
      redacts: e.redacts,
      ts,
      content: cloneJson(e.content),
      redactedBy: undefined,
      stateBefore,
      get stateAfter() {
        return stateAfter;
      },
      get replaces() {
        return replaces;
      },
      txn: e.txn,
    };
    if (e.stateKey !== undefined) {
      const key = stateMapKey(e.type, e.stateKey);
      replaces = stateBefore.get(key);
      stateAfter = new Map(stateBefore).set(key, stored);
    }
    this.events.push(stored);
    this.byId.set(eventId, stored);
    return stored;
  }

  /** Applies a redaction to its target (if it is in this room): content is pruned from now on. */
  applyRedaction(redaction: StoredEvent): void {
    const target = redaction.redacts === undefined ? undefined : this.byId.get(redaction.redacts);
    if (!target || target.redactedBy) return;
    target.content = redactedContent(target.type, target.content);
    target.redactedBy = redaction;
  }

  event(eventId: string): StoredEvent | undefined {
    return this.byId.get(eventId);
  }

  /** Current state. */
  get state(): StateMap {
    return this.events.at(-1)?.stateAfter ?? EMPTY_STATE;
  }

  /** State after the last event at or before global position `pos`. */
  stateAt(pos: number): StateMap {
    for (let i = this.events.length - 1; i >= 0; i--) {
      const e = this.events[i];
      if (e && e.pos <= pos) return e.stateAfter;
    }
    return EMPTY_STATE;
  }

  stateEvent(type: string, stateKey = '', state: StateMap = this.state): StoredEvent | undefined {
    return state.get(stateMapKey(type, stateKey));
  }

  membership(userId: string, state: StateMap = this.state): Membership | undefined {
    return membershipOf(this.stateEvent('m.room.member', userId, state));
  }

  /** Users whose membership in `state` is `membership`, in the order they got it. */
  members(membership: Membership, state: StateMap = this.state): string[] {
    return [...state.values()]
      .filter((e) => e.type === 'm.room.member' && membershipOf(e) === membership)
      .sort((a, b) => a.pos - b.pos)
      .map((e) => e.stateKey ?? '');
  }

  get creator(): string {
    return contentString(this.stateEvent('m.room.create')?.content, 'creator') ?? '';
  }

  powerLevels(state: StateMap = this.state): PowerLevels {
    return new PowerLevels(this.stateEvent('m.room.power_levels', '', state)?.content, this.creator);
  }

  /**
   * The furthest position `userId` may read: now while joined, otherwise the
   * position of their latest membership event (Synapse lets departed users
   * read up to their leave). Undefined if they were never in the room.
   */
  readableUpTo(userId: string, now: number): number | undefined {
    const member = this.stateEvent('m.room.member', userId);
    if (!member) return undefined;
    return membershipOf(member) === 'join' ? now : member.pos;
  }

  /**
   * Synapse's `filter_events_for_client` for one event: history visibility at
   * the event, the user's membership at the event (their own membership
   * events count as the more permissive of old and new, and a leave after a
   * join or invite is always visible). `isPeeking` is true only where Synapse
   * passes it: /messages for users with no membership at all.
   */
  visibleTo(userId: string, e: StoredEvent, isPeeking = false): boolean {
    if (e.type === 'm.room.aliases' || e.type === 'org.matrix.dummy_event') return false;
    let visibility = visibilityOf(this.stateEvent('m.room.history_visibility', '', e.stateAfter));
    if (e.type === 'm.room.history_visibility' && e.stateKey === '') {
      const prev = visibilityOf(e.replaces);
      if (VISIBILITIES.indexOf(prev) < VISIBILITIES.indexOf(visibility)) visibility = prev;
    }
    if (visibility === 'world_readable' || (visibility === 'shared' && !isPeeking)) return true;
    let membership = this.membership(userId, e.stateAfter);
    if (e.type === 'm.room.member' && e.stateKey === userId) {
      const now = membershipOf(e) ?? 'leave';
      const prev = membershipOf(e.replaces) ?? 'leave';
      if (now === 'leave' && (prev === 'join' || prev === 'invite')) return true;
      membership = MEMBERSHIPS.indexOf(prev) < MEMBERSHIPS.indexOf(now) ? prev : now;
    }
    if (membership === 'join') return true;
    if (visibility === 'invited') return membership === 'invite';
    return false;
  }

  /** The event as the `timeline()` assertion helper exposes it. */
  static toMatrixEvent(e: StoredEvent): MatrixEvent {
    return {
      event_id: e.eventId,
      room_id: e.roomId,
      sender: e.sender,
      type: e.type,
      content: cloneJson(e.content),
      origin_server_ts: e.ts,
      ...(e.stateKey !== undefined ? { state_key: e.stateKey } : {}),
      ...(e.redacts !== undefined ? { redacts: e.redacts } : {}),
    };
  }
}
