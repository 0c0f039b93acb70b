/**
 * The one seam for curve operations (DEPENDENCIES.md: they set the throughput
 * ceiling). Everything that signs, verifies or derives a shared key goes
 * through here. The curve work runs on libsecp256k1 compiled to WASM
 * (tiny-secp256k1: measured here ~3,700 Schnorr signs/s, ~2,200 verifies/s and
 * ~2,500 ECDH/s against ~350 / ~550 / ~260 for the pure-JS curves), while
 * hashing and NIP-44's symmetric part stay with the audited noble/nostr-tools
 * code. test/identity/crypto.test.ts cross-checks every function against the
 * pure-JS implementation.
 *
 * Conversation keys are cached per (own key, peer key) pair: every message to
 * the same peer reuses one.
 */
import * as ecc from 'tiny-secp256k1';
import { sha256 } from '@noble/hashes/sha2.js';
import { extract as hkdfExtract } from '@noble/hashes/hkdf.js';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { getEventHash, nip44 } from 'nostr-tools';
import type { Event as NostrEvent, EventTemplate } from 'nostr-tools';

const CONVERSATION_CACHE_LIMIT = 4096;
const conversationKeys = new Map<string, Uint8Array>();
const HEX64 = /^[0-9a-f]{64}$/;
const HEX128 = /^[0-9a-f]{128}$/;
const NIP44_SALT = new TextEncoder().encode('nip44-v2');

/** The x-only public key (hex) of a private key. */
export function xOnlyPublicKey(privateKey: Uint8Array): string {
  const x = ecc.xOnlyPointFromScalar(privateKey);
  return bytesToHex(x);
}

/**
 * NIP-44 v2 conversation key, uncached: HKDF-extract(salt "nip44-v2", shared
 * x) where the peer's x-only key is lifted to the even-y point (BIP-340).
 * Throws on an invalid peer key.
 */
export function deriveConversationKey(privateKey: Uint8Array, peerXOnly: string): Uint8Array {
  if (!HEX64.test(peerXOnly)) throw new Error('peer key is not 64 hex characters');
  const shared = ecc.pointMultiply(hexToBytes(`02${peerXOnly}`), privateKey, true);
  if (!shared) throw new Error('invalid shared point');
  return hkdfExtract(sha256, shared.subarray(1), NIP44_SALT);
}

/** NIP-44 v2 conversation key between our private key and a peer's x-only key (cached). */
export function conversationKey(privateKey: Uint8Array, peerXOnly: string): Uint8Array {
  const cacheKey = `${bytesToHex(sha256(privateKey)).slice(0, 32)}:${peerXOnly}`;
  let key = conversationKeys.get(cacheKey);
  if (!key) {
    key = deriveConversationKey(privateKey, peerXOnly);
    if (conversationKeys.size >= CONVERSATION_CACHE_LIMIT) {
      const oldest = conversationKeys.keys().next().value;
      if (oldest !== undefined) conversationKeys.delete(oldest);
    }
    conversationKeys.set(cacheKey, key);
  }
  return key;
}

/** NIP-44 v2 encryption of `plaintext` to `peerXOnly`. */
export function nip44Encrypt(privateKey: Uint8Array, peerXOnly: string, plaintext: string): string {
  return nip44.v2.encrypt(plaintext, conversationKey(privateKey, peerXOnly));
}

/** NIP-44 v2 decryption; throws on a bad MAC, padding or version. */
export function nip44Decrypt(privateKey: Uint8Array, peerXOnly: string, payload: string): string {
  return nip44.v2.decrypt(payload, conversationKey(privateKey, peerXOnly));
}

/** BIP-340 Schnorr signature (hex) over sha256(message). */
export function schnorrSignText(privateKey: Uint8Array, message: string): string {
  return bytesToHex(ecc.signSchnorr(sha256(new TextEncoder().encode(message)), privateKey));
}

/** Verifies a BIP-340 signature made by schnorrSignText; false on any malformed input. */
export function schnorrVerifyText(signatureHex: string, message: string, xOnlyHex: string): boolean {
  return verifyHash(signatureHex, sha256(new TextEncoder().encode(message)), xOnlyHex);
}

function verifyHash(signatureHex: string, hash: Uint8Array, xOnlyHex: string): boolean {
  if (!HEX128.test(signatureHex) || !HEX64.test(xOnlyHex)) return false;
  try {
    return ecc.verifySchnorr(hash, hexToBytes(xOnlyHex), hexToBytes(signatureHex));
  } catch {
    return false; // not a point on the curve, or a malformed signature
  }
}

/** Verifies a Nostr event's signature over its id, as given (the caller checks that the id is the event's hash). */
export function verifySignatureOverId(event: { readonly id: string; readonly sig: string; readonly pubkey: string }): boolean {
  return HEX64.test(event.id) && verifyHash(event.sig, hexToBytes(event.id), event.pubkey);
}

/** Signs a Nostr event template (NIP-01): fills pubkey, id and sig. */
export function signEvent(template: EventTemplate, privateKey: Uint8Array): NostrEvent {
  const unsigned = { ...template, pubkey: xOnlyPublicKey(privateKey) };
  const id = getEventHash(unsigned);
  return { ...unsigned, id, sig: bytesToHex(ecc.signSchnorr(hexToBytes(id), privateKey)) };
}

/** True when the event's id is the hash of its fields and its signature is valid for its pubkey. */
export function verifyEventSignature(event: NostrEvent): boolean {
  if (!HEX64.test(event.id)) return false;
  let id: string;
  try {
    id = getEventHash(event);
  } catch {
    return false;
  }
  return id === event.id && verifyHash(event.sig, hexToBytes(id), event.pubkey);
}

/** A fresh private key (valid scalar) from the system's CSPRNG. */
export function randomPrivateKey(): Uint8Array {
  for (;;) {
    const k = crypto.getRandomValues(new Uint8Array(32));
    if (ecc.isPrivate(k)) return k;
  }
}
