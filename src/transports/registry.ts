/**
 * The list of networks. Adding one is a folder under src/transports/ (with
 * its network.ts) plus one line here: network ids, config sections, display
 * names and wire labels all come from this list, the store's schema names no
 * network (migration 5), and no shared code does.
 */
import { z } from 'zod';
import { MQTT_NETWORK } from './mqtt/network.js';
import type { NetworkDisplay } from './network.js';
import { NOSTR_NETWORK } from './nostr/network.js';
import { HandOffTransport } from './hand-off.js';
import type { Transport, TransportContext } from './transport.js';
import { XMTP_NETWORK } from './xmtp/network.js';
import { withOwnDefaults } from '../common/config-fields.js';

/** In the order sends and reports list them. */
const NETWORKS = {
  nostr: NOSTR_NETWORK,
  mqtt: MQTT_NETWORK,
  xmtp: XMTP_NETWORK,
};

/** A network id the registry knows. */
export type NetworkId = keyof typeof NETWORKS;
export const NETWORK_IDS = Object.keys(NETWORKS) as NetworkId[];

type Sections = { [K in NetworkId]: z.ZodDefault<(typeof NETWORKS)[K]['section']> };
const SECTIONS = Object.fromEntries(
  NETWORK_IDS.map((id) => [id, withOwnDefaults(NETWORKS[id].section as z.ZodType)]),
) as unknown as Sections;

/** The `transports` config section: one section per network, named by its id, each with its defaults (and `enabled: true`). */
export const TransportsConfigSchema = z.object(SECTIONS).strict();
export type TransportsConfig = z.output<typeof TransportsConfigSchema>;

/**
 * Every enabled transport, in registry order. In a send-only context a
 * listener-only network is handed off to the listening process (ctx.handOff),
 * or left out when there is nobody to hand it to.
 */
export function createTransports(config: TransportsConfig, ctx: TransportContext): Transport[] {
  return NETWORK_IDS.flatMap((id) => {
    const section = config[id];
    if (!section.enabled) return [];
    // Each entry's create takes its own section's type (see network()); the id ties the two together.
    const create = NETWORKS[id].create as (s: typeof section, c: TransportContext) => Transport | undefined;
    const transport = create(section, ctx);
    if (!transport) return [];
    const listenerOnly = (NETWORKS[id] as { listenerOnly?: boolean }).listenerOnly === true;
    if (ctx.listen !== false || !listenerOnly) return [transport];
    return ctx.handOff ? [new HandOffTransport(transport, ctx.identity, ctx.handOff)] : [];
  });
}

/** How a network is shown; an id the registry no longer knows (an old record) shows as itself. */
export function networkDisplay(id: string): NetworkDisplay {
  return (NETWORKS as Record<string, { display: NetworkDisplay } | undefined>)[id]?.display ?? { label: id, endpointNoun: 'endpoints', countEndpoints: true, wireLabel: id };
}

/** The network a wire label names ('MQTT', 'XMTP V3', 'xmtp', 'Nostr' …), or undefined. */
export function networkFromLabel(label: string): NetworkId | undefined {
  const l = label.trim().toLowerCase();
  return NETWORK_IDS.find((id) => {
    const wire = NETWORKS[id].display.wireLabel.toLowerCase();
    return l === id || l === wire || l.startsWith(`${id} `);
  });
}

/** What the broadcaster needs to know of every network, configured or not: ids and wire labels. */
export const NETWORK_LABELS = {
  ids: NETWORK_IDS,
  wireLabel: (id: string) => networkDisplay(id).wireLabel,
  fromLabel: networkFromLabel,
};
