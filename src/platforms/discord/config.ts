/**
 * The `platforms.discord` section. The bot token is a secret: it comes from
 * ROOMCAST_DISCORD_TOKEN or the file named by ROOMCAST_DISCORD_TOKEN_FILE,
 * never from the config file (the loader refuses it there). With the token
 * given, Discord is on unless the file says `enabled: false`.
 */
import { z } from 'zod';

const SNOWFLAKE = /^\d{1,20}$/;
const snowflakes = (what: string) =>
  z.array(z.string().regex(SNOWFLAKE, `must be a ${what} id (digits; Discord: right-click → Copy ID)`)).min(1, `list at least one ${what} id, or leave the key out for all`);

export const DiscordPlatformConfigSchema = z
  .object({
    enabled: z.boolean().default(false),
    /** Set by the loader from ROOMCAST_DISCORD_TOKEN(_FILE) only. */
    token: z.string().min(1).optional(),
    /**
     * The REST API's base, without the version (discord.js adds /v10):
     * Discord's own by default; a Discord-compatible server's otherwise. The
     * gateway's address comes from the server (GET /gateway/bot).
     */
    apiUrl: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL, e.g. https://discord.com/api' }).default('https://discord.com/api'),
    /** Only these servers (guild ids) are bridged; default: every server the bot is in. */
    guilds: snowflakes('server').optional(),
    /** Only these channels (ids; their threads too) are bridged; default: every text channel the bot can read. */
    channels: snowflakes('channel').optional(),
    /**
     * Who may add and remove contacts: members with this role (its id or its
     * exact name). Default: whoever has the Manage Channels permission in the
     * channel (server admins and moderators).
     */
    moderatorRole: z.string().min(1).max(100).optional(),
    /** Register the /roomcast slash command in every bridged server at start. */
    slashCommands: z.boolean().default(true),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.enabled && !c.token) ctx.addIssue({ code: 'custom', path: ['token'], message: 'is required when Discord is enabled: set ROOMCAST_DISCORD_TOKEN or ROOMCAST_DISCORD_TOKEN_FILE' });
  });

export type DiscordPlatformConfig = z.output<typeof DiscordPlatformConfigSchema>;
