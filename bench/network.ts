/** The benchmarks' network: real Mosquitto brokers, and relays in child processes (as they would be in production). */
import { spawn } from 'node:child_process';
import type { Endpoints } from '../test/support/network.js';
import { startMosquittos, waitForPort } from '../test/support/mosquitto.js';
import { freePort } from '../test/support/nostr-relay.js';

/**
 * Real brokers, and relays in child processes (as they would be in
 * production). With `latencyMs`, each broker and relay is reached through a
 * delay proxy (delay-proxy.ts, in a process of its own) that adds
 * `latencyMs[i % length]` to the i-th broker's and relay's round trip: the
 * endpoints answer like distant ones, each at its own distance.
 */
export async function benchNetwork(brokerCount = 3, relayCount = 3, latencyMs: readonly number[] = []): Promise<Endpoints & { stop(): Promise<void> }> {
  const brokers = await startMosquittos(brokerCount);
  const bin = new URL('../bin/roomcast.js', import.meta.url).pathname;
  const relays = await Promise.all(
    Array.from({ length: relayCount }, (_, i) => i).map(async () => {
      const port = await freePort();
      const child = spawn(process.execPath, [bin, 'relay', '--port', String(port)], { stdio: 'ignore' });
      await waitForPort(port, () => child.exitCode === null);
      const stop = async () => {
        child.kill('SIGTERM');
        if (child.exitCode === null) await new Promise((r) => child.once('exit', r));
      };
      return { url: `ws://127.0.0.1:${port}`, stop };
    }),
  );
  const proxies: Array<{ stop(): Promise<void> }> = [];
  const far = async (list: ReadonlyArray<{ readonly url: string }>) =>
    latencyMs.length === 0
      ? list.map((e) => ({ url: e.url }))
      : Promise.all(
          list.map(async (e, i) => {
            const proxy = await delayProxy(new URL(e.url), latencyMs[i % latencyMs.length]! / 2);
            proxies.push(proxy);
            return { url: proxy.url };
          }),
        );
  return {
    brokers: await far(brokers),
    relays: await far(relays),
    stop: async () => {
      await Promise.all(proxies.map((p) => p.stop()));
      await Promise.all([...brokers.map((b) => b.stop()), ...relays.map((r) => r.stop())]);
    },
  };
}

/** A delay proxy in front of `target`, holding each chunk `oneWayMs` each way; its URL is the target's with the proxy's port. */
async function delayProxy(target: URL, oneWayMs: number): Promise<{ url: string; stop(): Promise<void> }> {
  const port = await freePort();
  const script = new URL('./delay-proxy.ts', import.meta.url).pathname;
  const child = spawn(process.execPath, ['--import', 'tsx', script, String(port), target.port, String(oneWayMs)], { stdio: 'ignore' });
  await waitForPort(port, () => child.exitCode === null);
  const url = new URL(target.href);
  url.port = String(port);
  return {
    url: url.href.replace(/\/$/, ''),
    stop: async () => {
      child.kill('SIGTERM');
      if (child.exitCode === null) await new Promise((r) => child.once('exit', r));
    },
  };
}

