import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { hexToBytes } from '@noble/hashes/utils.js';
import { generateIdentity, identityFromPrivateKeys, publicPart } from '../../src/identity/keys.js';
import type { Identity } from '../../src/identity/keys.js';
import { nip44Encrypt, schnorrSignText, schnorrVerifyText } from '../../src/identity/crypto.js';
import { encodeMagnet } from '../../src/identity/magnet.js';
import { newMessage, serializeChatMessage } from '../../src/protocol/chat-message.js';
import type { RejectionCode } from '../../src/protocol/chat-message.js';
import {
  buildEnvelope,
  buildSeedEnvelope,
  buildSignedEnvelope,
  canonicalSigningString,
  maxEnvelopeBytes,
  parseEnvelope,
  wireFormatFor,
} from '../../src/transports/mqtt/envelope.js';
import type { EnvelopeParseOptions } from '../../src/transports/mqtt/envelope.js';
import { mqttClientId } from '../../src/transports/mqtt/mqtt-transport.js';

const MAX = 64 * 1024;
const OPTS: EnvelopeParseOptions = { maxMessageBytes: MAX, acceptUnsigned: false, maxClockSkewMs: 600_000 };
const LAX: EnvelopeParseOptions = { ...OPTS, acceptUnsigned: true };

function chatJson(from: Identity, text = 'hello'): string {
  return serializeChatMessage(newMessage(encodeMagnet(from), text));
}

function codeOf(raw: string | Uint8Array, own: Identity, opts: EnvelopeParseOptions = OPTS): RejectionCode | 'accepted' {
  const r = parseEnvelope(raw, own, opts);
  return r.ok ? 'accepted' : r.rejection.code;
}

/** Re-signs an edited envelope object with `signer`, so only the edited field is wrong. */
function resign(env: Record<string, unknown>, signer: Identity): string {
  const sig = schnorrSignText(
    signer.secp256k1PrivateKey,
    canonicalSigningString({
      from: env.from as string,
      to: env.to as string,
      timestamp: env.timestamp as number,
      enc: env.enc as 'nip44' | undefined,
      content: env.content as string,
    }),
  );
  return JSON.stringify({ ...env, sig });
}

describe('docs/mqtt-envelope.md test vectors', () => {
  const doc = readFileSync(new URL('../../docs/mqtt-envelope.md', import.meta.url), 'utf8');
  const block = /<!-- test-vectors:begin -->\s*```json\n([\s\S]*?)\n```\s*<!-- test-vectors:end -->/.exec(doc);
  const v = JSON.parse(block?.[1] ?? 'null') as {
    sender: { secp256k1PrivateKey: string; ed25519PrivateKey: string; secp256k1PublicKey: string; xOnly: string };
    recipient: { secp256k1PrivateKey: string; ed25519PrivateKey: string; secp256k1PublicKey: string; xOnly: string };
    chatMessage: string;
    seed: { timestamp: number; envelope: string };
    signed: { envelope: string; canonical: string };
    signedNip44: { envelope: string; canonical: string };
    clientId: { xOnly: string; brokerUrl: string; clientId: string };
  };
  const sender = identityFromPrivateKeys(hexToBytes(v.sender.secp256k1PrivateKey), hexToBytes(v.sender.ed25519PrivateKey));
  const recipient = identityFromPrivateKeys(hexToBytes(v.recipient.secp256k1PrivateKey), hexToBytes(v.recipient.ed25519PrivateKey));

  it('are present and use the documented keys', () => {
    expect(block).not.toBeNull();
    expect(v.sender.secp256k1PrivateKey).toBe('01'.repeat(32));
    expect(sender.secp256k1PublicKey).toBe(v.sender.secp256k1PublicKey);
    expect(sender.xOnly).toBe(v.sender.xOnly);
    expect(recipient.secp256k1PublicKey).toBe(v.recipient.secp256k1PublicKey);
    expect(recipient.xOnly).toBe(v.recipient.xOnly);
  });

  it('seed envelope is reproduced byte for byte', () => {
    expect(buildSeedEnvelope(sender.secp256k1PublicKey, v.chatMessage, v.seed.timestamp)).toBe(v.seed.envelope);
    const r = parseEnvelope(v.seed.envelope, recipient, LAX);
    expect(r).toEqual({ ok: true, value: { body: v.chatMessage, senderXOnly: sender.xOnly, verified: false } });
  });

  for (const name of ['signed', 'signedNip44'] as const) {
    it(`${name}: canonical string matches the code, the signature verifies, the envelope is accepted`, () => {
      const vec = v[name];
      const env = JSON.parse(vec.envelope) as Record<string, unknown>;
      const canonical = canonicalSigningString({
        from: env.from as string,
        to: env.to as string,
        timestamp: env.timestamp as number,
        enc: env.enc as 'nip44' | undefined,
        content: env.content as string,
      });
      expect(canonical).toBe(vec.canonical);
      expect(JSON.parse(vec.canonical)).toEqual([
        'roomcast/mqtt/v1',
        env.from,
        env.to,
        env.timestamp,
        name === 'signed' ? 'none' : 'nip44',
        env.content,
      ]);
      expect(schnorrVerifyText(env.sig as string, vec.canonical, sender.xOnly)).toBe(true);
      expect(parseEnvelope(vec.envelope, recipient, OPTS)).toEqual({
        ok: true,
        value: { body: v.chatMessage, senderXOnly: sender.xOnly, verified: true },
      });
      // One changed character anywhere in the signed data breaks it.
      const tampered = JSON.stringify({ ...env, timestamp: (env.timestamp as number) + 1 });
      expect(codeOf(tampered, recipient)).toBe('bad-signature');
    });
  }

  it('the code builds envelopes of the documented shape (same fields but a fresh signature)', () => {
    const built = JSON.parse(buildSignedEnvelope(sender, recipient.xOnly, v.chatMessage, 1700000000005, false)) as Record<string, unknown>;
    const documented = JSON.parse(v.signed.envelope) as Record<string, unknown>;
    expect(Object.keys(built)).toEqual(Object.keys(documented));
    expect({ ...built, sig: 'x' }).toEqual({ ...documented, sig: 'x' });
    const enc = JSON.parse(buildSignedEnvelope(sender, recipient.xOnly, v.chatMessage, 1700000000006, true)) as Record<string, unknown>;
    expect(Object.keys(enc)).toEqual(Object.keys(JSON.parse(v.signedNip44.envelope) as object));
  });

  it('client id derivation matches', () => {
    expect(mqttClientId(v.clientId.xOnly, v.clientId.brokerUrl)).toBe(v.clientId.clientId);
  });
});

describe('building envelopes', () => {
  const alice = generateIdentity();
  const bob = generateIdentity();
  const seedBob = identityFromPrivateKeys(bob.secp256k1PrivateKey, bob.ed25519PrivateKey, []);
  const sigOnlyBob = identityFromPrivateKeys(bob.secp256k1PrivateKey, bob.ed25519PrivateKey, ['mqtt-sig']);

  it('picks the format from the peer capabilities', () => {
    expect(wireFormatFor(publicPart(seedBob))).toBe('seed');
    expect(wireFormatFor(publicPart(sigOnlyBob))).toBe('signed');
    expect(wireFormatFor(publicPart(bob))).toBe('signed-nip44');
    expect(wireFormatFor({ capabilities: ['mqtt-nip44'] })).toBe('seed');
  });

  it('a seed envelope has exactly the keys from, content, timestamp, in that order', () => {
    const json = chatJson(alice);
    const raw = buildEnvelope(alice, publicPart(seedBob), json, 1234);
    const env = JSON.parse(raw) as Record<string, unknown>;
    expect(Object.keys(env)).toEqual(['from', 'content', 'timestamp']);
    expect(env).toEqual({ from: alice.secp256k1PublicKey, content: json, timestamp: 1234 });
    expect(raw).toBe(`{"from":"${alice.secp256k1PublicKey}","content":${JSON.stringify(json)},"timestamp":1234}`);
  });

  it('a signed envelope to a mqtt-sig peer carries plaintext, no enc, and verifies', () => {
    const json = chatJson(alice);
    const raw = buildEnvelope(alice, publicPart(sigOnlyBob), json, Date.now());
    const env = JSON.parse(raw) as Record<string, unknown>;
    expect(Object.keys(env)).toEqual(['from', 'content', 'timestamp', 'v', 'to', 'sig']);
    expect(env.content).toBe(json);
    expect(env.to).toBe(bob.xOnly);
    expect(parseEnvelope(raw, bob, OPTS)).toEqual({ ok: true, value: { body: json, senderXOnly: alice.xOnly, verified: true } });
  });

  it('an encrypted envelope hides the content and decrypts for the recipient only', () => {
    const json = chatJson(alice, 'secret words');
    const raw = buildEnvelope(alice, publicPart(bob), json, Date.now());
    const env = JSON.parse(raw) as Record<string, unknown>;
    expect(Object.keys(env)).toEqual(['from', 'content', 'timestamp', 'v', 'to', 'enc', 'sig']);
    expect(env.enc).toBe('nip44');
    expect(raw).not.toContain('secret words');
    expect(parseEnvelope(raw, bob, OPTS)).toEqual({ ok: true, value: { body: json, senderXOnly: alice.xOnly, verified: true } });
  });
});

describe('parseEnvelope rejections', () => {
  const alice = generateIdentity();
  const bob = generateIdentity();
  const carol = generateIdentity();
  const signed = (json = chatJson(alice), ts = Date.now(), encrypt = true) => buildSignedEnvelope(alice, bob.xOnly, json, ts, encrypt);

  it('oversized: raw payload over 2 × max + 4096 bytes, checked before parsing', () => {
    const limit = maxEnvelopeBytes(MAX);
    expect(limit).toBe(MAX * 2 + 4096);
    expect(codeOf('x'.repeat(limit + 1), bob)).toBe('oversized');
    expect(codeOf('x'.repeat(limit), bob)).toBe('malformed-json');
  });

  it('oversized: a body larger than maxMessageBytes, after decryption', () => {
    const small: EnvelopeParseOptions = { ...OPTS, maxMessageBytes: 1024 };
    const big = chatJson(alice, 'y'.repeat(1500));
    expect(codeOf(signed(big), bob, small)).toBe('oversized');
    expect(codeOf(signed(big, Date.now(), false), bob, small)).toBe('oversized');
    expect(codeOf(buildSeedEnvelope(alice.secp256k1PublicKey, big, Date.now()), bob, { ...small, acceptUnsigned: true })).toBe('oversized');
    expect(codeOf(signed(chatJson(alice, 'short')), bob, small)).toBe('accepted');
  });

  it('malformed-json: not JSON, or not UTF-8', () => {
    expect(codeOf('{"from": ', bob)).toBe('malformed-json');
    expect(codeOf('not json at all', bob)).toBe('malformed-json');
    expect(codeOf(new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]), bob)).toBe('malformed-json');
  });

  it('invalid-message: wrong shape, bad sender key, unknown version or encryption', () => {
    const env = JSON.parse(signed()) as Record<string, unknown>;
    expect(codeOf('[1,2,3]', bob)).toBe('invalid-message');
    expect(codeOf('"a string"', bob)).toBe('invalid-message');
    expect(codeOf(JSON.stringify({ ...env, from: undefined }), bob)).toBe('invalid-message');
    expect(codeOf(JSON.stringify({ ...env, content: 42 }), bob)).toBe('invalid-message');
    expect(codeOf(JSON.stringify({ ...env, timestamp: 'now' }), bob)).toBe('invalid-message');
    expect(codeOf(JSON.stringify({ ...env, timestamp: 1.5 }), bob)).toBe('invalid-message');
    // 130 hex chars starting 04 but not a point on the curve
    expect(codeOf(resign({ ...env, from: `04${'ff'.repeat(64)}` }, alice), bob)).toBe('invalid-message');
    // compressed / x-only keys are not accepted in `from`
    expect(codeOf(resign({ ...env, from: alice.xOnly }, alice), bob)).toBe('invalid-message');
    expect(codeOf(resign({ ...env, v: 2 }, alice), bob)).toBe('invalid-message');
    expect(codeOf(resign({ ...env, enc: 'aes' }, alice), bob)).toBe('invalid-message');
    expect(codeOf(resign({ ...env, to: 'BOB' }, alice), bob)).toBe('invalid-message');
    // encryption without a signature is not a format
    expect(codeOf(JSON.stringify({ ...env, sig: undefined }), bob, LAX)).toBe('invalid-message');
  });

  it('bad-signature: tampered content, timestamp, recipient binding or a signature by another key', () => {
    const env = JSON.parse(signed(chatJson(alice), Date.now(), false)) as Record<string, unknown>;
    expect(codeOf(JSON.stringify(env), bob)).toBe('accepted');
    expect(codeOf(JSON.stringify({ ...env, content: (env.content as string).replace('hello', 'HELLO') }), bob)).toBe('bad-signature');
    expect(codeOf(JSON.stringify({ ...env, timestamp: (env.timestamp as number) - 1 }), bob)).toBe('bad-signature');
    // signed by carol, claiming to be alice (sender mismatch)
    expect(codeOf(resign(env, carol), bob)).toBe('bad-signature');
    // adding enc changes the signed string
    expect(codeOf(JSON.stringify({ ...env, enc: 'nip44' }), bob)).toBe('bad-signature');
    const sig = env.sig as string;
    const flipped = `${sig.slice(0, 10)}${sig[10] === '0' ? '1' : '0'}${sig.slice(11)}`;
    expect(codeOf(JSON.stringify({ ...env, sig: flipped }), bob)).toBe('bad-signature');
    expect(codeOf(JSON.stringify({ ...env, sig: 'zz' }), bob)).toBe('bad-signature');
  });

  it('unsigned: a seed envelope unless acceptUnsigned, then verified false', () => {
    const json = chatJson(alice);
    const seed = buildSeedEnvelope(alice.secp256k1PublicKey, json, Date.now());
    expect(codeOf(seed, bob, OPTS)).toBe('unsigned');
    expect(parseEnvelope(seed, bob, LAX)).toEqual({ ok: true, value: { body: json, senderXOnly: alice.xOnly, verified: false } });
    // stripping the signature of a v1 envelope downgrades it to unsigned
    const stripped = JSON.parse(signed(json, Date.now(), false)) as Record<string, unknown>;
    delete stripped.sig;
    expect(codeOf(JSON.stringify(stripped), bob, OPTS)).toBe('unsigned');
  });

  it('decrypt-failed: validly signed but undecryptable content', () => {
    const garbage = resign({ ...(JSON.parse(signed()) as Record<string, unknown>), content: 'AAAAnotnip44' }, alice);
    expect(codeOf(garbage, bob)).toBe('decrypt-failed');
    // encrypted to carol, signed and addressed to bob: bob cannot read it
    const toCarol = nip44Encrypt(alice.secp256k1PrivateKey, carol.xOnly, chatJson(alice));
    expect(codeOf(resign({ ...(JSON.parse(signed()) as Record<string, unknown>), content: toCarol }, alice), bob)).toBe('decrypt-failed');
  });

  it('wrong-recipient: an envelope for bob replayed to carol', () => {
    const raw = signed();
    expect(codeOf(raw, bob)).toBe('accepted');
    expect(codeOf(raw, carol)).toBe('wrong-recipient');
    expect(codeOf(buildSignedEnvelope(alice, carol.xOnly, chatJson(alice), Date.now(), false), bob)).toBe('wrong-recipient');
  });

  it('future-timestamp: beyond maxClockSkewMs, for signed and unsigned envelopes', () => {
    const now = 1_800_000_000_000;
    const opts = { ...OPTS, now };
    expect(codeOf(signed(chatJson(alice), now + 600_001), bob, opts)).toBe('future-timestamp');
    expect(codeOf(signed(chatJson(alice), now + 599_000), bob, opts)).toBe('accepted');
    expect(codeOf(signed(chatJson(alice), now - 86_400_000), bob, opts)).toBe('accepted');
    const seed = buildSeedEnvelope(alice.secp256k1PublicKey, chatJson(alice), now + 3_600_000);
    expect(codeOf(seed, bob, { ...opts, acceptUnsigned: true })).toBe('future-timestamp');
  });

  it('ignores unknown envelope fields', () => {
    const env = JSON.parse(signed()) as Record<string, unknown>;
    expect(codeOf(JSON.stringify({ extra: { nested: true }, ...env, zzz: 1 }), bob)).toBe('accepted');
    const seed = JSON.parse(buildSeedEnvelope(alice.secp256k1PublicKey, chatJson(alice), Date.now())) as Record<string, unknown>;
    expect(codeOf(JSON.stringify({ ...seed, client: 'seed 1.0' }), bob, LAX)).toBe('accepted');
  });

  it('never throws on arbitrary input', () => {
    const inputs = ['', 'null', '{}', '{"from":null}', '0', 'true', JSON.stringify({ from: alice.secp256k1PublicKey, content: '', timestamp: -1 })];
    for (const input of inputs) expect(parseEnvelope(input, bob, LAX).ok).toBe(false);
  });
});
