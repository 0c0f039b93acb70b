/**
 * A person on a Discord-compatible server, acting over REST at `${apiUrl}/v9`
 * with a raw user token (no "Bot " prefix), the way Discord's own clients
 * do: writes, edits, replies, threads, reactions, and slash commands through
 * POST /interactions. Works the same against the fake Discord
 * (test/fakes/discord) and a Spacebar server; a 429 is waited out (its
 * `retry_after`) and retried, as a real client would.
 */
import { sleep, waitFor } from './wait.js';

/** The parts of a Discord message a test reads. */
export interface DiscordMessageJson {
  readonly id: string;
  readonly channel_id: string;
  readonly content: string;
  readonly type: number;
  readonly author: { readonly id: string; readonly username: string; readonly bot?: boolean };
  readonly timestamp: string;
  readonly edited_timestamp?: string | null;
  readonly webhook_id?: string;
  readonly message_reference?: { readonly message_id?: string };
  readonly attachments?: ReadonlyArray<{ readonly id: string; readonly filename: string; readonly url: string }>;
  readonly mention_everyone?: boolean;
}

/** An application command as the guild's command list returns it. */
export interface DiscordCommandJson {
  readonly id: string;
  readonly name: string;
  readonly version: string;
  readonly options?: unknown[];
}

export class DiscordHttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: { message?: string; code?: number; retry_after?: number },
    what: string,
  ) {
    super(`${what} -> HTTP ${status} ${body.code ?? ''}: ${body.message ?? ''}`);
  }
}

const MAX_429_RETRIES = 5;
let nonceCounter = 0;

export class DiscordPerson {
  readonly id: string;
  private readonly api: string;
  private readonly token: string;

  constructor(apiUrl: string, account: { id: string; token: string }) {
    this.api = `${apiUrl.replace(/\/+$/, '')}/v9`;
    this.id = account.id;
    this.token = account.token;
  }

  /** One REST call; `auth` overrides the Authorization header (e.g. `Bot <t>`). Throws DiscordHttpError for non-2xx. */
  async request<T>(method: string, path: string, body?: unknown, auth = this.token): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      const res = await fetch(`${this.api}${path}`, {
        method,
        headers: { authorization: auth, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await res.text();
      let json: unknown = null;
      try {
        json = text ? (JSON.parse(text) as unknown) : null;
      } catch {
        json = { message: text };
      }
      if (res.ok) return json as T;
      const err = (json ?? {}) as DiscordHttpError['body'];
      if (res.status === 429 && attempt < MAX_429_RETRIES) {
        await sleep(Math.ceil((err.retry_after ?? 1) * 1000));
        continue;
      }
      throw new DiscordHttpError(res.status, err, `${method} ${path}`);
    }
  }

  /** Posts a message (optionally a reply); returns its id. */
  async say(channelId: string, content: string, opts: { replyTo?: string } = {}): Promise<string> {
    const m = await this.request<DiscordMessageJson>('POST', `/channels/${channelId}/messages`, {
      content,
      nonce: `${Date.now()}${++nonceCounter}`.slice(-19),
      ...(opts.replyTo !== undefined ? { message_reference: { message_id: opts.replyTo } } : {}),
    });
    return m.id;
  }

  async edit(channelId: string, messageId: string, content: string): Promise<void> {
    await this.request('PATCH', `/channels/${channelId}/messages/${messageId}`, { content });
  }

  /** The channel's last `limit` messages, oldest first. */
  async messages(channelId: string, limit = 50): Promise<DiscordMessageJson[]> {
    const newestFirst = await this.request<DiscordMessageJson[]>('GET', `/channels/${channelId}/messages?limit=${limit}`);
    return [...newestFirst].reverse();
  }

  /** Polls the channel until a message matches `pred`, and returns it. */
  async waitForMessage(channelId: string, pred: (m: DiscordMessageJson) => boolean, what: string, timeoutMs = 10_000): Promise<DiscordMessageJson> {
    let found: DiscordMessageJson | undefined;
    await waitFor(async () => (found = (await this.messages(channelId)).find(pred)) !== undefined, what, timeoutMs, 100);
    return found as DiscordMessageJson;
  }

  /** Starts a public thread in the channel; returns its id (messages go to that id). */
  async createThread(channelId: string, name: string): Promise<string> {
    const t = await this.request<{ id: string }>('POST', `/channels/${channelId}/threads`, { name, type: 11, auto_archive_duration: 1440 });
    return t.id;
  }

  async react(channelId: string, messageId: string, emoji: string): Promise<void> {
    await this.request('PUT', `/channels/${channelId}/messages/${messageId}/reactions/${encodeURIComponent(emoji)}/@me`);
  }

  /** Ids of the users who reacted with `emoji`. */
  async reactions(channelId: string, messageId: string, emoji: string): Promise<string[]> {
    const users = await this.request<Array<{ id: string }>>('GET', `/channels/${channelId}/messages/${messageId}/reactions/${encodeURIComponent(emoji)}`);
    return users.map((u) => u.id);
  }

  /** The guild's commands of an application: read with the user token, else (when the server refuses people) with `Bot <botToken>`. */
  async commands(applicationId: string, guildId: string, botToken?: string): Promise<DiscordCommandJson[]> {
    const path = `/applications/${applicationId}/guilds/${guildId}/commands`;
    try {
      return await this.request<DiscordCommandJson[]>('GET', path);
    } catch (e) {
      if (botToken === undefined || !(e instanceof DiscordHttpError) || e.status === 429) throw e;
      return this.request<DiscordCommandJson[]>('GET', path, undefined, `Bot ${botToken}`);
    }
  }

  /**
   * Invokes a slash command the way the Discord client does (POST /interactions);
   * `options` follow Discord's shape (subcommand groups, subcommands, values).
   */
  async slash(cmd: { id: string; name: string; version: string }, ctx: { applicationId: string; guildId: string; channelId: string }, options: unknown[]): Promise<void> {
    await this.request('POST', '/interactions', {
      type: 2,
      application_id: ctx.applicationId,
      guild_id: ctx.guildId,
      channel_id: ctx.channelId,
      session_id: 'roomcast-test',
      nonce: `${Date.now()}${++nonceCounter}`.slice(-19),
      data: { id: cmd.id, name: cmd.name, type: 1, version: cmd.version, options },
    });
  }
}
