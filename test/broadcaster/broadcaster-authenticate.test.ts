import { describe, expect, it } from 'vitest';
import { authenticate, proofMatches } from '../../src/broadcaster/authenticate.js';
import { generateIdentity } from '../../src/identity/keys.js';
import { encodeMagnet } from '../../src/identity/magnet.js';
import { DEFAULT_PARSE_LIMITS, newMessage, serializeChatMessage } from '../../src/protocol/chat-message.js';

const alice = generateIdentity();
const mallory = generateIdentity();
const json = serializeChatMessage(newMessage(encodeMagnet(alice), 'hi'));

describe('authenticate', () => {
  it('accepts a message whose proven sender is the magnet link key (x-only or Ethereum address)', () => {
    for (const proof of [{ kind: 'xonly', key: alice.xOnly } as const, { kind: 'eth', address: alice.ethAddress.toLowerCase() } as const]) {
      const r = authenticate(json, proof, DEFAULT_PARSE_LIMITS);
      expect(r.ok).toBe(true);
      if (r.ok) expect(r.value.sender.secp256k1PublicKey).toBe(alice.secp256k1PublicKey);
    }
  });

  it('rejects a message signed by someone else than fromMagnetLink', () => {
    const r = authenticate(json, { kind: 'xonly', key: mallory.xOnly }, DEFAULT_PARSE_LIMITS);
    expect(r.ok ? 'accepted' : r.rejection.code).toBe('sender-mismatch');
    const e = authenticate(json, { kind: 'eth', address: mallory.ethAddress }, DEFAULT_PARSE_LIMITS);
    expect(e.ok ? 'accepted' : e.rejection.code).toBe('sender-mismatch');
  });

  it('rejects a bad magnet link, naming the parameter', () => {
    const bad = json.replace(/eth=0x[0-9a-fA-F]+/, 'eth=0x1234');
    const r = authenticate(bad, { kind: 'xonly', key: alice.xOnly }, DEFAULT_PARSE_LIMITS);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.rejection.code).toBe('bad-magnet');
      expect(r.rejection.detail).toContain('eth');
    }
  });

  it('passes parse rejections through', () => {
    const r = authenticate('nope', { kind: 'xonly', key: alice.xOnly }, DEFAULT_PARSE_LIMITS);
    expect(r.ok ? 'accepted' : r.rejection.code).toBe('malformed-json');
  });

  it('proofMatches compares keys exactly and addresses case-insensitively', () => {
    expect(proofMatches({ kind: 'xonly', key: alice.xOnly }, alice)).toBe(true);
    expect(proofMatches({ kind: 'xonly', key: alice.xOnly.toUpperCase() }, alice)).toBe(false);
    expect(proofMatches({ kind: 'eth', address: alice.ethAddress.toUpperCase().replace('0X', '0x') }, alice)).toBe(true);
  });
});
