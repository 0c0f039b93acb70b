/**
 * The fake Discord server (test/fakes/discord) against the UNMODIFIED
 * discord.js 14 client: gateway login and RESUME, messages with the quirk
 * update and real edits, webhooks (custom usernames, threads, edits, name
 * rules, MANAGE_WEBHOOKS), reactions, slash commands invoked by a person,
 * allowed_mentions, intents, 429s (injected and the per-channel limit) and
 * nonce deduplication. People act over REST with DiscordPerson, as they do
 * against Spacebar.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ApplicationCommandOptionType,
  Client,
  DiscordAPIError,
  Events,
  GatewayIntentBits,
  MessageFlags,
  REST,
  RateLimitError,
  Routes,
} from 'discord.js';
import type { ClientEvents, Guild, TextChannel } from 'discord.js';
import { Perm, startFakeDiscord } from '../fakes/discord/index.js';
import type { BootstrapAccounts, FakeDiscord } from '../fakes/discord/index.js';
import { DiscordPerson } from '../support/discord-person.js';
import { waitFor } from '../support/wait.js';

const INTENTS = [GatewayIntentBits.Guilds, GatewayIntentBits.GuildMessages, GatewayIntentBits.MessageContent, GatewayIntentBits.GuildMessageReactions];

let fake: FakeDiscord;
let acc: BootstrapAccounts;
let client: Client;
let guild: Guild;
let alice: DiscordPerson;
let bob: DiscordPerson;
const extraClients: Client[] = [];

/** Resolves with the arguments of the first `event` that `pred` accepts. */
function next<K extends keyof ClientEvents>(c: Client, event: K, pred: (...args: ClientEvents[K]) => boolean, ms = 5000): Promise<ClientEvents[K]> {
  return new Promise((resolve, reject) => {
    const on = (...args: ClientEvents[K]): void => {
      if (!pred(...args)) return;
      clearTimeout(timer);
      c.off(event, on);
      resolve(args);
    };
    const timer = setTimeout(() => {
      c.off(event, on);
      reject(new Error(`no matching ${String(event)} within ${ms} ms`));
    }, ms);
    c.on(event, on);
  });
}

async function login(token: string, intents: GatewayIntentBits[], rejectOnRateLimit = true): Promise<Client> {
  const c = new Client({ intents, rest: { api: fake.apiUrl, ...(rejectOnRateLimit ? { rejectOnRateLimit: () => true } : {}) } });
  const ready = new Promise<void>((resolve) => c.once(Events.ClientReady, () => resolve()));
  await c.login(token);
  await ready;
  return c;
}

/** A new text channel the bot has cached (each test writes in its own, away from the per-channel limit). */
async function freshChannel(name: string): Promise<TextChannel> {
  const id = fake.createChannel(acc.guild_id, name);
  await waitFor(() => client.channels.cache.has(id), `#${name} cached`, 5000, 10);
  return client.channels.cache.get(id) as TextChannel;
}

beforeAll(async () => {
  fake = await startFakeDiscord();
  acc = fake.bootstrap();
  alice = new DiscordPerson(acc.api_url, acc.alice);
  bob = new DiscordPerson(acc.api_url, acc.bob);
  client = await login(acc.bot.token, INTENTS);
  guild = client.guilds.cache.get(acc.guild_id) as Guild;
});

afterAll(async () => {
  await Promise.all([client, ...extraClients].map((c) => c?.destroy()));
  await fake?.close();
});

describe('fake Discord server with the unmodified discord.js client', () => {
  it('logs in: READY, the guild cached and available, the bot an administrator', async () => {
    expect(client.isReady()).toBe(true);
    expect(client.user?.id).toBe(acc.bot.id);
    expect(client.application?.id).toBe(acc.application_id);
    expect(guild.available).toBe(true);
    expect(guild.name).toBe('smoke-guild');
    expect(guild.channels.cache.get(acc.channel_id)?.name).toBe('bridge');
    const me = await guild.members.fetchMe();
    expect(me.permissions.has('Administrator')).toBe(true);
    expect(fake.identifies).toBe(1);
    expect(fake.requests.find((r) => r.path === '/gateway/bot')?.auth).toBe('bot');
  });

  it("delivers a person's message with content, then the quirk update (no edited_timestamp), then a real edit", async () => {
    const channel = await freshChannel('talk');
    const created = next(client, Events.MessageCreate, (m) => m.content === 'hello bridge');
    const quirk = next(client, Events.MessageUpdate, (_o, n) => n.content === 'hello bridge');
    const id = await alice.say(channel.id, 'hello bridge');
    const [m] = await created;
    expect(m.id).toBe(id);
    expect(m.author.id).toBe(acc.alice.id);
    expect(m.member?.id).toBe(acc.alice.id);
    const [, quiet] = await quirk;
    expect(quiet.editedTimestamp).toBeNull();

    const edited = next(client, Events.MessageUpdate, (_o, n) => n.id === id && n.content === 'hello bridge (edited)');
    await alice.edit(channel.id, id, 'hello bridge (edited)');
    const [, n] = await edited;
    expect(n.editedTimestamp).toBeGreaterThan(0);
    await expect(bob.edit(channel.id, id, 'not mine')).rejects.toMatchObject({ status: 403, body: { code: 50005 } });

    const replyId = await bob.say(channel.id, 'a reply', { replyTo: id });
    const reply = fake.messages(channel.id).find((x) => x.id === replyId);
    expect(reply).toMatchObject({ type: 19, message_reference: { message_id: id }, referenced_message: { id } });
    expect((await alice.messages(channel.id)).map((x) => x.id)).toEqual([id, replyId]);

    // a thread started from a message shares the message's id
    const thread = await m.startThread({ name: 'about hello' });
    expect(thread.id).toBe(id);
    expect(thread.parentId).toBe(channel.id);
  });

  it('creates, lists and executes webhooks (custom username, into a thread), edits their messages, refuses "Discord" names', async () => {
    const channel = await freshChannel('hooks');
    const hook = await channel.createWebhook({ name: 'bridge-hook' });
    expect(hook.token).toBeTruthy();
    expect((await channel.fetchWebhooks()).has(hook.id)).toBe(true);
    expect(fake.webhooks(channel.id).map((w) => w.application_id)).toEqual([acc.application_id]);

    const got = next(client, Events.MessageCreate, (m) => m.content === 'bridged line');
    const sent = await hook.send({ content: 'bridged line', username: 'Carol (bridged)' });
    const [m] = await got;
    expect(m.author.username).toBe('Carol (bridged)');
    expect(m.webhookId).toBe(hook.id);
    expect(sent.id).toBe(m.id);
    expect(fake.requests.at(-1)).toMatchObject({ method: 'POST', path: `/webhooks/${hook.id}/{token}`, auth: 'webhook', query: { wait: 'true' } });

    const threadId = await alice.createThread(channel.id, 'side topic');
    await waitFor(() => client.channels.cache.has(threadId), 'thread cached', 5000, 10);
    const inThread = next(client, Events.MessageCreate, (x) => x.content === 'in the thread');
    await hook.send({ content: 'in the thread', username: 'Dave', threadId });
    const [t] = await inThread;
    expect(t.channelId).toBe(threadId);
    expect(fake.messages(threadId).map((x) => x.author.username)).toEqual(['Dave']);

    const edited = next(client, Events.MessageUpdate, (_o, n) => n.id === sent.id && n.content === 'bridged line (edited)');
    await hook.editMessage(sent.id, { content: 'bridged line (edited)' });
    const [, e] = await edited;
    expect(e.editedTimestamp).toBeGreaterThan(0);
    expect((await hook.fetchMessage(sent.id)).content).toBe('bridged line (edited)');

    await expect(channel.createWebhook({ name: 'My Discord Bridge' })).rejects.toMatchObject({ status: 400, code: 50035 });
    await expect(hook.send({ content: 'x', username: 'clyde' })).rejects.toMatchObject({ status: 400, code: 50035 });
    await expect(hook.send({ content: 'x', username: 'y'.repeat(81) })).rejects.toMatchObject({ status: 400, code: 50035 });
  });

  it('answers 403 50013 to a webhook creation without MANAGE_WEBHOOKS (a channel overwrite denies it)', async () => {
    const plain = fake.createBot('plainbot');
    const role = fake.createRole(acc.guild_id, 'hooks', Perm.VIEW_CHANNEL | Perm.SEND_MESSAGES | Perm.MANAGE_WEBHOOKS);
    fake.addMember(acc.guild_id, plain.id, [role]);
    const locked = fake.createChannel(acc.guild_id, 'locked');
    fake.deny(locked, role, Perm.MANAGE_WEBHOOKS);
    const rest = new REST({ api: fake.apiUrl }).setToken(plain.token);
    const okHook = (await rest.post(Routes.channelWebhooks(acc.channel_id), { body: { name: 'allowed' } })) as { id: string };
    expect(okHook.id).toBeTruthy();
    const refused = await rest.post(Routes.channelWebhooks(locked), { body: { name: 'denied' } }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(DiscordAPIError);
    expect(refused).toMatchObject({ status: 403, code: 50013 });
  });

  it('adds reactions: MESSAGE_REACTION_ADD for the bot and a person, visible over REST', async () => {
    const channel = await freshChannel('reactions');
    const got = next(client, Events.MessageCreate, (m) => m.content === 'react to me');
    await alice.say(channel.id, 'react to me');
    const [m] = await got;
    const botAdd = next(client, Events.MessageReactionAdd, (r, u) => r.message.id === m.id && u.id === acc.bot.id);
    await m.react('👍');
    await botAdd;
    const bobAdd = next(client, Events.MessageReactionAdd, (r, u) => r.message.id === m.id && u.id === acc.bob.id && r.emoji.name === '👍');
    await bob.react(channel.id, m.id, '👍');
    await bobAdd;
    expect(await alice.reactions(channel.id, m.id, '👍')).toEqual([acc.bot.id, acc.bob.id]);
    expect(fake.reactions(channel.id, m.id)).toEqual([{ emoji: '👍', userIds: [acc.bot.id, acc.bob.id] }]);
  });

  it('registers a guild command; a person invokes it; the bot reads the options and replies ephemerally', async () => {
    const channel = await freshChannel('commands');
    const set = await guild.commands.set([
      {
        name: 'roomcast',
        description: 'roomcast bridge',
        options: [
          {
            type: ApplicationCommandOptionType.SubcommandGroup,
            name: 'link',
            description: 'links',
            options: [
              {
                type: ApplicationCommandOptionType.Subcommand,
                name: 'add',
                description: 'add a link',
                options: [{ type: ApplicationCommandOptionType.String, name: 'target', description: 'where', required: true }],
              },
            ],
          },
        ],
      },
    ]);
    expect(set.first()?.id).toBeTruthy();
    const [cmd] = (await alice.commands(acc.application_id, acc.guild_id)).filter((c) => c.name === 'roomcast');
    expect(cmd?.id).toBe(set.first()?.id);
    if (!cmd) throw new Error('the person cannot see /roomcast');

    const seen: string[] = [];
    const answered = new Promise<void>((resolve, reject) => {
      client.once(Events.InteractionCreate, (i) => {
        if (!i.isChatInputCommand()) return reject(new Error('not a chat input command'));
        seen.push(i.commandName, i.options.getSubcommandGroup() ?? '', i.options.getSubcommand(), i.options.getString('target') ?? '', i.channelId ?? '');
        i.reply({ content: 'linked!', flags: MessageFlags.Ephemeral })
          .then(async () => {
            const again = await client.rest.post(Routes.interactionCallback(i.id, i.token), { body: { type: 4, data: { content: 'twice' } }, auth: false }).catch((e: unknown) => e);
            expect(again).toMatchObject({ status: 400, code: 40060 });
            const forged = await client.rest.post(Routes.interactionCallback(i.id, 'not-the-token'), { body: { type: 4, data: { content: 'x' } }, auth: false }).catch((e: unknown) => e);
            expect(forged).toMatchObject({ status: 404, code: 10062 });
          })
          .then(resolve, reject);
      });
    });
    const ctx = { applicationId: acc.application_id, guildId: acc.guild_id, channelId: channel.id };
    await alice.slash(cmd, ctx, [{ type: 2, name: 'link', options: [{ type: 1, name: 'add', options: [{ type: 3, name: 'target', value: 'npub1xyz' }] }] }]);
    await answered;
    expect(seen).toEqual(['roomcast', 'link', 'add', 'npub1xyz', channel.id]);
    expect(fake.interactionResponses).toEqual([expect.objectContaining({ userId: acc.alice.id, channelId: channel.id, content: 'linked!', ephemeral: true })]);
    expect(fake.messages(channel.id)).toEqual([]); // ephemeral: nothing in the channel

    // deferred + editReply: a visible answer (type 20, the bot as author)
    const deferred = new Promise<void>((resolve, reject) => {
      client.once(Events.InteractionCreate, (i) => {
        if (!i.isChatInputCommand()) return reject(new Error('not a chat input command'));
        i.deferReply()
          .then(() => i.editReply('done later'))
          .then(() => resolve(), reject);
      });
    });
    await bob.slash(cmd, ctx, [{ type: 2, name: 'link', options: [{ type: 1, name: 'add', options: [{ type: 3, name: 'target', value: 'x' }] }] }]);
    await deferred;
    expect(fake.interactionResponses.at(-1)).toMatchObject({ userId: acc.bob.id, content: 'done later', ephemeral: false });
    expect(fake.messages(channel.id)).toEqual([expect.objectContaining({ type: 20, content: 'done later', author: expect.objectContaining({ id: acc.bot.id }) })]);
  });

  it('honours allowed_mentions: parse [] on @everyone pings nobody; without it everyone is pinged', async () => {
    const channel = await freshChannel('mentions');
    const quiet = await channel.send({ content: '@everyone quiet', allowedMentions: { parse: [] } });
    expect(quiet.mentions.everyone).toBe(false);
    expect(fake.pings().filter((p) => p.messageId === quiet.id)).toEqual([]);
    const loud = await channel.send('@everyone loud');
    expect(loud.mentions.everyone).toBe(true);
    const ping = fake.pings().find((p) => p.messageId === loud.id);
    expect(ping?.userIds).toEqual(expect.arrayContaining([acc.alice.id, acc.bob.id]));
    expect(ping?.userIds).not.toContain(acc.bot.id); // the author is not notified
    await bob.say(channel.id, `<@${acc.alice.id}> look`);
    expect(fake.pings().at(-1)?.userIds).toEqual([acc.alice.id]);
  });

  it('empties content for a session without MESSAGE_CONTENT unless the bot is mentioned', async () => {
    const bare = await login(acc.bot.token, [GatewayIntentBits.Guilds, GatewayIntentBits.GuildMessages]);
    extraClients.push(bare);
    try {
      const channel = await freshChannel('intents');
      const plain = next(bare, Events.MessageCreate, (m) => m.author.id === acc.alice.id && m.channelId === channel.id);
      await alice.say(channel.id, 'secret words');
      expect((await plain)[0].content).toBe('');
      const mention = next(bare, Events.MessageCreate, (m) => m.content.includes('hey bot'));
      await alice.say(channel.id, `<@${acc.bot.id}> hey bot`);
      await mention;
    } finally {
      await bare.destroy();
    }
  });

  it('stores uploads (multipart) and serves them at the attachment URL', async () => {
    const channel = await freshChannel('files');
    const m = await channel.send({ content: 'a file', files: [{ attachment: Buffer.from('file body\n'), name: 'note.txt' }] });
    const att = m.attachments.first();
    expect(att?.name).toBe('note.txt');
    const res = await fetch(att?.url ?? 'http://127.0.0.1:9/missing');
    expect(await res.text()).toBe('file body\n');
    expect(fake.requests.find((r) => r.method === 'POST' && r.path === `/channels/${channel.id}/messages`)?.body).toMatchObject({ content: 'a file' });
  });

  // The non-resumable half costs ~5 s: discord.js spaces IDENTIFYs 5 s apart (its identify throttler).
  it('resumes after a gateway drop and replays what was missed; a non-resumable drop re-identifies', async () => {
    const channel = await freshChannel('resume');
    const identifies = fake.identifies;
    const missed = next(client, Events.MessageCreate, (m) => m.content === 'while you were away', 8000);
    fake.dropGateway();
    await alice.say(channel.id, 'while you were away');
    await missed;
    expect(fake.resumes).toBe(1);
    expect(fake.identifies).toBe(identifies);

    const after = next(client, Events.MessageCreate, (m) => m.content === 'after a fresh session', 8000);
    fake.dropGateway({ resumable: false });
    await waitFor(() => fake.identifies === identifies + 1, 're-identify', 8000);
    await waitFor(() => client.ws.status === 0, 'client ready again', 8000);
    await alice.say(channel.id, 'after a fresh session');
    await after;
  });

  it('429: an injected one rejects with RateLimitError (rejectOnRateLimit), or is waited out by plain discord.js REST', async () => {
    const channel = await freshChannel('ratelimit');
    fake.failNext('POST', /^\/channels\/\d+\/messages$/, { status: 429, retryAfterSec: 0.2 });
    const err = await channel.send('limited').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RateLimitError);
    expect((err as RateLimitError).retryAfter).toBeGreaterThanOrEqual(200);

    const rest = new REST({ api: fake.apiUrl }).setToken(acc.bot.token);
    fake.failNext('POST', /^\/channels\/\d+\/messages$/, { status: 429, retryAfterSec: 0.2 });
    const started = Date.now();
    const posted = (await rest.post(Routes.channelMessages(channel.id), { body: { content: 'patient' } })) as { id: string };
    expect(Date.now() - started).toBeGreaterThanOrEqual(200);
    expect(fake.messages(channel.id).map((m) => m.id)).toEqual([posted.id]);
    expect(fake.requests.filter((r) => r.path === `/channels/${channel.id}/messages`).map((r) => r.status)).toEqual([429, 429, 200]);
    expect(fake.rateLimitHits).toBe(0);
  });

  it('limits writes per channel: the 6th post within 5 s gets a 429', async () => {
    const channel = await freshChannel('flood');
    for (let i = 1; i <= 5; i++) await channel.send(`post ${i}`);
    const err = await channel.send('post 6').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RateLimitError);
    expect(fake.rateLimitHits).toBe(1);
    const last = fake.requests.at(-1);
    expect(last).toMatchObject({ method: 'POST', status: 429, auth: 'bot' });
    expect(fake.messages(channel.id)).toHaveLength(5);
  });

  it('deduplicates a create with the same nonce and enforce_nonce', async () => {
    const channel = await freshChannel('nonce');
    const a = await channel.send({ content: 'once', nonce: '424242', enforceNonce: true });
    const b = await channel.send({ content: 'once', nonce: '424242', enforceNonce: true });
    expect(b.id).toBe(a.id);
    expect(fake.messages(channel.id)).toHaveLength(1);
  });

  it('removing the bot from the guild sends GUILD_DELETE without `unavailable`', async () => {
    const gone = next(client, Events.GuildDelete, (g) => g.id === acc.guild_id);
    fake.removeMember(acc.guild_id, acc.bot.id);
    await gone;
    expect(client.guilds.cache.has(acc.guild_id)).toBe(false);
    const back = next(client, Events.GuildCreate, (g) => g.id === acc.guild_id);
    fake.addMember(acc.guild_id, acc.bot.id, [acc.admin_role_id]);
    expect((await back)[0].available).toBe(true);
  });
});
