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
import { WebSocket, WebSocketServer } from 'ws';
import { NostrRelay } from '@nostr-relay/core';
import { createOutgoingNoticeMessage, createOutgoingOkMessage, EventRepository, LogLevel } from '@nostr-relay/common';
import type { Event, EventRepositoryUpsertResult, Filter } from '@nostr-relay/common';
import { Validator } from '@nostr-relay/validator';

/** Keeps events in a Map; `find` honours ids, authors, kinds, since, until, #tags and limit (newest first). */
export class MemoryEventRepository extends EventRepository {
  readonly events = new Map<string, Event>();

  isSearchSupported(): boolean {
    return false;
  }

  upsert(event: Event): EventRepositoryUpsertResult {
    if (this.events.has(event.id)) return { isDuplicate: true };
    this.events.set(event.id, event);
    return { isDuplicate: false };
  }

  find(filter: Filter): Event[] {
    const out = [...this.events.values()].filter((e) => matches(e, filter));
    out.sort((a, b) => b.created_at - a.created_at || (a.id < b.id ? -1 : 1));
    return filter.limit !== undefined ? out.slice(0, filter.limit) : out;
  }

  async destroy(): Promise<void> {
    return;
  }
}

function matches(e: Event, f: Filter): boolean {
  if (f.ids && !f.ids.includes(e.id)) return false;
  if (f.authors && !f.authors.includes(e.pubkey)) return false;
  if (f.kinds && !f.kinds.includes(e.kind)) return false;
  if (f.since !== undefined && e.created_at < f.since) return false;
  if (f.until !== undefined && e.created_at > f.until) return false;
  for (const [key, values] of Object.entries(f)) {
    if (!key.startsWith('#') || !Array.isArray(values)) continue;
    const name = key.slice(1);
    if (!e.tags.some((t) => t[0] === name && t[1] !== undefined && (values as string[]).includes(t[1]))) return false;
  }
  return true;
}

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
  const validator = new Validator();
  let relay: NostrRelay | undefined;
  let wss: WebSocketServer | undefined;
  let port = options.port ?? 0;
  let muted = false;

  const listen = async (): Promise<void> => {
    // filterResultCacheTtl 0: a REQ always reads the repository (the default caches results for 1 s).
    const r = new NostrRelay(repository, {
      filterResultCacheTtl: 0,
      logLevel: LogLevel.ERROR,
      ...(options.auth ? { hostname: '127.0.0.1' } : {}),
    });
    const server = new WebSocketServer({ host: '127.0.0.1', port });
    await new Promise<void>((resolve, reject) => {
      server.once('listening', resolve);
      server.once('error', reject);
    });
    port = (server.address() as AddressInfo).port;
    server.on('connection', (ws) => {
      r.handleConnection(ws);
      ws.on('message', async (data) => {
        if (muted) return;
        try {
          const message = await validator.validateIncomingMessage(data);
          await r.handleMessage(ws, message);
        } catch (error) {
          if (ws.readyState !== WebSocket.OPEN) return;
          const text = error instanceof Error ? error.message : 'invalid: message';
          // An EVENT that fails validation gets OK false (clients wait for it); anything else a NOTICE.
          const eventId = eventIdOf(data);
          ws.send(JSON.stringify(eventId ? createOutgoingOkMessage(eventId, false, text) : createOutgoingNoticeMessage(text)));
        }
      });
      ws.on('close', () => r.handleDisconnect(ws));
      ws.on('error', () => undefined);
    });
    relay = r;
    wss = server;
  };

  const close = async (graceful: boolean): Promise<void> => {
    const server = wss;
    const r = relay;
    wss = undefined;
    relay = undefined;
    if (!server) return;
    for (const ws of server.clients) {
      if (graceful) ws.close(1001, 'relay shutting down');
      else ws.terminate();
    }
    await new Promise<void>((resolve) => server.close(() => resolve()));
    if (graceful) {
      for (const ws of server.clients) ws.terminate();
    }
    await r?.destroy();
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
    connections: () => wss?.clients.size ?? 0,
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
      await relay?.broadcast(e);
    },
  };
}

/** Several relays at once. */
export async function startRelays(n: number, options: Omit<StartRelayOptions, 'port'> = {}): Promise<TestRelay[]> {
  return Promise.all(Array.from({ length: n }, () => startRelay(options)));
}

function eventIdOf(data: unknown): string | undefined {
  try {
    const text = Buffer.isBuffer(data) ? data.toString('utf8') : Array.isArray(data) ? Buffer.concat(data).toString('utf8') : String(data);
    const msg = JSON.parse(text) as unknown;
    if (Array.isArray(msg) && msg[0] === 'EVENT' && typeof msg[1] === 'object' && msg[1] !== null) {
      const id = (msg[1] as { id?: unknown }).id;
      return typeof id === 'string' && id.length > 0 && id.length <= 64 ? id : undefined;
    }
  } catch {
    // not JSON: answered with a NOTICE
  }
  return undefined;
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
  close(): Promise<void>;
}

export async function startTcpCut(targetPort: number): Promise<TcpCut> {
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  let port = 0;
  const listen = async () => {
    const srv = createServer((client) => {
      const upstream = new Socket();
      sockets.add(client);
      sockets.add(upstream);
      const drop = () => {
        client.destroy();
        upstream.destroy();
        sockets.delete(client);
        sockets.delete(upstream);
      };
      client.on('error', drop).on('close', drop);
      upstream.on('error', drop).on('close', drop);
      upstream.connect(targetPort, '127.0.0.1', () => {
        client.pipe(upstream);
        upstream.pipe(client);
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
    if (srv) await new Promise<void>((resolve) => srv.close(() => resolve()));
  };
  await listen();
  return {
    get url() {
      return `ws://127.0.0.1:${port}`;
    },
    cut,
    resume: listen,
    close: cut,
  };
}
