/**
 * The MQTT transport: several brokers in parallel, topic `dm/<recipient
 * x-only>`, QoS 1, persistent sessions under a stable client id, signed (and
 * to capable peers NIP-44 encrypted) envelopes, seed envelopes to seed peers.
 * See docs/mqtt-envelope.md.
 *
 * One transport serves one identity; its broker clients are the process's
 * (ConnectionPool): one mqtt.js client per broker and role, whatever the
 * number of identities, each joining with its own topics.
 */
import { createHash, randomBytes } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { ParseResult, Rejection } from '../../protocol/chat-message.js';
import { redactUrl, summarize } from '../transport.js';
import type {
  StopOptions,
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
import { ConnectionPool } from '../connection-pool.js';
import type { Lease } from '../connection-pool.js';
import { mqttClientId } from './broker-connection.js';
import type { MqttConfig } from './config.js';
import { SharedBroker } from './shared-broker.js';
import type { BrokerRoute } from './shared-broker.js';
import { buildEnvelope, maxEnvelopeBytes, maxPacketBytes, NIP44_MAX_PLAINTEXT_BYTES, parseEnvelope, wireFormatFor } from './envelope.js';
import type { AcceptedEnvelope } from './envelope.js';

export { mqttClientId } from './broker-connection.js';

/** The topic a peer listens on (x-only form, as the seed client publishes). */
export function dmTopic(xOnly: string): string {
  return `dm/${xOnly}`;
}

/**
 * Verdicts on distinct payloads, keyed by the identity they were parsed for
 * and the payload's hash, so the copies from the other brokers (which arrive
 * within seconds) skip verification and decryption. One memory serves the
 * whole process (taken from its ConnectionPool): it grows with the traffic,
 * not with the rooms (one of 256 per room held some 38 MB at 100 rooms in
 * the soak). Bounded by count and by the bodies' total characters.
 */
export type VerdictMemory = LRUCache<string, ParseResult<AcceptedEnvelope>>;
/** The ConnectionPool key of a process's VerdictMemory. */
export const VERDICT_MEMORY_KEY = 'mqtt|verdicts';
const verdictMemory = (): VerdictMemory =>
  new LRUCache({ max: 4096, maxSize: 4 * 1024 * 1024, sizeCalculation: (v) => (v.ok ? Math.max(1, v.value.body.length) : 1) });
const X_ONLY = /^[0-9a-f]{64}$/;

/** How long a publish that arrives before its room's transport has started is held for it (see SharedBroker). */
const HOLD_UNJOINED_MS = 30_000;

export class MqttTransport implements Transport {
  readonly id = 'mqtt' as const;
  readonly capabilities: TransportCapabilities;
  private readonly brokers: Array<Lease<SharedBroker>>;
  private readonly topics: string[];
  private readonly route: BrokerRoute;
  private readonly pool: ConnectionPool;
  private readonly verdicts: VerdictMemory;
  private onEnvelope: ((e: InboundEnvelope) => Promise<void>) | undefined;
  private starting: Promise<void> | undefined;
  private stopping: Promise<void> | undefined;

  constructor(
    private readonly config: MqttConfig,
    private readonly ctx: TransportContext,
  ) {
    const own = ctx.identity;
    const listen = ctx.listen !== false;
    this.topics = listen ? [dmTopic(own.xOnly), dmTopic(own.secp256k1PublicKey)] : [];
    // A send-only or transient transport must not resume (and so steal) the listener's persistent session.
    const persistent = listen && config.session !== 'transient';
    // Without a process pool the transport has connections of its own, owned by its identity.
    this.pool = ctx.pool ?? new ConnectionPool({ owner: own });
    this.verdicts = this.pool.shared(VERDICT_MEMORY_KEY, verdictMemory);
    const owner = this.pool.owner;
    const role = persistent ? 'session' : listen ? 'transient' : 'send';
    this.brokers = config.brokers.map((url) =>
      this.pool.lease(`mqtt|${role}|${url}`, () =>
        new SharedBroker({
          url,
          // The listener's persistent session belongs to the process's owner (the service identity), so every room shares it.
          // Others get an id of their own for this run, so they never take over a listener's session.
          clientId: persistent ? mqttClientId(owner.xOnly, url) : `rc-${listen ? 't' : 's'}-${randomBytes(9).toString('hex')}`,
          clean: !persistent,
          connectTimeoutMs: config.connectTimeoutMs,
          reconnectMinMs: config.reconnectMinMs,
          reconnectMaxMs: config.reconnectMaxMs,
          log: ctx.log,
          maxPacketBytes: maxPacketBytes(ctx.maxMessageBytes),
          expects: (xOnly) => this.pool.expects(xOnly),
          holdMs: HOLD_UNJOINED_MS,
          strayOversized: (_bytes, endpoint) => this.refuse(endpoint, oversizedRejection(ctx.maxMessageBytes)),
        }),
      ),
    );
    this.route = {
      receive: (payload, _topic, endpoint) => this.receive(payload, endpoint),
      oversized: (_bytes, endpoint) => this.refuse(endpoint, oversizedRejection(ctx.maxMessageBytes)),
    };
    this.capabilities = {
      maxBytes: ctx.maxMessageBytes,
      encrypts: true,
      endpoints: config.brokers.map((url) => redactUrl(url)),
    };
  }

  start(onEnvelope: (e: InboundEnvelope) => Promise<void>): Promise<void> {
    if (this.stopping) return Promise.reject(new Error('mqtt transport was stopped; create a new one'));
    if (this.starting) return this.starting;
    this.onEnvelope = onEnvelope;
    if (this.topics.length > 0) this.pool.expect(this.ctx.identity.xOnly);
    this.starting = Promise.all(this.brokers.map((b) => b.value.join(this.topics, this.route))).then(() => {
      const up = this.brokers.filter((b) => b.value.connection.status().connected).length;
      this.ctx.log.debug({ transport: 'mqtt', connected: up, brokers: this.brokers.length }, 'mqtt transport started');
    });
    return this.starting;
  }

  async send(to: Peer, payload: OutboundPayload, onAccepted?: (endpoint: string) => void): Promise<SendReport> {
    const startedAt = Date.now();
    const failAll = (reason: FailureReason, error: string): SendReport =>
      summarize(
        'mqtt',
        this.brokers.map((b) => ({ endpoint: b.value.connection.endpoint, ok: false, latencyMs: Date.now() - startedAt, reason, error })),
      );
    try {
      if (this.stopping) return failAll('unreachable', 'transport stopped');
      const size = Buffer.byteLength(payload.json, 'utf8');
      if (size > this.ctx.maxMessageBytes) {
        return failAll('rejected', `message is ${size} bytes, larger than ${this.ctx.maxMessageBytes}`);
      }
      const peer = to.identity;
      if (!X_ONLY.test(peer.xOnly)) return failAll('rejected', 'recipient has no valid x-only key');
      if (wireFormatFor(peer) === 'signed-nip44' && size > NIP44_MAX_PLAINTEXT_BYTES) {
        return failAll('rejected', `message is ${size} bytes, larger than NIP-44 allows (${NIP44_MAX_PLAINTEXT_BYTES})`);
      }
      const wire = buildEnvelope(this.ctx.identity, peer, payload.json, Date.now());
      const topic = dmTopic(peer.xOnly);
      const results: EndpointResult[] = await Promise.all(
        this.brokers.map(async (b) => {
          const result = await b.value.connection.publish(topic, wire, this.config.sendTimeoutMs, startedAt);
          if (result.ok) onAccepted?.(result.endpoint);
          return result;
        }),
      );
      const report = summarize('mqtt', results);
      this.ctx.log.debug(
        { transport: 'mqtt', uuid: payload.uuid, ok: results.filter((r) => r.ok).length, brokers: results.length },
        'mqtt send',
      );
      return report;
    } catch (err) {
      return failAll('error', err instanceof Error ? err.message.slice(0, 200) : 'send failed');
    }
  }

  status(): EndpointStatus[] {
    return this.brokers.map((b) => b.value.connection.status());
  }

  /**
   * Leaves the shared clients (the last one out closes them). With `forget`
   * the identity's topics are unsubscribed, so brokers stop keeping its
   * messages; without it the persistent session keeps them for the next start.
   */
  stop(opts: StopOptions = {}): Promise<void> {
    this.stopping ??= (async () => {
      for (const b of this.brokers) b.value.leave(this.topics, opts.forget === true);
      if (opts.forget) this.pool.forget(this.ctx.identity.xOnly);
      await Promise.all(this.brokers.map((b) => b.release()));
      this.onEnvelope = undefined;
    })();
    return this.stopping;
  }

  /** One inbound copy: authenticate, decrypt, deliver. Throws (→ no PUBACK) only when delivery failed. */
  private async receive(payload: Buffer, endpoint: string): Promise<void> {
    const receivedAt = Date.now();
    const verdict = this.verdict(payload);
    if (!verdict.ok) {
      this.refuse(endpoint, verdict.rejection);
      return;
    }
    const deliver = this.onEnvelope;
    if (!deliver || this.stopping) throw new Error('transport is not listening');
    const { body, senderXOnly, verified } = verdict.value;
    await deliver({ transport: 'mqtt', endpoint, sender: { kind: 'xonly', key: senderXOnly }, verified, body, receivedAt });
  }

  /** Counts and logs (once) refused input; never throws. */
  private refuse(endpoint: string, rejection: Rejection): void {
    this.ctx.log.debug({ transport: 'mqtt', endpoint, code: rejection.code }, 'mqtt envelope rejected');
    try {
      this.ctx.reject({ transport: 'mqtt', endpoint }, rejection);
    } catch (err) {
      // A failing sink must not keep refused input unacknowledged (it would come back forever).
      this.ctx.log.warn({ transport: 'mqtt', endpoint, error: String(err) }, 'reject sink failed');
    }
  }

  /** parseEnvelope, once per distinct payload (identical copies from other brokers reuse the verdict). */
  private verdict(payload: Buffer): ParseResult<AcceptedEnvelope> {
    const opts = {
      maxMessageBytes: this.ctx.maxMessageBytes,
      acceptUnsigned: this.config.acceptUnsigned,
      maxClockSkewMs: this.config.maxClockSkewMs,
    };
    // Oversized payloads are refused before anything (even hashing) looks at them.
    if (payload.byteLength > maxEnvelopeBytes(this.ctx.maxMessageBytes)) return parseEnvelope(payload, this.ctx.identity, opts);
    const key = `${this.ctx.identity.xOnly}:${createHash('sha256').update(payload).digest('hex')}`;
    const cached = this.verdicts.get(key);
    if (cached) return cached;
    const verdict = parseEnvelope(payload, this.ctx.identity, opts);
    // A payload dated in the future may become acceptable later: do not remember that verdict.
    if (verdict.ok || verdict.rejection.code !== 'future-timestamp') this.verdicts.set(key, verdict);
    return verdict;
  }
}

function oversizedRejection(maxMessageBytes: number): Rejection {
  return { code: 'oversized', detail: `an MQTT packet larger than ${maxPacketBytes(maxMessageBytes)} bytes was refused unread` };
}
