/**
 * One broker connection shared by every identity a process listens (or sends)
 * as: each identity joins with its topics and a route, and each inbound
 * publish goes to the route of its topic.
 *
 * The persistent session outlives the process, so right after a restart the
 * broker may deliver messages for rooms whose transports have not joined yet.
 * Those are held (not acknowledged) until their room joins, for up to
 * `holdMs`; if it never does, they stay unacknowledged and come again on the
 * next session resume, so none is lost. A message for an identity the process
 * does not serve at all (a room dropped while the process was down) is a
 * stale subscription's: it is acknowledged, dropped, and its topic
 * unsubscribed.
 */
import type { Logger } from '../../observability/logger.js';
import type { Poolable } from '../connection-pool.js';
import { BrokerConnection } from './broker-connection.js';
import type { BrokerConnectionOptions } from './broker-connection.js';

/** Where one identity's publishes go. */
export interface BrokerRoute {
  /** One inbound publish for this identity; rejecting leaves it unacknowledged. */
  receive(payload: Buffer, topic: string, endpoint: string): Promise<void>;
  /** An oversized publish on this identity's topic, refused unread. */
  oversized(bytes: number, endpoint: string): void;
}

export interface SharedBrokerOptions extends Omit<BrokerConnectionOptions, 'onMessage' | 'onOversized'> {
  /** True for an identity this process serves (ConnectionPool.expects). */
  readonly expects: (xOnly: string) => boolean;
  /** How long a publish for an expected identity that has not joined yet is held. */
  readonly holdMs: number;
  /** An oversized publish on no joined identity's topic (or with no topic known). */
  readonly strayOversized: (bytes: number, endpoint: string) => void;
  readonly log: Logger;
}

/** The x-only key a `dm/<key>` topic names (x-only, or the uncompressed key the seed also listens on), if any. */
export function topicOwner(topic: string): string | undefined {
  const key = topic.startsWith('dm/') ? topic.slice(3) : '';
  if (/^[0-9a-f]{64}$/.test(key)) return key;
  if (/^04[0-9a-f]{128}$/.test(key)) return key.slice(2, 66);
  return undefined;
}

export class SharedBroker implements Poolable {
  readonly connection: BrokerConnection;
  private readonly routes = new Map<string, BrokerRoute>();
  /** Publishes held for a topic until its identity joins. */
  private readonly held = new Map<string, Array<(route: BrokerRoute | undefined) => void>>();
  private readonly staleLogged = new Set<string>();

  constructor(private readonly opts: SharedBrokerOptions) {
    this.connection = new BrokerConnection({
      ...opts,
      onMessage: (payload, topic, endpoint) => this.route(payload, topic, endpoint),
      onOversized: (bytes, endpoint, topic) => {
        const route = topic === undefined ? undefined : this.routes.get(topic);
        if (route) route.oversized(bytes, endpoint);
        else opts.strayOversized(bytes, endpoint);
      },
    });
  }

  /**
   * Listens on `topics` for one identity (connecting first if nobody has).
   * Resolves as BrokerConnection.start and addTopics do: once listening, or
   * at once while the broker is down; never rejects.
   */
  async join(topics: readonly string[], route: BrokerRoute): Promise<void> {
    for (const t of topics) {
      this.routes.set(t, route);
      const waiting = this.held.get(t);
      this.held.delete(t);
      for (const wake of waiting ?? []) wake(route);
    }
    const added = this.connection.addTopics(topics);
    await Promise.all([this.connection.start(), added]);
  }

  /**
   * One identity stops listening. `forget`: for good (unsubscribed, so the
   * broker stops keeping its messages); otherwise the session keeps them for
   * the next time it joins.
   */
  leave(topics: readonly string[], forget: boolean): void {
    for (const t of topics) this.routes.delete(t);
    if (forget) this.connection.removeTopics(topics);
  }

  close(): Promise<void> {
    for (const waiting of this.held.values()) for (const wake of waiting) wake(undefined);
    this.held.clear();
    return this.connection.stop();
  }

  private async route(payload: Buffer, topic: string, endpoint: string): Promise<void> {
    const route = this.routes.get(topic) ?? (await this.waitForRoute(topic));
    if (route) return route.receive(payload, topic, endpoint);
    const owner = topicOwner(topic);
    if (owner !== undefined && this.opts.expects(owner)) {
      throw new Error(`no listener for ${topic} within ${this.opts.holdMs} ms; left for redelivery`);
    }
    // Not an identity of this process: a stale subscription's. Acknowledged and dropped, and unsubscribed.
    if (!this.staleLogged.has(topic)) {
      this.staleLogged.add(topic);
      this.opts.log.info({ endpoint, topic }, 'mqtt: a message for an identity this process does not serve was dropped; unsubscribing');
      this.connection.removeTopics([topic]);
    }
  }

  /** Holds a publish for an expected identity until it joins, or `holdMs` passes. */
  private waitForRoute(topic: string): Promise<BrokerRoute | undefined> {
    const owner = topicOwner(topic);
    if (owner === undefined || !this.opts.expects(owner)) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      const list = this.held.get(topic) ?? [];
      const timer = setTimeout(() => {
        const left = this.held.get(topic)?.filter((w) => w !== wake) ?? [];
        if (left.length > 0) this.held.set(topic, left);
        else this.held.delete(topic);
        resolve(undefined);
      }, this.opts.holdMs);
      timer.unref();
      const wake = (route: BrokerRoute | undefined) => {
        clearTimeout(timer);
        resolve(route);
      };
      list.push(wake);
      this.held.set(topic, list);
    });
  }
}
