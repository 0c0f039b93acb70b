/**
 * The transport seam: one outgoing network (Nostr, XMTP, MQTT) with any number
 * of endpoints (relays, brokers). The broadcaster talks to every transport
 * through this interface only; what differs between networks is data
 * (`capabilities`), never a check of `id` in shared code.
 */
import type { Identity, PublicIdentity } from '../identity/keys.js';
import type { ProtocolId, Rejection } from '../protocol/chat-message.js';
import type { Logger } from '../observability/logger.js';
import type { ConnectionPool } from './connection-pool.js';
import type { HandOff } from './hand-off.js';

export type TransportId = ProtocolId;

export type { CursorStore, EndpointResult, FailureReason, SendReport } from '../common/delivery.js';
export { isPermanentFailure, summarize } from '../common/delivery.js';
export { redactUrl } from '../common/redact-url.js';
import type { CursorStore, FailureReason, SendReport } from '../common/delivery.js';

export interface TransportCapabilities {
  /** Largest ChatMessage JSON (bytes, UTF-8) this transport will carry. */
  readonly maxBytes: number;
  /** True when content is end-to-end encrypted to peers that advertise support. */
  readonly encrypts: boolean;
  /** Endpoint labels (URLs with any credentials removed), in configuration order. */
  readonly endpoints: readonly string[];
}

/** A recipient as transports see it: its public identity, whose capabilities pick the wire format. */
export interface Peer {
  readonly identity: PublicIdentity;
}

/** One message to send: the ChatMessage JSON and its uuid (for logs and reports). */
export interface OutboundPayload {
  readonly uuid: string;
  readonly json: string;
}

/** Who sent an inbound copy, as proven by the transport. */
export type SenderProof =
  | { readonly kind: 'xonly'; readonly key: string }
  | { readonly kind: 'eth'; readonly address: string };

/** One authenticated, decrypted inbound copy. */
export interface InboundEnvelope {
  readonly transport: TransportId;
  readonly endpoint: string;
  readonly sender: SenderProof;
  /** False only for unsigned seed MQTT copies, accepted because the operator allowed them. */
  readonly verified: boolean;
  /** The ChatMessage JSON, decrypted; not yet parsed. */
  readonly body: string;
  /** Local clock (ms) when this copy arrived. */
  readonly receivedAt: number;
}

export interface EndpointStatus {
  readonly endpoint: string;
  readonly connected: boolean;
  /** ms timestamp of the last change of `connected`. */
  readonly since: number;
  readonly lastError?: string;
  /** Why it is down, when the transport knows ('upgrade-required': the network refuses this client version). */
  readonly reason?: FailureReason;
}

/** Where transports report input they refused; counted and logged once by the receiver. */
export type RejectSink = (source: { transport: TransportId; endpoint: string }, rejection: Rejection) => void;

/** What every transport is constructed with, besides its own config section. */
export interface TransportContext {
  readonly identity: Identity;
  readonly log: Logger;
  readonly reject: RejectSink;
  readonly cursors: CursorStore;
  /** Upper bound for ChatMessage JSON size accepted inbound and sent outbound. */
  readonly maxMessageBytes: number;
  /**
   * False for a send-only transport (a queue worker sending for a room that
   * another process listens for): it subscribes to nothing and must not take
   * the listener's place on the network (MQTT: a per-process client id with a
   * clean session instead of the identity's persistent one). Default true.
   */
  readonly listen?: boolean;
  /**
   * The process's shared connections (one per endpoint, whatever the number
   * of identities). Without it a transport opens connections of its own.
   */
  readonly pool?: ConnectionPool;
  /** Send-only: where sends on listener-only networks go (registry.ts). */
  readonly handOff?: HandOff;
  /**
   * Whom this identity talks to (a room's contacts), when it has a known set:
   * a network whose client costs one per identity may keep it closed while
   * none of them is on that network. Absent: always open.
   */
  readonly peers?: () => Promise<readonly PublicIdentity[]>;
}

export interface StopOptions {
  /**
   * The identity is no longer served (its room is no longer bridged): the
   * networks are told to stop keeping its messages (MQTT unsubscribes its
   * topics from the persistent session). Without it they keep them for the
   * next start.
   */
  readonly forget?: boolean;
}

export interface Transport {
  readonly id: TransportId;
  readonly capabilities: TransportCapabilities;
  /**
   * Connects to every endpoint and starts listening. Resolves once listening
   * is set up on the endpoints reachable now; endpoints that are down keep
   * retrying in the background with backoff, so start never fails because one
   * (or every) endpoint is down. `onEnvelope` receives each authenticated copy,
   * once per endpoint it arrived on; it is awaited, and a copy whose handler
   * throws is not acknowledged to the network where the network allows it.
   */
  start(onEnvelope: (e: InboundEnvelope) => Promise<void>): Promise<void>;
  /**
   * Sends to every endpoint in parallel. Never throws for a failed endpoint or
   * an unreachable network: reports it. Bounded by the transport's timeout.
   * `onAccepted` is called as each endpoint accepts the payload (a broker's
   * PUBACK, a relay's OK), at most once per endpoint and before send
   * resolves, so a caller can go on at the first endpoint's pace while a slow
   * one is still being waited for; it must not throw.
   */
  send(to: Peer, payload: OutboundPayload, onAccepted?: (endpoint: string) => void): Promise<SendReport>;
  /** Connection state of each endpoint, in configuration order. */
  status(): EndpointStatus[];
  /** Closes every connection it holds (shared ones close with their last user); idempotent; after it, send reports failure. */
  stop(opts?: StopOptions): Promise<void>;
}

