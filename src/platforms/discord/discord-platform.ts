/**
 * Discord channels through discord.js 14, as a bot. Each text channel, and
 * each thread, is a room. The gateway is discord.js's; what reaches the
 * bridge goes through one queue per channel, so a room's events are
 * delivered one at a time, in gateway order, awaited (the Platform
 * contract). A gateway RESUME replays what a short disconnect missed; a
 * restart is covered by catching up: each channel's last delivered message
 * is kept in roomcast's store, and what was written after it is fetched and
 * delivered before anything new.
 *
 * Writes are REST only (writes.ts), so worker processes write without a
 * gateway session. Commands come as `!roomcast …` messages and as the
 * `/roomcast` slash command (interactions.ts), registered per server.
 */
import { Client, Events, GatewayIntentBits, Partials, PermissionFlagsBits, Routes } from 'discord.js';
import type { Channel, Guild, GuildMember, Message, PartialMessage } from 'discord.js';
import type { Logger } from '../../observability/logger.js';
import { OncePerWindow } from '../../observability/rejections.js';
import { ConnectionState } from '../connection-state.js';
import type { PlatformDeps } from '../registry.js';
import { retryWithBackoff, waitAtMost } from '../../common/backoff.js';
import { redactUrl } from '../../common/redact-url.js';
import { MessageTooLongError, PlatformCapabilitiesSchema, platformId, platformMessageId } from '../platform.js';
import type { CommandDeclaration, Platform, PlatformCapabilities, PlatformId, PlatformMessageId, PlatformStartOptions, PlatformStatus, RoomEvent, RoomPost, RoomRef, RoomSender, SenderLevel } from '../platform.js';
import { catchUp } from './catch-up.js';
import { ChannelLanes } from './channel-lanes.js';
import type { DiscordPlatformConfig } from './config.js';
import { editEvent, isRoomChannel, messageEvent, RawUpdateSchema } from './events.js';
import type { RawUpdate, Self } from './events.js';
import { answerInteraction, channelOf, isSlashCommand, levelFromPermissions, RawInteractionSchema } from './interactions.js';
import type { RawInteraction } from './interactions.js';
import { commandLine, slashCommandBody } from './slash-commands.js';
import { DiscordWriter } from './writes.js';

/**
 * 2,000 characters per message, less room for a bold name when a post must
 * go without a webhook. Discord allows 5 messages per 5 s per channel, and
 * counts reactions (about 1 per 250 ms) and edits (their own route) apart, so
 * receipts do not hold contacts' messages up.
 */
export const DISCORD_CAPABILITIES: PlatformCapabilities = PlatformCapabilitiesSchema.parse({
  reactions: true,
  edits: true,
  maxMessageChars: 1990,
  rateLimit: { posts: 5, perMs: 5000 },
  ownLimits: { react: { posts: 4, perMs: 1000 }, edit: { posts: 5, perMs: 5000 } },
});

const INTENTS = [GatewayIntentBits.Guilds, GatewayIntentBits.GuildMessages, GatewayIntentBits.MessageContent, GatewayIntentBits.GuildMessageReactions];
const READY_WAIT_MS = 30_000;
const RETRY_MIN_MS = 1_000;
const RETRY_MAX_MS = 60_000;
/** Raw edits waiting for discord.js to apply them (bounded: an update for an unknown channel is never consumed). */
const MAX_PENDING_EDITS = 1000;

/** What the adapter is built with (registry.ts). */
export type DiscordPlatformDeps = PlatformDeps;

export class DiscordPlatform implements Platform {
  readonly id: PlatformId = platformId('discord');
  readonly capabilities = DISCORD_CAPABILITIES;
  private readonly client: Client;
  private readonly writer: DiscordWriter;
  private readonly log: Logger;
  private readonly where: string;
  private readonly rejections = new OncePerWindow();
  private handler: ((e: RoomEvent) => Promise<void>) | undefined;
  private commands: readonly CommandDeclaration[] = [];
  private stopped = false;
  private botId: Promise<string> | undefined;
  private readonly lanes = new ChannelLanes();
  private readonly pendingEdits = new Map<string, RawUpdate>();
  private readonly connection = new ConnectionState();

  constructor(
    private readonly config: DiscordPlatformConfig,
    private readonly deps: DiscordPlatformDeps,
  ) {
    if (!config.token) throw new Error('platforms.discord needs a token');
    this.log = deps.log.child({ platform: 'discord' });
    this.where = redactUrl(config.apiUrl);
    this.client = new Client({
      intents: INTENTS,
      partials: [Partials.Message, Partials.Channel, Partials.Reaction],
      allowedMentions: { parse: [] },
      rest: { api: config.apiUrl, rejectOnRateLimit: () => true },
    });
    this.client.rest.setToken(config.token);
    this.writer = new DiscordWriter({
      rest: this.client.rest,
      state: deps.state,
      botUserId: () => this.botUserId(),
      cachedChannel: (id) => {
        const c = this.client.channels.cache.get(id);
        return c ? { type: c.type, parentId: 'parentId' in c ? (c.parentId ?? null) : null } : undefined;
      },
      warn: (fields, message) => this.log.warn(fields, message),
    });
  }

  /**
   * Logs in and resolves once the gateway is ready (at most READY_WAIT_MS).
   * A token Discord refuses is a configuration error and rejects; an
   * unreachable server does not: the platform keeps trying, with backoff.
   */
  async start(onEvent: (e: RoomEvent) => Promise<void>, opts: PlatformStartOptions = {}): Promise<void> {
    if (this.handler) throw new Error('the Discord platform is already started');
    if (this.stopped) throw new Error('the Discord platform is stopped');
    this.handler = onEvent;
    this.commands = opts.commands ?? [];
    this.listen();
    try {
      await this.connect();
    } catch (err) {
      if (isRefusedToken(err)) {
        this.handler = undefined;
        await this.client.destroy();
        throw new Error(`Discord refuses the bot token (${this.where}): ${describe(err)}`);
      }
      this.recordError(err);
      this.log.warn({ api: this.where, err: describe(err) }, 'Discord: cannot connect; retrying in the background');
      void this.keepConnecting();
    }
  }

  private async connect(): Promise<void> {
    const ready = new Promise<void>((resolve) => this.client.once(Events.ClientReady, () => resolve()));
    await this.client.login(this.config.token);
    await waitAtMost(ready, READY_WAIT_MS);
  }

  private async keepConnecting(): Promise<void> {
    const connected = await retryWithBackoff(() => this.connect(), {
      minMs: RETRY_MIN_MS,
      maxMs: RETRY_MAX_MS,
      stopped: () => this.stopped,
      onError: (err) => this.recordError(err),
      isFinal: isRefusedToken,
    });
    if (!connected && !this.stopped) this.log.error('Discord: the bot token is refused; Discord is not bridged until roomcast restarts with a valid one');
  }

  async post(room: RoomRef, msg: RoomPost): Promise<PlatformMessageId> {
    this.writable(msg);
    return this.writer.post(room, msg);
  }

  async react(room: RoomRef, target: PlatformMessageId, emoji: string): Promise<void> {
    this.writable({ text: '' });
    await this.writer.react(room, target, emoji);
  }

  async edit(room: RoomRef, target: PlatformMessageId, msg: RoomPost): Promise<void> {
    this.writable(msg);
    await this.writer.edit(room, target, msg);
  }

  status(): PlatformStatus {
    const who = this.client.user ? `${this.client.user.username} (${this.client.user.id})` : 'not logged in';
    return this.connection.status(`${who} on ${this.where}`);
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.client.destroy();
    await this.lanes.idle();
    this.handler = undefined;
  }

  // ---- the gateway ----

  private listen(): void {
    const c = this.client;
    c.on(Events.ShardReady, () => {
      this.connection.up();
      this.log.info({ user: c.user?.id, api: this.where, guilds: c.guilds.cache.size }, 'Discord: connected');
      void this.afterReady();
    });
    c.on(Events.ShardResume, () => this.connection.up());
    c.on(Events.ShardDisconnect, () => this.connection.down());
    c.on(Events.ShardError, (err) => this.recordError(err));
    c.on(Events.Error, (err) => this.recordError(err));
    c.on(Events.Raw, (packet: { t?: unknown; d?: unknown }) => this.onRaw(packet));
    c.on(Events.MessageCreate, (m) => this.inRoom(m.channel, (room) => this.onMessage(room, m)));
    c.on(Events.MessageUpdate, (_old, m) => this.inRoom(m.channel, (room) => this.onUpdate(room, m)));
    c.on(Events.MessageDelete, (m) =>
      this.inRoom(m.channel, async (room) => this.deliver({ kind: 'redaction', room, id: platformMessageId(`${m.id}@deleted`), target: platformMessageId(m.id), sender: unknownSender(), fromSelf: false, at: Date.now() })),
    );
    c.on(Events.MessageReactionAdd, (r, u) => this.inRoom(r.message.channel, (room) => this.onReaction(room, r.message.id, r.emoji.name, u.id, true)));
    c.on(Events.MessageReactionRemove, (r, u) => this.inRoom(r.message.channel, (room) => this.onReaction(room, r.message.id, r.emoji.name, u.id, false)));
    c.on(Events.GuildCreate, (g) => {
      if (!c.isReady() || !this.guildAllowed(g.id)) return;
      void this.registerCommands(g);
      for (const ch of g.channels.cache.values()) this.inRoom(ch, async (room) => this.deliver({ kind: 'membership', room, joined: true, reason: 'invited', at: Date.now() }));
    });
    c.on(Events.ChannelDelete, (ch) => this.inRoom(ch, async (room) => this.deliver({ kind: 'membership', room, joined: false, reason: 'left', at: Date.now() })));
    c.on(Events.ThreadDelete, (ch) => this.inRoom(ch, async (room) => this.deliver({ kind: 'membership', room, joined: false, reason: 'left', at: Date.now() })));
  }

  /** Once per READY (first login, or a new session after one could not be resumed). */
  private async afterReady(): Promise<void> {
    for (const g of this.client.guilds.cache.values()) if (this.guildAllowed(g.id)) await this.registerCommands(g);
    for (const g of this.client.guilds.cache.values()) {
      for (const ch of g.channels.cache.values()) {
        this.inRoom(ch, (room) =>
          catchUp(ch, room, {
            state: this.deps.state,
            deliver: (m) => this.onMessage(room, m),
            log: this.log,
          }),
        );
      }
    }
  }

  private async registerCommands(g: Guild): Promise<void> {
    if (!this.config.slashCommands || this.commands.length === 0 || !this.client.application) return;
    try {
      await this.client.rest.put(Routes.applicationGuildCommands(this.client.application.id, g.id), { body: [slashCommandBody(this.commands)] });
    } catch (err) {
      this.log.warn({ guild: g.id, err: describe(err) }, 'Discord: could not register the /roomcast command in a server (the bot needs the applications.commands scope); !roomcast messages still work');
    }
  }

  /** Queues `work` on the channel's lane when the channel is a bridged room. */
  private inRoom(channel: Channel | null | undefined, work: (room: RoomRef) => Promise<void>): void {
    if (!channel || !this.roomAllowed(channel)) return;
    const room: RoomRef = { platform: this.id, roomId: channel.id };
    this.lanes.run(
      channel.id,
      () => (this.stopped ? Promise.resolve() : work(room)),
      (err) => this.log.error({ channel: channel.id, err: describe(err) }, 'Discord: could not handle a channel event'),
    );
  }

  private guildAllowed(guildId: string): boolean {
    return this.config.guilds === undefined || this.config.guilds.includes(guildId);
  }

  private roomAllowed(channel: Channel): boolean {
    if (!isRoomChannel(channel) || channel.isDMBased() || !this.guildAllowed(channel.guildId)) return false;
    const allow = this.config.channels;
    return allow === undefined || allow.includes(channel.id) || (channel.isThread() && channel.parentId !== null && allow.includes(channel.parentId));
  }

  private async onMessage(room: RoomRef, m: Message): Promise<void> {
    if (!this.lanes.once(room.roomId, m.id)) return;
    const e = messageEvent(m, this.id, await this.sender(m), this.self());
    if (e) await this.deliver(e);
    await this.deps.state.set(`seen:${room.roomId}`, m.id);
  }

  private async onUpdate(room: RoomRef, m: Message | PartialMessage): Promise<void> {
    const raw = this.pendingEdits.get(m.id);
    if (!raw) return; // no edited_timestamp: a link preview or a server's echo, not an edit
    this.pendingEdits.delete(m.id);
    const e = editEvent(raw, m, room, m.partial ? unknownSender() : await this.sender(m), this.self());
    // An update that repeats an edit (same edit time: a preview added later, a server's echo) is not a new edit.
    if (e && this.lanes.once(room.roomId, e.id)) await this.deliver(e);
  }

  private async onReaction(room: RoomRef, target: string, emoji: string | null, userId: string, added: boolean): Promise<void> {
    if (!emoji) return;
    const sender: RoomSender = { id: userId, displayName: this.client.users.cache.get(userId)?.username ?? userId, level: 'member' };
    const at = Date.now();
    await this.deliver({ kind: 'reaction', room, id: platformMessageId(`${target}@${userId}@${emoji}@${at}`), target: platformMessageId(target), sender, emoji, added, fromSelf: userId === this.client.user?.id, at });
  }

  private onRaw(packet: { t?: unknown; d?: unknown }): void {
    if (packet.t === 'MESSAGE_UPDATE') {
      const raw = RawUpdateSchema.safeParse(packet.d);
      if (!raw.success) return this.reject('malformed MESSAGE_UPDATE');
      if (!raw.data.edited_timestamp) return;
      if (this.pendingEdits.size >= MAX_PENDING_EDITS) this.pendingEdits.delete(this.pendingEdits.keys().next().value!);
      this.pendingEdits.set(raw.data.id, raw.data);
    } else if (packet.t === 'GUILD_DELETE') {
      // Read here, before discord.js drops the server's channels: a server left (not one that is only unavailable) takes its rooms along.
      const d = packet.d as { id?: unknown; unavailable?: unknown } | undefined;
      const g = typeof d?.id === 'string' && d.unavailable !== true ? this.client.guilds.cache.get(d.id) : undefined;
      for (const ch of g?.channels.cache.values() ?? []) this.inRoom(ch, async (room) => this.deliver({ kind: 'membership', room, joined: false, reason: 'kicked', at: Date.now() }));
    } else if (packet.t === 'INTERACTION_CREATE') {
      const raw = RawInteractionSchema.safeParse(packet.d);
      if (!raw.success) return this.reject('malformed INTERACTION_CREATE');
      this.onInteraction(raw.data);
    }
  }

  private onInteraction(i: RawInteraction): void {
    if (!isSlashCommand(i) || i.application_id !== this.client.application?.id) return;
    const channelId = channelOf(i);
    const channel = channelId ? this.client.channels.cache.get(channelId) : undefined;
    const text = commandLine(i.data?.options ?? [], this.commands);
    if (text === undefined) return;
    if (!channel || !this.roomAllowed(channel)) {
      void answerInteraction(this.client.rest, i, 'roomcast does not bridge this channel (see platforms.discord.channels).', true).catch(() => undefined);
      return;
    }
    const user = i.member?.user;
    this.inRoom(channel, async (room) => {
      // A moderator role is checked on the member; so is everything when the server sent no permissions.
      const quick = this.config.moderatorRole === undefined ? levelFromPermissions(i) : undefined;
      const member = quick === undefined && user && !channel.isDMBased() ? await channel.guild.members.fetch(user.id).catch(() => null) : null;
      const sender: RoomSender = {
        id: user?.id ?? 'unknown',
        displayName: i.member?.nick ?? user?.global_name ?? user?.username ?? 'someone',
        level: quick ?? this.level(member, channel),
      };
      const respond = async (answer: string, opts: { private: boolean }) => {
        this.writable({ text: answer });
        try {
          await answerInteraction(this.client.rest, i, answer, opts.private);
        } catch (err) {
          if (!(err as { expired?: boolean }).expired) throw err;
          // Too late for Discord: the answer goes into the channel, so it is not lost.
          await this.writer.post(room, { text: `${sender.displayName}: ${answer}`, notice: true });
        }
      };
      await this.deliver({ kind: 'command', room, id: platformMessageId(i.id), sender, text, respond, fromSelf: false, at: Date.now() });
    });
  }

  private async sender(m: Message | PartialMessage): Promise<RoomSender> {
    const author = m.author;
    if (!author) return unknownSender();
    const member = m.member ?? (m.webhookId || author.bot ? null : await m.guild?.members.fetch(author.id).catch(() => null));
    return { id: author.id, displayName: member?.displayName ?? author.globalName ?? author.username, level: this.level(member ?? null, m.channel) };
  }

  private level(member: GuildMember | null, channel: Channel): SenderLevel {
    if (!member || channel.isDMBased()) return 'member';
    const role = this.config.moderatorRole;
    if (role !== undefined) return member.roles.cache.some((r) => r.id === role || r.name === role) ? 'moderator' : 'member';
    return member.permissionsIn(channel).has(PermissionFlagsBits.ManageChannels) ? 'moderator' : 'member';
  }

  private self(): Self {
    return { userId: this.client.user?.id ?? '', applicationId: this.client.application?.id, webhookIds: this.writer.webhooks.ids };
  }

  private botUserId(): Promise<string> {
    if (this.client.user) return Promise.resolve(this.client.user.id);
    this.botId ??= this.client.rest.get(Routes.user('@me')).then((u) => String((u as { id?: unknown }).id));
    return this.botId;
  }

  private async deliver(e: RoomEvent): Promise<void> {
    try {
      await this.handler?.(e);
    } catch (err) {
      this.log.error({ room: e.room.roomId, kind: e.kind, err: describe(err) }, 'Discord: the bridge could not handle a room event');
    }
  }

  private reject(reason: string): void {
    this.deps.metrics.platformRejected.inc({ platform: this.id, reason });
    const once = this.rejections.hit(reason);
    if (once) this.log.warn({ reason, ...(once.suppressed ? { repeatsSuppressed: once.suppressed } : {}) }, 'Discord: ignored a gateway event that is not valid');
  }

  private writable(msg: RoomPost): void {
    if (this.stopped) throw new Error('the Discord platform is stopped');
    if (msg.text.length > this.capabilities.maxMessageChars) throw new MessageTooLongError(msg.text.length, this.capabilities.maxMessageChars);
  }

  private recordError(err: unknown): void {
    this.connection.failed(describe(err));
  }
}

function unknownSender(): RoomSender {
  return { id: 'unknown', displayName: 'someone', level: 'member' };
}

/** Discord refused the credentials themselves: retrying cannot help. */
function isRefusedToken(err: unknown): boolean {
  const e = err as { code?: unknown; status?: unknown };
  return e.code === 'TokenInvalid' || e.status === 401 || e.code === 4004;
}

/** An error as one line, with any token removed. */
export function describe(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.replace(/(Bot\s+)[\w.-]+/g, '$1[redacted]').replace(/(webhooks\/\d+\/)[\w-]+/g, '$1[redacted]').replace(/(interactions\/\d+\/)[\w.-]+/g, '$1[redacted]');
}
