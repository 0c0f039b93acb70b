/**
 * The bridge at scale (`npm run bench -- --bridge --rooms 1000`, `--soak`):
 * many bridged rooms in one process, and a long run. Same set-up as
 * bench/bridge.ts (3 Mosquitto + 3 relays in their own processes, Redis, a
 * roomcast peer process that acks); prints figures, asserts nothing.
 *
 * --rooms N: bridges N rooms (one contact each) and reports how long that
 *   took, then restarts the bridge on the same store and reports how long it
 *   takes until it listens as every room again (the start time), the open
 *   sockets and RSS with N rooms, and the throughput across them.
 * --soak: sends --messages messages (default 100,000) at --rate per second
 *   (default 25) round robin over 100 rooms, and samples RSS and heap every 10 s.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { generateIdentity } from '../src/identity/keys.js';
import type { Identity } from '../src/identity/keys.js';
import type { QueueConfigInput } from '../src/queue/config.js';
import { startTestBridge } from '../test/support/bridge.js';
import type { TestBridge } from '../test/support/bridge.js';
import type { benchNetwork } from './network.js';
import { MemoryPlatform } from '../src/platforms/memory/memory-platform.js';
import type { RoomRef } from '../src/platforms/platform.js';

type Net = Awaited<ReturnType<typeof benchNetwork>>;

export interface ScaleDeps {
  readonly net: Net;
  /** Queue settings of every bridge the bench starts (--concurrency). */
  readonly queueConfig: QueueConfigInput;
  readonly peerMagnet: string;
  readonly seen: Map<string, number>;
  readonly say: (s: string) => void;
  readonly countSockets: () => number;
  readonly addContact: (b: TestBridge, roomId: string, peerMagnet: string) => Promise<RoomRef>;
  readonly burst: (b: TestBridge, rooms: readonly RoomRef[], tag: string, n: number, seen: Map<string, number>) => Promise<{ perSecond: number }>;
  /** Says `n` messages at `rate` per second, round robin over `rooms`; resolves when the peer has them all. */
  readonly paced: (b: TestBridge, rooms: readonly RoomRef[], tag: string, n: number, rate: number, seen: Map<string, number>) => Promise<number[]>;
}

export interface ScaleFigures {
  rooms: number;
  bridge_rooms_s: number;
  start_s: number;
  sockets: number;
  rss_mb: number;
  throughput_msgs_per_s: number;
}

/** N rooms on MQTT and Nostr (XMTP off): bridging time, restart time, sockets, RSS, throughput over `n` messages. */
export async function roomsBench(count: number, n: number, d: ScaleDeps): Promise<ScaleFigures> {
  const service: Identity = generateIdentity();
  const storeUrl = `file:${join(await mkdtemp(join(tmpdir(), 'rc-bench-rooms-')), 'roomcast.db')}`;
  const first = await startTestBridge({ net: d.net, storeUrl, service, queueConfig: d.queueConfig });
  const t0 = performance.now();
  try {
    for (let i = 0; i < count; i++) await d.addContact(first, `!scale-${i}`, d.peerMagnet);
  } finally {
    await first.stop();
  }
  const bridgeRoomsS = (performance.now() - t0) / 1000;
  d.say(`rooms: ${count} bridged in ${bridgeRoomsS.toFixed(1)} s\n`);

  const t1 = performance.now();
  const b = await startTestBridge({ net: d.net, storeUrl, service, queueConfig: d.queueConfig });
  const startS = (performance.now() - t1) / 1000;
  try {
    const sockets = d.countSockets();
    const rssMb = Math.round(process.memoryUsage().rss / 1024 / 1024);
    const rooms = Array.from({ length: count }, (_, i) => b.platform.room(`!scale-${i}`));
    const run = await d.burst(b, rooms, `scale-${count}`, n, d.seen);
    const figures: ScaleFigures = {
      rooms: count,
      bridge_rooms_s: round(bridgeRoomsS),
      start_s: round(startS),
      sockets,
      rss_mb: rssMb,
      throughput_msgs_per_s: round(run.perSecond),
    };
    d.say(`rooms: ${count} · restart until listening as every room ${figures.start_s} s · ${sockets} sockets · RSS ${rssMb} MB · ${n} messages across them ${figures.throughput_msgs_per_s} msg/s\n`);
    return figures;
  } finally {
    await b.stop();
  }
}

/**
 * `n` messages at `rate` per second (a rate the bridge sustains, so memory
 * shows the steady state, not a backlog), round robin over `roomCount` rooms;
 * RSS and heap sampled every 10 s.
 */
export async function soakBench(n: number, rate: number, roomCount: number, d: ScaleDeps): Promise<{ samples: Array<{ s: number; rss_mb: number; heap_mb: number }>; rss_growth_pct: number; latency_p50_ms: number }> {
  // The platform keeps each room's last 50 messages: its own history must not pass for the bridge's growth.
  const b = await startTestBridge({ net: d.net, platform: new MemoryPlatform({ keep: 50 }), queueConfig: d.queueConfig });
  const samples: Array<{ s: number; rss_mb: number; heap_mb: number }> = [];
  const t0 = performance.now();
  const sample = () => {
    const m = process.memoryUsage();
    samples.push({ s: Math.round((performance.now() - t0) / 1000), rss_mb: Math.round(m.rss / 1024 / 1024), heap_mb: Math.round(m.heapUsed / 1024 / 1024) });
    const last = samples.at(-1)!;
    d.say(`soak: ${last.s} s · RSS ${last.rss_mb} MB · heap ${last.heap_mb} MB · ${d.seen.size} seen\n`);
  };
  const timer = setInterval(sample, 10_000);
  try {
    const rooms: RoomRef[] = [];
    for (let i = 0; i < roomCount; i++) rooms.push(await d.addContact(b, `!soak-${i}`, d.peerMagnet));
    const latencies = (await d.paced(b, rooms, 'soak', n, rate, d.seen)).sort((x, y) => x - y);
    const p50 = round(latencies[Math.floor(latencies.length / 2)] ?? NaN);
    sample();
    // Growth after warm-up: the first sample past a tenth of the run against the last.
    const warm = samples.find((x) => x.s >= samples.at(-1)!.s / 10) ?? samples[0]!;
    const growth = ((samples.at(-1)!.rss_mb - warm.rss_mb) / warm.rss_mb) * 100;
    d.say(`soak: ${n} messages at ${rate}/s, room → peer p50 ${p50} ms · RSS ${warm.rss_mb} → ${samples.at(-1)!.rss_mb} MB (${round(growth)}% after warm-up)\n`);
    return { samples, rss_growth_pct: round(growth), latency_p50_ms: p50 };
  } finally {
    clearInterval(timer);
    await b.stop();
  }
}

function round(x: number): number {
  return Math.round(x * 10) / 10;
}
