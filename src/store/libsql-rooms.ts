/**
 * The room store on libsql (RoomStore, rooms.ts): rooms, outboxes, inboxes
 * and outbox copies, with the turn queries that keep each room in order.
 */
import { randomUUID } from 'node:crypto';
import type { Row } from '@libsql/client';
import type { Turn } from '../common/turn.js';
import { compact, num, optNum, optStr, str } from './db.js';
import type { Db, Executor } from './db.js';
import { InboxFullError } from './rooms.js';
import type { InboxEntry, InboxLimits, InboxState, NewInboxEntry, NewOutboxEntry, OutboxCopy, OutboxEntry, OutboxState, RoomRecord, RoomStore } from './rooms.js';

const ROOM_COLS = 'platform, room_id, owner, sealed_key, created_at';
const ROOM_READ_COLS = `${ROOM_COLS}, left_at`;
const OUTBOX_COLS = 'platform, room_id, seq, uuid, sender_id, sender_name, text, platform_message_id, created_at, state, receipt_post_id';
const INBOX_COLS = 'platform, room_id, seq, owner, uuid, message_uuid, peer, state, platform_message_id, gathered_into';

function room(r: Row): RoomRecord {
  return compact({
    platform: str(r, 'platform'),
    roomId: str(r, 'room_id'),
    owner: str(r, 'owner'),
    sealedKey: str(r, 'sealed_key'),
    createdAt: num(r, 'created_at'),
    leftAt: optNum(r, 'left_at'),
  });
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
    messageUuid: str(r, 'message_uuid'),
    peer: optStr(r, 'peer'),
    state: str(r, 'state') as InboxState,
    platformMessageId: optStr(r, 'platform_message_id'),
    gatheredInto: optStr(r, 'gathered_into'),
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
    return first(this.db.reader, `SELECT ${ROOM_READ_COLS} FROM rooms WHERE platform = ? AND room_id = ?`, [platform, roomId], room);
  }

  getRoomByOwner(owner: string): Promise<RoomRecord | undefined> {
    return first(this.db.reader, `SELECT ${ROOM_READ_COLS} FROM rooms WHERE owner = ?`, [owner], room);
  }

  async createRoom(r: Omit<RoomRecord, 'createdAt'>): Promise<RoomRecord> {
    return this.db.write((w) =>
      w.transaction(async (tx) => {
        await tx.execute({
          sql: `INSERT INTO rooms (${ROOM_COLS}) VALUES (?, ?, ?, ?, ?) ON CONFLICT (platform, room_id) DO NOTHING`,
          args: [r.platform, r.roomId, r.owner, r.sealedKey, this.now()],
        });
        const stored = await first(tx, `SELECT ${ROOM_READ_COLS} FROM rooms WHERE platform = ? AND room_id = ?`, [r.platform, r.roomId], room);
        if (!stored) throw new Error('room vanished while it was being created');
        return stored;
      }),
    );
  }

  async listRooms(): Promise<RoomRecord[]> {
    const rs = await this.db.read(`SELECT ${ROOM_READ_COLS} FROM rooms ORDER BY created_at, platform, room_id`);
    return rs.rows.map(room);
  }

  async setRoomLeft(platform: string, roomId: string, at: number | undefined): Promise<boolean> {
    const rs = await this.db.write((w) => w.execute({ sql: 'UPDATE rooms SET left_at = ? WHERE platform = ? AND room_id = ?', args: [at ?? null, platform, roomId] }));
    return rs.rowsAffected > 0;
  }

  findOutboxByPost(platform: string, roomId: string, platformMessageId: string): Promise<OutboxEntry | undefined> {
    return first(
      this.db.reader,
      `SELECT ${OUTBOX_COLS} FROM room_outbox WHERE platform = ? AND room_id = ? AND platform_message_id = ? ORDER BY seq LIMIT 1`,
      [platform, roomId, platformMessageId],
      outbox,
    );
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
    await this.db.write((w) => w.execute({ sql: 'UPDATE room_outbox SET receipt_post_id = ? WHERE uuid = ?', args: [postId, uuid] }), { lazy: true });
  }

  async outboxTurn(e: Pick<OutboxEntry, 'platform' | 'roomId' | 'seq'>, passed?: ReadonlySet<string>): Promise<Turn> {
    if (!passed || passed.size === 0) return turn(this.db.reader, 'room_outbox', e);
    // Enough earlier entries to see past every passed one; a full page may hide more (counted as one).
    const limit = 2 + Math.min(passed.size, 64);
    const rs = await this.db.read({
      sql: `SELECT uuid FROM room_outbox WHERE platform = ? AND room_id = ? AND state = 'queued' AND seq < ? LIMIT ?`,
      args: [e.platform, e.roomId, e.seq, limit],
    });
    const waiting = rs.rows.filter((r) => !passed.has(str(r, 'uuid'))).length + (rs.rows.length === limit ? 1 : 0);
    return waiting === 0 ? 'now' : waiting === 1 ? 'next' : 'later';
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

  async queuedInboxAfter(e: Pick<InboxEntry, 'platform' | 'roomId' | 'seq'>, limit: number): Promise<InboxEntry[]> {
    const rs = await this.db.read({
      sql: `SELECT ${INBOX_COLS} FROM room_inbox WHERE platform = ? AND room_id = ? AND state = 'queued' AND seq > ? ORDER BY seq LIMIT ?`,
      args: [e.platform, e.roomId, e.seq, limit],
    });
    return rs.rows.map(inbox);
  }

  async setInboxPosted(owner: string, uuids: readonly string[], platformMessageId: string): Promise<void> {
    if (uuids.length === 0) return;
    await this.db.write((w) =>
      w.execute({
        sql: `UPDATE room_inbox SET state = 'posted', platform_message_id = ? WHERE owner = ? AND uuid IN (${uuids.map(() => '?').join(', ')})`,
        args: [platformMessageId, owner, ...uuids],
      }),
    );
  }

  async gatherInbox(owner: string, leader: string, uuids: readonly string[]): Promise<void> {
    if (uuids.length === 0) return;
    await this.db.write((w) =>
      w.execute({
        sql: `UPDATE room_inbox SET gathered_into = ? WHERE owner = ? AND state = 'queued' AND uuid IN (${uuids.map(() => '?').join(', ')})`,
        args: [leader, owner, ...uuids],
      }),
    );
  }

  async enqueueInbox(e: NewInboxEntry, limits: InboxLimits = {}): Promise<InboxEntry> {
    return this.db.write((w) =>
      w.transaction(async (tx) => {
        const existing =
          e.peer === undefined
            ? await first(tx, `SELECT ${INBOX_COLS} FROM room_inbox WHERE owner = ? AND uuid = ?`, [e.owner, e.uuid], inbox)
            : await first(tx, `SELECT ${INBOX_COLS} FROM room_inbox WHERE owner = ? AND peer = ? AND message_uuid = ?`, [e.owner, e.peer, e.uuid], inbox);
        if (existing) return existing;
        const max = limits.maxQueuedFromStrangers;
        if (max !== undefined && !(await isContact(tx, e.owner, e.peer))) {
          const queued = await queuedFromStrangers(tx, e.platform, e.roomId);
          if (queued >= max) throw new InboxFullError(queued, max);
        }
        const taken = await first(tx, 'SELECT 1 AS taken FROM room_inbox WHERE owner = ? AND uuid = ?', [e.owner, e.uuid], () => true);
        const key = taken ? randomUUID() : e.uuid;
        const seq = await nextSeq(tx, 'room_inbox', e.platform, e.roomId);
        await tx.execute({
          sql: 'INSERT INTO room_inbox (platform, room_id, seq, owner, uuid, message_uuid, peer) VALUES (?, ?, ?, ?, ?, ?, ?)',
          args: [e.platform, e.roomId, seq, e.owner, key, e.uuid, e.peer ?? null],
        });
        return compact({ platform: e.platform, roomId: e.roomId, seq, owner: e.owner, uuid: key, messageUuid: e.uuid, peer: e.peer, state: 'queued' as const });
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

  inboxTurn(e: Pick<InboxEntry, 'platform' | 'roomId' | 'seq'>): Promise<Turn> {
    return turn(this.db.reader, 'room_inbox', e);
  }

  async listOutboxByReceiptPost(platform: string, roomId: string, postId: string): Promise<OutboxEntry[]> {
    const rs = await this.db.read({
      sql: `SELECT ${OUTBOX_COLS} FROM room_outbox WHERE platform = ? AND room_id = ? AND receipt_post_id = ? ORDER BY seq`,
      args: [platform, roomId, postId],
    });
    return rs.rows.map(outbox);
  }

  async setOutboxReceiptPosts(uuids: readonly string[], postId: string): Promise<void> {
    if (uuids.length === 0) return;
    await this.db.write((w) =>
      w.execute({ sql: `UPDATE room_outbox SET receipt_post_id = ? WHERE uuid IN (${uuids.map(() => '?').join(', ')})`, args: [postId, ...uuids] }),
    );
  }

  async listQueuedOutbox(limit: number): Promise<OutboxEntry[]> {
    const rs = await this.db.read({ sql: `SELECT ${OUTBOX_COLS} FROM room_outbox WHERE state = 'queued' ORDER BY platform, room_id, seq LIMIT ?`, args: [limit] });
    return rs.rows.map(outbox);
  }

  async listQueuedInbox(limit: number): Promise<InboxEntry[]> {
    const rs = await this.db.read({ sql: `SELECT ${INBOX_COLS} FROM room_inbox WHERE state = 'queued' ORDER BY platform, room_id, seq LIMIT ?`, args: [limit] });
    return rs.rows.map(inbox);
  }
}

type SeqTable = 'room_outbox' | 'room_inbox';

async function isContact(tx: Executor, owner: string, peer: string | undefined): Promise<boolean> {
  if (peer === undefined) return false;
  const rs = await tx.execute({ sql: 'SELECT 1 FROM contacts WHERE owner = ? AND x_only = ? LIMIT 1', args: [owner, peer] });
  return rs.rows.length > 0;
}

/** Queued inbox entries of one room whose sender is not (now) a contact of the entry's room identity. */
async function queuedFromStrangers(tx: Executor, platform: string, roomId: string): Promise<number> {
  const rs = await tx.execute({
    sql: `SELECT count(*) AS n FROM room_inbox i WHERE i.platform = ? AND i.room_id = ? AND i.state = 'queued'
          AND NOT EXISTS (SELECT 1 FROM contacts c WHERE c.owner = i.owner AND c.x_only = i.peer)`,
    args: [platform, roomId],
  });
  return num(rs.rows[0]!, 'n');
}

async function nextSeq(tx: Executor, table: SeqTable, platform: string, roomId: string): Promise<number> {
  const rs = await tx.execute({ sql: `SELECT coalesce(max(seq), 0) + 1 AS next FROM ${table} WHERE platform = ? AND room_id = ?`, args: [platform, roomId] });
  return num(rs.rows[0]!, 'next');
}

async function turn(ex: Executor, table: SeqTable, e: { platform: string; roomId: string; seq: number }): Promise<Turn> {
  const rs = await ex.execute({
    sql: `SELECT count(*) AS n FROM (SELECT 1 FROM ${table} WHERE platform = ? AND room_id = ? AND state = 'queued' AND seq < ? LIMIT 2)`,
    args: [e.platform, e.roomId, e.seq],
  });
  const earlier = num(rs.rows[0]!, 'n');
  return earlier === 0 ? 'now' : earlier === 1 ? 'next' : 'later';
}
