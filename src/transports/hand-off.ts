/**
 * Sends on a network whose client lives only in the listening process
 * (`listenerOnly` in the registry: XMTP, one client and one local
 * installation per identity). A send-only process (a queue worker) does not
 * create that client; it hands each send to the listener and reports what
 * the listener's transport reported.
 */
import type { Identity } from '../identity/keys.js';
import type { EndpointStatus, OutboundPayload, Peer, SendReport, Transport, TransportCapabilities, TransportId } from './transport.js';
import { summarize } from './transport.js';

/** One send handed to the process that holds the network's client for `from`. */
export interface HandOffRequest {
  readonly network: TransportId;
  /** X-only key of the sending identity (a room). */
  readonly from: string;
  readonly to: Peer;
  readonly payload: OutboundPayload;
}

/** Delivers a hand-off and resolves with the listener's report; never rejects (a failure is a report). */
export type HandOff = (request: HandOffRequest) => Promise<SendReport>;

export class HandOffTransport implements Transport {
  readonly id: TransportId;
  readonly capabilities: TransportCapabilities;
  private last: { ok: boolean; at: number; error?: string } | undefined;
  private stopped = false;

  /** `shape` is the network's own transport, never started: it lends its id and capabilities. */
  constructor(
    shape: Transport,
    private readonly identity: Identity,
    private readonly handOff: HandOff,
  ) {
    this.id = shape.id;
    this.capabilities = shape.capabilities;
  }

  async start(): Promise<void> {
    // Nothing to listen for: the listening process receives for this identity.
  }

  /** The listener reports all endpoints at once: `onAccepted` hears of them when its report arrives. */
  async send(to: Peer, payload: OutboundPayload, onAccepted?: (endpoint: string) => void): Promise<SendReport> {
    if (this.stopped) {
      return summarize(this.id, this.capabilities.endpoints.map((endpoint) => ({ endpoint, ok: false, latencyMs: 0, reason: 'unreachable', error: 'transport stopped' })));
    }
    const report = await this.handOff({ network: this.id, from: this.identity.xOnly, to, payload });
    this.last = { ok: report.ok, at: Date.now(), ...(report.error !== undefined ? { error: report.error } : {}) };
    for (const e of report.endpoints) if (e.ok) onAccepted?.(e.endpoint);
    return report;
  }

  /** As the last hand-off went: this process holds no connection of its own. */
  status(): EndpointStatus[] {
    const error = this.last ? this.last.error : 'sent through the listening process; nothing sent yet';
    return this.capabilities.endpoints.map((endpoint) => ({
      endpoint,
      connected: this.last?.ok ?? false,
      since: this.last?.at ?? 0,
      ...(error !== undefined ? { lastError: error } : {}),
    }));
  }

  async stop(): Promise<void> {
    this.stopped = true;
  }
}
