/**
 * The MQTT transport: several brokers in parallel (one mqtt.js client each),
 * topic `dm/<recipient x-only>`, QoS 1, persistent sessions under a stable
 * client id, signed (and to capable peers NIP-44 encrypted) envelopes, seed
 * envelopes to seed peers. See docs/mqtt-envelope.md.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { ParseResult, Rejection } from '../../protocol/chat-message.js';
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
import { BrokerConnection, mqttClientId } from './broker-connection.js';
import type { MqttConfig } from './config.js';
import { buildEnvelope, maxEnvelopeBytes, maxPacketBytes, NIP44_MAX_PLAINTEXT_BYTES, parseEnvelope, wireFormatFor } from './envelope.js';
import type { AcceptedEnvelope } from './envelope.js';

export { mqttClientId } from './broker-connection.js';

/** The topic a peer listens on (x-only form, as the seed client publishes). */
export function dmTopic(xOnly: string): string {
  return `dm/${xOnly}`;
}

/**
 * Distinct payloads whose verdict is remembered, so copies from the other
 * brokers (which arrive within seconds) skip verification and decryption.
 * Bounded: an accepted verdict holds the body (≤ maxMessageBytes).
 */
const VERDICT_CACHE_SIZE = 256;
const X_ONLY = /^[0-9a-f]{64}$/;

export class MqttTransport implements Transport {
  readonly id = 'mqtt' as const;
  readonly capabilities: TransportCapabilities;
  private readonly connections: BrokerConnection[];
  private readonly topics: Set<string>;
  private readonly verdicts = new Map<string, ParseResult<AcceptedEnvelope>>();
  private onEnvelope: ((e: InboundEnvelope) => Promise<void>) | undefined;
  private starting: Promise<void> | undefined;
  private stopping: Promise<void> | undefined;

  constructor(
    private readonly config: MqttConfig,
    private readonly ctx: TransportContext,
  ) {
    const own = ctx.identity;
    const listen = ctx.listen !== false;
    this.topics = new Set(listen ? [dmTopic(own.xOnly), dmTopic(own.secp256k1PublicKey)] : []);
    // A send-only or transient transport must not resume (and so steal) the listener's persistent session.
    const persistent = listen && config.session !== 'transient';
    const processId = `rc-${listen ? 't' : 's'}-${randomBytes(9).toString('hex')}`;
    this.connections = config.brokers.map(
      (url) =>
        new BrokerConnection({
          url,
          clientId: persistent ? mqttClientId(own.xOnly, url) : processId,
          topics: [...this.topics],
          clean: !persistent,
          connectTimeoutMs: config.connectTimeoutMs,
          reconnectMinMs: config.reconnectMinMs,
          reconnectMaxMs: config.reconnectMaxMs,
          log: ctx.log,
          onMessage: (payload, topic, endpoint) => this.receive(payload, topic, endpoint),
          maxPacketBytes: maxPacketBytes(ctx.maxMessageBytes),
          onOversized: (_bytes, endpoint) => this.refuse(endpoint, { code: 'oversized', detail: `an MQTT packet larger than ${maxPacketBytes(ctx.maxMessageBytes)} bytes was refused unread` }),
        }),
    );
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
    this.starting = Promise.all(this.connections.map((c) => c.start())).then(() => {
      const up = this.connections.filter((c) => c.status().connected).length;
      this.ctx.log.info({ transport: 'mqtt', connected: up, brokers: this.connections.length }, 'mqtt transport started');
    });
    return this.starting;
  }

  async send(to: Peer, payload: OutboundPayload): Promise<SendReport> {
    const startedAt = Date.now();
    const failAll = (reason: FailureReason, error: string): SendReport =>
      summarize(
        'mqtt',
        this.connections.map((c) => ({ endpoint: c.endpoint, ok: false, latencyMs: Date.now() - startedAt, reason, error })),
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
        this.connections.map((c) => c.publish(topic, wire, this.config.sendTimeoutMs, startedAt)),
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
    return this.connections.map((c) => c.status());
  }

  stop(): Promise<void> {
    this.stopping ??= Promise.all(this.connections.map((c) => c.stop())).then(() => {
      this.onEnvelope = undefined;
      this.verdicts.clear();
    });
    return this.stopping;
  }

  /** One inbound copy: authenticate, decrypt, deliver. Throws (→ no PUBACK) only when delivery failed. */
  private async receive(payload: Buffer, topic: string, endpoint: string): Promise<void> {
    if (!this.topics.has(topic)) return; // not ours (a stale session's subscription): acknowledge and drop
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
    const key = createHash('sha256').update(payload).digest('hex');
    const cached = this.verdicts.get(key);
    if (cached) return cached;
    const verdict = parseEnvelope(payload, this.ctx.identity, opts);
    // A payload dated in the future may become acceptable later: do not remember that verdict.
    if (verdict.ok || verdict.rejection.code !== 'future-timestamp') {
      if (this.verdicts.size >= VERDICT_CACHE_SIZE) {
        const oldest = this.verdicts.keys().next().value;
        if (oldest !== undefined) this.verdicts.delete(oldest);
      }
      this.verdicts.set(key, verdict);
    }
    return verdict;
  }
}
