/**
 * The transport seam: one outgoing network (Nostr, XMTP, MQTT) with any number
 * of endpoints (relays, brokers). The broadcaster talks to every transport
 * through this interface only; what differs between networks is data
 * (`capabilities`), never a check of `id` in shared code.
 */
import type { Identity, PublicIdentity } from '../identity/keys.js';
import type { ProtocolId, Rejection } from '../protocol/chat-message.js';
import type { Logger } from '../observability/logger.js';

export type TransportId = ProtocolId;

export interface TransportCapabilities {
  /** Largest ChatMessage JSON (bytes, UTF-8) this transport will carry. */
  readonly maxBytes: number;
  /** True when content is end-to-end encrypted to peers that advertise support. */
  readonly encrypts: boolean;
  /** Endpoint labels (URLs with any credentials removed), in configuration order. */
  readonly endpoints: readonly string[];
}

/**
 * Why one endpoint (or a whole transport) failed a send.
 * 'upgrade-required': the network refuses this client's version (XMTP's
 * cut-over to its decentralised network); nothing but a newer roomcast helps.
 */
export type FailureReason = 'timeout' | 'rejected' | 'unreachable' | 'error' | 'upgrade-required';

/**
 * Failures that a retry of the same send cannot cure: a job does not retry
 * them, and a transport does not retry them in the background.
 */
export function isPermanentFailure(reason: FailureReason | undefined): boolean {
  return reason === 'upgrade-required';
}

export interface EndpointResult {
  readonly endpoint: string;
  readonly ok: boolean;
  /** Milliseconds from the start of the send until this endpoint confirmed or failed. */
  readonly latencyMs: number;
  readonly reason?: FailureReason;
  /** Short, secret-free description of the failure. */
  readonly error?: string;
}

export interface SendReport {
  readonly transport: TransportId;
  /** True when at least one endpoint accepted the message. */
  readonly ok: boolean;
  /** One entry per configured endpoint, in configuration order. */
  readonly endpoints: readonly EndpointResult[];
  /** Latency of the fastest endpoint that accepted; of the slowest failure when none did. */
  readonly latencyMs: number;
  /** Set when ok is false. */
  readonly reason?: FailureReason;
  readonly error?: string;
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

/** Small persistent key → number map, e.g. a relay's last-seen `created_at`, so a restart resumes where it stopped. */
export interface CursorStore {
  getCursor(key: string): Promise<number | undefined>;
  setCursor(key: string, value: number): Promise<void>;
}

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
   */
  send(to: Peer, payload: OutboundPayload): Promise<SendReport>;
  /** Connection state of each endpoint, in configuration order. */
  status(): EndpointStatus[];
  /** Closes every connection; idempotent; after it, send reports failure. */
  stop(): Promise<void>;
}

/** Builds a SendReport from per-endpoint results (shared so every transport reports alike). */
export function summarize(transport: TransportId, endpoints: EndpointResult[]): SendReport {
  const ok = endpoints.filter((e) => e.ok);
  if (ok.length > 0) {
    return { transport, ok: true, endpoints, latencyMs: Math.min(...ok.map((e) => e.latencyMs)) };
  }
  const first = endpoints[0];
  return {
    transport,
    ok: false,
    endpoints,
    latencyMs: endpoints.length ? Math.max(...endpoints.map((e) => e.latencyMs)) : 0,
    reason: first?.reason ?? 'unreachable',
    error: endpoints.length === 0 ? 'no endpoints configured' : (first?.error ?? 'failed'),
  };
}

/** A URL without user, password or query (which may hold tokens), for logs and reports. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    u.search = '';
    u.hash = '';
    return u.toString().replace(/\/$/, '');
  } catch {
    return '(invalid url)';
  }
}
