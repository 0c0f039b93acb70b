/**
 * The Discord platform on its own (no bridge) against the fake Discord:
 * what it makes of gateway events, what it writes, and what only a fake can
 * stage — a dropped gateway, a missing permission, pings counted, a thread.
 * The bot here is no administrator: it has a role with the permissions the
 * README's invite link asks for, and one channel denies it Manage Webhooks.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/observability/logger.js';
import { createMetrics } from '../../src/observability/metrics.js';
import { DiscordPlatformConfigSchema } from '../../src/platforms/discord/config.js';
import { DiscordPlatform } from '../../src/platforms/discord/discord-platform.js';
import { NO_WEBHOOK_NOTICE } from '../../src/platforms/discord/writes.js';
import { RateLimitedError } from '../../src/platforms/platform.js';
import type { RoomCommandEvent, RoomEvent, RoomRef } from '../../src/platforms/platform.js';
import { Perm, startFakeDiscord } from '../fakes/discord/index.js';
import type { FakeDiscord } from '../fakes/discord/index.js';
import { DiscordPerson } from '../support/discord-person.js';
import { sleep, waitFor } from '../support/wait.js';

const ZWJ = '\u200d';
const BOT_PERMS = Perm.VIEW_CHANNEL | Perm.SEND_MESSAGES | Perm.READ_MESSAGE_HISTORY | Perm.ADD_REACTIONS | Perm.MANAGE_WEBHOOKS | Perm.SEND_MESSAGES_IN_THREADS | Perm.EMBED_LINKS;

let fake: FakeDiscord;
let bot: ReturnType<FakeDiscord['createBot']>;
let aliceToken: string;
let alice: DiscordPerson; // owner
let bob: DiscordPerson; // member
let carla: DiscordPerson; // member with the Helpers role
let guild: string;
let general: string;
let nohooks: string;
let elsewhere: string;
let helpers: string;
let platform: DiscordPlatform;
const state = new Map<string, string>();
const events: RoomEvent[] = [];

function newPlatform(extra: Record<string, unknown> = {}): DiscordPlatform {
  const config = DiscordPlatformConfigSchema.parse({ enabled: true, token: bot.token, apiUrl: fake.apiUrl, channels: [general, nohooks], ...extra });
  const store = { get: async (k: string) => state.get(k), set: async (k: string, v: string) => void state.set(k, v) };
  return new DiscordPlatform(config, { state: store, log: silentLogger(), metrics: createMetrics() });
}

const commands = [
  { usage: 'whoami', description: 'who' },
  { usage: 'contact add <name> <magnet>', description: 'add a contact' },
];

async function startPlatform(p: DiscordPlatform): Promise<void> {
  await p.start(
    async (e) => {
      events.push(e);
      if (e.kind === 'command') await e.respond(`${e.sender.level}: ${e.text}`, { private: true });
    },
    { commands },
  );
}

const room = (roomId: string): RoomRef => ({ platform: platform.id, roomId });
const texts = () => events.flatMap((e) => (e.kind === 'message' ? [e.text] : []));

beforeAll(async () => {
  fake = await startFakeDiscord();
  const a = fake.createUser('alice');
  aliceToken = a.token;
  const b = fake.createUser('bob');
  const c = fake.createUser('carla');
  bot = fake.createBot('roomcast');
  guild = fake.createGuild('town', a.id);
  fake.addMember(guild, b.id);
  helpers = fake.createRole(guild, 'Helpers', 0n);
  fake.addMember(guild, c.id, [helpers]);
  fake.addMember(guild, bot.id, [fake.createRole(guild, 'roomcast', BOT_PERMS)]);
  general = fake.createChannel(guild, 'general');
  nohooks = fake.createChannel(guild, 'no-hooks');
  elsewhere = fake.createChannel(guild, 'elsewhere');
  fake.deny(nohooks, bot.id, Perm.MANAGE_WEBHOOKS);
  alice = new DiscordPerson(fake.apiUrl, a);
  bob = new DiscordPerson(fake.apiUrl, b);
  carla = new DiscordPerson(fake.apiUrl, c);
  platform = newPlatform();
  await startPlatform(platform);
}, 30_000);

afterAll(async () => {
  await platform?.stop();
  await fake?.close();
});

beforeEach(() => {
  events.length = 0;
});

describe('Discord platform (fake Discord)', () => {
  it('delivers people’s messages with their level; its own and its webhook’s come flagged; an unfurl-style update is no edit, a real edit is', async () => {
    const id = await bob.say(general, 'hello <@' + bot.id + '>');
    await alice.say(general, 'from the owner');
    await waitFor(() => texts().includes('from the owner'), 'both messages');
    const [fromBob, fromAlice] = events.filter((e) => e.kind === 'message');
    expect(fromBob).toMatchObject({ text: 'hello @roomcast', sender: { displayName: 'bob', level: 'member' }, fromSelf: false, notice: false });
    expect(fromAlice).toMatchObject({ sender: { level: 'moderator' } });

    await platform.post(room(general), { text: 'as the bot' });
    await platform.post(room(general), { text: 'as a contact', author: 'carol' });
    await waitFor(() => texts().includes('as a contact'), 'the webhook post to come back');
    for (const e of events.filter((x) => x.kind === 'message' && x.text.startsWith('as '))) expect(e).toMatchObject({ fromSelf: true, notice: true });

    await bob.edit(general, id, 'hello again');
    await waitFor(() => events.some((e) => e.kind === 'edit'), 'the edit');
    // The fake sends an update without edited_timestamp after every message (as Spacebar does): none of those became an edit.
    expect(events.filter((e) => e.kind === 'edit')).toMatchObject([{ target: id, text: 'hello again' }]);
  });

  it('delivers a reply with what it answers, and a file with its name, size, type and a URL that serves it', async () => {
    const asked = await alice.say(general, 'what time?');
    await bob.say(general, 'at six', { replyTo: asked });
    const upload = () => {
      const form = new FormData();
      form.append('payload_json', JSON.stringify({ content: 'the plan', attachments: [{ id: 0, filename: 'plan.txt' }] }));
      form.append('files[0]', new Blob(['six o’clock, by the river'], { type: 'text/plain' }), 'plan.txt');
      return fetch(`${fake.apiUrl}/v9/channels/${general}/messages`, { method: 'POST', headers: { authorization: aliceToken }, body: form });
    };
    let res = await upload();
    // The channel's 5 writes per 5 s are shared with the earlier tests: wait out a 429 as a client does.
    for (let i = 0; res.status === 429 && i < 5; i++) {
      const { retry_after: seconds = 1 } = (await res.json()) as { retry_after?: number };
      await sleep(1000 * seconds);
      res = await upload();
    }
    expect(res.ok).toBe(true);
    await waitFor(() => texts().includes('the plan'), 'the file message');
    const reply = events.find((e) => e.kind === 'message' && e.text === 'at six');
    expect(reply).toMatchObject({ replyTo: { id: asked, excerpt: 'what time?' } });
    const file = events.find((e) => e.kind === 'message' && e.text === 'the plan');
    const [att] = file?.kind === 'message' ? (file.attachments ?? []) : [];
    expect(att).toMatchObject({ name: 'plan.txt', size: Buffer.byteLength('six o’clock, by the river'), mimeType: expect.stringContaining('text/plain') });
    expect(await (await fetch(att!.url)).text()).toBe('six o’clock, by the river');
  });

  it('bridges only the configured channels', async () => {
    await alice.say(elsewhere, 'not bridged');
    await alice.say(general, 'bridged');
    await waitFor(() => texts().includes('bridged'), 'the bridged message');
    expect(texts()).not.toContain('not bridged');
  });

  it('neutralises every mention and sends allowed_mentions { parse: [] }: no one is pinged', async () => {
    const where = fake.createChannel(guild, 'mentions');
    const text = `@everyone @here <@${alice.id}> <@&${helpers}>`;
    const ids = [await platform.post(room(where), { text }), await platform.post(room(where), { text, author: 'carol' }), await platform.post(room(where), { text, notice: true })];
    for (const id of ids) expect(fake.messages(where).find((m) => m.id === id)!.content).toBe(`@${ZWJ}everyone @${ZWJ}here <@${ZWJ}${alice.id}> <@${ZWJ}&${helpers}>`);
    expect(fake.pings().filter((p) => (ids as string[]).includes(p.messageId))).toEqual([]);
    const writes = fake.requests.filter((r) => r.method === 'POST' && (r.path.includes('/messages') || r.path.startsWith('/webhooks/')));
    for (const r of writes.slice(-3)) expect((r.body as { allowed_mentions?: unknown }).allowed_mentions).toMatchObject({ parse: [] });
  });

  it('names contacts as Discord allows: "discord" and "clyde" changed, at most 80 characters', async () => {
    const where = fake.createChannel(guild, 'names');
    await platform.post(room(where), { text: 'one', author: 'Clyde' });
    await platform.post(room(where), { text: 'two', author: 'my Discord pal' });
    await platform.post(room(where), { text: 'three', author: 'x'.repeat(100) });
    const names = fake.messages(where).map((m) => m.author.username);
    expect(names).toEqual(['C1yde', 'my Disc0rd pal', `${'x'.repeat(79)}…`]);
  });

  it('posts once per idempotency key, as the bot and through the webhook', async () => {
    const where = fake.createChannel(guild, 'keyed');
    const a = await platform.post(room(where), { text: 'keyed bot post', idempotencyKey: 'k-bot' });
    const b = await platform.post(room(where), { text: 'keyed bot post', idempotencyKey: 'k-bot' });
    const c = await platform.post(room(where), { text: 'keyed hook post', author: 'carol', idempotencyKey: 'k-hook' });
    const d = await platform.post(room(where), { text: 'keyed hook post', author: 'carol', idempotencyKey: 'k-hook' });
    expect([b, d]).toEqual([a, c]);
    expect(fake.messages(where)).toHaveLength(2);
  });

  it('without Manage Webhooks: contacts as the bot with the name in bold, and the room told why once', async () => {
    await platform.post(room(nohooks), { text: 'first', author: 'carol' });
    await platform.post(room(nohooks), { text: 'second', author: 'carol' });
    const contents = fake.messages(nohooks).map((m) => m.content);
    expect(contents).toEqual([NO_WEBHOOK_NOTICE, '**carol**: first', '**carol**: second']);
    expect(fake.webhooks(nohooks)).toHaveLength(0);
  });

  it('bridges a thread as its own room and posts into it through the parent’s one webhook', async () => {
    const thread = await alice.createThread(general, 'side talk');
    await bob.say(thread, 'in the thread');
    await waitFor(() => texts().includes('in the thread'), 'the thread message');
    expect(events.find((e) => e.kind === 'message' && e.text === 'in the thread')!.room.roomId).toBe(thread);
    await platform.post(room(thread), { text: 'reply in thread', author: 'carol' });
    expect(fake.messages(thread).find((m) => m.content === 'reply in thread')?.webhook_id).toBeDefined();
    expect(fake.webhooks(general)).toHaveLength(1);
  });

  it('refuses a write over the channel’s rate limit with the server’s delay, writing nothing', async () => {
    const busy = fake.createChannel(guild, 'busy');
    const p = newPlatform({ channels: [busy] });
    try {
      const results = await Promise.allSettled(Array.from({ length: 6 }, (_, i) => p.post(room(busy), { text: `n${i}` })));
      const refused = results.filter((r) => r.status === 'rejected');
      expect(refused).toHaveLength(1);
      expect((refused[0] as PromiseRejectedResult).reason).toBeInstanceOf(RateLimitedError);
      expect(((refused[0] as PromiseRejectedResult).reason as RateLimitedError).retryAfterMs).toBeGreaterThan(0);
      expect(fake.messages(busy)).toHaveLength(5);
    } finally {
      await p.stop();
    }
  });

  it('loses nothing over a gateway drop: RESUME replays what was said meanwhile', async () => {
    const resumes = fake.resumes;
    const identifies = fake.identifies;
    fake.dropGateway({ resumable: true });
    await bob.say(general, 'said during the drop');
    await waitFor(() => texts().includes('said during the drop'), 'the replayed message', 20_000);
    expect(fake.resumes).toBe(resumes + 1);
    expect(fake.identifies).toBe(identifies);
  });

  it('takes /roomcast commands: the level from Manage Channels, or from platforms.discord.moderatorRole', async () => {
    const [cmd] = (await alice.commands(bot.applicationId, guild, bot.token)).filter((c) => c.name === 'roomcast');
    const ctx = { applicationId: bot.applicationId, guildId: guild, channelId: general };
    await alice.slash(cmd!, ctx, [{ type: 1, name: 'whoami' }]);
    await bob.slash(cmd!, ctx, [{ type: 2, name: 'contact', options: [{ type: 1, name: 'add', options: [{ type: 3, name: 'name', value: 'eve' }, { type: 3, name: 'magnet', value: 'magnet:?x' }] }] }]);
    await waitFor(() => fake.interactionResponses.length >= 2, 'two answers');
    const [a, b] = fake.interactionResponses.slice(-2);
    expect(a).toMatchObject({ content: 'moderator: whoami', ephemeral: true });
    expect(b).toMatchObject({ content: 'member: contact add eve magnet:?x', ephemeral: true });
    const run = events.filter((e): e is RoomCommandEvent => e.kind === 'command');
    expect(run.map((e) => e.room.roomId)).toEqual([general, general]);

    await alice.slash(cmd!, { ...ctx, channelId: elsewhere }, [{ type: 1, name: 'whoami' }]);
    await waitFor(() => fake.interactionResponses.at(-1)?.content.includes('does not bridge this channel') ?? false, 'the refusal for an unbridged channel');

    const byRole = newPlatform({ moderatorRole: 'Helpers', slashCommands: false });
    const byRoleEvents: RoomEvent[] = [];
    await byRole.start(async (e) => void byRoleEvents.push(e));
    try {
      await carla.say(general, 'a helper');
      await alice.say(general, 'the owner, not a helper');
      await waitFor(() => byRoleEvents.filter((e) => e.kind === 'message').length >= 2, 'both messages');
      expect(byRoleEvents.filter((e) => e.kind === 'message').map((e) => (e.kind === 'message' ? e.sender.level : ''))).toEqual(['moderator', 'member']);
    } finally {
      await byRole.stop();
    }
  });

  it('after a restart, delivers what the channel said meanwhile, oldest first, once', async () => {
    await platform.stop();
    await bob.say(general, 'away 1');
    await bob.say(general, 'away 2');
    events.length = 0;
    platform = newPlatform();
    await startPlatform(platform);
    await waitFor(() => texts().includes('away 2'), 'the caught-up messages', 20_000);
    expect(texts().filter((t) => t.startsWith('away'))).toEqual(['away 1', 'away 2']);
  });

  it('says the bot is out of every room of a server it was removed from', async () => {
    fake.removeMember(guild, bot.id);
    await waitFor(() => events.some((e) => e.kind === 'membership'), 'the membership events');
    const out = events.filter((e) => e.kind === 'membership');
    expect(out.every((e) => e.kind === 'membership' && !e.joined && e.reason === 'kicked')).toBe(true);
    expect(out.map((e) => e.room.roomId).sort()).toEqual(expect.arrayContaining([general, nohooks].sort()));
  });
});
