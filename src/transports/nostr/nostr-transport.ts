/**
 * The Nostr transport (docs/nostr-framing.md): every configured relay, all
 * used in parallel, over the process's shared sockets (SharedRelay: one per
 * relay, whatever the number of identities). Sends NIP-17 gift wraps to peers that
 * advertise 'nip17' and seed-format kind 4 to everyone else; listens for both
 * on every relay, authenticates every copy, and resumes each relay from a
 * persisted cursor after an outage or a restart.
 */
import type { Logger } from '../../observability/logger.js';
import { redactUrl, summarize } from '../transport.js';
import type {
  EndpointResult,
  EndpointStatus,
  FailureReason,
  InboundEnvelope,
  OutboundPayload,
  Peer,
  SendReport,
  Transport,
  TransportCapabilities,
  TransportContext,
} from '../transport.js';
import { NostrConfigSchema } from './config.js';
import type { NostrConfig, NostrConfigInput } from './config.js';
import { cursorKey, ResumeCursor } from './cursor.js';
import { buildOutboundEvent, FramingError } from './framing.js';
import { InboundOpener, OPENED_MEMORY_KEY, openedMemory } from './inbound.js';
import { SharedRelay } from './shared-relay.js';
import type { RelayMember } from './shared-relay.js';
import { ConnectionPool } from '../connection-pool.js';
import type { Lease } from '../connection-pool.js';

interface RelaySlot {
  readonly relay: Lease<SharedRelay>;
  readonly member: RelayMember;
}

export class NostrTransport implements Transport {
  readonly id = 'nostr' as const;
  readonly capabilities: TransportCapabilities;
  readonly config: NostrConfig;
  private readonly slots: RelaySlot[];
  private readonly opener: InboundOpener;
  private readonly log: Logger;
  private readonly listen: boolean;
  private onEnvelope: ((e: InboundEnvelope) => Promise<void>) | undefined;
  private started = false;
  private stopping: Promise<void> | undefined;

  /** Throws (ZodError) when `config` is invalid; never connects before start(). */
  constructor(
    config: NostrConfigInput,
    private readonly ctx: TransportContext,
  ) {
    this.config = NostrConfigSchema.parse(config);
    this.log = ctx.log;
    this.listen = ctx.listen !== false;
    const labels = this.config.relays.map((url) => redactUrl(url));
    this.capabilities = { maxBytes: ctx.maxMessageBytes, encrypts: true, endpoints: labels };
    // Largest frame worth reading: an EVENT frame around the largest content we would open.
    const maxFrameBytes = Math.max(1 << 20, 8 * ctx.maxMessageBytes + 65_536);
    // Without a process pool the transport has sockets of its own, owned by its identity.
    const pool = ctx.pool ?? new ConnectionPool({ owner: ctx.identity });
    this.opener = new InboundOpener(ctx.identity, ctx.maxMessageBytes, pool.shared(OPENED_MEMORY_KEY, () => openedMemory()));
    const connection = {
      connectTimeoutMs: this.config.connectTimeoutMs,
      reconnectMinMs: this.config.reconnectMinMs,
      reconnectMaxMs: this.config.reconnectMaxMs,
      pingIntervalMs: this.config.pingIntervalMs,
      maxFrameBytes,
    };
    this.slots = this.config.relays.map((url, i) => {
      const label = labels[i]!;
      const cursor = new ResumeCursor(
        ctx.cursors,
        cursorKey(ctx.identity.xOnly, label),
        {
          ownXOnly: ctx.identity.xOnly,
          slackSec: this.config.resumeSlackSec,
          firstStartLookbackSec: this.config.firstStartLookbackSec,
        },
        this.log,
      );
      const relay = pool.lease(
        `nostr|${this.listen ? 'listen' : 'send'}|${maxFrameBytes}|${url}`,
        () => new SharedRelay({ url, label, connection, owner: pool.owner, listen: this.listen, log: this.log }),
      );
      const member: RelayMember = {
        identity: ctx.identity,
        cursor,
        onEvent: (raw, receivedAt) => this.handleEvent(label, cursor, raw, receivedAt),
      };
      return { relay, member };
    });
  }

  async start(onEnvelope: (e: InboundEnvelope) => Promise<void>): Promise<void> {
    if (this.stopping) throw new Error('nostr transport was stopped; create a new one');
    if (this.started) throw new Error('nostr transport already started');
    this.started = true;
    this.onEnvelope = onEnvelope;
    await Promise.all(this.slots.map((s) => s.relay.value.join(this.listen ? s.member : undefined)));
    const up = this.slots.filter((s) => s.relay.value.main.connected).length;
    this.log.debug({ relays: this.slots.length, connected: up }, 'nostr transport listening');
  }

  async send(to: Peer, payload: OutboundPayload, onAccepted?: (endpoint: string) => void): Promise<SendReport> {
    const t0 = Date.now();
    const all = (reason: FailureReason, error: string): SendReport =>
      summarize(
        this.id,
        this.slots.map((s) => ({ endpoint: s.relay.value.label, ok: false, latencyMs: Date.now() - t0, reason, error })),
      );
    if (this.stopping) return all('unreachable', 'transport stopped');
    const bytes = Buffer.byteLength(payload.json, 'utf8');
    if (bytes > this.ctx.maxMessageBytes) {
      return all('rejected', `message is ${bytes} bytes, larger than the ${this.ctx.maxMessageBytes}-byte limit`);
    }
    if (!this.slots.some((s) => s.relay.value.main.connected)) return all('unreachable', 'no relay connected');

    let frame: string;
    let eventId: string;
    let framing: string;
    try {
      const built = buildOutboundEvent(this.ctx.identity, to.identity, payload.json);
      eventId = built.event.id;
      framing = built.framing;
      frame = JSON.stringify(['EVENT', built.event]);
    } catch (err) {
      const reason: FailureReason = err instanceof FramingError ? 'rejected' : 'error';
      return all(reason, `cannot frame message: ${err instanceof Error ? err.message : String(err)}`);
    }

    const results = await Promise.all(
      this.slots.map(async (s): Promise<EndpointResult> => {
        const relay = s.relay.value;
        const outcome = await relay.main.publish(eventId, frame, this.config.publishTimeoutMs);
        const latencyMs = Date.now() - t0;
        if (outcome.ok) onAccepted?.(relay.label);
        return outcome.ok
          ? { endpoint: relay.label, ok: true, latencyMs }
          : { endpoint: relay.label, ok: false, latencyMs, reason: outcome.reason, error: outcome.error };
      }),
    );
    const report = summarize(this.id, results);
    this.log.debug(
      { uuid: payload.uuid, framing, accepted: results.filter((r) => r.ok).length, relays: results.length },
      'nostr: sent',
    );
    return report;
  }

  status(): EndpointStatus[] {
    return this.slots.map((s) => s.relay.value.connectionOf(this.ctx.identity.xOnly).status());
  }

  /** Leaves the shared sockets (the last one out closes them), saving where each relay's stream was handled up to. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      await Promise.all(
        this.slots.map(async (s) => {
          await s.relay.value.leave(this.ctx.identity.xOnly);
          await s.relay.release();
        }),
      );
      this.log.debug('nostr transport stopped');
    })();
    return this.stopping;
  }

  /** One EVENT from one relay: authenticate (once per distinct event), then hand over this copy. */
  private async handleEvent(endpoint: string, cursor: ResumeCursor, raw: unknown, receivedAt: number): Promise<void> {
    const outcome = this.opener.open(raw);
    if (!outcome.ok) {
      if (outcome.fresh) {
        try {
          this.ctx.reject({ transport: this.id, endpoint }, outcome.rejection);
        } catch (err) {
          this.log.warn({ err: String(err) }, 'nostr: reject sink failed');
        }
      }
      return;
    }
    const event = outcome.event!;
    const handler = this.onEnvelope;
    if (!handler) return;
    try {
      await handler({
        transport: this.id,
        endpoint,
        sender: { kind: 'xonly', key: outcome.sender },
        verified: true,
        body: outcome.body,
        receivedAt,
      });
      cursor.release(event.id);
    } catch (err) {
      // Not taken: keep it inside the window the next subscription asks for.
      cursor.hold(event.id, event.kind, event.created_at);
      this.log.warn({ relay: endpoint, err: err instanceof Error ? err.message : String(err) }, 'nostr: envelope handler failed');
    }
  }
}

/** Builds the Nostr transport from its config section. */
export function createNostrTransport(config: NostrConfigInput, ctx: TransportContext): NostrTransport {
  return new NostrTransport(config, ctx);
}
