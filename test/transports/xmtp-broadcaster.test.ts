/**
 * XMTP down must not hold back the other networks: a broadcaster with MQTT
 * (real Mosquitto), Nostr (in-process relay) and XMTP on the real SDK pointed
 * at a node that is not there starts at once, delivers on MQTT and Nostr, and
 * its delivery report shows XMTP alone failed, with reason 'unreachable'.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Broadcaster } from '../../src/broadcaster/broadcaster.js';
import type { MessageEvent } from '../../src/broadcaster/events.js';
import { generateIdentity, publicPart } from '../../src/identity/keys.js';
import type { Identity } from '../../src/identity/keys.js';
import { silentLogger } from '../../src/observability/logger.js';
import { createMetrics } from '../../src/observability/metrics.js';
import { DEFAULT_PARSE_LIMITS } from '../../src/protocol/chat-message.js';
import { openStore } from '../../src/store/index.js';
import { MqttConfigSchema, MqttTransport } from '../../src/transports/mqtt/index.js';
import { NostrConfigSchema, NostrTransport } from '../../src/transports/nostr/index.js';
import { XmtpConfigSchema, XmtpTransport } from '../../src/transports/xmtp/index.js';
import { testContext } from '../support/context.js';
import { startMosquittos } from '../support/mosquitto.js';
import type { TestBroker } from '../support/mosquitto.js';
import { startRelays } from '../support/nostr-relay.js';
import type { TestRelay } from '../support/nostr-relay.js';
import { waitFor } from '../support/wait.js';
import { NETWORK_LABELS } from '../../src/transports/registry.js';

let brokers: TestBroker[] = [];
let relays: TestRelay[] = [];
beforeAll(async () => {
  [brokers, relays] = await Promise.all([startMosquittos(1), startRelays(1)]);
});
afterAll(async () => {
  await Promise.all([...brokers.map((b) => b.stop()), ...relays.map((r) => r.stop())]);
});

async function node(id: Identity) {
  const dir = mkdtempSync(join(tmpdir(), 'rc-xmtp-bc-'));
  const ctx = testContext(id);
  const fast = { connectTimeoutMs: 2000, reconnectMinMs: 100, reconnectMaxMs: 1000 };
  const transports = [
    new MqttTransport(MqttConfigSchema.parse({ brokers: brokers.map((b) => b.url), sendTimeoutMs: 2000, ...fast }), ctx),
    new NostrTransport(NostrConfigSchema.parse({ relays: relays.map((r) => r.url), publishTimeoutMs: 2000, ...fast }), ctx),
    new XmtpTransport(XmtpConfigSchema.parse({ env: 'local', dbDir: join(dir, 'xmtp'), createTimeoutMs: 5000, sendTimeoutMs: 5000 }), ctx),
  ];
  const b = new Broadcaster({
    identity: id,
    transports,
    store: await openStore({ url: `file:${join(dir, 'roomcast.db')}` }),
    log: silentLogger(),
    metrics: createMetrics(),
    reject: ctx.reject,
    limits: DEFAULT_PARSE_LIMITS,
    maxConcurrentSends: 8,
    networks: NETWORK_LABELS,
  });
  const messages: MessageEvent[] = [];
  b.on('message', (e) => messages.push(e));
  return { b, messages };
}

describe('xmtp unreachable beside mqtt and nostr', () => {
  it('delivers on MQTT and Nostr and reports XMTP unreachable', async () => {
    const alice = generateIdentity();
    const bob = generateIdentity();
    const a = await node(alice);
    const b = await node(bob);
    try {
      const t0 = Date.now();
      await Promise.all([a.b.start(), b.b.start()]);
      expect(Date.now() - t0).toBeLessThan(5000); // not held by XMTP's createTimeoutMs (5 s)
      const delivery = await a.b.send(publicPart(bob), 'hello despite xmtp');
      expect(delivery.ok).toBe(true);
      const by = Object.fromEntries(delivery.reports.map((r) => [r.transport, r]));
      expect(by.mqtt?.ok).toBe(true);
      expect(by.nostr?.ok).toBe(true);
      expect(by.xmtp).toMatchObject({ ok: false, reason: 'unreachable' });
      await waitFor(() => b.messages.length === 1, 'bob receives on mqtt or nostr');
      expect(b.messages[0]!.message.content).toBe('hello despite xmtp');
      expect(['mqtt', 'nostr']).toContain(b.messages[0]!.via);
    } finally {
      await Promise.all([a.b.stop(), b.b.stop()]);
    }
  }, 30_000);
});
