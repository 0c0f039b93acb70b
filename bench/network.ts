/** The benchmarks' network: real Mosquitto brokers, and relays in child processes (as they would be in production). */
import { spawn } from 'node:child_process';
import type { Endpoints } from '../test/support/network.js';
import { startMosquittos, waitForPort } from '../test/support/mosquitto.js';
import { freePort } from '../test/support/nostr-relay.js';

/** Real brokers, and relays in child processes (as they would be in production). */
export async function benchNetwork(brokerCount = 3, relayCount = 3): Promise<Endpoints & { stop(): Promise<void> }> {
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
  return {
    brokers,
    relays,
    stop: async () => {
      await Promise.all([...brokers.map((b) => b.stop()), ...relays.map((r) => r.stop())]);
    },
  };
}

