/**
 * Where and how the SDK's local database is kept. The database holds the
 * installation key and MLS state: losing or re-keying it means a new XMTP
 * installation on every start (an inbox allows a limited number), so both the
 * path and the encryption key derive only from the identity.
 */
import { join } from 'node:path';
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import type { Identity } from '../../identity/keys.js';
import type { XmtpEnvName } from './config.js';

export const XMTP_DB_KEY_INFO = 'roomcast xmtp db key v1';

/** The 32-byte database encryption key: HKDF-SHA256 of the secp256k1 private key (no salt). */
export function deriveXmtpDbKey(identity: Pick<Identity, 'secp256k1PrivateKey'>): Uint8Array {
  return hkdf(sha256, identity.secp256k1PrivateKey, undefined, new TextEncoder().encode(XMTP_DB_KEY_INFO), 32);
}

/**
 * The database file of one identity on one env. The env is part of the name:
 * each env is a separate network with its own inbox state, and the SDK must
 * not mix them in one database.
 */
export function xmtpDbPath(dbDir: string, address: string, env: XmtpEnvName): string {
  return join(dbDir, `xmtp-${env}-${address.toLowerCase()}.db3`);
}
