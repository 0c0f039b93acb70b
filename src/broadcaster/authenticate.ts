/**
 * Turns one transport envelope into a trusted ChatMessage, or a Rejection.
 * The transport has already proven who sent the copy (a signature or an XMTP
 * sender address); here that proof must name the same key as the message's
 * `fromMagnetLink`, or anyone could speak for anyone (PROTOCOL.md §4).
 */
import { decodeMagnet, MagnetLinkError } from '../identity/magnet.js';
import type { PublicIdentity } from '../identity/keys.js';
import { parseChatMessage } from '../protocol/chat-message.js';
import type { ChatMessage, ParseLimits, ParseResult } from '../protocol/chat-message.js';
import type { SenderProof } from '../transports/transport.js';

export interface Authenticated {
  readonly message: ChatMessage;
  readonly sender: PublicIdentity;
}

/** True when the transport's proof names this identity. */
export function proofMatches(proof: SenderProof, id: PublicIdentity): boolean {
  return proof.kind === 'xonly' ? proof.key === id.xOnly : proof.address.toLowerCase() === id.ethAddress.toLowerCase();
}

export function authenticate(body: string, proof: SenderProof, limits: ParseLimits): ParseResult<Authenticated> {
  const parsed = parseChatMessage(body, limits);
  if (!parsed.ok) return parsed;
  let sender: PublicIdentity;
  try {
    sender = decodeMagnet(parsed.value.fromMagnetLink);
  } catch (err) {
    const detail = err instanceof MagnetLinkError ? err.message : 'invalid magnet link';
    return { ok: false, rejection: { code: 'bad-magnet', detail: `fromMagnetLink: ${detail}` } };
  }
  if (!proofMatches(proof, sender)) {
    return { ok: false, rejection: { code: 'sender-mismatch', detail: 'the signing key does not match fromMagnetLink' } };
  }
  return { ok: true, value: { message: parsed.value, sender } };
}
