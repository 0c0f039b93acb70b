/**
 * POST /createRoom, event for event as Synapse 1.67's `RoomCreationHandler`
 * writes them: m.room.create, the creator's join, m.room.power_levels,
 * m.room.canonical_alias (with room_alias_name), m.room.join_rules,
 * m.room.history_visibility, m.room.guest_access (private presets), the
 * remaining `initial_state`, m.room.name, m.room.topic, then one invite per
 * invitee (through the ordinary membership path, so its auth applies).
 */
import type { HomeserverState } from './homeserver-state.js';
import { newRoomId } from './ids.js';
import { changeMembership } from './membership.js';
import { Room } from './rooms.js';
import type { Json, JsonObject, Requester } from './types.js';
import { MatrixApiError, badJson, cloneJson, isJsonObject, isUserId, optionalObject, optionalString } from './types.js';

/** Room versions Synapse 1.67 knows; new rooms default to 9. */
const ROOM_VERSIONS = ['1', '2', '3', '4', '5', '6', '7', '8', '9', '10'];
const DEFAULT_ROOM_VERSION = '9';

interface Preset {
  readonly joinRule: 'invite' | 'public';
  readonly guestCanJoin: boolean;
  readonly invitees100: boolean;
  readonly powerOverride: JsonObject;
}

const PRESETS: Readonly<Record<string, Preset>> = {
  private_chat: { joinRule: 'invite', guestCanJoin: true, invitees100: false, powerOverride: { invite: 0 } },
  trusted_private_chat: { joinRule: 'invite', guestCanJoin: true, invitees100: true, powerOverride: { invite: 0 } },
  public_chat: { joinRule: 'public', guestCanJoin: false, invitees100: false, powerOverride: {} },
};

/** Synapse's default power levels before the preset and request overrides. */
function defaultPowerLevels(creator: string): JsonObject {
  return {
    users: { [creator]: 100 },
    users_default: 0,
    events: {
      'm.room.name': 50,
      'm.room.power_levels': 100,
      'm.room.history_visibility': 100,
      'm.room.canonical_alias': 50,
      'm.room.avatar': 50,
      'm.room.tombstone': 100,
      'm.room.server_acl': 100,
      'm.room.encryption': 100,
    },
    events_default: 0,
    state_default: 50,
    ban: 50,
    kick: 50,
    redact: 50,
    invite: 50,
    historical: 100,
  };
}

interface InitialStateEntry {
  readonly type: string;
  readonly stateKey: string;
  readonly content: JsonObject;
}

function parseInitialState(v: Json | undefined): InitialStateEntry[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw badJson("'initial_state' must be a list");
  // Later entries for the same (type, state_key) win but keep the first one's place (an ordered dict in Synapse).
  const byKey = new Map<string, InitialStateEntry>();
  for (const item of v) {
    if (!isJsonObject(item) || typeof item['type'] !== 'string' || !isJsonObject(item['content'])) {
      throw badJson("'initial_state' entries need a string 'type' and an object 'content'");
    }
    const stateKey = typeof item['state_key'] === 'string' ? item['state_key'] : '';
    byKey.set(`${item['type']}\u0000${stateKey}`, { type: item['type'], stateKey, content: item['content'] });
  }
  return [...byKey.values()];
}

function parseInvites(v: Json | undefined): string[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw badJson("'invite' must be a list");
  return v.map((i) => {
    if (typeof i !== 'string' || !isUserId(i)) throw new MatrixApiError(400, 'M_UNKNOWN', `Invalid user_id: ${String(i)}`);
    return i;
  });
}

/** Creates the room and returns the createRoom response body. */
export function createRoom(hs: HomeserverState, requester: Requester, body: JsonObject): JsonObject {
  const creator = requester.userId;
  const visibility = optionalString(body, 'visibility') ?? 'private';
  const presetName = optionalString(body, 'preset') ?? (visibility === 'public' ? 'public_chat' : 'private_chat');
  const preset = PRESETS[presetName];
  if (!preset) throw badJson(`${presetName} was not a valid preset`);
  const version = optionalString(body, 'room_version') ?? DEFAULT_ROOM_VERSION;
  if (!ROOM_VERSIONS.includes(version)) {
    throw new MatrixApiError(400, 'M_UNSUPPORTED_ROOM_VERSION', 'Your homeserver does not support this room version');
  }
  const name = optionalString(body, 'name');
  const topic = optionalString(body, 'topic');
  const invites = parseInvites(body['invite']);
  const initialState = parseInitialState(body['initial_state']);
  const override = optionalObject(body, 'power_level_content_override');
  const overrideUsers = override ? override['users'] : undefined;
  if (overrideUsers !== undefined && !(isJsonObject(overrideUsers) && creator in overrideUsers)) {
    throw new MatrixApiError(400, 'M_UNKNOWN', `Not a valid power_level_content_override: 'users' did not contain ${creator}`);
  }
  const creationContent = optionalObject(body, 'creation_content') ?? {};
  const isDirect = body['is_direct'] === true;
  const aliasName = optionalString(body, 'room_alias_name');
  const alias = aliasName === undefined ? undefined : `#${aliasName}:${hs.serverName}`;
  if (aliasName !== undefined && /[\s:]/.test(aliasName)) throw new MatrixApiError(400, 'M_INVALID_PARAM', 'Invalid characters in room alias');
  if (alias !== undefined && hs.aliases.has(alias)) throw new MatrixApiError(400, 'M_ROOM_IN_USE', 'Room alias already taken');

  const room = new Room(newRoomId(hs.serverName), version);
  hs.rooms.set(room.roomId, room);
  const send = (type: string, content: JsonObject, stateKey = ''): void => {
    hs.appendEvent(room, { sender: creator, type, stateKey, content: cloneJson(content) });
  };
  const taken = new Set(initialState.map((e) => `${e.type}\u0000${e.stateKey}`));
  const given = (type: string): boolean => taken.has(`${type}\u0000`);

  send('m.room.create', { ...creationContent, creator, room_version: version });
  const profile = hs.accounts.user(creator);
  send(
    'm.room.member',
    {
      membership: 'join',
      ...(profile?.displayname != null ? { displayname: profile.displayname } : {}),
      ...(profile?.avatarUrl != null ? { avatar_url: profile.avatarUrl } : {}),
    },
    creator,
  );
  const plFromInitialState = initialState.find((e) => e.type === 'm.room.power_levels' && e.stateKey === '');
  if (plFromInitialState) {
    send('m.room.power_levels', plFromInitialState.content);
  } else {
    const pl = defaultPowerLevels(creator);
    if (preset.invitees100 && isJsonObject(pl['users'])) for (const i of invites) pl['users'][i] = 100;
    send('m.room.power_levels', { ...pl, ...preset.powerOverride, ...(override ?? {}) });
  }
  if (alias !== undefined) {
    hs.aliases.set(alias, room.roomId);
    room.aliases.add(alias);
    send('m.room.canonical_alias', { alias });
  }
  if (!given('m.room.join_rules')) send('m.room.join_rules', { join_rule: preset.joinRule });
  if (!given('m.room.history_visibility')) send('m.room.history_visibility', { history_visibility: 'shared' });
  if (preset.guestCanJoin && !given('m.room.guest_access')) send('m.room.guest_access', { guest_access: 'can_join' });
  for (const e of initialState) if (e !== plFromInitialState) send(e.type, e.content, e.stateKey);
  if (name !== undefined) send('m.room.name', { name });
  if (topic !== undefined) send('m.room.topic', { topic });
  for (const invitee of invites) changeMembership(hs, requester, room.roomId, invitee, 'invite', { isDirect });
  return alias === undefined ? { room_id: room.roomId } : { room_id: room.roomId, room_alias: alias };
}
