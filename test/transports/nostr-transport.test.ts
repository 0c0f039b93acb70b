/**
 * The Nostr transport against three real in-process relays: the shared
 * transport contract, plus Nostr-specific behaviour (timeouts, NIP-42 AUTH,
 * forged copies, cursor persistence, one authentication per distinct event).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { finalizeEvent, generateSecretKey, getPublicKey } from 'nostr-tools/pure';
import type { NostrEvent } from 'nostr-tools/pure';
import * as nip04 from 'nostr-tools/nip04';
import * as nip17 from 'nostr-tools/nip17';
import * as nip44 from 'nostr-tools/nip44';
import { generateIdentity, identityFromPrivateKeys, publicPart } from '../../src/identity/keys.js';
import type { Identity } from '../../src/identity/keys.js';
import { encodeMagnet } from '../../src/identity/magnet.js';
import { newMessage, serializeChatMessage } from '../../src/protocol/chat-message.js';
import type { RejectionCode } from '../../src/protocol/chat-message.js';
import { NostrTransport } from '../../src/transports/nostr/index.js';
import type { NostrConfigInput } from '../../src/transports/nostr/index.js';
import { redactUrl } from '../../src/transports/transport.js';
import type { InboundEnvelope, Transport, TransportContext } from '../../src/transports/transport.js';
import { runTransportContract } from './contract.js';
import type { ContractHarness, InjectKind } from './contract.js';
import { testContext } from '../support/context.js';
import { freePort, publishRaw, startRelay, startRelays } from '../support/nostr-relay.js';
import type { TestRelay } from '../support/nostr-relay.js';
import { sleep, waitFor } from '../support/wait.js';

const FAST = { publishTimeoutMs: 8000, connectTimeoutMs: 2000, reconnectMinMs: 100, reconnectMaxMs: 1000 } satisfies NostrConfigInput;

let relays: TestRelay[] = [];
beforeAll(async () => {
  relays = await startRelays(3);
});
afterAll(async () => {
  await Promise.all(relays.map((r) => r.stop()));
});

function payload(from: Identity, text: string) {
  const m = newMessage(encodeMagnet(from), text);
  return { uuid: m.uuid, json: serializeChatMessage(m) };
}

/** A gift wrap to `to` around a seal signed by `sealKey` around `rumor` (built by hand, to break one rule). */
function handWrap(to: Identity, sealKey: Uint8Array, rumor: object, breakSealSignature = false): NostrEvent {
  const seal = finalizeEvent(
    { kind: 13, created_at: Math.floor(Date.now() / 1000), tags: [], content: nip44.v2.encrypt(JSON.stringify(rumor), nip44.v2.utils.getConversationKey(sealKey, to.xOnly)) },
    sealKey,
  );
  const sealOut = breakSealSignature ? { ...seal, sig: flipHex(seal.sig) } : seal;
  const eph = generateSecretKey();
  return finalizeEvent(
    {
      kind: 1059,
      created_at: Math.floor(Date.now() / 1000) - 3600,
      tags: [['p', to.xOnly]],
      content: nip44.v2.encrypt(JSON.stringify(sealOut), nip44.v2.utils.getConversationKey(eph, to.xOnly)),
    },
    eph,
  );
}

function flipHex(hex: string): string {
  const last = hex[hex.length - 1] === '0' ? '1' : '0';
  return hex.slice(0, -1) + last;
}

async function inject(kind: InjectKind, from: Identity, to: Identity): Promise<readonly RejectionCode[]> {
  const now = Math.floor(Date.now() / 1000);
  const relay = relays[0]!;
  switch (kind) {
    case 'malformed': {
      // Validly signed kind 4 whose content is not NIP-04 ciphertext: the real relay accepts it.
      const ev = finalizeEvent({ kind: 4, created_at: now, tags: [['p', to.xOnly]], content: 'this is not NIP-04' }, from.secp256k1PrivateKey);
      expect((await publishRaw(relay.url, ev)).ok).toBe(true);
      return ['decrypt-failed'];
    }
    case 'oversized': {
      // Properly encrypted, but the decrypted body exceeds maxMessageBytes (64 KiB); the event stays under the relay's 100 KB limit.
      const body = payload(from, 'x'.repeat(64 * 1024 + 500)).json;
      const ev = finalizeEvent({ kind: 4, created_at: now, tags: [['p', to.xOnly]], content: nip04.encrypt(from.secp256k1PrivateKey, to.xOnly, body) }, from.secp256k1PrivateKey);
      expect((await publishRaw(relay.url, ev)).ok).toBe(true);
      return ['oversized'];
    }
    case 'forged-signature': {
      // A kind 4 claiming to be from `from` with a broken signature: the real relay refuses it, so inject it past validation.
      const ev = finalizeEvent({ kind: 4, created_at: now, tags: [['p', to.xOnly]], content: nip04.encrypt(from.secp256k1PrivateKey, to.xOnly, payload(from, 'forged').json) }, from.secp256k1PrivateKey);
      const forged = { ...ev, sig: flipHex(ev.sig) };
      expect((await publishRaw(relay.url, forged)).ok).toBe(false);
      await relay.inject(forged);
      return ['bad-signature'];
    }
    case 'sender-mismatch': {
      // Seal signed by `from`, rumor claiming another author: valid outer event, so it goes through the real relay.
      const mallory = generateIdentity();
      const rumor = { kind: 14, created_at: now, tags: [['p', to.xOnly]], content: payload(mallory, 'not really me').json, pubkey: mallory.xOnly };
      const ev = handWrap(to, from.secp256k1PrivateKey, rumor);
      expect((await publishRaw(relay.url, ev)).ok).toBe(true);
      return ['sender-mismatch'];
    }
  }
}

runTransportContract('nostr (3 relays)', (): ContractHarness => ({
  endpointCount: 3,
  make: (ctx) => new NostrTransport({ relays: relays.map((r) => r.url), ...FAST }, ctx),
  makeUnreachable: async (ctx) => {
    const ports = await Promise.all([freePort(), freePort()]);
    return new NostrTransport({ relays: ports.map((p) => `ws://127.0.0.1:${p}`), ...FAST }, ctx);
  },
  inject,
  unreachableBoundMs: 5000,
  pooled: true,
}));

describe('nostr transport specifics', () => {
  const started: Transport[] = [];
  afterEach(async () => {
    await Promise.all(started.splice(0).map((t) => t.stop()));
  });

  async function open(id: Identity, ctx: TransportContext = testContext(id), cfg: NostrConfigInput = {}) {
    const t = new NostrTransport({ relays: relays.map((r) => r.url), ...FAST, ...cfg }, ctx);
    started.push(t);
    const inbox: InboundEnvelope[] = [];
    await t.start(async (e) => void inbox.push(e));
    return { t, inbox, ctx };
  }

  it('accepts a NIP-17 DM built by stock nostr-tools (current Nostr apps) and one copy per relay', async () => {
    const bob = generateIdentity();
    const { inbox } = await open(bob);
    const appKey = generateSecretKey();
    const app = identityFromPrivateKeys(appKey, generateSecretKey());
    const json = payload(app, 'hi from a nostr app').json;
    const wrap = nip17.wrapEvent(appKey, { publicKey: bob.xOnly }, json);
    for (const r of relays) expect((await publishRaw(r.url, wrap)).ok).toBe(true);
    await waitFor(() => inbox.length === 3, 'three copies');
    expect(inbox.every((e) => e.body === json && e.sender.kind === 'xonly' && e.sender.key === getPublicKey(appKey))).toBe(true);
    expect(new Set(inbox.map((e) => e.endpoint)).size).toBe(3);
  });

  it('verifies and decrypts each distinct event once, however many relays deliver it', async () => {
    const alice = generateIdentity();
    const bob = generateIdentity();
    const { t: a } = await open(alice);
    const { t: b, inbox } = await open(bob);
    await a.send({ identity: publicPart(bob) }, payload(alice, 'once'));
    await a.send({ identity: publicPart(identityFromPrivateKeys(bob.secp256k1PrivateKey, bob.ed25519PrivateKey, [])) }, payload(alice, 'twice'));
    await waitFor(() => inbox.length === 6, 'three copies of two messages');
    const opener = (b as unknown as { opener: { verifications: number } }).opener;
    expect(opener.verifications).toBe(2);
  });

  it('routes by p tag: events a relay sends to everyone (it ignores #p for live events) reach their recipient only, and no one counts them as rejections', async () => {
    const alice = generateIdentity();
    const bob = generateIdentity();
    const carol = generateIdentity();
    const ctxA = testContext(alice);
    const { t: a, inbox: inboxA } = await open(alice, ctxA);
    const { inbox } = await open(bob);
    const ctxC = testContext(carol);
    const { inbox: inboxC } = await open(carol, ctxC);
    const p1 = payload(alice, 'gift-wrapped');
    const p2 = payload(alice, 'kind 4');
    await a.send({ identity: publicPart(bob) }, p1);
    await a.send({ identity: publicPart(identityFromPrivateKeys(bob.secp256k1PrivateKey, bob.ed25519PrivateKey, [])) }, p2);
    await waitFor(() => inbox.length === 6, 'bob got both from three relays');
    // Carol, a bystander on the same relays, and Alice, whose own events come back, are not shown them.
    await sleep(300);
    expect(inboxC).toEqual([]);
    expect(inboxA).toEqual([]);
    expect(ctxC.rejections).toEqual([]);
    expect(ctxA.rejections).toEqual([]);
  });

  it('rejects a gift wrap whose seal signature is forged (through the real relay)', async () => {
    const alice = generateIdentity();
    const bob = generateIdentity();
    const rec = testContext(bob);
    const { inbox } = await open(bob, rec);
    const rumor = { kind: 14, created_at: Math.floor(Date.now() / 1000), tags: [['p', bob.xOnly]], content: payload(alice, 'x').json, pubkey: alice.xOnly };
    expect((await publishRaw(relays[1]!.url, handWrap(bob, alice.secp256k1PrivateKey, rumor, true))).ok).toBe(true);
    await waitFor(() => rec.rejections.length > 0, 'rejection');
    expect(rec.rejections[0]!.rejection.code).toBe('bad-signature');
    expect(rec.rejections[0]!.endpoint).toBe(redactUrl(relays[1]!.url));
    await sleep(100);
    expect(inbox).toHaveLength(0);
  });

  it('reports a relay that accepts the socket but never answers as a timeout, within the publish timeout', async () => {
    const alice = generateIdentity();
    const bob = generateIdentity();
    const { t: a } = await open(alice, testContext(alice), { publishTimeoutMs: 800 });
    relays[2]!.mute(true);
    try {
      const t0 = Date.now();
      const report = await a.send({ identity: publicPart(bob) }, payload(alice, 'anyone?'));
      expect(Date.now() - t0).toBeLessThan(800 + 5000);
      expect(report.ok).toBe(true);
      expect(report.endpoints.map((e) => e.ok)).toEqual([true, true, false]);
      expect(report.endpoints[2]!.reason).toBe('timeout');
    } finally {
      relays[2]!.mute(false);
    }
  });

  it('reports a relay refusing the event as rejected, with its message', async () => {
    const alice = generateIdentity();
    const bob = generateIdentity();
    const { t: a } = await open(alice, testContext(alice, 200 * 1024));
    // 90 KB of text: within our limit, but the NIP-04 content exceeds the relay's 100 KB content limit.
    const report = await a.send({ identity: publicPart(identityFromPrivateKeys(bob.secp256k1PrivateKey, bob.ed25519PrivateKey, [])) }, payload(alice, 'y'.repeat(90_000)));
    expect(report.ok).toBe(false);
    expect(report.endpoints.every((e) => e.reason === 'rejected' && /content/i.test(e.error ?? ''))).toBe(true);
  });

  it('refuses to send JSON larger than maxMessageBytes, without touching the network', async () => {
    const alice = generateIdentity();
    const { t: a } = await open(alice, testContext(alice, 2048));
    const report = await a.send({ identity: publicPart(generateIdentity()) }, payload(alice, 'z'.repeat(3000)));
    expect(report.ok).toBe(false);
    expect(report.reason).toBe('rejected');
    expect(report.endpoints).toHaveLength(3);
  });

  it('authenticates (NIP-42) to a relay that serves DMs only to authenticated readers', async () => {
    const authRelay = await startRelay({ auth: true });
    try {
      const alice = generateIdentity();
      const bob = generateIdentity();
      const ctxB = testContext(bob);
      const b = new NostrTransport({ relays: [authRelay.url], ...FAST }, ctxB);
      const a = new NostrTransport({ relays: [authRelay.url], ...FAST }, testContext(alice));
      started.push(a, b);
      const inbox: InboundEnvelope[] = [];
      await b.start(async (e) => void inbox.push(e));
      await a.start(async () => undefined);
      const seedBob = identityFromPrivateKeys(bob.secp256k1PrivateKey, bob.ed25519PrivateKey, []);
      const p = payload(alice, 'behind auth');
      expect((await a.send({ identity: publicPart(seedBob) }, p)).ok).toBe(true);
      await waitFor(() => inbox.some((e) => e.body === p.json), 'DM through an AUTH relay');
    } finally {
      await authRelay.stop();
    }
  });

  it('persists a resume cursor per relay (throttled), and on stop', async () => {
    const bob = generateIdentity();
    const ctx = testContext(bob);
    const { t } = await open(bob, ctx);
    const before = Math.floor(Date.now() / 1000);
    await t.stop();
    const keys = [...ctx.cursorMap.keys()].sort();
    expect(keys).toEqual(relays.map((r) => `nostr:${bob.xOnly}:${r.url}`).sort());
    for (const v of ctx.cursorMap.values()) {
      expect(v).toBeGreaterThanOrEqual(before - 5);
      expect(v).toBeLessThanOrEqual(Math.floor(Date.now() / 1000));
    }
  });

  it('refuses to start twice, and starts nowhere after stop', async () => {
    const bob = generateIdentity();
    const { t } = await open(bob);
    await expect(t.start(async () => undefined)).rejects.toThrow(/already started/);
    await t.stop();
    await expect(t.start(async () => undefined)).rejects.toThrow(/stopped/);
    expect(t.status().every((s) => !s.connected)).toBe(true);
  });
});
