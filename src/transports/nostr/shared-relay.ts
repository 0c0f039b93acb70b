/**
 * One relay socket shared by every identity a process listens as. On each
 * connect, subscriptions ask for all of them: their `#p` values in chunks a
 * relay accepts (one subscription per chunk), each chunk from the oldest
 * resume point among its identities. Identities that join later get a
 * subscription of their own (those joining in one turn share it), so the
 * relay never sends everyone's backlog again; once several such small ones
 * are open they are merged into one, the new one opened before the old ones
 * close. Each event goes to the identities its `p` tags name, and only to
 * them. A subscription's progress moves its identities' cursors.
 *
 * A relay that sends an AUTH challenge is taken to serve DMs only to the key a
 * socket authenticated as (NIP-42 relays mostly accept one key per socket), so
 * from then on every identity but the owner listens there on a socket of its
 * own, authenticated as itself; the shared socket stays for the owner and for
 * publishing.
 */
import { LRUCache } from 'lru-cache';
import type { EventTemplate, NostrEvent } from 'nostr-tools/pure';
import type { Filter } from 'nostr-tools/filter';
import { signEvent } from '../../identity/crypto.js';
import type { Identity } from '../../identity/keys.js';
import type { Logger } from '../../observability/logger.js';
import type { Poolable } from '../connection-pool.js';
import type { ResumeCursor } from './cursor.js';
import { RelayConnection } from './relay-connection.js';
import type { RelayConnectionOptions, SubscriptionGroup } from './relay-connection.js';

/** `#p` values per filter: within what common relays accept for one filter; 1,000 rooms take 5 subscriptions. */
export const P_CHUNK = 200;
/** Small subscriptions (of identities that joined later) kept open before they are merged. */
const MAX_SMALL = 4;
/** How often a subscription's progress is passed on to its identities' cursors. */
const PROGRESS_EVERY_MS = 1000;

/** One identity listening on the relay. */
export interface RelayMember {
  readonly identity: Identity;
  readonly cursor: ResumeCursor;
  /** One EVENT addressed to this identity; awaited in arrival order; must not throw. */
  onEvent(raw: unknown, receivedAt: number): Promise<void>;
}

export interface SharedRelayOptions {
  readonly url: string;
  readonly label: string;
  readonly connection: RelayConnectionOptions;
  /** Whose socket it is: AUTH answers on the shared socket are signed by it. */
  readonly owner: Identity;
  /** False in a send-only process: nothing is subscribed. */
  readonly listen: boolean;
  readonly log: Logger;
}

/** One subscription's identities. Its progress reaches their cursors at most once a second (every frame moves it). */
class MemberGroup implements SubscriptionGroup {
  private latest = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    readonly filters: Filter[],
    readonly members: Set<RelayMember>,
  ) {}

  onProgress(atMs: number): void {
    if (atMs <= this.latest) return;
    this.latest = atMs;
    this.timer ??= setTimeout(() => this.apply(), PROGRESS_EVERY_MS);
    this.timer.unref?.();
  }

  /** Passes the progress on now. */
  apply(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.latest > 0) for (const m of this.members) m.cursor.reach(this.latest);
  }
}

/** Subscriptions for `members`, `P_CHUNK` identities each, every chunk from the oldest resume point among them. */
async function buildGroups(members: readonly RelayMember[]): Promise<MemberGroup[]> {
  const perMember = await Promise.all(members.map(async (m) => ({ m, filters: await m.cursor.filters() })));
  const groups: MemberGroup[] = [];
  for (let i = 0; i < perMember.length; i += P_CHUNK) {
    const chunk = perMember.slice(i, i + P_CHUNK);
    // Each member's filters: [kind 4 since a, kind 1059 since b]; a chunk asks from the oldest of each.
    const filters = chunk[0]!.filters.map((f, k) => ({
      ...f,
      '#p': chunk.map((c) => c.m.identity.xOnly),
      since: Math.min(...chunk.map((c) => c.filters[k]!.since ?? 0)),
    }));
    groups.push(new MemberGroup(filters, new Set(chunk.map((c) => c.m))));
  }
  return groups;
}

export class SharedRelay implements Poolable {
  readonly main: RelayConnection;
  private readonly members = new Map<string, RelayMember>();
  /** The shared socket's subscriptions. */
  private groups: MemberGroup[] = [];
  /** Joined while the socket is up, waiting for the next subscription of their own. */
  private pending: Array<{ member: RelayMember; done: () => void }> = [];
  private flushing = false;
  /** After an AUTH challenge: sockets of their own, per identity other than the owner. */
  private split = false;
  private readonly own = new Map<string, RelayConnection>();
  /** The subscriptions of those sockets, to pass their progress on when they close. */
  private readonly ownGroups = new Map<string, MemberGroup[]>();
  /**
   * Events routed lately (id and signature): a relay sends an event once per
   * matching subscription, and a merge briefly has two that match. Cleared on
   * each connect, so what a subscription asks for again is routed again.
   */
  private readonly routed = new LRUCache<string, true>({ max: 4096 });
  private started = false;
  private closed = false;

  constructor(private readonly opts: SharedRelayOptions) {
    this.main = new RelayConnection(
      opts.url,
      opts.label,
      opts.connection,
      {
        groups: async () => {
          this.routed.clear();
          const groups = opts.listen ? await buildGroups([...this.members.values()].filter((m) => this.onShared(m))) : [];
          // Subscriptions opened on this socket meanwhile (identities that joined while these were built) stay.
          this.groups = [...groups, ...this.groups.filter((g) => this.main.has(g))];
          return groups;
        },
        onEvent: (raw, receivedAt) => this.route(raw, receivedAt),
        signAuth: (template) => this.onChallenge(template),
      },
      opts.log,
    );
  }

  get label(): string {
    return this.opts.label;
  }

  /** The connection that carries `xOnly`'s subscription (its own after a split), for status. */
  connectionOf(xOnly: string): RelayConnection {
    return this.own.get(xOnly) ?? this.main;
  }

  /**
   * Starts listening as `member`: resolves once its subscription is caught up
   * (EOSE), or the relay is down, or a bound passed. Without a member (send
   * only) it only opens the socket.
   */
  async join(member: RelayMember | undefined): Promise<void> {
    if (this.closed) return;
    if (!member || !this.opts.listen) return this.start();
    this.members.set(member.identity.xOnly, member);
    if (!this.onShared(member)) {
      await this.start();
      await this.ownConnection(member).start();
      return;
    }
    // Before the socket is up, the connect's subscriptions include it.
    if (!this.started || !this.main.connected) return this.start();
    await new Promise<void>((done) => {
      this.pending.push({ member, done });
      if (!this.flushing) {
        this.flushing = true;
        setImmediate(() => void this.flush());
      }
    });
  }

  /** Stops listening as `xOnly`; its cursor moves to what was handled, and is saved. */
  async leave(xOnly: string): Promise<void> {
    const member = this.members.get(xOnly);
    if (!member) return;
    this.members.delete(xOnly);
    const own = this.own.get(xOnly);
    if (own) {
      this.own.delete(xOnly);
      await own.stop();
      for (const g of this.ownGroups.get(xOnly) ?? []) g.apply();
      this.ownGroups.delete(xOnly);
    } else {
      const at = Date.now();
      // In one group, or two for a moment (joined while the connect's were built, or during a merge).
      const groups = this.groups.filter((g) => g.members.has(member));
      const wasLive = groups.some((g) => this.main.isLive(g));
      for (const g of groups) {
        g.apply();
        g.members.delete(member);
      }
      await this.main.drained();
      if (wasLive) member.cursor.reach(at);
    }
    await member.cursor.flush();
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([this.main.stop(), ...[...this.own.values()].map((c) => c.stop())]);
    this.own.clear();
    for (const g of [...this.groups, ...[...this.ownGroups.values()].flat()]) g.apply();
    for (const p of this.pending.splice(0)) p.done();
    await Promise.all([...this.members.values()].map((m) => m.cursor.flush()));
  }

  private start(): Promise<void> {
    this.started = true;
    return this.main.start();
  }

  /** True when `m` listens on the shared socket (everyone, until a split; then the owner only). */
  private onShared(m: RelayMember): boolean {
    return !this.split || m.identity.xOnly === this.opts.owner.xOnly;
  }

  /** Opens a subscription for the identities that joined since the last one, then merges small ones. */
  private async flush(): Promise<void> {
    const batch = this.pending.splice(0);
    this.flushing = false;
    const joining = batch.map((p) => p.member).filter((m) => this.members.get(m.identity.xOnly) === m && this.onShared(m));
    try {
      const groups = await buildGroups(joining);
      this.groups.push(...groups);
      await Promise.all(groups.map((g) => this.main.addGroup(g)));
    } finally {
      for (const p of batch) p.done();
    }
    await this.merge();
  }

  /** Too many small subscriptions: one (or a few) new ones for their identities, opened before the old close. */
  private async merge(): Promise<void> {
    const small = this.groups.filter((g) => g.members.size < P_CHUNK);
    if (small.length <= MAX_SMALL || this.closed) return;
    for (const g of small) g.apply();
    const merged = await buildGroups(small.flatMap((g) => [...g.members]));
    this.groups = [...this.groups.filter((g) => !small.includes(g)), ...merged];
    await Promise.all(merged.map((g) => this.main.addGroup(g)));
    for (const g of small) this.main.closeGroup(g);
  }

  /** An event goes to each listening identity its `p` tags name (a relay may send others: ignored). */
  private async route(raw: unknown, receivedAt: number): Promise<void> {
    const key = eventKey(raw);
    if (key !== undefined) {
      if (this.routed.get(key)) return;
      this.routed.set(key, true);
    }
    for (const xOnly of recipients(raw)) {
      const m = this.members.get(xOnly);
      if (m && !this.own.has(xOnly)) await m.onEvent(raw, receivedAt);
    }
  }

  /** The relay asked who we are: answer as the owner, and give every other identity a socket of its own. */
  private onChallenge(template: EventTemplate): NostrEvent {
    if (!this.split && this.opts.listen) {
      this.split = true;
      this.opts.log.info({ relay: this.opts.label }, 'nostr: the relay asks for AUTH; each identity listens there on a socket of its own');
      setImmediate(() => void this.splitMembers());
    }
    return signEvent(template, this.opts.owner.secp256k1PrivateKey);
  }

  private async splitMembers(): Promise<void> {
    const others = [...this.members.values()].filter((m) => !this.onShared(m));
    await Promise.all(others.map((m) => this.ownConnection(m).start()));
    // The shared subscriptions stop asking for them.
    const old = this.groups;
    for (const g of old) g.apply();
    const owner = [...this.members.values()].filter((m) => this.onShared(m));
    this.groups = await buildGroups(owner);
    await Promise.all(this.groups.map((g) => this.main.addGroup(g)));
    for (const g of old) this.main.closeGroup(g);
  }

  private ownConnection(member: RelayMember): RelayConnection {
    const xOnly = member.identity.xOnly;
    let c = this.own.get(xOnly);
    if (!c) {
      c = new RelayConnection(
        this.opts.url,
        this.opts.label,
        this.opts.connection,
        {
          groups: async () => {
            const groups = await buildGroups([member]);
            this.ownGroups.set(xOnly, groups);
            return groups;
          },
          onEvent: (raw, receivedAt) => member.onEvent(raw, receivedAt),
          signAuth: (template) => signEvent(template, member.identity.secp256k1PrivateKey),
        },
        this.opts.log,
      );
      this.own.set(xOnly, c);
    }
    return c;
  }
}

/** An event's id and signature, when it has both (unvalidated: the member checks them). */
function eventKey(raw: unknown): string | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined;
  const { id, sig } = raw as { id?: unknown; sig?: unknown };
  return typeof id === 'string' && typeof sig === 'string' ? `${id}:${sig}` : undefined;
}

/** The x-only keys an event's `p` tags name (unvalidated: routing only; the member checks everything). */
function recipients(raw: unknown): string[] {
  const tags = typeof raw === 'object' && raw !== null ? (raw as { tags?: unknown }).tags : undefined;
  if (!Array.isArray(tags)) return [];
  const out: string[] = [];
  for (const t of tags) {
    if (Array.isArray(t) && t[0] === 'p' && typeof t[1] === 'string' && !out.includes(t[1])) out.push(t[1]);
    if (out.length >= 8) break;
  }
  return out;
}
