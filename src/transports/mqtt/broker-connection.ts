/**
 * One broker: one mqtt.js client with a stable client id and a persistent
 * session (clean: false), QoS 1 subscriptions, exponential reconnect backoff,
 * bounded publishes, PUBACKs that wait for the inbound handler, and a
 * maximum packet size enforced as packets arrive (packet-guard.ts).
 */
import { createHash } from 'node:crypto';
import { connect } from 'mqtt';
import type { Duplex } from 'node:stream';
import type { IClientOptions, IConnackPacket, IPublishPacket, MqttClient, StreamBuilder } from 'mqtt';
import { backoffDelay as exponential } from '../../common/backoff.js';
import type { Logger } from '../../observability/logger.js';
import type { EndpointResult, EndpointStatus } from '../transport.js';
import { redactUrl } from '../transport.js';
import { GuardedStream, PacketSizeFilter } from './packet-guard.js';

/**
 * Stable MQTT client id for an identity on one broker: 'rc-' + 20 hex of
 * sha256(xOnly + '|' + redacted broker URL), 23 characters (the MQTT 3.1.1
 * limit every broker must accept). Stable across restarts, so the broker
 * resumes the persistent session; distinct per broker and identity. Derived
 * from the redacted URL, so changing credentials keeps the session.
 */
export function mqttClientId(xOnly: string, brokerUrl: string): string {
  return `rc-${createHash('sha256').update(`${xOnly}|${redactUrl(brokerUrl)}`).digest('hex').slice(0, 20)}`;
}

export interface BrokerConnectionOptions {
  readonly url: string;
  readonly clientId: string;
  /** Topics to subscribe to with QoS 1; none for a send-only connection. */
  readonly topics: readonly string[];
  /** Persistent session (false) for a listener; a clean one for a send-only connection. */
  readonly clean: boolean;
  readonly connectTimeoutMs: number;
  readonly reconnectMinMs: number;
  readonly reconnectMaxMs: number;
  readonly log: Logger;
  /**
   * Handles one inbound publish. Resolving acknowledges it to the broker
   * (PUBACK); rejecting leaves it unacknowledged, so the broker redelivers it
   * on the next session resume.
   */
  readonly onMessage: (payload: Buffer, topic: string, endpoint: string) => Promise<void>;
  /** Largest MQTT packet accepted from the broker (bytes); larger ones are refused unread and acknowledged. */
  readonly maxPacketBytes: number;
  /** Told of each refused packet (its announced size), to count and log it. */
  readonly onOversized: (bytes: number, endpoint: string) => void;
}

/** mqtt.js keeps the function that opens each connection's stream in a field its types mark private. */
interface StreamBuilderField {
  streamBuilder: StreamBuilder;
}

/** Delay before reconnect attempt `attempt` (0-based): doubling from min, capped at max, ±10 % jitter. */
export function backoffDelay(attempt: number, minMs: number, maxMs: number, random: () => number = Math.random): number {
  const base = exponential(attempt, minMs, maxMs);
  const jittered = Math.round(base * (0.9 + 0.2 * random()));
  return Math.max(minMs, Math.min(maxMs, jittered));
}

/** Error text without anything that looks like URL credentials. */
function describe(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.replace(/\/\/[^/@\s]*@/g, '//').slice(0, 200);
}

export class BrokerConnection {
  readonly endpoint: string;
  private client: MqttClient | undefined;
  /** Connected and subscribed (status().connected). */
  private connected = false;
  private since = Date.now();
  private lastError: string | undefined;
  private attempt = 0;
  private downLogged = false;
  private subscribedOnce = false;
  private stopped = false;
  private resubscribeTimer: NodeJS.Timeout | undefined;
  private redeliveryTimer: NodeJS.Timeout | undefined;
  /** Consecutive inbound handler failures (spaces out redelivery reconnects). */
  private failStreak = 0;
  private readyWaiters: Array<() => void> = [];
  /** Packet ids of oversized PUBLISHes passed to mqtt.js as empty stubs, to be acknowledged and dropped. */
  private readonly stubs = new Set<number>();

  constructor(private readonly opts: BrokerConnectionOptions) {
    this.endpoint = redactUrl(opts.url);
  }

  /**
   * Starts connecting. Resolves when the subscriptions are in place, when the
   * first attempt fails, or after connectTimeoutMs, whichever comes first;
   * never rejects. The client keeps reconnecting in the background.
   */
  start(): Promise<void> {
    if (this.client || this.stopped) return Promise.resolve();
    const ready = new Promise<void>((resolve) => {
      const timer = setTimeout(done, this.opts.connectTimeoutMs);
      this.readyWaiters.push(done);
      function done() {
        clearTimeout(timer);
        resolve();
      }
    });
    const options: IClientOptions = {
      protocolVersion: 4,
      clientId: this.opts.clientId,
      clean: this.opts.clean,
      keepalive: 30,
      connectTimeout: this.opts.connectTimeoutMs,
      reconnectPeriod: this.opts.reconnectMinMs,
      resubscribe: false,
      queueQoSZero: false,
      // Sent to MQTT 5 brokers; on 3.1.1 (ours) it is not on the wire, so guardStreams enforces it on receipt.
      properties: { maximumPacketSize: this.opts.maxPacketBytes },
      manualConnect: true,
    };
    const unusable = (err: unknown): Promise<void> => {
      // e.g. a URL mqtt.js cannot use: report it in status, never fail start().
      this.lastError = describe(err);
      this.opts.log.error({ endpoint: this.endpoint, error: this.lastError }, 'mqtt broker cannot be used');
      this.releaseWaiters();
      return ready;
    };
    let client: MqttClient;
    try {
      client = connect(this.opts.url, options);
      this.guardStreams(client);
    } catch (err) {
      return unusable(err);
    }
    this.client = client;
    client.handleMessage = (packet, callback) => this.handleMessage(packet, callback);
    client.on('connect', (connack) => this.onConnect(connack));
    client.on('close', () => this.onClose());
    client.on('error', (err) => {
      this.lastError = describe(err);
    });
    client.on('reconnect', () => {
      // mqtt.js reads reconnectPeriod each time a connection closes: set the
      // delay for the next failure of this attempt.
      this.attempt += 1;
      client.options.reconnectPeriod = backoffDelay(this.attempt, this.opts.reconnectMinMs, this.opts.reconnectMaxMs);
    });
    try {
      client.connect();
    } catch (err) {
      return unusable(err);
    }
    return ready;
  }

  /**
   * Puts a PacketSizeFilter between every stream mqtt.js opens for `client`
   * (the first connection and each reconnect) and its parser, so an oversized
   * packet is refused before it is buffered. mqtt.js has no public hook for
   * this: it calls `client.streamBuilder` for each connection, so the client
   * is created with `manualConnect` and the field wrapped before the first
   * connect (mqtt is pinned exactly; test/transports/mqtt-hardening.test.ts
   * fails if this stops working). The same hook turns Nagle's algorithm off
   * on TCP and TLS sockets.
   */
  private guardStreams(client: MqttClient): void {
    const field = client as unknown as StreamBuilderField;
    const open = field.streamBuilder;
    if (typeof open !== 'function') throw new Error('mqtt.js has no streamBuilder to guard (an unsupported mqtt version)');
    field.streamBuilder = (c, o) => {
      this.stubs.clear(); // stubs of a connection that died are sent again by the broker
      const filter = new PacketSizeFilter(this.opts.maxPacketBytes, (p) => {
        if (p.messageId !== undefined) this.stubs.add(p.messageId);
        this.opts.onOversized(p.bytes, this.endpoint);
      });
      const socket = open(c, o) as Duplex & { setNoDelay?: (on: boolean) => void };
      // MQTT packets are small and each publish waits for its PUBACK: Nagle's algorithm would hold them back.
      socket.setNoDelay?.(true);
      return new GuardedStream(socket, filter);
    };
  }

  /** Publishes with QoS 1 and waits for PUBACK; never throws, never queues while offline. */
  publish(topic: string, payload: string, timeoutMs: number, startedAt: number): Promise<EndpointResult> {
    const endpoint = this.endpoint;
    const client = this.client;
    // A publish needs only the CONNACK (not our subscriptions); while offline
    // mqtt.js would queue it, so report the broker unreachable instead.
    if (this.stopped || !client || !client.connected) {
      return Promise.resolve({
        endpoint,
        ok: false,
        latencyMs: Date.now() - startedAt,
        reason: 'unreachable',
        error: this.stopped ? 'transport stopped' : `not connected${this.lastError ? ` (${this.lastError})` : ''}`,
      });
    }
    return new Promise<EndpointResult>((resolve) => {
      let settled = false;
      const finish = (r: Omit<EndpointResult, 'endpoint' | 'latencyMs'>) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve({ endpoint, latencyMs: Date.now() - startedAt, ...r });
      };
      const timer = setTimeout(
        () => finish({ ok: false, reason: client.connected ? 'timeout' : 'unreachable', error: `no PUBACK within ${timeoutMs} ms` }),
        timeoutMs,
      );
      try {
        client.publish(topic, payload, { qos: 1, retain: false }, (err) => {
          if (err) finish({ ok: false, reason: client.connected ? 'error' : 'unreachable', error: describe(err) });
          else finish({ ok: true });
        });
      } catch (err) {
        finish({ ok: false, reason: 'error', error: describe(err) });
      }
    });
  }

  status(): EndpointStatus {
    return {
      endpoint: this.endpoint,
      connected: this.connected,
      since: this.since,
      ...(this.lastError !== undefined ? { lastError: this.lastError } : {}),
    };
  }

  /** Ends the client at once (no offline queue survives); idempotent. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.resubscribeTimer);
    clearTimeout(this.redeliveryTimer);
    this.releaseWaiters();
    if (this.connected) this.setConnected(false);
    const client = this.client;
    if (!client) return;
    await new Promise<void>((resolve) => {
      const fallback = setTimeout(resolve, 2000);
      client.end(true, {}, () => {
        clearTimeout(fallback);
        resolve();
      });
    });
  }

  private onConnect(connack: IConnackPacket): void {
    if (this.stopped) return;
    this.attempt = 0;
    if (this.client) this.client.options.reconnectPeriod = this.opts.reconnectMinMs;
    // The first connection of this process always subscribes (a stale session
    // may lack our topics); later ones only when the broker lost the session.
    if (!this.subscribedOnce || !connack.sessionPresent) this.subscribe(connack.sessionPresent);
    else this.markReady(connack.sessionPresent);
  }

  /** Connected and listening: what status() calls connected. */
  private markReady(sessionPresent: boolean): void {
    if (!this.connected) {
      this.setConnected(true);
      this.downLogged = false;
      this.opts.log.info({ endpoint: this.endpoint, sessionPresent }, 'mqtt broker connected');
    }
    this.releaseWaiters();
  }

  private subscribe(sessionPresent: boolean): void {
    const client = this.client;
    if (!client || this.stopped || !client.connected) return;
    if (this.opts.topics.length === 0) {
      this.subscribedOnce = true;
      this.markReady(sessionPresent);
      return;
    }
    client.subscribe([...this.opts.topics], { qos: 1 }, (err, granted) => {
      if (this.stopped) return;
      const refused = granted?.filter((g) => g.qos === 128).map((g) => g.topic) ?? [];
      if (err || refused.length > 0) {
        this.lastError = err ? `subscribe failed: ${describe(err)}` : `subscription refused for ${refused.length} topic(s)`;
        this.opts.log.warn({ endpoint: this.endpoint, error: this.lastError }, 'mqtt subscribe failed; retrying');
        clearTimeout(this.resubscribeTimer);
        this.resubscribeTimer = setTimeout(() => this.subscribe(sessionPresent), this.opts.reconnectMinMs);
        this.resubscribeTimer.unref();
        return;
      }
      this.subscribedOnce = true;
      this.markReady(sessionPresent);
    });
  }

  private onClose(): void {
    if (this.stopped) return;
    if (this.connected) {
      // A broker that dies may close the socket without an error event: say so in status.
      this.lastError ??= 'connection closed';
      this.setConnected(false);
      this.opts.log.warn({ endpoint: this.endpoint, error: this.lastError }, 'mqtt broker disconnected; reconnecting with backoff');
      this.downLogged = true;
    } else if (!this.downLogged) {
      this.opts.log.warn({ endpoint: this.endpoint, error: this.lastError }, 'mqtt broker unreachable; retrying in the background');
      this.downLogged = true;
    }
    // start() does not wait for the retries of a broker that is down.
    this.releaseWaiters();
  }

  private handleMessage(packet: IPublishPacket, callback: (err?: Error) => void): void {
    if (this.stopped) {
      callback(new Error('transport stopped'));
      return;
    }
    const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload, 'utf8') : packet.payload;
    if (payload.length === 0 && packet.messageId !== undefined && this.stubs.delete(packet.messageId)) {
      callback(); // an oversized message, refused unread (onOversized counted it): acknowledged so it is not sent again
      return;
    }
    this.opts.onMessage(payload, packet.topic, this.endpoint).then(
      () => {
        this.failStreak = 0;
        callback();
      },
      (err: unknown) => {
        this.opts.log.warn(
          { endpoint: this.endpoint, topic: packet.topic, error: describe(err) },
          'inbound mqtt message handler failed; message not acknowledged to the broker',
        );
        callback(err instanceof Error ? err : new Error(String(err)));
        this.scheduleRedelivery();
      },
    );
  }

  /**
   * MQTT 3.1.1 brokers resend an unacknowledged message only when the session
   * resumes, and stop sending once their in-flight window is full of them. So
   * after a handler failure, drop the connection (after a backoff delay that
   * grows while failures continue): the client reconnects, the session resumes
   * and the broker redelivers.
   */
  private scheduleRedelivery(): void {
    if (this.redeliveryTimer || this.stopped) return;
    const delay = backoffDelay(this.failStreak, Math.max(this.opts.reconnectMinMs, 1000), this.opts.reconnectMaxMs);
    this.failStreak += 1;
    this.redeliveryTimer = setTimeout(() => {
      this.redeliveryTimer = undefined;
      const client = this.client;
      if (this.stopped || !client?.connected) return;
      this.opts.log.info({ endpoint: this.endpoint }, 'reconnecting so the broker redelivers unacknowledged messages');
      client.stream.destroy();
    }, delay);
    this.redeliveryTimer.unref();
  }

  private setConnected(connected: boolean): void {
    this.connected = connected;
    this.since = Date.now();
  }

  private releaseWaiters(): void {
    const waiters = this.readyWaiters;
    this.readyWaiters = [];
    for (const w of waiters) w();
  }
}
