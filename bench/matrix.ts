/**
 * Matrix rooms, end to end (`npm run bench -- --matrix`): a person in a
 * room on the fake homeserver (test/fakes/matrix/), roomcast with the
 * unmodified matrix-bot-sdk, Redis queues, a Mosquitto broker and a Nostr
 * relay, and a roomcast peer. Prints figures; asserts nothing.
 *
 * - room → peer: N messages written in the room, time until the peer has
 *   them all (room → store → queue → networks → peer);
 * - peer → room: N messages from the peer, time until all are posted in the
 *   room (networks → store → queue → homeserver), paced by the platform's
 *   declared write budget (10 writes per second per room).
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { encodeMagnet } from '../src/identity/magnet.js';
import { generateIdentity, publicPart } from '../src/identity/keys.js';
import { silentLogger } from '../src/observability/logger.js';
import { createMetrics } from '../src/observability/metrics.js';
import { MatrixPlatformConfigSchema } from '../src/platforms/matrix/config.js';
import { MatrixPlatform } from '../src/platforms/matrix/matrix-platform.js';
import { openStore } from '../src/store/index.js';
import { startFakeHomeserver } from '../test/fakes/matrix/index.js';
import { startTestBridge } from '../test/support/bridge.js';
import { MatrixPerson } from '../test/support/matrix-person.js';
import { openTestNode, startNetwork } from '../test/support/network.js';
import { waitFor } from '../test/support/wait.js';

const pct = (xs: number[], p: number) => Math.round([...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))]!);

export async function matrixBench(n: number): Promise<void> {
  console.log(`\n## Matrix room ↔ peer: ${n} messages each way, fake homeserver, Redis, 1 Mosquitto + 1 Nostr relay`);
  const [hs, net] = await Promise.all([startFakeHomeserver(), startNetwork(1, 1)]);
  const [bot, alice] = (await Promise.all(['bot', 'alice'].map((u) => MatrixPerson.register(hs.url, u)))) as [MatrixPerson, MatrixPerson];
  const store = await openStore({ url: `file:${join(await mkdtemp(join(tmpdir(), 'rc-bench-matrix-')), 'roomcast.db')}` });
  const config = MatrixPlatformConfigSchema.parse({ enabled: true, homeserverUrl: hs.url, accessToken: bot.accessToken, syncTimeoutMs: 5000 });
  const platform = new MatrixPlatform(config, { state: store.platformState('matrix'), log: silentLogger(), metrics: createMetrics() });
  const bridge = await startTestBridge({ net, store, service: generateIdentity(), writePlatform: platform, bridge: { receipts: 'reactions' } });
  const peer = await openTestNode(net);
  const got = new Map<string, number>();
  peer.broadcaster.on('message', (e) => got.set(e.message.content.replace(/^[^:]+: /, ''), performance.now()));
  await peer.broadcaster.start();
  try {
    const roomId = await alice.createRoom({ invite: [bot.userId] });
    await waitFor(async () => (await alice.joinedMembers(roomId)).includes(bot.userId), 'the bot to join', 20_000);
    await alice.say(roomId, `!roomcast contact add peer ${encodeMagnet(peer.identity)}`);
    await waitFor(async () => (await alice.timeline(roomId)).some((e) => String(e.content.body).startsWith('Added contact peer')), 'the contact', 20_000);

    const cpu0 = process.cpuUsage();
    const sentAt = new Map<string, number>();
    const t0 = performance.now();
    for (let i = 0; i < n; i++) {
      sentAt.set(`out ${i}`, performance.now());
      await alice.say(roomId, `out ${i}`);
    }
    await waitFor(() => [...sentAt.keys()].every((k) => got.has(k)), 'the peer to have every message', 600_000, 50);
    const ms = performance.now() - t0;
    const lat = [...sentAt].map(([k, t]) => got.get(k)! - t);
    const cpu = process.cpuUsage(cpu0);
    console.log(`room → peer      ${Math.round(ms)} ms  (${Math.round((n / ms) * 1000)} msg/s)  latency p50 ${pct(lat, 0.5)} ms  p95 ${pct(lat, 0.95)} ms`);
    console.log(`                 CPU in this process (bridge, peer, fake homeserver, person) ${((cpu.user + cpu.system) / 1000 / n).toFixed(1)} ms per message`);

    const target = publicPart((await bridge.rt.directory.all())[0]!.identity);
    const t1 = performance.now();
    for (let i = 0; i < n; i++) await peer.broadcaster.send(target, `in ${i}`);
    // Counted in the fake's own timeline: asking over HTTP would load the same process.
    const posted = () => hs.timeline(roomId).filter((e) => e.sender === bot.userId && String((e.content as { body?: unknown }).body).startsWith('peer: in ')).length;
    let last = -1;
    await waitFor(() => {
      const now = posted();
      if (process.env.BENCH_TRACE && now !== last) console.log(`  ${Math.round(performance.now() - t1)} ms: ${(last = now)} posted`);
      return now === n;
    }, 'every message posted in the room', 600_000, 50);
    const ms1 = performance.now() - t1;
    console.log(`peer → room      ${Math.round(ms1)} ms  (${Math.round((n / ms1) * 1000)} msg/s; the room's write budget is 10/s, shared with receipts)`);
  } finally {
    await bridge.stop();
    await peer.close();
    await store.close();
    await hs.close();
    await net.stop();
  }
}
