/**
 * The network registry: one list gives the ids, the config sections, the
 * names people see and the labels ChatMessages carry.
 */
import { describe, expect, it } from 'vitest';
import { ConfigSchema } from '../../src/config/schema.js';
import { protocolName } from '../../src/text/delivery.js';
import { generateIdentity } from '../../src/identity/keys.js';
import { HandOffTransport } from '../../src/transports/hand-off.js';
import { createTransports, NETWORK_IDS, NETWORK_LABELS, networkDisplay, networkFromLabel } from '../../src/transports/registry.js';
import { testContext } from '../support/context.js';

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

  it('never builds a listener-only network (XMTP) in a send-only process: hands it off, or leaves it out', async () => {
    const { transports } = ConfigSchema.parse({ transports: { mqtt: { brokers: ['mqtt://127.0.0.1:1'] }, nostr: { relays: ['ws://127.0.0.1:1'] } } });
    const ctx = testContext(generateIdentity());
    const listening = createTransports(transports, ctx);
    expect(listening.map((t) => t.id)).toEqual(['nostr', 'mqtt', 'xmtp']);
    expect(listening.some((t) => t instanceof HandOffTransport)).toBe(false);

    const handedOff = createTransports(transports, { ...ctx, listen: false, handOff: async () => Promise.reject(new Error('not called')) });
    expect(handedOff.map((t) => t.id)).toEqual(['nostr', 'mqtt', 'xmtp']);
    expect(handedOff[2]).toBeInstanceOf(HandOffTransport);
    expect(handedOff[2]!.capabilities.endpoints).toEqual(listening[2]!.capabilities.endpoints);

    expect(createTransports(transports, { ...ctx, listen: false }).map((t) => t.id)).toEqual(['nostr', 'mqtt']);
    await Promise.all([...listening, ...handedOff].map((t) => t.stop()));
  });
});
