/**
 * One broker: one mqtt.js client with a stable client id and a persistent
 * session (clean: false), QoS 1 subscriptions that may be added and removed
 * while it runs (one process listens for many identities on one client),
 * exponential reconnect backoff, bounded publishes, PUBACKs that wait for the
 * inbound handler, and a maximum packet size enforced as packets arrive
 * (packet-guard.ts).
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
  /** Told of each refused packet (its announced size, and its topic when it had a packet id), to count and log it. */
  readonly onOversized: (bytes: number, endpoint: string, topic?: string) => void;
}

/** Topics per SUBSCRIBE packet: a thousand rooms resubscribe in a few packets, each well under any broker's limit. */
const SUBSCRIBE_BATCH = 500;

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
  private stopped = false;
  /** Topics listened on (addTopics, removeTopics; none for a send-only connection); each connect subscribes those the session does not hold. */
  private readonly topics = new Set<string>();
  /** Topics the broker confirmed (SUBACK) in the current session. */
  private readonly confirmed = new Set<string>();
  /** Topics given up, to unsubscribe from at the next chance. */
  private readonly leaving = new Set<string>();
  private topicWaiters: Array<{ readonly topics: readonly string[]; readonly done: () => void }> = [];
  private subscribing = false;
  private syncQueued = false;
  private sessionPresent = false;
  private resubscribeTimer: NodeJS.Timeout | undefined;
  private redeliveryTimer: NodeJS.Timeout | undefined;
  /** Consecutive inbound handler failures (spaces out redelivery reconnects). */
  private failStreak = 0;
  private readyWaiters: Array<() => void> = [];
  /** Oversized PUBLISHes passed to mqtt.js as empty stubs (packet id → announced size), to be acknowledged and dropped. */
  private readonly stubs = new Map<number, number>();
  /** When the broker last sent us anything (any packet), to tell a broker that stopped answering from a slow PUBACK. */
  private lastHeardAt = 0;

  constructor(private readonly opts: BrokerConnectionOptions) {
    this.endpoint = redactUrl(opts.url);
  }

  /**
   * Listens on `topics` too. Resolves once the broker confirmed them, or at
   * once while it is unreachable (they are subscribed when it comes back), or
   * after connectTimeoutMs; never rejects. Additions made in one turn of the
   * event loop go out in one SUBSCRIBE.
   */
  addTopics(topics: readonly string[]): Promise<void> {
    for (const t of topics) {
      this.topics.add(t);
      this.leaving.delete(t);
    }
    if (this.stopped || topics.every((t) => this.confirmed.has(t))) return Promise.resolve();
    const ready = new Promise<void>((resolve) => {
      const timer = setTimeout(done, this.opts.connectTimeoutMs);
      timer.unref();
      this.topicWaiters.push({ topics, done });
      function done() {
        clearTimeout(timer);
        resolve();
      }
    });
    if (!this.client?.connected) this.releaseTopicWaiters(true);
    else this.queueSync();
    return ready;
  }

  /**
   * Stops listening on `topics` for good: they are unsubscribed, so the
   * persistent session no longer keeps their messages (a room that is no
   * longer bridged). Offline, the unsubscribe waits for the next connect.
   */
  removeTopics(topics: readonly string[]): void {
    for (const t of topics) {
      this.topics.delete(t);
      this.confirmed.delete(t);
      this.leaving.add(t);
    }
    this.queueSync();
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
    client.on('packetreceive', () => {
      this.lastHeardAt = Date.now();
    });
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
        // With a packet id, the stub reaches handleMessage with its topic, and is reported there.
        if (p.messageId !== undefined) this.stubs.set(p.messageId, p.bytes);
        else this.opts.onOversized(p.bytes, this.endpoint);
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
      const sentAt = Date.now();
      const timer = setTimeout(() => {
        finish({ ok: false, reason: client.connected ? 'timeout' : 'unreachable', error: `no PUBACK within ${timeoutMs} ms` });
        // Not a packet from the broker in all that time: it stopped answering with its socket still open (a
        // frozen process, a dead link). mqtt.js's keepalive would find out only after 45 s, every send
        // waiting its full timeout meanwhile; closing the connection now makes sends fail at once while
        // mqtt.js reconnects with backoff. Looked at after this turn's reads (setImmediate), so packets
        // already waiting on a busy event loop count as heard.
        setImmediate(() => {
          if (client === this.client && client.connected && this.lastHeardAt < sentAt) this.dropSilent(client, timeoutMs);
        });
      }, timeoutMs);
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
    this.releaseTopicWaiters(true);
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
    this.sessionPresent = connack.sessionPresent;
    // A session the broker kept holds what it confirmed; a new one holds nothing. The first
    // connect of this process subscribes everything either way (confirmed starts empty), as a
    // stale session may lack some topics.
    if (!connack.sessionPresent) this.confirmed.clear();
    this.subscribing = false;
    this.sync();
  }

  /** Connected and listening on every topic: what status() calls connected. */
  private markReady(): void {
    if (!this.connected) {
      this.setConnected(true);
      this.downLogged = false;
      this.opts.log.info({ endpoint: this.endpoint, sessionPresent: this.sessionPresent, topics: this.topics.size }, 'mqtt broker connected');
    }
    this.releaseWaiters();
  }

  private queueSync(): void {
    if (this.syncQueued) return;
    this.syncQueued = true;
    setImmediate(() => {
      this.syncQueued = false;
      this.sync();
    });
  }

  /** Brings the broker's subscriptions in line with `topics`, a batch at a time. */
  private sync(): void {
    const client = this.client;
    if (!client || this.stopped || !client.connected || this.subscribing) return;
    if (this.leaving.size > 0) {
      const leave = [...this.leaving];
      this.leaving.clear();
      // Not waited for: a failed unsubscribe leaves a stale topic, whose messages the owner drops.
      client.unsubscribe(leave, () => undefined);
    }
    const batch: string[] = [];
    for (const t of this.topics) {
      if (batch.length >= SUBSCRIBE_BATCH) break;
      if (!this.confirmed.has(t)) batch.push(t);
    }
    if (batch.length === 0) {
      this.markReady();
      this.releaseTopicWaiters(false);
      return;
    }
    this.subscribing = true;
    client.subscribe(batch, { qos: 1 }, (err, granted) => {
      if (this.stopped || this.client !== client) return;
      this.subscribing = false;
      const refused = granted?.filter((g) => g.qos === 128).map((g) => g.topic) ?? [];
      if (err || refused.length > 0) {
        this.lastError = err ? `subscribe failed: ${describe(err)}` : `subscription refused for ${refused.length} topic(s)`;
        this.opts.log.warn({ endpoint: this.endpoint, error: this.lastError }, 'mqtt subscribe failed; retrying');
        clearTimeout(this.resubscribeTimer);
        this.resubscribeTimer = setTimeout(() => this.sync(), this.opts.reconnectMinMs);
        this.resubscribeTimer.unref();
        return;
      }
      for (const t of batch) if (this.topics.has(t)) this.confirmed.add(t);
      this.releaseTopicWaiters(false);
      this.sync();
    });
  }

  /** Wakes addTopics callers whose topics are confirmed (or all of them: the broker is down, or we stopped). */
  private releaseTopicWaiters(all: boolean): void {
    const keep: typeof this.topicWaiters = [];
    for (const w of this.topicWaiters) {
      if (all || w.topics.every((t) => this.confirmed.has(t) || !this.topics.has(t))) w.done();
      else keep.push(w);
    }
    this.topicWaiters = keep;
  }

  /** Closes a connection whose broker stopped answering; mqtt.js reconnects as after any close. */
  private dropSilent(client: MqttClient, silentMs: number): void {
    this.lastError = `no answer from the broker for ${silentMs} ms`;
    client.stream.destroy();
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
    // start() and addTopics() do not wait for the retries of a broker that is down.
    this.releaseWaiters();
    this.releaseTopicWaiters(true);
  }

  private handleMessage(packet: IPublishPacket, callback: (err?: Error) => void): void {
    if (this.stopped) {
      callback(new Error('transport stopped'));
      return;
    }
    const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload, 'utf8') : packet.payload;
    const stub = packet.messageId !== undefined && payload.length === 0 ? this.stubs.get(packet.messageId) : undefined;
    if (stub !== undefined) {
      // An oversized message, refused unread: reported, and acknowledged so it is not sent again.
      this.stubs.delete(packet.messageId!);
      this.opts.onOversized(stub, this.endpoint, packet.topic);
      callback();
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
