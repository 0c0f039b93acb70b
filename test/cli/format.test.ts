import { describe, expect, it } from 'vitest';
import { formatAck, formatArrival, formatDelivery, reasonText } from '../../src/cli/format.js';
import type { SendReport } from '../../src/transports/transport.js';

const ok = (endpoint: string, latencyMs: number) => ({ endpoint, ok: true, latencyMs });
const down = (endpoint: string) => ({ endpoint, ok: false, latencyMs: 1, reason: 'unreachable' as const });

describe('terminal formatting', () => {
  it('prints the delivery status in the prototype words', () => {
    const reports: SendReport[] = [
      { transport: 'nostr', ok: true, endpoints: [ok('r1', 245), ok('r2', 300), ok('r3', 310)], latencyMs: 245 },
      { transport: 'mqtt', ok: true, endpoints: [ok('b1', 12), down('b2'), ok('b3', 20)], latencyMs: 12 },
      { transport: 'xmtp', ok: false, endpoints: [], latencyMs: 5000, reason: 'timeout' },
    ];
    expect(formatDelivery(reports)).toBe('Delivery status: ✓ nostr (3/3 relays) 245ms · ✓ MQTT (2/3 brokers) 12ms · ✗ XMTP timeout');
  });

  it('says in words that a network refuses this version', () => {
    const r: SendReport = { transport: 'xmtp', ok: false, endpoints: [{ endpoint: 'xmtp:dev', ok: false, latencyMs: 0, reason: 'upgrade-required' }], latencyMs: 0, reason: 'upgrade-required' };
    expect(formatDelivery([r])).toBe('Delivery status: ✗ XMTP upgrade required (the network refuses this roomcast version)');
    expect(reasonText('timeout')).toBe('timeout');
    expect(reasonText(undefined)).toBe('failed');
    expect(reasonText('constructor')).toBe('failed'); // not an inherited property
  });

  it('prints acks and arrivals', () => {
    expect(formatAck({ via: 'mqtt', latencyMs: 150.4 })).toBe('✓ Acknowledged via MQTT (+150ms)');
    expect(formatArrival('mqtt', [])).toBe('First received via: MQTT');
    expect(
      formatArrival('mqtt', [
        { via: 'mqtt', afterFirstMs: 3 },
        { via: 'nostr', afterFirstMs: 120 },
        { via: 'nostr', afterFirstMs: 130 },
      ]),
    ).toBe('First received via: MQTT — also: nostr (+120ms)');
  });
});
