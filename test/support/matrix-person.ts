/**
 * A person on a Matrix homeserver, speaking the client-server API with plain
 * fetch: registers (open registration, the m.login.dummy stage), creates
 * rooms, writes, edits, uploads, kicks, and reads a room's timeline. Works
 * the same against the fake homeserver and a real Synapse.
 */
import { randomBytes } from 'node:crypto';
import { waitFor } from './wait.js';

export interface MatrixEventJson {
  readonly event_id: string;
  readonly type: string;
  readonly sender: string;
  readonly content: Record<string, unknown>;
  readonly state_key?: string;
  readonly origin_server_ts?: number;
}

export class MatrixError extends Error {
  constructor(
    readonly status: number,
    readonly body: { errcode?: string; error?: string },
  ) {
    super(`HTTP ${status} ${body.errcode ?? ''}: ${body.error ?? ''}`);
  }
}

let txn = 0;

export class MatrixPerson {
  private constructor(
    readonly base: string,
    readonly userId: string,
    readonly accessToken: string,
  ) {}

  /** Registers a fresh user named `<name>-<random>` (lower case), so runs against a long-lived server never collide. */
  static async register(base: string, name: string): Promise<MatrixPerson> {
    const username = `${name}-${randomBytes(4).toString('hex')}`.toLowerCase();
    const body = { username, password: `${username}-pw`, initial_device_display_name: `${name} (roomcast test)` };
    const first = await post(base, '/_matrix/client/v3/register', body);
    const done = first.status === 401 ? await post(base, '/_matrix/client/v3/register', { ...body, auth: { type: 'm.login.dummy', session: (first.json as { session?: string }).session } }) : first;
    if (done.status !== 200) throw new MatrixError(done.status, done.json as { errcode?: string });
    const r = done.json as { user_id: string; access_token: string };
    return new MatrixPerson(base.replace(/\/$/, ''), r.user_id, r.access_token);
  }

  async request<T = Record<string, unknown>>(method: string, path: string, body?: unknown, raw?: { bytes: Buffer; contentType: string }): Promise<T> {
    const res = await fetch(`${this.base}${path}`, {
      method,
      headers: { authorization: `Bearer ${this.accessToken}`, 'content-type': raw ? raw.contentType : 'application/json' },
      ...(raw ? { body: new Uint8Array(raw.bytes) } : body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const json = (await res.json().catch(() => ({}))) as T & { errcode?: string; error?: string };
    if (!res.ok) throw new MatrixError(res.status, json);
    return json;
  }

  async createRoom(opts: { invite?: string[]; encrypted?: boolean; name?: string } = {}): Promise<string> {
    const r = await this.request<{ room_id: string }>('POST', '/_matrix/client/v3/createRoom', {
      preset: 'private_chat',
      name: opts.name ?? 'roomcast test',
      invite: opts.invite ?? [],
      ...(opts.encrypted ? { initial_state: [{ type: 'm.room.encryption', state_key: '', content: { algorithm: 'm.megolm.v1.aes-sha2' } }] } : {}),
    });
    return r.room_id;
  }

  async invite(roomId: string, userId: string): Promise<void> {
    await this.request('POST', `/_matrix/client/v3/rooms/${enc(roomId)}/invite`, { user_id: userId });
  }

  async join(roomId: string): Promise<void> {
    await this.request('POST', `/_matrix/client/v3/rooms/${enc(roomId)}/join`, {});
  }

  async kick(roomId: string, userId: string): Promise<void> {
    await this.request('POST', `/_matrix/client/v3/rooms/${enc(roomId)}/kick`, { user_id: userId, reason: 'test' });
  }

  async setPowerLevel(roomId: string, userId: string, level: number): Promise<void> {
    const pl = await this.request<{ users?: Record<string, number> }>('GET', `/_matrix/client/v3/rooms/${enc(roomId)}/state/m.room.power_levels/`);
    await this.request('PUT', `/_matrix/client/v3/rooms/${enc(roomId)}/state/m.room.power_levels/`, { ...pl, users: { ...pl.users, [userId]: level } });
  }

  async send(roomId: string, type: string, content: Record<string, unknown>): Promise<string> {
    const r = await this.request<{ event_id: string }>('PUT', `/_matrix/client/v3/rooms/${enc(roomId)}/send/${enc(type)}/t${Date.now()}-${++txn}`, content);
    return r.event_id;
  }

  say(roomId: string, text: string, msgtype = 'm.text'): Promise<string> {
    return this.send(roomId, 'm.room.message', { msgtype, body: text });
  }

  edit(roomId: string, target: string, text: string): Promise<string> {
    return this.send(roomId, 'm.room.message', {
      msgtype: 'm.text',
      body: `* ${text}`,
      'm.new_content': { msgtype: 'm.text', body: text },
      'm.relates_to': { rel_type: 'm.replace', event_id: target },
    });
  }

  /** A reply with the fallback real clients put in the body ("> <@who> quoted\n\nreply"). */
  reply(roomId: string, target: { event_id: string; sender: string; body: string }, text: string): Promise<string> {
    return this.send(roomId, 'm.room.message', {
      msgtype: 'm.text',
      body: `> <${target.sender}> ${target.body}\n\n${text}`,
      'm.relates_to': { 'm.in_reply_to': { event_id: target.event_id } },
    });
  }

  async upload(bytes: Buffer, contentType: string, filename: string): Promise<string> {
    const r = await this.request<{ content_uri: string }>('POST', `/_matrix/media/v3/upload?filename=${enc(filename)}`, undefined, { bytes, contentType });
    return r.content_uri;
  }

  /** The room's events, oldest first (the last `limit`). */
  async timeline(roomId: string, limit = 300): Promise<MatrixEventJson[]> {
    const r = await this.request<{ chunk: MatrixEventJson[] }>('GET', `/_matrix/client/v3/rooms/${enc(roomId)}/messages?dir=b&limit=${limit}`);
    return [...r.chunk].reverse();
  }

  /** Waits until the room's timeline has an event matching `pred`, and returns it. */
  async waitForEvent(roomId: string, pred: (e: MatrixEventJson) => boolean, what: string, ms = 20_000): Promise<MatrixEventJson> {
    let found: MatrixEventJson | undefined;
    await waitFor(async () => (found = (await this.timeline(roomId)).find(pred)) !== undefined, what, ms);
    return found!;
  }

  async joinedMembers(roomId: string): Promise<string[]> {
    const r = await this.request<{ joined: Record<string, unknown> }>('GET', `/_matrix/client/v3/rooms/${enc(roomId)}/joined_members`);
    return Object.keys(r.joined);
  }
}

function enc(s: string): string {
  return encodeURIComponent(s);
}

async function post(base: string, path: string, body: unknown): Promise<{ status: number; json: unknown }> {
  const res = await fetch(`${base.replace(/\/$/, '')}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, json: await res.json().catch(() => ({})) };
}
