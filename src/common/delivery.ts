/**
 * What a send produced, per network and per endpoint, and the small cursor
 * map transports resume from: types the transports, the broadcaster, the
 * store and the bridge all speak, kept below every one of them so none has
 * to import another's module for them.
 */
import type { ProtocolId } from '../protocol/chat-message.js';

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
  readonly transport: ProtocolId;
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

/** Small persistent key → number map, e.g. a relay's last-seen `created_at`, so a restart resumes where it stopped. */
export interface CursorStore {
  getCursor(key: string): Promise<number | undefined>;
  setCursor(key: string, value: number): Promise<void>;
}

/** Builds a SendReport from per-endpoint results (shared so every transport reports alike). */
export function summarize(transport: ProtocolId, endpoints: EndpointResult[]): SendReport {
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
