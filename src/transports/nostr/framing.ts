/**
 * Nostr wire framing (docs/nostr-framing.md), pure functions only: building
 * the event we publish for a peer, and authenticating + decrypting an event a
 * relay delivered to us. No I/O, no caching (see inbound.ts), no clocks except
 * through arguments.
 *
 * Outbound, the framing is picked from the peer's advertised capabilities
 * (OUTBOUND_FRAMINGS, first match wins):
 * - 'nip17' peers: NIP-17 private DM, i.e. rumor kind 14 (unsigned, content =
 *   ChatMessage JSON) sealed in kind 13 (NIP-44, signed by us) and gift-wrapped
 *   in kind 1059 (NIP-44, signed by a one-time key, p-tag = recipient), both
 *   outer timestamps randomised up to two days into the past (NIP-59).
 * - everyone else (seed clients): kind 4, content = NIP-04 encryption of the
 *   ChatMessage JSON, tags exactly [["p", <recipient x-only>]] (PROTOCOL.md §3).
 */
import { randomInt } from 'node:crypto';
import { getEventHash } from 'nostr-tools/pure';
import type { NostrEvent } from 'nostr-tools/pure';
import * as nip04 from 'nostr-tools/nip04';
import * as nip44 from 'nostr-tools/nip44';
import type { Capability, Identity, PublicIdentity } from '../../identity/keys.js';
import { deriveConversationKey, nip44Decrypt, nip44Encrypt, randomPrivateKey, signEvent, verifyEventSignature } from '../../identity/crypto.js';
import type { Rejection, RejectionCode } from '../../protocol/chat-message.js';

export type { NostrEvent };

export const KIND_ENCRYPTED_DM = 4;
export const KIND_SEAL = 13;
export const KIND_PRIVATE_DM = 14;
export const KIND_GIFT_WRAP = 1059;
/** NIP-59: wrap and seal `created_at` lie up to this far in the past. */
export const GIFT_WRAP_MAX_AGE_SEC = 2 * 24 * 60 * 60;
/** Largest plaintext standard NIP-44 v2 encrypts (nostr-tools accepts more; other apps do not). */
export const NIP44_MAX_PLAINTEXT_BYTES = 65_535;

/** A message that cannot be framed for this peer (too large for the format, bad key). */
export class FramingError extends Error {
  override readonly name = 'FramingError';
}

/** One way of putting a ChatMessage on Nostr. */
export interface OutboundFraming {
  readonly name: 'nip17' | 'nip04';
  /** Capability the peer must advertise for this framing; undefined: every peer (the seed format). */
  readonly requires?: Capability;
  build(sender: Identity, recipientXOnly: string, json: string, nowSec: number): NostrEvent;
}

const utf8Length = (s: string): number => Buffer.byteLength(s, 'utf8');
const HEX64 = /^[0-9a-f]{64}$/;
const HEX128 = /^[0-9a-f]{128}$/;

/** A time up to two days before `nowSec`, uniformly random (NIP-59). */
export function randomPastTimestamp(nowSec: number): number {
  return nowSec - randomInt(0, GIFT_WRAP_MAX_AGE_SEC);
}

/** Seed format: kind 4, NIP-04 content, one p tag. */
export function buildEncryptedDm(sender: Identity, recipientXOnly: string, json: string, nowSec: number): NostrEvent {
  if (!HEX64.test(recipientXOnly)) throw new FramingError('recipient key is not 64 hex characters');
  return signEvent(
    {
      kind: KIND_ENCRYPTED_DM,
      created_at: nowSec,
      tags: [['p', recipientXOnly]],
      content: nip04.encrypt(sender.secp256k1PrivateKey, recipientXOnly, json),
    },
    sender.secp256k1PrivateKey,
  );
}

/**
 * NIP-17 private DM, built from the NIP-59 steps with the cached sender→peer
 * conversation key for the seal (the wrap's key is one-time, so never cached).
 */
export function buildGiftWrappedDm(sender: Identity, recipientXOnly: string, json: string, nowSec: number): NostrEvent {
  if (!HEX64.test(recipientXOnly)) throw new FramingError('recipient key is not 64 hex characters');
  const unsigned = {
    kind: KIND_PRIVATE_DM,
    created_at: nowSec,
    tags: [['p', recipientXOnly]],
    content: json,
    pubkey: sender.xOnly,
  };
  const rumor = { ...unsigned, id: getEventHash(unsigned) };
  const rumorJson = JSON.stringify(rumor);
  if (utf8Length(rumorJson) > NIP44_MAX_PLAINTEXT_BYTES) {
    throw new FramingError(`message too large for NIP-17 (NIP-44 carries at most ${NIP44_MAX_PLAINTEXT_BYTES} bytes)`);
  }
  const seal = signEvent(
    {
      kind: KIND_SEAL,
      created_at: randomPastTimestamp(nowSec),
      tags: [],
      content: nip44Encrypt(sender.secp256k1PrivateKey, recipientXOnly, rumorJson),
    },
    sender.secp256k1PrivateKey,
  );
  const sealJson = JSON.stringify(seal);
  if (utf8Length(sealJson) > NIP44_MAX_PLAINTEXT_BYTES) {
    throw new FramingError(`message too large for NIP-17 (sealed form exceeds ${NIP44_MAX_PLAINTEXT_BYTES} bytes)`);
  }
  const oneTimeKey = randomPrivateKey();
  return signEvent(
    {
      kind: KIND_GIFT_WRAP,
      created_at: randomPastTimestamp(nowSec),
      tags: [['p', recipientXOnly]],
      content: nip44.v2.encrypt(sealJson, deriveConversationKey(oneTimeKey, recipientXOnly)),
    },
    oneTimeKey,
  );
}

/** Framings in order of preference; the last one requires nothing and so always matches. */
export const OUTBOUND_FRAMINGS: readonly OutboundFraming[] = [
  { name: 'nip17', requires: 'nip17', build: buildGiftWrappedDm },
  { name: 'nip04', build: buildEncryptedDm },
];

/** The framing for a peer: the first whose required capability the peer advertises. */
export function framingFor(peer: PublicIdentity): OutboundFraming {
  const found = OUTBOUND_FRAMINGS.find((f) => f.requires === undefined || peer.capabilities.includes(f.requires));
  // The registry ends with a framing that requires nothing.
  return found ?? OUTBOUND_FRAMINGS[OUTBOUND_FRAMINGS.length - 1]!;
}

/** The signed event to publish for `json` to `peer`. Throws FramingError (or a crypto error) when it cannot be built. */
export function buildOutboundEvent(
  sender: Identity,
  peer: PublicIdentity,
  json: string,
  nowSec = Math.floor(Date.now() / 1000),
): { event: NostrEvent; framing: OutboundFraming['name'] } {
  const framing = framingFor(peer);
  return { event: framing.build(sender, peer.xOnly, json, nowSec), framing: framing.name };
}

// ───────────────────────────── inbound ─────────────────────────────

/** An inbound event that passed every check. */
export interface OpenedMessage {
  readonly ok: true;
  /** The ChatMessage JSON, not yet parsed. */
  readonly body: string;
  /** x-only key that provably sent it: the kind-4 author, or the seal's signer. */
  readonly sender: string;
  readonly kind: typeof KIND_ENCRYPTED_DM | typeof KIND_GIFT_WRAP;
}

export type OpenResult = OpenedMessage | { readonly ok: false; readonly rejection: Rejection };

/** What a receiver needs to open events. */
export interface InboundLimits {
  /** Upper bound for the decrypted ChatMessage JSON (bytes). */
  readonly maxMessageBytes: number;
}

/**
 * Largest event `content` (characters) worth decrypting for a given body
 * limit. NIP-04 grows a body by 4/3 plus the IV; a gift wrap holds a
 * NIP-44-encrypted seal holding a NIP-44-encrypted rumor: two rounds of
 * padding (≤ 1/8) and base64 (4/3), about 2.1× in all.
 */
export function maxContentLength(kind: number, maxMessageBytes: number): number {
  return kind === KIND_GIFT_WRAP ? 3 * maxMessageBytes + 8192 : 2 * maxMessageBytes + 4096;
}

function reject(code: RejectionCode, detail: string): { ok: false; rejection: Rejection } {
  return { ok: false, rejection: { code, detail } };
}

/** True when `x` has the shape of a signed Nostr event (NIP-01 field types, lower-case hex). */
export function isSignedEventShape(x: unknown): x is NostrEvent {
  if (typeof x !== 'object' || x === null) return false;
  const e = x as Record<string, unknown>;
  return (
    typeof e.id === 'string' &&
    HEX64.test(e.id) &&
    typeof e.pubkey === 'string' &&
    HEX64.test(e.pubkey) &&
    typeof e.sig === 'string' &&
    HEX128.test(e.sig) &&
    Number.isSafeInteger(e.kind) &&
    Number.isSafeInteger(e.created_at) &&
    typeof e.content === 'string' &&
    Array.isArray(e.tags) &&
    e.tags.every((t) => Array.isArray(t) && t.every((v) => typeof v === 'string'))
  );
}

/** True when one of the event's p tags names `xOnly`. */
export function isAddressedTo(event: Pick<NostrEvent, 'tags'>, xOnly: string): boolean {
  return event.tags.some((t) => t[0] === 'p' && t[1] === xOnly);
}

/**
 * The cheap checks every relay copy gets before any signature work: shape,
 * kind, content size, recipient, and that `id` is the hash of the content
 * (so a cache keyed by id and signature can stand in for verification).
 * Returns undefined when the copy may go on to `openEvent`.
 */
export function precheckEvent(raw: unknown, own: PublicIdentity, limits: InboundLimits): { ok: false; rejection: Rejection } | undefined {
  if (!isSignedEventShape(raw)) return reject('malformed-json', 'not a well-formed signed Nostr event');
  if (raw.kind !== KIND_ENCRYPTED_DM && raw.kind !== KIND_GIFT_WRAP) {
    return reject('invalid-message', `unexpected event kind ${raw.kind}`);
  }
  const limit = maxContentLength(raw.kind, limits.maxMessageBytes);
  if (raw.content.length > limit) return reject('oversized', `event content is longer than ${limit} characters`);
  if (!isAddressedTo(raw, own.xOnly)) return reject('wrong-recipient', 'event is not addressed to this identity');
  if (getEventHash(raw) !== raw.id) return reject('bad-signature', 'event id does not match its content');
  return undefined;
}

/**
 * Authenticates and decrypts an event addressed to `own` (after precheckEvent).
 * Costs one signature verification and one ECDH for kind 4; two verifications
 * and one ECDH (plus a cached one) for a gift wrap. Never throws.
 */
export function openEvent(event: NostrEvent, own: Identity, limits: InboundLimits): OpenResult {
  try {
    if (!verifyEventSignature(event)) return reject('bad-signature', `kind ${event.kind} event signature is invalid`);
    return event.kind === KIND_GIFT_WRAP ? openGiftWrap(event, own, limits) : openEncryptedDm(event, own, limits);
  } catch (err) {
    return reject('decrypt-failed', `could not open event: ${short(err)}`);
  }
}

/** precheckEvent + openEvent, for callers without a cache. */
export function openInbound(raw: unknown, own: Identity, limits: InboundLimits): OpenResult {
  return precheckEvent(raw, own, limits) ?? openEvent(raw as NostrEvent, own, limits);
}

function checkBody(body: string, sender: string, kind: OpenedMessage['kind'], limits: InboundLimits): OpenResult {
  if (utf8Length(body) > limits.maxMessageBytes) {
    return reject('oversized', `decrypted message is larger than ${limits.maxMessageBytes} bytes`);
  }
  return { ok: true, body, sender, kind };
}

function openEncryptedDm(event: NostrEvent, own: Identity, limits: InboundLimits): OpenResult {
  if (!event.content.includes('?iv=')) return reject('decrypt-failed', 'kind 4 content is not NIP-04 ciphertext');
  let body: string;
  try {
    body = nip04.decrypt(own.secp256k1PrivateKey, event.pubkey, event.content);
  } catch (err) {
    return reject('decrypt-failed', `NIP-04 decryption failed: ${short(err)}`);
  }
  return checkBody(body, event.pubkey, KIND_ENCRYPTED_DM, limits);
}

function openGiftWrap(wrap: NostrEvent, own: Identity, limits: InboundLimits): OpenResult {
  let sealJson: string;
  try {
    // The wrap's key is one-time: derive its conversation key without caching it.
    sealJson = nip44.v2.decrypt(wrap.content, deriveConversationKey(own.secp256k1PrivateKey, wrap.pubkey));
  } catch (err) {
    return reject('decrypt-failed', `gift wrap decryption failed: ${short(err)}`);
  }
  const seal = parseJson(sealJson);
  if (seal === undefined) return reject('malformed-json', 'gift wrap does not contain JSON');
  if (!isSignedEventShape(seal)) return reject('invalid-message', 'gift wrap does not contain a signed event');
  if (seal.kind !== KIND_SEAL) return reject('invalid-message', `gift wrap contains kind ${seal.kind}, expected ${KIND_SEAL}`);
  if (!verifyEventSignature(seal)) return reject('bad-signature', 'seal signature is invalid');

  let rumorJson: string;
  try {
    rumorJson = nip44Decrypt(own.secp256k1PrivateKey, seal.pubkey, seal.content);
  } catch (err) {
    return reject('decrypt-failed', `seal decryption failed: ${short(err)}`);
  }
  const rumor = parseJson(rumorJson);
  if (rumor === undefined) return reject('malformed-json', 'seal does not contain JSON');
  if (typeof rumor !== 'object' || rumor === null) return reject('invalid-message', 'seal does not contain an event');
  const r = rumor as Record<string, unknown>;
  if (typeof r.pubkey !== 'string' || typeof r.content !== 'string' || !Array.isArray(r.tags)) {
    return reject('invalid-message', 'rumor lacks pubkey, content or tags');
  }
  if (r.pubkey !== seal.pubkey) return reject('sender-mismatch', 'rumor author differs from the seal signer');
  if (r.kind !== KIND_PRIVATE_DM) return reject('invalid-message', `rumor is kind ${String(r.kind)}, expected ${KIND_PRIVATE_DM}`);
  return checkBody(r.content, seal.pubkey, KIND_GIFT_WRAP, limits);
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function short(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return msg.length > 120 ? `${msg.slice(0, 120)}…` : msg;
}
