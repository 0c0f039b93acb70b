/**
 * Discord end to end: discord.js (unmodified) against a Discord API, people
 * who talk in a channel over REST with their own tokens, real Redis queues,
 * a real Mosquitto broker and Nostr relay, and a roomcast peer on the
 * networks.
 *
 * The server is the wire-level fake (test/fakes/discord/) unless
 * ROOMCAST_TEST_DISCORD_API_URL names a real Discord-compatible one and
 * ROOMCAST_TEST_DISCORD_ACCOUNTS the accounts file its bootstrap wrote (the
 * Spacebar that ../shared/peers/spacebar builds):
 *   ROOMCAST_TEST_DISCORD_API_URL=http://127.0.0.1:13001/api \
 *   ROOMCAST_TEST_DISCORD_ACCOUNTS=/tmp/spacebar-w/accounts.json npx vitest run discord-e2e
 * The bot reaches the REST API through a fault proxy, so a 429 is injected
 * the same way on either; what only the fake can do (drop the gateway, deny
 * a permission, count pings) is asserted on the fake.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MessageEvent } from '../../src/broadcaster/events.js';
import { generateIdentity } from '../../src/identity/keys.js';
import { decodeMagnet, encodeMagnet } from '../../src/identity/magnet.js';
import { silentLogger } from '../../src/observability/logger.js';
import { createMetrics } from '../../src/observability/metrics.js';
import { DiscordPlatformConfigSchema } from '../../src/platforms/discord/config.js';
import { DiscordPlatform } from '../../src/platforms/discord/discord-platform.js';
import { openStore } from '../../src/store/index.js';
import type { Store } from '../../src/store/store.js';
import type { FakeDiscord } from '../fakes/discord/index.js';
import { startTestBridge } from '../support/bridge.js';
import type { TestBridge } from '../support/bridge.js';
import { DiscordPerson } from '../support/discord-person.js';
import type { DiscordCommandJson, DiscordMessageJson } from '../support/discord-person.js';
import { startFaultProxy } from '../support/http-fault-proxy.js';
import type { FaultProxy } from '../support/http-fault-proxy.js';
import { openTestNode, startNetwork } from '../support/network.js';
import type { TestNetwork, TestNode } from '../support/network.js';
import { sleep, waitFor } from '../support/wait.js';

const REAL = process.env.ROOMCAST_TEST_DISCORD_API_URL;
const SETTLE_MS = REAL ? 2500 : 1200;
const ZWJ = '\u200d';

interface Accounts {
  base_url: string;
  api_url: string;
  guild_id: string;
  channel_id: string;
  application_id: string;
  bot: { id: string; token: string };
  alice: { id: string; token: string };
  bob: { id: string; token: string };
}

let net: TestNetwork;
let fake: FakeDiscord | undefined;
let acc: Accounts;
let proxy: FaultProxy;
let store: Store;
const service = generateIdentity();
let alice: DiscordPerson; // owns the server: a moderator
let bob: DiscordPerson; // a member
let bridge: TestBridge | undefined;
let peer: TestNode;
const got: MessageEvent[] = [];
let channel: string;
let roomMagnet: string;
let roomcast: DiscordCommandJson;

async function startBridge(): Promise<TestBridge> {
  const config = DiscordPlatformConfigSchema.parse({ enabled: true, token: acc.bot.token, apiUrl: `${proxy.url}/api` });
  const platform = new DiscordPlatform(config, { state: store.platformState('discord'), log: silentLogger(), metrics: createMetrics() });
  return startTestBridge({ net, store, service, writePlatform: platform });
}

const contents = () => got.map((e) => e.message.content);
/** The channel's newest message when the test began: a real server keeps earlier runs' messages, which must not count. */
let since = '0';
const isNew = (m: DiscordMessageJson) => BigInt(m.id) > BigInt(since);
const fromBot = (m: DiscordMessageJson) => m.author.id === acc.bot.id && isNew(m);
const slash = (by: DiscordPerson, options: unknown[], where = channel) =>
  by.slash(roomcast, { applicationId: acc.application_id, guildId: acc.guild_id, channelId: where }, options);
const contactAdd = (name: string, magnet: string) => [
  { type: 2, name: 'contact', options: [{ type: 1, name: 'add', options: [{ type: 3, name: 'name', value: name }, { type: 3, name: 'magnet', value: magnet }] }] },
];
/** Who reacted with `emoji` (none yet: Discord answers 404). */
const reactors = (id: string, emoji: string) => alice.reactions(channel, id, emoji).catch(() => [] as string[]);
/** Webhook messages by `name` in a channel, oldest first. */
const hookPosts = async (where: string, name: string) => (await alice.messages(where, 100)).filter((m) => isNew(m) && m.webhook_id && m.author.username === name);

beforeAll(async () => {
  net = await startNetwork(1, 1);
  if (REAL) {
    acc = JSON.parse(readFileSync(process.env.ROOMCAST_TEST_DISCORD_ACCOUNTS ?? '', 'utf8')) as Accounts;
  } else {
    fake = await (await import('../fakes/discord/index.js')).startFakeDiscord();
    acc = fake.bootstrap();
  }
  proxy = await startFaultProxy(acc.base_url);
  alice = new DiscordPerson(acc.api_url, acc.alice);
  bob = new DiscordPerson(acc.api_url, acc.bob);
  channel = acc.channel_id;
  since = (await alice.messages(channel, 1)).at(-1)?.id ?? '0';
  store = await openStore({ url: `file:${join(await mkdtemp(join(tmpdir(), 'rc-discord-')), 'roomcast.db')}` });
  bridge = await startBridge();
  peer = await openTestNode(net);
  peer.broadcaster.on('message', (e) => got.push(e));
  await peer.broadcaster.start();
  await waitFor(async () => {
    const found = (await alice.commands(acc.application_id, acc.guild_id, acc.bot.token)).find((c) => c.name === 'roomcast');
    if (found) roomcast = found;
    return found !== undefined;
  }, 'the /roomcast command to be registered', 20_000);
}, 90_000);

afterAll(async () => {
  await bridge?.stop();
  await peer?.close();
  await store?.close();
  await proxy?.close();
  await fake?.close();
  await net?.stop();
});

describe(`Discord channels (${REAL ? `real server ${REAL}` : 'fake Discord'})`, () => {
  it('answers !roomcast whoami; refuses /roomcast contact add from a member (privately) and takes it from a moderator', async () => {
    await alice.say(channel, '!roomcast whoami');
    const who = await alice.waitForMessage(channel, (m) => fromBot(m) && m.content.includes('magnet:?xt='), 'the whoami answer', 20_000);
    roomMagnet = /magnet:\?\S+/.exec(who.content)![0];
    expect(decodeMagnet(roomMagnet).xOnly).toMatch(/^[0-9a-f]{64}$/);

    await slash(bob, contactAdd('eve', encodeMagnet(generateIdentity())));
    if (fake) {
      await waitFor(() => fake!.interactionResponses.some((r) => r.userId === acc.bob.id), 'the refusal', 10_000);
      const refusal = fake.interactionResponses.find((r) => r.userId === acc.bob.id)!;
      expect(refusal.content).toContain('Only room moderators');
      expect(refusal.ephemeral).toBe(true);
    } else {
      // Spacebar fails on ephemeral answers: the platform answers plainly instead (never no answer).
      await alice.waitForMessage(channel, (m) => fromBot(m) && m.content.includes('Only room moderators'), 'the refusal', 20_000);
    }
    await slash(alice, contactAdd('carol', encodeMagnet(peer.identity)));
    await alice.waitForMessage(channel, (m) => fromBot(m) && m.content.includes('carol') && !m.content.includes('Only'), 'the contact to be added', 20_000);
    expect((await store.listContacts(decodeMagnet(roomMagnet).xOnly)).map((c) => c.name)).toEqual(['carol']);
  });

  it("relays a person's message to the peer; the peer's ack shows as ✔️ and 📬, and the receipt is a reply to it", async () => {
    const id = await bob.say(channel, 'Hello carol');
    await waitFor(() => contents().some((c) => c.endsWith(': Hello carol')), 'the peer to receive it', 20_000);
    expect(contents().filter((c) => c.endsWith(': Hello carol'))).toHaveLength(1);
    expect(got.find((e) => e.message.content.endsWith(': Hello carol'))!.sender.xOnly).toBe(decodeMagnet(roomMagnet).xOnly);
    await waitFor(async () => (await reactors(id, '📬')).includes(acc.bot.id), 'the 📬 reaction', 20_000);
    expect(await reactors(id, '✔️')).toContain(acc.bot.id);
    const receipt = await alice.waitForMessage(channel, (m) => fromBot(m) && m.message_reference?.message_id === id, 'the receipt notice', 20_000);
    expect(receipt.content).toContain('Hello carol');
  });

  it("posts a peer's message through the webhook under the contact's name, pinging no one", async () => {
    await peer.broadcaster.send(decodeMagnet(roomMagnet), 'hi @everyone and @here and <@&123456789012345678>');
    await waitFor(async () => (await hookPosts(channel, 'carol')).length > 0, 'the webhook post', 20_000);
    const [m] = await hookPosts(channel, 'carol');
    expect(m!.content).toBe(`hi @${ZWJ}everyone and @${ZWJ}here and <@${ZWJ}&123456789012345678>`);
    expect(m!.mention_everyone ?? false).toBe(false);
    if (fake) {
      expect(fake.pings().filter((p) => p.messageId === m!.id).flatMap((p) => p.userIds)).toEqual([]);
      const sent = fake.requests.filter((r) => r.method === 'POST' && r.path.startsWith('/webhooks/'));
      expect(sent.length).toBeGreaterThan(0);
      for (const r of sent) expect((r.body as { allowed_mentions?: unknown }).allowed_mentions).toMatchObject({ parse: [] });
    }
    // Neither the webhook's post nor the bot's own ones came back to the peer.
    await sleep(SETTLE_MS);
    expect(contents().some((c) => c.includes('@everyone') || c.includes(`@${ZWJ}`))).toBe(false);
  });

  it('sends an edit once, as a correction; an update without edited_timestamp is no edit', async () => {
    const id = await bob.say(channel, 'meet at 5');
    await waitFor(() => contents().some((c) => c.endsWith(': meet at 5')), 'the original', 20_000);
    await bob.edit(channel, id, 'meet at 6');
    await waitFor(() => contents().some((c) => c.endsWith(': ✎ meet at 6')), 'the correction', 20_000);
    await sleep(SETTLE_MS);
    expect(contents().filter((c) => c.includes('✎'))).toHaveLength(1);
  });

  it('after a restart: reuses its webhook and catches up on what was said meanwhile', async () => {
    const hooksBefore = await alice.request<Array<{ id: string }>>('GET', `/channels/${channel}/webhooks`, undefined, `Bot ${acc.bot.token}`);
    await bridge!.stop();
    bridge = undefined;
    await bob.say(channel, 'said while roomcast was away');
    bridge = await startBridge();
    await waitFor(() => contents().some((c) => c.endsWith(': said while roomcast was away')), 'the message from while it was away', 30_000);
    await peer.broadcaster.send(decodeMagnet(roomMagnet), 'after the restart');
    await waitFor(async () => (await hookPosts(channel, 'carol')).some((p) => p.content === 'after the restart'), 'the post after the restart', 20_000);
    const hooksAfter = await alice.request<Array<{ id: string }>>('GET', `/channels/${channel}/webhooks`, undefined, `Bot ${acc.bot.token}`);
    expect(hooksAfter.map((h) => h.id).sort()).toEqual(hooksBefore.map((h) => h.id).sort());
    await sleep(SETTLE_MS);
    expect(contents().filter((c) => c.endsWith(': said while roomcast was away'))).toHaveLength(1);
    expect(contents().filter((c) => c.endsWith(': Hello carol'))).toHaveLength(1);
  });

  it('waits out a 429 with retry_after, losing and reordering nothing', async () => {
    proxy.fail({
      match: (method, path) => method === 'POST' && path.includes('/webhooks/'),
      status: 429,
      body: { message: 'You are being rate limited.', retry_after: 0.4, global: false },
      headers: { 'retry-after': '0.4', 'x-ratelimit-scope': 'user' },
      times: 2,
    });
    await peer.broadcaster.send(decodeMagnet(roomMagnet), 'first after 429');
    await peer.broadcaster.send(decodeMagnet(roomMagnet), 'second after 429');
    await waitFor(async () => (await hookPosts(channel, 'carol')).some((p) => p.content.includes('second after 429')), 'both posts', 30_000);
    const lines = (await hookPosts(channel, 'carol')).flatMap((p) => p.content.split('\n')).filter((l) => l.endsWith('after 429'));
    expect(lines).toEqual(['first after 429', 'second after 429']);
    expect(proxy.injected.filter((r) => r.status === 429)).toHaveLength(2);
  });

  it('30 peer messages in a burst arrive in order, in fewer posts, within the rate limit', async () => {
    const lines = Array.from({ length: 30 }, (_, i) => `burst ${String(i + 1).padStart(2, '0')}`);
    const hits = fake?.rateLimitHits ?? 0;
    const t0 = Date.now();
    for (const line of lines) await peer.broadcaster.send(decodeMagnet(roomMagnet), line);
    const sent = Date.now() - t0;
    const shown = async () => (await hookPosts(channel, 'carol')).filter((p) => p.content.includes('burst '));
    await waitFor(async () => (await shown()).flatMap((p) => p.content.split('\n')).length >= 30, 'every burst line', 60_000);
    const posts = await shown();
    expect(posts.flatMap((p) => p.content.split('\n'))).toEqual(lines);
    expect(posts.length).toBeLessThan(30);
    if (fake) expect(fake.rateLimitHits).toBe(hits);
    console.log(`burst: 30 messages sent in ${sent} ms arrived in ${posts.length} posts after ${Date.now() - t0} ms`);
  });
});
