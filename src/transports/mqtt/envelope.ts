/**
 * MQTT envelopes (docs/mqtt-envelope.md): the seed client's unsigned format and
 * roomcast's signed (optionally NIP-44 encrypted) v1 format. Pure functions:
 * no I/O, no clock unless none is passed, never throw on input from the wire.
 *
 * Seed:  {"from":<sender uncompressed hex>,"content":<ChatMessage JSON>,"timestamp":<ms>}
 * v1:    {"from","content","timestamp","v":1,"to":<recipient x-only>,"enc"?:"nip44","sig":<BIP-340 hex>}
 *        sig = schnorr(sha256(JSON.stringify(["roomcast/mqtt/v1", from, to, timestamp, enc ?? "none", content])))
 */
import { z } from 'zod';
import { isValidSecp256k1PublicKey, xOnlyOf } from '../../identity/keys.js';
import type { Capability, Identity, PublicIdentity } from '../../identity/keys.js';
import { nip44Decrypt, nip44Encrypt, schnorrSignText, schnorrVerifyText } from '../../identity/crypto.js';
import type { ParseResult, Rejection, RejectionCode } from '../../protocol/chat-message.js';

/** Domain-separation tag, first element of the signed array. */
export const MQTT_SIGNING_DOMAIN = 'roomcast/mqtt/v1';
export const MQTT_ENVELOPE_VERSION = 1;
/** Capability a peer advertises to get signed envelopes. */
export const CAP_MQTT_SIG: Capability = 'mqtt-sig';
/** Capability a peer advertises (with mqtt-sig) to get NIP-44 encrypted content. */
export const CAP_MQTT_NIP44: Capability = 'mqtt-nip44';
/** NIP-44 v2 cannot encrypt more than this many plaintext bytes. */
export const NIP44_MAX_PLAINTEXT_BYTES = 65_535;
/** Bytes an envelope may add around the ChatMessage besides a doubling (base64, JSON escaping, fields). */
export const ENVELOPE_OVERHEAD_BYTES = 4096;

export type EnvelopeEncryption = 'nip44';
export type WireFormat = 'seed' | 'signed' | 'signed-nip44';

/** Fields that are signed, in the order they are signed. */
export interface SignedFields {
  readonly from: string;
  readonly to: string;
  readonly timestamp: number;
  readonly enc?: EnvelopeEncryption | undefined;
  readonly content: string;
}

export interface EnvelopeParseOptions {
  /** Largest ChatMessage JSON accepted (bytes, UTF-8). */
  readonly maxMessageBytes: number;
  /** Accept unsigned seed envelopes (then verified: false). */
  readonly acceptUnsigned: boolean;
  /** Envelopes dated more than this after `now` are rejected. */
  readonly maxClockSkewMs: number;
  /** Current time in ms; Date.now() when absent. */
  readonly now?: number;
}

/** An accepted envelope: the ChatMessage JSON (decrypted, not yet parsed) and who sent it. */
export interface AcceptedEnvelope {
  readonly body: string;
  readonly senderXOnly: string;
  /** True when the envelope carried a valid signature by `from`; false for accepted seed envelopes. */
  readonly verified: boolean;
}

/** The string whose sha256 is signed (BIP-340) in a v1 envelope. */
export function canonicalSigningString(f: SignedFields): string {
  return JSON.stringify([MQTT_SIGNING_DOMAIN, f.from, f.to, f.timestamp, f.enc ?? 'none', f.content]);
}

/** Which envelope a peer gets, from the capabilities in its magnet link. */
export function wireFormatFor(peer: Pick<PublicIdentity, 'capabilities'>): WireFormat {
  if (!peer.capabilities.includes(CAP_MQTT_SIG)) return 'seed';
  return peer.capabilities.includes(CAP_MQTT_NIP44) ? 'signed-nip44' : 'signed';
}

/** The seed client's envelope, byte for byte: exactly from, content, timestamp, in that order. */
export function buildSeedEnvelope(fromUncompressed: string, chatJson: string, timestamp: number): string {
  return JSON.stringify({ from: fromUncompressed, content: chatJson, timestamp });
}

/**
 * A signed v1 envelope from `sender` to `recipientXOnly`; with `encrypt`, the
 * content is NIP-44 v2 ciphertext. Throws when the plaintext is too large for
 * NIP-44 (callers check NIP44_MAX_PLAINTEXT_BYTES first).
 */
export function buildSignedEnvelope(
  sender: Identity,
  recipientXOnly: string,
  chatJson: string,
  timestamp: number,
  encrypt: boolean,
): string {
  const enc: EnvelopeEncryption | undefined = encrypt ? 'nip44' : undefined;
  const content = encrypt ? nip44Encrypt(sender.secp256k1PrivateKey, recipientXOnly, chatJson) : chatJson;
  const fields: SignedFields = { from: sender.secp256k1PublicKey, to: recipientXOnly, timestamp, enc, content };
  const sig = schnorrSignText(sender.secp256k1PrivateKey, canonicalSigningString(fields));
  return JSON.stringify({
    from: fields.from,
    content,
    timestamp,
    v: MQTT_ENVELOPE_VERSION,
    to: recipientXOnly,
    ...(enc ? { enc } : {}),
    sig,
  });
}

/** The envelope `peer` can read, chosen by its capabilities. */
export function buildEnvelope(sender: Identity, peer: PublicIdentity, chatJson: string, timestamp: number): string {
  const format = wireFormatFor(peer);
  if (format === 'seed') return buildSeedEnvelope(sender.secp256k1PublicKey, chatJson, timestamp);
  return buildSignedEnvelope(sender, peer.xOnly, chatJson, timestamp, format === 'signed-nip44');
}

/** Largest raw MQTT payload parseEnvelope looks at. */
export function maxEnvelopeBytes(maxMessageBytes: number): number {
  return maxMessageBytes * 2 + ENVELOPE_OVERHEAD_BYTES;
}

/** Bytes an MQTT PUBLISH adds around its payload on our topics: fixed header (≤ 5), topic (2 + `dm/` + ≤ 130), packet id (2). */
export const PUBLISH_OVERHEAD_BYTES = 512;

/** Largest MQTT packet a broker may send us: anything larger cannot hold an envelope we would accept, and is refused unread. */
export function maxPacketBytes(maxMessageBytes: number): number {
  return maxEnvelopeBytes(maxMessageBytes) + PUBLISH_OVERHEAD_BYTES;
}

const EnvelopeSchema = z.object({
  from: z.string().max(130),
  content: z.string(),
  timestamp: z.number().int().nonnegative().max(8.64e15),
  v: z.number().optional(),
  to: z.string().max(64).optional(),
  enc: z.string().max(32).optional(),
  sig: z.string().max(256).optional(),
});

const X_ONLY = /^[0-9a-f]{64}$/;
const utf8 = new TextDecoder('utf-8', { fatal: true });

function reject(code: RejectionCode, detail: string): { ok: false; rejection: Rejection } {
  return { ok: false, rejection: { code, detail } };
}

/**
 * Parses, authenticates and decrypts one raw MQTT payload addressed to `own`.
 * Unknown fields are ignored. Never throws.
 */
export function parseEnvelope(
  raw: Uint8Array | string,
  own: Pick<Identity, 'xOnly' | 'secp256k1PrivateKey'>,
  opts: EnvelopeParseOptions,
): ParseResult<AcceptedEnvelope> {
  const bytes = typeof raw === 'string' ? Buffer.from(raw, 'utf8') : raw;
  const limit = maxEnvelopeBytes(opts.maxMessageBytes);
  if (bytes.byteLength > limit) return reject('oversized', `envelope is ${bytes.byteLength} bytes, larger than ${limit}`);

  let json: unknown;
  try {
    json = JSON.parse(utf8.decode(bytes));
  } catch {
    return reject('malformed-json', 'envelope is not UTF-8 JSON');
  }
  const parsed = EnvelopeSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.length ? issue.path.join('.') : 'envelope';
    return reject('invalid-message', `${where}: ${issue?.message ?? 'invalid'}`);
  }
  const env = parsed.data;
  if (!isValidSecp256k1PublicKey(env.from)) {
    return reject('invalid-message', 'from: must be an uncompressed secp256k1 public key (130 lower-case hex, 04…)');
  }
  const now = opts.now ?? Date.now();
  if (env.timestamp > now + opts.maxClockSkewMs) {
    return reject('future-timestamp', `timestamp is ${env.timestamp - now} ms in the future (allowed: ${opts.maxClockSkewMs})`);
  }
  const senderXOnly = xOnlyOf(env.from);

  if (env.sig === undefined) {
    if (!opts.acceptUnsigned) return reject('unsigned', 'envelope carries no signature and unsigned envelopes are not accepted');
    if (env.enc !== undefined) return reject('invalid-message', 'enc: an encrypted envelope must be signed');
    return acceptBody(env.content, senderXOnly, false, opts.maxMessageBytes);
  }

  if (env.v !== MQTT_ENVELOPE_VERSION) return reject('invalid-message', `v: unsupported envelope version ${String(env.v)}`);
  if (env.to === undefined || !X_ONLY.test(env.to)) return reject('invalid-message', 'to: must be 64 lower-case hex (x-only key)');
  if (env.enc !== undefined && env.enc !== 'nip44') return reject('invalid-message', `enc: unsupported encryption "${env.enc}"`);
  if (env.to !== own.xOnly) return reject('wrong-recipient', 'envelope is addressed to another key');
  const enc = env.enc as EnvelopeEncryption | undefined;
  const signed = canonicalSigningString({ from: env.from, to: env.to, timestamp: env.timestamp, enc, content: env.content });
  if (!schnorrVerifyText(env.sig, signed, senderXOnly)) {
    return reject('bad-signature', 'signature does not verify against the key in from');
  }
  if (enc === undefined) return acceptBody(env.content, senderXOnly, true, opts.maxMessageBytes);
  let body: string;
  try {
    body = nip44Decrypt(own.secp256k1PrivateKey, senderXOnly, env.content);
  } catch {
    return reject('decrypt-failed', 'content does not decrypt (NIP-44 v2) with the sender key');
  }
  return acceptBody(body, senderXOnly, true, opts.maxMessageBytes);
}

function acceptBody(body: string, senderXOnly: string, verified: boolean, maxMessageBytes: number): ParseResult<AcceptedEnvelope> {
  const size = Buffer.byteLength(body, 'utf8');
  if (size > maxMessageBytes) return reject('oversized', `message is ${size} bytes, larger than ${maxMessageBytes}`);
  return { ok: true, value: { body, senderXOnly, verified } };
}
