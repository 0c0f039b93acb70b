/**
 * The one configuration schema. Every key has a default, so an empty file (or
 * none) is a working configuration; config/default.yaml is tested to parse to
 * exactly these defaults, so the documented file and the code cannot drift.
 */
import { PLATFORM_SECTIONS } from '../platforms/registry.js';
import { z } from 'zod';
import { DEFAULT_MAX_CONTENT_CHARS, DEFAULT_MAX_MESSAGE_BYTES, MAX_MESSAGE_BYTES_CEILING } from '../protocol/chat-message.js';
import { BridgeConfigSchema } from '../bridge/config.js';
import { HttpConfigSchema } from '../dashboard/config.js';
import { DEFAULT_SENDER_LIMIT } from '../broadcaster/sender-limiter.js';
import { LOG_FORMATS } from '../observability/logger.js';
import { QueueConfigSchema } from '../queue/config.js';
import { TransportsConfigSchema } from '../transports/registry.js';
import { withOwnDefaults } from '../common/config-fields.js';

const LogLevelSchema = z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);

/** Schemes libsql opens; anything else would only fail later, at the first query. */
const STORE_SCHEMES = new Set(['file:', 'libsql:', 'http:', 'https:', 'ws:', 'wss:']);

/**
 * A libsql URL. The message never repeats the URL: a libsql URL may carry its
 * auth token (`?authToken=…`).
 */
const StoreUrlSchema = z
  .string()
  .min(1)
  .superRefine((value, ctx) => {
    if (value === ':memory:') return;
    const scheme = /^([a-z][a-z0-9+.-]*:)/i.exec(value)?.[1]?.toLowerCase();
    if (!scheme) {
      ctx.addIssue({ code: 'custom', message: 'is not a libsql URL (expected file:<path>, :memory:, libsql://host, http(s)://host or ws(s)://host)' });
    } else if (!STORE_SCHEMES.has(scheme)) {
      ctx.addIssue({ code: 'custom', message: `has scheme "${scheme}"; expected file:, libsql:, http(s):, ws(s): or :memory:` });
    } else if (scheme === 'file:' && value.length === scheme.length) {
      ctx.addIssue({ code: 'custom', message: 'names no file (expected file:<path>)' });
    }
  });

export const ConfigSchema = z
  .object({
    /** Where the database, identity and transport state live (relative to the working directory). */
    dataDir: z.string().min(1).default('./data'),
    logLevel: LogLevelSchema.default('info'),
    /** Log lines on stderr: `pretty` (for people), `json` (for machines), or `auto`: pretty on a terminal, JSON otherwise. */
    logFormat: z.enum(LOG_FORMATS).default('auto'),
    /** Key file of the service's own identity; default `<dataDir>/identity.json`, created on first start. */
    identityFile: z.string().min(1).optional(),
    store: z
      .object({
        /** libsql URL: `file:…`, `:memory:`, `libsql://…` or `http(s)://…`; default `file:<dataDir>/roomcast.db`. */
        url: StoreUrlSchema.optional(),
        /** Auth token for a libsql server. Secret: set ROOMCAST_STORE_AUTH_TOKEN (or _FILE) instead of writing it here. */
        authToken: z.string().min(1).optional(),
      })
      .strict()
      .default({}),
    limits: z
      .object({
        /** Largest ChatMessage JSON accepted or sent, in bytes. */
        maxMessageBytes: z.number().int().min(1024).max(MAX_MESSAGE_BYTES_CEILING).default(DEFAULT_MAX_MESSAGE_BYTES),
        /** Longest message text, in characters. */
        maxContentChars: z.number().int().min(1).max(512 * 1024).default(DEFAULT_MAX_CONTENT_CHARS),
        /** Sends (messages and acks) being built and published at once; the rest wait their turn. */
        maxConcurrentSends: z.number().int().min(1).max(1024).default(8),
        /**
         * Token bucket per sender for inbound copies (each copy on each relay or
         * broker takes one): at most `burst` at once, `refillPerSecond` after
         * that. Copies over it are dropped before anything is stored, counted.
         */
        perSender: z
          .object({
            burst: z.number().int().min(1).max(1_000_000).default(DEFAULT_SENDER_LIMIT.burst),
            refillPerSecond: z.number().positive().max(1_000_000).default(DEFAULT_SENDER_LIMIT.refillPerSecond),
          })
          .strict()
          .default({ ...DEFAULT_SENDER_LIMIT }),
      })
      .strict()
      .default({
        maxMessageBytes: DEFAULT_MAX_MESSAGE_BYTES,
        maxContentChars: DEFAULT_MAX_CONTENT_CHARS,
        maxConcurrentSends: 8,
        perSender: { ...DEFAULT_SENDER_LIMIT },
      }),
    /** Chat platforms, one section each (src/platforms/registry.ts); `roomcast start` builds the enabled ones. */
    platforms: withOwnDefaults(z.object(PLATFORM_SECTIONS).strict()),
    bridge: withOwnDefaults(BridgeConfigSchema),
    /** The operators' HTTP server: status page, queue dashboard, metrics, health. */
    http: withOwnDefaults(HttpConfigSchema),
    queue: withOwnDefaults(QueueConfigSchema),
    /** Networks, one section each (src/transports/registry.ts). */
    transports: withOwnDefaults(TransportsConfigSchema),
  })
  .strict();

export type Config = z.output<typeof ConfigSchema>;
export type ConfigInput = z.input<typeof ConfigSchema>;
