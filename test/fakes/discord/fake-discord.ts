/**
 * A wire-level fake Discord server for tests: `node:http` for the REST API
 * (`/api/v9` and `/api/v10`, same routes) and a `ws` gateway on the same
 * port, enough for the unmodified discord.js 14 client to run a bot, and for
 * people to act over REST with user tokens (as they do against Spacebar, so
 * one end-to-end test can target either). Behaviour mirrors Discord where a
 * bot could notice: permissions, intents (MESSAGE_CONTENT), allowed_mentions,
 * webhook name rules, per-channel 429s, interaction deadlines, RESUME replay.
 *
 * The world is built synchronously in-process (createUser, createGuild, ...),
 * and dispatches the matching gateway events to connected bots. Observation
 * helpers (requests, messages, pings, interactionResponses...) serve
 * assertions; failNext and dropGateway inject faults.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Gateway } from './gateway.js';
import type { Fault } from './http-server.js';
import { httpHandler } from './http-server.js';
import type { InteractionResponse } from './interactions.js';
import { Interactions } from './interactions.js';
import type { PingRecord } from './messages.js';
import { MessageService } from './messages.js';
import type { Core, ResolvedOptions, Route } from './router.js';
import { basicRoutes } from './routes-basic.js';
import { interactionRoutes } from './routes-interactions.js';
import { messageRoutes } from './routes-messages.js';
import { webhookRoutes } from './routes-webhooks.js';
import { snowflake } from './snowflake.js';
import type { FakeMessage, RecordedRequest, WebhookJson } from './types.js';
import { Intent, Perm } from './types.js';
import { channelJson, guildCreateJson, memberJson, roleJson, userJson } from './wire.js';
import { World, isThread } from './world.js';

export interface FakeDiscordOptions {
  /** Per-channel write limit enforced with 429s (default {posts:5, perMs:5000}); false: none. */
  readonly rateLimit?: { readonly posts: number; readonly perMs: number } | false;
  /** Mirror the real quirk: after every MESSAGE_CREATE, a MESSAGE_UPDATE of the same message without edited_timestamp (default true). */
  readonly updateAfterCreate?: boolean;
  /** Send INTERACTION_CREATE without the `channel` object, only channel_id (Spacebar quirk; default false). */
  readonly interactionWithoutChannel?: boolean;
  /** HELLO's heartbeat interval (default 41250, Discord's). */
  readonly heartbeatIntervalMs?: number;
}

/** What `bootstrap()` returns: the JSON Spacebar's bootstrap.mjs prints. */
export interface BootstrapAccounts {
  readonly base_url: string;
  readonly api_url: string;
  readonly gateway_url: string;
  readonly guild_id: string;
  readonly channel_id: string;
  readonly admin_role_id: string;
  readonly application_id: string;
  readonly bot: { readonly id: string; readonly username: string; readonly token: string };
  readonly alice: { readonly id: string; readonly token: string };
  readonly bob: { readonly id: string; readonly token: string };
}

const ROUTES: readonly Route[] = [...basicRoutes, ...messageRoutes, ...webhookRoutes, ...interactionRoutes];

export class FakeDiscord {
  /** `http://127.0.0.1:PORT/api` (discord.js appends `/v10`; people use `/v9`). */
  readonly apiUrl: string;
  /** `http://127.0.0.1:PORT`. */
  readonly baseUrl: string;
  private accounts: BootstrapAccounts | undefined;
  private closing: Promise<void> | undefined;

  private constructor(
    private readonly server: http.Server,
    private readonly core: Core,
    port: number,
    /** Shared with the HTTP handler, which appends to it. */
    private readonly log: RecordedRequest[],
    /** Shared with the HTTP handler, which consumes them. */
    private readonly faults: Fault[],
  ) {
    this.baseUrl = `http://127.0.0.1:${port}`;
    this.apiUrl = `${this.baseUrl}/api`;
  }

  /** Starts a fake on 127.0.0.1 and a free port. */
  static async start(opts: FakeDiscordOptions = {}): Promise<FakeDiscord> {
    const options: ResolvedOptions = {
      rateLimit: opts.rateLimit ?? { posts: 5, perMs: 5000 },
      updateAfterCreate: opts.updateAfterCreate ?? true,
      interactionWithoutChannel: opts.interactionWithoutChannel ?? false,
      heartbeatIntervalMs: opts.heartbeatIntervalMs ?? 41250,
    };
    const world = new World();
    let base = '';
    const gateway = new Gateway(world, () => base.replace(/^http/, 'ws'), options.heartbeatIntervalMs);
    const files: Core['files'] = new Map();
    const messages = new MessageService(world, gateway, options, (channelId, upload) => {
      const id = snowflake();
      files.set(`${channelId}/${id}/${upload.filename}`, { bytes: upload.bytes, contentType: upload.contentType });
      const url = `${base}/attachments/${channelId}/${id}/${encodeURIComponent(upload.filename)}`;
      return { id, filename: upload.filename, size: upload.bytes.length, url, proxy_url: url, content_type: upload.contentType };
    });
    const core: Core = { world, gateway, messages, interactions: new Interactions(world, gateway, messages, options), options, baseUrl: () => base, files };
    const log: RecordedRequest[] = [];
    const faults: Fault[] = [];
    const server = http.createServer(httpHandler(core, ROUTES, log, faults));
    server.on('clientError', (_err, socket) => socket.destroy());
    gateway.attach(server);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const port = (server.address() as AddressInfo).port;
    base = `http://127.0.0.1:${port}`;
    return new FakeDiscord(server, core, port, log, faults);
  }

  // ---- world building ----

  createUser(username: string): { id: string; username: string; token: string } {
    const u = this.core.world.addUser(username, false);
    return { id: u.id, username: u.username, token: u.token };
  }

  createBot(username: string): { id: string; username: string; token: string; applicationId: string } {
    const u = this.core.world.addUser(username, true);
    return { id: u.id, username: u.username, token: u.token, applicationId: u.applicationId ?? '' };
  }

  /** A guild owned by `ownerId` (already its member); its @everyone role id is the guild id. */
  createGuild(name: string, ownerId: string): string {
    return this.core.world.addGuild(name, ownerId).id;
  }

  createRole(guildId: string, name: string, permissions: bigint): string {
    const role = this.core.world.addRole(guildId, name, permissions);
    this.core.gateway.dispatch('GUILD_ROLE_CREATE', { guild_id: guildId, role: roleJson(role) }, { guildId, intent: Intent.GUILDS });
    return role.id;
  }

  /**
   * Adds a member (or replaces a member's roles). A bot joining gets
   * GUILD_CREATE; the other bots get GUILD_MEMBER_ADD (GUILD_MEMBERS intent).
   */
  addMember(guildId: string, userId: string, roleIds: string[] = []): void {
    const { world, gateway } = this.core;
    const guild = world.guild(guildId);
    const user = world.user(userId);
    for (const r of roleIds) if (!guild.roles.has(r)) throw new Error(`fake discord: role ${r} is not in guild ${guildId}`);
    const existing = guild.members.get(userId);
    if (existing) {
      existing.roleIds = [...roleIds];
      gateway.dispatch('GUILD_MEMBER_UPDATE', { guild_id: guildId, ...memberJson(world, existing) }, { guildId, intent: Intent.GUILDS });
      return;
    }
    const member = { userId, roleIds: [...roleIds], joinedAt: new Date().toISOString() };
    guild.members.set(userId, member);
    const others = [...guild.members.keys()].filter((id) => id !== userId);
    gateway.dispatch('GUILD_MEMBER_ADD', { guild_id: guildId, ...memberJson(world, member) }, { userIds: others, intent: Intent.GUILD_MEMBERS });
    if (user.bot) {
      gateway.dispatch('GUILD_CREATE', (r) => guildCreateJson(world, guild, r.userId, (r.intents & Intent.GUILD_MEMBERS) !== 0), { userIds: [userId], intent: Intent.GUILDS });
    }
  }

  /** Removes a member; a bot removed gets GUILD_DELETE `{id}` (no `unavailable`: it was removed). */
  removeMember(guildId: string, userId: string): void {
    const { world, gateway } = this.core;
    const guild = world.guild(guildId);
    if (!guild.members.delete(userId)) return;
    gateway.dispatch('GUILD_MEMBER_REMOVE', { guild_id: guildId, user: { ...userJson(world.user(userId)) } }, { guildId, intent: Intent.GUILD_MEMBERS });
    if (world.user(userId).bot) gateway.dispatch('GUILD_DELETE', { id: guildId }, { userIds: [userId], intent: Intent.GUILDS });
  }

  createChannel(guildId: string, name: string, opts: { type?: 0 | 5 } = {}): string {
    const channel = this.core.world.addChannel(guildId, { name, type: opts.type ?? 0 });
    this.core.gateway.dispatch('CHANNEL_CREATE', channelJson(channel), { guildId, intent: Intent.GUILDS });
    return channel.id;
  }

  /** Adds `permissions` to the deny of an overwrite for a role or member (removing them from its allow); dispatches CHANNEL_UPDATE. */
  deny(channelId: string, targetId: string, permissions: bigint): void {
    this.overwrite(channelId, targetId, 0n, permissions);
  }

  /** Adds `permissions` to the allow of an overwrite (removing them from its deny); dispatches CHANNEL_UPDATE. */
  allow(channelId: string, targetId: string, permissions: bigint): void {
    this.overwrite(channelId, targetId, permissions, 0n);
  }

  /** The world Spacebar's bootstrap.mjs builds, with the same JSON shape; idempotent. */
  bootstrap(): BootstrapAccounts {
    if (this.accounts) return this.accounts;
    const alice = this.createUser('alice');
    const bob = this.createUser('bob');
    const bot = this.createBot('smokebot');
    const guildId = this.createGuild('smoke-guild', alice.id);
    const channelId = this.createChannel(guildId, 'bridge');
    this.addMember(guildId, bob.id);
    const roleId = this.createRole(guildId, 'bot-admin', Perm.ADMINISTRATOR);
    this.addMember(guildId, bot.id, [roleId]);
    this.accounts = {
      base_url: this.baseUrl,
      api_url: this.apiUrl,
      gateway_url: this.baseUrl.replace(/^http/, 'ws'),
      guild_id: guildId,
      channel_id: channelId,
      admin_role_id: roleId,
      application_id: bot.applicationId,
      bot: { id: bot.id, username: bot.username, token: bot.token },
      alice: { id: alice.id, token: alice.token },
      bob: { id: bob.id, token: bob.token },
    };
    return this.accounts;
  }

  // ---- observing ----

  /** Every answered API request in order of the answers (attachment downloads excluded). */
  get requests(): ReadonlyArray<RecordedRequest> {
    return [...this.log];
  }

  /** The channel's (or thread's) messages, oldest first, as stored (deep copies). */
  messages(channelId: string): ReadonlyArray<FakeMessage> {
    return structuredClone(this.core.world.channel(channelId).messages);
  }

  webhooks(channelId: string): ReadonlyArray<WebhookJson> {
    return [...this.core.world.webhooks.values()].filter((w) => w.json.channel_id === channelId).map((w) => ({ ...w.json }));
  }

  reactions(channelId: string, messageId: string): ReadonlyArray<{ emoji: string; userIds: string[] }> {
    const { world } = this.core;
    world.message(world.channel(channelId), messageId);
    return [...(world.reactions.get(messageId) ?? new Map<string, string[]>()).entries()].map(([emoji, userIds]) => ({ emoji, userIds: [...userIds] }));
  }

  /** Users each message notified (after allowed_mentions; the author and members who cannot see the channel excluded); messages notifying nobody are absent. */
  pings(): ReadonlyArray<PingRecord> {
    return this.core.messages.pings.map((p) => ({ ...p, userIds: [...p.userIds] }));
  }

  /** Every interaction answer (callback type 4, or type 5 then PATCH @original), in order. */
  get interactionResponses(): ReadonlyArray<InteractionResponse> {
    return this.core.interactions.responses.map((r) => ({ ...r }));
  }

  /** 429s answered by the fake's own per-channel limit (not injected ones). */
  get rateLimitHits(): number {
    return this.core.messages.rateLimitHits;
  }

  get identifies(): number {
    return this.core.gateway.identifies;
  }

  get resumes(): number {
    return this.core.gateway.resumes;
  }

  // ---- faults ----

  /**
   * The next `times` requests matching `method` ('*' for any) and `path`
   * (tested against the path without `/api/vN`) get `response.status`; a 429
   * carries Discord's body and a `retry-after` of `retryAfterSec` (default 1).
   */
  failNext(method: string, path: RegExp, response: { status: number; retryAfterSec?: number }, times = 1): void {
    this.faults.push({ method, path, status: response.status, retryAfterSec: response.retryAfterSec, remaining: times });
  }

  /** Closes every bot socket: 4000 keeping sessions for RESUME (default), or 4009 forgetting them (clients re-identify). */
  dropGateway(opts: { resumable?: boolean } = {}): void {
    this.core.gateway.drop(opts.resumable ?? true);
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.core.gateway.close();
      await new Promise<void>((resolve) => {
        this.server.close(() => resolve());
        this.server.closeAllConnections();
      });
    })();
    return this.closing;
  }

  private overwrite(channelId: string, targetId: string, allow: bigint, deny: bigint): void {
    const { world, gateway } = this.core;
    const channel = world.channel(channelId);
    if (isThread(channel)) throw new Error('fake discord: threads take their parent channel\'s overwrites');
    const guild = world.guild(channel.guildId);
    const type = guild.roles.has(targetId) ? 0 : 1;
    if (type === 1) world.user(targetId);
    let o = channel.overwrites.find((x) => x.id === targetId);
    if (!o) {
      o = { id: targetId, type, allow: 0n, deny: 0n };
      channel.overwrites.push(o);
    }
    o.allow = (o.allow | allow) & ~deny;
    o.deny = (o.deny | deny) & ~allow;
    gateway.dispatch('CHANNEL_UPDATE', channelJson(channel), { guildId: guild.id, intent: Intent.GUILDS });
  }
}

/** Starts a fake Discord on 127.0.0.1 and a free port. */
export function startFakeDiscord(opts?: FakeDiscordOptions): Promise<FakeDiscord> {
  return FakeDiscord.start(opts);
}
