/**
 * The Matrix platform alone against the fake homeserver (unmodified
 * matrix-bot-sdk): loss-free sync across a stop in the middle of a batch,
 * awaited in-order delivery, senders' levels and names, the connection's
 * status, rejected events, refused writes and a refused token.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createMetrics } from '../../../src/observability/metrics.js';
import type { Metrics } from '../../../src/observability/metrics.js';
import { MatrixPlatformConfigSchema } from '../../../src/platforms/matrix/config.js';
import { MatrixPlatform } from '../../../src/platforms/matrix/matrix-platform.js';
import { platformId, RateLimitedError } from '../../../src/platforms/platform.js';
import type { PlatformStateStore, RoomEvent, RoomMessageEvent } from '../../../src/platforms/platform.js';
import { startFakeHomeserver } from '../../fakes/matrix/index.js';
import type { FakeHomeserver } from '../../fakes/matrix/index.js';
import { startFaultProxy } from '../../support/http-fault-proxy.js';
import type { FaultProxy } from '../../support/http-fault-proxy.js';
import { capturingLogger } from '../../support/log-capture.js';
import { counterValue } from '../../support/metrics.js';
import { MatrixPerson } from '../../support/matrix-person.js';
import { sleep, waitFor } from '../../support/wait.js';

let hs: FakeHomeserver;
let proxy: FaultProxy;
let bot: MatrixPerson;
let alice: MatrixPerson;
let bob: MatrixPerson;
let roomId: string;
const running: MatrixPlatform[] = [];

function memoryState(): PlatformStateStore & { values: Map<string, string> } {
  const values = new Map<string, string>();
  return { values, get: async (k) => values.get(k), set: async (k, v) => void values.set(k, v) };
}

function platform(state: PlatformStateStore, o: { token?: string; metrics?: Metrics; log?: ReturnType<typeof capturingLogger>['log']; syncTimeoutMs?: number } = {}): MatrixPlatform {
  const config = MatrixPlatformConfigSchema.parse({ enabled: true, homeserverUrl: proxy.url, accessToken: o.token ?? bot.accessToken, syncTimeoutMs: o.syncTimeoutMs ?? 500 });
  const p = new MatrixPlatform(config, { state, log: o.log ?? capturingLogger().log, metrics: o.metrics ?? createMetrics() });
  running.push(p);
  return p;
}

const texts = (events: RoomEvent[]) => events.filter((e): e is RoomMessageEvent => e.kind === 'message' && e.room.roomId === roomId && !e.fromSelf).map((e) => e.text);

beforeAll(async () => {
  hs = await startFakeHomeserver();
  proxy = await startFaultProxy(hs.url);
  [bot, alice, bob] = (await Promise.all(['bot', 'alice', 'bob'].map((n) => MatrixPerson.register(hs.url, n)))) as [MatrixPerson, MatrixPerson, MatrixPerson];
  roomId = await alice.createRoom({ invite: [bot.userId, bob.userId] });
  await bot.join(roomId);
  await bob.join(roomId);
});

afterEach(async () => {
  for (const p of running.splice(0)) await p.stop();
});

afterAll(async () => {
  await proxy?.close();
  await hs?.close();
});

describe('Matrix platform', () => {
  it('delivers one event at a time, in order, and a stop in the middle of a batch loses nothing', async () => {
    const state = memoryState();
    const first = platform(state);
    const seen: RoomEvent[] = [];
    let inside = 0;
    let overlapped = false;
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    await first.start(async (e) => {
      inside++;
      if (inside > 1) overlapped = true;
      seen.push(e);
      if (e.kind === 'message' && e.text === 'two') await gate; // the bridge is busy with "two" when the stop comes
      inside--;
    });
    // One batch: all three are written before the bot's next sync.
    await Promise.all(['one', 'two', 'three'].map(async (t, i) => { await sleep(i * 5); await alice.say(roomId, t); }));
    await waitFor(() => texts(seen).includes('two'), '"two" to be handed over', 10_000);
    const stopped = first.stop();
    release();
    await stopped;
    expect(overlapped).toBe(false);
    expect(texts(seen)).not.toContain('three'); // not delivered after the stop…

    const again: RoomEvent[] = [];
    await platform(state).start(async (e) => void again.push(e));
    await waitFor(() => texts(again).includes('three'), '"three" after the restart', 10_000); // …and not lost
    expect(texts([...seen, ...again]).filter((t) => t === 'one').length).toBeGreaterThanOrEqual(1);
    expect(texts(again).indexOf('three')).toBe(texts(again).length - 1);
  });

  it('ends its long-poll when stopped, rather than keeping the process alive for the sync timeout', async () => {
    const p = platform(memoryState(), { syncTimeoutMs: 60_000 });
    await p.start(async () => undefined);
    await waitFor(() => proxy.openRequests() === 1, 'the long-poll', 5_000);
    await p.stop();
    await waitFor(() => proxy.openRequests() === 0, 'the long-poll to be ended by stop (the sync timeout is a minute)', 5_000);
  });

  it('keeps delivering after the handler throws', async () => {
    const { log, lines } = capturingLogger();
    const p = platform(memoryState(), { log });
    const seen: string[] = [];
    await p.start(async (e) => {
      if (e.kind !== 'message' || e.room.roomId !== roomId || e.fromSelf) return;
      if (e.text === 'boom') throw new Error('handler failed');
      seen.push(e.text);
    });
    await alice.say(roomId, 'boom');
    await alice.say(roomId, 'after');
    await waitFor(() => seen.includes('after'), 'the next message', 10_000);
    expect(lines.some((l) => String(l.msg).includes('could not handle a room event') && String(l.err).includes('handler failed'))).toBe(true);
  });

  it("gives senders their room name and level (moderatorPowerLevel), following power level changes", async () => {
    const p = platform(memoryState());
    const seen: RoomMessageEvent[] = [];
    await p.start(async (e) => void (e.kind === 'message' && e.room.roomId === roomId && seen.push(e)));
    await bob.request('PUT', `/_matrix/client/v3/profile/${encodeURIComponent(bob.userId)}/displayname`, { displayname: 'Bobby' });
    await bob.say(roomId, 'as a member');
    await waitFor(() => seen.some((e) => e.text === 'as a member'), 'the message', 10_000);
    expect(seen.find((e) => e.text === 'as a member')!.sender).toEqual({ id: bob.userId, displayName: 'Bobby', level: 'member' });
    expect(seen.find((e) => e.text === 'as a member')!.sender.level).toBe('member');

    await alice.setPowerLevel(roomId, bob.userId, 50);
    await bob.say(roomId, 'as a moderator');
    await waitFor(() => seen.some((e) => e.text === 'as a moderator'), 'the message', 10_000);
    expect(seen.find((e) => e.text === 'as a moderator')!.sender.level).toBe('moderator');
    await alice.setPowerLevel(roomId, bob.userId, 0);
  });

  it('counts and skips a malformed event, once in the log', async () => {
    const metrics = createMetrics();
    const { log, lines } = capturingLogger();
    const p = platform(memoryState(), { metrics, log });
    const seen: string[] = [];
    await p.start(async (e) => void (e.kind === 'message' && e.room.roomId === roomId && !e.fromSelf && seen.push(e.text)));
    await alice.send(roomId, 'm.room.message', { msgtype: 'm.text' }); // no body
    await alice.send(roomId, 'm.room.message', { msgtype: 'm.text', body: 42 });
    await alice.say(roomId, 'fine');
    await waitFor(() => seen.includes('fine'), 'the good message', 10_000);
    expect(seen).toEqual(['fine']);
    expect(await counterValue(metrics.platformRejected, { platform: 'matrix', reason: 'malformed m.room.message' })).toBe(2);
    expect(lines.filter((l) => String(l.msg).includes('not valid'))).toHaveLength(1);
  });

  it('reports its connection: connected after start, down with the last error while /sync fails', async () => {
    const p = platform(memoryState());
    await p.start(async () => undefined);
    expect(p.status()).toMatchObject({ connected: true, detail: `${bot.userId} on ${proxy.url}` });
    proxy.fail({ match: (m, path) => path.includes('/sync'), times: 1, status: 502, body: { errcode: 'M_UNKNOWN', error: 'bad gateway' } });
    await waitFor(() => !p.status().connected, 'the failed sync to show', 10_000);
    expect(p.status().lastError?.message).toContain('M_UNKNOWN');
    expect(JSON.stringify(p.status())).not.toContain(bot.accessToken);
  });

  it('turns a 429 on any write into RateLimitedError with the server delay, and writes before start (worker processes)', async () => {
    const p = platform(memoryState());
    const room = { platform: platformId('matrix'), roomId };
    const id = await p.post(room, { text: 'written by a worker', notice: true });
    for (const type of ['m.room.message', 'm.reaction']) {
      proxy.fail({ match: (m, path) => m === 'PUT' && path.includes(`/send/${type}/`), status: 429, body: { errcode: 'M_LIMIT_EXCEEDED', error: 'Too Many Requests', retry_after_ms: 1234 } });
    }
    const refused = await p.post(room, { text: 'x' }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(RateLimitedError);
    expect((refused as RateLimitedError).retryAfterMs).toBe(1234);
    await expect(p.react(room, id, '✔️')).rejects.toBeInstanceOf(RateLimitedError);
    await p.react(room, id, '✔️');
    await p.react(room, id, '✔️'); // the same reaction again: one event
    const reactions = (await alice.timeline(roomId)).filter((e) => e.type === 'm.reaction' && e.sender === bot.userId);
    expect(reactions).toHaveLength(1);
    // A retried post with the same key is the same event.
    const a = await p.post(room, { text: 'once', idempotencyKey: 'k1' });
    const b = await p.post(room, { text: 'once', idempotencyKey: 'k1' });
    expect(b).toBe(a);
    await p.stop();
    await expect(p.post(room, { text: 'too late' })).rejects.toThrow('stopped');
  });

  it('starts while the homeserver cannot be reached, and connects and delivers once it can', async () => {
    const down = (m: string, path: string) => path.includes('/account/whoami');
    proxy.fail({ match: down, times: 2, status: 502, body: { errcode: 'M_UNKNOWN', error: 'homeserver restarting' } });
    const { log, lines } = capturingLogger();
    const p = platform(memoryState(), { log });
    const seen: string[] = [];
    await p.start(async (e) => void (e.kind === 'message' && e.room.roomId === roomId && !e.fromSelf && seen.push(e.text)));
    expect(p.status()).toMatchObject({ connected: false, lastError: { message: 'M_UNKNOWN: homeserver restarting' } });
    expect(lines.some((l) => String(l.msg).includes('retrying in the background'))).toBe(true);
    await waitFor(() => p.status().connected, 'the platform to connect', 20_000);
    await alice.say(roomId, 'after the outage');
    await waitFor(() => seen.includes('after the outage'), 'the message', 10_000);
  });

  it('refuses to start with a token the homeserver does not know, without showing it', async () => {
    const p = platform(memoryState(), { token: 'syt_secret_token_value' });
    const err = await p.start(async () => undefined).catch((e: unknown) => e as Error);
    expect(err).toBeInstanceOf(Error);
    expect(err!.message).toMatch(/cannot sign in to the Matrix homeserver .*M_UNKNOWN_TOKEN/);
    expect(err!.message).not.toContain('syt_secret_token_value');
  });
});
