/**
 * Slash-command invocations, read from the raw INTERACTION_CREATE (checked
 * with zod) rather than discord.js's interaction objects: Discord-compatible
 * servers send only `channel_id` (discord.js then has no channel), and the
 * answer is one REST callback we control — type 4 at once, ephemeral when
 * private, never a deferral (a deferred answer cannot be edited on some of
 * those servers). Discord allows 3 s to answer; an answer later than that
 * is posted in the channel instead, so it is never lost.
 */
import { DiscordAPIError, HTTPError, InteractionResponseType, InteractionType, MessageFlags, PermissionFlagsBits, Routes } from 'discord.js';
import type { REST } from 'discord.js';
import { z } from 'zod';
import type { SenderLevel } from '../platform.js';
import { RawOptionSchema } from './slash-commands.js';
import { neutraliseMentions, NO_MENTIONS } from './text.js';

const SNOWFLAKE = z.string().regex(/^\d{1,20}$/);

export const RawInteractionSchema = z.object({
  id: SNOWFLAKE,
  token: z.string().min(1).max(500),
  application_id: SNOWFLAKE,
  type: z.number().int(),
  guild_id: SNOWFLAKE.optional(),
  channel_id: SNOWFLAKE.optional(),
  channel: z.object({ id: SNOWFLAKE }).partial().optional(),
  member: z
    .object({
      user: z.object({ id: SNOWFLAKE, username: z.string(), global_name: z.string().nullish() }),
      nick: z.string().nullish(),
      roles: z.array(SNOWFLAKE).optional(),
      permissions: z.string().regex(/^\d+$/).optional(),
    })
    .optional(),
  data: z.object({ name: z.string(), options: z.array(RawOptionSchema).optional() }).optional(),
});
export type RawInteraction = z.output<typeof RawInteractionSchema>;

export function isSlashCommand(i: RawInteraction): boolean {
  return i.type === InteractionType.ApplicationCommand && i.data !== undefined;
}

/** The channel an interaction happened in (`channel.id` on Discord, `channel_id` only elsewhere). */
export function channelOf(i: RawInteraction): string | undefined {
  return i.channel?.id ?? i.channel_id;
}

/**
 * The caller's level from the permissions Discord computed for the channel
 * and sent with the interaction: Manage Channels (or Administrator) makes a
 * moderator. Undefined when the server sent none (the caller then looks the
 * member up).
 */
export function levelFromPermissions(i: RawInteraction): SenderLevel | undefined {
  const perms = i.member?.permissions;
  if (perms === undefined) return undefined;
  return (BigInt(perms) & (PermissionFlagsBits.ManageChannels | PermissionFlagsBits.Administrator)) !== 0n ? 'moderator' : 'member';
}

/**
 * Answers an interaction once; rejects with `expired: true` when Discord no
 * longer takes the answer. A private (ephemeral) answer the server refuses
 * (HTTP 400 or 500) is sent again as a plain one: some Discord-compatible servers
 * fail on ephemeral answers, and an answer shown to the channel beats none
 * (no answer of ours holds anything private: they concern the room).
 */
export async function answerInteraction(rest: REST, i: RawInteraction, text: string, isPrivate: boolean): Promise<void> {
  const data = { content: neutraliseMentions(text), allowed_mentions: NO_MENTIONS, ...(isPrivate ? { flags: MessageFlags.Ephemeral } : {}) };
  try {
    await rest.post(Routes.interactionCallback(i.id, i.token), { body: { type: InteractionResponseType.ChannelMessageWithSource, data }, auth: false });
  } catch (err) {
    if (isPrivate && (err instanceof DiscordAPIError || err instanceof HTTPError) && (err.status === 400 || err.status === 500) && (err as { code?: unknown }).code !== 40060) return answerInteraction(rest, i, text, false);
    // 10062 Unknown interaction: answered after its 3 s; 40060: already answered.
    if (err instanceof DiscordAPIError && (err.code === 10062 || err.code === 40060 || err.status === 404)) throw Object.assign(new Error('the interaction expired'), { expired: true });
    throw err;
  }
}
