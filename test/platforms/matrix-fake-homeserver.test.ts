import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LogLevel, LogService, MatrixClient, MemoryStorageProvider } from 'matrix-bot-sdk';
import { startFakeHomeserver } from '../fakes/matrix/index.js';
import type { FakeHomeserver, JsonObject } from '../fakes/matrix/index.js';

LogService.setLevel(LogLevel.ERROR);
// The SDK logs every non-2xx answer at error level, including the expected ones (m.direct is absent at start).
LogService.muteModule('MatrixHttpClient');

/** The parts of Matrix wire objects these tests read. */
interface WireEvent {
  type: string;
  sender: string;
  content: Record<string, unknown>;
  event_id?: string;
  state_key?: string;
  room_id?: string;
  unsigned?: { age?: number; redacted_because?: WireEvent };
}
interface JoinedRoom {
  timeline: { events: WireEvent[]; limited: boolean; prev_batch: string };
  state: { events: WireEvent[] };
}
interface SyncResponse {
  next_batch: string;
  presence?: unknown;
  rooms?: {
    join?: Record<string, JoinedRoom>;
    invite?: Record<string, { invite_state: { events: WireEvent[] } }>;
    leave?: Record<string, { timeline: { events: WireEvent[] } }>;
  };
}
type Body = Record<string, unknown>;
interface Account {
  userId: string;
  token: string;
}

let hs: FakeHomeserver;
const clients: MatrixClient[] = [];

beforeEach(async () => {
  hs = await startFakeHomeserver();
});
afterEach(async () => {
  for (const c of clients.splice(0)) c.stop();
  await hs.close();
});

async function api<T = Body>(method: string, path: string, token?: string, body?: unknown): Promise<{ status: number; json: T }> {
  const res = await fetch(hs.url + path, {
    method,
    headers: { ...(token ? { Authorization: `Bearer ${token}` } : {}), ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  return { status: res.status, json: (await res.json()) as T };
}

/** Registers like Synapse's open registration: a 401 with a dummy-auth session, then the real call. */
async function register(username: string): Promise<Account> {
  const first = await api('POST', '/_matrix/client/v3/register', undefined, { username, password: 'secret' });
  expect(first.status).toBe(401);
  expect(first.json['flows']).toEqual([{ stages: ['m.login.dummy'] }]);
  const auth = { type: 'm.login.dummy', session: first.json['session'] };
  const done = await api('POST', '/_matrix/client/v3/register', undefined, { username, password: 'secret', auth });
  expect(done.status).toBe(200);
  return { userId: String(done.json['user_id']), token: String(done.json['access_token']) };
}

function client(a: Account): MatrixClient {
  const c = new MatrixClient(hs.url, a.token, new MemoryStorageProvider());
  c.syncingTimeout = 1000;
  clients.push(c);
  return c;
}

/** Resolves with the arguments of the first `event` emitted by `c` that `pred` accepts. */
function next(c: MatrixClient, event: string, pred: (roomId: string, ev: WireEvent) => boolean = () => true): Promise<[string, WireEvent]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${event} within 5s`)), 5000);
    const on = (roomId: string, ev: WireEvent): void => {
      if (!pred(roomId, ev)) return;
      clearTimeout(timer);
      c.off(event, on);
      resolve([roomId, ev]);
    };
    c.on(event, on);
  });
}

const sync = (a: Account, query = ''): Promise<{ status: number; json: SyncResponse }> =>
  api<SyncResponse>('GET', `/_matrix/client/v3/sync?${query}`, a.token);

describe('fake Matrix homeserver', () => {
  it('registers with dummy auth, logs in, and answers errors the way Synapse does', async () => {
    const alice = await register('alice');
    expect(alice.userId).toBe('@alice:fake.local');
    const taken = await api('POST', '/_matrix/client/v3/register', undefined, { username: 'alice', password: 'x' });
    expect(taken).toMatchObject({ status: 400, json: { errcode: 'M_USER_IN_USE' } });

    const login = await api('POST', '/_matrix/client/r0/login', undefined, {
      type: 'm.login.password',
      identifier: { type: 'm.id.user', user: 'alice' },
      password: 'secret',
    });
    expect(login.json['access_token']).not.toBe(alice.token);
    const whoami = await api('GET', '/_matrix/client/v3/account/whoami', String(login.json['access_token']));
    expect(whoami.json).toEqual({ user_id: alice.userId, device_id: login.json['device_id'], is_guest: false });

    expect(await api('GET', '/_matrix/client/v3/account/whoami', 'nope')).toEqual({
      status: 401,
      json: { errcode: 'M_UNKNOWN_TOKEN', error: 'Invalid access token passed.', soft_logout: false },
    });
    expect((await api('GET', '/_matrix/client/v3/joined_rooms')).json['errcode']).toBe('M_MISSING_TOKEN');
    expect(await api('GET', '/_matrix/client/v3/no/such/thing', alice.token)).toEqual({
      status: 404,
      json: { errcode: 'M_UNRECOGNIZED', error: 'Unrecognized request' },
    });
    expect((await api('POST', '/_matrix/client/v3/createRoom', alice.token, '{nope')).json['errcode']).toBe('M_NOT_JSON');
    expect((await api('GET', '/_matrix/client/versions')).json['versions']).toContain('v1.2');
    expect((await api('GET', `/_matrix/client/v3/user/${alice.userId}/account_data/m.direct`, alice.token)).json).toEqual({
      errcode: 'M_NOT_FOUND',
      error: 'Account data not found',
    });
  });

  it('runs an unmodified matrix-bot-sdk bot: invite, join, messages, reactions, txn idempotency, kick', async () => {
    const [aliceAcc, botAcc] = [await register('alice'), await register('bot')];
    const alice = client(aliceAcc);
    const bot = client(botAcc);
    bot.on('room.invite', (roomId: string) => void bot.joinRoom(roomId));
    await bot.start();

    const roomId = await alice.createRoom({ name: 'Lobby', preset: 'private_chat', invite: [botAcc.userId] });
    const invited = await next(bot, 'room.invite');
    expect(invited[0]).toBe(roomId);
    const [, joinEvent] = await next(bot, 'room.join', (rid) => rid === roomId);
    expect(joinEvent['content']).toMatchObject({ membership: 'join', displayname: 'bot' });

    const heard = next(bot, 'room.message', (_rid, ev) => ev['sender'] === aliceAcc.userId);
    await alice.sendText(roomId, 'hello bot');
    expect((await heard)[1]['content']).toEqual({ msgtype: 'm.text', body: 'hello bot' });

    const textId = await bot.sendText(roomId, 'hi');
    await bot.sendNotice(roomId, 'notice');
    const reactionId = await bot.sendEvent(roomId, 'm.reaction', { 'm.relates_to': { rel_type: 'm.annotation', event_id: textId, key: '👍' } });
    const timeline = hs.timeline(roomId);
    expect(timeline.map((e) => e.type).slice(0, 8)).toEqual([
      'm.room.create', 'm.room.member', 'm.room.power_levels', 'm.room.join_rules',
      'm.room.history_visibility', 'm.room.guest_access', 'm.room.name', 'm.room.member',
    ]);
    expect(timeline.find((e) => e.event_id === reactionId)?.sender).toBe(botAcc.userId);
    expect(timeline.filter((e) => e.content['msgtype'] === 'm.notice')).toHaveLength(1);

    const path = `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/send/m.room.message/txn-1`;
    const first = await bot.doRequest('PUT', path, null, { msgtype: 'm.text', body: 'once' });
    const again = await bot.doRequest('PUT', path, null, { msgtype: 'm.text', body: 'once' });
    expect(again['event_id']).toBe(first['event_id']);
    expect(hs.timeline(roomId).filter((e) => e.content['body'] === 'once')).toHaveLength(1);
    const sends = hs.requests().filter((r) => r.method === 'PUT' && r.path.endsWith('/send/{eventType}/{txnId}') && r.user === botAcc.userId);
    expect(sends).toHaveLength(5);

    const pl = await bot.getRoomStateEvent(roomId, 'm.room.power_levels', '');
    expect(pl).toMatchObject({ users: { [aliceAcc.userId]: 100 }, invite: 0, kick: 50, state_default: 50 });
    expect(await bot.userHasPowerLevelFor(botAcc.userId, roomId, 'm.room.name', true)).toBe(false);
    await expect(bot.sendStateEvent(roomId, 'm.room.name', '', { name: 'mine' })).rejects.toMatchObject({ errcode: 'M_FORBIDDEN' });
    await expect(bot.getRoomStateEvent(roomId, 'm.room.topic', '')).rejects.toMatchObject({ statusCode: 404, errcode: 'M_NOT_FOUND' });
    await expect(bot.banUser(aliceAcc.userId, roomId)).rejects.toMatchObject({ statusCode: 403, errcode: 'M_FORBIDDEN' });

    const left = next(bot, 'room.leave');
    await alice.kickUser(botAcc.userId, roomId, 'bye');
    const [leftRoom, leaveEvent] = await left;
    expect(leftRoom).toBe(roomId);
    expect(leaveEvent).toMatchObject({ sender: aliceAcc.userId, content: { membership: 'leave', reason: 'bye' } });
    await expect(bot.sendText(roomId, 'still here?')).rejects.toMatchObject({ errcode: 'M_FORBIDDEN' });
  });

  it('shapes /sync like Synapse: stripped invites, dropped empty keys, pre-join history, leaves', async () => {
    const [alice, bob] = [await register('alice'), await register('bob')];
    const created = await api('POST', '/_matrix/client/v3/createRoom', alice.token, {
      name: 'Secret',
      initial_state: [{ type: 'm.room.encryption', state_key: '', content: { algorithm: 'm.megolm.v1.aes-sha2' } }],
    });
    const roomId = String(created.json['room_id']);
    const send = (body: string, txn: string): Promise<unknown> =>
      api('PUT', `/_matrix/client/v3/rooms/${roomId}/send/m.room.message/${txn}`, alice.token, { msgtype: 'm.text', body });
    for (let i = 0; i < 12; i++) await send(`before ${i}`, `t${i}`);
    await api('POST', `/_matrix/client/v3/rooms/${roomId}/invite`, alice.token, { user_id: bob.userId });

    const initial = (await sync(bob)).json;
    expect(initial.rooms?.leave).toBeUndefined();
    expect(initial.presence).toBeUndefined();
    const inviteState = initial.rooms?.invite?.[roomId]?.invite_state.events ?? [];
    expect(inviteState.map((e) => e['type']).sort()).toEqual(
      ['m.room.create', 'm.room.encryption', 'm.room.join_rules', 'm.room.member', 'm.room.member', 'm.room.name'],
    );
    expect(inviteState.filter((e) => 'event_id' in e)).toEqual([
      expect.objectContaining({ type: 'm.room.member', state_key: bob.userId, sender: alice.userId, content: expect.objectContaining({ membership: 'invite' }) }),
    ]);

    const quiet = await sync(bob, `since=${initial.next_batch}&timeout=0`);
    expect(Object.keys(quiet.json).sort()).toEqual([
      'device_one_time_keys_count', 'device_unused_fallback_key_types', 'next_batch', 'org.matrix.msc2732.device_unused_fallback_key_types',
    ]);

    await api('POST', `/_matrix/client/v3/join/${encodeURIComponent(roomId)}`, bob.token, {});
    const joined = (await sync(bob, `since=${quiet.json.next_batch}&timeout=0`)).json;
    const room = joined.rooms?.join?.[roomId];
    if (!room) throw new Error('the joined room is missing from /sync');
    const events = room.timeline.events;
    expect(room.timeline.limited).toBe(true);
    expect(events).toHaveLength(10);
    expect(events.at(-1)).toMatchObject({ type: 'm.room.member', state_key: bob.userId, content: { membership: 'join' } });
    expect(events.filter((e) => String(e.content['body']).startsWith('before'))).toHaveLength(8);
    expect(events.every((e) => !('room_id' in e) && typeof e.event_id === 'string' && typeof e.unsigned?.age === 'number')).toBe(true);
    expect(room.state.events.map((e) => e.type)).toContain('m.room.create');
    expect(room).toMatchObject({ ephemeral: { events: [] }, account_data: { events: [] }, summary: {} });

    const messages = (query: string): Promise<WireEvent[]> =>
      api<{ chunk: WireEvent[] }>('GET', `/_matrix/client/v3/rooms/${roomId}/messages?${query}`, bob.token).then((r) => r.json.chunk);
    const older = await messages(`dir=b&limit=3&from=${room.timeline.prev_batch}`);
    expect(older.map((e) => e.content['body'])).toEqual(['before 3', 'before 2', 'before 1']);
    expect(older[0]).toMatchObject({ room_id: roomId, user_id: alice.userId });

    const woken = sync(bob, `since=${joined.next_batch}&timeout=10000`);
    const started = Date.now();
    await send('wake up', 'w');
    const wake = (await woken).json;
    expect(Date.now() - started).toBeLessThan(2000);
    expect(wake.rooms?.join?.[roomId]?.timeline).toMatchObject({ limited: false, events: [{ content: { body: 'wake up' } }] });
    expect(wake.rooms?.join?.[roomId]?.state.events).toEqual([]);

    await api('POST', `/_matrix/client/v3/rooms/${roomId}/kick`, alice.token, { user_id: bob.userId });
    await send('after the kick', 'k');
    const kicked = (await sync(bob, `since=${wake.next_batch}&timeout=0`)).json;
    expect(kicked.rooms?.join).toBeUndefined();
    const leaveTimeline = kicked.rooms?.leave?.[roomId]?.timeline.events;
    expect(leaveTimeline?.at(-1)).toMatchObject({ type: 'm.room.member', sender: alice.userId, content: { membership: 'leave' } });
    const afterKick = await messages('dir=b&limit=5');
    expect(afterKick[0]).toMatchObject({ type: 'm.room.member', state_key: bob.userId, content: { membership: 'leave' } });
    expect(afterKick.map((e) => e.content['body'])).not.toContain('after the kick');
  });

  it('redacts, stores media, and ends pending long-polls on close', async () => {
    const alice = await register('alice');
    const c = client(alice);
    const roomId = await c.createRoom({ preset: 'public_chat' });
    const eventId = await c.sendText(roomId, 'oops');
    const redactionId = await c.redactEvent(roomId, eventId, 'typo');
    expect(hs.timeline(roomId).find((e) => e.event_id === eventId)?.content).toEqual({});
    expect(hs.timeline(roomId).at(-1)).toMatchObject({ type: 'm.room.redaction', redacts: eventId, content: { reason: 'typo' } });
    const fetched = (await c.getEvent(roomId, eventId)) as WireEvent;
    expect(fetched.unsigned?.redacted_because?.event_id).toBe(redactionId);

    const mxc = await c.uploadContent(Buffer.from('hello file'), 'text/plain', 'a.txt');
    expect(mxc).toMatch(/^mxc:\/\/fake\.local\/\w+$/);
    for (const version of ['v3', 'r0']) {
      const res = await fetch(`${hs.url}/_matrix/media/${version}/download/${mxc.slice('mxc://'.length)}`);
      expect(res.headers.get('content-type')).toBe('text/plain');
      expect(await res.text()).toBe('hello file');
    }
    expect((await api('GET', '/_matrix/media/v3/download/fake.local/nothing')).json['errcode']).toBe('M_NOT_FOUND');

    const since = (await sync(alice)).json.next_batch;
    const pending = sync(alice, `since=${since}&timeout=30000`);
    await new Promise((r) => setTimeout(r, 50));
    const started = Date.now();
    await hs.close();
    expect((await pending).status).toBe(200);
    expect(Date.now() - started).toBeLessThan(1000);
  });
});
