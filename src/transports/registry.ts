/**
 * The list of networks. Adding one is a folder under src/transports/ plus one
 * entry here (its config section, its transport) and its display line in
 * networks.ts; nothing else in shared code names a network.
 */
import { z } from 'zod';
import { MqttSectionSchema } from './mqtt/config.js';
import { MqttTransport } from './mqtt/mqtt-transport.js';
import { NostrSectionSchema } from './nostr/config.js';
import { NostrTransport } from './nostr/nostr-transport.js';
import { XmtpSectionSchema } from './xmtp/config.js';
import { XmtpTransport } from './xmtp/xmtp-transport.js';
import type { Transport, TransportContext, TransportId } from './transport.js';

/**
 * The `transports` config section: one section per network, named by its id,
 * each with its defaults (and `enabled: true`).
 */
export const TransportsConfigSchema = z
  .object({
    nostr: withDefaults(NostrSectionSchema),
    mqtt: withDefaults(MqttSectionSchema),
    xmtp: withDefaults(XmtpSectionSchema),
  })
  .strict();

export type TransportsConfig = z.output<typeof TransportsConfigSchema>;

/** A section that defaults to its own defaults when absent. */
function withDefaults<S extends z.ZodType>(schema: S) {
  return schema.default(() => schema.parse({}) as z.util.NoUndefined<z.output<S>>);
}

interface RegistryEntry {
  readonly id: TransportId;
  /** Builds the transport, or undefined when its section is disabled or names no endpoint. */
  create(config: TransportsConfig, ctx: TransportContext): Transport | undefined;
}

export const TRANSPORTS: readonly RegistryEntry[] = [
  { id: 'nostr', create: (c, ctx) => (c.nostr.enabled && c.nostr.relays.length > 0 ? new NostrTransport(c.nostr, ctx) : undefined) },
  { id: 'mqtt', create: (c, ctx) => (c.mqtt.enabled && c.mqtt.brokers.length > 0 ? new MqttTransport(c.mqtt, ctx) : undefined) },
  { id: 'xmtp', create: (c, ctx) => (c.xmtp.enabled ? new XmtpTransport(c.xmtp, ctx) : undefined) },
];

/** Every enabled transport, in registry order. */
export function createTransports(config: TransportsConfig, ctx: TransportContext): Transport[] {
  return TRANSPORTS.flatMap((entry) => entry.create(config, ctx) ?? []);
}
