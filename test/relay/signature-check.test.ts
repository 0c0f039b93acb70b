/**
 * The local relay (`roomcast relay`) checks signatures with roomcast's own
 * WebAssembly secp256k1 in place of @nostr-relay/common's BigInt one (see
 * local-relay.ts): it must accept what is signed and refuse what is not, as
 * the original did, and the relay must really call it.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { EventUtils } from '@nostr-relay/common';
import { finalizeEvent, generateSecretKey } from 'nostr-tools';
import { verifySignatureOverId } from '../../src/identity/crypto.js';
import { publishRaw, startRelay } from '../support/nostr-relay.js';
import type { TestRelay } from '../support/nostr-relay.js';

const flip = (hex: string) => hex.replace(/^./, (c) => (c === '0' ? '1' : '0'));

describe('the local relay checks signatures with the WebAssembly verifier', () => {
  let relay: TestRelay;
  beforeAll(async () => {
    relay = await startRelay();
  });
  afterAll(async () => {
    await relay.stop();
  });

  const signed = (content: string) => finalizeEvent({ kind: 1, created_at: Math.floor(Date.now() / 1000), tags: [], content }, generateSecretKey());

  it('agrees with @nostr-relay/common on signed, forged and foreign signatures', () => {
    const a = signed('a');
    const b = signed('b');
    const cases = [a, { ...a, sig: flip(a.sig) }, { ...a, sig: b.sig }, { ...a, pubkey: b.pubkey }, { ...a, sig: 'zz' }, { ...a, pubkey: 'f'.repeat(64) }];
    expect(cases.map((e) => verifySignatureOverId(e))).toEqual([true, false, false, false, false, false]);
  });

  it('accepts a signed event and refuses a forged one, through its own check', async () => {
    const check = vi.spyOn(EventUtils, 'isSigValid');
    try {
      const good = signed('hello');
      expect(await publishRaw(relay.url, good)).toMatchObject({ ok: true });
      const forged = { ...signed('forged'), sig: flip(good.sig) };
      const refused = await publishRaw(relay.url, forged);
      expect(refused.ok).toBe(false);
      expect(refused.message).toMatch(/signature/);
      expect(relay.repository.events.has(good.id)).toBe(true);
      expect(relay.repository.events.has(forged.id)).toBe(false);
      // The spy wraps whatever the relay installed: ours, called once per event.
      expect(check.mock.calls.length).toBe(2);
    } finally {
      check.mockRestore();
    }
    expect(EventUtils.isSigValid).toBe(verifySignatureOverId);
  });
});
