/**
 * Account-level endpoints: versions, registration (open, with Synapse's
 * m.login.dummy user-interactive auth), password login, logout, whoami,
 * profiles, sync filters, account data, presence and capabilities.
 */
import { propagateProfile } from './membership.js';
import type { Reply, RequestContext, Route } from './router.js';
import { ok } from './router.js';
import type { JsonObject } from './types.js';
import { MatrixApiError, forbidden, isUserId, missingParam, notFound, optionalObject, optionalString, requireString } from './types.js';

/** Spec versions Synapse 1.67 advertises. */
const VERSIONS = ['r0.0.1', 'r0.1.0', 'r0.2.0', 'r0.3.0', 'r0.4.0', 'r0.5.0', 'r0.6.0', 'r0.6.1', 'v1.1', 'v1.2'];

function register(ctx: RequestContext): Reply {
  const { accounts } = ctx.hs;
  if (ctx.query.get('kind') === 'guest') throw forbidden('Guest access is disabled', 'M_GUEST_ACCESS_FORBIDDEN');
  const body = ctx.json();
  const username = optionalString(body, 'username')?.toLowerCase();
  const password = body['password'];
  if (password !== undefined && (typeof password !== 'string' || password.length > 512)) {
    throw new MatrixApiError(400, 'M_UNKNOWN', 'Invalid password');
  }
  // Synapse checks the username before user-interactive auth, so a taken name fails the first call.
  if (username !== undefined) accounts.checkLocalpart(username);
  const auth = optionalObject(body, 'auth');
  const authType = auth ? optionalString(auth, 'type') : undefined;
  if (!auth || authType === undefined) {
    const offered = auth ? optionalString(auth, 'session') : undefined;
    const session = offered !== undefined && accounts.hasUiaSession(offered) ? offered : accounts.newUiaSession();
    return ok({ session, flows: [{ stages: ['m.login.dummy'] }], params: {} }, 401);
  }
  const sessionId = optionalString(auth, 'session');
  if (sessionId !== undefined && !accounts.hasUiaSession(sessionId)) {
    throw new MatrixApiError(400, 'M_UNKNOWN', `Unknown session ID: ${sessionId}`);
  }
  if (authType !== 'm.login.dummy') throw new MatrixApiError(400, 'M_UNKNOWN', `Unrecognized login type: ${authType}`);
  accounts.completeUiaSession(sessionId ?? accounts.newUiaSession());
  if (typeof password !== 'string') throw missingParam('Missing params: password');
  const user = accounts.createUser(username ?? accounts.generateLocalpart(), password);
  const response: JsonObject = { user_id: user.userId, home_server: ctx.hs.serverName };
  if (body['inhibit_login'] !== true) {
    const session = accounts.newSession(user.userId, optionalString(body, 'device_id'));
    response['access_token'] = session.token;
    response['device_id'] = session.deviceId;
  }
  return ok(response);
}

function login(ctx: RequestContext): Reply {
  const { accounts } = ctx.hs;
  const body = ctx.json();
  const type = requireString(body, 'type');
  if (type !== 'm.login.password') throw new MatrixApiError(400, 'M_UNKNOWN', `Unknown login type ${type}`);
  const identifier = optionalObject(body, 'identifier');
  if (identifier && identifier['type'] !== 'm.id.user') throw new MatrixApiError(400, 'M_UNKNOWN', 'Unknown login identifier type');
  const user = identifier ? optionalString(identifier, 'user') : optionalString(body, 'user');
  if (user === undefined) throw new MatrixApiError(400, 'M_INVALID_PARAM', "User identifier is missing 'user' key");
  const password = requireString(body, 'password');
  const userId = user.startsWith('@') ? user.toLowerCase() : accounts.userIdFor(user.toLowerCase());
  accounts.checkPassword(userId, password);
  const session = accounts.newSession(userId, optionalString(body, 'device_id'));
  return ok({ user_id: userId, access_token: session.token, home_server: ctx.hs.serverName, device_id: session.deviceId });
}

/** The path's `{userId}` must be the caller's own (Synapse's checks for account data, filters, profile writes). */
function ownUser(ctx: RequestContext, message: string, status = 403): string {
  const userId = ctx.params['userId'] ?? '';
  if (userId !== ctx.me().userId) throw new MatrixApiError(status, 'M_FORBIDDEN', message);
  return userId;
}

function profileOf(ctx: RequestContext): { displayname: string | null; avatarUrl: string | null } {
  const userId = ctx.params['userId'] ?? '';
  if (!isUserId(userId)) throw new MatrixApiError(400, 'M_INVALID_PARAM', 'Invalid user id');
  const user = ctx.hs.accounts.user(userId);
  if (!user) throw notFound('Profile was not found');
  return user;
}

function setProfileField(ctx: RequestContext, field: 'displayname' | 'avatar_url'): Reply {
  const userId = ownUser(ctx, `Cannot set another user's ${field === 'displayname' ? 'displayname' : 'avatar_url'}`, 400);
  const body = ctx.json();
  const value = body[field];
  if (value === undefined) throw missingParam(`Missing key '${field}'`);
  if (value !== null && typeof value !== 'string') throw new MatrixApiError(400, 'M_INVALID_PARAM', `'${field}' must be a string`);
  const max = field === 'displayname' ? 256 : 1000;
  if (typeof value === 'string' && value.length > max) throw new MatrixApiError(400, 'M_INVALID_PARAM', `${field} is too long (max ${max})`);
  const user = ctx.hs.user(userId);
  const v = value === '' ? null : value;
  if (field === 'displayname') user.displayname = v;
  else user.avatarUrl = v;
  propagateProfile(ctx.hs, ctx.me());
  return ok({});
}

function getAccountData(ctx: RequestContext, perRoom: boolean): Reply {
  const user = ctx.hs.user(ownUser(ctx, 'Cannot get account data for other users.'));
  const entry = ctx.hs.accounts.accountData(user, perRoom ? (ctx.params['roomId'] ?? '') : null, ctx.params['type'] ?? '');
  if (!entry) throw notFound(perRoom ? 'Room account data not found' : 'Account data not found');
  return ok(entry.content);
}

function putAccountData(ctx: RequestContext, perRoom: boolean): Reply {
  const user = ctx.hs.user(ownUser(ctx, 'Cannot add account data for other users.'));
  const type = ctx.params['type'] ?? '';
  const roomId = perRoom ? (ctx.params['roomId'] ?? '') : null;
  if (roomId !== null && !/^![^:]+:.+$/.test(roomId)) throw new MatrixApiError(400, 'M_INVALID_PARAM', `${roomId} is not a valid room ID`);
  if (type === 'm.fully_read' && roomId !== null) throw new MatrixApiError(405, 'M_BAD_JSON', 'Cannot set m.fully_read through this API');
  ctx.hs.setAccountData(user, roomId, type, ctx.json());
  return ok({});
}

const client = (method: Route['method'], path: string, handle: Route['handle'], auth = true): Route => ({
  method,
  family: 'client',
  path,
  auth,
  handle,
});

export const accountRoutes: readonly Route[] = [
  { method: 'GET', family: 'bare', path: '/_matrix/client/versions', auth: false, handle: () => ok({ versions: VERSIONS, unstable_features: {} }) },
  client('GET', '/login', () => ok({ flows: [{ type: 'm.login.password' }] }), false),
  client('POST', '/login', login, false),
  client('POST', '/register', register, false),
  client('POST', '/logout', (ctx) => {
    ctx.hs.accounts.endSession(ctx.me().token);
    return ok({});
  }),
  client('GET', '/account/whoami', (ctx) => {
    const me = ctx.me();
    return ok({ user_id: me.userId, is_guest: false, device_id: me.deviceId });
  }),
  client('GET', '/devices', (ctx) =>
    ok({ devices: ctx.hs.accounts.devices(ctx.me().userId).map((d) => ({ device_id: d, display_name: null, last_seen_ip: null, last_seen_ts: null })) }),
  ),
  client(
    'GET',
    '/profile/{userId}',
    (ctx) => {
      const p = profileOf(ctx);
      return ok({ ...(p.displayname !== null ? { displayname: p.displayname } : {}), ...(p.avatarUrl !== null ? { avatar_url: p.avatarUrl } : {}) });
    },
    false,
  ),
  client('GET', '/profile/{userId}/displayname', (ctx) => {
    const p = profileOf(ctx);
    return ok(p.displayname !== null ? { displayname: p.displayname } : {});
  }, false),
  client('GET', '/profile/{userId}/avatar_url', (ctx) => {
    const p = profileOf(ctx);
    return ok(p.avatarUrl !== null ? { avatar_url: p.avatarUrl } : {});
  }, false),
  client('PUT', '/profile/{userId}/displayname', (ctx) => setProfileField(ctx, 'displayname')),
  client('PUT', '/profile/{userId}/avatar_url', (ctx) => setProfileField(ctx, 'avatar_url')),
  client('POST', '/user/{userId}/filter', (ctx) => {
    const user = ctx.hs.user(ownUser(ctx, 'Cannot create filters for other users'));
    return ok({ filter_id: ctx.hs.accounts.addFilter(user, ctx.json()) });
  }),
  client('GET', '/user/{userId}/filter/{filterId}', (ctx) => {
    const user = ctx.hs.user(ownUser(ctx, 'Cannot get filters for other users'));
    const id = ctx.params['filterId'] ?? '';
    if (!/^\d+$/.test(id)) throw new MatrixApiError(400, 'M_INVALID_PARAM', 'Invalid filter_id');
    const filter = ctx.hs.accounts.filter(user, id);
    if (!filter) throw notFound('No such filter');
    return ok(filter);
  }),
  client('GET', '/user/{userId}/account_data/{type}', (ctx) => getAccountData(ctx, false)),
  client('PUT', '/user/{userId}/account_data/{type}', (ctx) => putAccountData(ctx, false)),
  client('GET', '/user/{userId}/rooms/{roomId}/account_data/{type}', (ctx) => getAccountData(ctx, true)),
  client('PUT', '/user/{userId}/rooms/{roomId}/account_data/{type}', (ctx) => putAccountData(ctx, true)),
  client('GET', '/presence/{userId}/status', (ctx) => {
    const user = ctx.hs.accounts.user(ctx.params['userId'] ?? '');
    if (!user) throw notFound('Presence not found');
    return ok({ presence: user.presence.presence, ...(user.presence.statusMsg !== undefined ? { status_msg: user.presence.statusMsg } : {}) });
  }),
  client('PUT', '/presence/{userId}/status', (ctx) => {
    const user = ctx.hs.user(ownUser(ctx, 'Can only set your own presence state'));
    const body = ctx.json();
    const presence = requireString(body, 'presence');
    if (!['online', 'offline', 'unavailable'].includes(presence)) throw new MatrixApiError(400, 'M_INVALID_PARAM', 'Invalid presence state');
    const statusMsg = optionalString(body, 'status_msg');
    user.presence = { presence, ...(statusMsg !== undefined ? { statusMsg } : {}) };
    return ok({});
  }),
  client('GET', '/capabilities', () =>
    ok({
      capabilities: {
        'm.room_versions': { default: '9', available: Object.fromEntries(['1', '2', '3', '4', '5', '6', '7', '8', '9', '10'].map((v) => [v, 'stable'])) },
        'm.change_password': { enabled: true },
      },
    }),
  ),
];
