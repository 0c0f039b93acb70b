/**
 * The list of networks. A network's id is one of the wire protocol's
 * (ProtocolId: the labels the ChatMessage format carries); everything here
 * and in networks.ts is keyed by it, so the compiler refuses a network that
 * is missing from any of them. Adding one is a folder under src/transports/,
 * its wire label, and its lines here and in networks.ts; the store's schema
 * names no network (migration 5), and no shared code does.
 */
import { z } from 'zod';
import { MqttSectionSchema } from './mqtt/config.js';
import { MqttTransport } from './mqtt/mqtt-transport.js';
import { NostrSectionSchema } from './nostr/config.js';
import { NostrTransport } from './nostr/nostr-transport.js';
import { XmtpSectionSchema } from './xmtp/config.js';
import { XmtpTransport } from './xmtp/xmtp-transport.js';
import type { ProtocolId } from '../protocol/chat-message.js';
import type { Transport, TransportContext, TransportId } from './transport.js';

/**
 * The `transports` config section: one section per network, named by its id,
 * each with its defaults (and `enabled: true`).
 */
const SECTIONS = {
  nostr: withDefaults(NostrSectionSchema),
  mqtt: withDefaults(MqttSectionSchema),
  xmtp: withDefaults(XmtpSectionSchema),
} satisfies Record<ProtocolId, z.ZodType>; // one section per network id, no more, no fewer
export const TransportsConfigSchema = z.object(SECTIONS).strict();

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

/** Keyed by network id, so a network id without a transport (or the other way round) does not compile. */
const ENTRIES: { readonly [P in ProtocolId]: RegistryEntry['create'] } = {
  nostr: (c, ctx) => (c.nostr.enabled && c.nostr.relays.length > 0 ? new NostrTransport(c.nostr, ctx) : undefined),
  mqtt: (c, ctx) => (c.mqtt.enabled && c.mqtt.brokers.length > 0 ? new MqttTransport(c.mqtt, ctx) : undefined),
  xmtp: (c, ctx) => (c.xmtp.enabled ? new XmtpTransport(c.xmtp, ctx) : undefined),
};

/** In the order sends and reports list them. */
export const TRANSPORTS: readonly RegistryEntry[] = (Object.keys(ENTRIES) as ProtocolId[]).map((id) => ({ id, create: ENTRIES[id] }));

/** Every enabled transport, in registry order. */
export function createTransports(config: TransportsConfig, ctx: TransportContext): Transport[] {
  return TRANSPORTS.flatMap((entry) => entry.create(config, ctx) ?? []);
}
