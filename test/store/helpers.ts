/** Shared fixtures for the store tests: fresh databases of each kind, ids, records. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes, randomUUID } from 'node:crypto';
import { openStore } from '../../src/store/index.js';
import type { InboundRecord, Store } from '../../src/store/index.js';
import type { ProtocolId } from '../../src/protocol/chat-message.js';
import type { EndpointResult, SendReport } from '../../src/transports/transport.js';

export type DbFlavour = 'memory' | 'file';
export const FLAVOURS: readonly DbFlavour[] = ['memory', 'file'];

/** A fresh temporary directory, removed by the returned cleanup. */
export function tempDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `roomcast-store-${randomUUID()}-`));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A URL for a new, empty database of the flavour (its own file for 'file'). */
export function freshUrl(flavour: DbFlavour): { url: string; cleanup: () => void } {
  if (flavour === 'memory') return { url: ':memory:', cleanup: () => undefined };
  const { dir, cleanup } = tempDir();
  return { url: `file:${join(dir, 'roomcast.db')}`, cleanup };
}

export interface Opened {
  store: Store;
  url: string;
  /** Closes the store (if still open) and removes its files. */
  dispose: () => Promise<void>;
}

export async function openFresh(flavour: DbFlavour, now?: () => number): Promise<Opened> {
  const { url, cleanup } = freshUrl(flavour);
  const store = await openStore({ url, ...(now ? { now } : {}) });
  return {
    store,
    url,
    dispose: async () => {
      await store.close();
      cleanup();
    },
  };
}

/** A random 64-hex x-only key. */
export function xOnly(): string {
  return randomBytes(32).toString('hex');
}

export function inbound(overrides: Partial<InboundRecord> & Pick<InboundRecord, 'owner' | 'peer'>): InboundRecord {
  return {
    uuid: randomUUID(),
    fromMagnetLink: 'magnet:?xt=urn%3Aidentity%3Av1&secp256k1pub=04aa',
    content: 'hello',
    timestamp: 1_700_000_000_000,
    verified: true,
    protocol: 'nostr',
    endpoint: 'wss://relay.one',
    receivedAt: 1_700_000_000_250,
    ...overrides,
  };
}

export function outbound(owner: string, peer: string, overrides: Partial<{ uuid: string; timestamp: number; content: string }> = {}) {
  return {
    owner,
    uuid: overrides.uuid ?? randomUUID(),
    peer,
    fromMagnetLink: 'magnet:?xt=urn%3Aidentity%3Av1&secp256k1pub=04bb',
    content: overrides.content ?? 'hi there',
    timestamp: overrides.timestamp ?? 1_700_000_000_000,
  };
}

export function okEndpoint(endpoint: string, latencyMs: number): EndpointResult {
  return { endpoint, ok: true, latencyMs };
}

export function failedEndpoint(endpoint: string, latencyMs: number, error = 'connection refused'): EndpointResult {
  return { endpoint, ok: false, latencyMs, reason: 'unreachable', error };
}

export function report(transport: ProtocolId, endpoints: EndpointResult[]): SendReport {
  const ok = endpoints.some((e) => e.ok);
  return {
    transport,
    ok,
    endpoints,
    latencyMs: endpoints.length ? Math.min(...endpoints.map((e) => e.latencyMs)) : 0,
    ...(ok ? {} : { reason: 'unreachable' as const, error: 'failed' }),
  };
}
