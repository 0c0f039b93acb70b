/**
 * The broadcaster: sends one ChatMessage to a peer on every transport at once,
 * and turns what every transport hears into de-duplicated messages, receipts
 * and acks (PROTOCOL.md §2). It knows nothing of rooms or platforms, and
 * nothing of which network a transport is: only the Transport seam.
 *
 * What a sender can do is bounded here, before anything is stored: each
 * authenticated copy takes a token of its sender's bucket (limits.perSender),
 * a message is one message per (sender, uuid), and an unverified (unsigned)
 * copy never counts as an ack nor changes channel preferences.
 */
import { EventEmitter } from 'node:events';
import pLimit from 'p-limit';
import type { LimitFunction } from 'p-limit';
import { npubOf } from '../identity/keys.js';
import type { Identity, PublicIdentity } from '../identity/keys.js';
import { encodeMagnet } from '../identity/magnet.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { OncePerWindow } from '../observability/rejections.js';
import {
  newAck,
  newMessage,
  serializeChatMessage,
} from '../protocol/chat-message.js';
import type { Acknowledgment, ChannelPreference, ChatMessage, ParseLimits, PlainMessage, ProtocolId } from '../protocol/chat-message.js';
import type { OutboundRecord, Store } from '../store/store.js';
import type { InboundEnvelope, RejectSink, SendReport, StopOptions, Transport, TransportId } from '../transports/transport.js';
import { authenticate, proofMatches } from './authenticate.js';
import type { BroadcasterEventMap, MessageEvent } from './events.js';
import { DEFAULT_SENDER_LIMIT, SenderLimiter } from './sender-limiter.js';
import type { SenderLimit } from './sender-limiter.js';

export interface BroadcasterOptions {
  readonly identity: Identity;
  readonly transports: readonly Transport[];
  readonly store: Store;
  readonly log: Logger;
  readonly metrics: Metrics;
  readonly reject: RejectSink;
  readonly limits: ParseLimits;
  /**
   * Sends (messages and acks) being built and published at once. Building a
   * send is CPU work (signatures, encryption); bounding it keeps the event
   * loop free, so a timeout measures the network, not a queue of our own
   * work. A send counts until an endpoint has accepted it (by then every
   * transport has built and written it) or it has failed everywhere: waiting
   * for slower endpoints takes no slot.
   */
  readonly maxConcurrentSends: number;
  /** Token bucket per sender for inbound copies (config limits.perSender); default DEFAULT_SENDER_LIMIT. */
  readonly perSender?: SenderLimit;
  /** Every network roomcast knows, configured or not, and its wire label (the transport registry's NETWORK_LABELS). */
  readonly networks: NetworkLabels;
  readonly now?: () => number;
}

/**
 * The networks as ChatMessages name them: acks carry our channel preferences
 * for every known network (those not configured marked unusable), and a
 * peer's stated preferences are read back through the same labels.
 */
export interface NetworkLabels {
  readonly ids: readonly string[];
  wireLabel(id: string): string;
  /** The network id a wire label names, or undefined. */
  fromLabel(label: string): string | undefined;
}

/** The outcome of one send: a report per transport. */
export interface Delivery {
  readonly uuid: string;
  /** True when at least one transport delivered. */
  readonly ok: boolean;
  readonly reports: readonly SendReport[];
}

/** A message the caller wants to send is too large or empty; nothing was sent. */
export class MessageTooLargeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MessageTooLargeError';
  }
}

const FIRST_SEEN_CACHE = 10_000;

export class Broadcaster {
  readonly identity: Identity;
  readonly magnetLink: string;
  private readonly events = new EventEmitter();
  private readonly pending = new Set<Promise<unknown>>();
  /** sender + uuid → local time its first copy arrived, for "also via X (+N ms)". */
  private readonly firstSeen = new Map<string, number>();
  /** See beforeAck. */
  private acceptStep: ((e: MessageEvent) => Promise<void>) | undefined;
  /** sender + uuid → the beforeAck step of its first copy, while it runs: later copies wait for its outcome. */
  private readonly accepting = new Map<string, Promise<boolean>>();
  private readonly now: () => number;
  private readonly sendSlots: LimitFunction;
  private readonly senders: SenderLimiter;
  /** Log lines for dropped or ignored input: one per key per window, the rest only counted. */
  private readonly once: OncePerWindow;
  private allStarted: Promise<void> = Promise.resolve();

  constructor(private readonly opts: BroadcasterOptions) {
    this.identity = opts.identity;
    this.magnetLink = encodeMagnet(opts.identity);
    this.now = opts.now ?? Date.now;
    this.sendSlots = pLimit(opts.maxConcurrentSends);
    this.senders = new SenderLimiter(opts.perSender ?? DEFAULT_SENDER_LIMIT, this.now);
    this.once = new OncePerWindow(60_000, 1000, this.now);
  }

  get transports(): readonly Transport[] {
    return this.opts.transports;
  }

  on<K extends keyof BroadcasterEventMap>(event: K, listener: (e: BroadcasterEventMap[K]) => void): this {
    this.events.on(event, listener);
    return this;
  }

  /**
   * A step every new message must pass before it is acknowledged and
   * announced ('message'): the bridge writes the room's inbox row there. When
   * the step throws, the message is forgotten again (record and receipt
   * removed), nothing is acknowledged, and the copy's handler throws, so the
   * transport does not confirm it to its network and a later copy (a
   * redelivery, another relay or broker) is handled as the first. One step;
   * set it before start().
   */
  beforeAck(step: (e: MessageEvent) => Promise<void>): void {
    this.acceptStep = step;
  }

  off<K extends keyof BroadcasterEventMap>(event: K, listener: (e: BroadcasterEventMap[K]) => void): this {
    this.events.off(event, listener);
    return this;
  }

  /**
   * Starts every transport; resolves when each has set up listening on the
   * endpoints reachable now. Acks for copies that arrive earlier (an MQTT
   * session replays its queue at once) wait until every transport has
   * started, so they go out on all of them rather than only on the fastest.
   * (Handling itself does not wait: a transport's start may be waiting for
   * its own backlog to be handled.)
   */
  async start(): Promise<void> {
    let started: () => void = () => undefined;
    this.allStarted = new Promise<void>((resolve) => (started = resolve));
    try {
      await Promise.all(this.opts.transports.map((t) => t.start((e) => this.onEnvelope(e))));
    } finally {
      started();
    }
  }

  /** Stops the transports after in-flight acks have been sent. */
  /** Stops after pending acks; `forget` as in Transport.stop (the identity is no longer served). */
  async stop(opts: StopOptions = {}): Promise<void> {
    await Promise.allSettled([...this.pending]);
    await Promise.all(this.opts.transports.map((t) => t.stop(opts)));
  }

  /** Sends `content` as a new message to `to` on every transport. */
  async send(to: PublicIdentity, content: string): Promise<Delivery> {
    if (content.length === 0) throw new MessageTooLargeError('message is empty');
    if (content.length > this.opts.limits.maxContentChars) {
      throw new MessageTooLargeError(`message is longer than ${this.opts.limits.maxContentChars} characters`);
    }
    return this.deliver(to, newMessage(this.magnetLink, content, this.now()));
  }

  /**
   * Sends an already built message (same uuid on every call, so a retry is
   * de-duplicated by the peer). `only` limits the transports, e.g. to those
   * that failed last time. Records the result in the store, unless
   * `opts.record` is false: then the caller must have recorded the message
   * (recordOutbound with no reports) before calling, since a fast peer's ack
   * may come before the reports, and records the reports itself. The bridge
   * does, to fold these writes into commits it makes anyway. `onReached` is
   * called once, as soon as the first endpoint of any transport accepted the
   * message, while slower endpoints are still being waited for.
   */
  async deliver(
    to: PublicIdentity,
    message: PlainMessage,
    only?: readonly TransportId[],
    opts: { readonly record?: boolean; readonly onReached?: () => void } = {},
  ): Promise<Delivery> {
    // The same limits a receiving roomcast applies: what it would drop as oversized is not sent.
    if (message.content.length > this.opts.limits.maxContentChars) {
      throw new MessageTooLargeError(`message is longer than ${this.opts.limits.maxContentChars} characters`);
    }
    const json = serializeChatMessage(message);
    if (Buffer.byteLength(json) > this.opts.limits.maxBytes) {
      throw new MessageTooLargeError(`message is larger than ${this.opts.limits.maxBytes} bytes once encoded`);
    }
    const record = outboundRecord(this.identity.xOnly, to.xOnly, message);
    const recording = opts.record !== false;
    // Recorded first: a fast peer's ack can arrive before every transport has reported.
    if (recording) await this.opts.store.recordOutbound(record, []);
    let reached = opts.onReached;
    const onAccepted = () => {
      const once = reached;
      reached = undefined;
      once?.();
    };
    const reports = await this.broadcast(to, { uuid: message.uuid, json }, only, onAccepted);
    if (recording) await this.opts.store.recordOutbound(record, reports);
    return { uuid: message.uuid, ok: reports.some((r) => r.ok), reports };
  }

  /**
   * Sends on every chosen transport in parallel, skipping those the peer said
   * it cannot use. Its send slot is given back at the first endpoint's
   * acceptance (or when every transport has reported), not after the slowest
   * endpoint: a distant broker must not bound how many sends a room has out.
   */
  private broadcast(to: PublicIdentity, payload: { uuid: string; json: string }, only?: readonly TransportId[], onAccepted?: () => void): Promise<SendReport[]> {
    let reports!: Promise<SendReport[]>;
    const slot = this.sendSlots(
      () =>
        new Promise<void>((release) => {
          reports = this.broadcastNow(to, payload, only, () => {
            release();
            onAccepted?.();
          });
          void reports.finally(release).catch(() => undefined);
        }),
    );
    return slot.then(() => reports);
  }

  private async broadcastNow(to: PublicIdentity, payload: { uuid: string; json: string }, only?: readonly TransportId[], onAccepted?: () => void): Promise<SendReport[]> {
    const prefs = await this.opts.store.getChannelPreferences(this.identity.xOnly, to.xOnly);
    const cannotUse = new Set(prefs.filter((p) => p.cannotUse).map((p) => p.protocol));
    const chosen = this.opts.transports.filter((t) => !only || only.includes(t.id));
    return Promise.all(
      chosen.map(async (t): Promise<SendReport> => {
        if (cannotUse.has(t.id)) {
          return { transport: t.id, ok: false, endpoints: [], latencyMs: 0, reason: 'rejected', error: 'the peer says it cannot use this protocol' };
        }
        const report = await t.send({ identity: to }, payload, onAccepted);
        this.opts.metrics.sent.inc({ transport: t.id, outcome: report.ok ? 'ok' : 'failed' });
        if (report.ok) this.opts.metrics.sendLatency.observe({ transport: t.id }, report.latencyMs / 1000);
        return report;
      }),
    );
  }

  /** Our channel preferences as carried in acks: running transports in order, the rest marked unusable. */
  private ownPreferences(): ChannelPreference[] {
    const running = this.opts.transports.map((t) => t.id);
    return this.opts.networks.ids.map((p) => ({
      protocol: this.opts.networks.wireLabel(p),
      preferenceOrder: running.includes(p) ? running.indexOf(p) + 1 : running.length + 1,
      cannotUse: !running.includes(p),
    }));
  }

  /**
   * Handles one inbound copy. Throws only when the store fails, so the
   * transport does not confirm the copy to its network and it comes again.
   */
  private async onEnvelope(e: InboundEnvelope): Promise<void> {
    if (proofMatches(e.sender, this.identity)) return; // our own echo (XMTP returns a sender's messages to it)
    const auth = authenticate(e.body, e.sender, this.opts.limits);
    if (!auth.ok) {
      this.opts.reject({ transport: e.transport, endpoint: e.endpoint }, auth.rejection);
      return;
    }
    const { message, sender } = auth.value;
    const kind = message.type === 'message' ? 'message' : 'ack';
    // Unsigned copies get a bucket of their own: forging a contact's unsigned copies cannot spend the contact's tokens.
    if (!this.senders.take(`${e.verified ? 'v' : 'u'}:${sender.xOnly}`)) {
      this.opts.metrics.rateLimited.inc({ transport: e.transport, kind });
      this.logOnce(`rate:${sender.xOnly}`, { from: npubOf(sender), transport: e.transport, verified: e.verified }, 'dropping copies from a sender over its rate limit (limits.perSender); nothing of them is stored');
      return;
    }
    if (message.type === 'acknowledgment' && !e.verified) {
      // Anyone can send an unsigned copy in anyone's name: it must not mark our message delivered nor steer our channels.
      this.opts.metrics.unverifiedIgnored.inc({ transport: e.transport, what: 'ack' });
      this.logOnce('unverified:ack', { transport: e.transport }, 'ignored an unsigned acknowledgment: only a signed copy counts as an ack');
      return;
    }
    this.opts.metrics.received.inc({ transport: e.transport, kind });
    if (message.type === 'message') await this.onMessage(message, sender, e);
    else await this.onAck(message, sender, e);
  }

  private logOnce(key: string, fields: Record<string, unknown>, msg: string): void {
    const logNow = this.once.hit(key);
    if (logNow) this.opts.log.warn({ ...fields, ...(logNow.suppressed ? { repeatsSuppressed: logNow.suppressed } : {}) }, msg);
  }

  private async onMessage(message: PlainMessage, sender: PublicIdentity, e: InboundEnvelope): Promise<void> {
    const { first } = await this.opts.store.recordInbound({
      owner: this.identity.xOnly,
      uuid: message.uuid,
      peer: sender.xOnly,
      fromMagnetLink: message.fromMagnetLink,
      content: message.content,
      timestamp: message.timestamp,
      verified: e.verified,
      protocol: e.transport,
      endpoint: e.endpoint,
      receivedAt: e.receivedAt,
    });
    const seenKey = `${sender.xOnly}/${message.uuid}`;
    if (!first) {
      // The first copy may still be in its beforeAck step: if that fails, this copy becomes the first.
      const accepted = this.accepting.get(seenKey);
      if (accepted && !(await accepted)) return this.onMessage(message, sender, e);
      this.opts.metrics.duplicates.inc({ transport: e.transport });
      const firstAt = this.firstSeen.get(seenKey) ?? (await this.opts.store.getMessage(this.identity.xOnly, message.uuid, sender.xOnly))?.receivedAt ?? e.receivedAt;
      this.events.emit('copy', { uuid: message.uuid, via: e.transport, endpoint: e.endpoint, receivedAt: e.receivedAt, afterFirstMs: Math.max(0, e.receivedAt - firstAt) });
      return;
    }
    const event: MessageEvent = { message, sender, via: e.transport, endpoint: e.endpoint, receivedAt: e.receivedAt, verified: e.verified };
    if (this.acceptStep) {
      const step = this.acceptStep(event).then(
        () => true,
        async (err: unknown) => {
          await this.opts.store.forgetInbound(this.identity.xOnly, sender.xOnly, message.uuid);
          throw err;
        },
      );
      this.accepting.set(
        seenKey,
        step.catch(() => false),
      );
      try {
        await step;
      } finally {
        this.accepting.delete(seenKey);
      }
    }
    this.rememberFirst(seenKey, e.receivedAt);
    if (message.channelPreferences) {
      if (e.verified) await this.applyStated(sender, message);
      else {
        this.opts.metrics.unverifiedIgnored.inc({ transport: e.transport, what: 'channel-preferences' });
        this.logOnce('unverified:channel-preferences', { transport: e.transport }, 'ignored channel preferences in an unsigned copy: only signed copies change them');
      }
    }
    this.events.emit('message', event);
    this.track(this.sendAck(message, sender, e));
  }

  /**
   * A signed ack copy (unsigned ones never get here): it counts only from a
   * recipient of the message. The store looks the original up inside the
   * ack's own write (recordAck), so no read comes before it; only an ack that
   * matches nothing is looked at again, to tell a sender mismatch apart.
   */
  private async onAck(ack: Acknowledgment, sender: PublicIdentity, e: InboundEnvelope): Promise<void> {
    const outcome = await this.opts.store.recordAck({
      owner: this.identity.xOnly,
      originalUuid: ack.originalMessageUuid,
      peer: sender.xOnly,
      protocol: e.transport,
      endpoint: e.endpoint,
      receivedAt: e.receivedAt,
    });
    if (!outcome.known) {
      const ours = await this.opts.store.getMessage(this.identity.xOnly, ack.originalMessageUuid);
      if (ours?.direction === 'out') {
        this.opts.reject({ transport: e.transport, endpoint: e.endpoint }, { code: 'sender-mismatch', detail: 'an ack came from someone the message was not sent to' });
      }
      return; // not ours (or long gone): nothing to update
    }
    if (ack.channelPreferences && outcome.firstAck) await this.applyStated(sender, ack);
    this.events.emit('ack', {
      originalUuid: ack.originalMessageUuid,
      sender,
      via: e.transport,
      endpoint: e.endpoint,
      receivedAt: e.receivedAt,
      latencyMs: outcome.latencyMs,
      firstAck: outcome.firstAck,
      firstOnProtocol: outcome.firstOnProtocol,
    });
  }

  private async applyStated(sender: PublicIdentity, m: ChatMessage): Promise<void> {
    const stated = (m.channelPreferences ?? []).flatMap((p) => {
      const protocol = this.opts.networks.fromLabel(p.protocol);
      return protocol ? [{ protocol, cannotUse: p.cannotUse }] : [];
    });
    if (stated.length > 0) await this.opts.store.applyStatedPreferences(this.identity.xOnly, sender.xOnly, stated);
  }

  /** Acknowledges the first copy on every transport; acks are never acknowledged. */
  private async sendAck(message: PlainMessage, sender: PublicIdentity, e: InboundEnvelope): Promise<void> {
    await this.allStarted;
    const ack = newAck(this.magnetLink, message, this.opts.networks.wireLabel(e.transport), e.receivedAt, this.ownPreferences(), this.now());
    try {
      const reports = await this.broadcast(sender, { uuid: ack.uuid, json: serializeChatMessage(ack) });
      if (!reports.some((r) => r.ok)) {
        this.opts.log.warn({ uuid: message.uuid, reasons: reports.map((r) => `${r.transport}:${r.reason ?? 'ok'}`) }, 'could not send the acknowledgment on any transport');
      }
    } catch (err) {
      this.opts.log.error({ uuid: message.uuid, err: (err as Error).message }, 'acknowledgment failed');
    }
  }

  private rememberFirst(key: string, at: number): void {
    if (this.firstSeen.size >= FIRST_SEEN_CACHE) {
      const oldest = this.firstSeen.keys().next().value;
      if (oldest !== undefined) this.firstSeen.delete(oldest);
    }
    this.firstSeen.set(key, at);
  }

  private track(p: Promise<unknown>): void {
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
  }

  /** Resolves when no ack is being sent (for tests and orderly shutdown). */
  async idle(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }
}

/** What the store keeps of a message `owner` sends to `peer` (recordOutbound). */
export function outboundRecord(owner: string, peer: string, message: PlainMessage): OutboundRecord {
  return { owner, uuid: message.uuid, peer, fromMagnetLink: message.fromMagnetLink, content: message.content, timestamp: message.timestamp };
}
