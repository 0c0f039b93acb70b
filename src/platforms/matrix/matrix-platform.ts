/**
 * Matrix rooms through matrix-bot-sdk, as a bot account (not an appservice).
 * The sync loop is the library's, made loss-free (client.ts): events reach
 * the bridge one at a time, in the server's order, and the sync position is
 * stored in roomcast's store only once they were handled. Writes use
 * transaction ids from `RoomPost.idempotencyKey`, so a retried post is the
 * same event; a 429 becomes RateLimitedError with the server's delay.
 *
 * Encrypted rooms cannot be read here (the library's crypto package is a
 * stub in this build): such a room gets one notice saying so, and nothing
 * in it is bridged.
 */
import { LogService, LogLevel } from 'matrix-bot-sdk';
import type { Logger } from '../../observability/logger.js';
import { OncePerWindow } from '../../observability/rejections.js';
import { ConnectionState } from '../connection-state.js';
import type { PlatformDeps } from '../registry.js';
import { retryWithBackoff, waitAtMost } from '../../common/backoff.js';
import { redactUrl } from '../../common/redact-url.js';
import { MessageTooLongError, PlatformCapabilitiesSchema, platformId, platformMessageId, RateLimitedError } from '../platform.js';
import type { Platform, PlatformCapabilities, PlatformId, PlatformMessageId, PlatformStatus, RoomEvent, RoomPost, RoomRef, RoomSender } from '../platform.js';
import { SyncingClient, SyncStopped, StoreSyncStorage } from './client.js';
import { mayInvite } from './config.js';
import type { MatrixPlatformConfig } from './config.js';
import { contentBytes, editContent, messageContent, reactionContent, txnIdFor } from './content.js';
import type { MatrixContent } from './content.js';
import { downloadUrl, draftOf, parseMember, RawEventSchema } from './events.js';
import type { RawEvent } from './events.js';
import { RoomStateCache } from './room-state.js';

/**
 * Matrix events may be 64 KiB; the text limit leaves room for the HTML copy
 * and the JSON around it (a post whose HTML would not fit goes without it).
 * The pace is a guess at a bot-friendly homeserver: Synapse limits per user,
 * not per room, and answers 429 with the delay when we exceed it.
 */
export const MATRIX_CAPABILITIES: PlatformCapabilities = PlatformCapabilitiesSchema.parse({
  reactions: true,
  edits: true,
  maxMessageChars: 12_000,
  rateLimit: { posts: 10, perMs: 1000 },
});

const MAX_EVENT_BYTES = 60_000;
/** How long `start` waits for the first sync before it returns anyway (the sync goes on). */
const FIRST_SYNC_WAIT_MS = 30_000;
/** Retries of signing in while the homeserver cannot be reached. */
const RETRY_MIN_MS = 1_000;
const RETRY_MAX_MS = 60_000;
/** Only what the bridge reads: no presence, typing, receipts or account data. */
const SYNC_FILTER = {
  presence: { not_types: ['*'] },
  account_data: { not_types: ['*'] },
  room: { ephemeral: { not_types: ['*'] }, account_data: { not_types: ['*'] }, timeline: { limit: 50 } },
};
const ENCRYPTED_NOTICE =
  'This room is end-to-end encrypted, and roomcast cannot read encrypted rooms yet: nothing here is bridged. Use an unencrypted room to bridge it.';

/** What the adapter is built with (registry.ts). */
export type MatrixPlatformDeps = PlatformDeps;

export class MatrixPlatform implements Platform {
  readonly id: PlatformId = platformId('matrix');
  readonly capabilities = MATRIX_CAPABILITIES;
  private readonly client: SyncingClient;
  private readonly rooms: RoomStateCache;
  private readonly log: Logger;
  /** The homeserver as logs and status show it (no credentials). */
  private readonly where: string;
  private readonly rejections = new OncePerWindow();
  private handler: ((e: RoomEvent) => Promise<void>) | undefined;
  private userId: string | undefined;
  private stopped = false;
  /** The sync event being handled; `stop` waits for it. */
  private current: Promise<void> = Promise.resolve();
  private firstBatch: () => void = () => undefined;
  private readonly connection = new ConnectionState();

  constructor(
    private readonly config: MatrixPlatformConfig,
    private readonly deps: MatrixPlatformDeps,
  ) {
    if (!config.homeserverUrl || !config.accessToken) throw new Error('platforms.matrix needs homeserverUrl and accessToken');
    this.log = deps.log.child({ platform: 'matrix' });
    this.where = redactUrl(config.homeserverUrl);
    routeLibraryLogs(this.log);
    this.client = new SyncingClient(config.homeserverUrl, config.accessToken, new StoreSyncStorage(deps.state), {
      onEvent: (name, roomId, event) => this.onSyncEvent(name, roomId, event),
      onBatch: () => {
        this.connection.up();
        this.firstBatch();
      },
      onSyncError: (err) => this.recordError(err),
    });
    this.client.syncingTimeout = config.syncTimeoutMs;
    this.rooms = new RoomStateCache(this.client);
  }

  /**
   * Signs in and starts syncing; resolves after the first sync (at most
   * FIRST_SYNC_WAIT_MS). A token the homeserver refuses is a configuration
   * error and rejects. An unreachable homeserver does not: the platform
   * keeps trying in the background, with backoff, and its status says so.
   */
  async start(onEvent: (e: RoomEvent) => Promise<void>): Promise<void> {
    if (this.handler) throw new Error('the Matrix platform is already started');
    if (this.stopped) throw new Error('the Matrix platform is stopped');
    this.handler = onEvent;
    try {
      await this.connect();
    } catch (err) {
      if (isRefusedToken(err)) {
        this.handler = undefined;
        throw new Error(`cannot sign in to the Matrix homeserver ${this.where}: ${describe(err)}`);
      }
      this.recordError(err);
      this.log.warn({ homeserver: this.where, err: describe(err) }, 'Matrix: the homeserver cannot be reached; retrying in the background');
      void this.keepConnecting();
    }
  }

  private async connect(): Promise<void> {
    this.userId = await this.client.getUserId();
    const synced = new Promise<void>((resolve) => (this.firstBatch = resolve));
    await this.client.start(SYNC_FILTER);
    await waitAtMost(synced, FIRST_SYNC_WAIT_MS);
    this.log.info({ user: this.userId, homeserver: this.where }, 'Matrix: syncing');
  }

  private async keepConnecting(): Promise<void> {
    const connected = await retryWithBackoff(() => this.connect(), {
      minMs: RETRY_MIN_MS,
      maxMs: RETRY_MAX_MS,
      stopped: () => this.stopped,
      onError: (err) => this.recordError(err),
      isFinal: isRefusedToken,
    });
    if (!connected && !this.stopped) this.log.error('Matrix: the homeserver refuses the access token; Matrix rooms are not bridged until roomcast restarts with a valid one');
  }

  async post(room: RoomRef, msg: RoomPost): Promise<PlatformMessageId> {
    this.writable(msg);
    return this.send(room, 'm.room.message', fit(messageContent(msg)), txnIdFor(msg.idempotencyKey === undefined ? undefined : `post|${msg.idempotencyKey}`));
  }

  async react(room: RoomRef, target: PlatformMessageId, emoji: string): Promise<void> {
    this.writable({ text: '' });
    try {
      // Keyed by target and emoji: reacting twice is one reaction.
      await this.send(room, 'm.reaction', reactionContent(target, emoji), txnIdFor(`react|${target}|${emoji}`));
    } catch (err) {
      if ((err as { errcode?: unknown }).errcode !== 'M_DUPLICATE_ANNOTATION') throw err;
    }
  }

  async edit(room: RoomRef, target: PlatformMessageId, msg: RoomPost): Promise<void> {
    this.writable(msg);
    await this.send(room, 'm.room.message', fit(editContent(target, msg)), txnIdFor(msg.idempotencyKey === undefined ? undefined : `edit|${msg.idempotencyKey}`));
  }

  status(): PlatformStatus {
    return this.connection.status(`${this.userId ?? 'not signed in'} on ${this.where}`);
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.client.stopNow();
    this.firstBatch();
    await this.current.catch(() => undefined);
    this.handler = undefined;
  }

  // ---- the sync ----

  /** One sync event, awaited by the sync loop. Throws only to abandon the batch on stop. */
  private onSyncEvent(name: string, roomId: string, event: unknown): Promise<void> {
    if (this.stopped) return Promise.reject(new SyncStopped());
    const run = this.handleSyncEvent(name, roomId, event).catch((err: unknown) => {
      this.log.error({ room: roomId, err: describe(err) }, 'Matrix: could not handle a sync event');
    });
    this.current = run;
    return run.then(() => {
      // Stopped while handling: the rest of the batch is not delivered, and its token is not stored.
      if (this.stopped) throw new SyncStopped();
    });
  }

  private async handleSyncEvent(name: string, roomId: string, event: unknown): Promise<void> {
    if (name !== 'room.event' && name !== 'room.invite' && name !== 'room.leave') return;
    const parsed = RawEventSchema.safeParse(event);
    if (!parsed.success) return this.reject(roomId, 'malformed event');
    const raw = parsed.data;
    if (name === 'room.invite') return this.onInvite(roomId, raw);
    if (name === 'room.leave') return this.onLeave(roomId, raw);
    return this.onTimeline(roomId, raw);
  }

  private async onTimeline(roomId: string, raw: RawEvent): Promise<void> {
    const room: RoomRef = { platform: this.id, roomId };
    const me = this.userId!;
    if (raw.state_key !== undefined) this.rooms.observe(roomId, raw.type, raw.state_key, raw.content);
    if (raw.type === 'm.room.encryption' && raw.state_key === '') {
      this.rooms.markEncrypted(roomId);
      return this.noticeEncrypted(room);
    }
    if (raw.type === 'm.room.member' && raw.state_key === me && parseMember(raw.content)?.membership === 'join') {
      const previously = (raw.unsigned?.prev_content as { membership?: unknown } | undefined)?.membership;
      if (previously === 'join') return; // a profile change
      if (await this.rooms.encrypted(roomId)) return this.noticeEncrypted(room);
      return this.deliver({ kind: 'membership', room, joined: true, reason: 'invited', by: raw.sender, at: raw.origin_server_ts ?? Date.now() });
    }
    if (await this.rooms.encrypted(roomId)) return; // nothing in an encrypted room is bridged
    const draft = draftOf(raw, { room, botUserId: me, mediaUrl: (mxc) => downloadUrl(this.config.homeserverUrl!, mxc) });
    if (draft.kind === 'ignore') return;
    if (draft.kind === 'reject') return this.reject(roomId, draft.reason);
    await this.deliver(draft.build(await this.sender(roomId, draft.senderId)));
  }

  /** Invited: join when the inviter may invite the bot (platforms.matrix.autoJoin), else reject the invite. */
  private async onInvite(roomId: string, raw: RawEvent): Promise<void> {
    if (raw.state_key !== this.userId) return;
    if (!mayInvite(this.config.autoJoin, raw.sender)) {
      this.log.info({ room: roomId, inviter: raw.sender }, 'Matrix: rejected an invite from someone platforms.matrix.autoJoin does not allow');
      await this.client.leaveRoom(roomId).catch((err: unknown) => this.log.warn({ room: roomId, err: describe(err) }, 'Matrix: could not reject an invite'));
      return;
    }
    for (let attempt = 1; ; attempt++) {
      try {
        await this.client.joinRoom(roomId);
        this.log.info({ room: roomId, inviter: raw.sender }, 'Matrix: joined a room on invite');
        return;
      } catch (err) {
        const wait = (err as { retryAfterMs?: unknown }).retryAfterMs;
        if (typeof wait !== 'number' || attempt >= 5) {
          this.log.warn({ room: roomId, err: describe(err) }, 'Matrix: could not join a room it was invited to; invite it again');
          return;
        }
        await new Promise((r) => setTimeout(r, wait));
      }
    }
  }

  private async onLeave(roomId: string, raw: RawEvent): Promise<void> {
    const membership = parseMember(raw.content)?.membership;
    if (raw.state_key !== this.userId || (membership !== 'leave' && membership !== 'ban')) return;
    this.rooms.forget(roomId);
    const reason = membership === 'ban' ? 'banned' : raw.sender === this.userId ? 'left' : 'kicked';
    this.log.info({ room: roomId, by: raw.sender, reason }, 'Matrix: the bot is no longer in a room');
    await this.deliver({ kind: 'membership', room: { platform: this.id, roomId }, joined: false, reason, by: raw.sender, at: raw.origin_server_ts ?? Date.now() });
  }

  /** Says once per room (across restarts) that encrypted rooms are not bridged. */
  private async noticeEncrypted(room: RoomRef): Promise<void> {
    const key = `encrypted-notice:${room.roomId}`;
    if (await this.deps.state.get(key)) return;
    await this.post(room, { text: ENCRYPTED_NOTICE, notice: true, idempotencyKey: key }).catch((err: unknown) =>
      this.log.warn({ room: room.roomId, err: describe(err) }, 'Matrix: could not post the encrypted-room notice'),
    );
    await this.deps.state.set(key, String(Date.now()));
    this.log.info({ room: room.roomId }, 'Matrix: an encrypted room is not bridged');
  }

  private async sender(roomId: string, userId: string): Promise<RoomSender> {
    if (userId === this.userId) return { id: userId, displayName: userId, level: 'member' };
    const [displayName, power] = await Promise.all([this.rooms.displayName(roomId, userId), this.rooms.powerLevel(roomId, userId)]);
    return { id: userId, displayName, level: power >= this.config.moderatorPowerLevel ? 'moderator' : 'member' };
  }

  private async deliver(e: RoomEvent): Promise<void> {
    try {
      await this.handler?.(e);
    } catch (err) {
      this.log.error({ room: e.room.roomId, kind: e.kind, err: describe(err) }, 'Matrix: the bridge could not handle a room event');
    }
  }

  private reject(roomId: string, reason: string): void {
    this.deps.metrics.platformRejected.inc({ platform: this.id, reason });
    const once = this.rejections.hit(reason);
    if (once) this.log.warn({ room: roomId, reason, ...(once.suppressed ? { repeatsSuppressed: once.suppressed } : {}) }, 'Matrix: ignored an event that is not valid');
  }

  // ---- writes ----

  private writable(msg: RoomPost): void {
    if (this.stopped) throw new Error('the Matrix platform is stopped');
    if (msg.text.length > this.capabilities.maxMessageChars) throw new MessageTooLongError(msg.text.length, this.capabilities.maxMessageChars);
  }

  private async send(room: RoomRef, type: string, content: MatrixContent, txnId: string): Promise<PlatformMessageId> {
    const path = `/_matrix/client/v3/rooms/${encodeURIComponent(room.roomId)}/send/${encodeURIComponent(type)}/${encodeURIComponent(txnId)}`;
    let response: unknown;
    try {
      response = await this.client.doRequest('PUT', path, null, content);
    } catch (err) {
      const e = err as { statusCode?: unknown; errcode?: unknown; retryAfterMs?: unknown };
      if (e.statusCode === 429 || e.errcode === 'M_LIMIT_EXCEEDED') {
        throw new RateLimitedError(typeof e.retryAfterMs === 'number' && e.retryAfterMs > 0 ? e.retryAfterMs : 5000, room);
      }
      throw Object.assign(new Error(`Matrix refused a write in ${room.roomId}: ${describe(err)}`), { errcode: e.errcode });
    }
    const id = (response as { event_id?: unknown } | null)?.event_id;
    if (typeof id !== 'string' || id === '') throw new Error(`Matrix answered a write in ${room.roomId} without an event id`);
    return platformMessageId(id);
  }

  private recordError(err: unknown): void {
    this.connection.failed(describe(err));
  }
}

/** The homeserver refused the credentials themselves: retrying cannot help. */
function isRefusedToken(err: unknown): boolean {
  const e = err as { statusCode?: unknown; errcode?: unknown };
  return e.errcode === 'M_UNKNOWN_TOKEN' || e.errcode === 'M_MISSING_TOKEN' || e.errcode === 'M_FORBIDDEN' || e.statusCode === 401;
}

/** Drops the HTML copy of content too big for one event; the plain body always fits (maxMessageChars). */
function fit(content: MatrixContent): MatrixContent {
  if (contentBytes(content) <= MAX_EVENT_BYTES) return content;
  const { format: _format, formatted_body: _html, ...plain } = content;
  const fresh = plain['m.new_content'] as MatrixContent | undefined;
  if (fresh) {
    const { format: _f, formatted_body: _h, ...freshPlain } = fresh;
    return { ...plain, 'm.new_content': freshPlain };
  }
  return plain;
}

/** A Matrix error as "M_FORBIDDEN: reason"; anything else as its message, with any token removed. */
export function describe(err: unknown): string {
  const e = err as { errcode?: unknown; error?: unknown; message?: unknown };
  const text = typeof e?.errcode === 'string' ? `${e.errcode}: ${String(e.error ?? '')}` : typeof e?.message === 'string' ? e.message : String(err);
  return redactSecrets(text);
}

/** Removes access tokens from text that may quote a request (header or query). */
export function redactSecrets(text: string): string {
  return text.replace(/(Bearer\s+)[^\s"',]+/gi, '$1[redacted]').replace(/(access_token=)[^&\s"',]+/gi, '$1[redacted]');
}

let libraryLogsRouted = false;

/**
 * The library logs every HTTP error (a 404 for a state lookup is normal here)
 * on its own; the platform reports what matters itself. Its lines go to our
 * logger at debug level, secrets removed, so they are there when asked for.
 */
function routeLibraryLogs(log: Logger): void {
  if (libraryLogsRouted) return;
  libraryLogsRouted = true;
  const line = (module: string, parts: unknown[]) => `${module}: ${redactSecrets(parts.map((p) => (typeof p === 'string' ? p : describe(p))).join(' '))}`;
  const debug = (module: string, ...parts: unknown[]) => log.debug(line(module, parts));
  LogService.setLogger({ trace: () => undefined, debug: () => undefined, info: debug, warn: debug, error: debug });
  LogService.setLevel(LogLevel.INFO);
  LogService.muteModule('Metrics');
}
