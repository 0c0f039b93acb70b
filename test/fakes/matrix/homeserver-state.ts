/**
 * Everything the fake homeserver knows, and the operations that change rooms
 * outside of membership (sending, state, redaction). One global stream
 * position orders every room event and account-data change; each change
 * wakes the long-polling /sync requests, which then decide for themselves
 * whether anything concerns their user.
 *
 * Authorisation follows Synapse 1.67's event auth for room version 9 where
 * the fake needs it: senders must be joined, power levels gate event types,
 * state keys starting with `@` are owned by that user, and power-level edits
 * cannot touch levels above the sender's own.
 */
import { Accounts } from './accounts.js';
import type { User } from './accounts.js';
import { contentObject } from './events.js';
import { newEventId } from './ids.js';
import { Room } from './rooms.js';
import type { NewEvent, StoredEvent } from './rooms.js';
import type { Json, JsonObject, Requester } from './types.js';
import { MatrixApiError, canonicalJson, forbidden, isJsonObject, notFound } from './types.js';

export interface StoredMedia {
  readonly bytes: Buffer;
  readonly contentType: string;
  readonly filename: string | undefined;
}

export class HomeserverState {
  readonly accounts: Accounts;
  readonly rooms = new Map<string, Room>();
  /** Room alias → room ID. */
  readonly aliases = new Map<string, string>();
  readonly media = new Map<string, StoredMedia>();
  private position = 0;
  /** `${token}\0${roomId}\0${txnId}` → event ID: Synapse's per-access-token transaction dedup. */
  private readonly txns = new Map<string, string>();
  private readonly listeners = new Set<() => void>();
  private closed = false;

  constructor(readonly serverName: string) {
    this.accounts = new Accounts(serverName);
  }

  /** The global stream position of the latest change. */
  get streamPosition(): number {
    return this.position;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Resolves on the next change, after `ms`, or on close, whichever comes first. */
  waitForChange(ms: number): Promise<void> {
    if (this.closed || ms <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.listeners.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.listeners.add(done);
    });
  }

  /** Ends every pending wait now and makes future waits return at once. */
  close(): void {
    this.closed = true;
    this.changed();
  }

  private changed(): void {
    for (const l of [...this.listeners]) l();
  }

  /** The requester's user record (it exists: tokens are only issued to users). */
  user(userId: string): User {
    const u = this.accounts.user(userId);
    if (!u) throw notFound('Unknown user');
    return u;
  }

  setAccountData(user: User, roomId: string | null, type: string, content: JsonObject): void {
    this.accounts.setAccountData(user, roomId, type, content, ++this.position);
    this.changed();
  }

  /** Appends an event (no checks: callers authorise) and wakes /sync. */
  appendEvent(room: Room, e: NewEvent): StoredEvent {
    const stored = room.append(e, ++this.position, Date.now(), newEventId());
    if (e.type === 'm.room.redaction') room.applyRedaction(stored);
    this.changed();
    return stored;
  }

  /** The room, or Synapse's 403 for rooms the requester cannot know about. */
  roomFor(requester: Requester, roomId: string): Room {
    const room = this.rooms.get(roomId);
    if (!room) throw forbidden(`User ${requester.userId} not in room ${roomId} (None)`);
    return room;
  }

  /** PUT /send: a message-like event, idempotent per access token + room + txnId. */
  sendEvent(requester: Requester, roomId: string, type: string, content: JsonObject, txnId: string): string {
    return this.withTxn(requester, roomId, txnId, () => {
      const room = this.roomFor(requester, roomId);
      checkCanSend(room, requester.userId, type, undefined, content);
      return this.appendEvent(room, { sender: requester.userId, type, content, txn: { token: requester.token, txnId } }).eventId;
    });
  }

  /**
   * PUT /state for non-membership state. Like Synapse, re-sending the current
   * content from the same sender returns the existing event instead of a new one.
   */
  setState(requester: Requester, roomId: string, type: string, stateKey: string, content: JsonObject): string {
    const room = this.roomFor(requester, roomId);
    checkCanSend(room, requester.userId, type, stateKey, content);
    const current = room.stateEvent(type, stateKey);
    if (current && current.sender === requester.userId && canonicalJson(current.content) === canonicalJson(content)) {
      return current.eventId;
    }
    return this.appendEvent(room, { sender: requester.userId, type, stateKey, content }).eventId;
  }

  /**
   * PUT /redact. Anyone may redact their own events; others' need the `redact`
   * level. The target's content is pruned from then on (see Room.applyRedaction).
   */
  redact(requester: Requester, roomId: string, targetId: string, content: JsonObject, txnId: string): string {
    return this.withTxn(requester, roomId, txnId, () => {
      const room = this.roomFor(requester, roomId);
      checkCanSend(room, requester.userId, 'm.room.redaction', undefined, content);
      const target = room.event(targetId);
      if (target?.type === 'm.room.create') throw forbidden('Redacting create events is not permitted');
      if (target?.type === 'm.room.server_acl') throw forbidden('Redacting server ACL events is not permitted');
      const pl = room.powerLevels();
      if (pl.userLevel(requester.userId) < pl.actionLevel('redact')) {
        if (!target) throw notFound(`Could not find event ${targetId}`);
        if (target.sender !== requester.userId) throw forbidden("You don't have permission to redact events");
      }
      const e: NewEvent = { sender: requester.userId, type: 'm.room.redaction', content, redacts: targetId, txn: { token: requester.token, txnId } };
      return this.appendEvent(room, e).eventId;
    });
  }

  private withTxn(requester: Requester, roomId: string, txnId: string, run: () => string): string {
    const key = `${requester.token}\u0000${roomId}\u0000${txnId}`;
    const seen = this.txns.get(key);
    if (seen !== undefined) return seen;
    const eventId = run();
    this.txns.set(key, eventId);
    return eventId;
  }
}

/**
 * Event auth for a non-membership event from `sender` (Synapse's order:
 * create, sender joined, power level and state-key ownership, power-level edits).
 */
export function checkCanSend(room: Room, sender: string, type: string, stateKey: string | undefined, content: JsonObject): void {
  if (type === 'm.room.create') throw forbidden('Create event has prev events');
  const membership = room.membership(sender);
  if (membership !== 'join') throw forbidden(`User ${sender} not in room ${room.roomId} (${membership ?? 'None'})`);
  const pl = room.powerLevels();
  const userLevel = pl.userLevel(sender);
  const needed = pl.eventLevel(type, stateKey !== undefined);
  if (userLevel < needed) {
    throw forbidden(`You don't have permission to post that to the room. user_level (${userLevel}) < send_level (${needed})`);
  }
  if (stateKey?.startsWith('@') && stateKey !== sender) throw forbidden('You are not allowed to set others state');
  if (type === 'm.room.power_levels' && stateKey === '') checkPowerLevelsEdit(room, sender, userLevel, content);
}

/** Synapse's `_check_power_levels`: no level above your own may be added, changed or removed. */
function checkPowerLevelsEdit(room: Room, sender: string, userLevel: number, next: JsonObject): void {
  for (const key of ['users', 'events']) {
    if (next[key] !== undefined && !isJsonObject(next[key])) throw new MatrixApiError(400, 'M_BAD_JSON', `'${key}' must be an object`);
  }
  const old = room.stateEvent('m.room.power_levels')?.content ?? {};
  const checks: Array<{ oldV: Json | undefined; newV: Json | undefined; otherUser?: string }> = [];
  for (const k of ['users_default', 'events_default', 'state_default', 'ban', 'redact', 'kick', 'invite']) {
    checks.push({ oldV: old[k], newV: next[k] });
  }
  for (const map of ['users', 'events'] as const) {
    const o = contentObject(old, map) ?? {};
    const n = contentObject(next, map) ?? {};
    for (const k of new Set([...Object.keys(o), ...Object.keys(n)])) {
      checks.push({ oldV: o[k], newV: n[k], ...(map === 'users' && k !== sender ? { otherUser: k } : {}) });
    }
  }
  const num = (v: Json | undefined): number | undefined => (v === undefined || v === null ? undefined : Number(v));
  for (const c of checks) {
    const oldL = num(c.oldV);
    const newL = num(c.newV);
    if (oldL !== undefined && newL !== undefined && oldL === newL) continue;
    if (c.otherUser !== undefined && oldL === userLevel) {
      throw forbidden("You don't have permission to remove ops level equal to your own");
    }
    if ((oldL !== undefined && oldL > userLevel) || (newL !== undefined && newL > userLevel)) {
      throw forbidden("You don't have permission to add ops level greater than your own");
    }
  }
}
