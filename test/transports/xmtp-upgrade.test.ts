/**
 * XMTP's cut-over to its decentralised network: the old servers refuse
 * writes and end streams with a message asking for a newer client. The
 * transport must turn that into its own failure, 'upgrade-required': logged
 * once, shown in status, reported by every send at once, never retried.
 *
 * Over the in-memory network (create, send and stream each meet the
 * cut-over), and with the real @xmtp/node-sdk against a wire-level fake node
 * in a private network namespace (test/fixtures/xmtp-cut-over.ts).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { generateIdentity, publicPart } from '../../src/identity/keys.js';
import type { Identity } from '../../src/identity/keys.js';
import { encodeMagnet } from '../../src/identity/magnet.js';
import { newMessage, serializeChatMessage } from '../../src/protocol/chat-message.js';
import type { EndpointStatus, InboundEnvelope, SendReport } from '../../src/transports/transport.js';
import { classifyXmtpError, XmtpConfigSchema, XmtpTransport } from '../../src/transports/xmtp/index.js';
import type { XmtpConfigInput } from '../../src/transports/xmtp/index.js';
import { testContext } from '../support/context.js';
import { capturingLogger, LEVEL } from '../support/log-capture.js';
import type { LogLine } from '../support/log-capture.js';
import { sleep, waitFor } from '../support/wait.js';
import { MemoryXmtpNetwork, publishingCutOverError, streamingCutOverError, unreachableError } from '../support/xmtp-memory-network.js';

/** Fast retries: were 'upgrade-required' retried, the waits below would see many attempts. */
const FAST = { createTimeoutMs: 2000, sendTimeoutMs: 2000, retryMinMs: 20, retryMaxMs: 40 } satisfies XmtpConfigInput;
const CUT_OVER = 'publishing to XMTP V3 is no longer available. Please upgrade your client to XMTP D14N.';

/** What @xmtp/node-sdk 5.5.0 threw at Client.create against test/fakes/xmtp-node.ts (copied from a run). */
const SDK_CREATE_ERROR =
  'API error: api client error api client at endpoint "/xmtp.mls.api.v1.MlsApi/UploadKeyPackage" has error status: ' +
  "'The system is not in a state required for the operation's execution', self: \"publishing to XMTP V3 is no longer available. " +
  'Please upgrade your client to XMTP D14N.", metadata: {"content-type": "application/grpc", "date": "Sun, 29 Nov 2026 13:14:16 GMT"}. ' +
  '\n ============ Api Stats ============\nUploadKeyPackage        6\nFetchKeyPackage         0\n';

function payload(from: Identity, text: string) {
  const m = newMessage(encodeMagnet(from), text);
  return { uuid: m.uuid, json: serializeChatMessage(m) };
}

const upgradeLogs = (lines: LogLine[]) => lines.filter((l) => l.reason === 'upgrade-required' && l.level >= LEVEL.error);

describe('xmtp cut-over: classification', () => {
  it("classifies the servers' cut-over texts as upgrade-required, with the servers' sentence as the message", () => {
    const native = (m: string) => Object.assign(new Error(m), { code: 'GenericFailure' });
    const fromCreate = classifyXmtpError(native(SDK_CREATE_ERROR));
    expect(fromCreate).toEqual({ reason: 'upgrade-required', message: CUT_OVER });
    expect(classifyXmtpError(publishingCutOverError())).toEqual({ reason: 'upgrade-required', message: CUT_OVER });
    expect(classifyXmtpError(streamingCutOverError())).toMatchObject({ reason: 'upgrade-required', message: expect.stringMatching(/^XMTP V3 streaming is no longer available/) });
    // The sentence is found past the 300 characters a message is cut to.
    expect(classifyXmtpError(native(`${'x'.repeat(400)} "${CUT_OVER}"`)).reason).toBe('upgrade-required');
    // Other failures keep their reasons.
    expect(classifyXmtpError(unreachableError()).reason).toBe('unreachable');
  });
});

describe('xmtp cut-over: the transport over the in-memory network', () => {
  const stoppers: Array<() => Promise<void>> = [];
  afterEach(async () => {
    await Promise.all(stoppers.splice(0).map((s) => s()));
  });

  async function open(id: Identity, net: MemoryXmtpNetwork, cfg: XmtpConfigInput = {}) {
    const { log, lines } = capturingLogger();
    const ctx = { ...testContext(id), log };
    const t = new XmtpTransport(XmtpConfigSchema.parse({ dbDir: mkdtempSync(join(tmpdir(), 'rc-xmtp-up-')), ...FAST, ...cfg }), ctx, net);
    stoppers.push(() => t.stop());
    const inbox: InboundEnvelope[] = [];
    await t.start(async (e) => void inbox.push(e));
    return { t, inbox, lines, ctx };
  }

  function expectUpgradeStatus(s: EndpointStatus | undefined) {
    expect(s).toMatchObject({ endpoint: 'xmtp:dev', connected: false, reason: 'upgrade-required' });
    expect(s!.lastError).toContain('upgrade required');
    expect(s!.lastError).toContain('in-memory XMTP network'); // names the client that is too old
    expect(s!.lastError).toContain(CUT_OVER);
  }

  function expectUpgradeReport(r: SendReport) {
    expect(r).toMatchObject({ transport: 'xmtp', ok: false, reason: 'upgrade-required' });
    expect(r.endpoints).toEqual([expect.objectContaining({ endpoint: 'xmtp:dev', ok: false, reason: 'upgrade-required' })]);
  }

  it('at client creation: status says so, one error log, no retry, sends answer at once without the network', async () => {
    const net = new MemoryXmtpNetwork();
    net.createError = publishingCutOverError;
    const alice = generateIdentity();
    const { t, lines } = await open(alice, net);
    await waitFor(() => t.status()[0]!.reason === 'upgrade-required', 'the transport notices');
    expectUpgradeStatus(t.status()[0]);
    await sleep(300); // ≥ 7 retry periods at retryMaxMs 40
    expect(net.creates).toHaveLength(1);
    const r1 = await t.send({ identity: publicPart(generateIdentity()) }, payload(alice, 'one'));
    const r2 = await t.send({ identity: publicPart(generateIdentity()) }, payload(alice, 'two'));
    expectUpgradeReport(r1);
    expectUpgradeReport(r2);
    expect(r1.error).toContain(CUT_OVER);
    expect(net.sendAttempts).toBe(0);
    expect(net.creates).toHaveLength(1);
    expect(upgradeLogs(lines)).toHaveLength(1);
    expect(upgradeLogs(lines)[0]).toMatchObject({ transport: 'xmtp', client: 'in-memory XMTP network', error: CUT_OVER });
    // No warnings from retries either: the one error line is all an operator sees.
    expect(lines.filter((l) => l.level >= LEVEL.warn)).toHaveLength(1);
  });

  it('at a send: that send reports it, later sends do not touch the network, the stream is closed, logged once', async () => {
    const net = new MemoryXmtpNetwork();
    const alice = generateIdentity();
    const bob = generateIdentity();
    const { t, lines } = await open(alice, net);
    await waitFor(() => t.status()[0]!.connected, 'ready');
    expect(net.streamCount(alice.ethAddress)).toBe(1);
    net.sendError = publishingCutOverError;
    const reports = await Promise.all([1, 2, 3].map((i) => t.send({ identity: publicPart(bob) }, payload(alice, `m${i}`))));
    for (const r of reports) expectUpgradeReport(r);
    const attempts = net.sendAttempts;
    expect(attempts).toBeGreaterThanOrEqual(1);
    expectUpgradeStatus(t.status()[0]);
    expectUpgradeReport(await t.send({ identity: publicPart(bob) }, payload(alice, 'after')));
    expect(net.sendAttempts).toBe(attempts);
    await waitFor(() => net.streamCount(alice.ethAddress) === 0, 'the stream to be ended');
    await sleep(200);
    expect(net.creates).toHaveLength(1); // no reconnect
    expect(upgradeLogs(lines)).toHaveLength(1);
  });

  it('at the stream: XMTP turns off instead of reconnecting', async () => {
    const net = new MemoryXmtpNetwork();
    const alice = generateIdentity();
    const { t, lines } = await open(alice, net);
    await waitFor(() => t.status()[0]!.connected, 'ready');
    expect(net.endStreams(alice.ethAddress, streamingCutOverError())).toBe(1);
    await waitFor(() => t.status()[0]!.reason === 'upgrade-required', 'the transport notices');
    expect(t.status()[0]!.lastError).toContain('XMTP V3 streaming is no longer available');
    await sleep(300);
    expect(net.creates).toHaveLength(1);
    expect(net.streamCount(alice.ethAddress)).toBe(0);
    expectUpgradeReport(await t.send({ identity: publicPart(generateIdentity()) }, payload(alice, 'x')));
    expect(net.sendAttempts).toBe(0);
    expect(upgradeLogs(lines)).toHaveLength(1);
  });

  it('a stream that ends for any other reason is set up again and replays what came meanwhile', async () => {
    const net = new MemoryXmtpNetwork();
    const alice = generateIdentity();
    const bob = generateIdentity();
    const a = await open(alice, net);
    const b = await open(bob, net);
    await waitFor(() => a.t.status()[0]!.connected && b.t.status()[0]!.connected, 'ready');
    const before = payload(alice, 'before the drop');
    expect((await a.t.send({ identity: publicPart(bob) }, before)).ok).toBe(true);
    await waitFor(() => b.inbox.length === 1 && b.ctx.cursorMap.size === 1, 'delivered, cursor saved');
    net.unreachable = true; // the reconnect fails a few times first
    expect(net.endStreams(bob.ethAddress, unreachableError())).toBe(1);
    await waitFor(() => !b.t.status()[0]!.connected, 'bob down');
    expect(b.t.status()[0]).toMatchObject({ reason: 'unreachable' });
    net.unreachable = false;
    const during = payload(alice, 'while the stream was down');
    expect((await a.t.send({ identity: publicPart(bob) }, during)).ok).toBe(true);
    await waitFor(() => b.t.status()[0]!.connected, 'bob back', 5000);
    await waitFor(() => b.inbox.some((e) => e.body === during.json), 'the replayed DM');
    expect(net.creates.length).toBeGreaterThanOrEqual(3); // the first client, a failed retry or more, the new one
    expect(b.inbox.filter((e) => e.body === during.json)).toHaveLength(1);
    expect(b.lines.some((l) => l.msg === 'xmtp stream ended; reconnecting in the background')).toBe(true);
  });
});

/** Runs a fixture inside a private network namespace with loopback up; resolves with its one JSON line. */
function inPrivateNetwork<T>(fixture: string, args: string[] = []): Promise<T> {
  const script = new URL(`../fixtures/${fixture}`, import.meta.url).pathname;
  return new Promise((resolve, reject) => {
    // -r maps the caller to root inside a user namespace, so this also works unprivileged where user namespaces are allowed.
    const child = spawn('unshare', ['-rn', 'sh', '-c', 'ip link set lo up && exec "$0" --import tsx "$@"', process.execPath, script, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const line = out.trim().split('\n').pop() ?? '';
      if (code !== 0 || !line.startsWith('{')) {
        reject(new Error(`${fixture} in a private network namespace exited ${code} (needs unshare and ip from util-linux and iproute2):\n${err.slice(-3000)}`));
        return;
      }
      resolve(JSON.parse(line) as T);
    });
  });
}

interface CutOverRun {
  status: EndpointStatus;
  report: SendReport;
  callsAtDetection: number;
  callsAfterQuiet: number;
  writes: number;
  paths: string[];
  upgradeLogs: LogLine[];
  warnOrWorse: Array<{ level: number; msg: string }>;
}

describe('xmtp cut-over: the real @xmtp/node-sdk against a fake post-cut-over node', () => {
  it('becomes upgrade-required, once: no retries, sends answered at once', async () => {
    const run = await inPrivateNetwork<CutOverRun>('xmtp-cut-over.ts');
    // The SDK really spoke gRPC to the fake: it looked the inbox up, then its first write was refused.
    expect(run.paths).toContain('/xmtp.identity.api.v1.IdentityApi/GetInboxIds');
    expect(run.paths).toContain('/xmtp.mls.api.v1.MlsApi/UploadKeyPackage');
    expect(run.writes).toBeGreaterThan(0);
    expect(run.status).toMatchObject({ endpoint: 'xmtp:local', connected: false, reason: 'upgrade-required' });
    expect(run.status.lastError).toContain(`@xmtp/node-sdk 5.5.0`);
    expect(run.status.lastError).toContain(CUT_OVER);
    expect(run.report).toMatchObject({ transport: 'xmtp', ok: false, reason: 'upgrade-required' });
    // The send and the quiet period after it reached the node not once: no send attempt, no retried creation.
    expect(run.callsAfterQuiet).toBe(run.callsAtDetection);
    expect(run.upgradeLogs).toHaveLength(1);
    expect(run.upgradeLogs[0]).toMatchObject({ level: LEVEL.error, client: '@xmtp/node-sdk 5.5.0', error: CUT_OVER });
    expect(run.warnOrWorse).toHaveLength(1);
  }, 90_000);
});

interface BridgeRun {
  all: {
    receipt: string;
    firstJobState: string;
    firstJobAttempts: number;
    sends: { xmtp: number; mqtt: number; nostr: number; xmtpReasons: string[] };
    shownFirst: number;
    undeliveredNotices: number;
  };
  only: {
    told: string;
    toldNext: string;
    lostJob?: { attemptsMade: number; failedReason: string };
    lostState: string;
    nextState: string;
    sends: { xmtp: number; mqtt: number; nostr: number };
  };
  fakeNodePaths: string[];
}

describe('xmtp cut-over: a bridged room, with the real SDK against the fake node', () => {
  it('delivers on MQTT and Nostr and shows XMTP upgrade-required, never retried; with XMTP alone the room is told at once', async () => {
    const run = await inPrivateNetwork<BridgeRun>('xmtp-cut-over-bridge.ts');
    expect(run.fakeNodePaths).toContain('/xmtp.mls.api.v1.MlsApi/UploadKeyPackage');
    // Every network: delivered, receipt says why XMTP did not carry it, the job done in one attempt.
    expect(run.all.shownFirst).toBe(1);
    expect(run.all.receipt).toMatch(/✓ nostr 1\/1 \d+ms · ✓ MQTT 1\/1 \d+ms · ✗ XMTP upgrade required \(the network refuses this roomcast version\)/);
    expect(run.all.firstJobState).toBe('completed');
    expect(run.all.firstJobAttempts).toBe(1);
    expect(run.all.sends).toMatchObject({ xmtp: 1, mqtt: 1, nostr: 1, xmtpReasons: ['upgrade-required'] });
    expect(run.all.undeliveredNotices).toBe(0);
    // XMTP alone: told at once (4 attempts were allowed, one made), and the next message is not stuck behind it.
    expect(run.only.told).toContain('✗ XMTP upgrade required');
    expect(run.only.toldNext).toContain('and the next one');
    expect(run.only.lostJob).toMatchObject({ attemptsMade: 1, failedReason: expect.stringContaining('xmtp upgrade-required') });
    expect(run.only.lostState).toBe('failed');
    expect(run.only.nextState).toBe('failed');
    expect(run.only.sends).toMatchObject({ xmtp: 1, mqtt: 0, nostr: 0 });
  }, 120_000);
});
