/**
 * A real Mosquitto broker for tests: a foreground child process on a free
 * 127.0.0.1 port, no persistence, no pid file (Mosquitto, started as root,
 * drops privileges to user `mosquitto` and then refuses a pid file in a
 * root-owned folder). Killed with the test process if a test forgets to stop it.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectAsync } from 'mqtt';

/** A broker a test can stop for good, kill hard, and bring back on the same port. */
export interface TestBroker {
  readonly url: string;
  readonly port: number;
  /** Stops the broker for good and removes its files; idempotent. */
  stop(): Promise<void>;
  /** Kills the broker at once (SIGKILL for Mosquitto) and waits until it is gone. */
  kill(): Promise<void>;
  /** Starts the broker again on the same port (stopping it first when it still runs); waits until it accepts connections. */
  restart(): Promise<void>;
}

/** A Mosquitto process: a TestBroker that can also be frozen (SIGSTOP: its sockets stay open, nothing answers) and thawed. */
export interface MosquittoBroker extends TestBroker {
  freeze(): void;
  thaw(): void;
}

const MOSQUITTO_CANDIDATES = ['/usr/sbin/mosquitto', '/usr/bin/mosquitto', '/usr/local/sbin/mosquitto'];

export function mosquittoBinary(): string {
  const found = MOSQUITTO_CANDIDATES.find((p) => existsSync(p));
  if (!found) throw new Error('mosquitto not found (apt-get install -y mosquitto)');
  return found;
}

/** A TCP port on 127.0.0.1 that nothing listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** Resolves once something accepts TCP connections on 127.0.0.1:port; rejects when `alive()` turns false or after timeoutMs. */
export async function waitForPort(port: number, alive: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const open = await new Promise<boolean>((resolve) => {
      const sock = createConnection({ host: '127.0.0.1', port });
      sock.once('connect', () => {
        sock.destroy();
        resolve(true);
      });
      sock.once('error', () => {
        sock.destroy();
        resolve(false);
      });
    });
    if (open) return;
    if (!alive()) throw new Error(`broker on port ${port} exited before accepting connections`);
    if (Date.now() > deadline) throw new Error(`broker on port ${port} did not accept connections within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const children = new Set<ChildProcess>();
let exitHookInstalled = false;
function track(child: ChildProcess): void {
  children.add(child);
  child.once('exit', () => children.delete(child));
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', () => {
      for (const c of children) c.kill('SIGKILL');
    });
  }
}

function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

function waitExit(child: ChildProcess): Promise<void> {
  if (exited(child)) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

export interface MosquittoOptions {
  /** Listen on this port (e.g. one a transport already tries); a free one when absent. */
  port?: number;
}

/** Starts a real Mosquitto on 127.0.0.1. */
export async function startMosquitto(opts: MosquittoOptions = {}): Promise<MosquittoBroker> {
  const binary = mosquittoBinary();
  const dir = await mkdtemp(join(tmpdir(), 'roomcast-mosquitto-'));
  // Readable by the unprivileged `mosquitto` user the broker switches to.
  await chmod(dir, 0o755);
  const conf = join(dir, 'mosquitto.conf');
  let port = opts.port ?? (await freePort());
  let child: ChildProcess | undefined;
  let stderr = '';
  let stopped = false;

  async function writeConf(): Promise<void> {
    const lines = [
      `listener ${port} 127.0.0.1`,
      'allow_anonymous true',
      'persistence false',
      // As the README advises operators: without it, Nagle's algorithm holds each small packet to a
      // subscriber back until the previous one is acknowledged (up to the peer's delayed-ACK time, 40 ms).
      'set_tcp_nodelay true',
      'log_dest stderr',
      'log_type error',
      'log_type warning',
      '',
    ];
    await writeFile(conf, lines.join('\n'), { mode: 0o644 });
  }

  async function spawnOnce(): Promise<void> {
    stderr = '';
    const c = spawn(binary, ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
    track(c);
    c.stderr?.setEncoding('utf8');
    c.stderr?.on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-4000);
    });
    child = c;
    try {
      await waitForPort(port, () => !exited(c));
      // Something else could hold the port (another test worker's broker): ours exits then.
      await new Promise((r) => setTimeout(r, 50));
      if (exited(c)) throw new Error(`mosquitto on port ${port} exited after start`);
    } catch (err) {
      c.kill('SIGKILL');
      await waitExit(c);
      throw new Error(`${(err as Error).message}; mosquitto said: ${stderr.trim() || '(nothing)'}`);
    }
  }

  /** Starts on `port`, retrying while the port is still held (e.g. just after a kill). */
  async function launch(allowOtherPort: boolean): Promise<void> {
    let lastError: unknown;
    for (let i = 0; i < 40; i++) {
      try {
        await writeConf();
        await spawnOnce();
        return;
      } catch (err) {
        lastError = err;
        if (allowOtherPort) port = await freePort();
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    throw lastError;
  }

  async function kill(): Promise<void> {
    const c = child;
    if (!c || exited(c)) return;
    c.kill('SIGKILL');
    await waitExit(c);
  }

  async function terminate(): Promise<void> {
    const c = child;
    if (!c || exited(c)) return;
    c.kill('SIGCONT'); // a frozen broker handles SIGTERM only once it runs again
    c.kill('SIGTERM');
    const timer = setTimeout(() => c.kill('SIGKILL'), 3000);
    await waitExit(c);
    clearTimeout(timer);
  }

  try {
    await launch(opts.port === undefined);
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }

  return {
    get url() {
      return `mqtt://127.0.0.1:${port}`;
    },
    get port() {
      return port;
    },
    kill,
    freeze() {
      if (child && !exited(child)) child.kill('SIGSTOP');
    },
    thaw() {
      if (child && !exited(child)) child.kill('SIGCONT');
    },
    async restart() {
      if (stopped) throw new Error('broker was stopped for good');
      await terminate();
      await launch(false);
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await terminate();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Starts `n` Mosquitto brokers in parallel. */
export function startMosquittos(n: number): Promise<MosquittoBroker[]> {
  return Promise.all(Array.from({ length: n }, () => startMosquitto()));
}

/** A raw MQTT 3.1.1 client for tests: publish bytes or watch a topic, bypassing any transport. */
export async function publishRaw(
  url: string,
  topic: string,
  payload: string | Buffer,
  opts: { retain?: boolean; qos?: 0 | 1 } = {},
): Promise<void> {
  const client = await connectAsync(url, { protocolVersion: 4, clean: true, reconnectPeriod: 0, connectTimeout: 5000 });
  try {
    await client.publishAsync(topic, payload, { qos: opts.qos ?? 1, retain: opts.retain ?? false });
  } finally {
    await client.endAsync();
  }
}

export interface RawMessage {
  readonly topic: string;
  readonly payload: Buffer;
  readonly retain: boolean;
}

/** Subscribes (QoS 1) to `topic` with a throw-away clean session and records what arrives. */
export async function watchRaw(url: string, topic: string): Promise<{ messages: RawMessage[]; close(): Promise<void> }> {
  const client = await connectAsync(url, { protocolVersion: 4, clean: true, reconnectPeriod: 0, connectTimeout: 5000 });
  const messages: RawMessage[] = [];
  client.on('message', (t, payload, packet) => messages.push({ topic: t, payload, retain: packet.retain }));
  await client.subscribeAsync(topic, { qos: 1 });
  return { messages, close: () => client.endAsync() };
}
