/** The broadcaster refuses to send what a receiving roomcast would drop: too long, or too large once encoded. Nothing is recorded. */
import { describe, expect, it } from 'vitest';
import { Broadcaster, MessageTooLargeError } from '../../src/broadcaster/broadcaster.js';
import { generateIdentity, publicPart } from '../../src/identity/keys.js';
import { encodeMagnet } from '../../src/identity/magnet.js';
import { silentLogger } from '../../src/observability/logger.js';
import { createMetrics } from '../../src/observability/metrics.js';
import { newMessage, serializeChatMessage } from '../../src/protocol/chat-message.js';
import { openStore } from '../../src/store/index.js';
import { NETWORK_LABELS } from '../../src/transports/registry.js';

describe('broadcaster send limits', () => {
  it('deliver() checks maxContentChars as receivers do, and maxBytes once encoded', async () => {
    const me = generateIdentity();
    // Room for 100 plain characters, not for 100 that JSON escapes to 6 bytes each.
    const maxBytes = Buffer.byteLength(serializeChatMessage(newMessage(encodeMagnet(me), ''))) + 300;
    const store = await openStore({ url: ':memory:' });
    const b = new Broadcaster({
      identity: me,
      transports: [],
      store,
      log: silentLogger(),
      metrics: createMetrics(),
      reject: () => undefined,
      limits: { maxBytes, maxContentChars: 100 },
      maxConcurrentSends: 1,
      networks: NETWORK_LABELS,
    });
    const peer = publicPart(generateIdentity());
    try {
      const long = newMessage(encodeMagnet(me), 'x'.repeat(101));
      await expect(b.deliver(peer, long)).rejects.toThrow(MessageTooLargeError);
      await expect(b.deliver(peer, long)).rejects.toThrow(/longer than 100 characters/);
      expect(await store.getMessage(me.xOnly, long.uuid)).toBeUndefined();
      const wide = newMessage(encodeMagnet(me), '\u0001'.repeat(100)); // 6 bytes each once JSON-escaped
      await expect(b.deliver(peer, wide)).rejects.toThrow(`larger than ${maxBytes} bytes`);
      const fine = newMessage(encodeMagnet(me), 'x'.repeat(100));
      expect((await b.deliver(peer, fine)).uuid).toBe(fine.uuid);
    } finally {
      await b.stop();
      await store.close();
    }
  });
});
