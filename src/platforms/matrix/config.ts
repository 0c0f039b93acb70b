/**
 * The `platforms.matrix` section. The access token is a secret: it comes from
 * ROOMCAST_MATRIX_ACCESS_TOKEN or the file named by
 * ROOMCAST_MATRIX_ACCESS_TOKEN_FILE, never from the config file (the loader
 * refuses it there). With the homeserver URL and the token both given, Matrix
 * is on unless the file says `enabled: false`.
 */
import { z } from 'zod';

/** A Matrix user id (@name:server) or a server name, optionally with a port. */
const USER_ID = /^@[^:\s]+:[A-Za-z0-9.-]+(:\d+)?$/;
const SERVER = /^[A-Za-z0-9.-]+(:\d+)?$/;

export const MatrixPlatformConfigSchema = z
  .object({
    enabled: z.boolean().default(false),
    /** Base URL of the homeserver's client-server API, e.g. https://matrix.example.org. */
    homeserverUrl: z
      .url({ protocol: /^https?$/, error: 'must be an http(s) URL, e.g. https://matrix.example.org' })
      .optional(),
    /** Set by the loader from ROOMCAST_MATRIX_ACCESS_TOKEN(_FILE) only. */
    accessToken: z.string().min(1).optional(),
    /**
     * Who may invite the bot into a room: `everyone`, or a list of user ids
     * (@alice:example.org) and server names (example.org: anyone on it).
     * Invites from anyone else are rejected. Default: everyone.
     */
    autoJoin: z
      .union([
        z.literal('everyone'),
        z
          .array(z.string().refine((s) => USER_ID.test(s) || SERVER.test(s), 'must be a user id (@name:server) or a server name'))
          .min(1, 'list at least one user id or server, or write "everyone"'),
      ])
      .default('everyone'),
    /** Power level from which a sender counts as a moderator (may add and remove contacts). */
    moderatorPowerLevel: z.number().int().min(0).max(1_000_000).default(50),
    /** Long-poll time of each /sync (ms): shorter stops faster, longer costs fewer requests. */
    syncTimeoutMs: z.number().int().min(0).max(120_000).default(30_000),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (!c.enabled) return;
    if (!c.homeserverUrl) ctx.addIssue({ code: 'custom', path: ['homeserverUrl'], message: 'is required when Matrix is enabled: set it here or in ROOMCAST_MATRIX_HOMESERVER_URL' });
    if (!c.accessToken) ctx.addIssue({ code: 'custom', path: ['accessToken'], message: 'is required when Matrix is enabled: set ROOMCAST_MATRIX_ACCESS_TOKEN or ROOMCAST_MATRIX_ACCESS_TOKEN_FILE' });
  });

export type MatrixPlatformConfig = z.output<typeof MatrixPlatformConfigSchema>;

/** Whether `userId` may invite the bot, by the `autoJoin` setting. */
export function mayInvite(autoJoin: MatrixPlatformConfig['autoJoin'], userId: string): boolean {
  if (autoJoin === 'everyone') return true;
  const server = userId.slice(userId.indexOf(':') + 1);
  return autoJoin.some((entry) => (entry.startsWith('@') ? entry === userId : entry === server));
}
