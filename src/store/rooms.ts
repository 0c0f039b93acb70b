/**
 * Bridged rooms: each room's identity (sealed private keys), its outbox (what
 * people wrote, in order, until every contact has it) and its inbox (what
 * contacts sent, in order, until it is posted). Ordering across several
 * workers is decided here: an entry's turn comes when no earlier entry of the
 * same room is still queued.
 */
import { compact, num, optStr, str } from './db.js';
import type { Db, Executor } from './db.js';
import type { Row } from '@libsql/client';

export interface RoomRecord {
  readonly platform: string;
  readonly roomId: string;
  /** x-only key of the room's identity: the `owner` of its rows in every other table. */
  readonly owner: string;
  /** The room's private keys, sealed with the service key (src/bridge/room-keys.ts). */
  readonly sealedKey: string;
  readonly createdAt: number;
}

export type OutboxState = 'queued' | 'done' | 'failed';

export interface OutboxEntry {
  readonly platform: string;
  readonly roomId: string;
  /** 1, 2, 3 … per room, in the order the bridge saw the messages. */
  readonly seq: number;
  /** The room message's uuid (also the outbound job id). */
  readonly uuid: string;
  readonly senderId: string;
  readonly senderName: string;
  readonly text: string;
  readonly platformMessageId: string;
  readonly createdAt: number;
  readonly state: OutboxState;
  /** The notice the bridge posted with this message's delivery receipt, once posted. */
  readonly receiptPostId?: string;
}

export type InboxState = 'queued' | 'posted' | 'failed';

export interface InboxEntry {
  readonly platform: string;
  readonly roomId: string;
  readonly seq: number;
  /** The room identity the message was sent to. */
  readonly owner: string;
  /** The inbound message's uuid (its text is in `messages`). */
  readonly uuid: string;
  readonly state: InboxState;
  readonly platformMessageId?: string;
}

export type NewOutboxEntry = Omit<OutboxEntry, 'seq' | 'state' | 'receiptPostId'>;

/** One contact's copy of a room message. */
export interface OutboxCopy {
  /** The room identity. */
  readonly owner: string;
  /** The copy's ChatMessage uuid. */
  readonly uuid: string;
  readonly roomUuid: string;
  /** The contact's x-only key. */
  readonly contact: string;
}

export interface RoomStore {
  getRoom(platform: string, roomId: string): Promise<RoomRecord | undefined>;
  getRoomByOwner(owner: string): Promise<RoomRecord | undefined>;
  /** Inserts the room unless it exists, and returns what is stored: two racing creators agree on one identity. */
  createRoom(r: Omit<RoomRecord, 'createdAt'>): Promise<RoomRecord>;
  /** Oldest first. */
  listRooms(): Promise<RoomRecord[]>;

  /** Appends to the room's outbox with the next seq; idempotent by uuid (returns the existing entry). */
  enqueueOutbox(e: NewOutboxEntry): Promise<OutboxEntry>;
  getOutbox(uuid: string): Promise<OutboxEntry | undefined>;
  setOutboxState(uuid: string, state: OutboxState): Promise<void>;
  setOutboxReceiptPost(uuid: string, postId: string): Promise<void>;
  /** True when no earlier entry of the same room is still queued. */
  isOutboxTurn(entry: Pick<OutboxEntry, 'platform' | 'roomId' | 'seq'>): Promise<boolean>;
  /** The uuid of the room's first still-queued outbox entry after `seq`, whose turn may have come. */
  nextQueuedOutbox(entry: Pick<OutboxEntry, 'platform' | 'roomId' | 'seq'>): Promise<string | undefined>;

  /** Records that `uuid` is the copy of room message `roomUuid` for `contact` (idempotent). */
  addOutboxCopy(c: OutboxCopy): Promise<void>;
  /** The copy a peer's ack names, if it is one of ours. */
  getOutboxCopy(owner: string, uuid: string): Promise<OutboxCopy | undefined>;
  /** Every copy of one room message, by contact. */
  listOutboxCopies(roomUuid: string): Promise<OutboxCopy[]>;

  /** Appends to the room's inbox with the next seq; idempotent by (owner, uuid). */
  enqueueInbox(e: Pick<InboxEntry, 'platform' | 'roomId' | 'owner' | 'uuid'>): Promise<InboxEntry>;
  getInbox(owner: string, uuid: string): Promise<InboxEntry | undefined>;
  setInboxState(owner: string, uuid: string, state: InboxState, platformMessageId?: string): Promise<void>;
  isInboxTurn(entry: Pick<InboxEntry, 'platform' | 'roomId' | 'seq'>): Promise<boolean>;
  /** The (owner, uuid) of the room's first still-queued inbox entry after `seq`. */
  nextQueuedInbox(entry: Pick<InboxEntry, 'platform' | 'roomId' | 'seq'>): Promise<{ owner: string; uuid: string } | undefined>;
}

const ROOM_COLS = 'platform, room_id, owner, sealed_key, created_at';
const OUTBOX_COLS = 'platform, room_id, seq, uuid, sender_id, sender_name, text, platform_message_id, created_at, state, receipt_post_id';
const INBOX_COLS = 'platform, room_id, seq, owner, uuid, state, platform_message_id';

function room(r: Row): RoomRecord {
  return { platform: str(r, 'platform'), roomId: str(r, 'room_id'), owner: str(r, 'owner'), sealedKey: str(r, 'sealed_key'), createdAt: num(r, 'created_at') };
}

function outbox(r: Row): OutboxEntry {
  return compact({
    platform: str(r, 'platform'),
    roomId: str(r, 'room_id'),
    seq: num(r, 'seq'),
    uuid: str(r, 'uuid'),
    senderId: str(r, 'sender_id'),
    senderName: str(r, 'sender_name'),
    text: str(r, 'text'),
    platformMessageId: str(r, 'platform_message_id'),
    createdAt: num(r, 'created_at'),
    state: str(r, 'state') as OutboxState,
    receiptPostId: optStr(r, 'receipt_post_id'),
  });
}

function copy(r: Row): OutboxCopy {
  return { owner: str(r, 'owner'), uuid: str(r, 'uuid'), roomUuid: str(r, 'room_uuid'), contact: str(r, 'contact') };
}

function inbox(r: Row): InboxEntry {
  return compact({
    platform: str(r, 'platform'),
    roomId: str(r, 'room_id'),
    seq: num(r, 'seq'),
    owner: str(r, 'owner'),
    uuid: str(r, 'uuid'),
    state: str(r, 'state') as InboxState,
    platformMessageId: optStr(r, 'platform_message_id'),
  });
}

async function first<T>(ex: Executor, sql: string, args: Array<string | number>, map: (r: Row) => T): Promise<T | undefined> {
  const rs = await ex.execute({ sql, args });
  const row = rs.rows[0];
  return row ? map(row) : undefined;
}

export class LibsqlRoomStore implements RoomStore {
  constructor(
    private readonly db: Db,
    private readonly now: () => number,
  ) {}

  getRoom(platform: string, roomId: string): Promise<RoomRecord | undefined> {
    return first(this.db.reader, `SELECT ${ROOM_COLS} FROM rooms WHERE platform = ? AND room_id = ?`, [platform, roomId], room);
  }

  getRoomByOwner(owner: string): Promise<RoomRecord | undefined> {
    return first(this.db.reader, `SELECT ${ROOM_COLS} FROM rooms WHERE owner = ?`, [owner], room);
  }

  async createRoom(r: Omit<RoomRecord, 'createdAt'>): Promise<RoomRecord> {
    return this.db.write((w) =>
      w.transaction(async (tx) => {
        await tx.execute({
          sql: `INSERT INTO rooms (${ROOM_COLS}) VALUES (?, ?, ?, ?, ?) ON CONFLICT (platform, room_id) DO NOTHING`,
          args: [r.platform, r.roomId, r.owner, r.sealedKey, this.now()],
        });
        const stored = await first(tx, `SELECT ${ROOM_COLS} FROM rooms WHERE platform = ? AND room_id = ?`, [r.platform, r.roomId], room);
        if (!stored) throw new Error('room vanished while it was being created');
        return stored;
      }),
    );
  }

  async listRooms(): Promise<RoomRecord[]> {
    const rs = await this.db.read(`SELECT ${ROOM_COLS} FROM rooms ORDER BY created_at, platform, room_id`);
    return rs.rows.map(room);
  }

  async enqueueOutbox(e: NewOutboxEntry): Promise<OutboxEntry> {
    return this.db.write((w) =>
      w.transaction(async (tx) => {
        const existing = await first(tx, `SELECT ${OUTBOX_COLS} FROM room_outbox WHERE uuid = ?`, [e.uuid], outbox);
        if (existing) return existing;
        const seq = await nextSeq(tx, 'room_outbox', e.platform, e.roomId);
        await tx.execute({
          sql: `INSERT INTO room_outbox (platform, room_id, seq, uuid, sender_id, sender_name, text, platform_message_id, created_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          args: [e.platform, e.roomId, seq, e.uuid, e.senderId, e.senderName, e.text, e.platformMessageId, e.createdAt],
        });
        return { ...e, seq, state: 'queued' as const };
      }),
    );
  }

  getOutbox(uuid: string): Promise<OutboxEntry | undefined> {
    return first(this.db.reader, `SELECT ${OUTBOX_COLS} FROM room_outbox WHERE uuid = ?`, [uuid], outbox);
  }

  async setOutboxState(uuid: string, state: OutboxState): Promise<void> {
    await this.db.write((w) => w.execute({ sql: 'UPDATE room_outbox SET state = ? WHERE uuid = ?', args: [state, uuid] }));
  }

  async setOutboxReceiptPost(uuid: string, postId: string): Promise<void> {
    await this.db.write((w) => w.execute({ sql: 'UPDATE room_outbox SET receipt_post_id = ? WHERE uuid = ?', args: [postId, uuid] }));
  }

  async isOutboxTurn(e: Pick<OutboxEntry, 'platform' | 'roomId' | 'seq'>): Promise<boolean> {
    return !(await earlierQueued(this.db.reader, 'room_outbox', e));
  }

  async addOutboxCopy(c: OutboxCopy): Promise<void> {
    await this.db.write((w) =>
      w.execute({
        sql: 'INSERT INTO outbox_copies (owner, uuid, room_uuid, contact) VALUES (?, ?, ?, ?) ON CONFLICT (owner, uuid) DO NOTHING',
        args: [c.owner, c.uuid, c.roomUuid, c.contact],
      }),
    );
  }

  getOutboxCopy(owner: string, uuid: string): Promise<OutboxCopy | undefined> {
    return first(this.db.reader, 'SELECT owner, uuid, room_uuid, contact FROM outbox_copies WHERE owner = ? AND uuid = ?', [owner, uuid], copy);
  }

  async listOutboxCopies(roomUuid: string): Promise<OutboxCopy[]> {
    const rs = await this.db.read({ sql: 'SELECT owner, uuid, room_uuid, contact FROM outbox_copies WHERE room_uuid = ? ORDER BY contact', args: [roomUuid] });
    return rs.rows.map(copy);
  }

  async nextQueuedOutbox(e: Pick<OutboxEntry, 'platform' | 'roomId' | 'seq'>): Promise<string | undefined> {
    return first(
      this.db.reader,
      `SELECT uuid FROM room_outbox WHERE platform = ? AND room_id = ? AND state = 'queued' AND seq > ? ORDER BY seq LIMIT 1`,
      [e.platform, e.roomId, e.seq],
      (r) => str(r, 'uuid'),
    );
  }

  async nextQueuedInbox(e: Pick<InboxEntry, 'platform' | 'roomId' | 'seq'>): Promise<{ owner: string; uuid: string } | undefined> {
    return first(
      this.db.reader,
      `SELECT owner, uuid FROM room_inbox WHERE platform = ? AND room_id = ? AND state = 'queued' AND seq > ? ORDER BY seq LIMIT 1`,
      [e.platform, e.roomId, e.seq],
      (r) => ({ owner: str(r, 'owner'), uuid: str(r, 'uuid') }),
    );
  }

  async enqueueInbox(e: Pick<InboxEntry, 'platform' | 'roomId' | 'owner' | 'uuid'>): Promise<InboxEntry> {
    return this.db.write((w) =>
      w.transaction(async (tx) => {
        const existing = await first(tx, `SELECT ${INBOX_COLS} FROM room_inbox WHERE owner = ? AND uuid = ?`, [e.owner, e.uuid], inbox);
        if (existing) return existing;
        const seq = await nextSeq(tx, 'room_inbox', e.platform, e.roomId);
        await tx.execute({
          sql: 'INSERT INTO room_inbox (platform, room_id, seq, owner, uuid) VALUES (?, ?, ?, ?, ?)',
          args: [e.platform, e.roomId, seq, e.owner, e.uuid],
        });
        return { ...e, seq, state: 'queued' as const };
      }),
    );
  }

  getInbox(owner: string, uuid: string): Promise<InboxEntry | undefined> {
    return first(this.db.reader, `SELECT ${INBOX_COLS} FROM room_inbox WHERE owner = ? AND uuid = ?`, [owner, uuid], inbox);
  }

  async setInboxState(owner: string, uuid: string, state: InboxState, platformMessageId?: string): Promise<void> {
    await this.db.write((w) =>
      w.execute({
        sql: 'UPDATE room_inbox SET state = ?, platform_message_id = coalesce(?, platform_message_id) WHERE owner = ? AND uuid = ?',
        args: [state, platformMessageId ?? null, owner, uuid],
      }),
    );
  }

  async isInboxTurn(e: Pick<InboxEntry, 'platform' | 'roomId' | 'seq'>): Promise<boolean> {
    return !(await earlierQueued(this.db.reader, 'room_inbox', e));
  }
}

type SeqTable = 'room_outbox' | 'room_inbox';

async function nextSeq(tx: Executor, table: SeqTable, platform: string, roomId: string): Promise<number> {
  const rs = await tx.execute({ sql: `SELECT coalesce(max(seq), 0) + 1 AS next FROM ${table} WHERE platform = ? AND room_id = ?`, args: [platform, roomId] });
  return num(rs.rows[0]!, 'next');
}

async function earlierQueued(ex: Executor, table: SeqTable, e: { platform: string; roomId: string; seq: number }): Promise<boolean> {
  const rs = await ex.execute({
    sql: `SELECT 1 FROM ${table} WHERE platform = ? AND room_id = ? AND state = 'queued' AND seq < ? LIMIT 1`,
    args: [e.platform, e.roomId, e.seq],
  });
  return rs.rows.length > 0;
}
