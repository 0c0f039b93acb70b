/**
 * The `nostr` config section. Validated once at start-up (zod); every field
 * has a default, so `NostrConfigSchema.parse({})` is a working configuration.
 */
import { z } from 'zod';

/** Relays used when the config names none: widely used public relays that accept kind 4 and 1059. */
export const DEFAULT_NOSTR_RELAYS: readonly string[] = ['wss://relay.damus.io', 'wss://nos.lol', 'wss://relay.primal.net'];

const relayUrl = z
  .string()
  .trim()
  .refine((s) => {
    try {
      const u = new URL(s);
      return (u.protocol === 'ws:' || u.protocol === 'wss:') && u.hostname.length > 0;
    } catch {
      return false;
    }
  }, 'must be a ws:// or wss:// URL');

const ms = (min: number, max: number) => z.number().int().min(min).max(max);

export const NostrConfigSchema = z
  .object({
    /** Relay URLs (ws:// or wss://), one connection each, in this order in reports. */
    relays: z
      .array(relayUrl)
      .max(32)
      .default([...DEFAULT_NOSTR_RELAYS])
      .refine((list) => new Set(list.map((u) => new URL(u).toString())).size === list.length, 'must not list a relay twice'),
    /** How long a publish waits for a relay's OK before reporting 'timeout'. */
    publishTimeoutMs: ms(100, 120_000).default(5000),
    /** How long one connection attempt (TCP + TLS + WebSocket handshake) may take. */
    connectTimeoutMs: ms(100, 120_000).default(5000),
    /** First reconnect delay; doubles on each failure up to reconnectMaxMs. */
    reconnectMinMs: ms(10, 600_000).default(500),
    reconnectMaxMs: ms(10, 3_600_000).default(30_000),
    /** On the very first start (no stored cursor), how far back to ask relays for events addressed to us. */
    firstStartLookbackSec: z.number().int().min(0).max(30 * 86_400).default(3600),
    /** Subtracted from a stored cursor when resubscribing, to absorb clock skew and in-flight events. */
    resumeSlackSec: z.number().int().min(0).max(86_400).default(60),
    /** WebSocket ping interval; a relay that does not answer within one interval is dropped and reconnected. */
    pingIntervalMs: ms(1000, 600_000).default(30_000),
  })
  .refine((c) => c.reconnectMinMs <= c.reconnectMaxMs, {
    message: 'reconnectMinMs must not exceed reconnectMaxMs',
    path: ['reconnectMinMs'],
  });

/** Parsed config (all defaults applied). */
export type NostrConfig = z.infer<typeof NostrConfigSchema>;
/** What a config file may contain (every field optional). */
export type NostrConfigInput = z.input<typeof NostrConfigSchema>;
