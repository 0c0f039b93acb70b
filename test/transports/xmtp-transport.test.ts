/**
 * The XMTP transport over an in-memory XMTP network (there is no XMTP node to
 * run here): the shared transport contract, plus XMTP specifics (echo
 * skipping, sender-address checking, background start-up, timeouts, retries,
 * deterministic database keys).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { generateIdentity, identityFromPrivateKeys, publicPart } from '../../src/identity/keys.js';
import type { Identity } from '../../src/identity/keys.js';
import { encodeMagnet } from '../../src/identity/magnet.js';
import { newMessage, serializeChatMessage } from '../../src/protocol/chat-message.js';
import type { RejectionCode } from '../../src/protocol/chat-message.js';
import type { InboundEnvelope, TransportContext } from '../../src/transports/transport.js';
import { checkXmtpSender, deriveXmtpDbKey, XmtpConfigSchema, XmtpTransport, xmtpDbPath } from '../../src/transports/xmtp/index.js';
import type { XmtpConfigInput } from '../../src/transports/xmtp/index.js';
import { runTransportContract } from './contract.js';
import type { ContractHarness, InjectKind } from './contract.js';
import { testContext } from '../support/context.js';
import { sleep, waitFor } from '../support/wait.js';
import { MemoryXmtpNetwork } from '../support/xmtp-memory-network.js';

const FAST = { createTimeoutMs: 2000, sendTimeoutMs: 2000, retryMinMs: 20, retryMaxMs: 200 } satisfies XmtpConfigInput;

function config(extra: XmtpConfigInput = {}) {
  return XmtpConfigSchema.parse({ dbDir: mkdtempSync(join(tmpdir(), 'rc-xmtp-')), ...FAST, ...extra });
}

function payload(from: Identity, text: string) {
  const m = newMessage(encodeMagnet(from), text);
  return { uuid: m.uuid, json: serializeChatMessage(m) };
}

runTransportContract('xmtp (in-memory network)', (): ContractHarness => {
  const net = new MemoryXmtpNetwork();
  const dbDir = mkdtempSync(join(tmpdir(), 'rc-xmtp-'));
  return {
    endpointCount: 1,
    make: (ctx) => new XmtpTransport(XmtpConfigSchema.parse({ ...FAST, dbDir }), ctx, net),
    makeUnreachable: (ctx) => {
      const down = new MemoryXmtpNetwork();
      down.unreachable = true;
      return new XmtpTransport(XmtpConfigSchema.parse({ ...FAST, dbDir }), ctx, down);
    },
    async inject(kind: InjectKind, from: Identity, to: Identity): Promise<readonly RejectionCode[]> {
      const fromInbox = [from.ethAddress.toLowerCase()];
      switch (kind) {
        case 'malformed':
          net.deliver(to.ethAddress, { senderAddresses: fromInbox, text: 'this is not JSON' });
          return ['malformed-json'];
        case 'oversized':
          net.deliver(to.ethAddress, { senderAddresses: fromInbox, text: payload(from, 'x'.repeat(64 * 1024 + 500)).json });
          return ['oversized'];
        case 'forged-signature': {
          // XMTP verifies signatures inside the SDK (MLS): a forged message never reaches the
          // transport. What can: mallory's authenticated inbox sending a message that claims `from`.
          const mallory = generateIdentity();
          net.deliver(to.ethAddress, { senderAddresses: [mallory.ethAddress.toLowerCase()], text: payload(from, 'forged').json });
          return ['sender-mismatch'];
        }
        case 'sender-mismatch': {
          // `from`'s own inbox sends a message whose magnet link names someone else.
          const mallory = generateIdentity();
          net.deliver(to.ethAddress, { senderAddresses: fromInbox, text: payload(mallory, 'not really me').json });
          return ['sender-mismatch'];
        }
      }
    },
    unreachableBoundMs: 3000,
    pooled: false,
  };
});

describe('xmtp transport specifics', () => {
  const stoppers: Array<() => Promise<void>> = [];
  afterEach(async () => {
    await Promise.all(stoppers.splice(0).map((s) => s()));
  });

  async function open(id: Identity, net: MemoryXmtpNetwork, cfg: XmtpConfigInput = {}, ctx: TransportContext & { rejections: unknown[] } = testContext(id)) {
    const t = new XmtpTransport(config(cfg), ctx, net);
    stoppers.push(() => t.stop());
    const inbox: InboundEnvelope[] = [];
    await t.start(async (e) => void inbox.push(e));
    return { t, inbox, ctx };
  }

  it('skips the echo of its own sends', async () => {
    const net = new MemoryXmtpNetwork();
    const alice = generateIdentity();
    const bob = generateIdentity();
    const a = await open(alice, net);
    const b = await open(bob, net);
    await waitFor(() => a.t.status()[0]!.connected && b.t.status()[0]!.connected, 'both ready');
    const p = payload(alice, 'hello');
    expect((await a.t.send({ identity: publicPart(bob) }, p)).ok).toBe(true);
    await waitFor(() => b.inbox.length === 1, 'bob got it');
    await sleep(100);
    expect(a.inbox).toHaveLength(0);
    expect(a.ctx.rejections).toHaveLength(0); // an echo is skipped silently, not counted as refused input
  });

  it('delivers with an eth sender proof naming the claimed address, when the sending inbox owns it', async () => {
    const net = new MemoryXmtpNetwork();
    const bob = generateIdentity();
    const wallet = generateIdentity(); // a second wallet linked to carol's inbox
    const carol = generateIdentity();
    net.link(carol.ethAddress, wallet.ethAddress);
    const b = await open(bob, net);
    const c = await open(carol, net);
    await waitFor(() => b.t.status()[0]!.connected && c.t.status()[0]!.connected, 'both ready');
    const p = payload(wallet, 'from my other wallet');
    expect((await c.t.send({ identity: publicPart(bob) }, p)).ok).toBe(true);
    await waitFor(() => b.inbox.length === 1, 'delivery');
    expect(b.inbox[0]!.sender).toEqual({ kind: 'eth', address: wallet.ethAddress });
    expect(b.inbox[0]!.endpoint).toBe('xmtp:dev');
  });

  it('checks the claimed sender against the inbox addresses', () => {
    const alice = generateIdentity();
    const json = payload(alice, 'hi').json;
    expect(checkXmtpSender(json, [alice.ethAddress.toLowerCase()])).toEqual({ ok: true, address: alice.ethAddress });
    const code = (r: ReturnType<typeof checkXmtpSender>) => (r.ok ? 'accepted' : r.rejection.code);
    expect(code(checkXmtpSender(json, [generateIdentity().ethAddress]))).toBe('sender-mismatch');
    expect(code(checkXmtpSender(json, []))).toBe('sender-mismatch');
    expect(code(checkXmtpSender('{"type":"message"}', [alice.ethAddress]))).toBe('invalid-message');
    expect(code(checkXmtpSender(json.replace(/eth=0x[0-9a-fA-F]+/, 'eth=0x1234'), [alice.ethAddress]))).toBe('bad-magnet');
    expect(code(checkXmtpSender('nope', [alice.ethAddress]))).toBe('malformed-json');
  });

  it('derives the database key deterministically from the identity, and a per-identity path', async () => {
    const alice = generateIdentity();
    const again = identityFromPrivateKeys(alice.secp256k1PrivateKey, alice.ed25519PrivateKey);
    const k1 = deriveXmtpDbKey(alice);
    expect(k1).toHaveLength(32);
    expect(Buffer.from(deriveXmtpDbKey(again)).equals(Buffer.from(k1))).toBe(true);
    expect(Buffer.from(deriveXmtpDbKey(generateIdentity())).equals(Buffer.from(k1))).toBe(false);
    expect(Buffer.from(k1).equals(Buffer.from(alice.secp256k1PrivateKey))).toBe(false);

    const net = new MemoryXmtpNetwork();
    const cfg = config({ env: 'production' });
    for (const id of [alice, again]) {
      const t = new XmtpTransport(cfg, testContext(id), net);
      await t.start(async () => undefined);
      await waitFor(() => t.status()[0]!.connected, 'ready');
      await t.stop();
    }
    expect(net.creates).toHaveLength(2);
    const [c1, c2] = net.creates;
    expect(c1!.dbPath).toBe(xmtpDbPath(cfg.dbDir, alice.ethAddress, 'production'));
    expect(c1!.dbPath.startsWith(cfg.dbDir)).toBe(true);
    expect(c1!.dbPath).toContain(alice.ethAddress.toLowerCase());
    expect(c2!.dbPath).toBe(c1!.dbPath);
    expect(Buffer.from(c2!.dbEncryptionKey).equals(Buffer.from(c1!.dbEncryptionKey))).toBe(true);
    expect(c1!.env).toBe('production');
    expect(c1!.gatewayHost).toBeUndefined();
  });

  it('passes a configured gateway host to the client', async () => {
    const net = new MemoryXmtpNetwork();
    const { t } = await open(generateIdentity(), net, { gatewayHost: 'https://gateway.example.org' });
    await waitFor(() => t.status()[0]!.connected, 'ready');
    expect(net.creates[0]!.gatewayHost).toBe('https://gateway.example.org');
  });

  it('starts at once while creation is slow; a send waits at most sendTimeoutMs and reports a timeout', async () => {
    const net = new MemoryXmtpNetwork();
    net.createDelayMs = 1500;
    const alice = generateIdentity();
    const t0 = Date.now();
    const { t } = await open(alice, net, { sendTimeoutMs: 200, createTimeoutMs: 5000 });
    expect(Date.now() - t0).toBeLessThan(50);
    expect(t.status()[0]!.connected).toBe(false);
    const report = await t.send({ identity: publicPart(generateIdentity()) }, payload(alice, 'early'));
    expect(report.ok).toBe(false);
    expect(report.reason).toBe('timeout');
    expect(report.latencyMs).toBeLessThan(1000);
    await waitFor(() => t.status()[0]!.connected, 'ready after the slow create');
    expect((await t.send({ identity: publicPart(generateIdentity()) }, payload(alice, 'later'))).ok).toBe(true);
  });

  it('counts a creation that exceeds createTimeoutMs as a timeout and retries', async () => {
    const net = new MemoryXmtpNetwork();
    net.createDelayMs = 400;
    const alice = generateIdentity();
    const { t } = await open(alice, net, { createTimeoutMs: 100, retryMinMs: 50, retryMaxMs: 50 });
    await waitFor(() => net.creates.length >= 2, 'a retry');
    const report = await t.send({ identity: publicPart(generateIdentity()) }, payload(alice, 'x'));
    expect(report.reason).toBe('timeout');
    expect(t.status()[0]!.lastError).toContain('longer than 100 ms');
  });

  it('reports an unreachable network as unreachable, retries with backoff, and recovers', async () => {
    const net = new MemoryXmtpNetwork();
    net.unreachable = true;
    const alice = generateIdentity();
    const bob = generateIdentity();
    const { t } = await open(alice, net, { retryMinMs: 20, retryMaxMs: 100 });
    const down = await t.send({ identity: publicPart(bob) }, payload(alice, 'down'));
    expect(down).toMatchObject({ ok: false, reason: 'unreachable', transport: 'xmtp' });
    expect(down.endpoints).toEqual([expect.objectContaining({ endpoint: 'xmtp:dev', ok: false, reason: 'unreachable' })]);
    expect(t.status()[0]!.lastError).toContain('tcp connect error');
    await waitFor(() => net.creates.length >= 3, 'retries');
    net.unreachable = false;
    await waitFor(() => t.status()[0]!.connected, 'recovered');
    expect((await t.send({ identity: publicPart(bob) }, payload(alice, 'up'))).ok).toBe(true);
  });

  it('does not stream when listen is false, and still sends', async () => {
    const net = new MemoryXmtpNetwork();
    const alice = generateIdentity();
    const bob = generateIdentity();
    const b = await open(bob, net);
    const { t } = await open(alice, net, {}, { ...testContext(alice), listen: false });
    await waitFor(() => t.status()[0]!.connected && b.t.status()[0]!.connected, 'ready');
    expect(net.streamCount(alice.ethAddress)).toBe(0);
    expect(net.streamCount(bob.ethAddress)).toBe(1);
    expect((await t.send({ identity: publicPart(bob) }, payload(alice, 'send only'))).ok).toBe(true);
    await waitFor(() => b.inbox.length === 1, 'bob got it');
  });

  it('refuses to send a message larger than maxMessageBytes', async () => {
    const net = new MemoryXmtpNetwork();
    const alice = generateIdentity();
    const { t } = await open(alice, net, {}, testContext(alice, 1024));
    await waitFor(() => t.status()[0]!.connected, 'ready');
    const report = await t.send({ identity: publicPart(generateIdentity()) }, payload(alice, 'x'.repeat(2000)));
    expect(report).toMatchObject({ ok: false, reason: 'rejected' });
  });

  it('releases a client that finishes creating after stop', async () => {
    const net = new MemoryXmtpNetwork();
    net.createDelayMs = 200;
    const alice = generateIdentity();
    const { t } = await open(alice, net);
    await t.stop();
    await sleep(400);
    expect(net.streamCount(alice.ethAddress)).toBe(0);
    expect(t.status()[0]!.connected).toBe(false);
    await expect(t.start(async () => undefined)).rejects.toThrow(/stopped/);
  });

  it('replays DMs that arrived while it was down, from its persisted cursor', async () => {
    const net = new MemoryXmtpNetwork();
    const alice = generateIdentity();
    const bob = generateIdentity();
    const bobCtx = testContext(bob);
    const cfg = config();
    const a = await open(alice, net);
    const b1 = new XmtpTransport(cfg, bobCtx, net);
    const inbox1: InboundEnvelope[] = [];
    await b1.start(async (e) => void inbox1.push(e));
    await waitFor(() => a.t.status()[0]!.connected && b1.status()[0]!.connected, 'ready');
    await a.t.send({ identity: publicPart(bob) }, payload(alice, 'zero'));
    await sleep(5);
    await a.t.send({ identity: publicPart(bob) }, payload(alice, 'first'));
    await waitFor(() => inbox1.length === 2 && bobCtx.cursorMap.size === 1, 'delivered and cursor saved');
    await b1.stop();
    await sleep(5);
    const missed = payload(alice, 'while bob was down');
    await a.t.send({ identity: publicPart(bob) }, missed);
    const b2 = new XmtpTransport(cfg, bobCtx, net);
    stoppers.push(() => b2.stop());
    const inbox2: InboundEnvelope[] = [];
    await b2.start(async (e) => void inbox2.push(e));
    await waitFor(() => inbox2.some((e) => e.body === missed.json), 'the missed DM');
    // Replay starts at the cursor (inclusive: a copy of the newest handled message may come again, de-duplicated upstream).
    expect(inbox2.some((e) => e.body.includes('"zero"'))).toBe(false);
  });

  it('applies config defaults', () => {
    expect(XmtpConfigSchema.parse({})).toEqual({
      env: 'dev',
      dbDir: './data/xmtp',
      createTimeoutMs: 15_000,
      sendTimeoutMs: 10_000,
      retryMinMs: 1000,
      retryMaxMs: 60_000,
      rooms: 'reachable',
      reachableCheckMs: 3_600_000,
    });
    expect(XmtpConfigSchema.safeParse({ env: 'mainnet' }).success).toBe(false);
    expect(XmtpConfigSchema.parse({ gatewayHost: 'https://gateway.example.org' }).gatewayHost).toBe('https://gateway.example.org');
    const bad = XmtpConfigSchema.safeParse({ gatewayHost: 'gateway.example.org' });
    expect(bad.success).toBe(false);
    expect(bad.error?.issues[0]).toMatchObject({ path: ['gatewayHost'], message: 'must be an http(s) URL' });
    expect(XmtpConfigSchema.safeParse({ retryMinMs: 5000, retryMaxMs: 1000 }).success).toBe(false);
  });
});
