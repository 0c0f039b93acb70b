/**
 * A real Nostr relay in-process (DEPENDENCIES.md): @nostr-relay/core with
 * @nostr-relay/validator on a `ws` server on a free 127.0.0.1 port, storing
 * events in memory. Tests can kill it (drop every socket, close the port),
 * restart it on the same port with the same events, mute it (it stops
 * answering), and inject raw events that skip validation (to test how
 * receivers handle forged input the real relay would refuse).
 */
import { createServer, Socket } from 'node:net';
import type { AddressInfo, Server } from 'node:net';
import { WebSocket } from 'ws';
import type { Event } from '@nostr-relay/common';
import { MemoryEventRepository, serveRelay } from '../../src/relay/local-relay.js';
import type { RelayServer } from '../../src/relay/local-relay.js';

export { MemoryEventRepository };

export interface TestRelay {
  readonly url: string;
  readonly port: number;
  /** Events stored so far (including injected ones). */
  readonly repository: MemoryEventRepository;
  /** Number of open client sockets. */
  connections(): number;
  /** Graceful shutdown: closes client sockets and the port. */
  stop(): Promise<void>;
  /** Abrupt outage: drops every socket without a close handshake and closes the port. */
  kill(): Promise<void>;
  /** Listens again on the same port with the same stored events (kills first if still running). */
  restart(): Promise<void>;
  /** While muted the relay reads and ignores every message (no OK, no EOSE). */
  mute(on: boolean): void;
  /** Stores `event` as is and delivers it to matching subscribers, skipping all validation. */
  inject(event: object): Promise<void>;
}

export interface StartRelayOptions {
  /** Require NIP-42 AUTH before serving kind-4 DMs (the relay's hostname becomes 127.0.0.1). */
  auth?: boolean;
  /** Listen on this port instead of a free one. */
  port?: number;
}

/** A free TCP port on 127.0.0.1 (nothing listens on it once this resolves). */
export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const { port } = srv.address() as AddressInfo;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

export async function startRelay(options: StartRelayOptions = {}): Promise<TestRelay> {
  const repository = new MemoryEventRepository();
  let served: RelayServer | undefined;
  let port = options.port ?? 0;
  let muted = false;

  const listen = async (): Promise<void> => {
    const s = await serveRelay({ host: '127.0.0.1', port, repository, ...(options.auth ? { authHostname: '127.0.0.1' } : {}), isMuted: () => muted });
    port = s.port;
    served = s;
  };

  const close = async (graceful: boolean): Promise<void> => {
    const s = served;
    served = undefined;
    await s?.close(graceful);
  };

  await listen();

  return {
    get url() {
      return `ws://127.0.0.1:${port}`;
    },
    get port() {
      return port;
    },
    repository,
    connections: () => served?.server.clients.size ?? 0,
    stop: () => close(true),
    kill: () => close(false),
    restart: async () => {
      await close(false);
      await listen();
    },
    mute: (on) => {
      muted = on;
    },
    inject: async (event) => {
      const e = event as Event;
      repository.upsert(e);
      await served?.relay.broadcast(e);
    },
  };
}

/** Several relays at once. */
export async function startRelays(n: number, options: Omit<StartRelayOptions, 'port'> = {}): Promise<TestRelay[]> {
  return Promise.all(Array.from({ length: n }, () => startRelay(options)));
}

/** Publishes one raw event to a relay over a fresh socket and returns the relay's OK verdict. */
export async function publishRaw(url: string, event: object, timeoutMs = 5000): Promise<{ ok: boolean; message: string }> {
  const ws = new WebSocket(url);
  try {
    await new Promise<void>((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    const id = (event as { id?: string }).id;
    return await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no OK from ${url} within ${timeoutMs} ms`)), timeoutMs);
      ws.on('message', (data) => {
        const msg = JSON.parse(String(data)) as unknown[];
        if (msg[0] === 'OK' && msg[1] === id) {
          clearTimeout(timer);
          resolve({ ok: msg[2] === true, message: String(msg[3] ?? '') });
        }
      });
      ws.send(JSON.stringify(['EVENT', event]));
    });
  } finally {
    ws.terminate();
  }
}

/**
 * A TCP forwarder to a relay, so a test can cut one client's connection
 * without touching the relay: `cut()` drops every forwarded socket and stops
 * listening; `resume()` listens again on the same port.
 */
export interface TcpCut {
  readonly url: string;
  cut(): Promise<void>;
  resume(): Promise<void>;
  /** Stops passing bytes either way while keeping every connection open (a relay that stopped answering); new connections are held too. */
  freeze(): void;
  /** Passes bytes again, what was held first. */
  thaw(): void;
  close(): Promise<void>;
}

export async function startTcpCut(targetPort: number): Promise<TcpCut> {
  const sockets = new Set<Socket>();
  const pairs = new Set<{ client: Socket; upstream: Socket }>();
  let frozen = false;
  let server: Server | undefined;
  let port = 0;
  const join = (p: { client: Socket; upstream: Socket }) => {
    p.client.pipe(p.upstream);
    p.upstream.pipe(p.client);
  };
  const listen = async () => {
    const srv = createServer((client) => {
      const upstream = new Socket();
      const pair = { client, upstream };
      sockets.add(client);
      sockets.add(upstream);
      const drop = () => {
        client.destroy();
        upstream.destroy();
        sockets.delete(client);
        sockets.delete(upstream);
        pairs.delete(pair);
      };
      client.on('error', drop).on('close', drop);
      upstream.on('error', drop).on('close', drop);
      client.pause();
      upstream.connect(targetPort, '127.0.0.1', () => {
        pairs.add(pair);
        if (!frozen) join(pair);
      });
    });
    await new Promise<void>((resolve, reject) => {
      srv.once('error', reject);
      srv.listen(port, '127.0.0.1', () => resolve());
    });
    port = (srv.address() as AddressInfo).port;
    server = srv;
  };
  const cut = async () => {
    const srv = server;
    server = undefined;
    for (const s of sockets) s.destroy();
    sockets.clear();
    pairs.clear();
    if (srv) await new Promise<void>((resolve) => srv.close(() => resolve()));
  };
  await listen();
  return {
    get url() {
      return `ws://127.0.0.1:${port}`;
    },
    cut,
    resume: listen,
    freeze() {
      frozen = true;
      for (const p of pairs) {
        p.client.unpipe(p.upstream);
        p.upstream.unpipe(p.client);
        p.client.pause();
        p.upstream.pause();
      }
    },
    thaw() {
      frozen = false;
      for (const p of pairs) join(p);
    },
    close: cut,
  };
}
