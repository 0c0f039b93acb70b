/**
 * The `http` section: the operators' HTTP server (status page, queue
 * dashboard, metrics, health). Bound to 127.0.0.1 unless told otherwise:
 * put it behind a reverse proxy to reach it from elsewhere. Its access token
 * is a secret: ROOMCAST_HTTP_TOKEN (or _FILE), else one generated at first
 * start and kept in the data dir; never in the config file.
 */
import { z } from 'zod';

export const DEFAULT_HTTP_PORT = 8470;

export const HttpConfigSchema = z
  .object({
    enabled: z.boolean().default(true),
    /** Address to listen on; 0.0.0.0 to listen everywhere (behind a proxy, with the token). */
    host: z.string().min(1).default('127.0.0.1'),
    /** TCP port; 0 picks a free one (tests). */
    port: z.number().int().min(0).max(65_535).default(DEFAULT_HTTP_PORT),
    /** Serve /metrics without the token (for a Prometheus on a private network). */
    metricsPublic: z.boolean().default(false),
    /** Set by the loader from ROOMCAST_HTTP_TOKEN(_FILE) only. */
    token: z.string().min(16, 'must be at least 16 characters').optional(),
  })
  .strict();

export type HttpConfig = z.output<typeof HttpConfigSchema>;
