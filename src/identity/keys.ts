/**
 * Key pairs and the ids derived from them (PROTOCOL.md §1).
 *
 * One secp256k1 key serves Nostr (x-only key), MQTT (x-only key as topic id)
 * and XMTP (Ethereum address); the ed25519 key is carried for seed
 * compatibility only (its magnet links must name one).
 */
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { ed25519 } from '@noble/curves/ed25519.js';
import { keccak_256 } from '@noble/hashes/sha3.js';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { nip19 } from 'nostr-tools';

/** Capability tokens a peer can advertise in its magnet link (`caps=`). */
export const KNOWN_CAPABILITIES = ['mqtt-sig', 'mqtt-nip44', 'nip17'] as const;
export type Capability = (typeof KNOWN_CAPABILITIES)[number];

/** What anyone may know about an identity: the parts of its magnet link. */
export interface PublicIdentity {
  /** Uncompressed SEC1 secp256k1 public key, lower-case hex, 130 chars, `04…`. */
  readonly secp256k1PublicKey: string;
  /** ed25519 public key, lower-case hex, 64 chars. */
  readonly ed25519PublicKey: string;
  /** EIP-55 checksummed Ethereum address of the secp256k1 key. */
  readonly ethAddress: string;
  /** x-only secp256k1 key (hex chars 2..66 of the uncompressed key): Nostr pubkey and MQTT id. */
  readonly xOnly: string;
  /**
   * Capabilities the identity advertised. Empty for seed clients, which
   * advertise nothing: they get the seed wire format.
   */
  readonly capabilities: readonly Capability[];
}

/** A local identity: public parts plus the private keys. Never log one. */
export interface Identity extends PublicIdentity {
  readonly secp256k1PrivateKey: Uint8Array;
  readonly ed25519PrivateKey: Uint8Array;
}

/** Capabilities this project's identities advertise. */
export const OWN_CAPABILITIES: readonly Capability[] = KNOWN_CAPABILITIES;

/** EIP-55 checksum of a 20-byte address given as 40 hex chars (any case). */
export function toChecksumAddress(hex40: string): string {
  const lower = hex40.toLowerCase().replace(/^0x/, '');
  const hash = bytesToHex(keccak_256(new TextEncoder().encode(lower)));
  let out = '0x';
  for (let i = 0; i < lower.length; i++) {
    const c = lower[i]!;
    out += parseInt(hash[i]!, 16) >= 8 ? c.toUpperCase() : c;
  }
  return out;
}

/** Ethereum address of an uncompressed secp256k1 public key (hex, `04…`). */
export function ethAddressOf(uncompressedHex: string): string {
  const bytes = hexToBytes(uncompressedHex);
  const hash = keccak_256(bytes.subarray(1));
  return toChecksumAddress(bytesToHex(hash.subarray(12)));
}

/** The x-only key (Nostr pubkey, MQTT id) of an uncompressed key. */
export function xOnlyOf(uncompressedHex: string): string {
  return uncompressedHex.slice(2, 66);
}

/** bech32 `npub…` form of an identity's Nostr key. */
export function npubOf(id: PublicIdentity): string {
  return nip19.npubEncode(id.xOnly);
}

/** Builds the full identity from two private keys (32 bytes each). */
export function identityFromPrivateKeys(
  secp256k1PrivateKey: Uint8Array,
  ed25519PrivateKey: Uint8Array,
  capabilities: readonly Capability[] = OWN_CAPABILITIES,
): Identity {
  if (secp256k1PrivateKey.length !== 32) throw new Error('secp256k1 private key must be 32 bytes');
  if (ed25519PrivateKey.length !== 32) throw new Error('ed25519 private key must be 32 bytes');
  if (!secp256k1.utils.isValidSecretKey(secp256k1PrivateKey)) {
    throw new Error('secp256k1 private key is out of range');
  }
  const secp256k1PublicKey = bytesToHex(secp256k1.getPublicKey(secp256k1PrivateKey, false));
  return {
    secp256k1PublicKey,
    ed25519PublicKey: bytesToHex(ed25519.getPublicKey(ed25519PrivateKey)),
    ethAddress: ethAddressOf(secp256k1PublicKey),
    xOnly: xOnlyOf(secp256k1PublicKey),
    capabilities: [...capabilities],
    secp256k1PrivateKey: Uint8Array.from(secp256k1PrivateKey),
    ed25519PrivateKey: Uint8Array.from(ed25519PrivateKey),
  };
}

/** A fresh identity from the system's CSPRNG. */
export function generateIdentity(): Identity {
  return identityFromPrivateKeys(secp256k1.utils.randomSecretKey(), ed25519.utils.randomSecretKey());
}

/** Only the public parts, safe to log, store and share. */
export function publicPart(id: PublicIdentity): PublicIdentity {
  return {
    secp256k1PublicKey: id.secp256k1PublicKey,
    ed25519PublicKey: id.ed25519PublicKey,
    ethAddress: id.ethAddress,
    xOnly: id.xOnly,
    capabilities: [...id.capabilities],
  };
}

/** True when the uncompressed hex is a valid point on secp256k1. */
export function isValidSecp256k1PublicKey(uncompressedHex: string): boolean {
  if (!/^04[0-9a-f]{128}$/.test(uncompressedHex)) return false;
  try {
    secp256k1.Point.fromHex(uncompressedHex).assertValidity();
    return true;
  } catch {
    return false;
  }
}
