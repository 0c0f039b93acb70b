/**
 * matrix-bot-sdk's MatrixClient, with its sync loop made loss-free for the
 * bridge. The library emits sync events without waiting for handlers and, by
 * default, stores the sync token before handling them, so a crash could skip
 * events. Through its protected extension points this client:
 * - hands every sync event to one awaited handler, in the server's order;
 * - stores the sync token only after the whole batch was handled (a crash
 *   replays the batch: the bridge de-duplicates by event id);
 * - drops the history of rooms from before the bot joined them, and on the
 *   very first start (no stored token) every timeline the initial sync
 *   replays (and makes that sync a request of its own: Synapse caches
 *   token-less syncs);
 * - reports each sync's success or failure, for the platform's status;
 * - ends its long-poll at once on `stopNow` (the library's `stop` waits for
 *   it: up to the sync timeout, which kept a stopping process alive).
 */
import { getRequestFn, MatrixClient, setRequestFn } from 'matrix-bot-sdk';
import type { IFilterInfo, IStorageProvider } from 'matrix-bot-sdk';
import type { PlatformStateStore } from '../platform.js';

/** Thrown out of the sync handler once stopping: the batch is abandoned and its token not stored. */
export class SyncStopped extends Error {
  constructor() {
    super('the Matrix platform is stopping');
    this.name = 'SyncStopped';
  }
}

export interface SyncHooks {
  /** Every sync event (`room.event`, `room.invite`, `room.leave`, …), awaited, in order. */
  onEvent(name: string, roomId: string, event: unknown): Promise<void>;
  /** A batch was handled completely (its token is stored next). */
  onBatch(): void;
  /** A /sync request failed (the library retries it). */
  onSyncError(err: unknown): void;
}

interface SyncBatch {
  rooms?: { join?: Record<string, { timeline?: { events?: unknown[] } }> };
}

export class SyncingClient extends MatrixClient {
  private firstSync = false;

  constructor(
    homeserverUrl: string,
    accessToken: string,
    storage: IStorageProvider,
    private readonly hooks: SyncHooks,
  ) {
    super(homeserverUrl, accessToken, storage);
    this.persistTokenAfterSync = true;
  }

  /** Stops syncing and aborts the /sync in flight; the batch it would bring is not handled, and its token not stored. */
  stopNow(): void {
    this.stop();
    for (const req of [...(inFlightSyncs.get(this.accessToken) ?? [])]) req.abort();
  }

  protected override async startSyncInternal(): Promise<void> {
    trackSyncRequests();
    this.firstSync = !(await this.storageProvider.getSyncToken());
    return this.startSync((name: string, ...payload: unknown[]) => this.hooks.onEvent(name, String(payload[0] ?? ''), payload[1]));
  }

  protected override async doSync(token: string): Promise<unknown> {
    const timeout = this.syncingTimeout;
    // Synapse answers a repeated token-less sync (same timeout, filter and device) from a cache for
    // two minutes: a second first start would get the first one's stale position and replay all
    // since. A timeout of its own makes each first sync a request of its own.
    if (!token) this.syncingTimeout = 1 + (Date.now() % 1000);
    try {
      return await super.doSync(token);
    } catch (err) {
      this.hooks.onSyncError(err);
      throw err;
    } finally {
      this.syncingTimeout = timeout;
    }
  }

  protected override async processSync(raw: unknown, emitFn?: (name: string, ...payload: unknown[]) => Promise<unknown>): Promise<void> {
    const userId = await this.getUserId();
    const batch = raw as SyncBatch | undefined;
    for (const room of Object.values(batch?.rooms?.join ?? {})) {
      const events = room.timeline?.events;
      if (!Array.isArray(events)) continue;
      // First start: what the server replays is history, not news. Later: events before the bot's own join are history too.
      const cut = this.firstSync ? events.length : lastOwnJoin(events, userId);
      if (cut > 0) room.timeline!.events = events.slice(cut);
    }
    await super.processSync(raw, emitFn);
    this.firstSync = false;
    this.hooks.onBatch();
  }
}

interface Abortable {
  abort(): void;
}

/** The /sync requests in flight, per access token, so `stopNow` can abort its own. */
const inFlightSyncs = new Map<string, Set<Abortable>>();
let tracking = false;

/**
 * Wraps the library's request function (its documented hook) once per
 * process to remember /sync requests until they end. Other requests pass
 * untouched.
 */
function trackSyncRequests(): void {
  if (tracking) return;
  tracking = true;
  const send = getRequestFn() as unknown as (params: SyncParams, done: (...args: unknown[]) => void) => Abortable;
  setRequestFn((params: SyncParams, done: (...args: unknown[]) => void) => {
    const token = /^Bearer (.+)$/.exec(params.headers?.Authorization ?? '')?.[1];
    if (!token || !/\/_matrix\/client\/v3\/sync(\?|$)/.test(params.uri ?? '')) return send(params, done);
    const mine = inFlightSyncs.get(token) ?? new Set<Abortable>();
    inFlightSyncs.set(token, mine);
    const req: Abortable = send(params, (...args) => {
      mine.delete(req);
      if (mine.size === 0) inFlightSyncs.delete(token);
      done(...args);
    });
    mine.add(req);
    return req;
  });
}

interface SyncParams {
  readonly uri?: string;
  readonly headers?: { readonly Authorization?: string };
}

/** Index just after the bot's last real join (not a profile change) in a timeline; 0 when it did not join here. */
function lastOwnJoin(events: readonly unknown[], userId: string): number {
  for (let i = events.length - 1; i >= 0; i--) {
    const e = events[i] as { type?: unknown; state_key?: unknown; content?: { membership?: unknown }; unsigned?: { prev_content?: { membership?: unknown } } } | null;
    if (e?.type !== 'm.room.member' || e.state_key !== userId || e.content?.membership !== 'join') continue;
    if (e.unsigned?.prev_content?.membership === 'join') continue; // a display name or avatar change
    return i; // keep the join itself: it tells the platform the bot is in
  }
  return 0;
}

/**
 * The library's storage (sync token, filter) in roomcast's store, so the
 * sync position survives restarts with the rest of the bridge's state.
 */
export class StoreSyncStorage implements IStorageProvider {
  constructor(private readonly state: PlatformStateStore) {}

  async setSyncToken(token: string | null): Promise<void> {
    await this.state.set('sync-token', token ?? '');
  }

  async getSyncToken(): Promise<string | null> {
    return (await this.state.get('sync-token')) || null;
  }

  async setFilter(filter: IFilterInfo): Promise<void> {
    await this.state.set('filter', JSON.stringify(filter));
  }

  async getFilter(): Promise<IFilterInfo> {
    const stored = await this.state.get('filter');
    // The library reads a missing filter as "none stored" (it is typed as always present).
    return (stored ? JSON.parse(stored) : null) as IFilterInfo;
  }

  async storeValue(key: string, value: string): Promise<void> {
    await this.state.set(`kv:${key}`, value);
  }

  async readValue(key: string): Promise<string | undefined> {
    return this.state.get(`kv:${key}`);
  }
}
