/**
 * The Nostr transport when relays and connections fail: a relay killed and
 * restarted mid-run, a receiver whose connection is cut while messages are
 * sent, a receiver restarted from its stored cursors, a relay that is down at
 * start, and a handler failure that must not move the cursor past its event.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { finalizeEvent } from 'nostr-tools/pure';
import * as nip04 from 'nostr-tools/nip04';
import { generateIdentity, identityFromPrivateKeys, publicPart } from '../../src/identity/keys.js';
import type { Identity } from '../../src/identity/keys.js';
import { encodeMagnet } from '../../src/identity/magnet.js';
import { newMessage, serializeChatMessage } from '../../src/protocol/chat-message.js';
import { NostrTransport } from '../../src/transports/nostr/index.js';
import type { NostrConfigInput } from '../../src/transports/nostr/index.js';
import { redactUrl } from '../../src/transports/transport.js';
import type { InboundEnvelope, TransportContext } from '../../src/transports/transport.js';
import { testContext } from '../support/context.js';
import { publishRaw, startRelay, startRelays, startTcpCut } from '../support/nostr-relay.js';
import type { TcpCut, TestRelay } from '../support/nostr-relay.js';
import { sleep, waitFor } from '../support/wait.js';
import { capturingLogger } from '../support/log-capture.js';

const FAST = { publishTimeoutMs: 8000, connectTimeoutMs: 1500, reconnectMinMs: 100, reconnectMaxMs: 800 } satisfies NostrConfigInput;
const LONG = 20_000;

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function relaysFor(n: number): Promise<TestRelay[]> {
  const rs = await startRelays(n);
  cleanups.push(async () => void (await Promise.all(rs.map((r) => r.stop()))));
  return rs;
}

async function listen(id: Identity, urls: string[], ctx: TransportContext = testContext(id), cfg: NostrConfigInput = {}, handler?: (e: InboundEnvelope) => Promise<void>) {
  const t = new NostrTransport({ relays: urls, ...FAST, ...cfg }, ctx);
  cleanups.push(() => t.stop());
  const inbox: InboundEnvelope[] = [];
  await t.start(handler ?? (async (e) => void inbox.push(e)));
  return { t, inbox };
}

function payload(from: Identity, text: string) {
  const m = newMessage(encodeMagnet(from), text);
  return { uuid: m.uuid, json: serializeChatMessage(m) };
}

const seed = (id: Identity) => publicPart(identityFromPrivateKeys(id.secp256k1PrivateKey, id.ed25519PrivateKey, []));
const copies = (inbox: InboundEnvelope[], json: string) => inbox.filter((e) => e.body === json);

describe('nostr transport resilience', () => {
  it('keeps delivering through 2 of 3 relays while one is down, and reconnects on its own when it returns', async () => {
    const rs = await relaysFor(3);
    const alice = generateIdentity();
    const bob = generateIdentity();
    const { log, lines } = capturingLogger();
    // Alice reaches relay 1 with credentials in the URL: they must never reach a log or a report.
    const secretUrl = `ws://user:s3cret@127.0.0.1:${rs[1]!.port}/?token=t0ken`;
    const { t: a } = await listen(alice, [rs[0]!.url, secretUrl, rs[2]!.url], { ...testContext(alice), log });
    const { t: b, inbox } = await listen(bob, rs.map((r) => r.url));

    const m1 = payload(alice, 'all three');
    const r1 = await a.send({ identity: publicPart(bob) }, m1);
    expect(r1.endpoints.map((e) => e.ok)).toEqual([true, true, true]);
    await waitFor(() => copies(inbox, m1.json).length === 3, 'm1 from three relays');

    await rs[1]!.kill();
    const m2 = payload(alice, 'two of three');
    const r2 = await a.send({ identity: publicPart(bob) }, m2);
    expect(r2.ok).toBe(true);
    expect(r2.endpoints.map((e) => e.ok)).toEqual([true, false, true]);
    expect(['unreachable', 'timeout']).toContain(r2.endpoints[1]!.reason);
    await waitFor(() => copies(inbox, m2.json).length === 2, 'm2 from the two live relays', LONG);
    expect(copies(inbox, m2.json).map((e) => e.endpoint).sort()).toEqual([rs[0]!.url, rs[2]!.url].sort());

    await sleep(1500); // several failed reconnect attempts while the relay is down
    await rs[1]!.restart();
    await waitFor(() => a.status().every((s) => s.connected) && b.status().every((s) => s.connected), 'both reconnected', LONG);
    const m3 = payload(alice, 'three again');
    const r3 = await a.send({ identity: seed(bob) }, m3);
    expect(r3.endpoints.map((e) => e.ok)).toEqual([true, true, true]);
    await waitFor(() => copies(inbox, m3.json).length === 3, 'm3 from three relays', LONG);

    // State changes were logged once each, under the redacted URL only.
    const label = redactUrl(secretUrl);
    expect(label).toBe(rs[1]!.url);
    expect(a.capabilities.endpoints[1]).toBe(label);
    const about = (msg: string) => lines.filter((l) => l.msg === msg && l.relay === label).length;
    expect(about('nostr relay disconnected; reconnecting')).toBe(1);
    expect(about('nostr relay reconnected')).toBe(1);
    expect(lines.filter((l) => l.msg === 'nostr: reconnecting' && l.relay === label).length).toBeGreaterThan(1);
    const all = JSON.stringify(lines) + JSON.stringify([r1, r2, r3, a.status()]);
    expect(all).not.toContain('s3cret');
    expect(all).not.toContain('t0ken');
  });

  it('gives up on a relay that stopped answering with its socket open after one publish timeout: later sends fail at once; back when it answers again', async () => {
    const rs = await relaysFor(3);
    const silent = await startTcpCut(rs[1]!.port);
    cleanups.push(() => silent.close());
    const alice = generateIdentity();
    const bob = generateIdentity();
    const urls = [rs[0]!.url, silent.url, rs[2]!.url];
    const { t: b, inbox } = await listen(bob, rs.map((r) => r.url));
    const { t: a } = await listen(alice, urls, testContext(alice), { publishTimeoutMs: 1500 });
    await waitFor(() => a.status().every((s) => s.connected) && b.status().every((s) => s.connected), 'both connected', LONG);
    silent.freeze();
    try {
      const first = await a.send({ identity: publicPart(bob) }, payload(alice, 'into the silence'));
      expect(first.endpoints.map((e) => e.ok)).toEqual([true, false, true]);
      expect(first.endpoints[1]!.reason).toBe('timeout');
      // Without this, the pings would notice only after two 30 s intervals, every publish waiting its timeout meanwhile.
      await waitFor(() => !a.status()[1]!.connected, 'the silent relay given up');
      const next = await a.send({ identity: publicPart(bob) }, payload(alice, 'without waiting'));
      expect(next.endpoints.map((e) => e.ok)).toEqual([true, false, true]);
      expect(next.endpoints[1]!.reason).toBe('unreachable');
    } finally {
      silent.thaw();
    }
    await waitFor(() => a.status().every((s) => s.connected), 'alice back on the relay once it answers', LONG);
    const m = payload(alice, 'after the thaw');
    expect((await a.send({ identity: publicPart(bob) }, m)).endpoints.every((e) => e.ok)).toBe(true);
    await waitFor(() => copies(inbox, m.json).length === 3, 'm from three relays', LONG);
  });

  it('fetches what was published while the receiver was cut off, once its connection returns', async () => {
    const [relay] = await relaysFor(1);
    const cut: TcpCut = await startTcpCut(relay!.port);
    cleanups.push(() => cut.close());
    const alice = generateIdentity();
    const bob = generateIdentity();
    const { t: a } = await listen(alice, [relay!.url]);
    const { t: b, inbox } = await listen(bob, [cut.url]);

    const m1 = payload(alice, 'before the cut');
    await a.send({ identity: publicPart(bob) }, m1);
    await waitFor(() => copies(inbox, m1.json).length === 1, 'm1 live');

    await cut.cut();
    await waitFor(() => !b.status()[0]!.connected, 'receiver notices the cut');
    const m2 = payload(alice, 'gift-wrapped while cut off');
    const m3 = payload(alice, 'kind 4 while cut off');
    expect((await a.send({ identity: publicPart(bob) }, m2)).ok).toBe(true);
    expect((await a.send({ identity: seed(bob) }, m3)).ok).toBe(true);
    await sleep(300);
    expect(copies(inbox, m2.json)).toHaveLength(0);

    await cut.resume();
    await waitFor(() => copies(inbox, m2.json).length === 1 && copies(inbox, m3.json).length === 1, 'm2 and m3 after reconnect', LONG);
    expect(b.status()[0]!.connected).toBe(true);
  });

  it('resumes from stored cursors after a restart: gets what was sent meanwhile, not what predates the cursor', async () => {
    const [relay] = await relaysFor(1);
    const alice = generateIdentity();
    const bob = generateIdentity();
    const { t: a } = await listen(alice, [relay!.url]);
    const ctx1 = testContext(bob);
    const first = await listen(bob, [relay!.url], ctx1);
    const m1 = payload(alice, 'before restart');
    await a.send({ identity: seed(bob) }, m1);
    await waitFor(() => copies(first.inbox, m1.json).length === 1, 'm1');
    await first.t.stop();
    const key = `nostr:${bob.xOnly}:${relay!.url}`;
    const cursor = ctx1.cursorMap.get(key);
    expect(cursor).toBeGreaterThan(Math.floor(Date.now() / 1000) - 30);

    // Ten minutes old: inside the first-start look-back (1 h), before the cursor's slack (60 s).
    const old = payload(alice, 'ten minutes old');
    const oldEvent = finalizeEvent(
      { kind: 4, created_at: Math.floor(Date.now() / 1000) - 600, tags: [['p', bob.xOnly]], content: nip04.encrypt(alice.secp256k1PrivateKey, bob.xOnly, old.json) },
      alice.secp256k1PrivateKey,
    );
    expect((await publishRaw(relay!.url, oldEvent)).ok).toBe(true);
    const m2 = payload(alice, 'gift-wrapped while bob was down');
    const m3 = payload(alice, 'kind 4 while bob was down');
    expect((await a.send({ identity: publicPart(bob) }, m2)).ok).toBe(true);
    expect((await a.send({ identity: seed(bob) }, m3)).ok).toBe(true);

    const ctx2 = testContext(bob);
    ctx2.cursorMap.set(key, cursor!);
    const second = await listen(bob, [relay!.url], ctx2);
    await waitFor(() => copies(second.inbox, m2.json).length === 1 && copies(second.inbox, m3.json).length === 1, 'm2 and m3 after restart', LONG);
    await sleep(300);
    expect(copies(second.inbox, old.json)).toHaveLength(0);

    // Without a cursor, the look-back window includes the old one.
    const third = await listen(bob, [relay!.url]);
    await waitFor(() => copies(third.inbox, old.json).length === 1, 'old message on a first start', LONG);
  });

  it('does not move the cursor past an event whose handler failed, so a restart fetches it again', async () => {
    const [relay] = await relaysFor(1);
    const alice = generateIdentity();
    const bob = generateIdentity();
    const { t: a } = await listen(alice, [relay!.url]);
    const ctx1 = testContext(bob);
    const calls: string[] = [];
    const failing = await listen(bob, [relay!.url], ctx1, { resumeSlackSec: 0 }, async (e) => {
      calls.push(e.body);
      throw new Error('store unavailable');
    });
    const m1 = payload(alice, 'handler fails');
    await a.send({ identity: seed(bob) }, m1);
    await waitFor(() => calls.includes(m1.json), 'handler called');
    await sleep(2100); // later frames and pongs would otherwise carry the cursor past m1
    await failing.t.stop();

    const ctx2 = testContext(bob);
    for (const [k, v] of ctx1.cursorMap) ctx2.cursorMap.set(k, v);
    const again = await listen(bob, [relay!.url], ctx2, { resumeSlackSec: 0 });
    await waitFor(() => copies(again.inbox, m1.json).length === 1, 'm1 fetched again after restart', LONG);
  });

  it('starts while a relay is down, without waiting for it, and connects when it comes up', async () => {
    const relay = await startRelay();
    cleanups.push(() => relay.stop());
    await relay.kill();
    const alice = generateIdentity();
    const bob = generateIdentity();
    const t0 = Date.now();
    const { t: b, inbox } = await listen(bob, [relay.url]);
    expect(Date.now() - t0).toBeLessThan(2 * FAST.connectTimeoutMs + 1000);
    expect(b.status()[0]!.connected).toBe(false);
    expect(b.status()[0]!.lastError).toBeDefined();

    const { t: a } = await listen(alice, [relay.url]);
    const early = await a.send({ identity: publicPart(bob) }, payload(alice, 'nobody up'));
    expect(early.ok).toBe(false);
    expect(early.endpoints[0]!.reason).toBe('unreachable');

    await relay.restart();
    await waitFor(() => b.status()[0]!.connected && a.status()[0]!.connected, 'both connect once the relay is up', LONG);
    const m = payload(alice, 'now it works');
    expect((await a.send({ identity: publicPart(bob) }, m)).ok).toBe(true);
    await waitFor(() => copies(inbox, m.json).length === 1, 'delivery after late connect', LONG);
  });
});
