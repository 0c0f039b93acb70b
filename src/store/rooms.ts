/**
 * Bridged rooms: each room's identity (sealed private keys), its outbox (what
 * people wrote, in order, until every contact has it) and its inbox (what
 * contacts sent, in order, until it is posted). Ordering across several
 * workers is decided here: an entry's turn comes when no earlier entry of the
 * same room is still queued.
 */
import type { Turn } from '../common/turn.js';

export interface RoomRecord {
  readonly platform: string;
  readonly roomId: string;
  /** x-only key of the room's identity: the `owner` of its rows in every other table. */
  readonly owner: string;
  /** The room's private keys, sealed with the service key (src/bridge/room-keys.ts). */
  readonly sealedKey: string;
  readonly createdAt: number;
  /** When the bot was removed from the room (kicked, banned); absent while the room is bridged. */
  readonly leftAt?: number;
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
  /**
   * The entry's key, unique per owner, which its queue job carries: the
   * message's uuid, unless another sender's message to the same identity
   * already had that uuid (then a random one), so each sender's message gets
   * its own entry and job.
   */
  readonly uuid: string;
  /** The inbound message's uuid (its text is in `messages`, under owner, peer, messageUuid). */
  readonly messageUuid: string;
  /** The sender's x-only key; absent only for an entry queued before schema 4 whose message was gone. */
  readonly peer?: string;
  readonly state: InboxState;
  readonly platformMessageId?: string;
  /** Set while queued when a post gathering several messages will carry this one: the uuid of that post's first message. */
  readonly gatheredInto?: string;
}

/** An inbound message for a room's inbox. */
export interface NewInboxEntry {
  readonly platform: string;
  readonly roomId: string;
  readonly owner: string;
  /** The message's uuid. */
  readonly uuid: string;
  /**
   * The sender's x-only key, as authenticated. Always give it: without it the
   * entry is keyed by the uuid alone (as before schema 4), and a second
   * sender's message with the same uuid is taken for the first one's.
   */
  readonly peer?: string;
}

export interface InboxLimits {
  /**
   * At most this many queued (not yet posted) entries per room from senders
   * who are not contacts of the room identity: one more is refused with
   * InboxFullError. Contacts' messages are never refused.
   */
  readonly maxQueuedFromStrangers?: number;
}

/** The room's inbox already holds the most queued messages from non-contacts it may; nothing was written. */
export class InboxFullError extends Error {
  constructor(
    readonly queued: number,
    readonly max: number,
  ) {
    super(`the room already has ${queued} queued messages from senders who are not contacts (at most ${max})`);
    this.name = 'InboxFullError';
  }
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
  /** Oldest first, rooms the bot has left included (see `leftAt`). */
  listRooms(): Promise<RoomRecord[]>;
  /** Marks the room as left (the bot was removed) at `at`, or as bridged again with undefined; false when the room is unknown. */
  setRoomLeft(platform: string, roomId: string, at: number | undefined): Promise<boolean>;
  /** The outbox row of the room message the platform knows as `platformMessageId`, if it was bridged. */
  findOutboxByPost(platform: string, roomId: string, platformMessageId: string): Promise<OutboxEntry | undefined>;

  /** Appends to the room's outbox with the next seq; idempotent by uuid (returns the existing entry). */
  enqueueOutbox(e: NewOutboxEntry): Promise<OutboxEntry>;
  getOutbox(uuid: string): Promise<OutboxEntry | undefined>;
  setOutboxState(uuid: string, state: OutboxState): Promise<void>;
  /** A lazy write (db.ts): the receipts' loop waits for it, nothing else. */
  setOutboxReceiptPost(uuid: string, postId: string): Promise<void>;
  /**
   * Whose turn it is (see Turn): counts the earlier entries of the same room
   * still queued, except those in `passed` (entries this process has sent to
   * everyone, whose "done" is still being written).
   */
  outboxTurn(entry: Pick<OutboxEntry, 'platform' | 'roomId' | 'seq'>, passed?: ReadonlySet<string>): Promise<Turn>;
  /** The uuid of the room's first still-queued outbox entry after `seq`, whose turn may have come. */
  nextQueuedOutbox(entry: Pick<OutboxEntry, 'platform' | 'roomId' | 'seq'>): Promise<string | undefined>;

  /** Records that `uuid` is the copy of room message `roomUuid` for `contact` (idempotent). */
  addOutboxCopy(c: OutboxCopy): Promise<void>;
  /** The copy a peer's ack names, if it is one of ours. */
  getOutboxCopy(owner: string, uuid: string): Promise<OutboxCopy | undefined>;
  /** Every copy of one room message, by contact. */
  listOutboxCopies(roomUuid: string): Promise<OutboxCopy[]>;

  /**
   * Appends to the room's inbox with the next seq; idempotent by (owner,
   * peer, message uuid): the existing entry is returned. Throws
   * InboxFullError (writing nothing) when the sender is not a contact and
   * `limits.maxQueuedFromStrangers` would be exceeded; the check and the
   * insert are one transaction.
   */
  enqueueInbox(e: NewInboxEntry, limits?: InboxLimits): Promise<InboxEntry>;
  /** The entry with key `uuid` (InboxEntry.uuid, what its job carries). */
  getInbox(owner: string, uuid: string): Promise<InboxEntry | undefined>;
  setInboxState(owner: string, uuid: string, state: InboxState, platformMessageId?: string): Promise<void>;
  /** Whose turn it is (see Turn): counts the earlier entries of the same room still queued. */
  inboxTurn(entry: Pick<InboxEntry, 'platform' | 'roomId' | 'seq'>): Promise<Turn>;
  /** The (owner, uuid) of the room's first still-queued inbox entry after `seq`. */
  nextQueuedInbox(entry: Pick<InboxEntry, 'platform' | 'roomId' | 'seq'>): Promise<{ owner: string; uuid: string } | undefined>;
  /** The room's queued inbox entries after `entry`, in order, at most `limit`. */
  queuedInboxAfter(entry: Pick<InboxEntry, 'platform' | 'roomId' | 'seq'>, limit: number): Promise<InboxEntry[]>;
  /** Marks entries of one owner posted, all in one post, in one statement. */
  setInboxPosted(owner: string, uuids: readonly string[], platformMessageId: string): Promise<void>;
  /** Records that the post of `leader` will carry the queued entries `uuids` too (durable before the post is written). */
  gatherInbox(owner: string, leader: string, uuids: readonly string[]): Promise<void>;
  /**
   * Queued outbox and inbox entries (every room, oldest first, at most
   * `limit`): the recovery sweep checks each still has its job.
   */
  listQueuedOutbox(limit: number): Promise<OutboxEntry[]>;
  /** Room messages whose receipt is shown in notice `postId`, oldest first (several: a summary notice). */
  listOutboxByReceiptPost(platform: string, roomId: string, postId: string): Promise<OutboxEntry[]>;
  /** Points the receipts of several room messages at one (summary) notice, in one write. */
  setOutboxReceiptPosts(uuids: readonly string[], postId: string): Promise<void>;
  listQueuedInbox(limit: number): Promise<InboxEntry[]>;
}
