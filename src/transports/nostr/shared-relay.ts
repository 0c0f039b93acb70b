/**
 * One relay socket shared by every identity a process listens as. One
 * subscription asks for all of them: their `#p` values in chunks a relay
 * accepts, each chunk from the oldest resume point among its identities. A
 * change of who listens re-asks (gathered over a short window, so a thousand
 * rooms starting together cost one REQ). Each event goes to the identities its
 * `p` tags name, and only to them. Progress moves the cursors of the
 * identities the live subscription covers.
 *
 * A relay that sends an AUTH challenge is taken to serve DMs only to the key a
 * socket authenticated as (NIP-42 relays mostly accept one key per socket), so
 * from then on every identity but the owner listens there on a socket of its
 * own, authenticated as itself; the shared socket stays for the owner and for
 * publishing.
 */
import type { EventTemplate, NostrEvent } from 'nostr-tools/pure';
import type { Filter } from 'nostr-tools/filter';
import { signEvent } from '../../identity/crypto.js';
import type { Identity } from '../../identity/keys.js';
import type { Logger } from '../../observability/logger.js';
import type { Poolable } from '../connection-pool.js';
import type { ResumeCursor } from './cursor.js';
import { RelayConnection } from './relay-connection.js';
import type { RelayConnectionOptions } from './relay-connection.js';

/** `#p` values per filter: within what common relays accept for one filter, and few REQ filters for a thousand rooms. */
export const P_CHUNK = 200;
/** Joins and leaves gathered into one re-subscription. */
const GATHER_MS = 50;

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

export class SharedRelay implements Poolable {
  readonly main: RelayConnection;
  private readonly members = new Map<string, RelayMember>();
  /** Identities the current (or next) subscription of the shared socket asks for. */
  private covered: RelayMember[] = [];
  /** After an AUTH challenge: sockets of their own, per identity other than the owner. */
  private split = false;
  private readonly own = new Map<string, RelayConnection>();
  private gatherTimer: NodeJS.Timeout | undefined;
  private gathered: Promise<void> | undefined;
  private releaseGathered: (() => void) | undefined;
  private started = false;
  private closed = false;

  constructor(private readonly opts: SharedRelayOptions) {
    this.main = new RelayConnection(
      opts.url,
      opts.label,
      opts.connection,
      {
        filters: () => this.sharedFilters(),
        onEvent: (raw, receivedAt) => this.route(raw, receivedAt),
        onProgress: (at) => {
          for (const m of this.covered) m.cursor.reach(at);
        },
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
   * Starts listening as `member`: resolves once the subscription that
   * includes it is caught up (EOSE), or the relay is down, or a bound passed.
   * A send-only member (listen false) only needs the socket open.
   */
  async join(member: RelayMember | undefined): Promise<void> {
    if (this.closed) return;
    if (!member || !this.opts.listen) {
      await this.start();
      return;
    }
    this.members.set(member.identity.xOnly, member);
    if (this.split && member.identity.xOnly !== this.opts.owner.xOnly) {
      await this.start();
      await this.ownConnection(member).start();
      return;
    }
    if (!this.started) return this.start();
    await this.regather();
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
    } else {
      const at = Date.now();
      const wasLive = this.main.isLive && this.covered.includes(member);
      this.covered = this.covered.filter((m) => m !== member);
      await this.main.drained();
      if (wasLive) member.cursor.reach(at);
      if (!this.closed && this.members.size > 0) void this.regather();
    }
    await member.cursor.flush();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.gatherTimer);
    this.releaseGathered?.();
    await Promise.all([this.main.stop(), ...[...this.own.values()].map((c) => c.stop())]);
    this.own.clear();
    await Promise.all([...this.members.values()].map((m) => m.cursor.flush()));
  }

  private start(): Promise<void> {
    this.started = true;
    return this.main.start();
  }

  /** Re-asks the shared socket's subscription once joins and leaves have gathered. */
  private regather(): Promise<void> {
    if (!this.gathered) {
      this.gathered = new Promise<void>((resolve) => (this.releaseGathered = resolve));
      this.gatherTimer = setTimeout(() => {
        const release = this.releaseGathered;
        this.gathered = undefined;
        this.releaseGathered = undefined;
        void this.main.resubscribe().then(release);
      }, GATHER_MS);
      this.gatherTimer.unref?.();
    }
    return this.gathered;
  }

  /** Filters for every identity the shared socket listens for, chunked by `#p`. */
  private async sharedFilters(): Promise<Filter[]> {
    if (!this.opts.listen) return [];
    const listening = [...this.members.values()].filter((m) => !this.split || m.identity.xOnly === this.opts.owner.xOnly);
    const perMember = await Promise.all(listening.map(async (m) => ({ m, filters: await m.cursor.filters() })));
    this.covered = listening;
    const out: Filter[] = [];
    for (let i = 0; i < perMember.length; i += P_CHUNK) {
      const chunk = perMember.slice(i, i + P_CHUNK);
      // Each member's filters: [kind 4 since a, kind 1059 since b]; a chunk asks from the oldest of each.
      const kinds = chunk[0]!.filters.length;
      for (let k = 0; k < kinds; k++) {
        const since = Math.min(...chunk.map((c) => c.filters[k]!.since ?? 0));
        out.push({ ...chunk[0]!.filters[k]!, '#p': chunk.map((c) => c.m.identity.xOnly), since });
      }
    }
    return out;
  }

  /** An event goes to each listening identity its `p` tags name (a relay may send others: ignored). */
  private async route(raw: unknown, receivedAt: number): Promise<void> {
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
    const others = [...this.members.values()].filter((m) => m.identity.xOnly !== this.opts.owner.xOnly);
    await Promise.all(others.map((m) => this.ownConnection(m).start()));
    if (!this.closed) await this.main.resubscribe();
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
          filters: () => member.cursor.filters(),
          onEvent: (raw, receivedAt) => member.onEvent(raw, receivedAt),
          onProgress: (at) => member.cursor.reach(at),
          signAuth: (template) => signEvent(template, member.identity.secp256k1PrivateKey),
        },
        this.opts.log,
      );
      this.own.set(xOnly, c);
    }
    return c;
  }
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
