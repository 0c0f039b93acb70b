/**
 * A private redis-server on a free 127.0.0.1 port, for tests that stop and
 * start Redis under a running bridge. Nothing is persisted (like the CI
 * Redis), so a restart comes back empty: every queued job is gone.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { freePort, waitForPort } from './mosquitto.js';

const CANDIDATES = ['/usr/bin/redis-server', '/usr/local/bin/redis-server', '/usr/sbin/redis-server'];

export interface TestRedis {
  readonly url: string;
  /** SIGKILL: the server is gone at once, with everything it held. */
  kill(): Promise<void>;
  /** Starts again on the same port, empty. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export async function startRedis(): Promise<TestRedis> {
  const binary = CANDIDATES.find((c) => existsSync(c));
  if (!binary) throw new Error('redis-server not found (apt-get install -y redis-server)');
  const port = await freePort();
  let child: ChildProcess | undefined;
  const launch = async () => {
    const c = spawn(binary, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no'], { stdio: 'ignore' });
    child = c;
    const reap = () => c.kill('SIGKILL'); // never outlive the test process
    process.once('exit', reap);
    c.once('exit', () => process.off('exit', reap));
    await waitForPort(port, () => c.exitCode === null && c.signalCode === null);
  };
  const kill = async () => {
    const c = child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise<void>((r) => c.once('exit', () => r()));
    c.kill('SIGKILL');
    await exited;
  };
  await launch();
  return {
    url: `redis://127.0.0.1:${port}`,
    kill,
    restart: async () => {
      await kill();
      await launch();
    },
    stop: kill,
  };
}
