/**
 * Opt-in live test on the XMTP dev network (needs internet; not run in CI):
 *   XMTP_LIVE=1 npx vitest run xmtp-live
 * Two fresh identities register on dev and DM each other both ways through
 * the real transport (registration, DM by address, streaming, echo skipping,
 * sender resolution).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateIdentity, publicPart } from '../../src/identity/keys.js';
import type { Identity } from '../../src/identity/keys.js';
import { encodeMagnet } from '../../src/identity/magnet.js';
import { newMessage, serializeChatMessage } from '../../src/protocol/chat-message.js';
import type { InboundEnvelope } from '../../src/transports/transport.js';
import { XmtpConfigSchema, XmtpTransport } from '../../src/transports/xmtp/index.js';
import { testContext } from '../support/context.js';
import { waitFor } from '../support/wait.js';

describe.runIf(process.env.XMTP_LIVE === '1')('xmtp live on dev', () => {
  it('two identities DM each other', async () => {
    const cfg = XmtpConfigSchema.parse({ env: 'dev', dbDir: mkdtempSync(join(tmpdir(), 'rc-xmtp-live-')), createTimeoutMs: 60_000, sendTimeoutMs: 30_000 });
    const alice = generateIdentity();
    const bob = generateIdentity();
    const open = async (id: Identity) => {
      const t = new XmtpTransport(cfg, testContext(id));
      const inbox: InboundEnvelope[] = [];
      await t.start(async (e) => void inbox.push(e));
      return { t, inbox };
    };
    const a = await open(alice);
    const b = await open(bob);
    try {
      await waitFor(() => a.t.status()[0]!.connected && b.t.status()[0]!.connected, 'both clients registered', 90_000, 250).catch((err: Error) => {
        // Say why: no route to XMTP, a refused version, a timeout.
        throw new Error(`${err.message}; status: ${JSON.stringify([a.t.status()[0], b.t.status()[0]])}`);
      });
      const toBob = newMessage(encodeMagnet(alice), 'hello bob, live');
      const r1 = await a.t.send({ identity: publicPart(bob) }, { uuid: toBob.uuid, json: serializeChatMessage(toBob) });
      expect(r1.ok, r1.error).toBe(true);
      await waitFor(() => b.inbox.some((e) => e.body.includes(toBob.uuid)), 'bob receives', 60_000, 250);
      const got = b.inbox.find((e) => e.body.includes(toBob.uuid))!;
      expect(got.sender).toEqual({ kind: 'eth', address: alice.ethAddress });
      const toAlice = newMessage(encodeMagnet(bob), 'hello alice, live');
      const r2 = await b.t.send({ identity: publicPart(alice) }, { uuid: toAlice.uuid, json: serializeChatMessage(toAlice) });
      expect(r2.ok, r2.error).toBe(true);
      await waitFor(() => a.inbox.some((e) => e.body.includes(toAlice.uuid)), 'alice receives', 60_000, 250);
      expect(a.inbox.some((e) => e.body.includes(toBob.uuid))).toBe(false); // her own echo was skipped
    } finally {
      await Promise.all([a.t.stop(), b.t.stop()]);
    }
  }, 240_000);
});
