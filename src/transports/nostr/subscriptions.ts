/**
 * The subscriptions open on one relay socket. Each has its own id, filters
 * and progress: it turns live at its EOSE, and from then on every frame the
 * socket hands over moves its progress. One socket carries several, so
 * identities that join later get a subscription of their own instead of
 * making the relay send everyone's backlog again.
 */
import { randomBytes } from 'node:crypto';
import type { Filter } from 'nostr-tools/filter';

/** What one subscription asks for, and whom its progress concerns. */
export interface SubscriptionGroup {
  readonly filters: Filter[];
  /** Everything the relay sent before `atMs` on this subscription has been handled (only while it is live). */
  onProgress(atMs: number): void;
}

export interface OpenSubscription {
  readonly id: string;
  readonly group: SubscriptionGroup;
  live: boolean;
  reqSentAt: number;
  /** Waiting for its EOSE (or for the socket to close). */
  waiters: Array<() => void>;
  /** Closed by the relay for want of AUTH: asked again once authenticated. */
  awaitingAuth: boolean;
}

export class SubscriptionSet {
  private readonly base = `rc-${randomBytes(6).toString('hex')}`;
  private seq = 0;
  private readonly byId = new Map<string, OpenSubscription>();

  /** A new subscription for `group` (its REQ is the caller's to send). */
  open(group: SubscriptionGroup, now: number): OpenSubscription {
    const sub: OpenSubscription = { id: `${this.base}-${++this.seq}`, group, live: false, reqSentAt: now, waiters: [], awaitingAuth: false };
    this.byId.set(sub.id, sub);
    return sub;
  }

  get(id: unknown): OpenSubscription | undefined {
    return typeof id === 'string' ? this.byId.get(id) : undefined;
  }

  /** The open subscription of `group`, if any. */
  of(group: SubscriptionGroup): OpenSubscription | undefined {
    for (const s of this.byId.values()) if (s.group === group) return s;
    return undefined;
  }

  /** Forgets one subscription (its CLOSE is the caller's to send), waking whoever waited for it. */
  drop(sub: OpenSubscription): void {
    this.byId.delete(sub.id);
    release(sub);
  }

  /** Forgets every subscription (the socket closed), waking every waiter. */
  clear(): OpenSubscription[] {
    const all = [...this.byId.values()];
    this.byId.clear();
    for (const s of all) release(s);
    return all;
  }

  /** Resolves at `sub`'s EOSE, when it is dropped or the socket closes, or after `boundMs`. */
  waitFor(sub: OpenSubscription, boundMs: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, boundMs);
      timer.unref?.();
      sub.waiters.push(done);
      function done() {
        clearTimeout(timer);
        resolve();
      }
    });
  }

  /** Reached its EOSE: live from now on, and its waiters woken. */
  caughtUp(sub: OpenSubscription): void {
    sub.live = true;
    release(sub);
  }

  all(): OpenSubscription[] {
    return [...this.byId.values()];
  }

  get size(): number {
    return this.byId.size;
  }

  /** True while no subscription waits for its EOSE. */
  get settled(): boolean {
    for (const s of this.byId.values()) if (!s.live) return false;
    return true;
  }
}

function release(sub: OpenSubscription): void {
  const waiters = sub.waiters;
  sub.waiters = [];
  for (const w of waiters) w();
}
