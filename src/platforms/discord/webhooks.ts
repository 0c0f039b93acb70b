/**
 * One webhook per channel, owned by the bot, through which contacts'
 * messages appear under their own names. It is found again after a restart
 * (listed, by its creator), created only when the channel has none, and
 * there is never more than one: two processes that create one at once keep
 * the oldest and delete their own extra. Threads post through their parent
 * channel's webhook (with `thread_id`).
 *
 * Without the Manage Webhooks permission the channel has no webhook: the
 * caller then posts as the bot, with the name in bold. That verdict is kept
 * for a while and asked again after, so granting the permission later works
 * without a restart.
 */
import { DiscordAPIError, Routes } from 'discord.js';
import type { REST } from 'discord.js';
import { z } from 'zod';

const WebhookSchema = z.object({
  id: z.string(),
  type: z.number(),
  token: z.string().optional(),
  channel_id: z.string().nullish(),
  user: z.object({ id: z.string() }).nullish(),
});

export interface ChannelWebhook {
  readonly id: string;
  readonly token: string;
}

/** Webhooks the bot creates are named so; people see it in the channel's settings. */
export const WEBHOOK_NAME = 'roomcast';
/** How long "no permission" is believed before asking again. */
const FORBIDDEN_FOR_MS = 10 * 60_000;

export class ChannelWebhooks {
  private readonly known = new Map<string, ChannelWebhook>();
  private readonly pending = new Map<string, Promise<ChannelWebhook | undefined>>();
  private readonly forbiddenUntil = new Map<string, number>();
  /** Ids of the webhooks this bot owns, so their messages are recognised as its own. */
  readonly ids = new Set<string>();

  constructor(
    private readonly rest: REST,
    private readonly botUserId: () => Promise<string>,
  ) {}

  /**
   * The channel's webhook, found or made; undefined when the bot may not
   * manage webhooks there. Throws for anything else (the caller's write fails
   * and is retried).
   */
  async get(channelId: string): Promise<ChannelWebhook | undefined> {
    const hook = this.known.get(channelId);
    if (hook) return hook;
    if ((this.forbiddenUntil.get(channelId) ?? 0) > Date.now()) return undefined;
    let p = this.pending.get(channelId);
    if (!p) {
      p = this.find(channelId).finally(() => this.pending.delete(channelId));
      this.pending.set(channelId, p);
    }
    return p;
  }

  /** The webhook was deleted by someone (10015 Unknown Webhook): the next `get` finds or makes another. */
  forget(channelId: string): void {
    this.known.delete(channelId);
  }

  /** Whether the last look found the permission missing (for the "say why once" notice). */
  isForbidden(channelId: string): boolean {
    return (this.forbiddenUntil.get(channelId) ?? 0) > Date.now();
  }

  private async find(channelId: string): Promise<ChannelWebhook | undefined> {
    try {
      const me = await this.botUserId();
      let ours = await this.list(channelId, me);
      if (ours.length === 0) {
        await this.rest.post(Routes.channelWebhooks(channelId), { body: { name: WEBHOOK_NAME }, reason: 'roomcast: contacts post under their own names' });
        ours = await this.list(channelId, me);
      }
      const [keep, ...extra] = ours;
      if (!keep) throw new Error(`a webhook created in channel ${channelId} is not listed`);
      // Never more than one: another process may have created one at the same moment.
      for (const e of extra) await this.rest.delete(Routes.webhook(e.id)).catch(() => undefined);
      this.known.set(channelId, keep);
      this.ids.add(keep.id);
      this.forbiddenUntil.delete(channelId);
      return keep;
    } catch (err) {
      if (isMissingPermission(err)) {
        this.forbiddenUntil.set(channelId, Date.now() + FORBIDDEN_FOR_MS);
        return undefined;
      }
      throw err;
    }
  }

  /** The channel's incoming webhooks made by the bot, oldest first. */
  private async list(channelId: string, me: string): Promise<ChannelWebhook[]> {
    const raw = z.array(z.unknown()).parse(await this.rest.get(Routes.channelWebhooks(channelId)));
    const ours: ChannelWebhook[] = [];
    for (const item of raw) {
      const w = WebhookSchema.safeParse(item);
      if (w.success && w.data.type === 1 && w.data.token && w.data.user?.id === me) ours.push({ id: w.data.id, token: w.data.token });
    }
    for (const w of ours) this.ids.add(w.id);
    return ours.sort((a, b) => compareSnowflakes(a.id, b.id));
  }
}

/** 403 / 50013 Missing Permissions (or 50001 Missing Access). */
export function isMissingPermission(err: unknown): boolean {
  return err instanceof DiscordAPIError && (err.status === 403 || err.code === 50013 || err.code === 50001);
}

/** Orders Discord ids by age (snowflakes are numbers too long for a double). */
export function compareSnowflakes(a: string, b: string): number {
  return a.length !== b.length ? a.length - b.length : a < b ? -1 : a > b ? 1 : 0;
}
