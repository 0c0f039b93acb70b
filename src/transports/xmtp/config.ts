/**
 * The `xmtp` section of the configuration (validated once at start-up).
 *
 * XMTP has one logical endpoint per environment (the SDK picks the node URL
 * from `env`), so there is no list of URLs here; reports and status label it
 * `xmtp:<env>`.
 */
import { z } from 'zod';
import { ms } from '../../common/config-fields.js';


export const XMTP_ENVS = ['dev', 'production', 'local'] as const;
export type XmtpEnvName = (typeof XMTP_ENVS)[number];

export const XmtpConfigSchema = z
  .object({
    /** XMTP network environment; 'local' is a node on localhost:5556 (development only). */
    env: z.enum(XMTP_ENVS).default('dev'),
    /**
     * Folder of the SDK's local databases (one file per identity address and
     * env). Reused across restarts: a new database would register a new XMTP
     * installation each time, and an inbox holds a limited number of them.
     */
    dbDir: z.string().min(1).default('./data/xmtp'),
    /** How long one Client.create (registration included) may take before it counts as failed. */
    createTimeoutMs: ms(100, 600_000).default(15_000),
    /** How long one DM send (conversation lookup included) may take. */
    sendTimeoutMs: ms(100, 600_000).default(10_000),
    /** First retry delay after a failed client creation; doubles per failure up to retryMaxMs. */
    retryMinMs: ms(10, 3_600_000).default(1000),
    retryMaxMs: ms(10, 3_600_000).default(60_000),
    /**
     * Which identities get an XMTP client (one each, with its own installation
     * and stream): 'reachable', a room only while one of its contacts has an
     * XMTP inbox (asked of the network, again every reachableCheckMs); 'all',
     * every room. The service identity and the CLI always get one.
     */
    rooms: z.enum(['reachable', 'all']).default('reachable'),
    /** How often a room's contacts are looked up again on XMTP (one may register later, or be removed). */
    reachableCheckMs: ms(1000, 86_400_000).default(3_600_000),
    /**
     * Host of the app's XMTP Gateway Service, which pays for writes (a funded
     * payer wallet) on XMTP's decentralised network; passed to the SDK as is.
     */
    gatewayHost: z
      .url({ protocol: /^https?$/, error: 'must be an http(s) URL' })
      .optional(),
  })
  .superRefine((cfg, ctx) => {
    if (cfg.retryMinMs > cfg.retryMaxMs) {
      ctx.addIssue({ code: 'custom', path: ['retryMinMs'], message: 'must not be larger than retryMaxMs' });
    }
  });

/** Validated config (defaults applied). */
export type XmtpConfig = z.infer<typeof XmtpConfigSchema>;
/** What a config file may contain (defaults not yet applied). */
export type XmtpConfigInput = z.input<typeof XmtpConfigSchema>;

/** The endpoint label of an environment, used in capabilities, reports, status and inbound envelopes. */
export function xmtpEndpoint(env: XmtpEnvName): string {
  return `xmtp:${env}`;
}

/** The `transports.xmtp` config section: the settings plus `enabled`. */
export const XmtpSectionSchema = XmtpConfigSchema.safeExtend({ enabled: z.boolean().default(true) });
