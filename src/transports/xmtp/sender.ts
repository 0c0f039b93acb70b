/** Who sent an XMTP DM: the network's word (the sending inbox's addresses) against the message's claim. */
import { decodeMagnet } from '../../identity/magnet.js';
import type { Rejection } from '../../protocol/chat-message.js';

export type SenderVerdict = { ok: true; address: string } | { ok: false; rejection: Rejection };

/**
 * Checks that a DM's claimed sender (`fromMagnetLink`'s eth) is one of the
 * addresses of the inbox XMTP says sent it. Never throws.
 */
export function checkXmtpSender(text: string, senderAddresses: readonly string[]): SenderVerdict {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { ok: false, rejection: { code: 'malformed-json', detail: 'xmtp message is not valid JSON' } };
  }
  const link = typeof json === 'object' && json !== null ? (json as { fromMagnetLink?: unknown }).fromMagnetLink : undefined;
  if (typeof link !== 'string') {
    return { ok: false, rejection: { code: 'invalid-message', detail: 'xmtp message has no fromMagnetLink' } };
  }
  let claimed: string;
  try {
    claimed = decodeMagnet(link).ethAddress;
  } catch {
    return { ok: false, rejection: { code: 'bad-magnet', detail: 'xmtp message has an invalid fromMagnetLink' } };
  }
  if (!senderAddresses.some((a) => a.toLowerCase() === claimed.toLowerCase())) {
    return { ok: false, rejection: { code: 'sender-mismatch', detail: 'xmtp sender inbox does not own the claimed eth address' } };
  }
  return { ok: true, address: claimed };
}

