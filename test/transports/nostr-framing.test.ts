/**
 * Nostr framing without relays: the exact seed kind-4 format, the NIP-17
 * layers, interoperability with stock nostr-tools in both directions, every
 * inbound rejection, the outcome cache, the config schema and the cursor.
 */
import { describe, expect, it, vi } from 'vitest';
import { finalizeEvent, generateSecretKey, getEventHash, getPublicKey, verifyEvent } from 'nostr-tools/pure';
import type { NostrEvent } from 'nostr-tools/pure';
import * as nip04 from 'nostr-tools/nip04';
import * as nip17 from 'nostr-tools/nip17';
import * as nip44 from 'nostr-tools/nip44';
import { generateIdentity, identityFromPrivateKeys } from '../../src/identity/keys.js';
import type { Identity } from '../../src/identity/keys.js';
import { encodeMagnet } from '../../src/identity/magnet.js';
import { newMessage, serializeChatMessage } from '../../src/protocol/chat-message.js';
import { silentLogger } from '../../src/observability/logger.js';
import {
  buildOutboundEvent,
  DEFAULT_NOSTR_RELAYS,
  FramingError,
  GIFT_WRAP_MAX_AGE_SEC,
  NostrConfigSchema,
  openInbound,
  subscriptionFilters,
} from '../../src/transports/nostr/index.js';
import { InboundOpener, openedMemory } from '../../src/transports/nostr/inbound.js';
import { ResumeCursor } from '../../src/transports/nostr/cursor.js';

const alice = generateIdentity();
const bob = generateIdentity();
const seedBob = identityFromPrivateKeys(bob.secp256k1PrivateKey, bob.ed25519PrivateKey, []);
const LIMITS = { maxMessageBytes: 64 * 1024 };
const json = serializeChatMessage(newMessage(encodeMagnet(alice), 'héllo ✓ "quoted"'));
const nowSec = () => Math.floor(Date.now() / 1000);
const fresh = (e: object): NostrEvent => JSON.parse(JSON.stringify(e)) as NostrEvent;

function nip44Open(content: string, priv: Uint8Array, pub: string): Record<string, unknown> {
  return JSON.parse(nip44.v2.decrypt(content, nip44.v2.utils.getConversationKey(priv, pub))) as Record<string, unknown>;
}

function wrapAround(to: Identity, sealKey: Uint8Array, sealContent: string, sealKind = 13): NostrEvent {
  const seal = finalizeEvent({ kind: sealKind, created_at: nowSec(), tags: [], content: sealContent }, sealKey);
  const eph = generateSecretKey();
  return finalizeEvent(
    { kind: 1059, created_at: nowSec(), tags: [['p', to.xOnly]], content: nip44.v2.encrypt(JSON.stringify(seal), nip44.v2.utils.getConversationKey(eph, to.xOnly)) },
    eph,
  );
}

const sealed = (to: Identity, sealKey: Uint8Array, rumor: object | string) =>
  nip44.v2.encrypt(typeof rumor === 'string' ? rumor : JSON.stringify(rumor), nip44.v2.utils.getConversationKey(sealKey, to.xOnly));

describe('outbound framing', () => {
  it('sends a seed peer exactly the seed format: kind 4, one p tag, NIP-04 content', () => {
    const { event, framing } = buildOutboundEvent(alice, seedBob, json);
    expect(framing).toBe('nip04');
    expect(event.kind).toBe(4);
    expect(event.pubkey).toBe(alice.xOnly);
    expect(event.tags).toEqual([['p', bob.xOnly]]);
    expect(Math.abs(event.created_at - nowSec())).toBeLessThanOrEqual(2);
    expect(verifyEvent(fresh(event))).toBe(true);
    expect(nip04.decrypt(bob.secp256k1PrivateKey, alice.xOnly, event.content)).toBe(json);
  });

  it("sends a 'nip17' peer a NIP-17 gift wrap: ephemeral-key kind 1059 → signed kind 13 seal → unsigned kind 14 rumor", () => {
    const { event: wrap, framing } = buildOutboundEvent(alice, bob, json);
    expect(framing).toBe('nip17');
    expect(wrap.kind).toBe(1059);
    expect(wrap.pubkey).not.toBe(alice.xOnly);
    expect(wrap.tags).toEqual([['p', bob.xOnly]]);
    expect(verifyEvent(fresh(wrap))).toBe(true);
    expect(wrap.created_at).toBeLessThanOrEqual(nowSec());
    expect(wrap.created_at).toBeGreaterThanOrEqual(nowSec() - GIFT_WRAP_MAX_AGE_SEC - 2);

    const seal = nip44Open(wrap.content, bob.secp256k1PrivateKey, wrap.pubkey);
    expect(seal.kind).toBe(13);
    expect(seal.pubkey).toBe(alice.xOnly);
    expect(seal.tags).toEqual([]);
    expect(verifyEvent(seal as unknown as NostrEvent)).toBe(true);

    const rumor = nip44Open(String(seal.content), bob.secp256k1PrivateKey, alice.xOnly);
    expect(rumor.kind).toBe(14);
    expect(rumor.pubkey).toBe(alice.xOnly);
    expect(rumor.content).toBe(json);
    expect(rumor.tags).toEqual([['p', bob.xOnly]]);
    expect(rumor.sig).toBeUndefined();
    expect(rumor.id).toBe(getEventHash(rumor as unknown as NostrEvent));
    expect(Math.abs(Number(rumor.created_at) - nowSec())).toBeLessThanOrEqual(2);
  });

  it('uses a new key and a randomised past timestamp for every wrap', () => {
    const wraps = Array.from({ length: 4 }, () => buildOutboundEvent(alice, bob, json).event);
    expect(new Set(wraps.map((w) => w.pubkey)).size).toBe(4);
    expect(new Set(wraps.map((w) => w.created_at)).size).toBeGreaterThan(1);
  });

  it('is read by a stock nostr-tools NIP-17 unwrap (what current Nostr apps run)', () => {
    const { event } = buildOutboundEvent(alice, bob, json);
    const rumor = nip17.unwrapEvent(fresh(event), bob.secp256k1PrivateKey);
    expect(rumor.kind).toBe(14);
    expect(rumor.pubkey).toBe(alice.xOnly);
    expect(rumor.content).toBe(json);
  });

  it('refuses a message too large for standard NIP-44 rather than sending a non-standard one', () => {
    const big = serializeChatMessage(newMessage(encodeMagnet(alice), 'b'.repeat(50_000)));
    expect(() => buildOutboundEvent(alice, bob, big)).toThrow(FramingError);
    expect(buildOutboundEvent(alice, seedBob, big).event.kind).toBe(4);
  });
});

describe('inbound framing', () => {
  const ok = (raw: unknown) => {
    const r = openInbound(raw, bob, LIMITS);
    if (!r.ok) throw new Error(`rejected: ${r.rejection.code} ${r.rejection.detail}`);
    return r;
  };
  const code = (raw: unknown, limits = LIMITS) => {
    const r = openInbound(raw, bob, limits);
    return r.ok ? 'accepted' : r.rejection.code;
  };

  it('accepts our own kind 4 and our own gift wrap, naming the real sender', () => {
    for (const peer of [seedBob, bob]) {
      const r = ok(fresh(buildOutboundEvent(alice, peer, json).event));
      expect(r.body).toBe(json);
      expect(r.sender).toBe(alice.xOnly);
    }
  });

  it('accepts a NIP-17 DM built by stock nostr-tools', () => {
    const appKey = generateSecretKey();
    const r = ok(fresh(nip17.wrapEvent(appKey, { publicKey: bob.xOnly }, json)));
    expect(r.body).toBe(json);
    expect(r.sender).toBe(getPublicKey(appKey));
    expect(r.kind).toBe(1059);
  });

  it('accepts a seed-client kind 4 built with stock nip04', () => {
    const ev = finalizeEvent({ kind: 4, created_at: nowSec(), tags: [['p', bob.xOnly]], content: nip04.encrypt(alice.secp256k1PrivateKey, bob.xOnly, json) }, alice.secp256k1PrivateKey);
    expect(ok(fresh(ev)).sender).toBe(alice.xOnly);
  });

  it('rejects a forged signature, a tampered content and a wrong id as bad-signature', () => {
    const ev = buildOutboundEvent(alice, seedBob, json).event;
    expect(code({ ...fresh(ev), sig: ev.sig.replace(/.$/, (c) => (c === '0' ? '1' : '0')) })).toBe('bad-signature');
    expect(code({ ...fresh(ev), content: nip04.encrypt(alice.secp256k1PrivateKey, bob.xOnly, '{}') })).toBe('bad-signature');
    // Someone else's valid signature over the same content: id/pubkey mismatch.
    const mallory = generateIdentity();
    expect(code({ ...fresh(ev), pubkey: mallory.xOnly })).toBe('bad-signature');
  });

  it('rejects a gift wrap with a forged wrap or seal signature as bad-signature', () => {
    const wrap = fresh(buildOutboundEvent(alice, bob, json).event);
    expect(code({ ...wrap, sig: wrap.sig.replace(/^./, (c) => (c === '0' ? '1' : '0')) })).toBe('bad-signature');
    const rumor = { kind: 14, created_at: nowSec(), tags: [['p', bob.xOnly]], content: json, pubkey: alice.xOnly };
    const seal = finalizeEvent({ kind: 13, created_at: nowSec(), tags: [], content: sealed(bob, alice.secp256k1PrivateKey, rumor) }, alice.secp256k1PrivateKey);
    const eph = generateSecretKey();
    const badSeal = { ...seal, sig: seal.sig.replace(/^./, (c) => (c === '0' ? '1' : '0')) };
    const outer = finalizeEvent({ kind: 1059, created_at: nowSec(), tags: [['p', bob.xOnly]], content: nip44.v2.encrypt(JSON.stringify(badSeal), nip44.v2.utils.getConversationKey(eph, bob.xOnly)) }, eph);
    expect(code(fresh(outer))).toBe('bad-signature');
  });

  it('rejects a rumor whose author is not the seal signer as sender-mismatch', () => {
    const mallory = generateIdentity();
    const rumor = { kind: 14, created_at: nowSec(), tags: [['p', bob.xOnly]], content: json, pubkey: mallory.xOnly };
    expect(code(fresh(wrapAround(bob, alice.secp256k1PrivateKey, sealed(bob, alice.secp256k1PrivateKey, rumor))))).toBe('sender-mismatch');
  });

  it('rejects undecryptable content as decrypt-failed', () => {
    const notNip04 = finalizeEvent({ kind: 4, created_at: nowSec(), tags: [['p', bob.xOnly]], content: 'plain text' }, alice.secp256k1PrivateKey);
    expect(code(fresh(notNip04))).toBe('decrypt-failed');
    const badB64 = finalizeEvent({ kind: 4, created_at: nowSec(), tags: [['p', bob.xOnly]], content: '!!!?iv=###' }, alice.secp256k1PrivateKey);
    expect(code(fresh(badB64))).toBe('decrypt-failed');
    const eph = generateSecretKey();
    const notNip44 = finalizeEvent({ kind: 1059, created_at: nowSec(), tags: [['p', bob.xOnly]], content: 'x'.repeat(200) }, eph);
    expect(code(fresh(notNip44))).toBe('decrypt-failed');
    // A seal encrypted to someone else.
    const carol = generateIdentity();
    const rumor = { kind: 14, created_at: nowSec(), tags: [], content: json, pubkey: alice.xOnly };
    expect(code(fresh(wrapAround(bob, alice.secp256k1PrivateKey, sealed(carol, alice.secp256k1PrivateKey, rumor))))).toBe('decrypt-failed');
  });

  it('rejects non-JSON and wrongly shaped inner layers as malformed-json / invalid-message', () => {
    expect(code(fresh(wrapAround(bob, alice.secp256k1PrivateKey, sealed(bob, alice.secp256k1PrivateKey, 'not json'))))).toBe('malformed-json');
    const rumor = { kind: 1, created_at: nowSec(), tags: [], content: json, pubkey: alice.xOnly };
    expect(code(fresh(wrapAround(bob, alice.secp256k1PrivateKey, sealed(bob, alice.secp256k1PrivateKey, rumor))))).toBe('invalid-message');
    const rumor14 = { ...rumor, kind: 14 };
    expect(code(fresh(wrapAround(bob, alice.secp256k1PrivateKey, sealed(bob, alice.secp256k1PrivateKey, rumor14), 1)))).toBe('invalid-message');
    expect(code({ kind: 4 })).toBe('malformed-json');
    expect(code('["EVENT"]')).toBe('malformed-json');
    const note = finalizeEvent({ kind: 1, created_at: nowSec(), tags: [['p', bob.xOnly]], content: 'hi' }, alice.secp256k1PrivateKey);
    expect(code(fresh(note))).toBe('invalid-message');
  });

  it('rejects events addressed to someone else as wrong-recipient, before any signature work', () => {
    const carol = generateIdentity();
    const forCarol = fresh(buildOutboundEvent(alice, identityFromPrivateKeys(carol.secp256k1PrivateKey, carol.ed25519PrivateKey, []), json).event);
    expect(code(forCarol)).toBe('wrong-recipient');
    expect(code(fresh(buildOutboundEvent(alice, carol, json).event))).toBe('wrong-recipient');
  });

  it('bounds sizes: oversized event content before decryption, oversized body after', () => {
    const small = { maxMessageBytes: 1024 };
    const huge = finalizeEvent({ kind: 4, created_at: nowSec(), tags: [['p', bob.xOnly]], content: 'a'.repeat(2 * 1024 + 4097) + '?iv=x' }, alice.secp256k1PrivateKey);
    const r = openInbound(fresh(huge), bob, small);
    expect(r.ok ? 'accepted' : r.rejection.code).toBe('oversized');
    const body = serializeChatMessage(newMessage(encodeMagnet(alice), 'c'.repeat(1100)));
    expect(code(fresh(buildOutboundEvent(alice, seedBob, body).event), small)).toBe('oversized');
    expect(code(fresh(buildOutboundEvent(alice, bob, body).event), small)).toBe('oversized');
    expect(code(fresh(buildOutboundEvent(alice, bob, body).event), { maxMessageBytes: 2048 })).toBe('accepted');
  });
});

describe('inbound opener', () => {
  it('authenticates each distinct event once and serves later copies from its cache', () => {
    const opener = new InboundOpener(bob, LIMITS.maxMessageBytes);
    const ev = buildOutboundEvent(alice, bob, json).event;
    const first = opener.open(fresh(ev));
    const second = opener.open(fresh(ev));
    expect(first.ok && second.ok).toBe(true);
    expect([first.fresh, second.fresh]).toEqual([true, false]);
    expect(opener.verifications).toBe(1);
  });

  it('shares one bounded memory among the identities of a process, each keyed apart', () => {
    const memory = openedMemory(4);
    const forBob = new InboundOpener(bob, LIMITS.maxMessageBytes, memory);
    const carol = generateIdentity();
    const forCarol = new InboundOpener(carol, LIMITS.maxMessageBytes, memory);
    const toBob = Array.from({ length: 3 }, (_, i) => buildOutboundEvent(alice, bob, `${json} ${i}`).event);
    const toCarol = Array.from({ length: 2 }, (_, i) => buildOutboundEvent(alice, carol, `${json} ${i}`).event);
    for (const ev of toBob) expect(forBob.open(fresh(ev)).fresh).toBe(true);
    for (const ev of toCarol) expect(forCarol.open(fresh(ev)).ok).toBe(true);
    expect(memory.size).toBe(4); // the two share one bound
    expect(forBob.open(fresh(toBob[2]!)).fresh).toBe(false); // recent: served from memory
    expect(forBob.open(fresh(toBob[0]!)).fresh).toBe(true); // pushed out by Carol's: opened again
    // What was opened for Bob is never served to Carol: she opens it herself, and it is not hers.
    const r = forCarol.open(fresh(toBob[2]!));
    expect([r.ok, r.fresh]).toEqual([false, true]);
  });

  it('does not let a copy with a known id but another signature ride on the cache', () => {
    const opener = new InboundOpener(bob, LIMITS.maxMessageBytes);
    const ev = buildOutboundEvent(alice, seedBob, json).event;
    expect(opener.open(fresh(ev)).ok).toBe(true);
    const forged = { ...fresh(ev), sig: ev.sig.replace(/^./, (c) => (c === '0' ? '1' : '0')) };
    const r = opener.open(forged);
    expect(r.ok ? 'accepted' : r.rejection.code).toBe('bad-signature');
    const tampered = { ...fresh(ev), content: ev.content.replace(/^./, (c) => (c === 'A' ? 'B' : 'A')) };
    const t = opener.open(tampered);
    expect(t.ok ? 'accepted' : t.rejection.code).toBe('bad-signature');
  });

  it('reports a rejection once per event, however many relays repeat it', () => {
    const opener = new InboundOpener(bob, LIMITS.maxMessageBytes);
    const ev = finalizeEvent({ kind: 4, created_at: nowSec(), tags: [['p', bob.xOnly]], content: 'nope' }, alice.secp256k1PrivateKey);
    const outcomes = [opener.open(fresh(ev)), opener.open(fresh(ev)), opener.open(fresh(ev))];
    expect(outcomes.map((o) => o.ok)).toEqual([false, false, false]);
    expect(outcomes.map((o) => o.fresh)).toEqual([true, false, false]);
  });
});

describe('nostr config', () => {
  it('fills defaults', () => {
    expect(NostrConfigSchema.parse({})).toEqual({
      relays: [...DEFAULT_NOSTR_RELAYS],
      publishTimeoutMs: 5000,
      connectTimeoutMs: 5000,
      reconnectMinMs: 500,
      reconnectMaxMs: 30000,
      firstStartLookbackSec: 3600,
      resumeSlackSec: 60,
      pingIntervalMs: 30000,
    });
  });

  it('refuses non-WebSocket URLs, duplicates and inverted backoff, naming the key', () => {
    const issue = (input: unknown) => {
      const r = NostrConfigSchema.safeParse(input);
      return r.success ? 'ok' : r.error.issues.map((i) => i.path.join('.')).join(',');
    };
    expect(issue({ relays: ['https://relay.example'] })).toBe('relays.0');
    expect(issue({ relays: ['wss://relay.example', 'wss://relay.example/'] })).toBe('relays.1');
    expect(issue({ reconnectMinMs: 5000, reconnectMaxMs: 1000 })).toBe('reconnectMinMs');
    expect(issue({ relays: ['wss://a.example', 'ws://127.0.0.1:7777'] })).toBe('ok');
  });
});

describe('resume cursor', () => {
  const store = () => {
    const map = new Map<string, number>();
    const writes: number[] = [];
    return {
      map,
      writes,
      getCursor: async (k: string) => map.get(k),
      setCursor: async (k: string, v: number) => {
        writes.push(v);
        map.set(k, v);
      },
    };
  };
  const opts = { ownXOnly: bob.xOnly, slackSec: 60, firstStartLookbackSec: 3600 };

  it('asks for the look-back window on a first start, and gift wraps two days further back', () => {
    const f = subscriptionFilters(bob.xOnly, undefined, 1_000_000, 60, 3600);
    expect(f).toEqual([
      { kinds: [4], '#p': [bob.xOnly], since: 1_000_000 - 3600 },
      { kinds: [1059], '#p': [bob.xOnly], since: 1_000_000 - 3600 - GIFT_WRAP_MAX_AGE_SEC },
    ]);
    expect(subscriptionFilters(bob.xOnly, 900_000, 1_000_000, 60, 3600).map((x) => x.since)).toEqual([899_940, 899_940 - GIFT_WRAP_MAX_AGE_SEC]);
  });

  it('resumes from the stored value, advances monotonically and writes at most once per interval', async () => {
    vi.useFakeTimers({ now: 2_000_000_900 });
    try {
      const s = store();
      s.map.set('k', 1_999_000);
      const c = new ResumeCursor(s, 'k', { ...opts, progressEveryMs: 1000 }, silentLogger());
      expect((await c.filters())[0]!.since).toBe(1_999_000 - 60);
      c.reach(Date.now());
      await vi.advanceTimersByTimeAsync(0);
      expect(s.writes).toEqual([2_000_000]);
      c.reach(Date.now() - 5000); // never moves back
      await vi.advanceTimersByTimeAsync(200);
      c.reach(Date.now()); // 2_000_001, within a second of the last write
      await vi.advanceTimersByTimeAsync(400);
      expect(s.writes).toEqual([2_000_000]);
      await vi.advanceTimersByTimeAsync(500);
      expect(s.writes).toEqual([2_000_000, 2_000_001]);
      expect((await c.filters())[0]!.since).toBe(2_000_001 - 60);
      await vi.advanceTimersByTimeAsync(3000);
      c.reach(Date.now());
      c.reach(Date.now() + 999_999); // never beyond the local clock
      await c.flush();
      expect(s.writes).toEqual([2_000_000, 2_000_001, 2_000_005]);
    } finally {
      vi.useRealTimers();
    }
  });

  it('writes mere progress once per 30 s, but a hold within a second', async () => {
    vi.useFakeTimers({ now: 3_000_000_000 });
    try {
      const s = store();
      const c = new ResumeCursor(s, 'k', opts, silentLogger());
      c.reach(Date.now());
      await vi.advanceTimersByTimeAsync(0);
      expect(s.writes).toEqual([3_000_000]);
      for (let i = 0; i < 20; i++) {
        await vi.advanceTimersByTimeAsync(1000);
        c.reach(Date.now()); // a pong a second, as on a live relay
      }
      expect(s.writes).toEqual([3_000_000]);
      c.hold('late', 4, 2_999_000);
      await vi.advanceTimersByTimeAsync(1000);
      expect(s.writes).toEqual([3_000_000, 2_999_000]);
      await vi.advanceTimersByTimeAsync(30_000);
      c.release('late');
      await vi.advanceTimersByTimeAsync(1000);
      expect(s.writes.at(-1)).toBe(3_000_020);
    } finally {
      vi.useRealTimers();
    }
  });

  it('holds the cursor before an event the receiver failed to take, until a copy is taken', async () => {
    const s = store();
    const c = new ResumeCursor(s, 'k', opts, silentLogger());
    const now = Math.floor(Date.now() / 1000);
    c.reach(Date.now());
    c.hold('ev4', 4, now - 100);
    await c.flush();
    expect(s.map.get('k')).toBe(now - 100);
    c.hold('wrap', 1059, now - GIFT_WRAP_MAX_AGE_SEC - 500);
    await c.flush();
    expect(s.map.get('k')).toBe(now - 500);
    c.release('wrap');
    c.release('ev4');
    await c.flush();
    expect(s.map.get('k')).toBe(now);
  });
});
