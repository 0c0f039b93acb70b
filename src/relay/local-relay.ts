/**
 * A real Nostr relay in-process: @nostr-relay/core with its validator on a
 * `ws` server, storing events in memory. `roomcast relay` runs one so people
 * can try roomcast without internet; the tests run several.
 */
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import { NostrRelay } from '@nostr-relay/core';
import { createOutgoingNoticeMessage, createOutgoingOkMessage, EventRepository, EventUtils, LogLevel } from '@nostr-relay/common';
import type { Event, EventRepositoryUpsertResult, Filter } from '@nostr-relay/common';
import { Validator } from '@nostr-relay/validator';
import { verifySignatureOverId } from '../identity/crypto.js';

/** Keeps events in a Map; `find` honours ids, authors, kinds, since, until, #tags and limit (newest first). */
export class MemoryEventRepository extends EventRepository {
  readonly events = new Map<string, Event>();

  /** @param maxEvents oldest events are dropped beyond this many, so a long-running local relay stays bounded. */
  constructor(private readonly maxEvents = 100_000) {
    super();
  }

  isSearchSupported(): boolean {
    return false;
  }

  upsert(event: Event): EventRepositoryUpsertResult {
    if (this.events.has(event.id)) return { isDuplicate: true };
    this.events.set(event.id, event);
    if (this.events.size > this.maxEvents) {
      const oldest = this.events.keys().next().value;
      if (oldest !== undefined) this.events.delete(oldest);
    }
    return { isDuplicate: false };
  }

  find(filter: Filter): Event[] {
    // By id straight from the map: the relay looks up every EVENT it receives this way (does it exist?),
    // and a scan of every stored event there made a relay holding tens of thousands slow to a crawl.
    const candidates = filter.ids ? filter.ids.flatMap((id) => this.events.get(id) ?? []) : [...this.events.values()];
    const out = candidates.filter((e) => matches(e, filter));
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

export interface RelayServerOptions {
  readonly host: string;
  /** 0 for a free port. */
  readonly port: number;
  readonly repository: EventRepository;
  /** Require NIP-42 AUTH for DMs, with this relay hostname in the challenge. */
  readonly authHostname?: string;
  /** While it returns true, incoming messages are read and ignored (tests simulate a stuck relay). */
  readonly isMuted?: () => boolean;
}

export interface RelayServer {
  readonly relay: NostrRelay;
  readonly server: WebSocketServer;
  readonly port: number;
  /** Closes every socket (with a close handshake when graceful) and the port. */
  close(graceful: boolean): Promise<void>;
}

/** Starts listening; every incoming message is validated (signatures included) before the relay sees it. */
export async function serveRelay(o: RelayServerOptions): Promise<RelayServer> {
  // Signatures checked with the WebAssembly secp256k1 the rest of roomcast uses. @nostr-relay/common's own
  // check (after its id check) runs @noble/curves on BigInts: some 60% of each relay process's CPU in the
  // bridge benchmark's Nostr runs, which made the relays the bottleneck. The package has no option for it
  // and is pinned exactly; test/relay/signature-check.test.ts fails if this hook stops being used.
  EventUtils.isSigValid = verifySignatureOverId;
  const validator = new Validator();
  // filterResultCacheTtl 0: a REQ always reads the repository (the default caches results for 1 s).
  const relay = new NostrRelay(o.repository, {
    filterResultCacheTtl: 0,
    logLevel: LogLevel.ERROR,
    ...(o.authHostname ? { hostname: o.authHostname } : {}),
  });
  const server = new WebSocketServer({ host: o.host, port: o.port, maxPayload: 1024 * 1024 });
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  server.on('connection', (ws) => {
    relay.handleConnection(ws);
    ws.on('message', async (data) => {
      if (o.isMuted?.()) return;
      try {
        const message = await validator.validateIncomingMessage(data);
        await relay.handleMessage(ws, message);
      } catch (error) {
        if (ws.readyState !== WebSocket.OPEN) return;
        const text = error instanceof Error ? error.message : 'invalid: message';
        // An EVENT that fails validation gets OK false (clients wait for it); anything else a NOTICE.
        const eventId = eventIdOf(data);
        ws.send(JSON.stringify(eventId ? createOutgoingOkMessage(eventId, false, text) : createOutgoingNoticeMessage(text)));
      }
    });
    ws.on('close', () => relay.handleDisconnect(ws));
    ws.on('error', () => undefined);
  });
  return {
    relay,
    server,
    port: (server.address() as AddressInfo).port,
    close: async (graceful) => {
      for (const ws of server.clients) {
        if (graceful) ws.close(1001, 'relay shutting down');
        else ws.terminate();
      }
      await new Promise<void>((resolve) => server.close(() => resolve()));
      for (const ws of server.clients) ws.terminate();
      await relay.destroy();
    },
  };
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

