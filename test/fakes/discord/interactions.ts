/**
 * Application commands and slash-command interactions.
 *
 * Commands are stored per application and scope (a guild id or global);
 * bulk overwrite keeps the id of a command whose name and type survive, and
 * every change gets a new `version`, as Discord does.
 *
 * An interaction starts when a person POSTs /interactions (the user-client
 * route Spacebar also serves): the fake dispatches INTERACTION_CREATE to the
 * application's bot and waits for a callback on the interaction's token. A
 * callback is accepted once (then 400 40060) and only within 3 s (then 404
 * 10062). Type 4 answers at once, type 5 defers until PATCH @original; every
 * answer is recorded in `responses`, and a non-ephemeral one also becomes a
 * channel message (type 20, author the bot, with `interaction_metadata`).
 */
import type { Gateway } from './gateway.js';
import type { MessageFields, MessageService } from './messages.js';
import type { ResolvedOptions, Upload } from './router.js';
import { snowflake } from './snowflake.js';
import type { FakeMessage, Json, JsonObject } from './types.js';
import { DiscordApiError, invalidForm, isJsonObject, str, unknownMessage } from './types.js';
import { channelJson, memberJson, userJson } from './wire.js';
import type { UserRecord } from './world.js';
import { World } from './world.js';

const RESPONSE_DEADLINE_MS = 3000;

/** One answer a bot gave to an interaction. */
export interface InteractionResponse {
  readonly interactionId: string;
  readonly userId: string;
  readonly channelId: string;
  content: string;
  readonly ephemeral: boolean;
  readonly allowedMentions?: unknown;
}

interface InteractionRecord {
  readonly id: string;
  readonly token: string;
  readonly applicationId: string;
  readonly bot: UserRecord;
  readonly userId: string;
  readonly channelId: string;
  readonly guildId: string;
  readonly commandName: string;
  readonly createdAt: number;
  state: 'pending' | 'deferred' | 'replied';
  ephemeral: boolean;
  /** The answer message: stored in the channel unless ephemeral. */
  original?: FakeMessage;
  response?: InteractionResponse;
}

const unknownInteraction = (): DiscordApiError => new DiscordApiError(404, 10062, 'Unknown interaction');

export class Interactions {
  readonly responses: InteractionResponse[] = [];
  private readonly commands = new Map<string, JsonObject[]>();
  private readonly interactions = new Map<string, InteractionRecord>();

  constructor(
    private readonly world: World,
    private readonly gateway: Gateway,
    private readonly messages: MessageService,
    private readonly options: ResolvedOptions,
  ) {}

  list(applicationId: string, guildId: string | undefined): JsonObject[] {
    return this.commands.get(`${applicationId}:${guildId ?? 'global'}`) ?? [];
  }

  /** PUT: replaces the scope's commands (ids kept for surviving name+type pairs). */
  overwrite(applicationId: string, guildId: string | undefined, bodies: unknown): JsonObject[] {
    if (!Array.isArray(bodies)) throw invalidForm('_root', 'BASE_TYPE_ARRAY', 'Must be an array.');
    const old = this.list(applicationId, guildId);
    const next = bodies.map((b, i) => {
      const body = this.validate(b, String(i));
      const same = old.find((c) => c['name'] === body['name'] && c['type'] === (body['type'] ?? 1));
      return this.commandJson(applicationId, guildId, body, same ? String(same['id']) : undefined);
    });
    this.commands.set(`${applicationId}:${guildId ?? 'global'}`, next);
    return next;
  }

  /** POST: creates or replaces one command by name; `created` tells 201 from 200. */
  upsert(applicationId: string, guildId: string | undefined, b: unknown): { json: JsonObject; created: boolean } {
    const body = this.validate(b, undefined);
    const list = [...this.list(applicationId, guildId)];
    const i = list.findIndex((c) => c['name'] === body['name'] && c['type'] === (body['type'] ?? 1));
    const json = this.commandJson(applicationId, guildId, body, i >= 0 ? String(list[i]?.['id']) : undefined);
    if (i >= 0) list[i] = json;
    else list.push(json);
    this.commands.set(`${applicationId}:${guildId ?? 'global'}`, list);
    return { json, created: i < 0 };
  }

  remove(applicationId: string, guildId: string | undefined, commandId: string): void {
    const list = this.list(applicationId, guildId);
    if (!list.some((c) => c['id'] === commandId)) throw new DiscordApiError(404, 10063, 'Unknown application command');
    this.commands.set(`${applicationId}:${guildId ?? 'global'}`, list.filter((c) => c['id'] !== commandId));
  }

  /** POST /interactions by a person: validates, then dispatches INTERACTION_CREATE to the app's bot. */
  invoke(user: UserRecord, body: JsonObject): void {
    const applicationId = str(body, 'application_id') ?? '';
    const guildId = str(body, 'guild_id') ?? '';
    const channelId = str(body, 'channel_id') ?? '';
    const data = isJsonObject(body['data']) ? body['data'] : {};
    if (body['type'] !== 2) throw invalidForm('type', 'BASE_TYPE_CHOICES', 'Only application commands (2) are supported.');
    const bot = this.world.botOfApplication(applicationId);
    if (!bot) throw new DiscordApiError(404, 10002, 'Unknown Application');
    const guild = this.world.guildOf(guildId, user.id);
    const channel = this.world.channel(channelId);
    if (channel.guildId !== guild.id) throw invalidForm('channel_id', 'CHANNEL_INVALID', 'Unknown channel.');
    const commandId = str(data, 'id') ?? '';
    const command = [...this.list(applicationId, guildId), ...this.list(applicationId, undefined)].find((c) => c['id'] === commandId);
    if (!command) throw new DiscordApiError(404, 10063, 'Unknown application command');
    const member = guild.members.get(user.id);
    if (!member) throw new DiscordApiError(403, 50001, 'Missing Access');
    const rec: InteractionRecord = {
      id: snowflake(),
      token: `aW50ZXJhY3Rpb24.${World.token()}`,
      applicationId,
      bot,
      userId: user.id,
      channelId,
      guildId,
      commandName: String(command['name']),
      createdAt: Date.now(),
      state: 'pending',
      ephemeral: false,
    };
    this.interactions.set(rec.id, rec);
    const options: Json = Array.isArray(data['options']) ? data['options'] : [];
    this.gateway.dispatch(
      'INTERACTION_CREATE',
      {
        id: rec.id,
        application_id: applicationId,
        type: 2,
        token: rec.token,
        version: 1,
        guild_id: guildId,
        channel_id: channelId,
        ...(this.options.interactionWithoutChannel ? {} : { channel: channelJson(channel) }),
        member: { ...memberJson(this.world, member), permissions: this.world.channelPermissions(channel, user.id).toString() },
        data: { id: commandId, name: rec.commandName, type: 1, options, ...(command['guild_id'] ? { guild_id: command['guild_id'] } : {}) },
        app_permissions: this.world.channelPermissions(channel, bot.id).toString(),
        locale: 'en-US',
        guild_locale: 'en-US',
        entitlements: [],
        authorizing_integration_owners: { '0': guildId },
        context: 0,
        attachment_size_limit: 10485760,
      },
      { userIds: [bot.id] },
    );
  }

  /** POST /interactions/:id/:token/callback. Returns the with_response body, or undefined for 204. */
  callback(id: string, token: string, body: JsonObject, files: readonly Upload[], withResponse: boolean): JsonObject | undefined {
    const rec = this.interactions.get(id);
    if (!rec || rec.token !== token) throw unknownInteraction();
    if (rec.state !== 'pending') throw new DiscordApiError(400, 40060, 'Interaction has already been acknowledged.');
    if (Date.now() - rec.createdAt > RESPONSE_DEADLINE_MS) throw unknownInteraction();
    const data = isJsonObject(body['data']) ? body['data'] : {};
    const flags = typeof data['flags'] === 'number' ? data['flags'] : 0;
    rec.ephemeral = (flags & 64) !== 0;
    if (body['type'] === 5) {
      rec.state = 'deferred';
    } else if (body['type'] === 4) {
      this.answer(rec, this.messages.parse(rec.channelId, data, files));
    } else {
      throw invalidForm('type', 'BASE_TYPE_CHOICES', 'The fake supports callback types 4 and 5.');
    }
    if (!withResponse) return undefined;
    return {
      interaction: { id: rec.id, type: 2, activity_instance_id: null, response_message_id: rec.original?.id ?? null, response_message_loading: rec.state === 'deferred', response_message_ephemeral: rec.ephemeral },
      resource: { type: body['type'] === 5 ? 5 : 4, ...(rec.original ? { message: rec.original as unknown as JsonObject } : {}) },
    };
  }

  /** The interaction behind `/webhooks/:applicationId/:token`, if any. */
  byToken(applicationId: string, token: string): InteractionRecord | undefined {
    for (const rec of this.interactions.values()) if (rec.applicationId === applicationId && rec.token === token) return rec;
    return undefined;
  }

  /** GET @original (or the original's id). */
  getOriginal(rec: InteractionRecord, messageId: string): FakeMessage {
    if (!rec.original || (messageId !== '@original' && messageId !== rec.original.id)) throw unknownMessage();
    return rec.original;
  }

  /** PATCH @original: answers a deferred interaction, or edits the answer. */
  editOriginal(rec: InteractionRecord, messageId: string, body: JsonObject, files: readonly Upload[]): FakeMessage {
    if (rec.state === 'deferred' && !rec.original) {
      if (messageId !== '@original') throw unknownMessage();
      return this.answer(rec, this.messages.parse(rec.channelId, body, files));
    }
    const original = this.getOriginal(rec, messageId);
    if (!rec.ephemeral) this.messages.edit(this.world.channel(rec.channelId), original, body);
    else {
      if (typeof body['content'] === 'string') original.content = body['content'];
      original.edited_timestamp = new Date().toISOString();
    }
    if (rec.response) rec.response.content = original.content;
    return original;
  }

  deleteOriginal(rec: InteractionRecord, messageId: string): void {
    const original = this.getOriginal(rec, messageId);
    if (!rec.ephemeral) this.messages.delete(this.world.channel(rec.channelId), original);
    delete rec.original;
  }

  /** POST /webhooks/:app/:token: a follow-up message (after the interaction was acknowledged). */
  followUp(rec: InteractionRecord, body: JsonObject, files: readonly Upload[]): FakeMessage {
    if (rec.state === 'pending') throw new DiscordApiError(404, 10015, 'Unknown Webhook');
    const fields = this.messages.parse(rec.channelId, body, files);
    const ephemeral = (fields.flags & 64) !== 0;
    return ephemeral ? this.ephemeralMessage(rec, fields) : this.channelMessage(rec, fields);
  }

  private answer(rec: InteractionRecord, fields: MessageFields): FakeMessage {
    rec.original = rec.ephemeral ? this.ephemeralMessage(rec, fields) : this.channelMessage(rec, fields);
    rec.state = 'replied';
    rec.response = {
      interactionId: rec.id,
      userId: rec.userId,
      channelId: rec.channelId,
      content: fields.content,
      ephemeral: rec.ephemeral,
      ...(fields.allowedMentions !== undefined ? { allowedMentions: fields.allowedMentions } : {}),
    };
    this.responses.push(rec.response);
    return rec.original;
  }

  private metadata(rec: InteractionRecord): JsonObject {
    return { id: rec.id, type: 2, user: { ...userJson(this.world.user(rec.userId)) }, authorizing_integration_owners: { '0': rec.guildId }, name: rec.commandName, command_type: 1 };
  }

  private channelMessage(rec: InteractionRecord, fields: MessageFields): FakeMessage {
    return this.messages.create(this.world.channel(rec.channelId), {
      ...fields,
      nonce: undefined,
      enforceNonce: false,
      replyTo: undefined,
      author: userJson(rec.bot),
      authorUserId: rec.bot.id,
      type: 20,
      applicationId: rec.applicationId,
      interactionMetadata: this.metadata(rec),
    });
  }

  /** An ephemeral answer: only the invoker sees it, so it is never stored in the channel nor dispatched. */
  private ephemeralMessage(rec: InteractionRecord, fields: MessageFields): FakeMessage {
    return {
      id: snowflake(),
      channel_id: rec.channelId,
      guild_id: rec.guildId,
      author: userJson(rec.bot),
      content: fields.content,
      timestamp: new Date().toISOString(),
      edited_timestamp: null,
      tts: false,
      mention_everyone: false,
      mentions: [],
      mention_roles: [],
      attachments: fields.attachments,
      embeds: fields.embeds,
      components: [],
      pinned: false,
      type: 20,
      flags: 64,
      application_id: rec.applicationId,
      interaction_metadata: this.metadata(rec),
    };
  }

  private validate(b: unknown, at: string | undefined): JsonObject {
    const prefix = at === undefined ? '' : `${at}.`;
    if (!isJsonObject(b)) throw invalidForm(`${prefix}name`, 'BASE_TYPE_REQUIRED', 'This field is required');
    const name = b['name'];
    if (typeof name !== 'string' || !/^[-_\p{L}\p{N}]{1,32}$/u.test(name) || name !== name.toLowerCase()) {
      throw invalidForm(`${prefix}name`, 'APPLICATION_COMMAND_INVALID_NAME', 'Command name is invalid');
    }
    const type = b['type'] ?? 1;
    const description = b['description'];
    if (type === 1 && (typeof description !== 'string' || description.length < 1 || description.length > 100)) {
      throw invalidForm(`${prefix}description`, 'BASE_TYPE_BAD_LENGTH', 'Must be between 1 and 100 in length.');
    }
    return b;
  }

  private commandJson(applicationId: string, guildId: string | undefined, body: JsonObject, id: string | undefined): JsonObject {
    return {
      id: id ?? snowflake(),
      application_id: applicationId,
      version: snowflake(),
      type: typeof body['type'] === 'number' ? body['type'] : 1,
      name: String(body['name']),
      name_localizations: body['name_localizations'] ?? null,
      description: typeof body['description'] === 'string' ? body['description'] : '',
      description_localizations: body['description_localizations'] ?? null,
      options: Array.isArray(body['options']) ? body['options'] : [],
      default_member_permissions: typeof body['default_member_permissions'] === 'string' ? body['default_member_permissions'] : null,
      dm_permission: guildId === undefined,
      nsfw: body['nsfw'] === true,
      contexts: Array.isArray(body['contexts']) ? body['contexts'] : null,
      integration_types: Array.isArray(body['integration_types']) ? body['integration_types'] : [0],
      ...(guildId !== undefined ? { guild_id: guildId } : {}),
    };
  }
}
