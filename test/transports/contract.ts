/**
 * The contract every Transport must pass (DESIGN.md: one shared suite per
 * seam). Each implementation's test file calls runTransportContract with a
 * harness that knows how to build its transport against real (or, where none
 * can run here, wire-level fake) endpoints and how to inject raw bad input.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { generateIdentity, identityFromPrivateKeys, publicPart } from '../../src/identity/keys.js';
import type { Identity, PublicIdentity } from '../../src/identity/keys.js';
import { newMessage, serializeChatMessage } from '../../src/protocol/chat-message.js';
import type { RejectionCode } from '../../src/protocol/chat-message.js';
import type { InboundEnvelope, SenderProof, Transport, TransportContext } from '../../src/transports/transport.js';
import { encodeMagnet } from '../../src/identity/magnet.js';
import { ConnectionPool } from '../../src/transports/connection-pool.js';
import { testContext } from '../support/context.js';
import { sleep, waitFor } from '../support/wait.js';

/** Kinds of raw bad input a harness can publish straight onto its network. */
export type InjectKind = 'malformed' | 'oversized' | 'forged-signature' | 'sender-mismatch';

export interface ContractHarness {
  /** How many endpoints each transport from `make` has (all reachable). */
  readonly endpointCount: number;
  /** Builds a transport over the harness's reachable endpoints. */
  make(ctx: TransportContext): Transport | Promise<Transport>;
  /** Builds a transport whose every endpoint is unreachable. */
  makeUnreachable(ctx: TransportContext): Transport | Promise<Transport>;
  /**
   * Publishes bad input addressed to `to`, bypassing the transport, and
   * returns the rejection codes a receiver may report for it (any one of them).
   */
  inject(kind: InjectKind, from: Identity, to: Identity): Promise<readonly RejectionCode[]>;
  /** Upper bound (ms) a send to an unreachable network may take. */
  readonly unreachableBoundMs: number;
  /** True when the transport shares its connections through TransportContext.pool (one per endpoint); false when each identity needs its own (XMTP). */
  readonly pooled: boolean;
}

export function senderMatches(proof: SenderProof, id: PublicIdentity): boolean {
  return proof.kind === 'xonly' ? proof.key === id.xOnly : proof.address.toLowerCase() === id.ethAddress.toLowerCase();
}

export function runTransportContract(name: string, harness: () => ContractHarness): void {
  describe(`${name} transport contract`, () => {
    const started: Transport[] = [];
    afterEach(async () => {
      await Promise.all(started.splice(0).map((t) => t.stop()));
    });

    async function pair() {
      const h = harness();
      const alice = generateIdentity();
      const bob = generateIdentity();
      const aCtx = testContext(alice);
      const bCtx = testContext(bob);
      const a = await h.make(aCtx);
      const b = await h.make(bCtx);
      started.push(a, b);
      const inboxA: InboundEnvelope[] = [];
      const inboxB: InboundEnvelope[] = [];
      await a.start(async (e) => void inboxA.push(e));
      await b.start(async (e) => void inboxB.push(e));
      return { h, alice, bob, a, b, aCtx, bCtx, inboxA, inboxB };
    }

    function payload(from: Identity, text: string) {
      const m = newMessage(encodeMagnet(from), text);
      return { uuid: m.uuid, json: serializeChatMessage(m) };
    }

    it('delivers to a peer that advertises our capabilities, once per endpoint, authenticated', async () => {
      const { h, alice, bob, a, inboxB } = await pair();
      const p = payload(alice, 'hello bob');
      const report = await a.send({ identity: publicPart(bob) }, p);
      expect(report.transport).toBe(a.id);
      expect(report.ok).toBe(true);
      expect(report.endpoints).toHaveLength(h.endpointCount);
      expect(report.endpoints.every((e) => e.ok && e.latencyMs >= 0)).toBe(true);
      expect(report.endpoints.map((e) => e.endpoint)).toEqual([...a.capabilities.endpoints]);
      await waitFor(() => inboxB.length >= h.endpointCount, 'a copy from every endpoint');
      for (const e of inboxB) {
        expect(e.body).toBe(p.json);
        expect(e.verified).toBe(true);
        expect(e.transport).toBe(a.id);
        expect(senderMatches(e.sender, alice)).toBe(true);
        expect(a.capabilities.endpoints).toContain(e.endpoint);
      }
      expect(new Set(inboxB.map((e) => e.endpoint)).size).toBe(h.endpointCount);
    });

    it('tells of each endpoint that accepted a send, once, before the send resolves; of none when none accepted', async () => {
      const { h, alice, bob, a } = await pair();
      const events: string[] = [];
      const sending = a.send({ identity: publicPart(bob) }, payload(alice, 'each endpoint tells'), (endpoint) => events.push(`accepted ${endpoint}`));
      const report = await sending.then((r) => (events.push('resolved'), r));
      const accepted = report.endpoints.filter((e) => e.ok).map((e) => `accepted ${e.endpoint}`);
      expect(accepted).toHaveLength(h.endpointCount);
      expect(events.slice(0, -1).sort()).toEqual([...accepted].sort());
      expect(events.at(-1)).toBe('resolved');

      const nowhere = await h.makeUnreachable(testContext(alice));
      started.push(nowhere);
      await nowhere.start(async () => undefined);
      const told: string[] = [];
      expect((await nowhere.send({ identity: publicPart(bob) }, payload(alice, 'nobody takes this'), (endpoint) => told.push(endpoint))).ok).toBe(false);
      expect(told).toEqual([]);
    });

    it('delivers to a seed peer (no advertised capabilities) in the seed format', async () => {
      const { h, alice, bob, a, inboxB } = await pair();
      const seedBob = identityFromPrivateKeys(bob.secp256k1PrivateKey, bob.ed25519PrivateKey, []);
      const p = payload(alice, 'hello seed');
      const report = await a.send({ identity: publicPart(seedBob) }, p);
      expect(report.ok).toBe(true);
      await waitFor(() => inboxB.length >= h.endpointCount, 'seed-format copies');
      expect(inboxB.every((e) => e.body === p.json && senderMatches(e.sender, alice))).toBe(true);
    });

    it('carries many messages without loss', async () => {
      const { alice, bob, a, inboxB } = await pair();
      const sent = Array.from({ length: 30 }, (_, i) => payload(alice, `message ${i}`));
      const reports = await Promise.all(sent.map((p) => a.send({ identity: publicPart(bob) }, p)));
      expect(reports.every((r) => r.ok)).toBe(true);
      await waitFor(() => sent.every((p) => inboxB.some((e) => e.body === p.json)), 'all 30 messages');
    });

    it('does not deliver a message to anyone but its recipient', async () => {
      const { alice, bob, a, inboxA, inboxB } = await pair();
      const carol = generateIdentity();
      await a.send({ identity: publicPart(carol) }, payload(alice, 'for carol'));
      await a.send({ identity: publicPart(bob) }, payload(alice, 'for bob'));
      await waitFor(() => inboxB.some((e) => e.body.includes('for bob')), 'bob message');
      await sleep(200);
      expect(inboxB.some((e) => e.body.includes('for carol'))).toBe(false);
      expect(inboxA.some((e) => e.body.includes('for carol'))).toBe(false);
    });

    it('reports an unreachable network as a failure, without throwing, in bounded time', async () => {
      const h = harness();
      const alice = generateIdentity();
      const t = await h.makeUnreachable(testContext(alice));
      started.push(t);
      const t0 = Date.now();
      await t.start(async () => undefined);
      const report = await t.send({ identity: publicPart(generateIdentity()) }, payload(alice, 'nobody home'));
      expect(Date.now() - t0).toBeLessThan(h.unreachableBoundMs);
      expect(report.ok).toBe(false);
      expect(report.reason).toBeDefined();
      expect(report.endpoints.every((e) => !e.ok && e.reason !== undefined)).toBe(true);
      expect(t.status().every((s) => !s.connected)).toBe(true);
    });

    for (const kind of ['malformed', 'oversized', 'forged-signature', 'sender-mismatch'] as const) {
      it(`rejects ${kind} input with a counted reason and delivers nothing`, async () => {
        const { h, alice, bob, inboxB, bCtx } = await pair();
        const codes = await h.inject(kind, alice, bob);
        await waitFor(() => bCtx.rejections.length > 0, `a rejection for ${kind}`);
        await sleep(100);
        expect(inboxB).toHaveLength(0);
        expect(codes).toContain(bCtx.rejections[0]!.rejection.code);
        expect(bCtx.rejections[0]!.transport).toBeDefined();
      });
    }

    it('stops idempotently, then reports sends as failed', async () => {
      const { alice, bob, a } = await pair();
      await a.stop();
      await a.stop();
      const report = await a.send({ identity: publicPart(bob) }, payload(alice, 'after stop'));
      expect(report.ok).toBe(false);
    });

    it('serves several identities of one process over one connection per endpoint, each receiving only its own', async () => {
      const h = harness();
      const [service, alice, bob, carol] = [generateIdentity(), generateIdentity(), generateIdentity(), generateIdentity()];
      const pool = new ConnectionPool({ owner: service, expected: [alice.xOnly, bob.xOnly] });
      const aCtx = { ...testContext(alice), pool };
      const bCtx = { ...testContext(bob), pool };
      const a = await h.make(aCtx);
      const b = await h.make(bCtx);
      const c = await h.make(testContext(carol));
      started.push(a, b, c);
      const inboxA: InboundEnvelope[] = [];
      const inboxB: InboundEnvelope[] = [];
      const inboxC: InboundEnvelope[] = [];
      await a.start(async (e) => void inboxA.push(e));
      await b.start(async (e) => void inboxB.push(e));
      await c.start(async (e) => void inboxC.push(e));
      expect(pool.size).toBe(h.pooled ? h.endpointCount : 0);

      const toAlice = payload(carol, 'for alice only');
      const toBob = payload(carol, 'for bob only');
      expect((await c.send({ identity: publicPart(alice) }, toAlice)).ok).toBe(true);
      expect((await c.send({ identity: publicPart(bob) }, toBob)).ok).toBe(true);
      await waitFor(() => inboxA.length >= h.endpointCount && inboxB.length >= h.endpointCount, 'each its own message');
      // Replies (acks) leave as the identity that received.
      const fromAlice = payload(alice, 'alice answers');
      const fromBob = payload(bob, 'bob answers');
      expect((await a.send({ identity: publicPart(carol) }, fromAlice)).ok).toBe(true);
      expect((await b.send({ identity: publicPart(carol) }, fromBob)).ok).toBe(true);
      await waitFor(() => inboxC.length >= 2 * h.endpointCount, 'both answers');
      await sleep(200);
      expect(inboxA.every((e) => e.body === toAlice.json && senderMatches(e.sender, carol))).toBe(true);
      expect(inboxB.every((e) => e.body === toBob.json && senderMatches(e.sender, carol))).toBe(true);
      expect(inboxC.filter((e) => e.body === fromAlice.json).every((e) => senderMatches(e.sender, alice))).toBe(true);
      expect(inboxC.filter((e) => e.body === fromBob.json).every((e) => senderMatches(e.sender, bob))).toBe(true);
      expect(inboxC.filter((e) => e.body === fromBob.json)).toHaveLength(h.endpointCount);

      // One leaves: the other keeps its connections and its messages.
      await a.stop();
      expect(pool.size).toBe(h.pooled ? h.endpointCount : 0);
      const after = payload(carol, 'bob, still there?');
      expect((await c.send({ identity: publicPart(bob) }, after)).ok).toBe(true);
      await waitFor(() => inboxB.filter((e) => e.body === after.json).length >= h.endpointCount, 'bob after alice left');
      expect(b.status().every((s) => s.connected)).toBe(true);
      await b.stop();
      expect(pool.size).toBe(0);
    });

    it('status lists every endpoint as connected once started', async () => {
      const { h, a } = await pair();
      await waitFor(() => a.status().filter((s) => s.connected).length === h.endpointCount, 'all endpoints connected');
      expect(a.status().map((s) => s.endpoint)).toEqual([...a.capabilities.endpoints]);
    });
  });
}
