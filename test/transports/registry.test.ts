/**
 * The network registry: one list gives the ids, the config sections, the
 * names people see and the labels ChatMessages carry.
 */
import { describe, expect, it } from 'vitest';
import { ConfigSchema } from '../../src/config/schema.js';
import { protocolName } from '../../src/text/delivery.js';
import { NETWORK_IDS, NETWORK_LABELS, networkDisplay, networkFromLabel } from '../../src/transports/registry.js';

describe('network registry', () => {
  it('lists the networks, in the order reports show them, each with a config section', () => {
    expect(NETWORK_IDS).toEqual(['nostr', 'mqtt', 'xmtp']);
    expect(Object.keys(ConfigSchema.parse({}).transports)).toEqual(NETWORK_IDS);
    expect(ConfigSchema.safeParse({ transports: { waku: {} } }).success).toBe(false);
  });

  it('reads the prototype client\'s wire labels, and writes them', () => {
    expect(networkFromLabel('MQTT')).toBe('mqtt');
    expect(networkFromLabel('XMTP V3')).toBe('xmtp');
    expect(networkFromLabel('xmtp')).toBe('xmtp');
    expect(networkFromLabel(' Nostr ')).toBe('nostr');
    expect(networkFromLabel('Waku')).toBeUndefined();
    expect(NETWORK_IDS.map(NETWORK_LABELS.wireLabel)).toEqual(['nostr', 'MQTT', 'XMTP V3']);
  });

  it('names networks for people, and shows an id it no longer knows as itself', () => {
    expect(protocolName('xmtp')).toBe('XMTP');
    expect(networkDisplay('mqtt')).toMatchObject({ label: 'MQTT', endpointNoun: 'brokers', countEndpoints: true });
    expect(networkDisplay('carrier-pigeon')).toMatchObject({ label: 'carrier-pigeon', countEndpoints: true });
  });
});
