/**
 * One relay: a WebSocket (`ws` rather than Node's global WebSocket, for protocol-level
 * pings that find dead connections, and handshake timeouts) that
 * reconnects with exponential backoff, keeps the subscriptions its owner asks
 * for (recomputed on every reconnect; more can be added and closed while it
 * runs), answers NIP-42 AUTH challenges, publishes events and waits for the
 * relay's OK.
 *
 * Inbound EVENT frames are handed to the owner strictly in order, one at a
 * time (the handler is awaited); progress marks (for the resume cursors) are
 * interleaved in the same queue, so a cursor never passes an event that has
 * not been handled. Nothing thrown in a socket handler escapes.
 */
import WebSocket from 'ws';
import type { RawData } from 'ws';
import type { EventTemplate, NostrEvent } from 'nostr-tools/pure';
import { backoffDelay } from '../../common/backoff.js';
import type { Logger } from '../../observability/logger.js';
import type { EndpointStatus } from '../transport.js';
import { PendingPublishes } from './pending-publishes.js';
import type { PublishOutcome } from './pending-publishes.js';
import { InOrderQueue } from './in-order.js';
import { RelayAuth } from './relay-auth.js';
import { SubscriptionSet } from './subscriptions.js';
import type { OpenSubscription, SubscriptionGroup } from './subscriptions.js';

export interface RelayConnectionOptions {
  readonly connectTimeoutMs: number;
  readonly reconnectMinMs: number;
  readonly reconnectMaxMs: number;
  readonly pingIntervalMs: number;
  /** Largest WebSocket frame accepted; a larger one drops the connection. */
  readonly maxFrameBytes: number;
  /** Inbound events waiting for the handler before the connection is dropped (and later resumed). */
  readonly maxQueuedEvents?: number;
}

export interface RelayConnectionHooks {
  /** The subscriptions to open on each (re)connect; none for a send-only connection. */
  groups(): Promise<SubscriptionGroup[]>;
  /** One EVENT from one of our subscriptions, freshly parsed; awaited, in arrival order. Must not throw. */
  onEvent(raw: unknown, receivedAt: number): Promise<void>;
  /** Signs a NIP-42 AUTH event; without it challenges are ignored. */
  signAuth?(template: EventTemplate): NostrEvent;
}

export type { PublishOutcome, SubscriptionGroup };

export class RelayConnection {
  private ws: WebSocket | undefined;
  private gen = 0;
  private stopped = false;
  private isOpen = false;
  private changedAt = Date.now();
  private lastError: string | undefined;
  private everConnected = false;
  private reportedDown = false;
  private attempt = 0;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private pingTimer: NodeJS.Timeout | undefined;
  /** When the relay last sent us anything (a frame or a pong), to tell a relay that stopped answering from a slow OK. */
  private lastHeardAt = 0;
  private alive = true;
  private readonly subs = new SubscriptionSet();
  /** Counts subscribeAll calls: only the newest one opens its subscriptions. */
  private round = 0;
  private readonly auth: RelayAuth;
  private readonly pending = new PendingPublishes();
  private readonly inbound: InOrderQueue;
  private firstSettle: (() => void) | undefined;
  private readonly first: Promise<void>;

  constructor(
    readonly url: string,
    /** The URL without credentials: used in logs, reports and envelopes. */
    readonly label: string,
    private readonly options: RelayConnectionOptions,
    private readonly hooks: RelayConnectionHooks,
    private readonly log: Logger,
  ) {
    this.first = new Promise((resolve) => (this.firstSettle = resolve));
    this.inbound = new InOrderQueue(options.maxQueuedEvents ?? 2000, (err) => log.warn({ relay: label, err: String(err) }, 'nostr: inbound handler failed'));
    this.auth = new RelayAuth({
      url,
      label,
      ...(hooks.signAuth ? { sign: hooks.signAuth } : {}),
      send: (frame) => this.sendFrame(frame),
      ask: (sub) => this.ask(sub),
      log,
    });
  }

  get connected(): boolean {
    return this.isOpen;
  }

  /**
   * Opens one more subscription on the live socket. Resolves at its EOSE, or
   * at once when the relay is not connected (the next connect opens what
   * `groups()` says then), or when the socket closes; never rejects.
   */
  addGroup(group: SubscriptionGroup): Promise<void> {
    if (this.stopped || !this.isOpen) return Promise.resolve();
    const sub = this.subs.open(group, Date.now());
    const done = this.subs.waitFor(sub, 2 * this.options.connectTimeoutMs);
    this.sendFrame(['REQ', sub.id, ...group.filters]);
    return done;
  }

  /** Closes the subscription of `group`, if open. */
  closeGroup(group: SubscriptionGroup): void {
    const sub = this.subs.of(group);
    if (!sub) return;
    this.subs.drop(sub);
    this.sendFrame(['CLOSE', sub.id]);
  }

  /** True while `group` has a subscription on this socket. */
  has(group: SubscriptionGroup): boolean {
    return this.subs.of(group) !== undefined;
  }

  /** True while the subscription of `group` is caught up (after its EOSE) and frames move its progress. */
  isLive(group: SubscriptionGroup): boolean {
    return this.subs.of(group)?.live === true;
  }

  /** Resolves once every inbound frame received so far has been handled. */
  drained(): Promise<void> {
    return this.inbound.drained();
  }

  /**
   * Starts connecting. Resolves when the first attempt settled: subscribed and
   * caught up (EOSE), failed, or timed out; retries continue in the background.
   */
  start(): Promise<void> {
    if (!this.stopped && this.gen === 0) this.connect();
    const bound = setTimeout(() => this.settleFirst(), 2 * this.options.connectTimeoutMs);
    bound.unref?.();
    return this.first.finally(() => clearTimeout(bound));
  }

  status(): EndpointStatus {
    return {
      endpoint: this.label,
      connected: this.isOpen,
      since: this.changedAt,
      ...(this.lastError !== undefined ? { lastError: this.lastError } : {}),
    };
  }

  /** Sends a prepared `["EVENT", …]` frame and waits for the relay's OK for `eventId`. Never throws. */
  publish(eventId: string, frame: string, timeoutMs: number): Promise<PublishOutcome> {
    const ws = this.ws;
    if (this.stopped || !this.isOpen || !ws || ws.readyState !== WebSocket.OPEN) {
      return Promise.resolve({ ok: false, reason: 'unreachable', error: this.stopped ? 'transport stopped' : 'not connected' });
    }
    const sentAt = Date.now();
    const outcome = this.pending.wait(eventId, timeoutMs, (fail) =>
      ws.send(frame, (err) => {
        if (err) fail(`send failed: ${err.message}`);
      }),
    );
    void outcome.then((o) => {
      // Not a frame nor a pong in all that time: the relay stopped answering with its socket open. The pings
      // would find out only after two intervals, every publish waiting its full timeout meanwhile; closing
      // now makes publishes fail at once while the connection is made again.
      if (!o.ok && o.reason === 'timeout' && ws === this.ws && this.lastHeardAt < sentAt) {
        this.log.debug({ relay: this.label }, 'nostr: relay silent for a whole publish timeout; reconnecting');
        ws.terminate();
      }
    });
    return outcome;
  }

  /** Closes the connection and stops reconnecting; idempotent. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.reconnectTimer);
    clearInterval(this.pingTimer);
    this.settleFirst();
    // Live until now: once the frames already queued are handled, the cursors may move here.
    const at = Date.now();
    const subs = this.subs.clear();
    for (const sub of subs) if (sub.live) this.enqueue(() => sub.group.onProgress(at));
    const ws = this.ws;
    this.ws = undefined;
    this.gen++;
    this.setOpen(false, 'stopped');
    this.pending.failAll('transport stopped');
    if (!ws || ws.readyState === WebSocket.CLOSED) return;
    await new Promise<void>((resolve) => {
      const done = setTimeout(() => {
        ws.terminate();
        resolve();
      }, 1000);
      ws.once('close', () => {
        clearTimeout(done);
        resolve();
      });
      try {
        if (ws.readyState === WebSocket.OPEN) {
          for (const sub of subs) ws.send(JSON.stringify(['CLOSE', sub.id]));
          ws.close(1000);
        } else {
          ws.terminate();
        }
      } catch {
        ws.terminate();
      }
    });
    await this.inbound.drained();
  }

  // ───────────────────────── connection lifecycle ─────────────────────────

  private connect(): void {
    if (this.stopped) return;
    const gen = ++this.gen;
    let ws: WebSocket;
    try {
      ws = new WebSocket(this.url, { handshakeTimeout: this.options.connectTimeoutMs, maxPayload: this.options.maxFrameBytes });
    } catch (err) {
      this.onClosed(gen, `cannot connect: ${String(err)}`);
      return;
    }
    this.ws = ws;
    let closeReason: string | undefined;
    const openTimer = setTimeout(() => {
      closeReason = `no connection within ${this.options.connectTimeoutMs} ms`;
      ws.terminate();
    }, this.options.connectTimeoutMs + 100);
    ws.on('open', () => {
      clearTimeout(openTimer);
      if (gen !== this.gen) return;
      this.onOpen(gen);
    });
    ws.on('message', (data: RawData) => {
      if (gen !== this.gen) return;
      this.alive = true;
      this.lastHeardAt = Date.now();
      try {
        this.onFrame(gen, rawToString(data), Date.now());
      } catch (err) {
        this.log.warn({ relay: this.label, err: String(err) }, 'nostr: could not handle a relay frame');
      }
    });
    ws.on('pong', () => {
      this.alive = true;
      this.lastHeardAt = Date.now();
      this.markProgress(gen, Date.now());
    });
    ws.on('error', (err: Error) => {
      closeReason ??= err.message || 'connection error';
    });
    ws.on('close', (code: number) => {
      clearTimeout(openTimer);
      this.onClosed(gen, closeReason ?? `closed (code ${code})`);
    });
  }

  private onOpen(gen: number): void {
    this.auth.reset();
    this.alive = true;
    this.lastError = undefined;
    this.setOpen(true);
    clearInterval(this.pingTimer);
    this.pingTimer = setInterval(() => this.ping(gen), this.options.pingIntervalMs);
    this.pingTimer.unref?.();
    void this.subscribeAll(gen);
  }

  private onClosed(gen: number, reason: string): void {
    if (gen !== this.gen) return;
    clearInterval(this.pingTimer);
    this.ws = undefined;
    this.subs.clear();
    this.lastError = reason;
    this.setOpen(false, reason);
    this.pending.failAll('connection closed before the relay answered');
    this.settleFirst();
    if (this.stopped) return;
    const base = backoffDelay(this.attempt, this.options.reconnectMinMs, this.options.reconnectMaxMs);
    this.attempt++;
    const delay = Math.round(base / 2 + (Math.random() * base) / 2);
    this.log.debug({ relay: this.label, delayMs: delay, reason }, 'nostr: reconnecting');
    this.reconnectTimer = setTimeout(() => this.connect(), delay);
    this.reconnectTimer.unref?.();
  }

  private setOpen(open: boolean, reason?: string): void {
    if (open === this.isOpen) {
      if (!open && !this.reportedDown && !this.stopped) {
        this.reportedDown = true;
        this.log.warn({ relay: this.label, reason }, 'nostr relay unreachable; retrying in the background');
      }
      return;
    }
    this.isOpen = open;
    this.changedAt = Date.now();
    if (open) {
      this.reportedDown = false;
      this.log.info({ relay: this.label }, this.everConnected ? 'nostr relay reconnected' : 'nostr relay connected');
      this.everConnected = true;
    } else if (!this.stopped) {
      this.reportedDown = true;
      this.log.warn({ relay: this.label, reason }, 'nostr relay disconnected; reconnecting');
    }
  }

  private ping(gen: number): void {
    const ws = this.ws;
    if (gen !== this.gen || !ws) return;
    if (!this.alive) {
      this.log.debug({ relay: this.label }, 'nostr: relay did not answer ping');
      ws.terminate();
      return;
    }
    this.alive = false;
    try {
      ws.ping();
    } catch {
      ws.terminate();
    }
  }

  private sendFrame(message: unknown[]): void {
    const ws = this.ws;
    if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(message), () => undefined);
  }

  /** Opens, on a fresh socket, every subscription the owner wants now; the first start settles when all are caught up. */
  private async subscribeAll(gen: number): Promise<void> {
    const round = ++this.round;
    let groups: SubscriptionGroup[];
    try {
      groups = await this.hooks.groups();
    } catch (err) {
      this.log.warn({ relay: this.label, err: String(err) }, 'nostr: could not compute subscription filters');
      this.ws?.terminate();
      return;
    }
    if (gen !== this.gen || round !== this.round) return;
    const caughtUp = Promise.all(groups.map((g) => this.addGroup(g)));
    // Send-only (no groups): the connection is ready as it is.
    void caughtUp.then(() => this.settleFirst());
  }

  private settleFirst(): void {
    this.firstSettle?.();
    this.firstSettle = undefined;
  }


  // ───────────────────────────── inbound frames ─────────────────────────────

  private onFrame(gen: number, text: string, receivedAt: number): void {
    let msg: unknown;
    try {
      msg = JSON.parse(text);
    } catch {
      this.log.debug({ relay: this.label }, 'nostr: relay sent a frame that is not JSON');
      return;
    }
    if (!Array.isArray(msg) || typeof msg[0] !== 'string') return;
    switch (msg[0]) {
      case 'EVENT':
        if (this.subs.get(msg[1])) this.enqueueEvent(gen, msg[2], receivedAt);
        break;
      case 'EOSE': {
        const sub = this.subs.get(msg[1]);
        if (sub) this.enqueue(() => this.onEose(gen, sub));
        break;
      }
      case 'OK':
        this.onOk(gen, msg[1], msg[2] === true, typeof msg[3] === 'string' ? msg[3] : '');
        break;
      case 'CLOSED': {
        const sub = this.subs.get(msg[1]);
        if (sub) this.onSubscriptionClosed(sub, typeof msg[2] === 'string' ? msg[2] : '');
        break;
      }
      case 'AUTH':
        if (typeof msg[1] === 'string') this.auth.onChallenge(msg[1]);
        break;
      case 'NOTICE':
        this.log.debug({ relay: this.label, notice: String(msg[1]).slice(0, 200) }, 'nostr: relay notice');
        break;
      default:
        break;
    }
    this.markProgress(gen, receivedAt);
  }

  private enqueue(task: () => void | Promise<void>): void {
    this.inbound.run(task);
  }

  private enqueueEvent(gen: number, raw: unknown, receivedAt: number): void {
    if (this.inbound.event(() => this.hooks.onEvent(raw, receivedAt))) return;
    this.log.warn({ relay: this.label, queued: this.inbound.waiting }, 'nostr: receiver is behind; dropping the connection to resume later');
    if (gen === this.gen) this.ws?.terminate();
  }

  private markProgress(gen: number, at: number): void {
    this.enqueue(() => {
      if (gen !== this.gen) return;
      for (const sub of this.subs.all()) if (sub.live) sub.group.onProgress(at);
    });
  }

  private onEose(gen: number, sub: OpenSubscription): void {
    if (gen !== this.gen || this.subs.get(sub.id) !== sub) return;
    this.attempt = 0;
    sub.group.onProgress(sub.reqSentAt);
    this.subs.caughtUp(sub);
  }

  private onOk(gen: number, id: unknown, ok: boolean, message: string): void {
    if (typeof id !== 'string') return;
    if (this.auth.onOk(id, ok, message, gen === this.gen ? this.subs.all() : [])) return;
    this.pending.answer(id, ok, message);
  }

  private onSubscriptionClosed(sub: OpenSubscription, reason: string): void {
    sub.live = false;
    if (this.auth.onClosed(sub, reason, this.subs.size)) return;
    this.log.warn({ relay: this.label, reason: reason.slice(0, 200) }, 'nostr: relay closed our subscription; reconnecting');
    this.lastError = `subscription closed: ${reason.slice(0, 200)}`;
    this.ws?.terminate();
  }

  /** Sends `sub`'s REQ again (after AUTH). */
  private ask(sub: OpenSubscription): void {
    sub.awaitingAuth = false;
    sub.reqSentAt = Date.now();
    this.sendFrame(['REQ', sub.id, ...sub.group.filters]);
  }
}

function rawToString(data: RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data).toString('utf8');
}
