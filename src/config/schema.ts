/**
 * The one configuration schema. Every key has a default, so an empty file (or
 * none) is a working configuration; config/default.yaml is tested to parse to
 * exactly these defaults, so the documented file and the code cannot drift.
 */
import { z } from 'zod';
import { DEFAULT_MAX_CONTENT_CHARS, DEFAULT_MAX_MESSAGE_BYTES, MAX_MESSAGE_BYTES_CEILING } from '../protocol/chat-message.js';
import { BridgeConfigSchema } from '../bridge/config.js';
import { QueueConfigSchema } from '../queue/config.js';
import { MqttConfigSchema } from '../transports/mqtt/config.js';
import { NostrConfigSchema } from '../transports/nostr/config.js';
import { XmtpConfigSchema } from '../transports/xmtp/config.js';

const LogLevelSchema = z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);

export const ConfigSchema = z
  .object({
    /** Where the database, identity and transport state live (relative to the working directory). */
    dataDir: z.string().min(1).default('./data'),
    logLevel: LogLevelSchema.default('info'),
    /** Key file of the service's own identity; default `<dataDir>/identity.json`, created on first start. */
    identityFile: z.string().min(1).optional(),
    store: z
      .object({
        /** libsql URL: `file:…`, `:memory:`, `libsql://…` or `http(s)://…`; default `file:<dataDir>/roomcast.db`. */
        url: z.string().min(1).optional(),
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
      })
      .strict()
      .default({ maxMessageBytes: DEFAULT_MAX_MESSAGE_BYTES, maxContentChars: DEFAULT_MAX_CONTENT_CHARS, maxConcurrentSends: 8 }),
    bridge: BridgeConfigSchema.default(() => BridgeConfigSchema.parse({})),
    queue: QueueConfigSchema.default(() => QueueConfigSchema.parse({})),
    transports: z
      .object({
        mqtt: MqttConfigSchema.extend({ enabled: z.boolean().default(true) }).default(() => withEnabled(MqttConfigSchema)),
        nostr: NostrConfigSchema.extend({ enabled: z.boolean().default(true) }).default(() => withEnabled(NostrConfigSchema)),
        xmtp: XmtpConfigSchema.extend({ enabled: z.boolean().default(true) }).default(() => withEnabled(XmtpConfigSchema)),
      })
      .strict()
      .default(() => ({ mqtt: withEnabled(MqttConfigSchema), nostr: withEnabled(NostrConfigSchema), xmtp: withEnabled(XmtpConfigSchema) })),
  })
  .strict();

function withEnabled<S extends z.ZodType>(schema: S): z.output<S> & { enabled: boolean } {
  return { ...(schema.parse({}) as object), enabled: true } as z.output<S> & { enabled: boolean };
}

export type Config = z.output<typeof ConfigSchema>;
export type ConfigInput = z.input<typeof ConfigSchema>;
