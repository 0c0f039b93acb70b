/**
 * The overview the status page, its API and `roomcast status` show: rooms,
 * platforms, each network's endpoints, the queues, the latest room messages
 * with what reached whom on which network and when it was acknowledged, and
 * the series behind the charts (latency per network over time, which
 * network delivered first, queue depth over time). Built from the store on
 * request, except queue depth, sampled here every few seconds. Holds no
 * secret: endpoints are shown as the transports report them (credentials
 * already removed), texts are cut short.
 */
import type { EndpointStatus } from '../transports/transport.js';
import type { Platform, PlatformStatus } from '../platforms/platform.js';
import type { JobCounts, QueueBackend } from '../queue/backend.js';
import type { Store } from '../store/store.js';
import { latencySeries, firstDelivered } from './series.js';
import type { LatencySeries } from './series.js';

/** Room messages shown in "recent". */
const RECENT_MESSAGES = 20;
/** How far back the latency chart looks, and its bucket. */
const LATENCY_WINDOW_MS = 60 * 60_000;
const LATENCY_BUCKET_MS = 60_000;
const MAX_SENDS_READ = 20_000;
/** Queue depth: a sample every 5 s, the last 30 minutes. */
const DEPTH_EVERY_MS = 5000;
const DEPTH_SAMPLES = 360;
const QUOTE_CHARS = 80;

export interface StatusReport {
  readonly generatedAt: number;
  readonly rooms: ReadonlyArray<{ platform: string; roomId: string; bridged: boolean; contacts: string[]; lastActivity: number }>;
  readonly platforms: ReadonlyArray<{ id: string; status?: PlatformStatus }>;
  readonly transports: ReadonlyArray<{ id: string; endpoints: readonly EndpointStatus[] }>;
  readonly queues: Readonly<Record<string, JobCounts | null>>;
  readonly recent: ReadonlyArray<{
    platform: string;
    roomId: string;
    sender: string;
    text: string;
    at: number;
    state: string;
    contacts: ReadonlyArray<{ name: string; delivered: Record<string, number>; acked: Record<string, number> }>;
  }>;
  readonly charts: {
    readonly latency: LatencySeries;
    readonly firstDelivered: Readonly<Record<string, number>>;
    readonly queueDepth: { readonly at: number[]; readonly outbound: number[]; readonly inbound: number[] };
  };
}

export interface StatusSources {
  readonly store: Store;
  readonly platforms: readonly Platform[];
  /** The service identity's transports and their endpoints. */
  readonly transports: () => ReadonlyArray<{ id: string; endpoints: readonly EndpointStatus[] }>;
  readonly queue: QueueBackend;
  readonly queueNames: { readonly outbound: string; readonly inbound: string };
  readonly now?: () => number;
}

export class StatusReporter {
  private readonly depth = { at: [] as number[], outbound: [] as number[], inbound: [] as number[] };
  private readonly timer: NodeJS.Timeout;
  private readonly now: () => number;

  constructor(private readonly s: StatusSources) {
    this.now = s.now ?? Date.now;
    this.timer = setInterval(() => void this.sample(), DEPTH_EVERY_MS);
    this.timer.unref();
    void this.sample();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  async report(): Promise<StatusReport> {
    const now = this.now();
    const { store } = this.s;
    const [rooms, last, sends, recent, outbound, inbound] = await Promise.all([
      store.rooms.listRooms(),
      store.activity.lastActivity(),
      store.activity.recentSends(now - LATENCY_WINDOW_MS, MAX_SENDS_READ),
      store.activity.recentRoomMessages(RECENT_MESSAGES),
      this.counts(this.s.queueNames.outbound),
      this.counts(this.s.queueNames.inbound),
    ]);
    const ownerOf = new Map(rooms.map((r) => [`${r.platform}\u0000${r.roomId}`, r.owner]));
    return {
      generatedAt: now,
      rooms: await Promise.all(
        rooms.map(async (r) => ({
          platform: r.platform,
          roomId: r.roomId,
          bridged: r.leftAt === undefined,
          contacts: (await store.listContacts(r.owner)).map((c) => c.name),
          lastActivity: last.get(r.owner) ?? r.createdAt,
        })),
      ),
      platforms: this.s.platforms.map((p) => {
        const status = p.status?.();
        return { id: p.id, ...(status ? { status } : {}) };
      }),
      transports: this.s.transports(),
      queues: { outbound, inbound },
      recent: await Promise.all(
        recent.map(async (m) => {
          const owner = ownerOf.get(`${m.platform}\u0000${m.roomId}`);
          return {
            platform: m.platform,
            roomId: m.roomId,
            sender: m.senderName,
            text: quote(m.text),
            at: m.createdAt,
            state: m.state,
            contacts: owner ? await this.deliveries(owner, m.uuid) : [],
          };
        }),
      ),
      charts: {
        latency: latencySeries(sends, now - LATENCY_WINDOW_MS, now, LATENCY_BUCKET_MS),
        firstDelivered: firstDelivered(sends),
        queueDepth: { at: [...this.depth.at], outbound: [...this.depth.outbound], inbound: [...this.depth.inbound] },
      },
    };
  }

  /** Per contact of a room message: the fastest accepted send per network, and the ack latency per network (ms). */
  private async deliveries(owner: string, roomUuid: string): Promise<StatusReport['recent'][number]['contacts']> {
    const { store } = this.s;
    const [copies, contacts] = await Promise.all([store.rooms.listOutboxCopies(roomUuid), store.listContacts(owner)]);
    const names = new Map(contacts.map((c) => [c.xOnly, c.name]));
    const byContact = new Map<string, { name: string; delivered: Record<string, number>; acked: Record<string, number> }>();
    for (const copy of copies) {
      const row = byContact.get(copy.contact) ?? { name: names.get(copy.contact) ?? `${copy.contact.slice(0, 8)}…`, delivered: {}, acked: {} };
      for (const s of await store.getSendResults(owner, copy.uuid)) {
        if (s.ok && (row.delivered[s.protocol] === undefined || s.latencyMs < row.delivered[s.protocol]!)) row.delivered[s.protocol] = Math.round(s.latencyMs);
      }
      for (const r of await store.getReceipts(owner, copy.uuid, copy.contact)) {
        if (r.kind === 'ack' && row.acked[r.protocol] === undefined) row.acked[r.protocol] = Math.round(r.latencyMs);
      }
      byContact.set(copy.contact, row);
    }
    return [...byContact.values()];
  }

  private async counts(name: string): Promise<JobCounts | null> {
    let timer: NodeJS.Timeout | undefined;
    const away = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), 1500)));
    try {
      return await Promise.race([this.s.queue.counts(name).catch(() => null), away]);
    } finally {
      clearTimeout(timer);
    }
  }

  private async sample(): Promise<void> {
    const [out, inn] = await Promise.all([this.counts(this.s.queueNames.outbound), this.counts(this.s.queueNames.inbound)]);
    if (!out || !inn) return; // the queue is away: a gap, not a made-up zero
    const pending = (c: JobCounts) => c.waiting + c.active + c.delayed;
    this.depth.at.push(Math.round(this.now() / 1000));
    this.depth.outbound.push(pending(out));
    this.depth.inbound.push(pending(inn));
    if (this.depth.at.length > DEPTH_SAMPLES) for (const k of ['at', 'outbound', 'inbound'] as const) this.depth[k].shift();
  }
}

function quote(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > QUOTE_CHARS ? `${flat.slice(0, QUOTE_CHARS)}…` : flat;
}
