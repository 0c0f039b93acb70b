/**
 * The Store on libsql: composes the per-table-group modules over one Db.
 * Holds no state of its own besides the Db and the clock, so every guarantee
 * (de-duplication, first-ack, running means) lives in the database and
 * survives restarts.
 */
import type { ProtocolId } from '../protocol/chat-message.js';
import type {
  AckOutcome,
  AckRecord,
  ChannelPreferenceRow,
  Contact,
  EndpointPerformance,
  InboundRecord,
  OutboundRecord,
  Receipt,
  SendResult,
  Store,
  StoredIdentity,
  StoredMessage,
} from './store.js';
import { redactUrl } from '../common/redact-url.js';
import type { SendReport } from '../common/delivery.js';
import { Db, dbKind } from './db.js';
import { SchemaTooNewError, migrate } from './migrations.js';
import { recordAck } from './acks.js';
import * as contacts from './contacts.js';
import * as identities from './identities.js';
import * as messages from './messages.js';
import * as preferences from './preferences.js';
import * as sends from './sends.js';
import { LibsqlRoomStore } from './libsql-rooms.js';
import { platformState } from './platform-state.js';
import { activityQueries } from './activity.js';
import type { ActivityQueries } from './activity.js';
import type { PlatformStateRows } from './platform-state.js';
import type { RoomStore } from './rooms.js';

export interface OpenStoreOptions {
  /** `file:/path/x.db`, `:memory:`, or a libsql server (`libsql://…`, `https://…`, `http://…`). */
  readonly url: string;
  /** Token for a libsql server. Never appears in an error from the store. */
  readonly authToken?: string;
  /** Clock for the times the store stamps itself (send results, contacts, identities). Default Date.now. */
  readonly now?: () => number;
}

/**
 * Opens the database and brings its schema up to date. Rejects (with any
 * token redacted) if the server cannot be reached, a migration fails, or the
 * database was written by a newer roomcast (SchemaTooNewError).
 */
export async function openStore(opts: OpenStoreOptions): Promise<Store> {
  const now = opts.now ?? Date.now;
  let db: Db;
  try {
    db = await Db.open(opts.url, opts.authToken);
  } catch (err) {
    throw openError(opts.url, err); // already redacted by Db.open
  }
  try {
    await migrate(db.rawClient, undefined, now);
  } catch (err) {
    await db.close().catch(() => undefined);
    const redacted = db.redact(err);
    throw redacted instanceof SchemaTooNewError ? redacted : openError(opts.url, redacted);
  }
  return new LibsqlStore(db, now);
}

/** Names the database (without credentials) in an open failure; the libsql error stays available as `cause`. */
function openError(url: string, cause: unknown): Error {
  const kind = dbKind(url);
  const where = kind === 'remote' ? redactUrl(url) : kind === 'memory' ? 'an in-memory database' : url;
  const detail = cause instanceof Error ? cause.message : String(cause);
  return new Error(`cannot open the store at ${where}: ${detail}`, { cause });
}

export class LibsqlStore implements Store {
  readonly #db: Db;
  readonly #now: () => number;
  readonly rooms: RoomStore;
  readonly activity: ActivityQueries;

  constructor(db: Db, now: () => number) {
    this.#db = db;
    this.#now = now;
    this.rooms = new LibsqlRoomStore(db, now);
    this.activity = activityQueries(db);
  }

  platformState(platform: string): PlatformStateRows {
    return platformState(this.#db, platform, this.#now);
  }

  recordInbound(r: InboundRecord): Promise<{ first: boolean; latencyMs: number }> {
    return messages.recordInbound(this.#db, r);
  }

  forgetInbound(owner: string, peer: string, uuid: string): Promise<void> {
    return messages.forgetInbound(this.#db, owner, peer, uuid);
  }

  recordOutbound(m: OutboundRecord, reports: readonly SendReport[]): Promise<void> {
    return sends.recordOutbound(this.#db, m, reports, this.#now());
  }

  recordAck(a: AckRecord): Promise<AckOutcome> {
    return recordAck(this.#db, a);
  }

  applyStatedPreferences(owner: string, peer: string, stated: ReadonlyArray<{ protocol: ProtocolId; cannotUse: boolean }>): Promise<void> {
    return preferences.applyStatedPreferences(this.#db, owner, peer, stated);
  }

  markNotWorking(owner: string, peer: string, protocol: ProtocolId): Promise<void> {
    return preferences.markNotWorking(this.#db, owner, peer, protocol);
  }

  getMessage(owner: string, uuid: string, peer?: string): Promise<StoredMessage | undefined> {
    return messages.getMessage(this.#db, owner, uuid, peer);
  }

  listMessages(owner: string, limit: number): Promise<StoredMessage[]> {
    return messages.listMessages(this.#db, owner, limit);
  }

  getReceipts(owner: string, uuid: string, peer?: string): Promise<Receipt[]> {
    return messages.getReceipts(this.#db, owner, uuid, peer);
  }

  getSendResults(owner: string, uuid: string): Promise<SendResult[]> {
    return sends.getSendResults(this.#db, owner, uuid);
  }

  getChannelPreferences(owner: string, peer: string): Promise<ChannelPreferenceRow[]> {
    return preferences.getChannelPreferences(this.#db, owner, peer);
  }

  getPerformance(): Promise<EndpointPerformance[]> {
    return sends.getPerformance(this.#db);
  }

  addContact(c: Omit<Contact, 'addedAt'>): Promise<Contact> {
    return contacts.addContact(this.#db, c, this.#now());
  }

  removeContact(owner: string, name: string): Promise<boolean> {
    return contacts.removeContact(this.#db, owner, name);
  }

  listContacts(owner: string): Promise<Contact[]> {
    return contacts.listContacts(this.#db, owner);
  }

  findContactByKey(owner: string, xOnly: string): Promise<Contact | undefined> {
    return contacts.findContactByKey(this.#db, owner, xOnly);
  }

  findContactByName(owner: string, name: string): Promise<Contact | undefined> {
    return contacts.findContactByName(this.#db, owner, name);
  }

  upsertIdentity(i: { owner: string; magnetLink: string; label?: string }): Promise<void> {
    return identities.upsertIdentity(this.#db, i, this.#now());
  }

  listIdentities(): Promise<StoredIdentity[]> {
    return identities.listIdentities(this.#db);
  }

  getCursor(key: string): Promise<number | undefined> {
    return identities.getCursor(this.#db, key);
  }

  setCursor(key: string, value: number): Promise<void> {
    return identities.setCursor(this.#db, key, value);
  }

  /** Lets queued writes finish, then closes the connection. Idempotent; later calls reject with "the store is closed". */
  close(): Promise<void> {
    return this.#db.close();
  }
}
