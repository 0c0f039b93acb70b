/**
 * The bridge path, end to end (`npm run bench -- --bridge`): a room on the
 * memory platform → store → Redis queue → networks → a roomcast peer in its
 * own process that acknowledges → the ✔️ receipt back in the room. Three
 * Mosquitto brokers and three relays run as their own processes. Prints a
 * table, or with --json one object; asserts nothing.
 *
 * Per network set (MQTT only, Nostr only, both; the peer listens on the
 * set's networks only): one room at full speed,
 * 100 rooms at full speed (round robin), and one room at a fixed rate
 * (latency without backlog). Baselines from the raw libraries and the
 * crypto floor are measured in the same run.
 *
 *   --messages N   messages per run (default 5000)
 *   --rate R       the fixed rate, messages/s (default 100)
 *   --networks L   comma-separated: mqtt, nostr, both (default all three)
 *   --json         one JSON object on stdout; progress on stderr
 *   --rooms N      instead: N bridged rooms (start time, sockets, RSS, throughput; bench/bridge-scale.ts)
 *   --soak         instead: --messages (default 100,000) at --rate (default 25/s) over 100 rooms, RSS and heap every 10 s
 *   --latency L    comma-separated ms added to the i-th broker's and relay's round trip (delay-proxy.ts): distant endpoints
 *   --concurrency N  the bridge's queue.concurrency (default: the config default)
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { BridgeConfigSchema } from '../src/bridge/config.js';
import type { QueueConfigInput } from '../src/queue/config.js';
import { saveIdentity } from '../src/identity/key-file.js';
import { generateIdentity } from '../src/identity/keys.js';
import type { Identity } from '../src/identity/keys.js';
import { encodeMagnet } from '../src/identity/magnet.js';
import { platformMessageId } from '../src/platforms/platform.js';
import type { PlatformMessageId, RoomRef } from '../src/platforms/platform.js';
import { startTestBridge, TEST_REDIS_URL } from '../test/support/bridge.js';
import type { TestBridge } from '../test/support/bridge.js';
import { bullmqJob, cryptoFloorMs, mqttRtt, pct, relayRtt } from './baselines.js';
import { roomsBench, soakBench } from './bridge-scale.js';
import type { ScaleDeps } from './bridge-scale.js';
import { benchNetwork } from './network.js';
import { connectionsTo } from '../test/support/sockets.js';
import type { Endpoints } from '../test/support/network.js';

type NetworkSet = 'mqtt' | 'nostr' | 'both';
const MOD = { id: '@bench:memory', displayName: 'Mod', level: 'moderator' as const };
const ROOMS = 100;
/** The reaction the bench's bridge writes once a message is delivered to the networks (the default). */
const { deliveredReaction: DELIVERED } = BridgeConfigSchema.parse({});

interface RunFigures {
  single_room_msgs_per_s: number;
  throughput_msgs_per_s: number;
  latency_ms: { p50: number; p95: number; p99: number };
  receipt_latency_ms: { p50: number; p95: number; p99: number };
  fixed_rate_latency_ms: { p50: number; p95: number; p99: number };
  overhead_ms: { p50: number; p99: number };
  cpu_ms_per_msg: number;
  rss_mb_max: number;
  sockets: number;
}

export async function bridgeBench(argv: readonly string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv.filter((a) => a !== '--bridge'),
    options: { messages: { type: 'string' }, rate: { type: 'string' }, networks: { type: 'string' }, json: { type: 'boolean' }, rooms: { type: 'string' }, soak: { type: 'boolean' }, latency: { type: 'string' }, concurrency: { type: 'string' } },
  });
  const n = Number(values.messages ?? (values.soak ? 100_000 : 5000));
  const rate = Number(values.rate ?? 100);
  const sets = (values.networks ?? 'mqtt,nostr,both').split(',') as NetworkSet[];
  const say = (s: string) => (values.json ? process.stderr : process.stdout).write(s);

  // --latency 10,40,200: ms added to the i-th broker's and relay's round trip (distant endpoints, each at its own distance).
  const latency = values.latency ? values.latency.split(',').map(Number) : [];
  if (latency.some((x) => !Number.isFinite(x) || x < 0)) throw new Error(`--latency takes milliseconds, comma-separated (got ${values.latency})`);
  const net = await benchNetwork(3, 3, latency);
  const queueConfig: QueueConfigInput = values.concurrency ? { concurrency: Number(values.concurrency) } : {};
  const peerIdentity = generateIdentity();
  const peerMagnet = encodeMagnet(peerIdentity);
  const seen = new Map<string, number>();
  // Rooms and soak runs bridge on both networks: the peer listens on both.
  let peer = values.rooms !== undefined || values.soak ? await startPeer(peerIdentity, net, 'both', seen) : undefined;

  try {
    const far = latency.length > 0 ? `, each reached with ${latency.join(' / ')} ms more round trip` : '';
    say(`## bridge path: ${n} messages per run, 3 Mosquitto + 3 relays (own processes${far}), Redis, a roomcast peer process that acks\n`);
    const baseline_ms = {
      mqtt_rtt_p50: await mqttRtt(net.brokers[0]!.url),
      nostr_rtt_p50: await relayRtt(net.relays[0]!.url),
      bullmq_job_p50: await bullmqJob(TEST_REDIS_URL),
    };
    const floor = cryptoFloorMs();
    say(`baselines: MQTT QoS1 round trip p50 ${baseline_ms.mqtt_rtt_p50} ms · relay EVENT→OK p50 ${baseline_ms.nostr_rtt_p50} ms · BullMQ job p50 ${baseline_ms.bullmq_job_p50} ms · crypto floor ${floor.toFixed(2)} ms per MQTT message + ack\n`);

    const scale: ScaleDeps = { net, queueConfig, peerMagnet, seen, say, countSockets: endpointSockets(net), addContact, burst, paced };
    if (values.rooms !== undefined || values.soak) {
      const soakRate = Number(values.rate ?? 25);
      const result = values.soak ? { messages: n, rate: soakRate, soak: await soakBench(n, soakRate, ROOMS, scale) } : { messages: n, baseline_ms, ...(await roomsBench(Number(values.rooms), n, scale)) };
      if (values.json) process.stdout.write(`${JSON.stringify(result)}\n`);
      return;
    }
    const networks: Partial<Record<NetworkSet, RunFigures>> = {};
    for (const set of sets) {
      const rtt = set === 'nostr' ? baseline_ms.nostr_rtt_p50 : set === 'mqtt' ? baseline_ms.mqtt_rtt_p50 : Math.min(baseline_ms.mqtt_rtt_p50, baseline_ms.nostr_rtt_p50);
      // The peer is on the run's networks only: on the others its acks would load the machine (the relays
      // verifying gift wraps nobody reads) without being part of the path measured.
      peer = await startPeer(peerIdentity, net, set, seen);
      try {
        networks[set] = await runSet(set, { n, rate, rtt, net, queueConfig, peerMagnet, seen, say });
      } finally {
        await peer.stop();
        peer = undefined;
      }
    }
    const head = networks.mqtt ?? Object.values(networks)[0]!;
    const result = { messages: n, rate, ...head, baseline_ms, crypto_floor_ms_per_msg: Math.round(floor * 100) / 100, networks };
    if (values.json) process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    await peer?.stop();
    await net.stop();
  }
}

/** A roomcast peer in its own process, on the networks of `set`, that acknowledges; each message's arrival goes into `seen` (by text). */
async function startPeer(identity: Identity, net: Endpoints, set: NetworkSet, seen: Map<string, number>): Promise<{ stop(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'rc-bench-peer-'));
  await saveIdentity(join(dir, 'identity.json'), identity, true);
  const endpoints = [...(set !== 'nostr' ? net.brokers.flatMap((b) => ['--mqtt', b.url]) : []), ...(set !== 'mqtt' ? net.relays.flatMap((r) => ['--nostr', r.url]) : [])];
  const bin = new URL('../bin/roomcast.js', import.meta.url).pathname;
  const child = spawn(process.execPath, [bin, 'listen', '--identity', join(dir, 'identity.json'), '--data-dir', dir, '--json', ...endpoints], { stdio: ['ignore', 'pipe', 'ignore'], env: { ...process.env, ROOMCAST_LOG_LEVEL: 'error' } });
  const lines = createInterface({ input: child.stdout });
  let ready: () => void = () => undefined;
  const started = new Promise<void>((r) => (ready = r));
  lines.on('line', (line) => {
    const e = JSON.parse(line) as { event: string; content?: string };
    if (e.event === 'ready') ready();
    if (e.event === 'message' && e.content) seen.set(e.content.slice(e.content.indexOf(': ') + 2), performance.now());
  });
  const exited = new Promise((r) => child.once('exit', r));
  await Promise.race([started, exited.then(() => Promise.reject(new Error('the bench peer exited before it was ready')))]);
  return {
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** What one network set's run needs: its size and fixed rate, the raw round trip it is compared with, the network and the peer. */
interface RunOptions {
  readonly n: number;
  readonly rate: number;
  readonly rtt: number;
  readonly net: Awaited<ReturnType<typeof benchNetwork>>;
  readonly queueConfig: QueueConfigInput;
  readonly peerMagnet: string;
  readonly seen: Map<string, number>;
  readonly say: (s: string) => void;
}

async function runSet(set: NetworkSet, { n, rate, rtt, net, queueConfig, peerMagnet, seen, say }: RunOptions): Promise<RunFigures> {
  const b = await startTestBridge({ net, queueConfig, transports: { mqtt: { enabled: set !== 'nostr' }, nostr: { enabled: set !== 'mqtt' } } });
  let rss = 0;
  const sampler = setInterval(() => (rss = Math.max(rss, process.memoryUsage().rss)), 200);
  // Timestamps each delivered reaction (✔️) as the bridge writes it (the platform's own method, wrapped).
  const receipts = new Map<PlatformMessageId, number>();
  const react = b.platform.react!.bind(b.platform);
  Object.assign(b.platform, {
    react: async (room: RoomRef, target: PlatformMessageId, emoji: string) => {
      await react(room, target, emoji);
      if (emoji === DELIVERED && !receipts.has(target)) receipts.set(target, performance.now());
    },
  });
  try {
    const rooms = await Promise.all(Array.from({ length: ROOMS }, (_, i) => addContact(b, `!${set}-${i}`, peerMagnet)));
    const cpu0 = process.cpuUsage();

    // One room, full speed.
    const single = await burst(b, [rooms[0]!], `${set}-single`, n, seen);
    // 100 rooms, full speed, round robin.
    const many = await burst(b, rooms, `${set}-many`, n, seen);
    // The bursts are over when the bridge has handled their acks and receipts too, not when the peer has the
    // messages: the CPU counts that work, and the fixed-rate run below starts with no tail in front of it.
    await settled();
    const cpu = process.cpuUsage(cpu0);
    const sockets = endpointSockets(net)();
    // One room at a fixed rate: latency without backlog.
    const steady = await paced(b, [rooms[1]!], `${set}-rate`, Math.min(n, rate * 10), rate, seen);

    const lat = single.latencies;
    const rec = single.ids.map(({ id, at }) => (receipts.get(id) ?? NaN) - at).filter(Number.isFinite);
    const figures: RunFigures = {
      single_room_msgs_per_s: round(single.perSecond),
      throughput_msgs_per_s: round(many.perSecond),
      latency_ms: { p50: pct(lat, 0.5), p95: pct(lat, 0.95), p99: pct(lat, 0.99) },
      receipt_latency_ms: { p50: pct(rec, 0.5), p95: pct(rec, 0.95), p99: pct(rec, 0.99) },
      fixed_rate_latency_ms: { p50: pct(steady, 0.5), p95: pct(steady, 0.95), p99: pct(steady, 0.99) },
      overhead_ms: { p50: round(pct(steady, 0.5) - rtt), p99: round(pct(steady, 0.99) - rtt) },
      cpu_ms_per_msg: round((cpu.user + cpu.system) / 1000 / (2 * n)),
      rss_mb_max: Math.round(rss / 1024 / 1024),
      sockets,
    };
    say(
      `${set.padEnd(6)} one room ${figures.single_room_msgs_per_s} msg/s · ${ROOMS} rooms ${figures.throughput_msgs_per_s} msg/s · room→peer p50 ${figures.latency_ms.p50} p99 ${figures.latency_ms.p99} ms · room→✔️ p50 ${figures.receipt_latency_ms.p50} ms · at ${rate}/s p50 ${figures.fixed_rate_latency_ms.p50} p99 ${figures.fixed_rate_latency_ms.p99} ms (overhead p50 ${figures.overhead_ms.p50}) · CPU ${figures.cpu_ms_per_msg} ms/msg · RSS ${figures.rss_mb_max} MB · ${sockets} sockets\n`,
    );
    return figures;
  } finally {
    clearInterval(sampler);
    await b.stop();
  }
}

async function addContact(b: TestBridge, roomId: string, peerMagnet: string): Promise<RoomRef> {
  const room = b.platform.room(roomId);
  await b.platform.say(room, MOD, `!roomcast contact add peer ${peerMagnet}`);
  return room;
}

/** Says `n` messages as fast as the bridge takes them, round robin over `rooms`; resolves when the peer has them all. */
async function burst(b: TestBridge, rooms: readonly RoomRef[], tag: string, n: number, seen: Map<string, number>) {
  const ids: Array<{ id: PlatformMessageId; at: number; text: string }> = [];
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const text = `${tag} ${i}`;
    const at = performance.now();
    const id = await b.platform.say(rooms[i % rooms.length]!, MOD, text);
    ids.push({ id: platformMessageId(id), at, text });
  }
  let arrived = 0;
  await untilArrived(seen, () => {
    while (arrived < n && seen.has(ids[arrived]!.text)) arrived++;
    return arrived === n;
  }, () => ids.filter((x) => !seen.has(x.text)).length, n, tag);
  const last = Math.max(...ids.map((x) => seen.get(x.text)!));
  return { perSecond: (n / (last - t0)) * 1000, latencies: ids.map((x) => seen.get(x.text)! - x.at), ids };
}

/** Says `n` messages at `rate` per second, round robin over `rooms`; the room → peer latency of each. */
async function paced(b: TestBridge, rooms: readonly RoomRef[], tag: string, n: number, rate: number, seen: Map<string, number>): Promise<number[]> {
  // Send times by index (the text is `${tag} ${i}`): a soak's own bookkeeping stays small.
  const at = new Float64Array(n);
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const due = t0 + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    at[i] = performance.now();
    void b.platform.say(rooms[i % rooms.length]!, MOD, `${tag} ${i}`);
  }
  let arrived = 0;
  await untilArrived(seen, () => {
    while (arrived < n && seen.has(`${tag} ${arrived}`)) arrived++;
    return arrived === n;
  }, () => at.filter((_, i) => !seen.has(`${tag} ${i}`)).length, n, tag);
  return Array.from(at, (t, i) => seen.get(`${tag} ${i}`)! - t);
}

/** How long the peer may receive nothing while messages are missing before they count as lost. */
const LOST_AFTER_MS = 60_000;

/**
 * Resolves once `complete()`. Throws, naming how many of `n` did not arrive
 * (`missing()`), once the peer has received nothing (`seen` did not grow) for
 * LOST_AFTER_MS: a lost message fails the run instead of holding it until
 * some distant timeout.
 */
async function untilArrived(seen: ReadonlyMap<string, number>, complete: () => boolean, missing: () => number, n: number, tag: string): Promise<void> {
  let size = seen.size;
  let progressAt = performance.now();
  while (!complete()) {
    await new Promise((r) => setTimeout(r, 50));
    if (seen.size !== size) {
      size = seen.size;
      progressAt = performance.now();
    } else if (performance.now() - progressAt > LOST_AFTER_MS) {
      throw new Error(`${tag}: the peer is missing ${missing()} of ${n} messages and received none for ${LOST_AFTER_MS / 1000} s: lost`);
    }
  }
}

/**
 * Resolves once this process (the bridge) has been idle, under 5% of a core
 * for a second: what a burst left behind (acks, receipts) is done. Gives up
 * after 5 minutes.
 */
async function settled(): Promise<void> {
  const until = performance.now() + 5 * 60_000;
  let quiet = 0;
  while (quiet < 4 && performance.now() < until) {
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    await new Promise((r) => setTimeout(r, 250));
    const c = process.cpuUsage(c0);
    quiet = (c.user + c.system) / 1000 < 0.05 * (performance.now() - t0) ? quiet + 1 : 0;
  }
}

/** This process's connections to the brokers and relays (the roomcast bridge's; the peer and the endpoints run in their own processes). */
function endpointSockets(net: Endpoints): () => number {
  const ports = [...net.brokers, ...net.relays].map((e) => Number(new URL(e.url).port));
  return () => connectionsTo(ports);
}

function round(x: number): number {
  return Math.round(x * 10) / 10;
}
