/**
 * The store seam: everything roomcast persists, behind one interface so the
 * broadcaster never sees SQL. Every method that writes more than one row does
 * so in one transaction. All rows are scoped by `owner`, the x-only key of the
 * local identity they belong to, so many identities (one per bridged room) can
 * share one database.
 */
import type { ProtocolId } from '../protocol/chat-message.js';
import type { RoomStore } from './rooms.js';
import type { PlatformStateRows } from './platform-state.js';
import type { ActivityQueries } from './activity.js';
import type { CursorStore, FailureReason, SendReport } from '../common/delivery.js';

export type Direction = 'in' | 'out';
/**
 * Outbound: pending (recorded, not yet sent) | sent (≥1 transport delivered) |
 * failed (none did) | acked. Inbound: received.
 */
export type MessageState = 'pending' | 'sent' | 'failed' | 'acked' | 'received';

export interface StoredMessage {
  readonly owner: string;
  readonly uuid: string;
  readonly direction: Direction;
  /** x-only key of the other party (sender for 'in', recipient for 'out'). */
  readonly peer: string;
  readonly fromMagnetLink: string;
  readonly content: string;
  readonly timestamp: number;
  readonly state: MessageState;
  /** Inbound: protocol of the first copy. */
  readonly firstVia?: ProtocolId;
  /** Inbound: local time the first copy arrived. */
  readonly receivedAt?: number;
  /** Outbound: when the first ack arrived, and via which protocol. */
  readonly ackedAt?: number;
  readonly ackedVia?: ProtocolId;
  /** False when the first copy came unsigned (seed MQTT, operator-allowed). */
  readonly verified: boolean;
}

export type ReceiptKind = 'message' | 'ack';

/** One copy of a message (or of an ack for it) seen on one protocol and endpoint. */
export interface Receipt {
  readonly owner: string;
  /** The message's other party: the sender of an inbound message, the recipient (and acknowledger) of ours. */
  readonly peer: string;
  /** The message this receipt is about (for an ack: the original message's uuid). */
  readonly uuid: string;
  readonly kind: ReceiptKind;
  readonly protocol: ProtocolId;
  readonly endpoint: string;
  readonly receivedAt: number;
  /** receivedAt minus the message's own timestamp (or, for acks, minus our send time). */
  readonly latencyMs: number;
}

export interface Contact {
  readonly owner: string;
  readonly name: string;
  readonly magnetLink: string;
  readonly xOnly: string;
  readonly ethAddress: string;
  readonly addedAt: number;
}

/** What is known of one peer's use of one protocol (PROTOCOL.md §2, seed table channel_preferences). */
export interface ChannelPreferenceRow {
  readonly owner: string;
  readonly peer: string;
  readonly protocol: ProtocolId;
  readonly working: boolean;
  readonly lastAckAt?: number;
  /** True running mean of ack latency over `samples` acks. */
  readonly avgLatencyMs?: number;
  readonly samples: number;
  /** 1 = preferred; recomputed from working + avgLatencyMs after every ack. */
  readonly preferenceOrder: number;
  /** The peer said (in its channelPreferences) it cannot use this protocol. */
  readonly cannotUse: boolean;
}

export interface EndpointPerformance {
  readonly protocol: ProtocolId;
  readonly endpoint: string;
  readonly sends: number;
  readonly successes: number;
  readonly failures: number;
  readonly avgLatencyMs?: number;
  readonly lastOkAt?: number;
  readonly lastError?: string;
}

/** One local identity (one bridged room) whose rows share this database. */
export interface StoredIdentity {
  /** x-only key of the identity: the `owner` of all its rows. */
  readonly owner: string;
  readonly magnetLink: string;
  readonly label?: string;
  /** When the identity was first stored (ms); kept on later upserts. */
  readonly createdAt: number;
}

/** The outcome of one send on one endpoint of one transport (one row per transport × endpoint of a send). */
export interface SendResult {
  readonly owner: string;
  readonly uuid: string;
  readonly protocol: ProtocolId;
  readonly endpoint: string;
  readonly ok: boolean;
  readonly latencyMs: number;
  readonly reason?: FailureReason;
  /** Short, secret-free description of the failure (EndpointResult.error). */
  readonly error?: string;
  /** Local time (ms) the send was recorded. */
  readonly at: number;
}

/** A message we send: the parts recorded before and after its delivery. */
export interface OutboundRecord {
  readonly owner: string;
  readonly uuid: string;
  readonly peer: string;
  readonly fromMagnetLink: string;
  readonly content: string;
  readonly timestamp: number;
}

export interface InboundRecord extends OutboundRecord {
  readonly verified: boolean;
  readonly protocol: ProtocolId;
  readonly endpoint: string;
  readonly receivedAt: number;
}

export interface AckRecord {
  readonly owner: string;
  /** The acknowledged message (ours). */
  readonly originalUuid: string;
  readonly peer: string;
  readonly protocol: ProtocolId;
  readonly endpoint: string;
  readonly receivedAt: number;
}

export interface AckOutcome {
  /** False when no outbound message of ours has that uuid (the ack is ignored, nothing written). */
  readonly known: boolean;
  /** True for the first ack copy of this message on any protocol. */
  readonly firstAck: boolean;
  /** True for the first ack copy of this message on this protocol. */
  readonly firstOnProtocol: boolean;
  /** Ack latency: receivedAt minus the original message's timestamp. */
  readonly latencyMs: number;
}

/**
 * Messages are named by (owner, peer, uuid): a uuid is the sender's choice, so
 * it names a message only together with the sender (`peer`, as authenticated),
 * and one message of ours sent to several peers under one uuid is one row per
 * peer. Methods that take a uuid without a peer find our message with that
 * uuid (the first, if several); pass the peer when you know it.
 */
export interface Store extends CursorStore {
  /**
   * Records one inbound copy of a message: in one transaction, inserts the
   * message if its (owner, peer, uuid) is new, and always a 'message' receipt.
   * `first` is true for exactly one call per (owner, peer, uuid), even across
   * restarts and concurrent calls: another sender's copy with the same uuid is
   * another message and never hides this one.
   */
  recordInbound(r: InboundRecord): Promise<{ first: boolean; latencyMs: number }>;
  /** Removes inbound message (owner, peer, uuid) and its receipts, so its next copy counts as the first. */
  forgetInbound(owner: string, peer: string, uuid: string): Promise<void>;
  /** Records a message we sent (state from whether any report is ok) and updates endpoint performance, in one transaction. */
  recordOutbound(m: OutboundRecord, reports: readonly SendReport[]): Promise<void>;
  /**
   * Records one copy of an ack: in one transaction, an 'ack' receipt, the
   * message's state 'acked' (first ack only), and the peer's channel
   * preference for that protocol (working, lastAckAt, running mean latency —
   * only for the first ack copy per protocol — and preference order). Only
   * the message's recipient can ack it: from anyone else, `known: false` and
   * nothing written. The caller passes only authenticated (signed) acks.
   */
  recordAck(a: AckRecord): Promise<AckOutcome>;
  /** Applies a peer's stated channelPreferences (cannotUse flags) to its rows. */
  applyStatedPreferences(owner: string, peer: string, stated: ReadonlyArray<{ protocol: ProtocolId; cannotUse: boolean }>): Promise<void>;
  /** Marks a protocol as not working for a peer (e.g. repeated send failures); re-ranks. */
  markNotWorking(owner: string, peer: string, protocol: ProtocolId): Promise<void>;

  /** The message (owner, peer, uuid); without `peer`, ours with that uuid, else the first inbound one to arrive. */
  getMessage(owner: string, uuid: string, peer?: string): Promise<StoredMessage | undefined>;
  /** Newest first. */
  listMessages(owner: string, limit: number): Promise<StoredMessage[]>;
  /** Oldest first; `peer` as for getMessage. */
  getReceipts(owner: string, uuid: string, peer?: string): Promise<Receipt[]>;
  /** Sorted by preferenceOrder. */
  getChannelPreferences(owner: string, peer: string): Promise<ChannelPreferenceRow[]>;
  getPerformance(): Promise<EndpointPerformance[]>;

  /** Adds or replaces (same owner + name) a contact. Throws ContactConflictError if another name has the same key. */
  addContact(c: Omit<Contact, 'addedAt'>): Promise<Contact>;
  /** True when a contact was removed. */
  removeContact(owner: string, name: string): Promise<boolean>;
  listContacts(owner: string): Promise<Contact[]>;
  findContactByKey(owner: string, xOnly: string): Promise<Contact | undefined>;
  findContactByName(owner: string, name: string): Promise<Contact | undefined>;

  /**
   * Adds a local identity, or updates its magnet link (and label, when one is
   * given) if it exists; createdAt is kept. Added to the seam by the store
   * implementation.
   */
  upsertIdentity(i: { owner: string; magnetLink: string; label?: string }): Promise<void>;
  /** Every local identity, oldest first. */
  listIdentities(): Promise<StoredIdentity[]>;
  /** The per-endpoint results of every send of our messages with that uuid (retries included; every peer's), oldest first. */
  getSendResults(owner: string, uuid: string): Promise<SendResult[]>;

  /** Bridged rooms, their outboxes and inboxes. */
  readonly rooms: RoomStore;
  /** Read-only queries for the operators' status page. */
  readonly activity: ActivityQueries;
  /** Durable key-value state of one platform (its sync position, …), keyed by the platform's id. */
  platformState(platform: string): PlatformStateRows;

  close(): Promise<void>;
}

export class ContactConflictError extends Error {
  constructor(readonly existingName: string) {
    super(`that identity is already a contact named "${existingName}"`);
    this.name = 'ContactConflictError';
  }
}
