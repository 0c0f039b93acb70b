/**
 * What one network brings to the registry (registry.ts): how people and the
 * wire call it, its config section, and how its transport is built. Each
 * transport folder exports one of these (network.ts in the folder); the
 * registry lists them, one line each.
 */
import type { z } from 'zod';
import type { Transport, TransportContext } from './transport.js';

export interface NetworkDisplay {
  /** "MQTT", "nostr", "XMTP". */
  readonly label: string;
  /** What its endpoints are called: "brokers", "relays". */
  readonly endpointNoun: string;
  /** False for a network with one implicit endpoint (nothing to count in "(2/3 brokers)"). */
  readonly countEndpoints: boolean;
  /** Its label in ChatMessages (`receivedVia`, `channelPreferences`): the prototype client's spelling. */
  readonly wireLabel: string;
}

export interface Network<S extends z.ZodType<{ enabled: boolean }>> {
  readonly display: NetworkDisplay;
  /** Its section under `transports` in the config, with `enabled`. */
  readonly section: S;
  /**
   * True when its client is one per identity and keeps local state (XMTP: an
   * installation and its database): only the listening process creates it,
   * and send-only processes hand their sends to it (hand-off.ts).
   */
  readonly listenerOnly?: boolean;
  /** Builds its transport from an enabled section; undefined when the section names no endpoint. Connects nothing before start(). */
  create(section: z.output<S>, ctx: TransportContext): Transport | undefined;
}

/** Declares a network (keeps the section's type through to `create`). */
export function network<S extends z.ZodType<{ enabled: boolean }>>(n: Network<S>): Network<S> {
  return n;
}
