/**
 * Sealing room private keys for the database. Every bridged room has its own
 * identity; its keys live in the store (so workers on other machines, sharing
 * a libsql server, can act for the room) sealed with AES-256-GCM under a key
 * derived from the service identity's private key (HKDF-SHA256). Whoever has
 * the service key file can unseal; the database alone reveals nothing. The
 * room's x-only key is bound as associated data, so a sealed blob cannot be
 * moved to another room's row.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { hexToBytes } from '@noble/hashes/utils.js';
import { identityFromPrivateKeys } from '../identity/keys.js';
import type { Identity } from '../identity/keys.js';

const VERSION = 'v1';
const INFO = new TextEncoder().encode('roomcast room keys v1');

export class SealError extends Error {
  constructor(problem: string) {
    super(`cannot unseal room key: ${problem}`);
    this.name = 'SealError';
  }
}

/** The sealing key of a deployment: derived from its service identity. */
export function sealingKey(service: Identity): Uint8Array {
  return hkdf(sha256, service.secp256k1PrivateKey, new TextEncoder().encode('roomcast'), INFO, 32);
}

/** `v1:<iv hex>:<ciphertext+tag hex>` of both private keys. */
export function sealIdentity(id: Identity, key: Uint8Array): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(id.xOnly, 'hex'));
  const plain = Buffer.concat([Buffer.from(id.secp256k1PrivateKey), Buffer.from(id.ed25519PrivateKey)]);
  const body = Buffer.concat([cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
  plain.fill(0);
  return `${VERSION}:${iv.toString('hex')}:${body.toString('hex')}`;
}

/** Opens a sealed identity and checks it is the one the row says (`xOnly`). */
export function unsealIdentity(sealed: string, key: Uint8Array, xOnly: string): Identity {
  const [version, ivHex, bodyHex] = sealed.split(':');
  if (version !== VERSION || !ivHex || !bodyHex || !/^[0-9a-f]{24}$/.test(ivHex) || !/^[0-9a-f]+$/.test(bodyHex)) {
    throw new SealError('unknown format');
  }
  const body = hexToBytes(bodyHex);
  if (body.length !== 64 + 16) throw new SealError('wrong length');
  const decipher = createDecipheriv('aes-256-gcm', key, hexToBytes(ivHex));
  decipher.setAAD(Buffer.from(xOnly, 'hex'));
  decipher.setAuthTag(body.subarray(64));
  let plain: Buffer;
  try {
    plain = Buffer.concat([decipher.update(body.subarray(0, 64)), decipher.final()]);
  } catch {
    throw new SealError('it was sealed by another service identity, or altered');
  }
  const id = identityFromPrivateKeys(plain.subarray(0, 32), plain.subarray(32, 64));
  plain.fill(0);
  if (id.xOnly !== xOnly) throw new SealError('key does not match its room');
  return id;
}
