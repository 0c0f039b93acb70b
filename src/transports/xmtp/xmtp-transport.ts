/**
 * The XMTP transport (PROTOCOL.md §3): a DM to the recipient's Ethereum
 * address with the ChatMessage JSON as text; inbound, every DM of our inbox,
 * minus XMTP's echoes of our own sends.
 *
 * Contracts beyond Transport's:
 * - start() returns at once. Client creation (which may register an inbox and
 *   takes seconds on a good day) runs in the background, bounded by
 *   createTimeoutMs and retried with exponential backoff, so XMTP never slows
 *   the other transports.
 * - send() while the first creation attempt is in flight waits for it (at most
 *   sendTimeoutMs); while backing off after a failure it reports the failure's
 *   reason at once ('unreachable', 'rejected' or 'timeout').
 * - An inbound DM is delivered only when the network-authenticated sender (its
 *   inbox's Ethereum addresses) includes the `eth` of the magnet link the
 *   message claims; the sender proof names that address. The broadcaster
 *   checks the proof against the parsed message again.
 * - A stream that ends on its own is set up again (with backoff) and replays
 *   from the cursor, so nothing that arrived meanwhile is skipped.
 * - When the network refuses this client's version (XMTP's cut-over to its
 *   decentralised network), the transport turns itself off: logged once at
 *   error level, status says 'upgrade-required', every send reports it at
 *   once, and nothing is retried: only a newer roomcast can help.
 * - With `ctx.peers` (a room's contacts) and `rooms: 'reachable'`, the client
 *   exists only while a peer has an XMTP inbox (demand.ts): looked up at
 *   start, before a send to a new address, and every reachableCheckMs; it is
 *   closed when none is left. A send to an address without an inbox is
 *   'rejected' without a client.
 */
import { mkdir } from 'node:fs/promises';
import { backoffDelay } from '../../common/backoff.js';
import { isPermanentFailure, summarize } from '../transport.js';
import type {
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
import type { XmtpConfig } from './config.js';
import { xmtpEndpoint } from './config.js';
import { deriveXmtpDbKey, xmtpDbPath } from './db-key.js';
import { classifyXmtpError, withTimeout } from './errors.js';
import type { ClassifiedFailure } from './errors.js';
import { ConnectionPool } from '../connection-pool.js';
import type { Lease } from '../connection-pool.js';
import { XmtpDemand } from './demand.js';
import { nodeSdkNetwork } from './node-sdk.js';
import { XmtpReachability } from './reachability.js';
import { checkXmtpSender } from './sender.js';
import type { SenderVerdict } from './sender.js';
import type { XmtpInboundDm, XmtpNetwork, XmtpSession } from './seam.js';

const ETH_ADDRESS = /^0x[0-9a-fA-F]{40}$/;

export class XmtpTransport implements Transport {
  readonly id = 'xmtp' as const;
  readonly capabilities: TransportCapabilities;
  private readonly endpoint: string;
  private readonly ownAddress: string;
  /** CursorStore key of the newest handled message's send time (ms). */
  private readonly cursorKey: string;
  private cursor = 0;
  private session: XmtpSession | undefined;
  private endStream: (() => Promise<void>) | undefined;
  /** The creation attempt in flight, if any (resolves true when it left a ready session). */
  private attempt: Promise<boolean> | undefined;
  private lastFailure: ClassifiedFailure | undefined;
  /** Set once the network refused this client's version; permanent for this process. */
  private upgrade: ClassifiedFailure | undefined;
  /** True while connectLoop runs (one at a time). */
  private looping = false;
  private connected = false;
  private since = Date.now();
  private onEnvelope: ((e: InboundEnvelope) => Promise<void>) | undefined;
  /** Deliveries run one at a time, in arrival order. */
  private delivery: Promise<void> = Promise.resolve();
  private started = false;
  private startedAt = 0;
  private stopped = false;
  private stopping: Promise<void> | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private wakeRetry: (() => void) | undefined;
  /** Set when the client is made only on demand (ctx.peers, rooms 'reachable'). */
  private readonly demand: XmtpDemand | undefined;
  private readonly reachability: Lease<XmtpReachability> | undefined;
  /** On demand: whether the client is wanted now (always true otherwise). */
  private wanted: boolean;
  private reviewTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly config: XmtpConfig,
    private readonly ctx: TransportContext,
    private readonly network: XmtpNetwork = nodeSdkNetwork,
  ) {
    this.endpoint = xmtpEndpoint(config.env);
    this.ownAddress = ctx.identity.ethAddress.toLowerCase();
    this.cursorKey = `xmtp:${config.env}:${this.ownAddress}`;
    this.capabilities = { maxBytes: ctx.maxMessageBytes, encrypts: true, endpoints: [this.endpoint] };
    if (ctx.peers && config.rooms === 'reachable') {
      const pool = ctx.pool ?? new ConnectionPool({ owner: ctx.identity });
      this.reachability = pool.lease(`xmtp|reachability|${config.env}`, () => new XmtpReachability(network, config.env, config.reachableCheckMs));
      this.demand = new XmtpDemand(ctx.peers, this.reachability.value);
    }
    this.wanted = this.demand === undefined;
  }

  start(onEnvelope: (e: InboundEnvelope) => Promise<void>): Promise<void> {
    if (this.stopped) return Promise.reject(new Error('xmtp transport was stopped; create a new one'));
    if (this.started) return Promise.resolve();
    this.started = true;
    this.startedAt = Date.now();
    this.onEnvelope = onEnvelope;
    if (this.demand) {
      void this.review();
      this.reviewTimer = setInterval(() => void this.review(), this.config.reachableCheckMs);
      this.reviewTimer.unref();
      return Promise.resolve();
    }
    void this.connectLoop();
    this.ctx.log.info({ transport: 'xmtp', endpoint: this.endpoint }, 'xmtp transport starting in the background');
    return Promise.resolve();
  }

  /** On demand: opens the client when a peer has an inbox, closes it when none has. Never throws. */
  private async review(): Promise<void> {
    try {
      const needed = await this.demand!.needed();
      if (this.stopped || this.upgrade) return;
      if (needed) this.wake();
      else if (this.wanted) {
        this.wanted = false;
        this.ctx.log.info({ transport: 'xmtp', endpoint: this.endpoint }, 'xmtp client closed: no contact of this room has an XMTP inbox');
        await this.release();
      }
    } catch (err) {
      this.ctx.log.warn({ transport: 'xmtp', error: String(err) }, 'xmtp: could not look up contacts');
    }
  }

  private wake(): void {
    if (this.wanted || this.stopped) return;
    this.wanted = true;
    this.ctx.log.debug({ transport: 'xmtp', endpoint: this.endpoint }, 'xmtp client wanted: a contact has an XMTP inbox');
    void this.connectLoop();
  }

  async send(to: Peer, payload: OutboundPayload, onAccepted?: (endpoint: string) => void): Promise<SendReport> {
    const startedAt = Date.now();
    const fail = (reason: FailureReason, error: string): SendReport =>
      summarize('xmtp', [{ endpoint: this.endpoint, ok: false, latencyMs: Date.now() - startedAt, reason, error }]);
    try {
      if (this.stopped) return fail('unreachable', 'transport stopped');
      if (!this.started) return fail('unreachable', 'transport not started');
      if (this.upgrade) return fail(this.upgrade.reason, this.upgrade.message);
      const size = Buffer.byteLength(payload.json, 'utf8');
      if (size > this.ctx.maxMessageBytes) {
        return fail('rejected', `message is ${size} bytes, larger than ${this.ctx.maxMessageBytes}`);
      }
      const address = to.identity.ethAddress;
      if (!ETH_ADDRESS.test(address)) return fail('rejected', 'recipient has no valid Ethereum address');
      if (!this.wanted) {
        if (!(await this.demand!.reaches(address))) return fail('rejected', `${address} has no XMTP inbox`);
        this.wake();
      }
      const session = await this.readySession(startedAt);
      if (!session.ok) return fail(session.failure.reason, session.failure.message);
      const remaining = Math.max(1, this.config.sendTimeoutMs - (Date.now() - startedAt));
      await withTimeout(session.session.sendDm(address, payload.json), remaining, 'xmtp send');
      this.ctx.log.debug({ transport: 'xmtp', uuid: payload.uuid }, 'xmtp send');
      onAccepted?.(this.endpoint);
      return summarize('xmtp', [{ endpoint: this.endpoint, ok: true, latencyMs: Date.now() - startedAt }]);
    } catch (err) {
      const failure = classifyXmtpError(err);
      this.ctx.log.debug({ transport: 'xmtp', uuid: payload.uuid, reason: failure.reason }, 'xmtp send failed');
      if (isPermanentFailure(failure.reason)) {
        this.requireUpgrade(failure);
        return fail(failure.reason, this.upgrade?.message ?? failure.message);
      }
      return fail(failure.reason, failure.message);
    }
  }

  status(): EndpointStatus[] {
    const s: EndpointStatus = { endpoint: this.endpoint, connected: this.connected, since: this.since };
    if (!this.wanted && !this.upgrade) return [{ ...s, lastError: 'idle: no contact of this room has an XMTP inbox' }];
    const failure = this.upgrade ?? (this.connected ? undefined : this.lastFailure);
    return [failure ? { ...s, lastError: failure.message, reason: failure.reason } : s];
  }

  stop(): Promise<void> {
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  private async shutdown(): Promise<void> {
    this.stopped = true;
    clearInterval(this.reviewTimer);
    await this.release();
    await this.reachability?.release();
    // An attempt still in flight notices `stopped` and releases what it made.
    this.onEnvelope = undefined;
  }

  /** Ends any retry wait, the stream and the session, for good (stop, or an upgrade required). */
  private async release(): Promise<void> {
    clearTimeout(this.retryTimer);
    this.wakeRetry?.();
    const { session, endStream } = this;
    this.session = undefined;
    this.endStream = undefined;
    this.setConnected(false);
    await endStream?.().catch(() => undefined);
    await session?.close().catch(() => undefined);
  }

  /** The ready session, after waiting (bounded) for a first attempt in flight. */
  private async readySession(startedAt: number): Promise<{ ok: true; session: XmtpSession } | { ok: false; failure: ClassifiedFailure }> {
    const attempt = this.attempt;
    if (!this.session && attempt && !this.lastFailure) {
      const remaining = Math.max(1, this.config.sendTimeoutMs - (Date.now() - startedAt));
      await withTimeout(attempt, remaining, 'waiting for the xmtp client').catch(() => undefined);
    }
    if (this.session) return { ok: true, session: this.session };
    if (this.upgrade) return { ok: false, failure: this.upgrade };
    if (this.lastFailure) return { ok: false, failure: this.lastFailure };
    return { ok: false, failure: { reason: 'timeout', message: 'xmtp client creation is still in progress' } };
  }

  /**
   * Creates the client until one attempt succeeds, the transport stops, or
   * the network requires an upgrade; never throws. `failures` > 0 starts
   * with a backoff (a reconnect after a lost stream).
   */
  private async connectLoop(failures = 0): Promise<void> {
    if (this.looping) return;
    this.looping = true;
    try {
      while (!this.stopped && !this.upgrade && this.wanted) {
        if (failures > 0) {
          const delay = backoffDelay(failures - 1, this.config.retryMinMs, this.config.retryMaxMs);
          await new Promise<void>((resolve) => {
            this.wakeRetry = resolve;
            this.retryTimer = setTimeout(resolve, delay);
          });
          this.wakeRetry = undefined;
          if (this.stopped || this.upgrade || !this.wanted) return;
        }
        this.attempt = this.connectOnce();
        const ok = await this.attempt;
        this.attempt = undefined;
        // A session whose stream ended before this loop did (streamEnded found it busy) needs another round.
        if (ok && (this.session !== undefined || this.stopped)) return;
        failures++;
      }
    } finally {
      this.looping = false;
    }
  }

  /** One creation attempt (stream set-up included); true when it left a ready session. */
  private async connectOnce(): Promise<boolean> {
    const { identity } = this.ctx;
    const timeoutMs = this.config.createTimeoutMs;
    let session: XmtpSession | undefined;
    try {
      await mkdir(this.config.dbDir, { recursive: true });
      session = await withTimeout(
        this.network.create({
          privateKey: identity.secp256k1PrivateKey,
          address: identity.ethAddress,
          dbPath: xmtpDbPath(this.config.dbDir, identity.ethAddress, this.config.env),
          dbEncryptionKey: deriveXmtpDbKey(identity),
          env: this.config.env,
          ...(this.config.gatewayHost !== undefined ? { gatewayHost: this.config.gatewayHost } : {}),
        }),
        timeoutMs,
        'xmtp client creation',
        (late) => void late.close().catch(() => undefined),
      );
      let endStream: (() => Promise<void>) | undefined;
      let endedEarly: { err: unknown } | undefined;
      if (this.ctx.listen !== false && !this.stopped) {
        // Replay what arrived while we were not streaming: since the last handled message, or (first run) since start().
        const sinceMs = (await this.ctx.cursors.getCursor(this.cursorKey)) ?? this.startedAt;
        const streaming = session;
        const onEnd = (err: unknown) => {
          // Before this attempt is done (during the replay, say) the attempt itself fails below.
          if (this.session === streaming) this.streamEnded(streaming, err);
          else endedEarly ??= { err };
        };
        endStream = await withTimeout(
          session.streamDms((m) => this.receive(m), { sinceMs, onEnd }),
          timeoutMs,
          'xmtp stream set-up',
          (late) => void late().catch(() => undefined),
        );
      }
      // Stopped, or no longer wanted (every contact on XMTP went) while it was being made.
      if (this.stopped || !this.wanted) {
        await endStream?.().catch(() => undefined);
        await session.close().catch(() => undefined);
        return true;
      }
      if (endedEarly) throw endedEarly.err;
      this.session = session;
      this.endStream = endStream;
      this.lastFailure = undefined;
      this.setConnected(true);
      this.ctx.log.info({ transport: 'xmtp', endpoint: this.endpoint, listening: endStream !== undefined }, 'xmtp client ready');
      return true;
    } catch (err) {
      await session?.close().catch(() => undefined);
      const failure = classifyXmtpError(err);
      if (isPermanentFailure(failure.reason)) {
        this.requireUpgrade(failure);
        return false;
      }
      // Warn once per kind of failure, like the other transports; the retries themselves are debug noise.
      const level = this.lastFailure?.reason === failure.reason ? 'debug' : 'warn';
      this.lastFailure = failure;
      this.setConnected(false);
      this.ctx.log[level]({ transport: 'xmtp', endpoint: this.endpoint, reason: failure.reason, error: failure.message }, 'xmtp client creation failed; retrying in the background');
      return false;
    }
  }

  /**
   * The stream of `session` ended on its own: drop the session and set up a
   * new one with backoff (it replays from the cursor), unless the network
   * wants a newer client.
   */
  private streamEnded(session: XmtpSession, err: unknown): void {
    if (this.stopped || this.session !== session) return;
    const failure = classifyXmtpError(err);
    if (isPermanentFailure(failure.reason)) return this.requireUpgrade(failure);
    this.ctx.log.warn({ transport: 'xmtp', endpoint: this.endpoint, reason: failure.reason, error: failure.message }, 'xmtp stream ended; reconnecting in the background');
    this.session = undefined;
    this.endStream = undefined;
    this.lastFailure = failure;
    this.setConnected(false);
    void session.close().catch(() => undefined);
    void this.connectLoop(1);
  }

  /**
   * The network refused this client's version: turn XMTP off for this
   * process, say so once, and stop every retry. Idempotent.
   */
  private requireUpgrade(cause: ClassifiedFailure): void {
    if (this.upgrade || this.stopped) return;
    const client = this.network.client;
    this.upgrade = {
      reason: 'upgrade-required',
      message: `upgrade required: the XMTP network refuses this client (${client}): "${cause.message}" Upgrade roomcast; the other networks carry on.`,
    };
    this.ctx.log.error(
      { transport: 'xmtp', endpoint: this.endpoint, reason: 'upgrade-required', client, error: cause.message },
      'the XMTP network refuses this client version: XMTP is off until roomcast is upgraded; the other networks carry on',
    );
    void this.release();
  }

  /**
   * Records that messages up to `sentAtMs` were handled, after earlier
   * deliveries finished, so a restart replays only what came later.
   */
  private handled(sentAtMs: number): void {
    if (!(sentAtMs > this.cursor)) return;
    this.cursor = sentAtMs;
    this.delivery = this.delivery
      .then(() => this.ctx.cursors.setCursor(this.cursorKey, sentAtMs))
      .catch((err: unknown) => this.ctx.log.warn({ transport: 'xmtp', error: String(err) }, 'xmtp cursor not saved'));
  }

  private setConnected(connected: boolean): void {
    if (connected === this.connected) return;
    this.connected = connected;
    this.since = Date.now();
  }

  /** One inbound DM from the stream: drop echoes, check size and sender, deliver in order. */
  private receive(m: XmtpInboundDm): void {
    const receivedAt = Date.now();
    const deliver = this.onEnvelope;
    if (!deliver || this.stopped) return;
    if (m.senderAddresses.some((a) => a.toLowerCase() === this.ownAddress)) return this.handled(m.sentAtMs); // XMTP's echo of our own send
    const size = Buffer.byteLength(m.text, 'utf8');
    const verdict: SenderVerdict =
      size > this.ctx.maxMessageBytes
        ? { ok: false, rejection: { code: 'oversized', detail: `message is larger than ${this.ctx.maxMessageBytes} bytes` } }
        : checkXmtpSender(m.text, m.senderAddresses);
    if (!verdict.ok) {
      this.ctx.log.debug({ transport: 'xmtp', code: verdict.rejection.code }, 'xmtp message rejected');
      try {
        this.ctx.reject({ transport: 'xmtp', endpoint: this.endpoint }, verdict.rejection);
      } catch (err) {
        this.ctx.log.warn({ transport: 'xmtp', error: String(err) }, 'reject sink failed');
      }
      return this.handled(m.sentAtMs);
    }
    const envelope: InboundEnvelope = {
      transport: 'xmtp',
      endpoint: this.endpoint,
      sender: { kind: 'eth', address: verdict.address },
      verified: true,
      body: m.text,
      receivedAt,
    };
    // XMTP has no per-message acknowledgment to withhold: a failed delivery is logged.
    this.delivery = this.delivery
      .then(() => deliver(envelope))
      .then(() => this.handled(m.sentAtMs))
      .catch((err: unknown) => this.ctx.log.warn({ transport: 'xmtp', error: String(err) }, 'xmtp delivery failed'));
  }
}
