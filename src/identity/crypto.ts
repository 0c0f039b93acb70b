/**
 * The one seam for curve operations (DEPENDENCIES.md: they set the throughput
 * ceiling). Everything that signs, verifies or derives a shared key goes
 * through here, so a faster implementation can replace this file alone.
 *
 * Conversation keys are cached per (own key, peer key) pair: deriving one is an
 * ECDH (~260/s in pure JS) and every message to the same peer reuses it.
 */
import { schnorr } from '@noble/curves/secp256k1.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { nip44 } from 'nostr-tools';

const CONVERSATION_CACHE_LIMIT = 4096;
const conversationKeys = new Map<string, Uint8Array>();

/** NIP-44 v2 conversation key between our private key and a peer's x-only key (cached). */
export function conversationKey(privateKey: Uint8Array, peerXOnly: string): Uint8Array {
  const cacheKey = `${bytesToHex(sha256(privateKey)).slice(0, 32)}:${peerXOnly}`;
  let key = conversationKeys.get(cacheKey);
  if (!key) {
    key = nip44.v2.utils.getConversationKey(privateKey, peerXOnly);
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
  return bytesToHex(schnorr.sign(sha256(new TextEncoder().encode(message)), privateKey));
}

/** Verifies a BIP-340 signature made by schnorrSignText; false on any malformed input. */
export function schnorrVerifyText(signatureHex: string, message: string, xOnlyHex: string): boolean {
  if (!/^[0-9a-f]{128}$/.test(signatureHex) || !/^[0-9a-f]{64}$/.test(xOnlyHex)) return false;
  try {
    return schnorr.verify(hexToBytes(signatureHex), sha256(new TextEncoder().encode(message)), hexToBytes(xOnlyHex));
  } catch {
    return false;
  }
}
