/**
 * The list of networks. Adding one is a folder under src/transports/ plus one
 * entry here; nothing else in shared code names a network.
 */
import type { Config } from '../config/schema.js';
import { MqttTransport } from './mqtt/mqtt-transport.js';
import { NostrTransport } from './nostr/nostr-transport.js';
import { XmtpTransport } from './xmtp/xmtp-transport.js';
import type { Transport, TransportContext, TransportId } from './transport.js';

interface RegistryEntry {
  readonly id: TransportId;
  /** Builds the transport, or undefined when its section is disabled or names no endpoint. */
  create(config: Config['transports'], ctx: TransportContext): Transport | undefined;
}

export const TRANSPORTS: readonly RegistryEntry[] = [
  {
    id: 'nostr',
    create: (c, ctx) => (c.nostr.enabled && c.nostr.relays.length > 0 ? new NostrTransport(c.nostr, ctx) : undefined),
  },
  {
    id: 'mqtt',
    create: (c, ctx) => (c.mqtt.enabled && c.mqtt.brokers.length > 0 ? new MqttTransport(c.mqtt, ctx) : undefined),
  },
  {
    id: 'xmtp',
    create: (c, ctx) => (c.xmtp.enabled ? new XmtpTransport(c.xmtp, ctx) : undefined),
  },
];

/** Every enabled transport, in registry order. */
export function createTransports(config: Config['transports'], ctx: TransportContext): Transport[] {
  return TRANSPORTS.flatMap((entry) => entry.create(config, ctx) ?? []);
}
