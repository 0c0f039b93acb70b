import { describe, expect, it } from 'vitest';
import { generateIdentity } from '../../src/identity/keys.js';
import { encodeMagnet } from '../../src/identity/magnet.js';
import {
  newAck,
  newMessage,
  parseChatMessage,
  serializeChatMessage,
} from '../../src/protocol/chat-message.js';

const magnet = encodeMagnet(generateIdentity());

/** A message exactly as the seed client builds it (PROTOCOL.md §2). */
const seedMessage = {
  uuid: '550e8400-e29b-41d4-a716-446655440000',
  type: 'message',
  content: 'Hello!',
  timestamp: 1699564800000,
  fromMagnetLink: magnet,
  channelPreferences: [
    { protocol: 'nostr', preferenceOrder: 1, cannotUse: false },
    { protocol: 'XMTP V3', preferenceOrder: 2, cannotUse: false },
    { protocol: 'MQTT', preferenceOrder: 3, cannotUse: false },
  ],
};

describe('ChatMessage', () => {
  it('accepts a seed message and re-serialises it to the same JSON', () => {
    const text = JSON.stringify(seedMessage);
    const parsed = parseChatMessage(text);
    expect(parsed.ok).toBe(true);
    if (parsed.ok) expect(serializeChatMessage(parsed.value)).toBe(text);
  });

  it('accepts a seed acknowledgment', () => {
    const ack = {
      uuid: '6ba7b810-9dad-11d1-80b4-00c04fd430c8',
      type: 'acknowledgment',
      content: `ACK: ${seedMessage.uuid}`,
      timestamp: 1699564801000,
      fromMagnetLink: magnet,
      originalMessageUuid: seedMessage.uuid,
      receivedAt: 1699564800900,
      receivedVia: 'MQTT',
    };
    const parsed = parseChatMessage(JSON.stringify(ack));
    expect(parsed.ok && parsed.value.type === 'acknowledgment' && parsed.value.originalMessageUuid).toBe(seedMessage.uuid);
  });

  it('builds acks the seed way: content "ACK: <uuid>", seed protocol label', () => {
    const m = newMessage(magnet, 'hi');
    const ack = newAck(magnet, m, 'XMTP V3', 123);
    expect(ack.content).toBe(`ACK: ${m.uuid}`);
    expect(ack.receivedVia).toBe('XMTP V3');
    expect(ack.originalMessageUuid).toBe(m.uuid);
    const round = parseChatMessage(serializeChatMessage(ack));
    expect(round.ok).toBe(true);
  });

  it('drops unknown fields instead of echoing them', () => {
    const parsed = parseChatMessage(JSON.stringify({ ...seedMessage, injected: '<script>' }));
    expect(parsed.ok && serializeChatMessage(parsed.value).includes('injected')).toBe(false);
  });

  const bad: Array<[string, string, string]> = [
    ['not JSON', '{"uuid":', 'malformed-json'],
    ['an array', '[]', 'invalid-message'],
    ['no uuid', JSON.stringify({ ...seedMessage, uuid: undefined }), 'invalid-message'],
    ['no type', JSON.stringify({ ...seedMessage, type: undefined }), 'invalid-message'],
    ['unknown type', JSON.stringify({ ...seedMessage, type: 'typing' }), 'invalid-message'],
    ['no timestamp', JSON.stringify({ ...seedMessage, timestamp: undefined }), 'invalid-message'],
    ['string timestamp', JSON.stringify({ ...seedMessage, timestamp: '1699564800000' }), 'invalid-message'],
    ['no fromMagnetLink', JSON.stringify({ ...seedMessage, fromMagnetLink: undefined }), 'invalid-message'],
    ['non-uuid uuid', JSON.stringify({ ...seedMessage, uuid: 'abc' }), 'invalid-message'],
    ['ack without original', JSON.stringify({ ...seedMessage, type: 'acknowledgment' }), 'invalid-message'],
    ['oversized payload', JSON.stringify({ ...seedMessage, content: 'x'.repeat(70_000) }), 'oversized'],
    ['over-long content', JSON.stringify({ ...seedMessage, content: 'x'.repeat(20_000) }), 'oversized'],
  ];
  for (const [what, text, code] of bad) {
    it(`rejects ${what} as ${code}`, () => {
      const parsed = parseChatMessage(text);
      expect(parsed.ok).toBe(false);
      if (!parsed.ok) {
        expect(parsed.rejection.code).toBe(code);
        expect(parsed.rejection.detail.length).toBeGreaterThan(0);
      }
    });
  }
});
