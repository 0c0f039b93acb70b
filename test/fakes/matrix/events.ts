/**
 * How stored room events look on the wire. Synapse has three client shapes
 * and the fake reproduces all of them:
 *
 * - /sync timelines and state: no `room_id` ("client v2 without room id");
 * - /event, /messages, /state, /members: `room_id` plus the legacy v1 extras
 *   (`user_id`, and `age`, `prev_content`, `replaces_state`, `redacted_because`
 *   copied from `unsigned` to the top level);
 * - invite_state: "stripped" events with only type, state_key, sender, content
 *   (no event_id, no timestamp).
 */
import type { StoredEvent } from './rooms.js';
import type { JsonObject } from './types.js';
import { cloneJson, isJsonObject } from './types.js';

export interface FormatOptions {
  /** Clock for `unsigned.age`. */
  readonly now: number;
  /** `legacy`: v1 (with room_id and the copied keys), `sync`: v2 without room_id. */
  readonly shape: 'legacy' | 'sync';
  /** The viewer's access token: only that token sees `unsigned.transaction_id`. */
  readonly viewerToken?: string;
}

/** Client format of one stored event, per `FormatOptions`. */
export function formatEvent(e: StoredEvent, o: FormatOptions): JsonObject {
  const unsigned: JsonObject = { age: Math.max(0, o.now - e.ts) };
  if (e.txn && o.viewerToken === e.txn.token) unsigned['transaction_id'] = e.txn.txnId;
  if (e.stateKey !== undefined && e.replaces) {
    unsigned['replaces_state'] = e.replaces.eventId;
    unsigned['prev_content'] = cloneJson(e.replaces.content);
    unsigned['prev_sender'] = e.replaces.sender;
  }
  if (e.redactedBy) {
    // Synapse nests the redaction, formatted the same way (it cannot itself be redacted here).
    unsigned['redacted_because'] = formatEvent({ ...e.redactedBy, redactedBy: undefined }, o);
  }
  const out: JsonObject = {
    type: e.type,
    sender: e.sender,
    content: cloneJson(e.content),
    origin_server_ts: e.ts,
    event_id: e.eventId,
  };
  if (e.stateKey !== undefined) out['state_key'] = e.stateKey;
  if (e.redacts !== undefined) out['redacts'] = e.redacts;
  out['unsigned'] = unsigned;
  if (o.shape === 'legacy') {
    out['room_id'] = e.roomId;
    out['user_id'] = e.sender;
    for (const key of ['age', 'redacted_because', 'replaces_state', 'prev_content']) {
      const v = unsigned[key];
      if (v !== undefined) out[key] = v;
    }
  }
  return out;
}

/** The stripped form used in invite_state: what an invitee may learn before joining. */
export function strippedEvent(e: StoredEvent): JsonObject {
  return { type: e.type, state_key: e.stateKey ?? '', sender: e.sender, content: cloneJson(e.content) };
}

/**
 * Content keys that survive a redaction (the algorithm of room versions 6-10;
 * the fake creates version-9 rooms). Everything else in `content` is dropped.
 */
const KEPT_CONTENT_KEYS: Readonly<Record<string, readonly string[]>> = {
  'm.room.member': ['membership', 'join_authorised_via_users_server'],
  'm.room.create': ['creator'],
  'm.room.join_rules': ['join_rule', 'allow'],
  'm.room.power_levels': ['ban', 'events', 'events_default', 'kick', 'redact', 'state_default', 'users', 'users_default'],
  'm.room.history_visibility': ['history_visibility'],
};

export function redactedContent(type: string, content: JsonObject): JsonObject {
  const kept = KEPT_CONTENT_KEYS[type] ?? [];
  const out: JsonObject = {};
  for (const key of kept) {
    const v = content[key];
    if (v !== undefined) out[key] = cloneJson(v);
  }
  return out;
}

/** A string field of an event's content, or undefined. */
export function contentString(content: JsonObject | undefined, key: string): string | undefined {
  const v = content?.[key];
  return typeof v === 'string' ? v : undefined;
}

/** An object field of an event's content, or undefined. */
export function contentObject(content: JsonObject | undefined, key: string): JsonObject | undefined {
  const v = content?.[key];
  return isJsonObject(v) ? v : undefined;
}
