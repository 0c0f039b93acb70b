/**
 * Magnet links (PROTOCOL.md §1): `magnet:?xt=urn%3Aidentity%3Av1&secp256k1pub=04…&ed25519pub=…&eth=0x…`.
 *
 * Encoding uses URL query encoding exactly as the seed client does, so links we
 * print are accepted by it. We add one optional parameter, `caps`, a
 * comma-separated list of capability tokens (docs/protocol.md); seed clients
 * ignore it, and a link without it describes a seed client.
 */
import { ethAddressOf, isValidSecp256k1PublicKey, KNOWN_CAPABILITIES, xOnlyOf } from './keys.js';
import type { Capability, PublicIdentity } from './keys.js';

export const MAGNET_XT = 'urn:identity:v1';
/** Longest magnet link we parse; real ones are about 330 characters. */
export const MAX_MAGNET_LENGTH = 2048;

/** A magnet link that cannot be used; `param` names the offending part. */
export class MagnetLinkError extends Error {
  constructor(
    readonly param: string,
    problem: string,
  ) {
    super(`invalid magnet link: ${param} ${problem}`);
    this.name = 'MagnetLinkError';
  }
}

/** The canonical magnet link of an identity (seed-compatible, plus `caps` when it has any). */
export function encodeMagnet(id: PublicIdentity): string {
  const params = new URLSearchParams();
  params.set('xt', MAGNET_XT);
  params.set('secp256k1pub', id.secp256k1PublicKey);
  params.set('ed25519pub', id.ed25519PublicKey);
  params.set('eth', id.ethAddress);
  if (id.capabilities.length > 0) params.set('caps', id.capabilities.join(','));
  return `magnet:?${params.toString()}`;
}

const KNOWN = new Set<string>(KNOWN_CAPABILITIES);

/** Recently decoded links: every copy of every message names its sender's link, and checking the point costs curve math. */
const decoded = new Map<string, PublicIdentity>();
const DECODED_CACHE_SIZE = 1024;

/**
 * Parses and checks a magnet link. Accepts `xt` raw or percent-encoded and
 * ignores unknown parameters and unknown capability tokens. Throws
 * MagnetLinkError naming the parameter otherwise; never returns a partial identity.
 */
export function decodeMagnet(link: string): PublicIdentity {
  const hit = typeof link === 'string' ? decoded.get(link) : undefined;
  if (hit) return hit;
  const id = Object.freeze(decodeUncached(link));
  if (decoded.size >= DECODED_CACHE_SIZE) {
    const oldest = decoded.keys().next().value;
    if (oldest !== undefined) decoded.delete(oldest);
  }
  decoded.set(link, id);
  return id;
}

function decodeUncached(link: string): PublicIdentity {
  if (typeof link !== 'string' || link.length === 0) throw new MagnetLinkError('link', 'is empty');
  if (link.length > MAX_MAGNET_LENGTH) {
    throw new MagnetLinkError('link', `is longer than ${MAX_MAGNET_LENGTH} characters`);
  }
  const trimmed = link.trim();
  if (!trimmed.toLowerCase().startsWith('magnet:?')) {
    throw new MagnetLinkError('link', 'must start with "magnet:?"');
  }
  let params: URLSearchParams;
  try {
    params = new URLSearchParams(trimmed.slice('magnet:?'.length));
  } catch {
    throw new MagnetLinkError('link', 'is not URL query encoded');
  }
  const one = (name: string): string | undefined => {
    const all = params.getAll(name);
    if (all.length > 1) throw new MagnetLinkError(name, 'appears more than once');
    return all[0];
  };

  const xt = one('xt');
  if (xt === undefined) throw new MagnetLinkError('xt', `is missing (expected ${MAGNET_XT})`);
  if (xt !== MAGNET_XT) throw new MagnetLinkError('xt', `must be ${MAGNET_XT}, got "${clip(xt)}"`);

  const secp = one('secp256k1pub')?.toLowerCase();
  if (secp === undefined) throw new MagnetLinkError('secp256k1pub', 'is missing');
  if (!/^04[0-9a-f]{128}$/.test(secp)) {
    throw new MagnetLinkError('secp256k1pub', 'must be 130 hex characters starting with 04 (uncompressed key)');
  }
  if (!isValidSecp256k1PublicKey(secp)) throw new MagnetLinkError('secp256k1pub', 'is not a point on secp256k1');

  const ed = one('ed25519pub')?.toLowerCase();
  if (ed === undefined) throw new MagnetLinkError('ed25519pub', 'is missing');
  if (!/^[0-9a-f]{64}$/.test(ed)) throw new MagnetLinkError('ed25519pub', 'must be 64 hex characters');

  const eth = one('eth');
  if (eth === undefined) throw new MagnetLinkError('eth', 'is missing');
  if (!/^0x[0-9a-fA-F]{40}$/.test(eth)) throw new MagnetLinkError('eth', 'must be 0x followed by 40 hex characters');
  const derived = ethAddressOf(secp);
  if (eth.toLowerCase() !== derived.toLowerCase()) {
    throw new MagnetLinkError('eth', 'does not belong to secp256k1pub');
  }
  const mixedCase = eth.slice(2) !== eth.slice(2).toLowerCase() && eth.slice(2) !== eth.slice(2).toUpperCase();
  if (mixedCase && eth !== derived) throw new MagnetLinkError('eth', 'has a wrong EIP-55 checksum');

  const capsRaw = one('caps');
  const capabilities: Capability[] = [];
  if (capsRaw !== undefined) {
    for (const token of capsRaw.split(',')) {
      if (KNOWN.has(token) && !capabilities.includes(token as Capability)) capabilities.push(token as Capability);
    }
  }
  return { secp256k1PublicKey: secp, ed25519PublicKey: ed, ethAddress: derived, xOnly: xOnlyOf(secp), capabilities };
}

/** Same identity key, whatever the capabilities or spelling of the link. */
export function sameIdentity(a: PublicIdentity, b: PublicIdentity): boolean {
  return a.secp256k1PublicKey === b.secp256k1PublicKey;
}

function clip(s: string): string {
  return s.length > 40 ? `${s.slice(0, 40)}…` : s;
}
