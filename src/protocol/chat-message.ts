/**
 * ChatMessage and acknowledgment (PROTOCOL.md §2): the JSON every transport
 * carries. Parsing is strict about what the seed requires and bounded in size;
 * unknown fields are dropped, never echoed.
 */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';

/**
 * A network's id ('mqtt', 'nostr', …): a transport's id. Which networks exist
 * is the transport registry's (src/transports/registry.ts), not this
 * format's; on the wire a network goes by its label (`receivedVia`,
 * `channelPreferences`), which each transport declares.
 */
export type ProtocolId = string;

/**
 * Default limits; configurable through `limits` in the config file. NIP-44
 * encrypts at most 65,535 bytes, and a NIP-17 rumor wraps the ChatMessage JSON
 * once more (escaped), so 32 KiB of JSON is what every transport can carry;
 * 8,192 UTF-16 units of text fit in it even at 3 UTF-8 bytes each.
 */
export const DEFAULT_MAX_MESSAGE_BYTES = 32 * 1024;
export const DEFAULT_MAX_CONTENT_CHARS = 8 * 1024;
/** Hard ceiling for limits.maxMessageBytes: NIP-44's plaintext limit less room for the NIP-17 rumor around it. */
export const MAX_MESSAGE_BYTES_CEILING = 60_000;

const ChannelPreferenceSchema = z.object({
  protocol: z.string().min(1).max(32),
  preferenceOrder: z.number().int().min(0).max(1000),
  cannotUse: z.boolean(),
});

const uuid = z.string().regex(/^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/, 'must be a UUID');
const timestamp = z.number().int().nonnegative().max(8.64e15);

const BaseSchema = z.object({
  uuid,
  timestamp,
  fromMagnetLink: z.string().min(1).max(2048),
  channelPreferences: z.array(ChannelPreferenceSchema).max(16).optional(),
});

export const MessageSchema = BaseSchema.extend({
  type: z.literal('message'),
  content: z.string(),
});

export const AckSchema = BaseSchema.extend({
  type: z.literal('acknowledgment'),
  content: z.string().max(256),
  originalMessageUuid: uuid,
  receivedAt: timestamp,
  receivedVia: z.string().min(1).max(32),
});

export const ChatMessageSchema = z.discriminatedUnion('type', [MessageSchema, AckSchema]);

export type ChannelPreference = z.infer<typeof ChannelPreferenceSchema>;
export type PlainMessage = z.infer<typeof MessageSchema>;
export type Acknowledgment = z.infer<typeof AckSchema>;
export type ChatMessage = z.infer<typeof ChatMessageSchema>;

export interface ParseLimits {
  maxBytes: number;
  maxContentChars: number;
}

export const DEFAULT_PARSE_LIMITS: ParseLimits = {
  maxBytes: DEFAULT_MAX_MESSAGE_BYTES,
  maxContentChars: DEFAULT_MAX_CONTENT_CHARS,
};

/** Why a payload was refused: a short stable code (for metrics) and a human sentence. */
export interface Rejection {
  readonly code: RejectionCode;
  readonly detail: string;
}

export type RejectionCode =
  | 'oversized'
  | 'malformed-json'
  | 'invalid-message'
  | 'bad-magnet'
  | 'bad-signature'
  | 'sender-mismatch'
  | 'unsigned'
  | 'decrypt-failed'
  | 'wrong-recipient'
  | 'future-timestamp';

export type ParseResult<T> = { ok: true; value: T } | { ok: false; rejection: Rejection };

/** Parses one ChatMessage from its JSON text; never throws. */
export function parseChatMessage(text: string, limits: ParseLimits = DEFAULT_PARSE_LIMITS): ParseResult<ChatMessage> {
  if (Buffer.byteLength(text, 'utf8') > limits.maxBytes) {
    return { ok: false, rejection: { code: 'oversized', detail: `message is larger than ${limits.maxBytes} bytes` } };
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { ok: false, rejection: { code: 'malformed-json', detail: 'message is not valid JSON' } };
  }
  const parsed = ChatMessageSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.length ? issue.path.join('.') : 'message';
    return { ok: false, rejection: { code: 'invalid-message', detail: `${where}: ${issue?.message ?? 'invalid'}` } };
  }
  if (parsed.data.type === 'message' && parsed.data.content.length > limits.maxContentChars) {
    return { ok: false, rejection: { code: 'oversized', detail: `content is longer than ${limits.maxContentChars} characters` } };
  }
  return { ok: true, value: parsed.data };
}

/**
 * Serialises with the seed's field order, so what a seed client reads is the
 * same shape as what it writes.
 */
export function serializeChatMessage(m: ChatMessage): string {
  return JSON.stringify({
    uuid: m.uuid,
    type: m.type,
    content: m.content,
    timestamp: m.timestamp,
    fromMagnetLink: m.fromMagnetLink,
    ...(m.channelPreferences ? { channelPreferences: m.channelPreferences } : {}),
    ...(m.type === 'acknowledgment'
      ? { originalMessageUuid: m.originalMessageUuid, receivedAt: m.receivedAt, receivedVia: m.receivedVia }
      : {}),
  });
}

export function newMessage(fromMagnetLink: string, content: string, now = Date.now()): PlainMessage {
  return { uuid: randomUUID(), type: 'message', content, timestamp: now, fromMagnetLink };
}

/** The acknowledgment of `original`, first received via the network labelled `via` (its wire label) at `receivedAt`. */
export function newAck(
  fromMagnetLink: string,
  original: PlainMessage,
  via: string,
  receivedAt: number,
  channelPreferences?: ChannelPreference[],
  now = Date.now(),
): Acknowledgment {
  return {
    uuid: randomUUID(),
    type: 'acknowledgment',
    content: `ACK: ${original.uuid}`,
    timestamp: now,
    fromMagnetLink,
    ...(channelPreferences ? { channelPreferences } : {}),
    originalMessageUuid: original.uuid,
    receivedAt,
    receivedVia: via,
  };
}
