/**
 * The fake gateway: a `ws` WebSocketServer on the HTTP server's upgrade event
 * (any path; `?v=10&encoding=json` is accepted and ignored, no compression).
 *
 * Contract, as @discordjs/ws expects it:
 * - on connect HELLO (op 10); op 1 → op 11; op 2 IDENTIFY with a bot token →
 *   READY (guilds unavailable) then one GUILD_CREATE per guild (GUILDS intent);
 *   an unknown token closes with 4004.
 * - every dispatch gets the session's next sequence number and is kept in the
 *   session's log; op 6 RESUME replays the log after the client's `seq`, then
 *   RESUMED. While a session's socket is down its dispatches are still logged,
 *   so nothing is lost over a resume; the session is forgotten after
 *   SESSION_TTL_MS without a socket, and an unknown session gets op 9 `false`.
 * - guild dispatches reach a session only when its bot is in the guild and it
 *   has the event's intent (a payload builder may also veto or tailor the
 *   payload per session, e.g. to empty message content without MESSAGE_CONTENT).
 */
import type { Server } from 'node:http';
import { randomBytes } from 'node:crypto';
import { WebSocket, WebSocketServer } from 'ws';
import type { RawData } from 'ws';
import type { JsonObject } from './types.js';
import { Intent, isJsonObject } from './types.js';
import { guildCreateJson, selfJson } from './wire.js';
import type { World } from './world.js';

/** How long a session survives without a socket (Discord keeps them a few minutes). */
const SESSION_TTL_MS = 120_000;
/** Dispatches kept per session for replay. */
const LOG_LIMIT = 2000;

/** The session a payload is being built for. */
export interface Recipient {
  readonly userId: string;
  readonly intents: number;
}

/** A payload, or a builder returning the payload for one session (undefined: not for this session). */
export type Payload = JsonObject | ((r: Recipient) => JsonObject | undefined);

/** Who receives a dispatch: bots in `guildId` (or exactly `userIds`) whose session has `intent`. */
export interface Audience {
  readonly guildId?: string;
  readonly userIds?: readonly string[];
  readonly intent?: number;
}

interface Session extends Recipient {
  readonly id: string;
  seq: number;
  socket: WebSocket | null;
  readonly log: { s: number; text: string }[];
  expiry: NodeJS.Timeout | undefined;
}

export class Gateway {
  identifies = 0;
  resumes = 0;
  private readonly sessions = new Map<string, Session>();
  private readonly wss = new WebSocketServer({ noServer: true });

  constructor(
    private readonly world: World,
    private readonly wsUrl: () => string,
    private readonly heartbeatIntervalMs: number,
  ) {
    this.wss.on('connection', (ws) => this.onConnection(ws));
  }

  /** Takes over every WebSocket upgrade of `server`. */
  attach(server: Server): void {
    server.on('upgrade', (req, socket, head) => {
      this.wss.handleUpgrade(req, socket, head, (ws) => this.wss.emit('connection', ws, req));
    });
  }

  dispatch(t: string, payload: Payload, audience: Audience): void {
    for (const s of this.sessions.values()) {
      if (audience.userIds && !audience.userIds.includes(s.userId)) continue;
      if (audience.guildId !== undefined && !this.world.guilds.get(audience.guildId)?.members.has(s.userId)) continue;
      if (audience.intent !== undefined && (s.intents & audience.intent) === 0) continue;
      const d = typeof payload === 'function' ? payload(s) : payload;
      if (d) this.send(s, t, d);
    }
  }

  /** Closes every bot socket: 4000 keeping sessions (resumable), or 4009 forgetting them. */
  drop(resumable: boolean): void {
    for (const s of [...this.sessions.values()]) {
      const socket = s.socket;
      s.socket = null;
      if (resumable) {
        this.expireLater(s);
        socket?.close(4000, 'Unknown error (fake drop)');
      } else {
        this.forget(s);
        socket?.close(4009, 'Session timed out (fake drop)');
      }
    }
  }

  close(): Promise<void> {
    for (const s of this.sessions.values()) clearTimeout(s.expiry);
    this.sessions.clear();
    for (const ws of this.wss.clients) ws.terminate();
    return new Promise((resolve) => this.wss.close(() => resolve()));
  }

  private onConnection(ws: WebSocket): void {
    let session: Session | undefined;
    ws.on('message', (data: RawData) => {
      let msg: unknown;
      try {
        msg = JSON.parse(rawText(data));
      } catch {
        ws.close(4002, 'Error while decoding payload.');
        return;
      }
      if (!isJsonObject(msg)) return;
      const d = isJsonObject(msg['d']) ? msg['d'] : {};
      switch (msg['op']) {
        case 1:
          ws.send(JSON.stringify({ op: 11 }));
          break;
        case 2:
          if (session) ws.close(4005, 'Already authenticated.');
          else session = this.identify(ws, d);
          break;
        case 6:
          if (session) ws.close(4005, 'Already authenticated.');
          else session = this.resume(ws, d);
          break;
        default:
          // Presence (3), voice (4), request members (8)...: accepted and ignored.
          break;
      }
    });
    ws.on('close', () => {
      if (session && session.socket === ws) {
        session.socket = null;
        this.expireLater(session);
      }
    });
    ws.on('error', () => undefined);
    ws.send(JSON.stringify({ op: 10, d: { heartbeat_interval: this.heartbeatIntervalMs, _trace: ['fake-discord'] } }));
  }

  private identify(ws: WebSocket, d: JsonObject): Session | undefined {
    const user = this.tokenUser(d['token']);
    if (!user) {
      ws.close(4004, 'Authentication failed.');
      return undefined;
    }
    const intents = typeof d['intents'] === 'number' ? d['intents'] : 0;
    const s: Session = { id: randomBytes(16).toString('hex'), userId: user.id, intents, seq: 0, socket: ws, log: [], expiry: undefined };
    this.sessions.set(s.id, s);
    this.identifies++;
    const guildIds = this.world.guildIdsOf(user.id);
    this.send(s, 'READY', {
      v: 10,
      user: selfJson(user),
      guilds: guildIds.map((id) => ({ id, unavailable: true })),
      session_id: s.id,
      resume_gateway_url: this.wsUrl(),
      application: { id: user.applicationId ?? user.id, flags: 0 },
      private_channels: [],
      relationships: [],
      presences: [],
      geo_ordered_rtc_regions: [],
      guild_join_requests: [],
      shard: [0, 1],
      user_settings: {},
      session_type: 'normal',
      auth: {},
      _trace: ['fake-discord'],
    });
    if ((intents & Intent.GUILDS) !== 0) {
      const allMembers = (intents & Intent.GUILD_MEMBERS) !== 0;
      for (const id of guildIds) this.send(s, 'GUILD_CREATE', guildCreateJson(this.world, this.world.guild(id), user.id, allMembers));
    }
    return s;
  }

  private resume(ws: WebSocket, d: JsonObject): Session | undefined {
    const user = this.tokenUser(d['token']);
    const s = typeof d['session_id'] === 'string' ? this.sessions.get(d['session_id']) : undefined;
    if (!user || !s || s.userId !== user.id) {
      ws.send(JSON.stringify({ op: 9, d: false }));
      return undefined;
    }
    clearTimeout(s.expiry);
    s.expiry = undefined;
    if (s.socket && s.socket !== ws) s.socket.close(4000, 'Session resumed elsewhere');
    s.socket = ws;
    this.resumes++;
    const after = typeof d['seq'] === 'number' ? d['seq'] : 0;
    for (const entry of s.log) if (entry.s > after) ws.send(entry.text);
    this.send(s, 'RESUMED', { _trace: ['fake-discord'] });
    return s;
  }

  private tokenUser(token: unknown): ReturnType<World['userByToken']> {
    if (typeof token !== 'string') return undefined;
    const user = this.world.userByToken(token.replace(/^Bot\s+/i, ''));
    return user?.bot ? user : undefined;
  }

  private send(s: Session, t: string, d: JsonObject): void {
    s.seq++;
    const text = JSON.stringify({ op: 0, t, s: s.seq, d });
    s.log.push({ s: s.seq, text });
    if (s.log.length > LOG_LIMIT) s.log.splice(0, s.log.length - LOG_LIMIT);
    if (s.socket?.readyState === WebSocket.OPEN) s.socket.send(text);
  }

  private expireLater(s: Session): void {
    clearTimeout(s.expiry);
    s.expiry = setTimeout(() => this.forget(s), SESSION_TTL_MS);
    s.expiry.unref();
  }

  private forget(s: Session): void {
    clearTimeout(s.expiry);
    this.sessions.delete(s.id);
  }
}

function rawText(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  if (data instanceof ArrayBuffer) return Buffer.from(data).toString('utf8');
  return data.toString('utf8');
}
