/**
 * The Matrix platform passes the platform contract against the fake
 * homeserver (unmodified matrix-bot-sdk), or a real one named by
 * ROOMCAST_TEST_MATRIX_URL (open registration). The pace is the server's to
 * enforce, so a refusal is made by a proxy answering 429 as Synapse does.
 */
import { afterAll, beforeAll } from 'vitest';
import { createMetrics } from '../../../src/observability/metrics.js';
import { silentLogger } from '../../../src/observability/logger.js';
import { MatrixPlatformConfigSchema } from '../../../src/platforms/matrix/config.js';
import { MatrixPlatform } from '../../../src/platforms/matrix/matrix-platform.js';
import { platformId, platformMessageId } from '../../../src/platforms/platform.js';
import type { PlatformStateStore, RoomSender } from '../../../src/platforms/platform.js';
import { startFakeHomeserver } from '../../fakes/matrix/index.js';
import { startFaultProxy } from '../../support/http-fault-proxy.js';
import type { FaultProxy } from '../../support/http-fault-proxy.js';
import { MatrixPerson } from '../../support/matrix-person.js';
import type { MatrixEventJson } from '../../support/matrix-person.js';
import { runPlatformContract } from '../contract.js';

const REAL = process.env.ROOMCAST_TEST_MATRIX_URL;
let hs: { url: string; close(): Promise<void> };
let proxy: FaultProxy;
let bot: MatrixPerson;
let alice: MatrixPerson;
let bob: MatrixPerson;

beforeAll(async () => {
  hs = REAL ? { url: REAL, close: async () => undefined } : await startFakeHomeserver();
  proxy = await startFaultProxy(hs.url);
  [bot, alice, bob] = (await Promise.all(['bot', 'alice', 'bob'].map((n) => MatrixPerson.register(hs.url, n)))) as [MatrixPerson, MatrixPerson, MatrixPerson];
});

afterAll(async () => {
  await proxy?.close();
  await hs?.close();
});

async function sender(p: MatrixPerson, level: RoomSender['level']): Promise<RoomSender> {
  const { displayname } = await p.request<{ displayname: string }>('GET', `/_matrix/client/v3/profile/${encodeURIComponent(p.userId)}/displayname`);
  return { id: p.userId, displayName: displayname, level };
}

/** Texts of the room as a client shows them: edits applied, redacted and edit events left out. */
function shownTexts(timeline: MatrixEventJson[]): string[] {
  const messages = timeline.filter((e) => e.type === 'm.room.message');
  const edits = new Map<string, string>();
  for (const e of messages) {
    const rel = e.content['m.relates_to'] as { rel_type?: string; event_id?: string } | undefined;
    if (rel?.rel_type === 'm.replace' && rel.event_id) edits.set(rel.event_id, String((e.content['m.new_content'] as { body?: unknown }).body));
  }
  return messages
    .filter((e) => (e.content['m.relates_to'] as { rel_type?: string } | undefined)?.rel_type !== 'm.replace' && typeof e.content.body === 'string')
    .map((e) => edits.get(e.event_id) ?? String(e.content.body));
}

runPlatformContract(`matrix (${REAL ? `real homeserver ${REAL}` : 'fake homeserver'})`, async () => {
  const roomId = await alice.createRoom({ invite: [bot.userId, bob.userId] });
  await bot.join(roomId);
  await bob.join(roomId);
  const values = new Map<string, string>();
  const state: PlatformStateStore = { get: async (k) => values.get(k), set: async (k, v) => void values.set(k, v) };
  const config = MatrixPlatformConfigSchema.parse({ enabled: true, homeserverUrl: proxy.url, accessToken: bot.accessToken, syncTimeoutMs: 300 });
  const platform = new MatrixPlatform(config, { state, log: silentLogger(), metrics: createMetrics() });
  const people = { alice: await sender(alice, 'moderator'), bob: await sender(bob, 'member') };
  const as = (s: RoomSender) => (s.id === alice.userId ? alice : bob);
  const room = { platform: platformId('matrix'), roomId };
  return {
    platform,
    room,
    people,
    say: async (s, text, o) => {
      const p = as(s);
      if (o?.replyTo) {
        const target = await p.request<MatrixEventJson>('GET', `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/event/${encodeURIComponent(o.replyTo)}`);
        return platformMessageId(await p.reply(roomId, { event_id: target.event_id, sender: target.sender, body: String(target.content.body) }, text));
      }
      return platformMessageId(await p.say(roomId, text, o?.notice ? 'm.notice' : 'm.text'));
    },
    sendFile: async (s, f) => {
      const p = as(s);
      const url = await p.upload(f.bytes, f.mimeType, f.name);
      return platformMessageId(await p.send(roomId, 'm.room.message', { msgtype: 'm.file', body: f.name, url, info: { size: f.bytes.length, mimetype: f.mimeType } }));
    },
    edit: async (s, target, text) => void (await as(s).edit(roomId, target, text)),
    react: async (s, target, emoji) => void (await as(s).send(roomId, 'm.reaction', { 'm.relates_to': { rel_type: 'm.annotation', event_id: target, key: emoji } })),
    redact: async (s, target) => void (await as(s).request('PUT', `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/redact/${encodeURIComponent(target)}/r${Date.now()}`, {})),
    texts: async () => shownTexts(await alice.timeline(roomId)),
    refuseNextWrite: (retryAfterMs) =>
      proxy.fail({ match: (m, path) => m === 'PUT' && path.includes('/send/'), status: 429, body: { errcode: 'M_LIMIT_EXCEEDED', error: 'Too Many Requests', retry_after_ms: retryAfterMs } }),
    writesBeforeStart: true,
  };
});
