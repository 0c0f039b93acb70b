/**
 * Benchmarks: print figures, assert nothing. `npm run bench`.
 *
 * 1. The curve operations every relayed message pays for (DEPENDENCIES.md:
 *    they set the throughput ceiling).
 * 2. End to end: two nodes in this process over 3 real Mosquitto brokers and
 *    3 Nostr relays (`roomcast relay`, each its own process, so the relays'
 *    own signature checks do not count against roomcast); N messages one
 *    way, time until all are shown and acked.
 * 3. With `--matrix` (only that): Matrix rooms end to end (bench/matrix.ts).
 * 4. With `--bridge` (only that): the bridge path, room → networks → peer →
 *    ack → receipt (bench/bridge.ts).
 */
import { performance } from 'node:perf_hooks';
import { generateIdentity, publicPart } from '../src/identity/keys.js';
import { nip44Encrypt, schnorrSignText, schnorrVerifyText } from '../src/identity/crypto.js';
import { encodeMagnet } from '../src/identity/magnet.js';
import { newMessage, serializeChatMessage } from '../src/protocol/chat-message.js';
import { buildEnvelope, parseEnvelope } from '../src/transports/mqtt/envelope.js';
import { buildGiftWrappedDm, openInbound } from '../src/transports/nostr/framing.js';
import type { NostrEvent } from '../src/transports/nostr/framing.js';
import { openTestNode } from '../test/support/network.js';
import { benchNetwork } from './network.js';
import { waitFor } from '../test/support/wait.js';

function rate(name: string, n: number, fn: (i: number) => void): void {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) fn(i);
  const ms = performance.now() - t0;
  console.log(`${name.padEnd(44)} ${Math.round((n / ms) * 1000).toString().padStart(8)} ops/s`);
}

function cryptoBench(): void {
  console.log('## curve operations (one core)');
  const a = generateIdentity();
  const b = generateIdentity();
  const json = serializeChatMessage(newMessage(encodeMagnet(a), 'benchmark message of ordinary length, about one line of chat'));
  const sigs: string[] = [];
  rate('schnorr sign', 2000, (i) => void sigs.push(schnorrSignText(a.secp256k1PrivateKey, `m${i}`)));
  rate('schnorr verify', 2000, (i) => void schnorrVerifyText(sigs[i]!, `m${i}`, a.xOnly));
  rate('NIP-44 encrypt (conversation key cached)', 2000, () => void nip44Encrypt(a.secp256k1PrivateKey, b.xOnly, json));
  const envs: string[] = [];
  rate('MQTT envelope build (sign + NIP-44)', 2000, () => void envs.push(buildEnvelope(a, publicPart(b), json, Date.now())));
  rate('MQTT envelope parse (verify + decrypt)', 2000, (i) =>
    void parseEnvelope(new TextEncoder().encode(envs[i]!), b, { acceptUnsigned: false, maxMessageBytes: 65536, maxClockSkewMs: 600_000 }),
  );
  const wraps: NostrEvent[] = [];
  const now = Math.floor(Date.now() / 1000);
  rate('NIP-17 gift wrap build', 500, () => void wraps.push(buildGiftWrappedDm(a, b.xOnly, json, now)));
  rate('NIP-17 gift wrap open (verify both, decrypt)', 500, (i) => void openInbound(JSON.parse(JSON.stringify(wraps[i]!)), b, { maxMessageBytes: 65536 }));
}

async function endToEnd(n: number): Promise<void> {
  console.log(`\n## end to end: ${n} messages A → B, 3 Mosquitto brokers + 3 Nostr relays (own processes), both transports, acks on both`);
  const net = await benchNetwork();
  const a = await openTestNode(net);
  const b = await openTestNode(net);
  try {
    const shownAt = new Map<string, number>();
    const ackedAt = new Map<string, number>();
    b.broadcaster.on('message', (e) => shownAt.set(e.message.uuid, performance.now()));
    a.broadcaster.on('ack', (e) => {
      if (e.firstAck) ackedAt.set(e.originalUuid, performance.now());
    });
    await Promise.all([a.broadcaster.start(), b.broadcaster.start()]);
    const rss0 = process.memoryUsage().rss;
    const sentAt = new Map<string, number>();
    const t0 = performance.now();
    const toB = publicPart(b.identity);
    await Promise.all(
      Array.from({ length: n }, async (_, i) => {
        const t = performance.now();
        const d = await a.broadcaster.send(toB, `bench ${i}`);
        sentAt.set(d.uuid, t);
      }),
    );
    const tSent = performance.now();
    await waitFor(() => shownAt.size === n && ackedAt.size === n, 'all shown and acked', 300_000, 50);
    const tDone = performance.now();
    const lat = [...shownAt].map(([u, t]) => t - sentAt.get(u)!).sort((x, y) => x - y);
    const ack = [...ackedAt].map(([u, t]) => t - sentAt.get(u)!).sort((x, y) => x - y);
    const pct = (xs: number[], p: number) => Math.round(xs[Math.min(xs.length - 1, Math.floor(xs.length * p))]!);
    console.log(`sent (all transports accepted)      ${Math.round(tSent - t0)} ms  (${Math.round((n / (tSent - t0)) * 1000)} msg/s)`);
    console.log(`all shown and acked                 ${Math.round(tDone - t0)} ms  (${Math.round((n / (tDone - t0)) * 1000)} msg/s)`);
    console.log(`send → shown   p50 ${pct(lat, 0.5)} ms  p95 ${pct(lat, 0.95)} ms`);
    console.log(`send → acked   p50 ${pct(ack, 0.5)} ms  p95 ${pct(ack, 0.95)} ms`);
    console.log(`RSS growth during run               ${Math.round((process.memoryUsage().rss - rss0) / 1024 / 1024)} MiB`);
  } finally {
    await Promise.all([a.close(), b.close()]);
    await net.stop();
  }
}

if (process.argv.includes('--bridge')) {
  const { bridgeBench } = await import('./bridge.js');
  await bridgeBench(process.argv.slice(2));
} else if (process.argv.includes('--matrix')) {
  const { matrixBench } = await import('./matrix.js');
  await matrixBench(Number(process.env.BENCH_MESSAGES ?? 300));
} else {
  cryptoBench();
  await endToEnd(Number(process.env.BENCH_MESSAGES ?? 500));
}
