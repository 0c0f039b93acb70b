/**
 * The `nostr` config section. Validated once at start-up (zod); every field
 * has a default, so `NostrConfigSchema.parse({})` is a working configuration.
 */
import { z } from 'zod';
import { ms } from '../../common/config-fields.js';
import { redactUrl } from '../transport.js';

/**
 * Widely used public relays that accept kind 4 and kind 1059: the default, so
 * a fresh install reaches seed clients and Nostr apps where they are.
 */
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


export const NostrConfigSchema = z
  .object({
    /** Relay URLs (ws:// or wss://), one connection each, in this order in reports. */
    relays: z.array(relayUrl).max(32).default([...DEFAULT_NOSTR_RELAYS]),
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
  .superRefine((c, ctx) => {
    if (c.reconnectMinMs > c.reconnectMaxMs) {
      ctx.addIssue({ code: 'custom', path: ['reconnectMinMs'], message: 'must not be larger than reconnectMaxMs' });
    }
    // Endpoint labels and cursor keys derive from the redacted URL: two entries for one relay would share them.
    const seen = new Map<string, number>();
    c.relays.forEach((url, i) => {
      const label = redactUrl(url);
      const first = seen.get(label);
      if (first !== undefined) {
        ctx.addIssue({ code: 'custom', path: ['relays', i], message: `names the same relay as relays[${first}] (${label})` });
      } else {
        seen.set(label, i);
      }
    });
  });

/** Parsed config (all defaults applied). */
export type NostrConfig = z.infer<typeof NostrConfigSchema>;
/** What a config file may contain (every field optional). */
export type NostrConfigInput = z.input<typeof NostrConfigSchema>;

/**
 * The `transports.nostr` config section: the settings plus `enabled`. An
 * enabled Nostr without a relay is refused, saying how to turn it off.
 */
export const NostrSectionSchema = NostrConfigSchema.extend({ enabled: z.boolean().default(true) }).superRefine((c, ctx) => {
  if (c.enabled && c.relays.length === 0) {
    ctx.addIssue({ code: 'custom', path: ['relays'], message: 'names no relay while Nostr is enabled: list at least one, or set transports.nostr.enabled: false to turn Nostr off' });
  }
});
