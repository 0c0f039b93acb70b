/**
 * The curve seam runs on WASM libsecp256k1; every function is checked against
 * the pure-JS implementations (noble, nostr-tools) in both directions.
 */
import { schnorr } from '@noble/curves/secp256k1.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { finalizeEvent, getPublicKey, nip44, verifyEvent } from 'nostr-tools';
import { describe, expect, it } from 'vitest';
import {
  conversationKey,
  deriveConversationKey,
  nip44Decrypt,
  nip44Encrypt,
  randomPrivateKey,
  schnorrSignText,
  schnorrVerifyText,
  signEvent,
  verifyEventSignature,
  xOnlyPublicKey,
} from '../../src/identity/crypto.js';
import { generateIdentity } from '../../src/identity/keys.js';

const text = (s: string) => new TextEncoder().encode(s);

describe('crypto seam', () => {
  it('derives the same public keys as the pure-JS code', () => {
    for (let i = 0; i < 20; i++) {
      const k = randomPrivateKey();
      expect(xOnlyPublicKey(k)).toBe(getPublicKey(k));
    }
  });

  it('signs text that noble verifies, and verifies what noble signs', () => {
    const a = generateIdentity();
    const sig = schnorrSignText(a.secp256k1PrivateKey, 'hello');
    expect(schnorr.verify(hexToBytes(sig), sha256(text('hello')), hexToBytes(a.xOnly))).toBe(true);
    const nobleSig = bytesToHex(schnorr.sign(sha256(text('world')), a.secp256k1PrivateKey));
    expect(schnorrVerifyText(nobleSig, 'world', a.xOnly)).toBe(true);
    expect(schnorrVerifyText(nobleSig, 'World', a.xOnly)).toBe(false);
    expect(schnorrVerifyText(nobleSig, 'world', generateIdentity().xOnly)).toBe(false);
    expect(schnorrVerifyText('zz', 'world', a.xOnly)).toBe(false);
    expect(schnorrVerifyText(nobleSig, 'world', 'f'.repeat(64))).toBe(false); // not on the curve
  });

  it('signs Nostr events that nostr-tools verifies, and verifies what nostr-tools signs', () => {
    const k = randomPrivateKey();
    const template = { kind: 1, created_at: 1_700_000_000, tags: [['p', 'ab']], content: 'hi' };
    const ours = signEvent(template, k);
    expect(verifyEvent({ ...ours })).toBe(true);
    const theirs = finalizeEvent(template, k);
    expect(verifyEventSignature({ ...theirs })).toBe(true);
    expect(verifyEventSignature({ ...theirs, content: 'changed' })).toBe(false);
    expect(verifyEventSignature({ ...theirs, sig: ours.sig.replace(/^./, (c) => (c === '0' ? '1' : '0')) })).toBe(false);
    expect(verifyEventSignature({ ...theirs, pubkey: xOnlyPublicKey(randomPrivateKey()) })).toBe(false);
  });

  it('derives NIP-44 conversation keys equal to nostr-tools, and interoperates', () => {
    const a = generateIdentity();
    const b = generateIdentity();
    const ref = nip44.v2.utils.getConversationKey(a.secp256k1PrivateKey, b.xOnly);
    expect(bytesToHex(deriveConversationKey(a.secp256k1PrivateKey, b.xOnly))).toBe(bytesToHex(ref));
    expect(bytesToHex(conversationKey(b.secp256k1PrivateKey, a.xOnly))).toBe(bytesToHex(ref));
    const ct = nip44Encrypt(a.secp256k1PrivateKey, b.xOnly, 'secret');
    expect(nip44.v2.decrypt(ct, ref)).toBe('secret');
    expect(nip44Decrypt(b.secp256k1PrivateKey, a.xOnly, nip44.v2.encrypt('back', ref))).toBe('back');
    expect(() => deriveConversationKey(a.secp256k1PrivateKey, 'nope')).toThrow();
  });

  it('matches the NIP-44 reference vector for conversation keys', () => {
    // From the NIP-44 test vectors (get_conversation_key, first valid entry).
    const sec1 = hexToBytes('315e59ff51cb9209768cf7da80791ddcaae56ac9775eb25b6dee1234bc5d2268');
    const pub2 = 'c2f9d9948dc8c7c38321e4b85c8558872eafa0641cd269db76848a6073e69133';
    expect(bytesToHex(deriveConversationKey(sec1, pub2))).toBe('3dfef0ce2a4d80a25e7a328accf73448ef67096f65f79588e358d9a0eb9013f1');
  });
});
